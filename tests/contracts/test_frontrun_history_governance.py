"""Issue 11 (verdicts an officer can trust), chain side: no front-running of anchors, exact
suspension history for credentials and issuers, revocation by suspended or removed issuers,
governance revocation and suspension with a reason, one issuer per DID."""

from __future__ import annotations

import pytest

from .registry_support import (
    HKU_DID,
    ISSUER_HKU,
    ISSUER_UST,
    UST_DID,
    h,
    verdict,
)

NONE, ACTIVE, SUSPENDED, REMOVED = 0, 1, 2, 3
ISSUER, GOVERNANCE = 1, 2  # StatusActor


# -- (a) front-running -------------------------------------------------------------------------


def test_another_issuer_anchoring_a_pending_root_first_blocks_nothing(reg, who):
    """The attack: HKUST (any accredited issuer) sees HKU's pending anchorRoot in the pool and
    anchors the same root first, with another leaf count. On the old registry (anchors keyed by
    root alone) HKU's transaction reverted AnchorAlreadyAnchored and HKU's credentials read as
    HKUST's. Now HKU's anchoring succeeds and its credential verifies as HKU's."""
    root = h("hku-pending-root")
    t_squat = reg.now() + 10
    reg.timestamp_next(t_squat)
    reg.transact("anchorRoot", root, 1, sender=who.ust)
    t_hku = t_squat + 10
    reg.timestamp_next(t_hku)
    receipt = reg.transact("anchorRoot", root, 12, sender=who.hku)
    assert reg.events(receipt) == [
        ("RootAnchored", {"root": root, "issuerId": ISSUER_HKU, "leafCount": 12})
    ]
    v = verdict(reg, root, h("cred"))  # the credential names HKU's DID
    assert v["issuerId"] == ISSUER_HKU
    assert v["anchor"]["issuerId"] == ISSUER_HKU
    assert (v["anchor"]["leafCount"], v["anchor"]["anchoredAt"]) == (12, t_hku)
    assert (v["issuerName"], v["issuerDid"]) == ("The University of Hong Kong", HKU_DID)
    assert v["keyValidAtAnchor"] and v["typeAccreditedAtAnchor"]
    # the squatter's record lives in its own namespace and helps nothing: HKUST has no key or
    # type for it, and a credential naming HKU never reads it
    squat = verdict(reg, root, h("cred"), did=UST_DID)
    assert squat["anchor"]["issuerId"] == ISSUER_UST
    assert not squat["keyRegistered"] and not squat["typeGranted"]
    # the squatter cannot revoke HKU's batch either
    reg.transact("revokeBatch", root, sender=who.ust)
    assert verdict(reg, root, h("cred"))["batchRevoked"] is False


def test_revocations_stay_in_their_issuers_namespace(reg, who):
    root = h("shared-root")
    reg.transact("anchorRoot", root, 4, sender=who.hku)
    reg.transact("anchorRoot", root, 4, sender=who.ust)
    reg.transact("revokeCredential", h("cred"), sender=who.ust)
    assert verdict(reg, root, h("cred"))["credentialRevoked"] is False
    assert verdict(reg, root, h("cred"), did=UST_DID)["credentialRevoked"] is True


# -- (b) exact history -------------------------------------------------------------------------


def _two_intervals(reg, who, suspend="suspendCredential", reinstate="reinstateCredential"):
    """Anchor, then suspend [t1, t2), suspend [t3, t4): returns (t0, t1, t2, t3, t4)."""
    t0 = reg.now() + 100
    reg.timestamp_next(t0)
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    times = [t0]
    for i, (fn, args) in enumerate(
        [(suspend, (h("cred"),)), (reinstate, (h("cred"),))] * 2, start=1
    ):
        t = t0 + 100 * i
        reg.timestamp_next(t)
        reg.transact(fn, *args, sender=who.hku)
        times.append(t)
    return tuple(times)


def test_every_credential_suspension_interval_is_answered_exactly(reg, who):
    t0, t1, t2, t3, t4 = _two_intervals(reg, who)
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred")) == {
        "revokedAt": 0,
        "suspendedAt": t3,
        "reinstatedAt": t4,
        "suspensionCount": 2,
        "suspended": False,
        "revokedBy": NONE,
        "suspendedBy": ISSUER,
    }
    assert reg.call("credentialSuspensions", ISSUER_HKU, h("cred")) == [(t1, t2, ISSUER)]
    expected = {
        t0: False,
        t1 - 1: False,
        t1: True,
        t1 + 50: True,
        t2 - 1: True,
        t2: False,
        t2 + 50: False,
        t3 - 1: False,
        t3: True,
        t4 - 1: True,
        t4: False,
        t4 + 10_000: False,
    }
    for t, suspended in expected.items():
        assert reg.call("credentialStatusAt", ISSUER_HKU, h("cred"), t) == [False, suspended], t
        v = verdict(reg, h("root"), h("cred"), as_of=t)
        assert (v["credentialSuspended"], v["credentialRevoked"]) == (suspended, False), t
        assert v["credentialSuspendedBy"] == (ISSUER if suspended else NONE), t
        since = 0 if not suspended else (t1 if t < t2 else t3)
        assert v["credentialSuspendedSince"] == since, t


