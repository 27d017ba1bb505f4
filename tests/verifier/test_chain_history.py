"""Issue 11 on the verifier's chain read (real Anvil): `--as-of` exact across every suspension
interval, who revoked or suspended (issuer or governance) in check 8, a front-run root that
changes nothing, and a credential naming no issuer DID."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import MerkleTree, credential_hash
from talentproof.ledger.nodes import anvil
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import DEGREE, anchor_batch, build, holder, issue, populate, setup_chain, sign

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def uni(vchain):
    return vchain.issuers["University of Hong Kong"]


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _tx_time(vchain, receipt) -> int:  # type: ignore[no-untyped-def]
    return vchain.block_timestamp(receipt.block_number)


def test_as_of_is_exact_across_every_suspension_interval(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    h = credential_hash(split_anchor(doc)[0])
    times = []
    for fn in ("suspend_credential", "reinstate_credential") * 2:
        vchain.rpc("evm_increaseTime", [100])
        times.append(_tx_time(vchain, getattr(uni.client, fn)(h)))
    t1, t2, t3, t4 = times
    v = vchain.verifier()
    expected = {
        t1 - 50: None,
        t1 + 50: t1,
        t2 + 50: None,
        t3 + 50: t3,
        t4 + 50: None,
    }
    for t, since in expected.items():
        report = v.verify_document(doc, as_of=_at(t))
        status = report.check(CheckId.STATUS)
        if since is None:
            assert report.verdict is Verdict.VALID, (t, status.message)
            assert status.status is Status.PASS
        else:
            assert status.status is Status.FAIL, (t, status.message)
            assert status.message.startswith("Suspended by University of Hong Kong since")
            assert status.evidence["suspendedSince"] == since
            assert status.evidence["suspendedBy"] == "issuer"


def test_governance_revocation_and_suspension_are_named_in_check_8(vchain, uni):
    gov = vchain.governor
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    h = credential_hash(split_anchor(doc)[0])
    vchain.rpc("evm_increaseTime", [100])
    t_suspend = _tx_time(
        vchain, gov.governance_suspend_credential(uni.issuer_id, h, "document under review")
    )
    v = vchain.verifier()
    report = v.verify_document(doc)
    status = report.check(CheckId.STATUS)
    assert status.status is Status.FAIL
    assert status.message.startswith("Suspended by the governing authority since")
    assert (status.evidence["suspendedBy"], status.evidence["suspendedSince"]) == (
        "governance",
        t_suspend,
    )
    vchain.rpc("evm_increaseTime", [100])
    gov.governance_revoke_credential(uni.issuer_id, h, "forged")
    status = v.verify_document(doc).check(CheckId.STATUS)
    assert status.message.startswith("Revoked by the governing authority on")
    assert status.evidence["revokedBy"] == "governance"
    # before the suspension it was valid
    assert v.verify_document(doc, as_of=_at(t_suspend - 10)).verdict is Verdict.VALID


def test_a_front_run_root_changes_nothing_for_the_verifier(vchain, uni):
    squatter = (
        vchain.issuers["HSBC"]
        if "HSBC" in vchain.issuers
        else next(i for n, i in vchain.issuers.items() if n != uni.name)
    )
    signed = [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key) for _ in range(3)]
    tree = MerkleTree([credential_hash(d) for d in signed])
    squatter.client.anchor_root(tree.root, 1)  # seen pending, anchored first by another issuer
    docs = anchor_batch(signed, uni.client, vchain.deployment)  # still succeeds
    report = vchain.verifier().verify_document(docs[0])
    assert report.verdict is Verdict.VALID, [c.message for c in report.checks]
    assert report.check(CheckId.ISSUER).evidence["issuerId"] == uni.issuer_id


def test_a_credential_naming_no_issuer_is_never_read_as_anothers(vchain, uni):
    unsigned = build(DEGREE, uni.did, holder().public_key.did_key)
    del unsigned["issuer"]  # signed and anchored as it is: only the issuer DID is missing
    (doc,) = anchor_batch([sign(unsigned, uni.key)], uni.client, vchain.deployment)
    v = vchain.verifier()
    assert v.prepare("x", doc).chain_skip == (
        "Skipped: the credential names no issuer DID, so no issuer's anchor can be read."
    )
    report = v.verify_document(doc)
    assert report.verdict is not Verdict.VALID
    for check in (CheckId.ANCHOR, CheckId.ISSUER, CheckId.KEY, CheckId.STATUS):
        assert report.check(check).status is Status.SKIPPED
        assert "names no issuer DID" in report.check(check).message


def test_check_8_names_the_reason_governance_gave_for_a_suspension() -> None:
    """Governance suspends a credential with a reason (the contract's
    ``CredentialSuspendedByGovernance`` event holds it); check 8 named the governing authority
    and the time only. It now names the reason of the suspension in force: the second one's
    after a reinstatement, the first one's as of a time within it. An institution's own
    suspension has no reason on chain: nothing is added."""
    with anvil() as node:  # its own chain: it moves the clock (the session's chain is shared)
        chain = populate(setup_chain(node))
        _reason_of_the_suspension_in_force(chain, chain.issuers["University of Hong Kong"])


def _reason_of_the_suspension_in_force(chain: Any, uni: Any) -> None:
    gov = chain.governor
    doc = issue(chain, uni, DEGREE, holder().public_key.did_key)
    h = credential_hash(split_anchor(doc)[0])
    chain.rpc("evm_increaseTime", [100])
    t1 = _tx_time(chain, gov.governance_suspend_credential(uni.issuer_id, h, "degree under review"))
    v = chain.verifier()
    status = v.verify_document(doc).check(CheckId.STATUS)
    assert status.status is Status.FAIL
    assert status.message.startswith("Suspended by the governing authority since"), status.message
    assert "degree under review" in status.message, status.message
    chain.rpc("evm_increaseTime", [100])
    gov.governance_reinstate_credential(uni.issuer_id, h, "review closed")
    chain.rpc("evm_increaseTime", [100])
    gov.governance_suspend_credential(uni.issuer_id, h, "second complaint")
    status = v.verify_document(doc).check(CheckId.STATUS)
    assert "second complaint" in status.message and "degree under review" not in status.message
    status = v.verify_document(doc, as_of=_at(t1 + 50)).check(CheckId.STATUS)
    assert "degree under review" in status.message, status.message
    assert "second complaint" not in status.message, status.message
    own = issue(chain, uni, DEGREE, holder().public_key.did_key)
    uni.client.suspend_credential(credential_hash(split_anchor(own)[0]))
    status = v.verify_document(own).check(CheckId.STATUS)
    assert status.message.startswith("Suspended by University of Hong Kong since")
    assert "Reason" not in status.message, status.message


def test_check_8_names_the_block_read_whatever_second_the_clock_says(vchain, uni):
    """With no as-of time, check 8 names the block read and the time it was sealed, whatever
    this machine's clock says. It said 'as of T' instead when the verification ran in the very
    second the latest block was sealed (the clock's second equal to the block time the chain
    read as of), so two runs of one folder differed in their words alone (test_perf_paths'
    frozen and unfrozen folder runs, 1 failure in 2 runs under load)."""
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    sealed = vchain.latest_timestamp()
    words = {}
    for later in (0, 5):
        v = vchain.verifier(clock=lambda later=later: _at(sealed + later))
        words[later] = v.verify_document(doc).check(CheckId.STATUS).message
    assert words[0] == words[5], words
    assert "on the ledger at block" in words[0] and "as of" not in words[0], words
