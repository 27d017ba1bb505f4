"""verifyCredential: every field of the verdict, in one call."""

from __future__ import annotations

from .registry_support import (
    BADGE,
    DEGREE,
    ISSUER_HKU,
    ISSUER_UST,
    KEY_1,
    KEY_2,
    UST_DID,
    did_hash,
    h,
    verdict,
)

NONE, ACTIVE, SUSPENDED, REMOVED = 0, 1, 2, 3
FIELDS = (
    "anchor",
    "issuerName",
    "issuerDid",
    "issuerStatus",
    "issuerStatusAtAnchor",
    "keyRegistered",
    "keyValidFrom",
    "keyValidUntil",
    "keyValidAtAnchor",
    "typeGranted",
    "typeValidFrom",
    "typeValidUntil",
    "typeAccreditedAtAnchor",
    "credentialRevoked",
    "credentialSuspended",
    "credentialStatus",
    "batchRevoked",
    "asOf",
    "blockNumber",
    "blockTimestamp",
    "issuerId",
    "credentialRevokedBy",
    "credentialSuspendedBy",
    "credentialSuspendedSince",
    "issuerStatusAsOf",
)


def test_verdict_field_names_match_the_abi(reg):
    entry = next(e for e in reg.artifact.abi if e.get("name") == "verifyCredential")
    assert tuple(c["name"] for c in entry["outputs"][0]["components"]) == FIELDS


def test_verdict_of_a_good_credential(reg, who):
    t = reg.now() + 50
    reg.timestamp_next(t)
    receipt = reg.transact("anchorRoot", h("root"), 12, sender=who.hku)
    key_from = reg.call("signingKey", ISSUER_HKU, KEY_1)[0]
    type_from = reg.call("credentialType", ISSUER_HKU, DEGREE)[0]
    latest = reg.w3.eth.get_block("latest")
    assert verdict(reg, h("root"), h("cred")) == {
        "anchor": {
            "issuerId": ISSUER_HKU,
            "leafCount": 12,
            "blockNumber": receipt.blockNumber,
            "anchoredAt": t,
            "revokedAt": 0,
        },
        "issuerName": "The University of Hong Kong",
        "issuerDid": "did:web:hku.hk",
        "issuerStatus": ACTIVE,
        "issuerStatusAtAnchor": ACTIVE,
        "keyRegistered": True,
        "keyValidFrom": key_from,
        "keyValidUntil": 0,
        "keyValidAtAnchor": True,
        "typeGranted": True,
        "typeValidFrom": type_from,
        "typeValidUntil": 0,
        "typeAccreditedAtAnchor": True,
        "credentialRevoked": False,
        "credentialSuspended": False,
        "credentialStatus": {
            "revokedAt": 0,
            "suspendedAt": 0,
            "reinstatedAt": 0,
            "suspensionCount": 0,
            "suspended": False,
            "revokedBy": 0,
            "suspendedBy": 0,
        },
        "batchRevoked": False,
        "asOf": latest.timestamp,
        "blockNumber": latest.number,
        "blockTimestamp": latest.timestamp,
        "issuerId": ISSUER_HKU,
        "credentialRevokedBy": 0,
        "credentialSuspendedBy": 0,
        "credentialSuspendedSince": 0,
        "issuerStatusAsOf": ACTIVE,
    }


def test_verdict_of_an_unknown_root_is_empty(reg):
    v = verdict(reg, h("nothing"), h("cred"))
    assert v["anchor"] == {
        "issuerId": 0,
        "leafCount": 0,
        "blockNumber": 0,
        "anchoredAt": 0,
        "revokedAt": 0,
    }
    assert (v["issuerName"], v["issuerDid"], v["issuerStatus"]) == ("", "", NONE)
    assert not any(
        v[k]
        for k in (
            "keyRegistered",
            "keyValidAtAnchor",
            "typeGranted",
            "typeAccreditedAtAnchor",
            "credentialRevoked",
            "batchRevoked",
        )
    )
    assert v["blockNumber"] == reg.w3.eth.block_number
    assert v["issuerId"] == ISSUER_HKU  # the DID is known; its issuer never anchored the root
    # an unknown DID resolves to no issuer: nothing is anchored for it
    v = verdict(reg, h("nothing"), h("cred"), did="did:web:unknown.example")
    assert (v["issuerId"], v["anchor"]["issuerId"], v["issuerName"]) == (0, 0, "")


