"""The officer's page speaks words (a new-user trial): evidence labelled ("signing key",
"anchored in block 17", "latest block 37", never "keyId:" or "blockNumber:"), times readable with
their zone ("7 Dec 2026, 14:35:18 UTC", never "2026-12-07T14:35:18Z"), one "Checked at" time, and
check 12's advice something the officer can do on the page (not the CLI's or the API's)."""

from __future__ import annotations

import re

import pytest

from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import DEGREE, holder, issue
from tests.pages import chromium_open, verifier_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]

READABLE = r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC"


@pytest.fixture(scope="module")
def server(vchain, tmp_path_factory):
    with verifier_service(vchain, tmp_path_factory.mktemp("words")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium_open(tmp_path_factory.mktemp("chromium-words"), 1200, 2400) as driver:
        yield driver


def _verify(browser, server, png, id_number=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    browser.find_element(By.ID, "files").send_keys(str(png))
    if id_number:
        browser.find_element(By.ID, "id-number").send_keys(id_number)
    browser.find_element(By.ID, "verify").click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "verdict")))
    return browser.find_element(By.ID, "result").get_attribute("textContent")


@pytest.fixture(scope="module")
def degree_png(vchain, tmp_path_factory):
    doc = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    png = tmp_path_factory.mktemp("words-png") / "degree.png"
    png.write_bytes(render_png(encode_payload(doc), scale=5))
    return png


def test_evidence_and_times_read_as_words(server, browser, degree_png):
    from selenium.webdriver.common.by import By

    text = _verify(browser, server, degree_png)
    evidence = " | ".join(
        e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, ".evidence")
    )
    for raw in ("keyId:", "blockNumber:", "anchorBlock:", "issuerName:", "confirmations:"):
        assert raw not in evidence, evidence
    assert re.search(r"signing key z6Mk\w+", evidence), evidence
    assert re.search(r"anchored in block \d+ · latest block \d+ · \d+ confirmation", evidence), (
        evidence
    )
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), text  # no ISO time anywhere
    times = browser.find_element(By.ID, "times").text
    assert re.fullmatch(rf"Checked at {READABLE}; facts as of the application date \S+\.", times), (
        times
    )
    assert re.search(rf"sealed {READABLE}", browser.find_element(By.ID, "chain").text)


def test_check_12_without_a_salt_says_what_to_do_on_the_page(server, browser, degree_png):
    from selenium.webdriver.common.by import By

    _verify(browser, server, degree_png, id_number="A123456(7)")
    assert browser.find_element(By.ID, "verdict").get_attribute("data-outcome") == "NOT_VERIFIABLE"
    check = browser.find_element(By.CSS_SELECTOR, '[data-check="identity_document"]').text
    reason = browser.find_element(By.ID, "verdict-reason").text
    for said in (check, reason):
        assert "--id-salt" not in said and "idSalt" not in said, said
        assert "Request from a wallet on this page" in said, said
