"""Governance: admin, governors, two-step admin transfer."""

from __future__ import annotations

ZERO = "0x" + "00" * 20


def test_deployer_is_admin_and_first_governor(chain):
    reg, who = chain
    assert reg.call("admin") == who.admin
    assert reg.call("pendingAdmin") == ZERO
    assert reg.call("isGovernor", who.admin) is True
    # the module fixture added one more governor
    assert reg.call("governorCount") == 2
    events = reg.events(reg.deploy_receipt)
    assert events == [
        ("AdminTransferred", {"previousAdmin": ZERO, "newAdmin": who.admin}),
        ("GovernorAdded", {"governor": who.admin, "by": who.admin}),
    ]


def test_admin_adds_governor_with_event(reg, who):
    receipt = reg.transact("addGovernor", who.other, sender=who.admin)
    assert reg.events(receipt) == [("GovernorAdded", {"governor": who.other, "by": who.admin})]
    assert reg.call("isGovernor", who.other) is True
    assert reg.call("governorCount") == 3


def test_admin_removes_governor_with_event(reg, who):
    receipt = reg.transact("removeGovernor", who.governor, sender=who.admin)
    assert reg.events(receipt) == [("GovernorRemoved", {"governor": who.governor, "by": who.admin})]
    assert reg.call("isGovernor", who.governor) is False
    assert reg.call("governorCount") == 1
    # a removed governor loses its powers at once
    err = reg.revert_of("suspendIssuer", 1, sender=who.governor)
    assert (err.name, err.args) == ("GovernanceUnauthorizedGovernor", {"account": who.governor})


def test_non_admin_cannot_add_or_remove_governors(reg, who):
    for caller in (who.governor, who.outsider, who.hku):
        err = reg.revert_of("addGovernor", who.other, sender=caller)
        assert (err.name, err.args) == ("GovernanceUnauthorizedAccount", {"account": caller})
        err = reg.revert_of("removeGovernor", who.admin, sender=caller)
        assert (err.name, err.args) == ("GovernanceUnauthorizedAccount", {"account": caller})


def test_adding_an_existing_governor_reverts(reg, who):
    err = reg.revert_of("addGovernor", who.governor, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceAlreadyGovernor", {"account": who.governor})


def test_removing_a_non_governor_reverts(reg, who):
    err = reg.revert_of("removeGovernor", who.outsider, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceNotGovernor", {"account": who.outsider})


def test_zero_address_cannot_become_governor_or_admin(reg, who):
    err = reg.revert_of("addGovernor", ZERO, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceInvalidAccount", {"account": ZERO})
    err = reg.revert_of("transferAdmin", ZERO, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceInvalidAccount", {"account": ZERO})


def test_admin_transfer_takes_two_steps(reg, who):
    receipt = reg.transact("transferAdmin", who.other, sender=who.admin)
    assert reg.events(receipt) == [
        ("AdminTransferStarted", {"admin": who.admin, "pendingAdmin": who.other})
    ]
    # nothing changes until the new admin accepts
    assert reg.call("admin") == who.admin
    assert reg.call("pendingAdmin") == who.other
    err = reg.revert_of("addGovernor", who.outsider, sender=who.other)
    assert err.name == "GovernanceUnauthorizedAccount"

    receipt = reg.transact("acceptAdmin", sender=who.other)
    assert reg.events(receipt) == [
        ("AdminTransferred", {"previousAdmin": who.admin, "newAdmin": who.other})
    ]
    assert reg.call("admin") == who.other
    assert reg.call("pendingAdmin") == ZERO
    # the new admin has the powers, the old one lost them
    reg.transact("addGovernor", who.outsider, sender=who.other)
    err = reg.revert_of("addGovernor", who.hku2, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceUnauthorizedAccount", {"account": who.admin})


def test_only_the_pending_admin_accepts(reg, who):
    err = reg.revert_of("acceptAdmin", sender=who.outsider)
    assert (err.name, err.args) == ("GovernanceUnauthorizedPendingAdmin", {"account": who.outsider})
    reg.transact("transferAdmin", who.other, sender=who.admin)
    for caller in (who.outsider, who.admin):
        err = reg.revert_of("acceptAdmin", sender=caller)
        assert (err.name, err.args) == ("GovernanceUnauthorizedPendingAdmin", {"account": caller})


def test_a_new_transfer_replaces_the_pending_admin(reg, who):
    reg.transact("transferAdmin", who.other, sender=who.admin)
    reg.transact("transferAdmin", who.outsider, sender=who.admin)
    assert reg.call("pendingAdmin") == who.outsider
    err = reg.revert_of("acceptAdmin", sender=who.other)
    assert err.name == "GovernanceUnauthorizedPendingAdmin"


def test_transfer_admin_idempotency_and_access(reg, who):
    err = reg.revert_of("transferAdmin", who.admin, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceAlreadyAdmin", {"account": who.admin})
    reg.transact("transferAdmin", who.other, sender=who.admin)
    err = reg.revert_of("transferAdmin", who.other, sender=who.admin)
    assert (err.name, err.args) == ("GovernanceAlreadyPendingAdmin", {"account": who.other})
    err = reg.revert_of("transferAdmin", who.outsider, sender=who.governor)
    assert (err.name, err.args) == ("GovernanceUnauthorizedAccount", {"account": who.governor})


def test_admin_need_not_be_a_governor(reg, who):
    reg.transact("removeGovernor", who.admin, sender=who.admin)
    err = reg.revert_of("registerIssuer", "X", "did:web:x", [], sender=who.admin)
    assert (err.name, err.args) == ("GovernanceUnauthorizedGovernor", {"account": who.admin})
    reg.transact("addGovernor", who.admin, sender=who.admin)
    reg.transact("registerIssuer", "X", "did:web:x", [], sender=who.admin)


def test_unauthorized_governance_transactions_fail_on_chain(reg, who):
    err = reg.revert_of("addGovernor", who.other, sender=who.outsider, mine=True)
    assert err.name == "GovernanceUnauthorizedAccount"
    assert reg.call("isGovernor", who.other) is False
