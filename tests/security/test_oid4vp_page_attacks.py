"""The officer's page never shows one applicant's wallet verdict over another's (headless
Chromium, real Anvil).

The page polls ``GET /oid4vp/requests/{id}`` for the wallet request it made. When the officer
moved on (verified a QR image of the next applicant, or made a new wallet request), the old
request's poll went on: whoever answered it (the first applicant late, or anyone who had
photographed its QR code) then had their verdict, VALID_MEETS, rendered in place of the
applicant at the counter's. A poll answer arriving after the officer moved on (one already in
flight) is dropped too.
"""

from __future__ import annotations

import json
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
from talentproof.credential.qr import encode_payload
from tests.chainkit import DEGREE, dlt_expert_credentials, holder, issue
from tests.verifier.test_web_page import browser, server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

__all__ = ["browser", "server"]


def _meeting_applicant(vchain: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    key = holder()
    s = key.public_key.did_key
    return key, dlt_expert_credentials(vchain, s)


def _request_from_wallet(browser: Any, wait: Any) -> tuple[str, dict[str, Any]]:
    """Click 'Request from a wallet'; (the officer's request id, the request object)."""
    browser.find_element(By.ID, "wallet-request").click()
    wait.until(ec.visibility_of_element_located((By.ID, "wallet-qr")))
    wait.until(
        lambda d: (
            d.find_element(By.ID, "wallet-box").get_attribute("data-request-id")
            not in (None, "", d.execute_script("return window.__lastRequestId || ''"))
        )
    )
    rid = browser.find_element(By.ID, "wallet-box").get_attribute("data-request-id")
    browser.execute_script("window.__lastRequestId = arguments[0]", rid)
    link = browser.find_element(By.ID, "wallet-link").get_attribute("href")
    request_uri = parse_qs(urlsplit(link).query)["request_uri"][0]
    with httpx.Client(timeout=30) as http:
        p = jwt.decode(http.get(request_uri).text, options={"verify_signature": False})
    return rid, p


def _answer(p: dict[str, Any], key: Any, creds: dict[str, dict[str, Any]]) -> None:
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
    with httpx.Client(timeout=30) as http:
        ok = http.post(p["response_uri"], data={"vp_token": json.dumps(token), "state": p["state"]})
    assert ok.status_code == 200, ok.text


def _stale_poll(browser: Any, rid: str) -> None:
    """Run the page's poll of request ``rid`` to its end: what a poll already in flight when
    the officer moved on does when its answer comes back."""
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; pollWallet(arguments[0]).then(done, done);",
        rid,
    )


def test_attack_an_abandoned_wallet_request_answered_later_does_not_replace_the_verdict(
    vchain: Any, server: str, browser: Any
) -> None:
    first_key, first = _meeting_applicant(vchain)
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    rid, p = _request_from_wallet(browser, wait)
    # the officer moves on: the next applicant shows a QR code of a degree alone
    second = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    browser.execute_script("scanned.push(arguments[0])", encode_payload(second))
    browser.find_element(By.ID, "verify").click()
    verdict = wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    assert verdict.get_attribute("data-outcome") == "VALID_NOT_MET"
    shown = browser.find_element(By.ID, "verdict-reason").text
    # the first request is answered now (late, or by whoever photographed its QR code)
    _answer(p, first_key, first)
    assert browser.find_element(By.ID, "wallet-box").get_attribute("hidden") is not None
    assert browser.execute_script("return walletPoll") is None  # no poll left running
    _stale_poll(browser, rid)  # a poll that was in flight comes back
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-outcome") == "VALID_NOT_MET"
    assert browser.find_element(By.ID, "verdict-reason").text == shown


def test_attack_the_previous_wallet_requests_answer_is_not_shown_for_the_new_one(
    vchain: Any, server: str, browser: Any
) -> None:
    first_key, first = _meeting_applicant(vchain)
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    old_id, old = _request_from_wallet(browser, wait)
    new_id, _new = _request_from_wallet(browser, wait)
    assert new_id != old_id
    _answer(old, first_key, first)
    _stale_poll(browser, old_id)  # the old request's poll, in flight when the new one was made
    assert browser.find_elements(By.ID, "verdict") == []
    assert "Waiting" in browser.find_element(By.ID, "wallet-status").text


HOLD_VERIFICATIONS = """
window.__held = [];
const original = window.fetch;
window.fetch = (url, init) => {
  const answer = original(url, init);
  if (!window.__hold || url !== "/api/v1/verify/image") return answer;
  return new Promise((resolve, reject) => window.__held.push(() => answer.then(resolve, reject)));
};
"""


def _submit(browser: Any, payload: str, *, keep: str | None = None) -> None:
    """Run the page's Verify with one scanned QR text; ``keep``: do not wait for it, keep its
    promise in ``window[keep]`` (its answer is held until released)."""
    browser.execute_script("scanned.length = 0; scanned.push(arguments[0])", payload)
    if keep is None:
        browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "submit({preventDefault() {}}).then(done, done);"
        )
    else:
        browser.execute_script(f"window.{keep} = submit({{preventDefault() {{}}}});")


def test_attack_an_earlier_verification_answered_late_does_not_replace_the_later_one(
    vchain: Any, server: str, browser: Any
) -> None:
    """The officer verifies applicant 1's QR code, then at once applicant 2's; applicant 1's
    answer comes back last. The page shows applicant 2's verdict (the last asked for)."""
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.execute_script("return typeof submit === 'function'"))
    browser.execute_script(HOLD_VERIFICATIONS)
    valid = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    forged = json.loads(json.dumps(valid))
    forged["credentialSubject"]["degree"]["level"] = "doctorate"
    browser.execute_script("window.__hold = true")
    _submit(browser, encode_payload(valid), keep="__first")  # applicant 1: held
    browser.execute_script("window.__hold = false")
    _submit(browser, encode_payload(forged))  # applicant 2: answered at once
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-outcome") == "INVALID"
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__held.forEach((release) => release()); window.__first.then(done, done);"
    )
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-outcome") == "INVALID"