def test_many_intervals_by_binary_search(reg, who):
    t0 = reg.now() + 100
    starts = []
    for i in range(7):  # intervals [t0 + 100 i, t0 + 100 i + 40)
        reg.timestamp_next(t0 + 100 * i)
        reg.transact("suspendCredential", h("cred"), sender=who.hku)
        starts.append(t0 + 100 * i)
        reg.timestamp_next(t0 + 100 * i + 40)
        reg.transact("reinstateCredential", h("cred"), sender=who.hku)
    assert len(reg.call("credentialSuspensions", ISSUER_HKU, h("cred"))) == 6
    for s in starts:
        for dt, expected in ((-1, False), (0, True), (39, True), (40, False), (60, False)):
            got = reg.call("credentialStatusAt", ISSUER_HKU, h("cred"), s + dt)
            assert got == [False, expected], (s, dt)


def test_revocation_after_past_suspensions(reg, who):
    _t0, t1, t2, t3, t4 = _two_intervals(reg, who)
    t5 = t4 + 100
    reg.timestamp_next(t5)
    reg.transact("suspendCredential", h("cred"), sender=who.hku)
    t6 = t5 + 100
    reg.timestamp_next(t6)
    reg.transact("revokeCredential", h("cred"), sender=who.hku)
    at = lambda t: reg.call("credentialStatusAt", ISSUER_HKU, h("cred"), t)  # noqa: E731
    assert [at(t) for t in (t1, t2, t3, t4, t5, t6)] == [
        [False, True],
        [False, False],
        [False, True],
        [False, False],
        [False, True],
        [True, True],
    ]
    assert reg.call("credentialSuspensions", ISSUER_HKU, h("cred")) == [
        (t1, t2, ISSUER),
        (t3, t4, ISSUER),
    ]


def test_every_issuer_suspension_interval_is_answered_exactly(reg, who):
    t0 = reg.now() + 100
    times = []
    for i, fn in enumerate(["suspendIssuer", "reinstateIssuer"] * 2, start=1):
        reg.timestamp_next(t0 + 100 * i)
        reg.transact(fn, ISSUER_HKU, sender=who.governor)
        times.append(t0 + 100 * i)
    t1, t2, t3, t4 = times
    assert reg.call("issuerSuspensions", ISSUER_HKU) == [(t1, t2)]
    record = reg.record("issuer", ISSUER_HKU)
    assert (record["suspendedAt"], record["reinstatedAt"], record["status"]) == (t3, t4, ACTIVE)
    expected = {
        t1 - 1: ACTIVE,
        t1: SUSPENDED,
        t2 - 1: SUSPENDED,
        t2: ACTIVE,
        t3 - 1: ACTIVE,
        t3: SUSPENDED,
        t4 - 1: SUSPENDED,
        t4: ACTIVE,
    }
    for t, status in expected.items():
        assert reg.call("issuerStatusAt", ISSUER_HKU, t) == status, t
    # removal closes the history: removed from then on, the past stays
    t5 = t4 + 100
    reg.timestamp_next(t5)
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    t6 = t5 + 100
    reg.timestamp_next(t6)
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    assert [reg.call("issuerStatusAt", ISSUER_HKU, t) for t in (t1, t2, t3, t4, t5, t6)] == [
        SUSPENDED,
        ACTIVE,
        SUSPENDED,
        ACTIVE,
        SUSPENDED,
        REMOVED,
    ]


def test_issuer_status_at_anchor_and_as_of_inside_an_earlier_suspension(reg, who):
    # suspended [t1, t2), anchors at t3 (active), suspended again [t4, t5)
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    t2 = t1 + 100
    reg.timestamp_next(t2)
    reg.transact("reinstateIssuer", ISSUER_HKU, sender=who.governor)
    t3 = t2 + 100
    reg.timestamp_next(t3)
    reg.transact("anchorRoot", h("root"), 3, sender=who.hku)
    t4 = t3 + 100
    reg.timestamp_next(t4)
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    t5 = t4 + 100
    reg.timestamp_next(t5)
    reg.transact("reinstateIssuer", ISSUER_HKU, sender=who.governor)
    v = verdict(reg, h("root"), h("cred"))
    assert (v["issuerStatusAtAnchor"], v["issuerStatus"]) == (ACTIVE, ACTIVE)
    for t, status in ((t1 + 50, SUSPENDED), (t2 + 50, ACTIVE), (t4 + 50, SUSPENDED), (t5, ACTIVE)):
        assert verdict(reg, h("root"), h("cred"), as_of=t)["issuerStatusAsOf"] == status, t


