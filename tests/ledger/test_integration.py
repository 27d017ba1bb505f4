"""The same integration suite against real Anvil AND real Ganache (``deployed_chain``)."""

from __future__ import annotations

import threading

import pytest
from eth_account import Account
from eth_utils import keccak

from talentproof.ledger.errors import ContractRevert, TransactionTimeout, revert_class
from talentproof.ledger.models import IssuerStatus, StatusActor
from talentproof.ledger.reader import RegistryReader, did_hash, type_id
from talentproof.ledger.tx import PendingTx, TxSender

pytestmark = pytest.mark.integration

ROOT = keccak(b"integration-batch")
CRED = keccak(b"integration-credential")


def test_deploy_governance_anchor_revoke_and_reader(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    assert reg.w3.eth.get_code(reg.deployment.registry)
    assert reg.deployment.chain_id == reg.node.chain_id
    iss = reg.setup_issuer(types=("DegreeCredential", "OpenBadgeCredential"))
    assert reg.governor.issuer(iss.issuer_id).status is IssuerStatus.ACTIVE
    receipt = iss.client.anchor_root(ROOT, 8)
    assert receipt.event("RootAnchored").args["issuerId"] == iss.issuer_id

    reader = RegistryReader(reg.rpc_url, reg.deployment.registry)
    assert reader.chain_id() == reg.deployment.chain_id
    verdict = reader.verify_credential(
        did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential")
    )
    assert verdict.anchor.issuer_id == iss.issuer_id and verdict.anchor.leaf_count == 8
    assert verdict.issuer_name == iss.name and verdict.issuer_did == iss.did
    assert (
        verdict.issuer_status is IssuerStatus.ACTIVE
        and verdict.issuer_status_at_anchor is IssuerStatus.ACTIVE
    )
    assert verdict.key_registered and verdict.key_valid_at_anchor
    assert verdict.type_granted and verdict.type_accredited_at_anchor
    assert not (verdict.credential_revoked or verdict.credential_suspended or verdict.batch_revoked)
    block = reg.w3.eth.get_block(verdict.block_number)
    assert (
        verdict.block_hash == bytes(block["hash"]) and verdict.block_timestamp == block["timestamp"]
    )
    # the same view through web3 agrees field by field (except the block hash only the reader adds)
    via_web3 = iss.client.verify_credential(
        iss.did, ROOT, CRED, iss.signing_key, "DegreeCredential"
    )
    assert via_web3.anchor == verdict.anchor and via_web3.issuer_name == verdict.issuer_name
    # a type never granted and a key never registered
    other = reader.verify_credential(
        did_hash(iss.did), ROOT, CRED, b"\x99" * 32, type_id("EmploymentCredential")
    )
    assert not other.key_registered and not other.type_granted
    assert reader.anchor(iss.issuer_id, ROOT) == iss.client.anchor(iss.issuer_id, ROOT)
    assert reader.anchor(iss.issuer_id, keccak(b"never")) is None

    iss.client.revoke_credential(CRED)
    after = reader.verify_credential(
        did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential")
    )
    assert after.credential_revoked and after.credential_status.revoked_at > 0
    assert after.block_number > verdict.block_number
    # pinned at the earlier block, the old answer comes back
    pinned = reader.verify_credential(
        did_hash(iss.did),
        ROOT,
        CRED,
        iss.signing_key,
        type_id("DegreeCredential"),
        block=verdict.block_number,
    )
    assert not pinned.credential_revoked and pinned.block_hash == verdict.block_hash
    iss.client.revoke_batch(ROOT)
    assert reader.verify_credential(
        did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential")
    ).batch_revoked
    reg.governor.suspend_issuer(iss.issuer_id)
    assert reader.verify_credential(
        did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential")
    ).issuer_status is (IssuerStatus.SUSPENDED)
    names = [e.name for e in reg.governor.events()]
    assert (
        names.count("RootAnchored") == 1
        and "CredentialRevoked" in names
        and "IssuerSuspended" in names
    )


def test_typed_reverts_from_a_real_node(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    iss = reg.setup_issuer()
    iss.client.anchor_root(ROOT, 1)
    with pytest.raises(revert_class("AnchorAlreadyAnchored")) as info:
        iss.client.anchor_root(ROOT, 1)
    assert info.value.args_dict == {"root": ROOT}
    account = Account.from_key(iss.account_key).address
    with pytest.raises(revert_class("IssuerAccountAlreadyAssigned")) as dup:
        reg.governor.add_issuer_account(iss.issuer_id, account)
    assert dup.value.args_dict == {"account": account, "issuerId": iss.issuer_id}
    # mined with status 0 (no estimation): the replayed call names the error
    pending = iss.client.send("anchorRoot", ROOT, 1, gas=300_000)
    with pytest.raises(ContractRevert) as mined:
        iss.client.wait(pending)
    assert mined.value.error_name == "AnchorAlreadyAnchored"


def test_confirmations_are_awaited(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    iss = reg.setup_issuer()
    pending = iss.client.send("anchorRoot", ROOT, 3)
    with pytest.raises(TransactionTimeout, match="waiting for 3 confirmations"):
        iss.client.wait(pending, confirmations=3, timeout=0.3)
    reg.w3.provider.make_request("evm_mine", [])
    with pytest.raises(TransactionTimeout):
        iss.client.wait(pending, confirmations=3, timeout=0.3)
    reg.w3.provider.make_request("evm_mine", [])
    receipt = iss.client.wait(pending, confirmations=3, timeout=10)
    assert reg.w3.eth.block_number >= receipt.block_number + 2


def test_concurrent_senders_from_one_account(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    iss = reg.setup_issuer()
    roots = [keccak(f"root-{i}".encode()) for i in range(12)]
    pendings: list[PendingTx] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(chunk: list[bytes]) -> None:
        try:
            for r in chunk:
                p = iss.client.send("anchorRoot", r, 1)
                with lock:
                    pendings.append(p)
        except BaseException as exc:  # pragma: no cover - asserted below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(roots[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    nonces = sorted(p.nonce for p in pendings)
    assert nonces == list(range(nonces[0], nonces[0] + len(roots)))
    for p in pendings:
        iss.client.wait(p)
    assert all(iss.client.anchor(iss.issuer_id, r) is not None for r in roots)


def test_operator_signs_locally_never_with_node_accounts(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    """A key the node does not know (not one of its dev accounts) can write once funded."""
    reg = deployed_chain
    outsider = Account.create()
    funder = TxSender(reg.w3, reg.governor_key)
    funder.wait(funder.send({"to": outsider.address, "value": 10**18}))
    assert outsider.address not in reg.w3.eth.accounts
    iss = reg.setup_issuer(account_key="0x" + bytes(outsider.key).hex())
    receipt = iss.client.anchor_root(ROOT, 2)
    tx = reg.w3.eth.get_transaction(receipt.tx_hash)
    assert tx["from"] == outsider.address


def test_reader_refuses_an_address_without_the_registry(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    from talentproof.ledger.errors import LedgerError

    reg = deployed_chain
    reader = RegistryReader(reg.rpc_url, "0x" + "42" * 20)
    with pytest.raises(LedgerError, match="returned no data"):
        reader.verify_credential(ROOT, ROOT, CRED, ROOT, ROOT)
    assert not reader.code_present()
    assert RegistryReader(reg.rpc_url, reg.deployment.registry).code_present()
    with pytest.raises(ValueError, match="must be 32 bytes"):
        RegistryReader(reg.rpc_url, reg.deployment.registry).verify_credential(
            ROOT, b"x", CRED, ROOT, ROOT
        )
    with pytest.raises(ValueError, match="http"):
        RegistryReader("ws://127.0.0.1:1", reg.deployment.registry)


def test_reader_is_shared_by_threads(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    iss = reg.setup_issuer()
    iss.client.anchor_root(ROOT, 4)
    reader = RegistryReader(reg.rpc_url, reg.deployment.registry)
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            v = reader.verify_credential(
                did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential")
            )
            with lock:
                results.append((v.anchor, v.block_number, v.block_hash))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and len(set(results)) == 1


def test_front_running_a_pending_anchor_blocks_nothing_on_anvil(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    """Issuer B sees issuer A's anchorRoot pending and sends the same root with a higher tip
    (mined first, same block). A's anchoring still succeeds; A's credential verifies as A's."""
    reg = deployed_anvil
    a = reg.setup_issuer("A University", "did:web:a.example")
    b = reg.setup_issuer("B Squatter", "did:web:b.example")
    w3 = reg.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        pending_a = a.client.send("anchorRoot", ROOT, 8)
        b_tx = b.client.prepare("anchorRoot", ROOT, 1)
        assert b.client.sender is not None
        pending_b = b.client.sender.send(b_tx, label="anchorRoot (front-run)")
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipt_b = b.client.wait(pending_b)
    receipt_a = a.client.wait(pending_a)
    assert receipt_a.block_number == receipt_b.block_number
    assert receipt_a.event("RootAnchored").args["issuerId"] == a.issuer_id
    reader = RegistryReader(reg.rpc_url, reg.deployment.registry)
    v = reader.verify_credential(
        did_hash(a.did), ROOT, CRED, a.signing_key, type_id("DegreeCredential")
    )
    assert (v.issuer_id, v.anchor.issuer_id, v.anchor.leaf_count) == (a.issuer_id, a.issuer_id, 8)
    assert v.issuer_did == a.did and v.key_valid_at_anchor and v.type_accredited_at_anchor
    assert reader.anchor(b.issuer_id, ROOT).leaf_count == 1  # type: ignore[union-attr]


def test_governance_status_changes_and_history_through_the_reader(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_chain
    iss = reg.setup_issuer()
    iss.client.anchor_root(ROOT, 4)
    gov = reg.governor
    reader = RegistryReader(reg.rpc_url, reg.deployment.registry)

    def read(as_of: int = 0):  # type: ignore[no-untyped-def]
        return reader.verify_credential(
            did_hash(iss.did), ROOT, CRED, iss.signing_key, type_id("DegreeCredential"), as_of
        )

    def later() -> None:  # distinct block times (several transactions may share a second)
        reg.w3.provider.make_request("evm_increaseTime", [10])

    later()
    r1 = gov.governance_suspend_credential(iss.issuer_id, CRED, "under investigation")
    ev = r1.event("CredentialSuspendedByGovernance").args
    assert (ev["governor"], ev["reason"]) == (gov.account, "under investigation")
    v = read()
    assert v.credential_suspended and v.credential_suspended_by is StatusActor.GOVERNANCE
    with pytest.raises(revert_class("AnchorCredentialSuspendedByGovernance")):
        iss.client.reinstate_credential(CRED)
    with pytest.raises(ValueError, match="reason"):
        gov.governance_reinstate_credential(iss.issuer_id, CRED, "  ")
    later()
    r2 = gov.governance_reinstate_credential(iss.issuer_id, CRED, "cleared")
    later()
    iss.client.suspend_credential(CRED)  # a second interval, by the issuer
    t1 = reg.w3.eth.get_block(r1.block_number)["timestamp"]
    t2 = reg.w3.eth.get_block(r2.block_number)["timestamp"]
    inside = read(t1)
    assert inside.credential_suspended and inside.credential_suspended_by is StatusActor.GOVERNANCE
    assert inside.credential_suspended_since == t1
    assert not read(t2).credential_suspended
    assert read().credential_suspended_by is StatusActor.ISSUER
    past = gov.credential_suspensions(iss.issuer_id, CRED)
    assert [(p.suspended_at, p.reinstated_at, p.suspended_by) for p in past] == [
        (t1, t2, StatusActor.GOVERNANCE)
    ]
    gov.governance_revoke_credential(iss.issuer_id, CRED, "fraud")
    v = read()
    assert v.credential_revoked and v.credential_revoked_by is StatusActor.GOVERNANCE
    assert gov.issuer_id_of_did(iss.did) == iss.issuer_id
