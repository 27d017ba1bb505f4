"""Anchoring roots, revoking and suspending credentials and batches, and the as-of status."""

from __future__ import annotations

import pytest

from .registry_support import ISSUER_HKU, ISSUER_UST, h

SUSPENDED, REMOVED = 2, 3
ISSUER, GOVERNANCE = 1, 2  # StatusActor


# -- anchoring ---------------------------------------------------------------------------------


def test_anchor_root_records_issuer_block_and_time(reg, who):
    t = reg.now() + 30
    reg.timestamp_next(t)
    receipt = reg.transact("anchorRoot", h("batch-1"), 4096, sender=who.hku)
    assert reg.events(receipt) == [
        ("RootAnchored", {"root": h("batch-1"), "issuerId": ISSUER_HKU, "leafCount": 4096})
    ]
    assert reg.record("anchor", ISSUER_HKU, h("batch-1")) == {
        "issuerId": ISSUER_HKU,
        "leafCount": 4096,
        "blockNumber": receipt.blockNumber,
        "anchoredAt": t,
        "revokedAt": 0,
    }
    assert reg.record("anchor", ISSUER_HKU, h("never"))["issuerId"] == 0
    # anchors are per issuer: the other issuer has no anchor of this root
    assert reg.record("anchor", ISSUER_UST, h("batch-1"))["issuerId"] == 0


def test_anchor_root_errors(reg, who):
    reg.transact("anchorRoot", h("batch-1"), 2, sender=who.hku)
    err = reg.revert_of("anchorRoot", h("batch-1"), 2, sender=who.hku)
    assert (err.name, err.args) == ("AnchorAlreadyAnchored", {"root": h("batch-1")})
    # another issuer anchoring the same root is independent of it (its own namespace)
    reg.transact("anchorRoot", h("batch-1"), 9, sender=who.ust)
    assert reg.record("anchor", ISSUER_UST, h("batch-1"))["leafCount"] == 9
    assert reg.record("anchor", ISSUER_HKU, h("batch-1"))["leafCount"] == 2
    err = reg.revert_of("anchorRoot", h("batch-2"), 0, sender=who.hku)
    assert (err.name, err.args) == ("AnchorEmptyBatch", {})
    err = reg.revert_of("anchorRoot", b"\x00" * 32, 1, sender=who.hku)
    assert (err.name, err.args) == ("AnchorInvalidRoot", {})


ISSUER_ONLY = [
    ("anchorRoot", (h("x"), 1)),
    ("revokeBatch", (h("x"),)),
    ("revokeCredential", (h("c"),)),
    ("revokeCredentials", ([h("c")],)),
    ("suspendCredential", (h("c"),)),
    ("suspendCredentials", ([h("c")],)),
    ("reinstateCredential", (h("c"),)),
    ("reinstateCredentials", ([h("c")],)),
]
# need an active issuer; the others (revoke, suspend) only an account of a known issuer
ACTIVE_ONLY = [(fn, args) for fn, args in ISSUER_ONLY if fn.startswith(("anchor", "reinstate"))]


@pytest.mark.parametrize(("fn", "args"), ISSUER_ONLY, ids=[f for f, _ in ISSUER_ONLY])
def test_issuer_functions_need_an_account_of_an_issuer(reg, who, fn, args):
    # governors and the admin are not issuers
    for caller in (who.outsider, who.admin, who.governor):
        err = reg.revert_of(fn, *args, sender=caller)
        assert (err.name, err.args) == ("AnchorUnauthorizedAccount", {"account": caller})


@pytest.mark.parametrize(("fn", "args"), ACTIVE_ONLY, ids=[f for f, _ in ACTIVE_ONLY])
def test_anchoring_and_reinstating_need_an_active_issuer(reg, who, fn, args):
    if fn.startswith("reinstate"):
        reg.transact("suspendCredential", h("c"), sender=who.hku)
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    err = reg.revert_of(fn, *args, sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorIssuerNotActive",
        {"issuerId": ISSUER_HKU, "status": SUSPENDED},
    )
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    err = reg.revert_of(fn, *args, sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorIssuerNotActive",
        {"issuerId": ISSUER_HKU, "status": REMOVED},
    )


# -- batches -----------------------------------------------------------------------------------


