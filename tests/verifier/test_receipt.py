"""Signed verification receipts: made, re-checked at the recorded block, tampering detected."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.verifier.engine import Item
from talentproof.verifier.errors import ReceiptError
from talentproof.verifier.receipt import generate_key_file, load_key, recheck_receipt, sign_receipt
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue, setup_chain

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("rk") / "verifier-key.json"
    generate_key_file(f)
    return f


def _application(vchain):
    s = holder().public_key.did_key
    deg = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)
    emp = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s)
    return deg, emp


def test_receipt_rechecks_at_its_block_even_after_a_later_revocation(vchain, key_file):
    deg, emp = _application(vchain)
    v = vchain.verifier()
    report = v.verify_application([Item("degree", deg), Item("employment", emp)])
    assert report.verdict.value == "valid"
    receipt = sign_receipt(report, load_key(key_file), trust=v.trust)
    assert receipt["report"]["chain"]["blockHash"] == report.chain.block_hash
    ok = recheck_receipt(receipt, rpc=vchain.rpc_url)
    assert ok["blockNumber"] == report.chain.block_number and ok["verdict"] == "valid"
    # the issuer revokes the degree afterwards: the receipt still re-checks at its own block...
    uni = vchain.issuers["University of Hong Kong"]
    uni.client.revoke_credential(credential_hash(split_anchor(deg)[0]))
    assert recheck_receipt(receipt, rpc=vchain.rpc_url)["verdict"] == "valid"
    # ...while a fresh verification sees the revocation
    assert v.verify_application([Item("degree", deg)]).verdict.value == "invalid"


def test_altered_receipt_is_refused(vchain, key_file):
    deg, _ = _application(vchain)
    v = vchain.verifier()
    report = v.verify_application([Item("degree", deg)])
    receipt = sign_receipt(report, load_key(key_file), trust=v.trust)
    forged = copy.deepcopy(receipt)
    forged["report"]["verdict"] = "invalid"
    with pytest.raises(ReceiptError, match="altered"):
        recheck_receipt(forged, rpc=vchain.rpc_url)


def test_receipt_with_wrong_outcome_does_not_recheck(vchain, key_file):
    # a verifier that signs a verdict the chain does not support is caught on re-check
    deg, _ = _application(vchain)
    v = vchain.verifier()
    report = v.verify_application([Item("degree", deg)])
    data = report.to_json(include_credentials=True)
    data["credentials"][0]["checks"][7]["status"] = "fail"  # claims "revoked"
    from talentproof.verifier.engine import ApplicationReport

    lying = sign_receipt(ApplicationReport.from_json(data), load_key(key_file), trust=v.trust)
    with pytest.raises(ReceiptError, match="do not come out the same"):
        recheck_receipt(lying, rpc=vchain.rpc_url)


def test_receipt_from_unexpected_signer_is_refused(vchain, key_file, tmp_path):
    deg, _ = _application(vchain)
    v = vchain.verifier()
    receipt = sign_receipt(
        v.verify_application([Item("degree", deg)]), load_key(key_file), trust=v.trust
    )
    other = tmp_path / "other.json"
    other_id = generate_key_file(other)
    with pytest.raises(ReceiptError, match="not by the expected verifier"):
        recheck_receipt(receipt, rpc=vchain.rpc_url, expected_signer=other_id)


def test_cli_writes_and_checks_a_receipt(vchain, key_file, tmp_path):
    deg, _ = _application(vchain)
    doc = tmp_path / "degree.json"
    doc.write_text(json.dumps(deg))
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    out = tmp_path / "receipt.json"
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            vchain.rpc_url,
            "--trust",
            str(record),
            str(doc),
            "--receipt",
            str(out),
            "--receipt-key",
            str(key_file),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Receipt written" in r.output
    assert out.stat().st_mode & 0o777 == 0o600  # personal data: owner only (issue 12)
    key_id = load_key(key_file).public_key.multibase
    ok = runner.invoke(
        app, ["receipt", "check", str(out), "--rpc", vchain.rpc_url, "--verifier-key", key_id]
    )
    assert ok.exit_code == 0, ok.output
    assert "receipt re-checked" in ok.output
    # without --verifier-key it re-checks but its signer is not trusted (anyone can sign one):
    # exit 5, never "re-checked" plainly (tests/security/test_receipt_attacks.py)
    untrusted = runner.invoke(app, ["receipt", "check", str(out), "--rpc", vchain.rpc_url])
    assert untrusted.exit_code == 5 and "UNTRUSTED" in untrusted.output, untrusted.output
    ok_receipt = tmp_path / "receipt-ok.json"
    ok_receipt.write_text(out.read_text())
    data = json.loads(out.read_text())
    data["report"]["chain"]["blockNumber"] -= 1
    out.write_text(json.dumps(data))
    bad = runner.invoke(app, ["receipt", "check", str(out), "--rpc", vchain.rpc_url])
    assert bad.exit_code == 1 and "does not re-check" in bad.output
    down = runner.invoke(app, ["receipt", "check", str(ok_receipt), "--rpc", "http://127.0.0.1:9"])
    assert down.exit_code == 3, down.output  # the chain could not be read: not a failed receipt
    assert "http://127.0.0.1:9" in down.output and "does not re-check" not in down.output


def test_keygen_refuses_to_overwrite(tmp_path):
    f = tmp_path / "k.json"
    assert runner.invoke(app, ["verifier", "keygen", "--out", str(f)]).exit_code == 0
    assert (f.stat().st_mode & 0o777) == 0o600
    r = runner.invoke(app, ["verifier", "keygen", "--out", str(f)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output


def test_receipt_check_of_something_else_is_a_usage_error(vchain, tmp_path):
    deg, _ = _application(vchain)
    doc = tmp_path / "degree.json"
    doc.write_text(json.dumps(deg))  # a credential, not a receipt
    r = runner.invoke(app, ["receipt", "check", str(doc), "--rpc", vchain.rpc_url])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert (
        len(lines) == 1 and "expected a receipt" in lines[0] and "does not re-check" not in r.output
    )


def test_receipt_with_a_checked_travel_document_rechecks(vchain, key_file):
    """The receipt records that the document matched, not its number: check 12 is not re-run."""
    from tests.chainkit import ID_NUMBER, ID_SALT

    deg, emp = _application(vchain)
    v = vchain.verifier()
    report = v.verify_application(
        [Item("degree", deg), Item("employment", emp)], id_number=ID_NUMBER, id_salt=ID_SALT
    )
    assert report.person["documentMatches"] is True
    receipt = sign_receipt(report, load_key(key_file), trust=v.trust)
    assert ID_NUMBER not in json.dumps(receipt) and "A1234567" not in json.dumps(receipt)
    assert receipt["report"]["person"]["documentMatches"] is True
    assert recheck_receipt(receipt, rpc=vchain.rpc_url)["verdict"] == "valid"


def test_receipt_against_another_registry_is_refused_when_the_deployment_is_pinned(
    vchain, key_file, tmp_path, monkeypatch
):
    """A receipt signed by the auditor's own verifier key, but made by a verifier pointed at
    another registry (on the same chain: its "University of Hong Kong", same name and DID, is
    accredited by whoever deployed it). Its recorded deployment was taken as the signer recorded
    it: it re-checked (exit 0), the registry it was read from unnamed. Now the output names the
    deployment re-read and that it was not pinned; with the deployment option `talentproof
    verify` takes (--deployment / --registry / TALENTPROOF_DEPLOYMENT) it must match."""
    monkeypatch.delenv("TALENTPROOF_DEPLOYMENT", raising=False)
    other = setup_chain(vchain.node)
    other.accounts = []
    fake_uni = other.add_issuer("University of Hong Kong", (DEGREE,), fresh_account=True)
    deg = issue(other, fake_uni, DEGREE, holder().public_key.did_key)
    v = other.verifier()
    report = v.verify_application([Item("degree", deg)])
    assert report.verdict.value == "valid"
    out = tmp_path / "receipt.json"
    out.write_text(json.dumps(sign_receipt(report, load_key(key_file), trust=v.trust)))
    real, theirs = tmp_path / "deployment.json", tmp_path / "other-deployment.json"
    vchain.deployment.save(real)
    other.deployment.save(theirs)
    key_id = load_key(key_file).public_key.multibase
    check = ["receipt", "check", str(out), "--rpc", vchain.rpc_url, "--verifier-key", key_id]
    chain_id = report.chain.chain_id

    unpinned = runner.invoke(app, check)
    assert unpinned.exit_code == 0, unpinned.output
    assert other.deployment.registry in unpinned.output, unpinned.output
    assert "not pinned" in unpinned.output, unpinned.output
    as_json = runner.invoke(app, [*check, "--json"])
    assert json.loads(as_json.output)["deployment"] == {
        "registry": other.deployment.registry,
        "chainId": chain_id,
        "pinned": False,
    }

    for pin in (
        ["--deployment", str(real)],
        ["--registry", vchain.deployment.registry],
        ["--trust", vchain.deployment.registry.lower()],
    ):
        refused = runner.invoke(app, [*check, *pin])
        assert refused.exit_code == 1, (pin, refused.output)
        assert "does not re-check" in refused.output, refused.output
        assert other.deployment.registry in refused.output, refused.output
        assert vchain.deployment.registry.lower() in refused.output.lower(), refused.output
    monkeypatch.setenv("TALENTPROOF_DEPLOYMENT", str(real))  # as `talentproof verify` reads it
    from_env = runner.invoke(app, check)
    assert from_env.exit_code == 1 and vchain.deployment.registry in from_env.output
    monkeypatch.delenv("TALENTPROOF_DEPLOYMENT")

    # the right registry on another chain id is not the deployment either
    wrong_chain = tmp_path / "wrong-chain.json"
    wrong_chain.write_text(json.dumps({**other.deployment.to_json(), "chainId": chain_id + 1}))
    refused = runner.invoke(app, [*check, "--deployment", str(wrong_chain)])
    assert refused.exit_code == 1, refused.output
    assert f"chain {chain_id + 1}" in refused.output, refused.output

    pinned = runner.invoke(app, [*check, "--deployment", str(theirs)])
    assert pinned.exit_code == 0, pinned.output
    assert "receipt re-checked" in pinned.output and "not pinned" not in pinned.output
    assert (
        json.loads(
            runner.invoke(app, [*check, "--json", "--registry", other.deployment.registry]).output
        )["deployment"]["pinned"]
        is True
    )

    bad = runner.invoke(app, [*check, "--registry", "0x1234"])
    assert bad.exit_code == 2, bad.output
    assert "--deployment" in bad.output or "deployment record" in bad.output, bad.output


def test_recheck_receipt_refuses_a_recorded_deployment_other_than_the_trusted_one(vchain, key_file):
    from talentproof.verifier.trust import TrustedDeployment

    deg, _ = _application(vchain)
    v = vchain.verifier()
    receipt = sign_receipt(
        v.verify_application([Item("degree", deg)]), load_key(key_file), trust=v.trust
    )
    ok = recheck_receipt(receipt, rpc=vchain.rpc_url, trusted_deployment=v.trust)
    assert ok["deployment"]["pinned"] is True
    elsewhere = TrustedDeployment(registry="0x" + "11" * 20, chain_id=v.trust.chain_id)
    with pytest.raises(ReceiptError, match="not the deployment you trust"):
        recheck_receipt(receipt, rpc=vchain.rpc_url, trusted_deployment=elsewhere)
