"""The verifier web page end to end in headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

from pathlib import Path

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue
from tests.pages import chromium_open, verifier_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(vchain, tmp_path_factory):
    with verifier_service(vchain, tmp_path_factory.mktemp("web")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium_open(tmp_path_factory.mktemp("chromium-profile"), 1200, 2400) as driver:
        yield driver


def _verify_files(browser, server, files: list[Path], profession: str | None = None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    if profession:
        wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
        Select(browser.find_element(By.ID, "profession")).select_by_value(profession)
    browser.find_element(By.ID, "files").send_keys("\n".join(str(f) for f in files))
    browser.find_element(By.ID, "verify").click()
    return wait.until(ec.presence_of_element_located((By.ID, "verdict")))


def _checks(browser):
    from selenium.webdriver.common.by import By

    return [
        (
            e.get_attribute("data-check"),
            e.get_attribute("data-status"),
            e.value_of_css_property("background-color"),
            e.text,
        )
        for e in browser.find_elements(By.CSS_SELECTOR, "li.check")
    ]


def test_valid_application_is_green_with_each_check_and_criterion(
    vchain, server, browser, tmp_path
):
    from selenium.webdriver.common.by import By

    s = holder().public_key.did_key
    files = []
    for kind, issuer, extra in (
        (DEGREE, "University of Hong Kong", {}),
        (EMPLOYMENT, "HSBC", {"start": "2014-01-01"}),
        (BADGE, "HKIB", {}),
    ):
        doc = issue(vchain, vchain.issuers[issuer], kind, s, **extra)
        f = tmp_path / f"{kind}.png"
        f.write_bytes(render_png(encode_payload(doc), scale=5))
        files.append(f)
    verdict = _verify_files(browser, server, files, profession="hk-dlt-expert")
    assert verdict.get_attribute("data-verdict") == "valid"
    assert verdict.get_attribute("data-outcome") == "VALID_MEETS"
    assert browser.find_element(By.ID, "verdict-label").text == "VALID AND MEETS THE PROFESSION"
    checks = _checks(browser)
    statuses = [c[1] for c in checks]
    assert statuses.count("pass") == 28  # 9 checks x 3 credentials + same applicant
    assert statuses.count("skipped") == 3  # no bound presentation asked
    assert "fail" not in statuses
    green = {c[2] for c in checks if c[1] == "pass"}
    assert green == {"rgba(238, 249, 240, 1)"}
    prof = browser.find_element(By.ID, "profession-result")
    assert prof.get_attribute("data-met") == "true"
    crits = browser.find_elements(By.CSS_SELECTOR, "#profession-result > ul > li.criterion")
    assert [c.get_attribute("data-criterion") for c in crits] == [
        "degree",
        "notable-firm-experience",
        "blockchain-in-finance",
    ]
    assert all(c.get_attribute("data-met") == "true" for c in crits)
    assert (
        "HSBC"
        in browser.find_element(By.CSS_SELECTOR, '[data-criterion="notable-firm-experience"]').text
    )
    # the block the verdict was judged at, with its time (a stale node shows an old one)
    import re

    chain_line = browser.find_element(By.ID, "chain").text
    # (its time readable, with the zone: the trial's officer read ISO texts)
    assert re.search(
        r"read at block \d+, sealed \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC "
        r"\(block hash 0x[0-9a-f]{64}\)",
        chain_line,
    ), chain_line
    browser.save_screenshot(str(tmp_path / "valid.png"))


def test_revoked_credential_is_red_with_the_reason(vchain, server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    uni = vchain.issuers["University of Hong Kong"]
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    f = tmp_path / "revoked.png"
    f.write_bytes(render_png(encode_payload(doc), scale=5))
    verdict = _verify_files(browser, server, [f], profession="hk-dlt-expert")
    assert verdict.get_attribute("data-verdict") == "invalid"
    assert browser.find_element(By.ID, "verdict-label").text == "INVALID"
    # the reason for the verdict is said at the top
    reason = browser.find_element(By.ID, "verdict-reason").text
    assert "check 8 (Not revoked or suspended): Revoked by University of Hong Kong" in reason
    assert verdict.value_of_css_property("background-color") == "rgba(253, 226, 225, 1)"
    failed = [c for c in _checks(browser) if c[1] == "fail"]
    assert len(failed) == 1
    check_id, _, color, text = failed[0]
    assert check_id == "credential_status"
    assert color == "rgba(253, 238, 238, 1)"
    assert "Revoked by University of Hong Kong" in text
    prof = browser.find_element(By.ID, "profession-result")
    assert prof.get_attribute("data-met") == "false"
    degree = browser.find_element(By.CSS_SELECTOR, '[data-criterion="degree"]')
    assert degree.get_attribute("data-met") == "false"
    # an application that is not valid meets no profession: the criterion names the credential
    assert "revoked.png failed check 8 (Not revoked or suspended)" in degree.text
    browser.save_screenshot(str(tmp_path / "revoked.png"))


def test_unreadable_image_is_not_verifiable_not_invalid(server, browser, tmp_path):
    """A photo that cannot be read is not a forgery: grey "could not read this image", never red."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    f = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(f)
    verdict = _verify_files(browser, server, [f])
    assert verdict.get_attribute("data-outcome") == "NOT_VERIFIABLE"
    assert browser.find_element(By.ID, "verdict-label").text == "NOT VERIFIABLE"
    assert browser.find_element(By.ID, "verdict-reason").text.startswith("Could not read blank.png")
    assert (
        verdict.value_of_css_property("background-color") == "rgba(236, 239, 241, 1)"
    )  # grey, not red
    card = browser.find_element(By.ID, "credential-0")
    assert card.get_attribute("data-unreadable") == "true"
    assert card.find_element(By.TAG_NAME, "h2").text == "Could not read this image"
    failed = [c for c in _checks(browser) if c[1] == "fail"]
    assert failed and failed[0][0] == "parse"
    assert "no TalentProof QR code could be read" in failed[0][3]