def test_verdict_key_and_type_belong_to_the_anchoring_issuer(reg, who):
    # HKUST anchors; HKU's key and type do not count for it
    reg.transact("anchorRoot", h("ust-root"), 3, sender=who.ust)
    # read as HKU's credential, the root is not anchored (anchors are per issuer)
    assert verdict(reg, h("ust-root"), h("cred"))["anchor"]["issuerId"] == 0
    v = verdict(reg, h("ust-root"), h("cred"), did=UST_DID)
    assert v["anchor"]["issuerId"] == ISSUER_UST
    assert v["issuerName"] == "HKUST"
    assert (v["keyRegistered"], v["keyValidAtAnchor"]) == (False, False)
    assert (v["typeGranted"], v["typeAccreditedAtAnchor"]) == (False, False)
    # HKU revoking the hash does not touch the HKUST credential
    reg.transact("revokeCredential", h("cred"), sender=who.hku)
    assert verdict(reg, h("ust-root"), h("cred"), did=UST_DID)["credentialRevoked"] is False


def test_verdict_after_key_rotation_and_type_withdrawal(reg, who):
    t_anchor = reg.now() + 100
    reg.timestamp_next(t_anchor)
    reg.transact("anchorRoot", h("old"), 5, sender=who.hku)
    reg.timestamp_next(t_anchor + 100)
    reg.transact("addSigningKey", ISSUER_HKU, KEY_2, 0, 0, sender=who.governor)
    t_revoke = t_anchor + 200
    reg.timestamp_next(t_revoke)
    reg.transact("revokeSigningKey", ISSUER_HKU, KEY_1, sender=who.governor)
    reg.timestamp_next(t_revoke + 100)
    reg.transact("withdrawCredentialType", ISSUER_HKU, DEGREE, sender=who.governor)
    reg.timestamp_next(t_revoke + 200)
    reg.transact("anchorRoot", h("new"), 5, sender=who.hku)

    old = verdict(reg, h("old"), h("cred"))
    assert (old["keyValidAtAnchor"], old["keyValidUntil"]) == (True, t_revoke)
    assert (old["typeAccreditedAtAnchor"], old["typeValidUntil"]) == (True, t_revoke + 100)
    new_old_key = verdict(reg, h("new"), h("cred"))
    assert (new_old_key["keyRegistered"], new_old_key["keyValidAtAnchor"]) == (True, False)
    assert new_old_key["typeAccreditedAtAnchor"] is False
    assert verdict(reg, h("new"), h("cred"), key=KEY_2)["keyValidAtAnchor"] is True
    assert verdict(reg, h("new"), h("cred"), type_id=BADGE)["typeGranted"] is False


def test_verdict_issuer_status_now_and_at_anchor(reg, who):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    v = verdict(reg, h("root"), h("cred"))
    assert (v["issuerStatus"], v["issuerStatusAtAnchor"]) == (SUSPENDED, ACTIVE)
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    v = verdict(reg, h("root"), h("cred"))
    assert (v["issuerStatus"], v["issuerStatusAtAnchor"]) == (REMOVED, ACTIVE)


def test_verdict_revocation_suspension_and_batch_as_of(reg, who):
    t0 = reg.now() + 100
    reg.timestamp_next(t0)
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    reg.timestamp_next(t0 + 100)
    reg.transact("suspendCredential", h("cred"), sender=who.hku)
    reg.timestamp_next(t0 + 200)
    reg.transact("reinstateCredential", h("cred"), sender=who.hku)
    reg.timestamp_next(t0 + 300)
    reg.transact("revokeCredential", h("cred"), sender=who.hku)
    reg.timestamp_next(t0 + 400)
    reg.transact("revokeBatch", h("root"), sender=who.hku)

    def flags(as_of):
        v = verdict(reg, h("root"), h("cred"), as_of=as_of)
        assert v["asOf"] == as_of
        return v["credentialRevoked"], v["credentialSuspended"], v["batchRevoked"]

    assert flags(t0 + 50) == (False, False, False)
    assert flags(t0 + 150) == (False, True, False)
    assert flags(t0 + 250) == (False, False, False)
    assert flags(t0 + 350) == (True, False, False)
    assert flags(t0 + 400) == (True, False, True)
    now = verdict(reg, h("root"), h("cred"))
    assert (now["credentialRevoked"], now["batchRevoked"]) == (True, True)
    assert now["anchor"]["revokedAt"] == t0 + 400
    assert now["credentialStatus"] == {
        "revokedAt": t0 + 300,
        "suspendedAt": t0 + 100,
        "reinstatedAt": t0 + 200,
        "suspensionCount": 1,
        "suspended": False,
        "revokedBy": 1,
        "suspendedBy": 1,
    }


def test_verification_view_gas_is_reported_by_estimate(reg, who):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    gas = reg.functions.verifyCredential(
        did_hash("did:web:hku.hk"), h("root"), h("cred"), KEY_1, DEGREE, 0
    ).estimate_gas()
    # a view: no storage writes, so well under one anchoring transaction's cost
    assert 21_000 < gas < 100_000
