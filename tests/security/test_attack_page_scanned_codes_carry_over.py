"""The officer's page never verifies one applicant's camera-scanned QR codes again with the
next applicant's (headless Chromium with a fake camera, real Anvil).

The attack (red team, 2026-12-07): the page keeps the QR texts its camera scanned in a list
that each verification sends (``payloads``); nothing emptied it but a reload. After applicant 1
(whose degree, employment and training meet the profession) was verified from scanned codes,
every later verification on that page sent applicant 1's codes too:

- applicant 2 shows two codes at once to the camera (the page refuses such a frame: "nothing
  was scanned") or has nothing the camera reads, and the officer presses Verify: the page
  verified applicant 1's codes again and showed "VALID AND MEETS THE PROFESSION" for the
  person at the counter (with no travel-document number typed, nothing says it is someone else
  but the name beside the verdict);
- applicant 2's own code scanned: it was judged together with applicant 1's, so an honest
  applicant's degree came back INVALID ("not one applicant", check 11).

The QR pictures chosen in the upload field were sent again the same way. Each verification now
sends what was given for it and no more: the page forgets the scanned codes (and their list) and
the chosen files once it sends them.

Linux Chromium has no ``BarcodeDetector`` (the Shape Detection API): the test gives the page one
that reports the codes the test shows the camera, one frame at a time, over Chromium's fake
camera device (``--use-fake-device-for-media-stream``); the rest is the page's own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import DEGREE, OTHER_PERSON, dlt_expert_credentials, holder, issue
from tests.pages import chromium_open, verifier_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]

#: A BarcodeDetector that sees, in the next frame, the codes the test put in
#: ``window.__frame`` (a list of QR texts), once.
DETECTOR = """
window.__frame = null;
window.BarcodeDetector = class {
  constructor(options) { this.options = options; }
  async detect(_video) {
    const codes = window.__frame || [];
    window.__frame = null;
    return codes.map((rawValue) => ({ rawValue, format: "qr_code" }));
  }
};
"""


@pytest.fixture(scope="module")
def server(vchain: Any, tmp_path_factory: Any) -> Iterator[str]:
    with verifier_service(vchain, tmp_path_factory.mktemp("scanned-codes")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: Any) -> Iterator[Any]:
    fake_camera = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
    with chromium_open(
        tmp_path_factory.mktemp("chromium-profile"), 1200, 2400, extra=fake_camera
    ) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DETECTOR})
        yield driver


def _scan(browser: Any, wait: Any, codes: list[str]) -> str:
    """Start the camera and show it ``codes`` in one frame; the camera status then."""
    browser.find_element(By.ID, "camera-start").click()
    wait.until(lambda d: "Point the camera" in d.find_element(By.ID, "camera-status").text)
    browser.execute_script("window.__frame = arguments[0]", codes)
    wait.until(lambda d: "Point the camera" not in d.find_element(By.ID, "camera-status").text)
    return str(browser.find_element(By.ID, "camera-status").text)


def _verify(browser: Any, wait: Any) -> tuple[str | None, str | None]:
    """Press Verify: (the verdict's outcome, the applicant's name), or (None, the problem)."""
    browser.execute_script("document.getElementById('result').replaceChildren()")
    browser.find_element(By.ID, "verify").click()
    wait.until(
        lambda d: (
            d.find_elements(By.ID, "verdict")
            or d.find_elements(By.CSS_SELECTOR, "#result .problem")
        )
    )
    verdicts = browser.find_elements(By.ID, "verdict")
    if not verdicts:
        return None, browser.find_element(By.CSS_SELECTOR, "#result .problem").text
    wait.until(ec.presence_of_element_located((By.ID, "person-name")))
    name = browser.find_element(By.ID, "person-name").text
    return verdicts[0].get_attribute("data-outcome"), name


def _first_applicant_verified(vchain: Any, server: str, browser: Any) -> Any:
    """Applicant 1's three credentials scanned one by one and verified: VALID_MEETS."""
    creds = dlt_expert_credentials(vchain, holder().public_key.did_key)
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    for cred in creds.values():
        assert _scan(browser, wait, [encode_payload(cred)]).startswith("Scanned."), cred["type"]
    outcome, name = _verify(browser, wait)
    assert outcome == "VALID_MEETS", (outcome, name)
    assert name == "CHAN Tai Man", name
    return wait


