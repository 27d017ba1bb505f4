"""Issuer registry: registration, accounts, keys, types, status, and the as-of views."""

from __future__ import annotations

import pytest

from .registry_support import BADGE, DEGREE, EMPLOYMENT, ISSUER_HKU, ISSUER_UST, KEY_1, KEY_2, h

ZERO = "0x" + "00" * 20
NONE, ACTIVE, SUSPENDED, REMOVED = 0, 1, 2, 3


# -- registration ------------------------------------------------------------------------------


def test_register_issuer_records_and_emits(reg, who):
    t = reg.now() + 50
    reg.timestamp_next(t)
    receipt = reg.transact(
        "registerIssuer",
        "CityU",
        "did:web:cityu.edu.hk",
        [who.hku2, who.other],
        sender=who.governor,
    )
    assert reg.events(receipt) == [
        ("IssuerRegistered", {"issuerId": 3, "name": "CityU", "did": "did:web:cityu.edu.hk"}),
        ("IssuerAccountAdded", {"issuerId": 3, "account": who.hku2}),
        ("IssuerAccountAdded", {"issuerId": 3, "account": who.other}),
    ]
    assert reg.call("issuerCount") == 3
    assert reg.record("issuer", 3) == {
        "name": "CityU",
        "did": "did:web:cityu.edu.hk",
        "status": ACTIVE,
        "registeredAt": t,
        "suspendedAt": 0,
        "reinstatedAt": 0,
        "removedAt": 0,
    }
    assert reg.call("issuerOfAccount", who.hku2) == 3
    assert reg.call("issuerAccounts", 3) == [who.hku2, who.other]


def test_issuer_ids_run_from_one(reg, who):
    assert reg.call("issuerCount") == 2
    assert reg.record("issuer", ISSUER_HKU)["name"] == "The University of Hong Kong"
    assert reg.record("issuer", ISSUER_UST)["did"] == "did:web:hkust.edu.hk"
    assert reg.record("issuer", 0)["status"] == NONE
    assert reg.record("issuer", 3)["status"] == NONE
    assert reg.call("issuerOfAccount", who.outsider) == 0


def test_register_issuer_validation(reg, who):
    err = reg.revert_of("registerIssuer", "", "did:web:x", [], sender=who.admin)
    assert (err.name, err.args) == ("IssuerInvalidName", {})
    err = reg.revert_of("registerIssuer", "X", "", [], sender=who.admin)
    assert (err.name, err.args) == ("IssuerInvalidDid", {})
    err = reg.revert_of("registerIssuer", "X", "did:web:x", [ZERO], sender=who.admin)
    assert (err.name, err.args) == ("IssuerInvalidAccount", {"account": ZERO})
    err = reg.revert_of("registerIssuer", "X", "did:web:x", [who.hku2, who.ust], sender=who.admin)
    assert (err.name, err.args) == (
        "IssuerAccountAlreadyAssigned",
        {"account": who.ust, "issuerId": ISSUER_UST},
    )
    # the same account twice in one registration
    err = reg.revert_of("registerIssuer", "X", "did:web:x", [who.hku2, who.hku2], sender=who.admin)
    assert (err.name, err.args) == (
        "IssuerAccountAlreadyAssigned",
        {"account": who.hku2, "issuerId": 3},
    )
    assert reg.call("MAX_ACCOUNTS_PER_ISSUER") == 16
    too_many = [f"0x{i:040x}" for i in range(1, 18)]
    too_many = [reg.w3.to_checksum_address(a) for a in too_many]
    err = reg.revert_of("registerIssuer", "X", "did:web:x", too_many, sender=who.admin)
    assert (err.name, err.args) == ("IssuerAccountLimitReached", {"issuerId": 3, "limit": 16})
    assert reg.call("issuerCount") == 2


GOVERNOR_ONLY = [
    ("registerIssuer", ("X", "did:web:x", [])),
    ("addIssuerAccount", (ISSUER_HKU, "0x" + "11" * 20)),
    ("removeIssuerAccount", (ISSUER_HKU, None)),
    ("addSigningKey", (ISSUER_HKU, KEY_2, 0, 0)),
    ("revokeSigningKey", (ISSUER_HKU, KEY_1)),
    ("grantCredentialType", (ISSUER_HKU, EMPLOYMENT, 0, 0)),
    ("withdrawCredentialType", (ISSUER_HKU, DEGREE)),
    ("suspendIssuer", (ISSUER_HKU,)),
    ("reinstateIssuer", (ISSUER_HKU,)),
    ("removeIssuer", (ISSUER_HKU,)),
]