def test_issuer_status_at_anchor_inside_an_earlier_interval_is_suspended(reg, who):
    """An anchor made while the issuer was suspended cannot happen (anchorRoot refuses), so the
    exactness of issuerStatusAtAnchor is shown on issuerStatusAt of the first interval after a
    second one exists (the old registry answered Active there)."""
    t1 = reg.now() + 100
    for i, fn in enumerate(["suspendIssuer", "reinstateIssuer"] * 2):
        reg.timestamp_next(t1 + 100 * i)
        reg.transact(fn, ISSUER_UST, sender=who.governor)
    assert reg.call("issuerStatusAt", ISSUER_UST, t1 + 50) == SUSPENDED


# -- (c) revocation by suspended and removed issuers -------------------------------------------


@pytest.mark.parametrize("state", ["suspendIssuer", "removeIssuer"])
def test_suspended_or_removed_issuer_can_revoke_and_suspend_but_not_anchor_or_reinstate(
    reg, who, state
):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    reg.transact("suspendCredential", h("held"), sender=who.hku)
    t = reg.now() + 100
    reg.timestamp_next(t)
    reg.transact(state, ISSUER_HKU, sender=who.governor)
    status = SUSPENDED if state == "suspendIssuer" else REMOVED
    # revoke and suspend still work, recorded with the acting account
    receipt = reg.transact("revokeCredential", h("a"), sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialRevoked",
            {"issuerId": ISSUER_HKU, "credentialHash": h("a"), "account": who.hku},
        )
    ]
    receipt = reg.transact("suspendCredential", h("b"), sender=who.hku)
    assert reg.events(receipt)[0][1]["account"] == who.hku
    reg.transact("revokeCredentials", [h("c"), h("d")], sender=who.hku)
    reg.transact("suspendCredentials", [h("e")], sender=who.hku)
    reg.transact("revokeBatch", h("root"), sender=who.hku)
    for x in (h("a"), h("c"), h("d")):
        assert reg.record("credentialStatus", ISSUER_HKU, x)["revokedBy"] == ISSUER
    assert reg.record("credentialStatus", ISSUER_HKU, h("b"))["suspendedBy"] == ISSUER
    # never anchor, never reinstate
    for fn, args in (
        ("anchorRoot", (h("new-root"), 3)),
        ("reinstateCredential", (h("held"),)),
        ("reinstateCredentials", ([h("held")],)),
    ):
        err = reg.revert_of(fn, *args, sender=who.hku)
        assert (err.name, err.args) == (
            "AnchorIssuerNotActive",
            {"issuerId": ISSUER_HKU, "status": status},
        )
    # an account that acts for no issuer still cannot
    err = reg.revert_of("revokeCredential", h("a"), sender=who.outsider)
    assert (err.name, err.args) == ("AnchorUnauthorizedAccount", {"account": who.outsider})


# -- (d) governance ----------------------------------------------------------------------------


def test_governance_revokes_any_credential_with_a_reason(reg, who):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    t = reg.now() + 100
    reg.timestamp_next(t)
    receipt = reg.transact(
        "governanceRevokeCredential",
        ISSUER_HKU,
        h("cred"),
        "forged transcript",
        sender=who.governor,
    )
    assert reg.events(receipt) == [
        (
            "CredentialRevokedByGovernance",
            {
                "issuerId": ISSUER_HKU,
                "credentialHash": h("cred"),
                "governor": who.governor,
                "reason": "forged transcript",
            },
        )
    ]
    status = reg.record("credentialStatus", ISSUER_HKU, h("cred"))
    assert (status["revokedAt"], status["revokedBy"]) == (t, GOVERNANCE)
    v = verdict(reg, h("root"), h("cred"))
    assert (v["credentialRevoked"], v["credentialRevokedBy"]) == (True, GOVERNANCE)
    assert verdict(reg, h("root"), h("cred"), as_of=t - 1)["credentialRevokedBy"] == NONE
    err = reg.revert_of(
        "governanceRevokeCredential", ISSUER_HKU, h("cred"), "again", sender=who.governor
    )
    assert err.name == "AnchorCredentialAlreadyRevoked"
    # the issuer's own revocation is recorded as the issuer's
    reg.transact("revokeCredential", h("other"), sender=who.hku)
    assert reg.record("credentialStatus", ISSUER_HKU, h("other"))["revokedBy"] == ISSUER


