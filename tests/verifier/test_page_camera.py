"""The officer's page scanning with the camera (verifier/static/app.js `startCamera`).

The page reads camera frames with the browser's `BarcodeDetector`, which Debian's Chromium does
not have (the page then says to upload a picture). So these tests give the page a detector that
answers what a frame would hold (injected before the page loads, through the DevTools protocol)
and Chromium's fake camera; everything after the detector is the page's own code.

Attack: an attacker's code beside the applicant's (a sticker on the document, a second phone
held next to it). The image upload refuses a picture with two codes (NOT_VERIFIABLE naming how
many), and so do both wallets; the camera took whichever code the detector listed first.
"""

from __future__ import annotations

import json

import pytest

from tests.pages import chromium_open, verifier_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(vchain, tmp_path_factory):
    with verifier_service(vchain, tmp_path_factory.mktemp("camera")) as url:
        yield url


def _detector(values: list[str]) -> str:
    """A `BarcodeDetector` whose every frame holds the codes ``values``."""
    return (
        "window.BarcodeDetector = class { constructor() {} "
        f"async detect() {{ return {json.dumps(values)}.map((rawValue) => ({{ rawValue }})); }} }};"
    )


def _scan(tmp_path, server: str, values: list[str]) -> tuple[str, list[str], str | None]:
    """Press "Scan with camera" with a detector seeing ``values``: the camera status line, the
    scanned list and the status's data-refused."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    fake_camera = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
    with chromium_open(tmp_path / "profile", 1200, 1600, extra=fake_camera) as browser:
        browser.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": _detector(values)}
        )
        browser.get(server + "/")
        browser.find_element(By.ID, "camera-start").click()
        status = browser.find_element(By.ID, "camera-status")
        WebDriverWait(browser, 30).until(
            lambda d: "Scanned" in status.text or "nothing was scanned" in status.text
        )
        items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#scanned li")]
        count = browser.execute_script("return scanned.length")
        assert count == len(items)
        return status.text, items, status.get_attribute("data-refused")


def test_two_different_codes_in_one_frame_are_refused(tmp_path, server) -> None:
    text, items, refused = _scan(tmp_path, server, ["HC1:APPLICANT", "HC1:STICKER"])
    assert refused == "several-codes"
    assert "2 different QR codes" in text
    assert items == []  # nothing kept to verify


def test_one_code_is_scanned_and_the_same_code_twice_is_one(tmp_path, server) -> None:
    for values in (["HC1:APPLICANT"], ["HC1:APPLICANT", "HC1:APPLICANT"]):
        text, items, refused = _scan(tmp_path / str(len(values)), server, values)
        assert refused is None
        assert text.startswith("Scanned.")
        assert items == ["scanned QR code 1"]
