"""The same end-to-end verification against real Anvil and real Ganache."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import load_policy
from talentproof.verifier.receipt import generate_key_file, load_key, recheck_receipt, sign_receipt
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration


@pytest.fixture(params=["anvil", "ganache"])
def chain(request):
    return request.getfixturevalue("vchain" if request.param == "anvil" else "vchain_ganache")


def test_application_meets_profession_then_revocation_fails_it(chain, tmp_path):
    s = holder().public_key.did_key
    deg = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s, batch_with=7)
    emp = issue(chain, chain.issuers["HSBC"], EMPLOYMENT, s, start="2016-01-01")
    badge = issue(chain, chain.issuers["HKIB"], BADGE, s)
    v = chain.verifier()
    items = [Item("degree", deg), Item("employment", emp), Item("badge", badge)]
    report = v.verify_application(items, policy=load_policy(), profession="hk-dlt-expert")
    assert report.verdict is Verdict.VALID
    assert report.profession is not None and report.profession.met
    assert report.chain.chain_id == chain.deployment.chain_id

    key = tmp_path / "k.json"
    generate_key_file(key)
    receipt = sign_receipt(report, load_key(key), trust=v.trust)

    hsbc = chain.issuers["HSBC"]
    hsbc.client.revoke_credential(credential_hash(split_anchor(emp)[0]))
    again = v.verify_application(items, policy=load_policy(), profession="hk-dlt-expert")
    assert again.verdict is Verdict.INVALID
    emp_report = again.credentials[1]
    assert emp_report.check(CheckId.STATUS).status is Status.FAIL
    assert not again.profession.met
    crit = {c.id: c for c in again.profession.criteria}
    assert not crit["notable-firm-experience"].met
    # the receipt made before the revocation still re-checks at its block
    assert recheck_receipt(receipt, rpc=chain.rpc_url)["verdict"] == "valid"


def test_cli_qr_image_and_chain_mismatch(chain, tmp_path):
    s = holder().public_key.did_key
    deg = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s)
    record = tmp_path / "deployment.json"
    chain.deployment.save(record)
    img = tmp_path / "degree.png"
    img.write_bytes(render_png(encode_payload(deg)))
    r = CliRunner().invoke(
        app, ["verify", "--rpc", chain.rpc_url, "--trust", str(record), str(img), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["verdict"] == "valid"
    # a deployment record for another chain id: check 5 fails
    data = json.loads(record.read_text())
    data["chainId"] += 100
    record.write_text(json.dumps(data))
    r = CliRunner().invoke(
        app, ["verify", "--rpc", chain.rpc_url, "--trust", str(record), str(img), "--json"]
    )
    assert r.exit_code == 1
    anchor = json.loads(r.output)["credentials"][0]["checks"][4]
    assert anchor["id"] == "anchor" and anchor["status"] == "fail"
    assert "not the trusted chain" in anchor["message"]
