"""A salt that is not a salt makes check 12 say so, never "another person's document" (real
Anvil: the engine, the CLI and the service).

With bare credentials the holder's salt comes from outside the credentials (``--id-salt``, the
service's ``idSalt``: typed or pasted by the officer, or handed over by the applicant). A salt
that is not one at all (``x``, padding, too short: a typing or copying slip) was compared as if
it were, and check 12 failed: "The travel document shown is not the one the credentials name",
INVALID, the colour of a fraud, for an honest applicant whose document matches. Such a salt now
makes check 12 an error naming what a salt is (NOT VERIFIABLE, as with no salt); a well-formed
salt that is not the holder's still fails it.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload
from talentproof.verifier.engine import Item
from tests.chainkit import DEGREE, EMPLOYMENT, ID_NUMBER, ID_SALT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()

MALFORMED = ["x", "====", "A" * 21, "AAAA", "not a salt!", "A" * 20 + "=="]


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("salt")
    record = vchain.save_deployment(d)
    s = holder().public_key.did_key
    creds = [
        issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s),
        issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01"),
    ]
    return {"vchain": vchain, "record": str(record), "dir": d, "creds": creds}


def _check_12(report):  # type: ignore[no-untyped-def]
    return next(c for c in report.checks if c.number == 12)


def test_the_holders_salt_matches_and_another_salt_does_not(env):
    """The controls: the right salt passes check 12; a well-formed salt of someone else fails."""
    v = env["vchain"].verifier()
    items = [Item(f"c{i}", c) for i, c in enumerate(env["creds"])]
    ok = v.verify_application(items, id_number=ID_NUMBER, id_salt=ID_SALT)
    assert _check_12(ok).status.value == "pass", _check_12(ok).message
    other = v.verify_application(items, id_number=ID_NUMBER, id_salt="B" * 22)
    assert _check_12(other).status.value == "fail", _check_12(other).message
    assert other.outcome.outcome.value == "INVALID"


@pytest.mark.parametrize("salt", MALFORMED)
def test_engine_reports_a_malformed_salt_as_unusable(env, salt):
    v = env["vchain"].verifier()
    items = [Item(f"c{i}", c) for i, c in enumerate(env["creds"])]
    report = v.verify_application(items, id_number=ID_NUMBER, id_salt=salt)
    check = _check_12(report)
    assert check.status.value == "error", check.message
    assert "salt" in check.message, check.message
    assert report.outcome.outcome.value == "NOT_VERIFIABLE", report.outcome


def test_cli_and_service_say_the_salt_is_unusable(env):
    paths = []
    for i, c in enumerate(env["creds"]):
        p = env["dir"] / f"c{i}.json"
        p.write_text(json.dumps(c), "utf-8")
        paths.append(str(p))
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            env["vchain"].rpc_url,
            "--trust",
            env["record"],
            "--id-number",
            ID_NUMBER,
            "--id-salt",
            "x",
            *paths,
        ],
    )
    assert r.exit_code == 3, r.output  # NOT VERIFIABLE, not INVALID (1)
    assert "salt" in r.stdout, r.stdout
    with env["vchain"].service_client(env["record"]) as client:
        r = client.post(
            "/api/v1/verify",
            json={
                "payloads": [encode_payload(c) for c in env["creds"]],
                "idNumber": ID_NUMBER,
                "idSalt": "x",
            },
        )
    assert r.status_code == 200, r.text[:300]
    assert r.json()["outcome"]["code"] == "NOT_VERIFIABLE", r.json()["outcome"]
