"""Each check of the verifier on real credentials, made to fail on a real Anvil chain."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from talentproof.credential.anchor import attach_anchor, split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import deploy_registry
from talentproof.verifier.engine import Item
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import (
    DEGREE,
    EMPLOYMENT,
    anchor_batch,
    build,
    holder,
    issue,
    sign,
    sign_presentation,
)

pytestmark = pytest.mark.integration


def statuses(report):
    return {c.id: c.status for c in report.checks}


def only_failure(report, check: CheckId):
    """The report fails exactly at ``check`` (later chain checks may be skipped)."""
    st = statuses(report)
    failed = [cid for cid, s in st.items() if s is Status.FAIL]
    assert failed == [check], (failed, [c.message for c in report.checks])
    assert report.verdict is Verdict.INVALID


@pytest.fixture(scope="module")
def uni(vchain):
    return vchain.issuers["University of Hong Kong"]


def test_valid_degree_passes_every_check_and_names_its_block(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, batch_with=4)
    report = vchain.verifier().verify_document(doc)
    st = statuses(report)
    assert [c.id for c in report.checks] == list(CheckId)[:10]
    assert all(st[c] is Status.PASS for c in list(CheckId)[:9]), [c.message for c in report.checks]
    assert st[CheckId.BINDING] is Status.SKIPPED
    assert report.verdict is Verdict.VALID
    assert report.issuer_name == "University of Hong Kong"
    assert report.chain is not None and report.chain.block_number > 0
    assert report.chain.block_hash.startswith("0x") and len(report.chain.block_hash) == 66
    ev = report.check(CheckId.KEY).evidence
    assert ev["keyId"] == uni.key.public_key.multibase
    assert ev["blockNumber"] == report.chain.block_number
    assert report.check(CheckId.ISSUER).evidence["issuerName"] == "University of Hong Kong"


def test_tampered_field_fails_the_signature(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    doc = copy.deepcopy(doc)
    doc["credentialSubject"]["degree"]["level"] = "doctorate"
    report = vchain.verifier().verify_document(doc)
    st = statuses(report)
    assert st[CheckId.SIGNATURE] is Status.FAIL
    assert "altered" in report.check(CheckId.SIGNATURE).message
    # the altered credential is no longer the anchored leaf either
    assert st[CheckId.INCLUSION] is Status.FAIL
    assert report.verdict is Verdict.INVALID


def test_forged_signature_fails(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    forger = Ed25519SigningKey.generate()
    plain, anchor = split_anchor(doc)
    resigned = sign({k: v for k, v in plain.items() if k != "proof"}, forger)
    # keep the issuer's verification method, with the forger's signature value
    resigned["proof"] = {**plain["proof"], "proofValue": resigned["proof"]["proofValue"]}
    report = vchain.verifier().verify_document(attach_anchor(resigned, anchor))
    assert statuses(report)[CheckId.SIGNATURE] is Status.FAIL


def test_signature_by_key_of_another_issuer_fails_the_key_check(vchain, uni):
    hsbc = vchain.issuers["HSBC"]
    # a degree claiming the university, signed with HSBC's registered key, anchored by the university
    doc = sign(build(DEGREE, uni.did, holder().public_key.did_key), hsbc.key)
    [doc] = anchor_batch([doc], uni.client, vchain.deployment)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.KEY)
    assert "not registered to University of Hong Kong" in report.check(CheckId.KEY).message


def test_key_revoked_before_the_anchor_fails(vchain, uni):
    old = Ed25519SigningKey.generate()
    vchain.governor.add_signing_key(uni.issuer_id, old.public_key.raw)
    vchain.governor.revoke_signing_key(uni.issuer_id, old.public_key.raw)
    vchain.rpc("evm_increaseTime", [5])
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, key=old)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.KEY)
    assert "was not valid when the credential was anchored" in report.check(CheckId.KEY).message


def test_key_revoked_after_the_anchor_keeps_old_credentials_valid(vchain, uni):
    k = Ed25519SigningKey.generate()
    vchain.governor.add_signing_key(uni.issuer_id, k.public_key.raw)
    vchain.rpc("evm_increaseTime", [2])
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, key=k)
    vchain.rpc("evm_increaseTime", [2])
    vchain.governor.revoke_signing_key(uni.issuer_id, k.public_key.raw)
    assert vchain.verifier().verify_document(doc).verdict is Verdict.VALID


def test_unanchored_credential_fails_inclusion(vchain, uni):
    doc = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.INCLUSION)
    message = report.check(CheckId.INCLUSION).message
    assert "carries no anchor proof" in message and "fetch it again once anchored" in message
    assert statuses(report)[CheckId.ANCHOR] is Status.SKIPPED


def test_anchor_proof_to_a_root_never_anchored_fails_the_anchor_check(vchain, uni):
    doc = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    [doc] = anchor_batch([doc], None, vchain.deployment)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ANCHOR)
    assert "not anchored" in report.check(CheckId.ANCHOR).message


def test_anchored_on_another_chain_fails(vchain, uni):
    doc = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    [doc] = anchor_batch(
        [doc], uni.client, vchain.deployment, chain_id=vchain.deployment.chain_id + 1
    )
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ANCHOR)
    assert f"names chain {vchain.deployment.chain_id + 1}" in report.check(CheckId.ANCHOR).message


def test_anchored_on_another_registry_fails(vchain, uni):
    # a second registry on the same chain, where the same issuer is accredited and anchors
    gov_key = vchain.node.private_keys[0]
    other = deploy_registry(vchain.rpc_url, gov_key)
    gov2 = RegistryClient(vchain.rpc_url, other, gov_key)
    address, pk = vchain.funded_account()  # the shared chain's own accounts may be used up
    iid = gov2.register_issuer(uni.name, uni.did, [address])
    gov2.add_signing_key(iid, uni.key.public_key.raw)
    gov2.grant_credential_type(iid, DEGREE)
    doc = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    [doc] = anchor_batch([doc], RegistryClient(vchain.rpc_url, other, pk), other)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ANCHOR)
    assert "not the trusted registry" in report.check(CheckId.ANCHOR).message


def test_type_not_accredited_fails(vchain, uni):
    doc = issue(vchain, uni, EMPLOYMENT, holder().public_key.did_key)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ISSUER)
    assert "never accredited to issue EmploymentCredential" in report.check(CheckId.ISSUER).message


def test_credential_naming_another_issuer_fails(vchain, uni):
    hkib = vchain.issuers["HKIB"]
    # signed and anchored by the university, but claiming HKIB as issuer: the chain is read for
    # HKIB's anchors (by the issuer DID the credential names), and HKIB never anchored the batch
    doc = sign(build(DEGREE, hkib.did, holder().public_key.did_key), uni.key)
    [doc] = anchor_batch([doc], uni.client, vchain.deployment)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ANCHOR)


def _same_block(vchain, *sends):
    """Send transactions without mining, then mine them all in one block."""
    vchain.rpc("evm_setAutomine", [False])
    try:
        pending = [fn() for fn in sends]
        vchain.rpc("evm_mine", [])
    finally:
        vchain.rpc("evm_setAutomine", [True])
    return pending


@pytest.mark.parametrize("action", ["suspendIssuer", "removeIssuer"])
def test_issuer_suspended_or_removed_at_anchor_time_fails(vchain, action):
    issuer = vchain.add_issuer(f"Short-lived College {action}", (DEGREE,))
    doc = sign(build(DEGREE, issuer.did, holder().public_key.did_key), issuer.key)
    from talentproof.credential.merkle import MerkleTree

    tree = MerkleTree([credential_hash(doc)])
    # the anchor and the governors' action land in the same block: at anchor time the issuer
    # is already suspended/removed
    _same_block(
        vchain,
        lambda: issuer.client.send("anchorRoot", tree.root, 1),
        lambda: vchain.governor.send(action, issuer.issuer_id),
    )
    [doc] = anchor_batch([doc], None, vchain.deployment)
    assert vchain.governor.anchor(issuer.issuer_id, tree.root) is not None
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.ISSUER)
    word = "suspended" if action == "suspendIssuer" else "removed"
    assert f"was {word} when it anchored" in report.check(CheckId.ISSUER).message


def test_revoked_credential_fails_and_as_of_before_revocation_passes(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    before = vchain.latest_timestamp()
    vchain.rpc("evm_increaseTime", [100])
    plain, _ = split_anchor(doc)
    uni.client.revoke_credential(credential_hash(plain))
    v = vchain.verifier()
    report = v.verify_document(doc)
    only_failure(report, CheckId.STATUS)
    assert "Revoked by University of Hong Kong" in report.check(CheckId.STATUS).message
    as_of = datetime.fromtimestamp(before + 10, UTC)
    assert v.verify_document(doc, as_of=as_of).verdict is Verdict.VALID


def test_batch_revoked_fails(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, batch_with=2)
    _, anchor = split_anchor(doc)
    uni.client.revoke_batch(anchor.merkle_root)
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.STATUS)
    assert "whole batch was revoked" in report.check(CheckId.STATUS).message


def test_suspended_then_reinstated(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    plain, _ = split_anchor(doc)
    h = credential_hash(plain)
    v = vchain.verifier()
    vchain.rpc("evm_increaseTime", [100])
    uni.client.suspend_credential(h)
    during = vchain.latest_timestamp() + 50
    report = v.verify_document(doc)
    only_failure(report, CheckId.STATUS)
    assert "Suspended by University of Hong Kong" in report.check(CheckId.STATUS).message
    vchain.rpc("evm_increaseTime", [100])
    uni.client.reinstate_credential(h)
    again = v.verify_document(doc)
    assert again.verdict is Verdict.VALID
    assert "past suspension was lifted" in again.check(CheckId.STATUS).message
    # as of a date while it was suspended, it fails
    past = v.verify_document(doc, as_of=datetime.fromtimestamp(during, UTC))
    only_failure(past, CheckId.STATUS)


def test_expired_credential_fails(vchain, uni):
    now = datetime.now(UTC)
    doc = issue(
        vchain,
        uni,
        DEGREE,
        holder().public_key.did_key,
        valid_from=now - timedelta(days=400),
        valid_until=now - timedelta(days=30),
    )
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.VALIDITY)
    assert "Expired" in report.check(CheckId.VALIDITY).message
    # but it was valid as of a date inside its window
    ok = vchain.verifier().verify_document(doc, as_of=now - timedelta(days=100))
    assert statuses(ok)[CheckId.VALIDITY] is Status.PASS


def test_not_yet_valid_credential_fails(vchain, uni):
    now = datetime.now(UTC)
    doc = issue(
        vchain, uni, DEGREE, holder().public_key.did_key, valid_from=now + timedelta(days=30)
    )
    report = vchain.verifier().verify_document(doc)
    only_failure(report, CheckId.VALIDITY)
    assert "Not yet valid" in report.check(CheckId.VALIDITY).message


def test_not_enough_confirmations_fails(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    report = vchain.verifier(min_confirmations=3).verify_document(doc)
    only_failure(report, CheckId.ANCHOR)
    vchain.rpc("evm_mine", [])
    vchain.rpc("evm_mine", [])
    assert vchain.verifier(min_confirmations=3).verify_document(doc).verdict is Verdict.VALID


def test_schema_violation_fails_check_2(vchain, uni):
    bad = build(DEGREE, uni.did, holder().public_key.did_key)
    bad["credentialSubject"]["degree"]["level"] = "kindergarten"
    doc = sign(bad, uni.key)
    [doc] = anchor_batch([doc], uni.client, vchain.deployment)
    report = vchain.verifier().verify_document(doc)
    st = statuses(report)
    assert st[CheckId.SCHEMA] is Status.FAIL
    assert report.check(CheckId.SCHEMA).evidence["field"] == "credentialSubject.degree.level"


def test_mismatched_applicants_fail_check_11(vchain, uni):
    hsbc = vchain.issuers["HSBC"]
    a, b = holder().public_key.did_key, holder().public_key.did_key
    deg = issue(vchain, uni, DEGREE, a)
    emp = issue(vchain, hsbc, EMPLOYMENT, b)
    v = vchain.verifier()
    report = v.verify_application([Item("degree.json", deg), Item("employment.json", emp)])
    assert all(r.verdict is Verdict.VALID for r in report.credentials)
    [same] = report.checks
    assert same.id is CheckId.SAME_APPLICANT and same.status is Status.FAIL
    assert "2 different applicants" in same.message
    assert report.verdict is Verdict.INVALID
    ok = v.verify_application(
        [Item("degree.json", deg), Item("employment.json", issue(vchain, hsbc, EMPLOYMENT, a))]
    )
    assert ok.verdict is Verdict.VALID
    # every read of one application is pinned to the same block
    assert len({r.chain.block_number for r in ok.credentials}) == 1


def test_chain_unreachable_is_an_error_never_a_pass(vchain, uni):
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.trust import TrustedDeployment

    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    trust = TrustedDeployment.from_record(vchain.deployment.to_json())
    dead = Verifier(RegistryReader("http://127.0.0.1:9", trust.registry, timeout=1), trust)
    report = dead.verify_document(doc)
    st = statuses(report)
    assert st[CheckId.SIGNATURE] is Status.PASS
    assert [st[c] for c in (CheckId.ANCHOR, CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)] == [
        Status.ERROR
    ] * 4
    assert report.verdict is Verdict.ERROR
    # the reason is said once, on the anchor check; the others point to it
    messages = {c.id: c.message for c in report.checks}
    assert "127.0.0.1:9" in messages[CheckId.ANCHOR]
    assert all(
        "see the anchor check" in messages[c] for c in (CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)
    )


# --------------------------------------------------------------------------- check 10


def _presentation(creds, holder_key, challenge, domain="talentproof-verifier"):
    from talentproof.credential.presentation import create_presentation

    return create_presentation(
        creds,
        holder_key,
        challenge=challenge,
        domain=domain,
        created=datetime.now(UTC).replace(microsecond=0),
    )


def test_bound_presentation_passes_binding(vchain, uni):
    hk = holder()
    deg = issue(vchain, uni, DEGREE, hk.public_key.did_key)
    emp = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, hk.public_key.did_key)
    vp = _presentation([deg, emp], hk, "nonce-123")
    report = vchain.verifier().verify_application([Item("vp", vp)], challenge="nonce-123")
    assert report.verdict is Verdict.VALID, [
        c.message for r in report.credentials for c in r.checks
    ]
    assert len(report.credentials) == 2
    for r in report.credentials:
        assert r.check(CheckId.BINDING).status is Status.PASS
        assert r.check(CheckId.BINDING).evidence["holder"] == hk.public_key.did_key


def test_replayed_presentation_fails_binding(vchain, uni):
    hk = holder()
    deg = issue(vchain, uni, DEGREE, hk.public_key.did_key)
    vp = _presentation([deg], hk, "nonce-for-another-verification")
    report = vchain.verifier().verify_application([Item("vp", vp)], challenge="fresh-nonce")
    [r] = report.credentials
    only_failure(r, CheckId.BINDING)
    assert "replayed" in r.check(CheckId.BINDING).message
    assert "ChallengeMismatch" in r.check(CheckId.BINDING).message


def test_presentation_for_another_domain_fails_binding(vchain, uni):
    hk = holder()
    vp = _presentation(
        [issue(vchain, uni, DEGREE, hk.public_key.did_key)], hk, "n1", domain="evil.example"
    )
    [r] = vchain.verifier().verify_application([Item("vp", vp)], challenge="n1").credentials
    only_failure(r, CheckId.BINDING)
    assert "DomainMismatch" in r.check(CheckId.BINDING).message


def test_presentation_of_someone_elses_credential_fails_binding(vchain, uni):
    thief, victim = holder(), holder()
    deg = issue(vchain, uni, DEGREE, victim.public_key.did_key)
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": thief.public_key.did_key,
        "verifiableCredential": [deg],
    }
    vp = sign_presentation(
        vp,
        thief,
        challenge="n2",
        domain="talentproof-verifier",
    )
    [r] = vchain.verifier().verify_application([Item("vp", vp)], challenge="n2").credentials
    only_failure(r, CheckId.BINDING)
    assert "HolderMismatch" in r.check(CheckId.BINDING).message


def test_bare_credential_when_a_bound_presentation_is_required_fails(vchain, uni):
    deg = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    [r] = (
        vchain.verifier().verify_application([Item("degree.json", deg)], challenge="n3").credentials
    )
    only_failure(r, CheckId.BINDING)


def test_used_challenge_is_refused(vchain, uni):
    hk = holder()
    vp = _presentation([issue(vchain, uni, DEGREE, hk.public_key.did_key)], hk, "n4")
    [r] = (
        vchain.verifier()
        .verify_application([Item("vp", vp)], challenge="n4", challenge_problem="was already used")
        .credentials
    )
    only_failure(r, CheckId.BINDING)
    assert "already used" in r.check(CheckId.BINDING).message
