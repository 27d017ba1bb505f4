"""Attacks on the registry's time windows and status records with one accredited issuer's
account and key, through the verifier (real Anvil). All already refused; kept for the coverage
the contract and folder tests lack:

- a key rotated in (by governance, from now) after the credential it signed was anchored does not
  validate it (check 7 judges the key at the anchor's block time), though it is registered now;
- a credential type granted after the anchor, or withdrawn before it, does not count for it
  (check 6 at the anchor's block time), withdrawn after it leaves it VALID;
- a key revoked after a compromise: credentials anchored before stay VALID (as documented:
  revoking a key does not reach back), those anchored after are INVALID; the remedy the threat
  model names, the institution's ``revokeBatch`` of the roots anchored during the compromise,
  still works after governance removed the institution, and governance's own revocation too;
- a revoked credential anchored again, in a new batch, by its own issuer stays revoked (status
  records are per issuer and credential, not per batch);
- an issuer registered under a DID and name that render like a notable firm's (``HSBC`` in
  Cyrillic letters, a trailing space; ``did:web:HSBC.com``, ``did:web:hsbc.com.``) signs an
  employment that is VALID as its own but never counts as that firm's (VALID_NOT_MET), and the
  report names its DID beside its name.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import load_policy
from talentproof.verifier.render import render_application
from talentproof.verifier.report import CheckId, Outcome, Status, Verdict
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, issue, sign

pytestmark = pytest.mark.integration


def _later(chain) -> None:  # type: ignore[no-untyped-def]
    """The next transaction in a later second (same-second ordering is its own, documented
    case: a change in the anchor's second reads as in effect at anchor time, or for a key added
    then, as valid)."""
    chain.rpc("evm_increaseTime", [5])


def _failed(report) -> set[CheckId]:  # type: ignore[no-untyped-def]
    return {c.id for c in report.checks if c.status is Status.FAIL}


def test_key_rotated_in_after_the_anchor_does_not_validate_it(vchain):
    uni = vchain.add_issuer("Rotating University", (DEGREE,), fresh_account=True)
    new_key = Ed25519SigningKey.generate()
    early = issue(vchain, uni, DEGREE, holder().public_key.did_key, key=new_key)
    _later(vchain)
    vchain.governor.add_signing_key(uni.issuer_id, new_key.public_key.raw)  # from now
    late = issue(vchain, uni, DEGREE, holder().public_key.did_key, key=new_key)
    v = vchain.verifier()
    report = v.verify_document(early)
    assert report.verdict is Verdict.INVALID
    assert _failed(report) == {CheckId.KEY}, report.check(CheckId.KEY).message
    assert v.verify_document(late).verdict is Verdict.VALID


def test_compromised_key_revocation_and_the_batch_remedy(vchain):
    bank = vchain.add_issuer("Compromised Bank", (EMPLOYMENT,), fresh_account=True)
    before = issue(vchain, bank, EMPLOYMENT, holder().public_key.did_key, start="2015-01-01")
    _later(vchain)
    vchain.governor.revoke_signing_key(bank.issuer_id, bank.key.public_key.raw)
    after = issue(vchain, bank, EMPLOYMENT, holder().public_key.did_key, start="2015-01-01")
    v = vchain.verifier()
    assert v.verify_document(before).verdict is Verdict.VALID  # documented: no reach back
    report = v.verify_document(after)
    assert _failed(report) == {CheckId.KEY}, report.check(CheckId.KEY).message
    # governance removes the institution; its account still revokes the batch anchored during
    # the compromise, and the credential is INVALID from then on
    vchain.governor.remove_issuer(bank.issuer_id)
    bank.client.revoke_batch(split_anchor(before)[1].merkle_root)
    report = v.verify_document(before)
    assert report.verdict is Verdict.INVALID
    assert _failed(report) == {CheckId.STATUS}, report.check(CheckId.STATUS).message


def test_governance_revokes_a_credential_of_a_removed_issuer(vchain):
    bank = vchain.add_issuer("Removed Bank", (EMPLOYMENT,), fresh_account=True)
    doc = issue(vchain, bank, EMPLOYMENT, holder().public_key.did_key, start="2015-01-01")
    _later(vchain)
    vchain.governor.remove_issuer(bank.issuer_id)
    v = vchain.verifier()
    assert v.verify_document(doc).verdict is Verdict.VALID  # issued while accredited
    h = credential_hash(split_anchor(doc)[0])
    vchain.governor.governance_revoke_credential(bank.issuer_id, h, "issued under duress")
    report = v.verify_document(doc)
    assert _failed(report) == {CheckId.STATUS}
    assert report.check(CheckId.STATUS).evidence["revokedBy"] == "governance"


def test_a_revoked_credential_anchored_again_stays_revoked(vchain):
    uni = vchain.add_issuer("Re-anchoring University", (DEGREE,), fresh_account=True)
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    signed = split_anchor(doc)[0]
    uni.client.revoke_credential(credential_hash(signed))
    other = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    again = anchor_batch([signed, other], uni.client, vchain.deployment)[0]
    assert split_anchor(again)[1].merkle_root != split_anchor(doc)[1].merkle_root
    v = vchain.verifier()
    for d in (doc, again):
        report = v.verify_document(d)
        assert report.verdict is Verdict.INVALID
        assert _failed(report) == {CheckId.STATUS}, report.check(CheckId.STATUS).message


@pytest.mark.parametrize(
    ("name", "did"),
    [
        ("\u041d\u0405\u0412\u0421", "did:web:hsbc.com."),  # Cyrillic letters
        ("HSBC ", "did:web:HSBC.com"),
        ("HSBC", "did:web:hsbc.com:443"),
    ],
    ids=["cyrillic", "trailing-space-upper-case", "port"],
)
def test_an_issuer_that_renders_like_a_notable_firm_is_not_that_firm(vchain, name, did):
    real = vchain.issuers.get(name)
    fake = vchain.add_issuer(name, (EMPLOYMENT,), did=did, fresh_account=True)
    if real is not None:  # the session chain's own HSBC stays the one other tests use
        vchain.issuers[name] = real
    s = holder().public_key.did_key
    emp = issue(vchain, fake, EMPLOYMENT, s, start="2010-01-01")
    deg = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s, level="master")
    badge = issue(vchain, vchain.issuers["HKIB"], BADGE, s)
    items = [Item(f"c{i}", d) for i, d in enumerate((deg, badge, emp))]
    report = vchain.verifier().verify_application(
        items, policy=load_policy(), profession="hk-dlt-expert"
    )
    assert report.credentials[-1].verdict is Verdict.VALID  # its own employment, accredited
    assert report.outcome.outcome is Outcome.VALID_NOT_MET, report.outcome
    assert report.profession is not None and not report.profession.met
    text = render_application(report)
    assert f"({did})" in text


def test_a_revoked_batch_anchored_again_is_its_issuers_new_word_not_a_retroactive_one(vchain):
    """A batch revocation covers the root, not each credential: the same issuer anchoring the
    credential again in a new batch vouches for it anew from that block (a residual of the
    threat model: revoke the credentials, not only the batch, to make it final). It never
    reaches back: as of any time between the revocation and the new anchor both proofs fail."""
    uni = vchain.add_issuer("Batch University", (DEGREE,), fresh_account=True)
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, batch_with=1)
    _later(vchain)
    uni.client.revoke_batch(split_anchor(doc)[1].merkle_root)
    _later(vchain)
    between = vchain.latest_timestamp()
    _later(vchain)
    other = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    again = anchor_batch([split_anchor(doc)[0], other], uni.client, vchain.deployment)[0]
    v = vchain.verifier()
    old = v.verify_document(doc)
    assert _failed(old) == {CheckId.STATUS}, old.check(CheckId.STATUS).message
    assert v.verify_document(again).verdict is Verdict.VALID
    then = datetime.fromtimestamp(between, UTC)
    assert _failed(v.verify_document(again, as_of=then)) == {CheckId.ANCHOR}
    assert _failed(v.verify_document(doc, as_of=then)) == {CheckId.STATUS}


def test_type_accreditation_is_judged_at_the_anchor_both_ways(vchain):
    """A type granted after the anchor does not count for it; one withdrawn before the anchor
    does not either, though the issuer's account could still anchor (anchoring checks only that
    the issuer is active); one withdrawn after the anchor leaves it VALID."""
    bank = vchain.add_issuer("Window Bank", (), fresh_account=True)
    s = holder().public_key.did_key
    early = issue(vchain, bank, EMPLOYMENT, s, start="2015-01-01")
    _later(vchain)
    vchain.governor.grant_credential_type(bank.issuer_id, EMPLOYMENT)  # from now
    _later(vchain)
    inside = issue(vchain, bank, EMPLOYMENT, s, start="2015-01-01")
    _later(vchain)
    vchain.governor.withdraw_credential_type(bank.issuer_id, EMPLOYMENT)
    _later(vchain)
    late = issue(vchain, bank, EMPLOYMENT, s, start="2015-01-01")
    v = vchain.verifier()
    for doc in (early, late):
        report = v.verify_document(doc)
        assert _failed(report) == {CheckId.ISSUER}, report.check(CheckId.ISSUER).message
    assert v.verify_document(inside).verdict is Verdict.VALID
