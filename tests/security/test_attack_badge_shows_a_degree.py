"""What a VALID credential is shown to say is what its kind says, never another kind's claim it
carries (real Anvil: the CLI's text, the service's JSON, the officer's page in headless
Chromium).

The attack (red team, 2026-12-07): the Open Badges subject admits other members, so HKIB, a
training centre accredited for badges only, signs a badge whose subject also holds a ``degree``
(a doctorate from "The University of Hong Kong") and an ``employment`` (HSBC since 2010). The
badge is VALID (its issuer may award badges) and the profession counts it only as a badge
(test_badge_claiming_a_degree.py). But what the reports show a credential to say read those
members first: the CLI printed "says: doctorate degree in Computer Science from The University
of Hong Kong, awarded 2015-06-30" under the VALID badge, the service's ``claims`` held the degree
and the employment, and the page's card "Training or skill (Open Badge) - VALID" listed
"Degree: doctorate in Computer Science, Institution: The University of Hong Kong": an officer
reading the card read a verified doctorate from a university that never signed it, issued by a
training centre never accredited for degrees.

Now a report shows the claim of the credential's own kind (the one its checks judged: a badge's
``achievement``), on every surface; and since a badge holding another kind's claim member is
refused at check 2 (`types.require_one_kind`, test_badge_claiming_a_degree.py), such a badge is
INVALID, and no surface shows its degree or employment either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import BADGE, DEGREE, holder, issue
from tests.pages import chromium_open, verifier_service
from tests.security.surfaces import folder_verdicts

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UNIVERSITY = "The University of Hong Kong"


def _claims(subject: dict[str, Any]) -> None:
    subject["degree"] = {
        "level": "doctorate",
        "fieldOfStudy": "Computer Science",
        "institution": {"name": UNIVERSITY},
        "awardDate": "2015-06-30",
    }
    subject["employment"] = {
        "employer": {"name": "HSBC", "id": "did:web:hsbc.com", "registrationId": "HK-1"},
        "role": "Head of digital assets",
        "startDate": "2010-01-01",
        "domains": ["blockchain in financial services"],
    }


@pytest.fixture(scope="module")
def env(vchain: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("badge-shows-a-degree")
    record = vchain.save_deployment(d)
    s = holder().public_key.did_key
    badge = issue(vchain, vchain.issuers["HKIB"], BADGE, s, tweak=_claims)
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)
    files = {}
    folder = d / "folder"
    folder.mkdir()
    for name, doc in (("badge", badge), ("degree", degree)):
        (d / f"{name}.json").write_text(json.dumps(doc))
        (folder / f"{name}.json").write_text(json.dumps(doc))
        (d / f"{name}.png").write_bytes(render_png(encode_payload(doc)))
        files[name] = d / name
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "files": files,
            "folder": folder,
            "client": client,
        }


def _cli_text(env: dict[str, Any], name: str, exit_code: int = 0) -> str:
    r = CliRunner().invoke(
        app,
        [
            "verify",
            str(env["files"][name]) + ".json",
            "--rpc",
            env["chain"].rpc_url,
            "--trust",
            env["record"],
        ],
    )
    assert r.exit_code == exit_code, r.output
    return str(r.output)


def test_cli_refuses_the_badge_and_never_says_its_degree(env: dict[str, Any]) -> None:
    text = _cli_text(env, "badge", exit_code=1)
    assert text.startswith("INVALID") and "check 2" in text, text
    assert "credentialSubject.degree" in text, text
    says = [line for line in text.splitlines() if line.strip().startswith("says:")]
    assert not any(UNIVERSITY in line or "HSBC" in line for line in says), says


def test_the_service_refuses_the_badge_and_shows_no_degree(env: dict[str, Any]) -> None:
    doc = json.loads((env["files"]["badge"].with_suffix(".json")).read_text())
    r = env["client"].post("/api/v1/verify", json={"documents": [doc]})
    assert r.status_code == 200, r.text
    (cred,) = r.json()["credentials"]
    assert cred["verdict"] == "invalid", cred
    claims = cred.get("claims") or {}
    assert not {"degree", "employment"} & set(claims), claims


def test_a_folder_refuses_the_badge_with_one_and_two_workers_c_on_and_off(
    env: dict[str, Any],
) -> None:
    for mode, results in folder_verdicts(env).items():
        assert results["badge"][0] == "INVALID", (mode, results["badge"][1][:400])
        assert "credentialSubject.degree" in results["badge"][1], (mode, results["badge"][1][:400])
        assert results["degree"][0] == "VALID", (mode, results["degree"][1][:400])


def test_control_a_degree_still_says_its_degree(env: dict[str, Any]) -> None:
    (says,) = [
        line for line in _cli_text(env, "degree").splitlines() if line.strip().startswith("says:")
    ]
    assert "bachelor degree in Computer Science from University of Hong Kong" in says, says


@pytest.fixture(scope="module")
def server(vchain: Any, tmp_path_factory: Any) -> Iterator[str]:
    with verifier_service(vchain, tmp_path_factory.mktemp("badge-shows-a-degree-web")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: Any) -> Iterator[Any]:
    with chromium_open(tmp_path_factory.mktemp("chromium-profile"), 1200, 2400) as driver:
        yield driver


def test_the_page_refuses_the_badge_and_shows_no_degree(
    env: dict[str, Any], server: str, browser: Any
) -> None:
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    browser.find_element(By.ID, "files").send_keys(str(env["files"]["badge"]) + ".png")
    browser.find_element(By.ID, "verify").click()
    verdict = wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    assert verdict.get_attribute("data-outcome") == "INVALID"
    card = browser.find_element(By.ID, "credential-0").text
    assert "Degree:" not in card and UNIVERSITY not in card and "HSBC" not in card, card