def test_revoke_batch(reg, who):
    reg.transact("anchorRoot", h("batch"), 8, sender=who.hku)
    t = reg.now() + 40
    reg.timestamp_next(t)
    receipt = reg.transact("revokeBatch", h("batch"), sender=who.hku)
    assert reg.events(receipt) == [
        ("BatchRevoked", {"root": h("batch"), "issuerId": ISSUER_HKU, "account": who.hku})
    ]
    assert reg.record("anchor", ISSUER_HKU, h("batch"))["revokedAt"] == t
    err = reg.revert_of("revokeBatch", h("batch"), sender=who.hku)
    assert (err.name, err.args) == ("AnchorBatchAlreadyRevoked", {"root": h("batch")})


def test_revoke_batch_only_by_its_issuer(reg, who):
    reg.transact("anchorRoot", h("batch"), 8, sender=who.hku)
    # the other issuer never anchored this root in its own namespace
    err = reg.revert_of("revokeBatch", h("batch"), sender=who.ust)
    assert (err.name, err.args) == ("AnchorNotAnchored", {"root": h("batch")})
    assert reg.record("anchor", ISSUER_HKU, h("batch"))["revokedAt"] == 0
    err = reg.revert_of("revokeBatch", h("unknown"), sender=who.hku)
    assert (err.name, err.args) == ("AnchorNotAnchored", {"root": h("unknown")})
    # another account of the same issuer may revoke it
    reg.transact("addIssuerAccount", ISSUER_HKU, who.hku2, sender=who.governor)
    reg.transact("revokeBatch", h("batch"), sender=who.hku2)


# -- single credentials ------------------------------------------------------------------------


def test_revoke_credential_is_final_and_namespaced(reg, who):
    t = reg.now() + 20
    reg.timestamp_next(t)
    receipt = reg.transact("revokeCredential", h("cred"), sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialRevoked",
            {"issuerId": ISSUER_HKU, "credentialHash": h("cred"), "account": who.hku},
        )
    ]
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred"))["revokedAt"] == t
    # the other issuer's namespace is untouched: no issuer revokes another's credential
    assert reg.record("credentialStatus", ISSUER_UST, h("cred"))["revokedAt"] == 0
    assert reg.call("credentialStatusAt", ISSUER_UST, h("cred"), t + 5) == [False, False]
    assert [
        reg.call("credentialStatusAt", ISSUER_HKU, h("cred"), x) for x in (t - 1, t, t + 999)
    ] == [[False, False], [True, False], [True, False]]
    err = reg.revert_of("revokeCredential", h("cred"), sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadyRevoked",
        {"issuerId": ISSUER_HKU, "credentialHash": h("cred")},
    )
    for fn in ("suspendCredential", "reinstateCredential"):
        err = reg.revert_of(fn, h("cred"), sender=who.hku)
        assert err.name in ("AnchorCredentialAlreadyRevoked", "AnchorCredentialNotSuspended")
        assert err.args == {"issuerId": ISSUER_HKU, "credentialHash": h("cred")}
    # the other issuer has its own record for the same hash
    reg.transact("revokeCredential", h("cred"), sender=who.ust)


def test_suspension_can_be_lifted_and_is_kept_for_as_of(reg, who):
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    receipt = reg.transact("suspendCredential", h("cred"), sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialSuspended",
            {"issuerId": ISSUER_HKU, "credentialHash": h("cred"), "account": who.hku},
        )
    ]
    err = reg.revert_of("suspendCredential", h("cred"), sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadySuspended",
        {"issuerId": ISSUER_HKU, "credentialHash": h("cred")},
    )
    t2 = t1 + 100
    reg.timestamp_next(t2)
    receipt = reg.transact("reinstateCredential", h("cred"), sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialReinstated",
            {"issuerId": ISSUER_HKU, "credentialHash": h("cred"), "account": who.hku},
        )
    ]
    err = reg.revert_of("reinstateCredential", h("cred"), sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialNotSuspended",
        {"issuerId": ISSUER_HKU, "credentialHash": h("cred")},
    )
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred")) == {
        "revokedAt": 0,
        "suspendedAt": t1,
        "reinstatedAt": t2,
        "suspensionCount": 1,
        "suspended": False,
        "revokedBy": 0,
        "suspendedBy": ISSUER,
    }
    at = lambda t: reg.call("credentialStatusAt", ISSUER_HKU, h("cred"), t)  # noqa: E731
    assert [at(t) for t in (t1 - 1, t1, t2 - 1, t2)] == [
        [False, False],
        [False, True],
        [False, True],
        [False, False],
    ]
    # a second suspension, then revocation while suspended
    t3 = t2 + 100
    reg.timestamp_next(t3)
    reg.transact("suspendCredential", h("cred"), sender=who.hku)
    t4 = t3 + 100
    reg.timestamp_next(t4)
    reg.transact("revokeCredential", h("cred"), sender=who.hku)
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred")) == {
        "revokedAt": t4,
        "suspendedAt": t3,
        "reinstatedAt": t2,
        "suspensionCount": 2,
        "suspended": True,
        "revokedBy": ISSUER,
        "suspendedBy": ISSUER,
    }
    assert [at(t) for t in (t3 - 1, t3, t4)] == [[False, False], [False, True], [True, True]]
    # the first interval is still answered exactly, from the past-interval list
    assert reg.call("credentialSuspensions", ISSUER_HKU, h("cred")) == [(t1, t2, ISSUER)]
    assert [at(t) for t in (t1 - 1, t1, t2 - 1, t2)] == [
        [False, False],
        [False, True],
        [False, True],
        [False, False],
    ]


