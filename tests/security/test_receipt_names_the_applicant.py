"""A re-checked receipt says whom it is about (real Anvil, CLI).

The attack: an applicant hands an auditor (an immigration case officer, an employer) a genuine
receipt, signed by the trusted verifier's key, of someone else's application that met the
profession, as evidence of their own. ``talentproof receipt check --verifier-key ...`` answered
"✓ receipt re-checked: signed by your verifier key ..., 2 credential(s), outcome VALID_MEETS
(hk-dlt-expert), ..." and nothing about the person: nothing in what the auditor reads ties the
receipt to the person in front of them. The summary now names the applicant as the re-read
credentials name them (name, date of birth, the kind of identity document) and whether the
verifier compared the travel document (check 12, as recorded), in the text and in ``--json``.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import load_policy
from talentproof.verifier.receipt import generate_key_file, load_key, sign_receipt
from tests.chainkit import DEGREE, EMPLOYMENT, ID_NUMBER, ID_SALT, PERSON, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("receipt-person")
    key_file = d / "verifier-key.json"
    generate_key_file(key_file)
    s = holder().public_key.did_key
    items = [
        Item("degree", issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)),
        Item("job", issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")),
    ]
    v = vchain.verifier()
    key = load_key(key_file)
    receipts = {}
    for name, extra in (
        ("unchecked", {}),
        ("checked", {"id_number": ID_NUMBER, "id_salt": ID_SALT}),
    ):
        report = v.verify_application(
            items, policy=load_policy(None), profession="hk-dlt-expert", **extra
        )
        path = d / f"{name}.json"
        path.write_text(json.dumps(sign_receipt(report, key, trust=v.trust)), "utf-8")
        receipts[name] = path
    return {"rpc": vchain.rpc_url, "key": key.public_key.multibase, "receipts": receipts}


def _check(env, name, *extra):  # type: ignore[no-untyped-def]
    path = str(env["receipts"][name])
    return runner.invoke(
        app, ["receipt", "check", path, "--rpc", env["rpc"], "--verifier-key", env["key"], *extra]
    )


def test_the_text_names_the_applicant_and_says_the_document_was_not_compared(env):
    r = _check(env, "unchecked")
    assert r.exit_code == 0, r.output
    assert PERSON["name"] in r.stdout and PERSON["birthDate"] in r.stdout, r.stdout
    assert "the travel document was not compared when it was verified" in r.stdout, r.stdout


def test_the_text_says_when_the_travel_document_was_compared(env):
    r = _check(env, "checked")
    assert r.exit_code == 0, r.output
    assert PERSON["name"] in r.stdout and "matched" in r.stdout, r.stdout


def test_json_names_the_applicant(env):
    r = _check(env, "checked", "--json")
    assert r.exit_code == 0, r.output
    person = json.loads(r.stdout)["person"]
    assert person["name"] == PERSON["name"] and person["birthDate"] == PERSON["birthDate"]
    assert person["documentType"] == PERSON["identityDocument"]["documentType"]
    assert person["travelDocument"] == "matched"