def test_false_meets_attack_on_the_page_says_why(vchain, server, browser, tmp_path):
    """The issue's false MEETS on the web page: OSL signs an employment naming HSBC."""
    from selenium.webdriver.common.by import By

    osl = vchain.issuers.get("OSL Digital Securities Limited") or vchain.add_issuer(
        "OSL Digital Securities Limited", (EMPLOYMENT,)
    )
    s = holder().public_key.did_key
    files = []
    for kind, issuer, extra in (
        (DEGREE, vchain.issuers["University of Hong Kong"], {}),
        (EMPLOYMENT, osl, {"start": "2012-01-01", "employer": "HSBC"}),
        (BADGE, vchain.issuers["HKIB"], {}),
    ):
        f = tmp_path / f"{kind}.png"
        f.write_bytes(render_png(encode_payload(issue(vchain, issuer, kind, s, **extra)), scale=5))
        files.append(f)
    verdict = _verify_files(browser, server, files, profession="hk-dlt-expert")
    # once VALID_NOT_MET (amber, "credentials valid" beside HSBC); now the signer is not
    # entitled to the claim: INVALID, check 6, naming both
    assert verdict.get_attribute("data-outcome") == "INVALID"
    assert verdict.value_of_css_property("background-color") != "rgba(255, 240, 217, 1)"
    why = "employer 'HSBC' is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)"
    assert why in browser.find_element(By.ID, "verdict-reason").text
    criterion = browser.find_element(By.CSS_SELECTOR, '[data-criterion="notable-firm-experience"]')
    assert "application is INVALID" in criterion.text and "check 6" in criterion.text


def test_readable_at_375_px_with_reason_person_and_claims_on_top(vchain, server, browser, tmp_path):
    """A phone-sized window: no horizontal scrolling, the verdict and its reason first, then the
    person's name and date of birth, and what each credential says (without a profession)."""
    import os

    from selenium.webdriver.common.by import By

    s = holder().public_key.did_key
    files = []
    for kind, issuer, extra in (
        (DEGREE, "University of Hong Kong", {"level": "master"}),
        (EMPLOYMENT, "HSBC", {"start": "2014-01-01"}),
    ):
        f = tmp_path / f"{kind}.png"
        f.write_bytes(
            render_png(
                encode_payload(issue(vchain, vchain.issuers[issuer], kind, s, **extra)), scale=5
            )
        )
        files.append(f)
    # a phone's viewport: 375 CSS px wide, overlay scrollbars (Chromium's mobile emulation)
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 1800, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        browser.get(server + "/")
        assert browser.execute_script("return document.documentElement.clientWidth") == 375
        verdict = _verify_files(browser, server, files)
        overflow = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert overflow[0] <= overflow[1] == 375, overflow
        wide = browser.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 375.5)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className)"
        )
        assert wide == []
        assert verdict.get_attribute("data-outcome") == "VALID"
        result = browser.find_element(By.ID, "result")
        first = result.find_element(By.XPATH, "./*[1]")
        assert first.get_attribute("id") == "verdict"
        reason = browser.find_element(By.ID, "verdict-reason")
        assert reason.is_displayed() and "valid" in reason.text
        assert browser.find_element(By.ID, "person-name").text == "CHAN Tai Man"
        assert browser.find_element(By.ID, "person-dob").text == "Born 1990-04-01"
        assert "not checked" in browser.find_element(By.ID, "person-doc").text
        claims = (
            browser.find_element(By.ID, "credential-0")
            .find_element(By.CSS_SELECTOR, "dl.claims")
            .text
        )
        assert "master in Computer Science" in claims and "2015-06-30" in claims
        emp = (
            browser.find_element(By.ID, "credential-1")
            .find_element(By.CSS_SELECTOR, "dl.claims")
            .text
        )
        assert "HSBC" in emp and "2014-01-01 to present" in emp
        # the person block sits right under the verdict, both within the first screen
        person = browser.find_element(By.ID, "person")
        top = browser.execute_script("return arguments[0].getBoundingClientRect().bottom", person)
        assert top < 1800
        shot = tmp_path / "verifier-375.png"
        browser.save_screenshot(str(shot))
        if os.environ.get("TALENTPROOF_SCREENSHOT_DIR"):
            import shutil as _shutil

            _shutil.copy(shot, os.environ["TALENTPROOF_SCREENSHOT_DIR"])
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_read_text_that_is_no_talentproof_payload_is_invalid_not_unreadable(
    server, browser, tmp_path
):
    """A QR code holding text that is not a TalentProof payload (``TP9:...``) was read: the page
    says INVALID on its card, as the CLI's heading (``tp9.png: INVALID``), not "Could not read
    this image"; no applicant is shown (the CLI: "no credential could be read")."""
    from selenium.webdriver.common.by import By

    f = tmp_path / "tp9.png"
    f.write_bytes(render_png("TP9:HELLO WORLD"))
    verdict = _verify_files(browser, server, [f])
    assert verdict.get_attribute("data-outcome") == "INVALID"
    card = browser.find_element(By.ID, "credential-0")
    assert card.get_attribute("data-unreadable") == "false"
    assert card.find_element(By.TAG_NAME, "h2").text == "Credential \u2014 INVALID"
    assert not browser.find_elements(By.ID, "person")
    failed = [c for c in _checks(browser) if c[1] == "fail"]
    assert failed and failed[0][0] == "parse" and "Not a TalentProof payload" in failed[0][3]