@pytest.mark.parametrize(("fn", "args"), GOVERNOR_ONLY, ids=[f for f, _ in GOVERNOR_ONLY])
def test_issuer_management_is_for_governors_only(reg, who, fn, args):
    args = tuple(who.hku if a is None else a for a in args)
    args = tuple(
        reg.w3.to_checksum_address(a) if isinstance(a, str) and a.startswith("0x") else a
        for a in args
    )
    for caller in (who.outsider, who.hku, who.ust):
        err = reg.revert_of(fn, *args, sender=caller)
        assert (err.name, err.args) == ("GovernanceUnauthorizedGovernor", {"account": caller})


# -- accounts ----------------------------------------------------------------------------------


def test_add_and_remove_issuer_accounts(reg, who):
    receipt = reg.transact("addIssuerAccount", ISSUER_HKU, who.hku2, sender=who.governor)
    assert reg.events(receipt) == [
        ("IssuerAccountAdded", {"issuerId": ISSUER_HKU, "account": who.hku2})
    ]
    reg.transact("addIssuerAccount", ISSUER_HKU, who.other, sender=who.governor)
    assert reg.call("issuerAccounts", ISSUER_HKU) == [who.hku, who.hku2, who.other]
    receipt = reg.transact("removeIssuerAccount", ISSUER_HKU, who.hku, sender=who.governor)
    assert reg.events(receipt) == [
        ("IssuerAccountRemoved", {"issuerId": ISSUER_HKU, "account": who.hku})
    ]
    assert reg.call("issuerOfAccount", who.hku) == 0
    assert sorted(reg.call("issuerAccounts", ISSUER_HKU)) == sorted([who.hku2, who.other])
    # the moved entry is still removable (its index was updated)
    reg.transact("removeIssuerAccount", ISSUER_HKU, who.other, sender=who.governor)
    assert reg.call("issuerAccounts", ISSUER_HKU) == [who.hku2]
    # a removed account can no longer act; the remaining one can
    err = reg.revert_of("anchorRoot", h("r"), 1, sender=who.hku)
    assert (err.name, err.args) == ("AnchorUnauthorizedAccount", {"account": who.hku})
    reg.transact("anchorRoot", h("r"), 1, sender=who.hku2)
    # and a freed account may join another issuer
    reg.transact("addIssuerAccount", ISSUER_UST, who.hku, sender=who.governor)
    assert reg.call("issuerOfAccount", who.hku) == ISSUER_UST


def test_add_issuer_account_errors(reg, who):
    err = reg.revert_of("addIssuerAccount", 9, who.hku2, sender=who.governor)
    assert (err.name, err.args) == ("IssuerUnknown", {"issuerId": 9})
    err = reg.revert_of("addIssuerAccount", ISSUER_HKU, who.ust, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerAccountAlreadyAssigned",
        {"account": who.ust, "issuerId": ISSUER_UST},
    )
    err = reg.revert_of("addIssuerAccount", ISSUER_HKU, who.hku, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerAccountAlreadyAssigned",
        {"account": who.hku, "issuerId": ISSUER_HKU},
    )
    err = reg.revert_of("addIssuerAccount", ISSUER_HKU, ZERO, sender=who.governor)
    assert (err.name, err.args) == ("IssuerInvalidAccount", {"account": ZERO})
    for i in range(15):  # fill up to the limit of 16
        acct = reg.w3.to_checksum_address(f"0x{i + 1:040x}")
        reg.transact("addIssuerAccount", ISSUER_HKU, acct, sender=who.governor)
    err = reg.revert_of("addIssuerAccount", ISSUER_HKU, who.hku2, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerAccountLimitReached",
        {"issuerId": ISSUER_HKU, "limit": 16},
    )
    reg.transact("removeIssuer", ISSUER_UST, sender=who.governor)
    err = reg.revert_of("addIssuerAccount", ISSUER_UST, who.hku2, sender=who.governor)
    assert (err.name, err.args) == ("IssuerAlreadyRemoved", {"issuerId": ISSUER_UST})


