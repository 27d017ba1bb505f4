"""A signed and anchored credential whose last type is the empty text fails check 2, and stops
nothing else (real Anvil: the engine, the CLI on one file and on a folder).

The attack: one accredited issuer (its key and chain account, or a buggy issuer implementation)
signs and anchors a credential whose ``type`` ends with ``""``. Check 2 fails it, but checks 5-8
still read the chain with the type check 1 read (to report everything), and the empty name made
the ledger's ``type_id`` raise ``ValueError`` out of the engine: ``talentproof verify`` printed a
traceback, the service answered 500, and a folder holding one such file beside thousands of other
people's credentials stopped as a whole, none reported. Checks 5-8 are now skipped ("no known
type") for it, as for a credential naming no type.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.engine import Item
from tests.chainkit import DEGREE, anchor_batch, build, holder, issue, sign

pytestmark = pytest.mark.integration
runner = CliRunner()

TYPES = [
    ["VerifiableCredential", "DegreeCredential", ""],
    ["VerifiableCredential", ""],
]


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("emptytype")
    record = vchain.save_deployment(d)
    uni = vchain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    good = issue(vchain, uni, DEGREE, s)
    bad = []
    for types in TYPES:
        doc = build(DEGREE, uni.did, s)
        doc["type"] = types
        bad.append(sign(doc, uni.key))
    bad = anchor_batch(bad, uni.client, vchain.deployment)
    return {"vchain": vchain, "record": str(record), "dir": d, "good": good, "bad": bad}


@pytest.mark.parametrize("index", range(len(TYPES)), ids=["degree-then-empty", "empty"])
def test_engine_fails_check_2_and_skips_the_chain_checks(env, index):
    report = (
        env["vchain"]
        .verifier()
        .verify_application([Item("good", env["good"]), Item("bad", env["bad"][index])])
    )
    good, bad = report.credentials
    assert good.verdict.value == "valid"
    status = {c.number: c.status.value for c in bad.checks}
    assert status[2] == "fail" and status[3] == "pass" and status[4] == "pass", status
    assert {status[n] for n in (5, 6, 7, 8)} == {"skipped"}, status
    assert report.outcome.outcome.value == "INVALID"


def test_a_folder_holding_one_is_verified_whole(env):
    folder = env["dir"] / "folder"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(env["good"]), "utf-8")
    for i, doc in enumerate(env["bad"]):
        (folder / f"bad{i}.json").write_text(json.dumps(doc), "utf-8")
    r = runner.invoke(
        app, ["verify", "--rpc", env["vchain"].rpc_url, "--trust", env["record"], str(folder)]
    )
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 1, r.output
    assert "1 valid, 2 invalid" in r.stdout, r.stdout
