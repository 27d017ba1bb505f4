"""The officer's page never judges the next applicant with what was typed for the previous one,
nor leaves the previous applicant's verdict on screen when a new wallet request fails
(headless Chromium, real Anvil).

The attack (red team, 2026-12-07), an officer verifying applicant after applicant in one tab:

- the travel-document number typed for applicant 1 stayed in its field and was sent with every
  later verification and wallet request. Applicant 2 comes to the counter with applicant 1's
  phone (its wallet: applicant 1's credentials, holder key and identity-document salt); the
  officer presses 'Request from a wallet' without typing applicant 2's number, and the page
  said "Identity document: matches the document shown" beside VALID AND MEETS THE PROFESSION,
  a match with applicant 1's document, which nobody at the counter showed. The number is now
  sent with one verification or request only (as the scanned codes and the chosen files,
  e77f0ac, c6c3139): the next one says "not checked" until the officer types it.
- 'Request from a wallet' whose request could not be made (the verifier unreachable) left the
  page as it was: applicant 1's VALID_MEETS, and no word of the failure. The page now clears
  the result and the wallet box when the officer starts a request and says when it fails; an
  earlier verification answered late never lands over it (the request takes its number first).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload
from tests.chainkit import DEGREE, ID_NUMBER, ID_SALT, dlt_expert_credentials, holder, issue
from tests.security.test_oid4vp_page_attacks import HOLD_VERIFICATIONS, _request_from_wallet
from tests.verifier.test_web_page import browser, server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

__all__ = ["browser", "server"]


def _answer_with_salt(p: dict[str, Any], key: Any, creds: dict[str, dict[str, Any]]) -> None:
    """The wallet's answer to request ``p``: ``creds`` presented by ``key``, the salt disclosed."""
    token = {
        qid: [
            create_presentation(
                [cred],
                key,
                challenge=p["nonce"],
                domain=p["client_id"],
                created=datetime.now(UTC).replace(microsecond=0),
                identity_document_salt=ID_SALT,
            )
        ]
        for qid, cred in creds.items()
    }
    with httpx.Client(timeout=30) as http:
        ok = http.post(p["response_uri"], data={"vp_token": json.dumps(token), "state": p["state"]})
    assert ok.status_code == 200, ok.text


def _wallet_verdict(browser: Any, wait: Any, p: dict[str, Any], key: Any, creds: Any) -> Any:
    _answer_with_salt(p, key, creds)
    verdict = wait.until(lambda d: d.find_elements(By.ID, "verdict"))[0]
    wait.until(lambda d: d.find_elements(By.ID, "person-doc"))
    return verdict


def _page(browser: Any, server: str) -> Any:
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    return wait


def test_attack_the_previous_applicants_document_number_is_not_matched_for_the_next(
    vchain: Any, server: str, browser: Any
) -> None:
    key = holder()
    creds = dlt_expert_credentials(vchain, key.public_key.did_key)
    wait = _page(browser, server)
    # applicant 1: their document number typed, their wallet answers; the number matches
    browser.find_element(By.ID, "id-number").send_keys(ID_NUMBER)
    _rid, p = _request_from_wallet(browser, wait)
    verdict = _wallet_verdict(browser, wait, p, key, creds)
    assert verdict.get_attribute("data-outcome") == "VALID_MEETS"
    doc = browser.find_element(By.ID, "person-doc")
    assert "match" in doc.get_attribute("class").split(), doc.text
    # applicant 2 holds applicant 1's phone; the officer requests again, typing nothing
    assert browser.find_element(By.ID, "id-number").get_attribute("value") == ""
    _rid2, p2 = _request_from_wallet(browser, wait)
    verdict = _wallet_verdict(browser, wait, p2, key, creds)
    doc = browser.find_element(By.ID, "person-doc")
    # never "matches the document shown": no document was compared for this applicant
    assert "match" not in doc.get_attribute("class").split(), doc.text
    assert "unchecked" in doc.get_attribute("class").split(), doc.text
    assert "not checked" in doc.text, doc.text