def test_attack_the_previous_applicants_codes_are_not_verified_for_the_next(
    vchain: Any, server: str, browser: Any
) -> None:
    """Applicant 2 shows two codes at once (refused: nothing scanned) and the officer presses
    Verify: no verdict at all, never applicant 1's VALID_MEETS again."""
    wait = _first_applicant_verified(vchain, server, browser)
    second = issue(
        vchain,
        vchain.issuers["University of Hong Kong"],
        DEGREE,
        holder().public_key.did_key,
        person=OTHER_PERSON,
    )
    third = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    status = _scan(browser, wait, [encode_payload(second), encode_payload(third)])
    assert "nothing was scanned" in status, status
    outcome, said = _verify(browser, wait)
    assert outcome is None, f"applicant 1's codes verified again for applicant 2: {outcome} {said}"
    assert "scan a QR code" in str(said), said
    assert browser.find_elements(By.CSS_SELECTOR, "#scanned li") == []


def test_the_next_applicants_code_is_judged_alone(vchain: Any, server: str, browser: Any) -> None:
    """Applicant 2's own degree, scanned after applicant 1's verification, is judged alone:
    VALID_NOT_MET for applicant 2, not INVALID beside applicant 1's credentials (check 11)."""
    wait = _first_applicant_verified(vchain, server, browser)
    second = issue(
        vchain,
        vchain.issuers["University of Hong Kong"],
        DEGREE,
        holder().public_key.did_key,
        person=OTHER_PERSON,
    )
    assert _scan(browser, wait, [encode_payload(second)]).startswith("Scanned.")
    outcome, name = _verify(browser, wait)
    assert (outcome, name) == ("VALID_NOT_MET", OTHER_PERSON["name"]), (outcome, name)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#scanned li")) == 0


def test_the_previous_applicants_files_are_not_sent_for_the_next(
    vchain: Any, server: str, browser: Any, tmp_path: Any
) -> None:
    """Applicant 1's QR pictures, chosen and verified (VALID_MEETS); applicant 2's degree
    scanned next: judged alone (VALID_NOT_MET), the files not sent again."""
    creds = dlt_expert_credentials(vchain, holder().public_key.did_key)
    paths = []
    for label, cred in creds.items():
        path = tmp_path / f"{label}.png"
        path.write_bytes(render_png(encode_payload(cred)))
        paths.append(str(path))
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    browser.find_element(By.ID, "files").send_keys("\n".join(paths))
    assert _verify(browser, wait) == ("VALID_MEETS", "CHAN Tai Man")
    second = issue(
        vchain,
        vchain.issuers["University of Hong Kong"],
        DEGREE,
        holder().public_key.did_key,
        person=OTHER_PERSON,
    )
    assert _scan(browser, wait, [encode_payload(second)]).startswith("Scanned.")
    assert _verify(browser, wait) == ("VALID_NOT_MET", OTHER_PERSON["name"])


def test_attack_a_camera_left_scanning_does_not_scan_for_the_next_applicant(
    vchain: Any, server: str, browser: Any, tmp_path: Any
) -> None:
    """The officer starts the camera for applicant 1, then verifies their QR pictures instead
    (VALID_MEETS). A camera left scanning read applicant 1's code as they left, and the next
    Verify (applicant 2, nothing given) sent it: applicant 1's verdict for applicant 2. Verify
    now stops a scan in progress."""
    creds = dlt_expert_credentials(vchain, holder().public_key.did_key)
    paths = []
    for label, cred in creds.items():
        path = tmp_path / f"{label}.png"
        path.write_bytes(render_png(encode_payload(cred)))
        paths.append(str(path))
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    browser.find_element(By.ID, "camera-start").click()
    wait.until(lambda d: "Point the camera" in d.find_element(By.ID, "camera-status").text)
    browser.find_element(By.ID, "files").send_keys("\n".join(paths))
    assert _verify(browser, wait) == ("VALID_MEETS", "CHAN Tai Man")
    assert not browser.find_element(By.ID, "camera").is_displayed()
    # applicant 1's phone passes the camera as they leave: a camera still scanning reads it
    browser.execute_script("window.__frame = arguments[0]", [encode_payload(creds["degree"])])
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; setTimeout(done, 1200);"
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#scanned li") == []
    outcome, said = _verify(browser, wait)
    assert outcome is None, f"applicant 1's code scanned and verified for applicant 2: {said}"
