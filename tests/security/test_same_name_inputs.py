"""Two inputs with the same name are still two applicants' worth of checks (real Anvil).

The attack: check 11 (one applicant: one holder key, name, birth date and identity document)
collected each credential's subject under its input's name. An upload's name is the uploader's
to choose (the page's file name), and the CLI names a file by its base name, so two inputs named
alike (``qr.png`` twice; ``a/qr.json`` and ``b/qr.json``) counted as one: the degree of one
person and the employment and training of another passed check 11 as the same applicant and the
application came back VALID_MEETS. Each credential now counts on its own, whatever its input is
called.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue
from tests.chainkit import OTHER_PERSON as OTHER

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("same-name")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    mine, theirs = holder().public_key.did_key, holder().public_key.did_key
    creds = {
        # the applicant's own degree ...
        "degree": issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, mine),
        # ... and another person's employment and training
        "employment": issue(
            vchain, vchain.issuers["HSBC"], EMPLOYMENT, theirs, start="2012-01-01", person=OTHER
        ),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, theirs, person=OTHER),
    }
    for sub in ("a", "b", "c"):
        (d / sub).mkdir()
    for sub, name in zip(("a", "b", "c"), creds, strict=True):
        (d / sub / "qr.json").write_text(json.dumps(creds[name]))
    app_ = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))
    with TestClient(app_) as client:
        yield {"dir": d, "record": str(record), "chain": vchain, "creds": creds, "client": client}


def _assert_two_people(outcome: dict) -> None:
    assert outcome["code"] == "INVALID", outcome
    assert "check 11" in outcome["reason"], outcome


def test_control_distinct_names_are_two_people(env):
    r = env["client"].post(
        "/api/v1/verify",
        json={"documents": list(env["creds"].values()), "profession": "hk-dlt-expert"},
    )
    _assert_two_people(r.json()["outcome"])


def test_uploads_named_alike_are_not_one_applicant(env):
    files = [
        ("files", ("qr.png", render_png(encode_payload(c)), "image/png"))
        for c in env["creds"].values()
    ]
    r = env["client"].post(
        "/api/v1/verify/image", data={"profession": "hk-dlt-expert"}, files=files
    )
    assert r.status_code == 200, r.text
    _assert_two_people(r.json()["outcome"])


def test_cli_files_with_one_base_name_are_not_one_applicant(env):
    d = env["dir"]
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            env["chain"].rpc_url,
            "--trust",
            env["record"],
            str(d / "a" / "qr.json"),
            str(d / "b" / "qr.json"),
            str(d / "c" / "qr.json"),
            "--profession",
            "hk-dlt-expert",
            "--json",
        ],
    )
    assert r.exit_code == 1, r.output
    _assert_two_people(json.loads(r.output)["outcome"])


def test_engine_items_with_one_source_are_not_one_applicant(env):
    verifier = env["chain"].verifier()
    items = [Item("same", c) for c in env["creds"].values()]
    report = verifier.verify_application(
        items, policy=load_policy(DEFAULT_POLICY), profession="hk-dlt-expert"
    )
    _assert_two_people(report.outcome.to_json())


def test_the_evidence_names_every_credential_once(env):
    """Check 11's evidence lists each credential under its own label, never another input's."""
    verifier = env["chain"].verifier()
    creds = list(env["creds"].values())
    items = [Item(s, c) for s, c in zip(("x", "x", "x (2)"), creds, strict=True)]
    report = verifier.verify_application(items)
    [check] = [c for c in report.checks if c.number == 11]
    assert check.status.value == "fail", check
    subjects = check.evidence["subjects"]
    assert list(subjects) == ["x", "x (3)", "x (2)"], subjects
    assert list(subjects.values()) == [c["credentialSubject"]["id"] for c in creds]