def test_the_document_number_is_sent_with_one_qr_verification_only(
    vchain: Any, server: str, browser: Any
) -> None:
    """The Verify button sends the typed number once too: the field is empty afterwards, and
    the next verification's request carries no idNumber."""
    wait = _page(browser, server)
    browser.execute_script(
        "window.__sent = [];"
        "const original = window.fetch;"
        "window.fetch = (url, init) => {"
        "  if (init && init.body instanceof FormData) window.__sent.push(init.body.get('idNumber'));"
        "  return original(url, init); };"
    )
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    for _ in range(2):
        browser.execute_script("scanned.push(arguments[0])", encode_payload(degree))
        if _ == 0:
            browser.find_element(By.ID, "id-number").send_keys(ID_NUMBER)
        browser.execute_script("document.getElementById('result').replaceChildren()")
        browser.find_element(By.ID, "verify").click()
        wait.until(lambda d: d.find_elements(By.ID, "verdict"))
        assert browser.find_element(By.ID, "id-number").get_attribute("value") == ""
    assert browser.execute_script("return window.__sent") == [ID_NUMBER, None]


def test_the_application_date_is_sent_with_one_verification_only(
    vchain: Any, server: str, browser: Any
) -> None:
    """The application date is the applicant's (facts held by then count), as the document
    number is: the field is empty after a verification, so applicant 1's date is never the
    frame of applicant 2's facts unless the officer types it for them."""
    wait = _page(browser, server)
    browser.execute_script(
        "window.__sent = [];"
        "const original = window.fetch;"
        "window.fetch = (url, init) => {"
        "  if (init && init.body instanceof FormData)"
        "    window.__sent.push(init.body.get('applicationDate'));"
        "  return original(url, init); };"
    )
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    field = browser.find_element(By.ID, "application-date")
    for i in range(2):
        browser.execute_script("scanned.push(arguments[0])", encode_payload(degree))
        if i == 0:
            browser.execute_script("arguments[0].value = '2026-11-30'", field)
        browser.execute_script("document.getElementById('result').replaceChildren()")
        browser.find_element(By.ID, "verify").click()
        wait.until(lambda d: d.find_elements(By.ID, "verdict"))
        assert field.get_attribute("value") == ""
    assert browser.execute_script("return window.__sent") == ["2026-11-30", None]


def test_attack_a_failed_wallet_request_does_not_leave_the_previous_verdict(
    vchain: Any, server: str, browser: Any
) -> None:
    key = holder()
    creds = dlt_expert_credentials(vchain, key.public_key.did_key)
    wait = _page(browser, server)
    _rid, p = _request_from_wallet(browser, wait)
    verdict = _wallet_verdict(browser, wait, p, key, creds)
    assert verdict.get_attribute("data-outcome") == "VALID_MEETS"
    # applicant 2: the request cannot be made (the verifier is unreachable)
    browser.execute_script(
        "const original = window.fetch;"
        "window.fetch = (url, init) => url === '/oid4vp/requests'"
        "  ? Promise.reject(new TypeError('Failed to fetch')) : original(url, init);"
    )
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(lambda d: d.find_elements(By.ID, "problem"))
    assert browser.find_elements(By.ID, "verdict") == []
    assert browser.find_element(By.ID, "wallet-box").get_attribute("hidden") is not None


def test_attack_a_late_verification_does_not_land_over_a_wallet_request_refused(
    vchain: Any, server: str, browser: Any
) -> None:
    """Applicant 1's QR verification is slow; for applicant 2 the officer presses 'Request from
    a wallet' with no profession chosen ('choose a profession'): applicant 1's verdict, coming
    back then, is not shown for applicant 2."""
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.execute_script("return typeof submit === 'function'"))
    browser.execute_script(HOLD_VERIFICATIONS)
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    browser.execute_script(
        "window.__hold = true; scanned.push(arguments[0])", encode_payload(degree)
    )
    browser.execute_script("window.__first = submit({preventDefault() {}});")
    wait.until(lambda d: d.execute_script("return window.__held.length") == 1)
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(lambda d: d.find_elements(By.ID, "problem"))
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__held.forEach((release) => release()); window.__first.then(done, done);"
    )
    assert browser.find_elements(By.ID, "verdict") == []
    assert "profession" in browser.find_element(By.ID, "problem").text