def test_remove_issuer_account_errors_and_removed_issuer(reg, who):
    err = reg.revert_of("removeIssuerAccount", ISSUER_HKU, who.ust, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerAccountNotAssigned",
        {"account": who.ust, "issuerId": ISSUER_HKU},
    )
    err = reg.revert_of("removeIssuerAccount", 0, who.outsider, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerAccountNotAssigned",
        {"account": who.outsider, "issuerId": 0},
    )
    # accounts of a removed issuer can still be freed
    reg.transact("removeIssuer", ISSUER_UST, sender=who.governor)
    reg.transact("removeIssuerAccount", ISSUER_UST, who.ust, sender=who.governor)
    assert reg.call("issuerOfAccount", who.ust) == 0


# -- signing keys ------------------------------------------------------------------------------


def test_add_signing_key_defaults_valid_from_to_now(reg, who):
    t = reg.now() + 10
    reg.timestamp_next(t)
    receipt = reg.transact("addSigningKey", ISSUER_UST, KEY_2, 0, 0, sender=who.governor)
    assert reg.events(receipt) == [
        (
            "SigningKeyAdded",
            {"issuerId": ISSUER_UST, "publicKey": KEY_2, "validFrom": t, "validUntil": 0},
        )
    ]
    assert reg.call("signingKey", ISSUER_UST, KEY_2) == [t, 0]
    assert reg.call("isKeyValidAt", ISSUER_UST, KEY_2, t) is True
    assert reg.call("isKeyValidAt", ISSUER_UST, KEY_2, t - 1) is False
    assert reg.call("isKeyValidAt", ISSUER_UST, KEY_2, 2**64 - 1) is True
    # keys are per issuer
    assert reg.call("isKeyValidAt", ISSUER_HKU, KEY_2, t) is False
    assert reg.call("signingKey", ISSUER_HKU, KEY_2) == [0, 0]


def test_add_signing_key_with_explicit_window(reg, who):
    start = reg.now() + 1000
    receipt = reg.transact(
        "addSigningKey", ISSUER_UST, KEY_2, start, start + 500, sender=who.governor
    )
    assert reg.events(receipt)[0][1] == {
        "issuerId": ISSUER_UST,
        "publicKey": KEY_2,
        "validFrom": start,
        "validUntil": start + 500,
    }
    assert [
        reg.call("isKeyValidAt", ISSUER_UST, KEY_2, t)
        for t in (start - 1, start, start + 499, start + 500)
    ] == [False, True, True, False]


@pytest.mark.parametrize(
    "fn,granted,fresh,field,already",
    [
        ("addSigningKey", KEY_1, KEY_2, "publicKey", "IssuerKeyAlreadyRegistered"),
        ("grantCredentialType", DEGREE, BADGE, "typeId", "IssuerTypeAlreadyGranted"),
    ],
)
def test_key_and_type_grant_errors(reg, who, fn, granted, fresh, field, already):
    def revert(issuer_id, value, valid_from=0, valid_until=0):
        err = reg.revert_of(fn, issuer_id, value, valid_from, valid_until, sender=who.governor)
        return err.name, err.args

    assert revert(ISSUER_HKU, granted) == (already, {"issuerId": ISSUER_HKU, field: granted})
    assert revert(ISSUER_HKU, b"\x00" * 32) == ("IssuerInvalidId", {})
    for valid_from, valid_until in ((500, 500), (900, 100)):
        assert revert(ISSUER_HKU, fresh, valid_from, valid_until) == (
            "IssuerInvalidWindow",
            {"validFrom": valid_from, "validUntil": valid_until},
        )
    for unknown in (3, 7):
        assert revert(unknown, fresh) == ("IssuerUnknown", {"issuerId": unknown})
    reg.transact("removeIssuer", ISSUER_UST, sender=who.governor)
    assert revert(ISSUER_UST, fresh) == ("IssuerAlreadyRemoved", {"issuerId": ISSUER_UST})


