"""A re-checked receipt says as of when its verdict holds (real Anvil, CLI).

The attack: an applicant whose application met the profession keeps the signed receipt; their
degree is revoked afterwards (fraud found). They hand the receipt to an auditor or an employer,
who runs ``talentproof receipt check --verifier-key ...`` and read "✓ receipt re-checked: signed
by your verifier key ..., outcome VALID_MEETS (hk-dlt-expert), verdict VALID at block N 0x...":
true of block N, which is what a receipt records, but nothing in the line said when that was, nor
that the credentials' status now is another question, and a block number reads like a current
answer. The summary now says the verdict is as of the receipt's time and block time, and that
their status now is read by verifying the credentials, in the text and in ``--json``.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import load_policy
from talentproof.verifier.receipt import generate_key_file, load_key, sign_receipt
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_a_receipt_of_a_since_revoked_degree_says_as_of_when_it_was_valid(vchain, tmp_path):
    key_file = tmp_path / "verifier-key.json"
    generate_key_file(key_file)
    uni = vchain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    degree = issue(vchain, uni, DEGREE, s)
    items = [
        Item("degree", degree),
        Item("job", issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")),
    ]
    v = vchain.verifier()
    report = v.verify_application(items, policy=load_policy(None), profession="hk-dlt-expert")
    assert report.outcome.outcome.value == "VALID_MEETS", report.outcome
    key = load_key(key_file)
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(sign_receipt(report, key, trust=v.trust)), "utf-8")
    uni.client.revoke_credential(credential_hash(split_anchor(degree)[0]))

    args = ["receipt", "check", str(path), "--rpc", vchain.rpc_url]
    args += ["--verifier-key", key.public_key.multibase]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output  # the receipt is genuine and re-checks at its block
    assert f"as of {report.as_of}" in r.stdout, r.stdout
    assert report.chain is not None and report.chain.block_timestamp
    sealed = report.chain.block_timestamp
    assert "not their status now" in r.stdout, r.stdout
    r = runner.invoke(app, [*args, "--json"])
    got = json.loads(r.stdout)
    assert got["asOf"] == report.as_of and got["blockTimestamp"] == sealed, got
    # verified now, the degree is revoked
    now = v.verify_application([Item("degree", degree)])
    assert now.outcome.outcome.value == "INVALID", now.outcome
