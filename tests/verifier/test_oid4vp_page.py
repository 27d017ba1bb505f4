"""The officer's page requests from a wallet (OpenID4VP, issue 15.2), in headless Chromium: the
"Request from a wallet" control shows the request's QR code, a refused response is listed on the
page as it comes, and the wallet's answer brings the verdict, rendered as any verification."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from talentproof.credential.presentation import create_presentation
from tests.chainkit import dlt_expert_credentials, holder
from tests.pages import verifier_service
from tests.verifier.test_web_page import browser, server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

__all__ = ["browser", "server"]  # the page tests' fixtures: the service and Chromium


def test_wallet_request_on_the_page_shows_refusals_then_the_verdict(
    vchain: Any, server: str, browser: Any
) -> None:
    key = holder()
    s = key.public_key.did_key
    creds = dlt_expert_credentials(vchain, s)
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(ec.visibility_of_element_located((By.ID, "wallet-qr")))
    wait.until(
        lambda d: d.execute_script(
            "const i = document.getElementById('wallet-qr'); return i.complete && i.naturalWidth > 0"
        )
    )
    link = browser.find_element(By.ID, "wallet-link").get_attribute("href")
    request_uri = parse_qs(urlsplit(link).query)["request_uri"][0]
    with httpx.Client(timeout=30) as http:
        p = jwt.decode(http.get(request_uri).text, options={"verify_signature": False})
        token = {
            qid: [
                create_presentation(
                    [cred],
                    key,
                    challenge=p["nonce"],
                    domain=p["client_id"],
                    created=datetime.now(UTC).replace(microsecond=0),
                )
            ]
            for qid, cred in creds.items()
        }
        wrong = http.post(p["response_uri"], data={"vp_token": json.dumps(token), "state": "x"})
        assert wrong.status_code == 400
        refusal = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.refusal")))
        assert "another request" in refusal.text
        ok = http.post(p["response_uri"], data={"vp_token": json.dumps(token), "state": p["state"]})
        assert ok.status_code == 200, ok.text
    verdict = wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    assert verdict.get_attribute("data-outcome") == "VALID_MEETS"
    assert browser.find_element(By.ID, "profession-result").get_attribute("data-met") == "true"
    assert "answered" in browser.find_element(By.ID, "wallet-status").text
    # the answered request's QR code and link are gone: scanned again, it could only be refused
    assert not browser.find_element(By.ID, "wallet-qr").is_displayed()
    assert not browser.find_element(By.ID, "wallet-link").is_displayed()


@pytest.fixture(scope="module")
def short_lived(vchain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A verifier whose OpenID4VP requests stay open 10 seconds: short, so that the test sees
    one expire, and long enough for a loaded machine's browser to show each new request's QR
    code before it does (the test checks it is shown, then taken off)."""
    with verifier_service(vchain, tmp_path_factory.mktemp("short"), oid4vp_request_ttl=10) as url:
        yield url


def test_an_expired_request_takes_its_qr_code_off_the_page(
    vchain: Any, short_lived: str, browser: Any
) -> None:
    browser.get(short_lived + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(ec.visibility_of_element_located((By.ID, "wallet-qr")))
    wait.until(lambda d: "expired" in d.find_element(By.ID, "wallet-status").text)
    assert "make a new one" in browser.find_element(By.ID, "wallet-status").text
    assert not browser.find_element(By.ID, "wallet-qr").is_displayed()
    assert not browser.find_element(By.ID, "wallet-link").is_displayed()
    # a new request shows its own QR code again
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(ec.visibility_of_element_located((By.ID, "wallet-qr")))
    assert browser.find_element(By.ID, "wallet-link").is_displayed()