def test_governance_suspension_only_governance_lifts(reg, who):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    reg.transact(
        "governanceSuspendCredential", ISSUER_HKU, h("cred"), "under review", sender=who.admin
    )
    v = verdict(reg, h("root"), h("cred"))
    assert (v["credentialSuspended"], v["credentialSuspendedBy"]) == (True, GOVERNANCE)
    # the issuer cannot lift it
    for fn, arg in (("reinstateCredential", h("cred")), ("reinstateCredentials", [h("cred")])):
        err = reg.revert_of(fn, arg, sender=who.hku)
        assert (err.name, err.args) == (
            "AnchorCredentialSuspendedByGovernance",
            {"issuerId": ISSUER_HKU, "credentialHash": h("cred")},
        )
    t2 = t1 + 100
    reg.timestamp_next(t2)
    receipt = reg.transact(
        "governanceReinstateCredential", ISSUER_HKU, h("cred"), "cleared", sender=who.governor
    )
    assert reg.events(receipt)[0] == (
        "CredentialReinstatedByGovernance",
        {
            "issuerId": ISSUER_HKU,
            "credentialHash": h("cred"),
            "governor": who.governor,
            "reason": "cleared",
        },
    )
    # issuer suspends next; its interval and governance's are both kept with their actors
    t3 = t2 + 100
    reg.timestamp_next(t3)
    reg.transact("suspendCredential", h("cred"), sender=who.hku)
    assert reg.call("credentialSuspensions", ISSUER_HKU, h("cred")) == [(t1, t2, GOVERNANCE)]
    assert verdict(reg, h("root"), h("cred"), as_of=t1 + 1)["credentialSuspendedBy"] == GOVERNANCE
    assert verdict(reg, h("root"), h("cred"), as_of=t2)["credentialSuspendedBy"] == NONE
    assert verdict(reg, h("root"), h("cred"))["credentialSuspendedBy"] == ISSUER
    # governance can lift an issuer's suspension too
    reg.transact("governanceReinstateCredential", ISSUER_HKU, h("cred"), "ok", sender=who.admin)
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred"))["suspended"] is False


@pytest.mark.parametrize(
    "fn",
    ["governanceRevokeCredential", "governanceSuspendCredential", "governanceReinstateCredential"],
)
def test_governance_status_changes_need_a_governor_a_reason_and_a_known_issuer(reg, who, fn):
    for caller in (who.hku, who.outsider):
        err = reg.revert_of(fn, ISSUER_HKU, h("cred"), "reason", sender=caller)
        assert (err.name, err.args) == ("GovernanceUnauthorizedGovernor", {"account": caller})
    err = reg.revert_of(fn, ISSUER_HKU, h("cred"), "", sender=who.governor)
    assert (err.name, err.args) == ("AnchorReasonRequired", {})
    err = reg.revert_of(fn, 99, h("cred"), "reason", sender=who.governor)
    assert (err.name, err.args) == ("IssuerUnknown", {"issuerId": 99})


def test_governance_acts_on_removed_issuers_credentials(reg, who):
    reg.transact("anchorRoot", h("root"), 5, sender=who.hku)
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    reg.transact("governanceRevokeCredential", ISSUER_HKU, h("cred"), "fraud", sender=who.governor)
    assert verdict(reg, h("root"), h("cred"))["credentialRevokedBy"] == GOVERNANCE


# -- (e) one issuer per DID --------------------------------------------------------------------


def test_a_did_names_one_issuer(reg, who):
    assert reg.call("issuerIdOfDid", HKU_DID) == ISSUER_HKU
    assert reg.call("issuerIdOfDid", UST_DID) == ISSUER_UST
    assert reg.call("issuerIdOfDid", "did:web:nobody.example") == 0
    err = reg.revert_of("registerIssuer", "Impostor", HKU_DID, [who.other], sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerDidAlreadyRegistered",
        {"did": HKU_DID, "issuerId": ISSUER_HKU},
    )
    # also after removal: the DID keeps naming its (removed) issuer
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    err = reg.revert_of("registerIssuer", "Impostor", HKU_DID, [], sender=who.governor)
    assert err.name == "IssuerDidAlreadyRegistered"
    # byte-exact: another spelling is another DID
    reg.transact("registerIssuer", "Other", HKU_DID + ":x", [], sender=who.governor)
    assert reg.call("issuerIdOfDid", HKU_DID + ":x") == 3