def test_key_rotation_keeps_old_credentials_valid(reg, who):
    t0 = reg.call("signingKey", ISSUER_HKU, KEY_1)[0]
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    reg.transact("addSigningKey", ISSUER_HKU, KEY_2, 0, 0, sender=who.governor)
    t2 = t1 + 100
    reg.timestamp_next(t2)
    receipt = reg.transact("revokeSigningKey", ISSUER_HKU, KEY_1, sender=who.governor)
    assert reg.events(receipt) == [
        ("SigningKeyRevoked", {"issuerId": ISSUER_HKU, "publicKey": KEY_1, "revokedAt": t2})
    ]
    assert reg.call("signingKey", ISSUER_HKU, KEY_1) == [t0, t2]
    valid = lambda key, t: reg.call("isKeyValidAt", ISSUER_HKU, key, t)  # noqa: E731
    assert [valid(KEY_1, t) for t in (t0 - 1, t0, t1, t2 - 1, t2, t2 + 1)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert [valid(KEY_2, t) for t in (t1 - 1, t1, t2, t2 + 10**6)] == [False, True, True, True]
    err = reg.revert_of("revokeSigningKey", ISSUER_HKU, KEY_1, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerKeyAlreadyRevoked",
        {"issuerId": ISSUER_HKU, "publicKey": KEY_1},
    )
    # a revoked key cannot be registered again (its window would lose history)
    err = reg.revert_of("addSigningKey", ISSUER_HKU, KEY_1, 0, 0, sender=who.governor)
    assert err.name == "IssuerKeyAlreadyRegistered"


def test_revoke_signing_key_errors(reg, who):
    err = reg.revert_of("revokeSigningKey", ISSUER_HKU, KEY_2, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerKeyNotRegistered",
        {"issuerId": ISSUER_HKU, "publicKey": KEY_2},
    )
    err = reg.revert_of("revokeSigningKey", 5, KEY_1, sender=who.governor)
    assert (err.name, err.args) == ("IssuerUnknown", {"issuerId": 5})
    # a window that ended by itself counts as revoked
    now = reg.now()
    reg.transact("addSigningKey", ISSUER_UST, KEY_2, now - 100, now - 50, sender=who.governor)
    err = reg.revert_of("revokeSigningKey", ISSUER_UST, KEY_2, sender=who.governor)
    assert err.name == "IssuerKeyAlreadyRevoked"
    # keys of a removed issuer can still be revoked (e.g. after a compromise)
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    reg.transact("revokeSigningKey", ISSUER_HKU, KEY_1, sender=who.governor)


# -- credential types --------------------------------------------------------------------------


def test_grant_and_withdraw_credential_type(reg, who):
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    receipt = reg.transact("grantCredentialType", ISSUER_HKU, BADGE, 0, 0, sender=who.governor)
    assert reg.events(receipt) == [
        (
            "CredentialTypeGranted",
            {"issuerId": ISSUER_HKU, "typeId": BADGE, "validFrom": t1, "validUntil": 0},
        )
    ]
    t2 = t1 + 100
    reg.timestamp_next(t2)
    receipt = reg.transact("withdrawCredentialType", ISSUER_HKU, BADGE, sender=who.governor)
    assert reg.events(receipt) == [
        ("CredentialTypeWithdrawn", {"issuerId": ISSUER_HKU, "typeId": BADGE, "withdrawnAt": t2})
    ]
    assert reg.call("credentialType", ISSUER_HKU, BADGE) == [t1, t2]
    at = lambda t: reg.call("isAccreditedAt", ISSUER_HKU, BADGE, t)  # noqa: E731
    assert [at(t) for t in (t1 - 1, t1, t2 - 1, t2)] == [False, True, True, False]
    assert reg.call("isAccreditedAt", ISSUER_UST, BADGE, t1) is False


def test_withdraw_credential_type_errors(reg, who):
    err = reg.revert_of("withdrawCredentialType", ISSUER_HKU, BADGE, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerTypeNotGranted",
        {"issuerId": ISSUER_HKU, "typeId": BADGE},
    )
    reg.transact("withdrawCredentialType", ISSUER_HKU, DEGREE, sender=who.governor)
    err = reg.revert_of("withdrawCredentialType", ISSUER_HKU, DEGREE, sender=who.governor)
    assert (err.name, err.args) == (
        "IssuerTypeAlreadyWithdrawn",
        {"issuerId": ISSUER_HKU, "typeId": DEGREE},
    )
    err = reg.revert_of("withdrawCredentialType", 3, BADGE, sender=who.governor)
    assert (err.name, err.args) == ("IssuerUnknown", {"issuerId": 3})


# -- status ------------------------------------------------------------------------------------


def test_suspend_reinstate_remove_timeline(reg, who):
    registered = reg.record("issuer", ISSUER_HKU)["registeredAt"]
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    receipt = reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    assert reg.events(receipt) == [("IssuerSuspended", {"issuerId": ISSUER_HKU, "suspendedAt": t1})]
    assert reg.record("issuer", ISSUER_HKU)["status"] == SUSPENDED
    err = reg.revert_of("anchorRoot", h("root"), 3, sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorIssuerNotActive",
        {"issuerId": ISSUER_HKU, "status": SUSPENDED},
    )

    t2 = t1 + 100
    reg.timestamp_next(t2)
    receipt = reg.transact("reinstateIssuer", ISSUER_HKU, sender=who.governor)
    assert reg.events(receipt) == [
        ("IssuerReinstated", {"issuerId": ISSUER_HKU, "reinstatedAt": t2})
    ]
    reg.transact("anchorRoot", h("root"), 3, sender=who.hku)

    t3 = t2 + 100
    reg.timestamp_next(t3)
    receipt = reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    assert reg.events(receipt) == [("IssuerRemoved", {"issuerId": ISSUER_HKU, "removedAt": t3})]
    assert reg.record("issuer", ISSUER_HKU) == {
        "name": "The University of Hong Kong",
        "did": "did:web:hku.hk",
        "status": REMOVED,
        "registeredAt": registered,
        "suspendedAt": t1,
        "reinstatedAt": t2,
        "removedAt": t3,
    }
    err = reg.revert_of("anchorRoot", h("other"), 3, sender=who.hku)
    assert (err.name, err.args) == (
        "AnchorIssuerNotActive",
        {"issuerId": ISSUER_HKU, "status": REMOVED},
    )

    status_at = lambda t: reg.call("issuerStatusAt", ISSUER_HKU, t)  # noqa: E731
    assert [
        status_at(t)
        for t in (registered - 1, registered, t1 - 1, t1, t2 - 1, t2, t3 - 1, t3, t3 + 10)
    ] == [NONE, ACTIVE, ACTIVE, SUSPENDED, SUSPENDED, ACTIVE, ACTIVE, REMOVED, REMOVED]
    assert reg.call("issuerStatusAt", 9, t2) == NONE


def test_removed_while_suspended_stays_suspended_until_removal(reg, who):
    t1 = reg.now() + 100
    reg.timestamp_next(t1)
    reg.transact("suspendIssuer", ISSUER_UST, sender=who.governor)
    t2 = t1 + 100
    reg.timestamp_next(t2)
    reg.transact("removeIssuer", ISSUER_UST, sender=who.governor)
    status_at = lambda t: reg.call("issuerStatusAt", ISSUER_UST, t)  # noqa: E731
    assert [status_at(t) for t in (t1 - 1, t1, t2 - 1, t2)] == [
        ACTIVE,
        SUSPENDED,
        SUSPENDED,
        REMOVED,
    ]


def test_status_idempotency_errors(reg, who):
    err = reg.revert_of("reinstateIssuer", ISSUER_HKU, sender=who.governor)
    assert (err.name, err.args) == ("IssuerNotSuspended", {"issuerId": ISSUER_HKU})
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    err = reg.revert_of("suspendIssuer", ISSUER_HKU, sender=who.governor)
    assert (err.name, err.args) == ("IssuerAlreadySuspended", {"issuerId": ISSUER_HKU})
    reg.transact("removeIssuer", ISSUER_HKU, sender=who.governor)
    for fn in ("suspendIssuer", "reinstateIssuer", "removeIssuer"):
        err = reg.revert_of(fn, ISSUER_HKU, sender=who.governor)
        assert (err.name, err.args) == ("IssuerAlreadyRemoved", {"issuerId": ISSUER_HKU})
    for fn in ("suspendIssuer", "reinstateIssuer", "removeIssuer"):
        err = reg.revert_of(fn, 42, sender=who.governor)
        assert (err.name, err.args) == ("IssuerUnknown", {"issuerId": 42})


def test_account_added_to_suspended_issuer_is_not_active(reg, who):
    reg.transact("suspendIssuer", ISSUER_HKU, sender=who.governor)
    reg.transact("addIssuerAccount", ISSUER_HKU, who.hku2, sender=who.governor)
    err = reg.revert_of("anchorRoot", h("root"), 1, sender=who.hku2)
    assert (err.name, err.args) == (
        "AnchorIssuerNotActive",
        {"issuerId": ISSUER_HKU, "status": SUSPENDED},
    )
    reg.transact("reinstateIssuer", ISSUER_HKU, sender=who.governor)
    reg.transact("anchorRoot", h("root"), 1, sender=who.hku2)
