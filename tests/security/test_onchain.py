"""Access control and isolation of `TalentProofRegistry`, on a real Anvil node.

Each refused action is tried twice:

- through the typed client (`RegistryClient.transact`): gas estimation hits the revert, the
  ledger raises the typed custom error, nothing is sent;
- as a signed transaction with a fixed gas limit (no estimation), so that it is MINED and the
  contract itself rejects it (receipt status 0); the ledger decodes the same typed error.

Both must name the same error with the same arguments, and the state must be unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from eth_account import Account

from talentproof.credential.merkle import MerkleTree
from talentproof.ledger.chain import type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.errors import ChainIdMismatch, ContractRevert, revert_class
from talentproof.ledger.models import IssuerStatus

DEGREE = "DegreeCredential"
BADGE = "OpenBadgeCredential"
FIXED_GAS = 1_000_000
ZERO = "0x0000000000000000000000000000000000000000"


def chash(label: str) -> bytes:
    """A 32-byte credential hash standing for one credential."""
    return hashlib.sha256(label.encode()).digest()


def batch(prefix: str, n: int = 4) -> tuple[MerkleTree, list[bytes]]:
    """An RFC 9162 tree over `n` credential hashes (what the issuer anchors)."""
    hashes = [chash(f"{prefix}-{i}") for i in range(n)]
    return MerkleTree(hashes), hashes


def refused(client: RegistryClient, function: str, *args: Any) -> tuple[str, dict[str, Any]]:
    """Assert `function(*args)` from `client`'s account is refused; return (error, args).

    First the typed client path (estimation reverts, nothing is sent), then a mined transaction
    with a fixed gas limit: its receipt must have status 0 and decode to the same error.
    """
    w3 = client.w3
    nonce_before = w3.eth.get_transaction_count(client.account)
    with pytest.raises(ContractRevert) as estimated:
        client.transact(function, *args)
    assert w3.eth.get_transaction_count(client.account) == nonce_before, "nothing may be sent"

    pending = client.send(function, *args, gas=FIXED_GAS)
    with pytest.raises(ContractRevert) as mined:
        client.wait(pending)
    receipt = w3.eth.get_transaction_receipt(pending.tx_hash)
    assert receipt["status"] == 0, f"{function} was mined successfully from {client.account}"
    assert receipt["logs"] == []

    first, second = estimated.value, mined.value
    assert (first.error_name, first.args_dict) == (second.error_name, second.args_dict)
    assert isinstance(second, revert_class(second.error_name))
    return second.error_name, second.args_dict


def outsider(deployed: Any) -> RegistryClient:
    return deployed.client(deployed.fresh_key())


# -- governance --------------------------------------------------------------------------------


def governance_calls(issuer: Any, other: str) -> list[tuple[str, tuple[Any, ...], str]]:
    """(function, args, error) for every governance write; error for a caller with no role."""
    key = issuer.signing_key
    return [
        ("addGovernor", (other,), "GovernanceUnauthorizedAccount"),
        ("removeGovernor", (other,), "GovernanceUnauthorizedAccount"),
        ("transferAdmin", (other,), "GovernanceUnauthorizedAccount"),
        (
            "registerIssuer",
            ("Fake University", "did:web:fake.example", [other]),
            "GovernanceUnauthorizedGovernor",
        ),
        ("addIssuerAccount", (issuer.issuer_id, other), "GovernanceUnauthorizedGovernor"),
        (
            "removeIssuerAccount",
            (issuer.issuer_id, issuer.account),
            "GovernanceUnauthorizedGovernor",
        ),
        ("addSigningKey", (issuer.issuer_id, b"\x77" * 32, 0, 0), "GovernanceUnauthorizedGovernor"),
        ("revokeSigningKey", (issuer.issuer_id, key), "GovernanceUnauthorizedGovernor"),
        (
            "grantCredentialType",
            (issuer.issuer_id, type_id(BADGE), 1, 0),
            "GovernanceUnauthorizedGovernor",
        ),
        (
            "withdrawCredentialType",
            (issuer.issuer_id, type_id(DEGREE)),
            "GovernanceUnauthorizedGovernor",
        ),
        ("suspendIssuer", (issuer.issuer_id,), "GovernanceUnauthorizedGovernor"),
        ("reinstateIssuer", (issuer.issuer_id,), "GovernanceUnauthorizedGovernor"),
        ("removeIssuer", (issuer.issuer_id,), "GovernanceUnauthorizedGovernor"),
        (
            "governanceRevokeBatch",
            (issuer.issuer_id, b"\x01" * 32, "not a governor"),
            "GovernanceUnauthorizedGovernor",
        ),
    ]


def governance_snapshot(gov: RegistryClient, issuer: Any, other: str) -> tuple[Any, ...]:
    return (
        gov.admin(),
        gov.pending_admin(),
        gov.governor_count(),
        gov.is_governor(other),
        gov.issuer_count(),
        gov.issuer(issuer.issuer_id).status,
        tuple(gov.issuer_accounts(issuer.issuer_id)),
        gov.signing_key(issuer.issuer_id, issuer.signing_key),
        gov.signing_key(issuer.issuer_id, b"\x77" * 32),
        gov.credential_type(issuer.issuer_id, DEGREE),
        gov.credential_type(issuer.issuer_id, BADGE),
    )


def test_non_governors_cannot_govern(deployed_anvil: Any) -> None:
    gov = deployed_anvil.governor
    issuer = deployed_anvil.setup_issuer()
    stranger = outsider(deployed_anvil)
    other = Account.from_key(deployed_anvil.fresh_key()).address
    before = governance_snapshot(gov, issuer, other)
    # an outsider, and an issuer's own account (it cannot accredit itself or change its keys)
    for client in (stranger, issuer.client):
        for function, args, error in governance_calls(issuer, other):
            assert refused(client, function, *args) == (error, {"account": client.account}), (
                function
            )
    assert governance_snapshot(gov, issuer, other) == before


def test_governor_without_admin_role_cannot_manage_governors(deployed_anvil: Any) -> None:
    gov = deployed_anvil.governor
    second = deployed_anvil.fresh_key()
    second_address = Account.from_key(second).address
    gov.add_governor(second_address)
    other = Account.from_key(deployed_anvil.fresh_key()).address
    client = deployed_anvil.client(second)
    expected = ("GovernanceUnauthorizedAccount", {"account": second_address})
    assert refused(client, "addGovernor", other) == expected
    assert refused(client, "removeGovernor", gov.account) == expected
    assert refused(client, "transferAdmin", second_address) == expected
    assert gov.is_governor(gov.account) and not gov.is_governor(other)
    assert gov.admin() == gov.account and gov.pending_admin() == ZERO


def test_removed_governor_cannot_act(deployed_anvil: Any) -> None:
    gov = deployed_anvil.governor
    key = deployed_anvil.fresh_key()
    former = deployed_anvil.client(key)
    gov.add_governor(former.account)
    issuer_id = former.register_issuer("City University", "did:web:cityu.edu.hk", [])
    gov.remove_governor(former.account)
    assert not former.is_governor(former.account)

    expected = ("GovernanceUnauthorizedGovernor", {"account": former.account})
    assert refused(former, "registerIssuer", "Fake", "did:web:fake.example", []) == expected
    assert refused(former, "suspendIssuer", issuer_id) == expected
    assert refused(former, "removeIssuer", issuer_id) == expected
    assert refused(former, "addSigningKey", issuer_id, b"\x55" * 32, 0, 0) == expected
    assert refused(former, "grantCredentialType", issuer_id, type_id(DEGREE), 0, 0) == expected
    assert gov.issuer(issuer_id).status == IssuerStatus.ACTIVE
    assert gov.issuer_count() == 1
    assert gov.signing_key(issuer_id, b"\x55" * 32).valid_from == 0


def test_admin_transfer_cannot_be_hijacked(deployed_anvil: Any) -> None:
    gov = deployed_anvil.governor
    admin = gov.account
    nominee = deployed_anvil.client(deployed_anvil.fresh_key())
    attacker = deployed_anvil.client(deployed_anvil.fresh_key())
    second_governor = deployed_anvil.client(deployed_anvil.fresh_key())
    gov.add_governor(second_governor.account)

    gov.transfer_admin(nominee.account)
    assert (gov.admin(), gov.pending_admin()) == (admin, nominee.account)

    # nobody but the nominee can complete it, and nobody but the admin can redirect it
    assert refused(attacker, "acceptAdmin") == (
        "GovernanceUnauthorizedPendingAdmin",
        {"account": attacker.account},
    )
    assert refused(second_governor, "acceptAdmin") == (
        "GovernanceUnauthorizedPendingAdmin",
        {"account": second_governor.account},
    )
    for client in (attacker, second_governor, nominee):
        assert refused(client, "transferAdmin", client.account) == (
            "GovernanceUnauthorizedAccount",
            {"account": client.account},
        )
    # until accepted, the nominee has no power and the admin keeps it
    assert refused(nominee, "addGovernor", attacker.account) == (
        "GovernanceUnauthorizedAccount",
        {"account": nominee.account},
    )
    assert (gov.admin(), gov.pending_admin()) == (admin, nominee.account)

    # the admin redirects the transfer: the first nominee can no longer take it
    replacement = deployed_anvil.client(deployed_anvil.fresh_key())
    gov.transfer_admin(replacement.account)
    assert refused(nominee, "acceptAdmin") == (
        "GovernanceUnauthorizedPendingAdmin",
        {"account": nominee.account},
    )
    receipt = replacement.accept_admin()
    assert receipt.event("AdminTransferred").args == {
        "previousAdmin": admin,
        "newAdmin": replacement.account,
    }
    assert (gov.admin(), gov.pending_admin()) == (replacement.account, ZERO)
    # the pending slot is cleared: accepting twice, or late, fails; the old admin lost the role
    assert refused(replacement, "acceptAdmin") == (
        "GovernanceUnauthorizedPendingAdmin",
        {"account": replacement.account},
    )
    assert refused(gov, "addGovernor", attacker.account) == (
        "GovernanceUnauthorizedAccount",
        {"account": admin},
    )
    assert not gov.is_governor(attacker.account)


# -- anchoring and revocation ------------------------------------------------------------------


def anchor_calls(root: bytes, credential: bytes) -> list[tuple[str, tuple[Any, ...]]]:
    fresh = chash("never-anchored-root")
    return [
        ("anchorRoot", (fresh, 4)),
        ("revokeBatch", (root,)),
        ("revokeCredential", (credential,)),
        ("revokeCredentials", ([credential],)),
        ("suspendCredential", (credential,)),
        ("suspendCredentials", ([credential],)),
        ("reinstateCredential", (credential,)),
        ("reinstateCredentials", ([credential],)),
    ]


def verdict(client: RegistryClient, issuer: Any, root: bytes, credential: bytes) -> Any:
    """The view for a credential naming `issuer`'s DID (the verifier reads that issuer's anchor)."""
    return client.verify_credential(issuer.did, root, credential, issuer.signing_key, DEGREE)


def assert_valid(view: Any, issuer_id: int) -> None:
    assert view.anchor.issuer_id == issuer_id
    assert view.key_valid_at_anchor and view.type_accredited_at_anchor
    assert not (view.credential_revoked or view.credential_suspended or view.batch_revoked)


def test_non_issuer_accounts_cannot_anchor_or_revoke(deployed_anvil: Any) -> None:
    issuer = deployed_anvil.setup_issuer()
    tree, hashes = batch("hku")
    issuer.client.anchor_root(tree.root, tree.size)
    gov = deployed_anvil.governor
    # an outsider, and the governor itself: governing is not issuing
    for client in (outsider(deployed_anvil), gov):
        for function, args in anchor_calls(tree.root, hashes[0]):
            assert refused(client, function, *args) == (
                "AnchorUnauthorizedAccount",
                {"account": client.account},
            ), function
    assert gov.anchor(issuer.issuer_id, chash("never-anchored-root")) is None
    assert_valid(verdict(gov, issuer, tree.root, hashes[0]), issuer.issuer_id)


def test_account_removed_from_issuer_cannot_anchor_or_revoke(deployed_anvil: Any) -> None:
    issuer = deployed_anvil.setup_issuer()
    tree, hashes = batch("hku")
    issuer.client.anchor_root(tree.root, tree.size)
    deployed_anvil.governor.remove_issuer_account(issuer.issuer_id, issuer.account)
    for function, args in anchor_calls(tree.root, hashes[0]):
        assert refused(issuer.client, function, *args) == (
            "AnchorUnauthorizedAccount",
            {"account": issuer.account},
        ), function
    assert_valid(verdict(issuer.client, issuer, tree.root, hashes[0]), issuer.issuer_id)


@pytest.mark.parametrize(
    ("action", "status"),
    [("suspend_issuer", IssuerStatus.SUSPENDED), ("remove_issuer", IssuerStatus.REMOVED)],
)
def test_suspended_and_removed_issuers_cannot_anchor_or_reinstate_but_can_revoke(
    deployed_anvil: Any, action: str, status: IssuerStatus
) -> None:
    gov = deployed_anvil.governor
    issuer = deployed_anvil.setup_issuer()
    tree, hashes = batch("hku")
    issuer.client.anchor_root(tree.root, tree.size)
    issuer.client.suspend_credential(hashes[1])  # so that reinstating it would be meaningful
    # A real chain's blocks have strictly increasing times; Anvil may mine several in one second,
    # and a status change in the anchor's own second reads as "at anchor time" (fails closed).
    # Mine the status change one second later (moves the shared node's clock by 1 s at most).
    latest = int(deployed_anvil.w3.eth.get_block("latest")["timestamp"])
    deployed_anvil.w3.provider.make_request("evm_setNextBlockTimestamp", [latest + 1])
    getattr(gov, action)(issuer.issuer_id)

    for function, args in anchor_calls(tree.root, hashes[1]):
        if not function.startswith(("anchor", "reinstate")):
            continue  # revoking and suspending its own credentials stays possible (below)
        assert refused(issuer.client, function, *args) == (
            "AnchorIssuerNotActive",
            {"issuerId": issuer.issuer_id, "status": int(status)},
        ), function
    view = verdict(gov, issuer, tree.root, hashes[1])
    assert view.issuer_status == status
    assert view.issuer_status_at_anchor == IssuerStatus.ACTIVE
    assert view.credential_suspended and not view.credential_revoked and not view.batch_revoked
    assert gov.anchor(issuer.issuer_id, chash("never-anchored-root")) is None
    # a suspended or removed issuer can still withdraw its own credentials
    issuer.client.suspend_credential(hashes[3])
    issuer.client.revoke_credential(hashes[0])
    assert verdict(gov, issuer, tree.root, hashes[0]).credential_revoked

    if status is IssuerStatus.SUSPENDED:  # reinstated, the same account works again
        gov.reinstate_issuer(issuer.issuer_id)
        issuer.client.reinstate_credential(hashes[1])
        issuer.client.revoke_credential(hashes[2])
        assert verdict(gov, issuer, tree.root, hashes[2]).credential_revoked
        issuer.client.anchor_root(chash("after-reinstatement"), 1)
    else:  # removal is final
        assert refused(gov, "reinstateIssuer", issuer.issuer_id) == (
            "IssuerAlreadyRemoved",
            {"issuerId": issuer.issuer_id},
        )


def test_issuer_cannot_revoke_another_issuers_batch_or_credential(deployed_anvil: Any) -> None:
    gov = deployed_anvil.governor
    hku = deployed_anvil.setup_issuer("University of Hong Kong", "did:web:hku.hk")
    rogue = deployed_anvil.setup_issuer("Rogue Institute", "did:web:rogue.example")
    tree, hashes = batch("hku")
    hku.client.anchor_root(tree.root, tree.size)

    # anchors are per issuer: the rogue has no anchor of HKU's root to revoke
    assert refused(rogue.client, "revokeBatch", tree.root) == (
        "AnchorNotAnchored",
        {"root": tree.root},
    )
    # revoking or suspending another issuer's credential hash only writes the rogue's namespace
    rogue.client.revoke_credential(hashes[0])
    rogue.client.suspend_credentials([hashes[1], hashes[2]])
    for h in hashes:
        assert_valid(verdict(gov, hku, tree.root, h), hku.issuer_id)
        assert gov.credential_status(hku.issuer_id, h).revoked_at == 0
    assert gov.credential_status(rogue.issuer_id, hashes[0]).revoked_at > 0
    assert gov.credential_status(rogue.issuer_id, hashes[1]).suspended

    # control: the anchoring issuer's own revocation does count
    hku.client.revoke_credential(hashes[3])
    assert verdict(gov, hku, tree.root, hashes[3]).credential_revoked
    hku.client.revoke_batch(tree.root)
    assert verdict(gov, hku, tree.root, hashes[0]).batch_revoked


def test_reanchoring_another_issuers_credential_does_not_verify(deployed_anvil: Any) -> None:
    """A malicious institution anchoring someone else's credentials (its batch root, or its own
    tree holding their hashes) records them in its own namespace only: a credential naming HKU
    is read from HKU's anchor; read as the rogue's, the key check fails closed."""
    gov = deployed_anvil.governor
    hku = deployed_anvil.setup_issuer("University of Hong Kong", "did:web:hku.hk")
    rogue = deployed_anvil.setup_issuer("Rogue Institute", "did:web:rogue.example")
    tree, hashes = batch("hku")

    # front-running: the rogue anchors HKU's root first; HKU's anchor still succeeds
    rogue.client.anchor_root(tree.root, tree.size)
    assert verdict(gov, hku, tree.root, hashes[0]).anchor.issuer_id == 0  # not HKU's yet
    hku.client.anchor_root(tree.root, tree.size)
    assert_valid(verdict(gov, hku, tree.root, hashes[0]), hku.issuer_id)
    # read as the rogue's credential (a forged issuer field), HKU's key is not the rogue's
    as_rogue = gov.verify_credential(rogue.did, tree.root, hashes[0], hku.signing_key, DEGREE)
    assert as_rogue.anchor.issuer_id == rogue.issuer_id
    assert as_rogue.issuer_did == "did:web:rogue.example"
    assert not as_rogue.key_registered and not as_rogue.key_valid_at_anchor

    # the rogue's own tree containing an HKU credential hash: never HKU's anchor
    own = MerkleTree([hashes[0], chash("rogue-0"), chash("rogue-1")])
    rogue.client.anchor_root(own.root, own.size)
    assert verdict(gov, hku, own.root, hashes[0]).anchor.issuer_id == 0
    view = gov.verify_credential(rogue.did, own.root, hashes[0], hku.signing_key, DEGREE)
    assert view.anchor.issuer_id == rogue.issuer_id
    assert not view.key_registered and not view.key_valid_at_anchor


# -- chain binding -----------------------------------------------------------------------------


@pytest.mark.integration
def test_governance_transaction_replayed_on_another_chain_is_refused(tmp_path: Any) -> None:
    """EIP-155: a transaction signed for chain A is refused by chain B, though B holds the same
    registry at the same address, the same accounts and the same nonce."""
    from web3 import Web3

    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import anvil

    with (
        anvil(chain_id=31337, log_path=tmp_path / "a.log") as node_a,
        anvil(chain_id=4242, log_path=tmp_path / "b.log") as node_b,
    ):
        key = node_a.private_keys[0]
        assert node_b.private_keys[0] == key
        w3a, w3b = Web3(Web3.HTTPProvider(node_a.rpc_url)), Web3(Web3.HTTPProvider(node_b.rpc_url))
        dep_a, dep_b = deploy_registry(w3a, key), deploy_registry(w3b, key)
        assert (dep_a.chain_id, dep_b.chain_id) == (31337, 4242)
        assert dep_a.registry == dep_b.registry

        gov_a = RegistryClient(w3a, dep_a, key)
        gov_b = RegistryClient(w3b, dep_b)
        newcomer = Account.from_key(node_a.private_keys[5]).address
        pending = gov_a.send("addGovernor", newcomer)
        gov_a.wait(pending)
        assert pending.chain_id == 31337
        assert gov_a.is_governor(newcomer)

        sender = Account.from_key(key).address
        nonce_b = w3b.eth.get_transaction_count(sender)
        assert nonce_b == pending.nonce, "B must be at the same nonce, or the test proves nothing"
        with pytest.raises(Exception) as refused_on_b:
            w3b.eth.send_raw_transaction(pending.raw)
        assert "invalid chain id" in str(refused_on_b.value).lower()
        assert not gov_b.is_governor(newcomer)
        assert w3b.eth.get_transaction_count(sender) == nonce_b
        assert gov_b.governor_count() == 1

        # control: the same fields signed for chain B are accepted there (only the id differed)
        fields = dict(pending.fields)
        fields["chainId"] = 4242
        resigned = Account.sign_transaction(fields, key).raw_transaction
        w3b.eth.wait_for_transaction_receipt(w3b.eth.send_raw_transaction(resigned))
        assert gov_b.is_governor(newcomer)

        # and the ledger itself refuses to sign for a node serving another chain
        misdirected = RegistryClient(w3b, dep_a, key)
        with pytest.raises(ChainIdMismatch) as mismatch:
            misdirected.remove_governor(newcomer)
        assert (mismatch.value.expected, mismatch.value.actual) == (31337, 4242)
        assert gov_b.is_governor(newcomer)