# -- lists -------------------------------------------------------------------------------------


def test_revoke_credentials_in_one_transaction(reg, who):
    hashes = [h(f"cred-{i}") for i in range(5)]
    t = reg.now() + 10
    reg.timestamp_next(t)
    receipt = reg.transact("revokeCredentials", hashes, sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialsRevoked",
            {"issuerId": ISSUER_HKU, "account": who.hku, "credentialHashes": hashes},
        )
    ]
    assert [reg.record("credentialStatus", ISSUER_HKU, x)["revokedAt"] for x in hashes] == [t] * 5


def test_list_operations_are_all_or_nothing(reg, who):
    reg.transact("revokeCredential", h("cred-2"), sender=who.hku)
    hashes = [h(f"cred-{i}") for i in range(4)]
    err = reg.revert_of("revokeCredentials", hashes, sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadyRevoked",
        {"issuerId": ISSUER_HKU, "credentialHash": h("cred-2")},
    )
    assert reg.record("credentialStatus", ISSUER_HKU, h("cred-0"))["revokedAt"] == 0
    # a repeated hash within one list is caught too
    err = reg.revert_of("revokeCredentials", [h("x"), h("x")], sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadyRevoked",
        {"issuerId": ISSUER_HKU, "credentialHash": h("x")},
    )
    err = reg.revert_of("suspendCredentials", [h("y"), h("cred-2")], sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadyRevoked",
        {"issuerId": ISSUER_HKU, "credentialHash": h("cred-2")},
    )
    err = reg.revert_of("reinstateCredentials", [h("y")], sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialNotSuspended",
        {"issuerId": ISSUER_HKU, "credentialHash": h("y")},
    )


@pytest.mark.parametrize("fn", ["revokeCredentials", "suspendCredentials", "reinstateCredentials"])
def test_empty_lists_are_rejected(reg, who, fn):
    err = reg.revert_of(fn, [], sender=who.hku)
    assert (err.name, err.args) == ("AnchorEmptyBatch", {})


def test_suspend_and_reinstate_lists(reg, who):
    hashes = [h("p"), h("q")]
    t1 = reg.now() + 10
    reg.timestamp_next(t1)
    receipt = reg.transact("suspendCredentials", hashes, sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialsSuspended",
            {"issuerId": ISSUER_HKU, "account": who.hku, "credentialHashes": hashes},
        )
    ]
    err = reg.revert_of("suspendCredentials", [h("q")], sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorCredentialAlreadySuspended",
        {"issuerId": ISSUER_HKU, "credentialHash": h("q")},
    )
    reg.timestamp_next(t1 + 10)
    receipt = reg.transact("reinstateCredentials", hashes, sender=who.hku)
    assert reg.events(receipt) == [
        (
            "CredentialsReinstated",
            {"issuerId": ISSUER_HKU, "account": who.hku, "credentialHashes": hashes},
        )
    ]
    for x in hashes:
        assert reg.record("credentialStatus", ISSUER_HKU, x) == {
            "revokedAt": 0,
            "suspendedAt": t1,
            "reinstatedAt": t1 + 10,
            "suspensionCount": 1,
            "suspended": False,
            "revokedBy": 0,
            "suspendedBy": ISSUER,
        }


def test_reverting_transactions_fail_on_chain_and_change_nothing(reg, who):
    reg.transact("anchorRoot", h("batch"), 8, sender=who.hku)
    before = reg.call("anchor", ISSUER_HKU, h("batch"))
    err = reg.revert_of("anchorRoot", h("batch"), 99, sender=who.hku, mine=True)
    assert err.name == "AnchorAlreadyAnchored"
    err = reg.revert_of("revokeBatch", h("batch"), sender=who.ust, mine=True)
    assert err.name == "AnchorNotAnchored"
    assert reg.call("anchor", ISSUER_HKU, h("batch")) == before
