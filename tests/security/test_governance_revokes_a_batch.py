"""A fraudulent institution's batches can be revoked by governance (real Anvil).

The attack: one accredited institution (a diploma mill, a firm selling employment records) signs
and anchors credentials that say what it pleases, within its accreditation. Once found out,
governance removes it; by design what it anchored while accredited stays VALID (a university that
closes keeps its graduates' degrees). The remedies were the institution's own ``revokeBatch``
(which a fraudulent institution will not call) and ``governanceRevokeCredential``, which needs each
credential's hash: the chain holds only the batches' roots (``RootAnchored``), the credentials are
in their holders' hands, so governance could revoke none of them, and they stayed VALID for ever.
Governance can now revoke a batch of any issuer by its root, with a reason
(``governanceRevokeBatch``, ``talentproof governance revoke-batch``): every credential of it then
fails check 8 as of the revocation, read with the same history as the issuer's own batch
revocation.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.ledger.errors import ContractRevert
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration


def _later(chain) -> None:  # type: ignore[no-untyped-def]
    chain.rpc("evm_increaseTime", [5])
    chain.rpc("evm_mine", [])


def _root(doc) -> bytes:  # type: ignore[no-untyped-def]
    _, anchor = split_anchor(doc)
    return bytes(anchor.merkle_root)


@pytest.fixture(scope="module")
def mill(vchain):
    """A fintech firm accredited for employment records, which sells them."""
    firm = vchain.add_issuer("Quick Fintech Records", (EMPLOYMENT,), fresh_account=True)
    s = holder().public_key.did_key
    sold = issue(
        vchain,
        firm,
        EMPLOYMENT,
        s,
        start="2012-01-01",
        domains=["fintech"],
        batch_with=2,
    )
    honest = {
        "degree": issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
    }
    _later(vchain)
    vchain.governor.remove_issuer(firm.issuer_id)
    _later(vchain)
    return {"firm": firm, "sold": sold, "honest": honest}


def test_governance_revokes_a_removed_issuers_batch_by_its_root(vchain, mill):
    v = vchain.verifier()
    items = [Item("employment", mill["sold"]), *(Item(n, d) for n, d in mill["honest"].items())]
    policy = load_policy(DEFAULT_POLICY)
    before = v.verify_application(items, policy=policy, profession="hk-fintech-professional")
    assert before.outcome.outcome.value == "VALID_MEETS", before.outcome  # removed, but issued then
    before_it = datetime.fromtimestamp(vchain.latest_timestamp(), UTC)
    _later(vchain)
    vchain.governor.governance_revoke_batch(
        mill["firm"].issuer_id, _root(mill["sold"]), "records sold, not employment"
    )
    report = v.verify_document(mill["sold"])
    assert report.verdict is Verdict.INVALID
    failed = [c for c in report.checks if c.status is Status.FAIL]
    assert [c.id for c in failed] == [CheckId.STATUS], failed
    # the record does not say who revoked a batch: never the issuer's name as the one who did
    assert "revoked by Quick Fintech Records" not in failed[0].message, failed[0].message
    after = v.verify_application(items, policy=policy, profession="hk-fintech-professional")
    assert after.outcome.outcome.value == "INVALID", after.outcome
    # the history: as of a time before the revocation it was still in good standing
    earlier = v.verify_application([items[0]], as_of=before_it)
    assert earlier.verdict is Verdict.VALID, earlier.outcome


def test_only_a_governor_revokes_another_issuers_batch(vchain):
    firm = vchain.add_issuer("Another Records Firm", (EMPLOYMENT,), fresh_account=True)
    doc = issue(vchain, firm, EMPLOYMENT, holder().public_key.did_key)
    root = _root(doc)
    hsbc = vchain.issuers["HSBC"]
    for client in (firm.client, hsbc.client):  # the issuer itself, another issuer
        with pytest.raises(ContractRevert, match="GovernanceUnauthorizedGovernor"):
            client.governance_revoke_batch(firm.issuer_id, root, "not mine to revoke")
    with pytest.raises(ValueError, match="non-empty reason"):  # the client's own refusal
        vchain.governor.governance_revoke_batch(firm.issuer_id, root, "")
    with pytest.raises(ContractRevert, match="AnchorReasonRequired"):  # and the contract's
        vchain.governor.transact("governanceRevokeBatch", firm.issuer_id, root, "")
    with pytest.raises(ContractRevert, match="AnchorNotAnchored"):  # not that issuer's root
        vchain.governor.governance_revoke_batch(hsbc.issuer_id, root, "wrong namespace")
    assert vchain.verifier().verify_document(doc).verdict is Verdict.VALID
    vchain.governor.governance_revoke_batch(firm.issuer_id, root, "inquiry")
    with pytest.raises(ContractRevert, match="AnchorBatchAlreadyRevoked"):
        vchain.governor.governance_revoke_batch(firm.issuer_id, root, "again")
    assert vchain.verifier().verify_document(doc).verdict is Verdict.INVALID


def test_cli_governance_revoke_batch(vchain, tmp_path):
    from typer.testing import CliRunner

    from talentproof.cli import app

    firm = vchain.add_issuer("Third Records Firm", (EMPLOYMENT,), fresh_account=True)
    doc = issue(vchain, firm, EMPLOYMENT, holder().public_key.did_key)
    root = "0x" + _root(doc).hex()
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    env = {"TALENTPROOF_OPERATOR_KEY": vchain.node.private_keys[0]}
    common = ["--rpc", vchain.rpc_url, "--deployment", str(record)]
    runner = CliRunner()
    blank = runner.invoke(
        app,
        ["governance", "revoke-batch", str(firm.issuer_id), root, "--reason", " ", *common],
        env=env,
    )
    assert blank.exit_code == 2 and "--reason must not be empty" in blank.stderr, blank.output
    done = runner.invoke(
        app,
        ["governance", "revoke-batch", str(firm.issuer_id), root, "--reason", "fraud", *common],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"revoke-batch {firm.issuer_id} {root} fraud (tx 0x"), done.stdout
    (event,) = [
        e
        for e in vchain.governor.events("BatchRevokedByGovernance")
        if e.args["issuerId"] == firm.issuer_id
    ]
    assert event.args["reason"] == "fraud"
    assert vchain.verifier().verify_document(doc).verdict is Verdict.INVALID
