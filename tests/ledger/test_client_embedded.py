"""RegistryClient, TxSender and deployment on the in-process EVM (fast unit tests)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from talentproof.ledger.abi import ContractABI
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import load_private_key, type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment, deploy_registry, ensure_deployed
from talentproof.ledger.errors import (
    ChainIdMismatch,
    ContractRevert,
    DeploymentError,
    LedgerError,
    TransactionFailed,
    revert_class,
)
from talentproof.ledger.models import IssuerStatus
from talentproof.ledger.tx import PendingTx, TxSender

ROOT = keccak(b"batch-1")
OTHER_ROOT = keccak(b"batch-2")
CRED = keccak(b"credential-1")


def test_type_id_is_keccak_of_the_name() -> None:
    assert type_id("DegreeCredential") == keccak(text="DegreeCredential")
    assert type_id("DegreeCredential").hex() == keccak(b"DegreeCredential").hex()
    with pytest.raises(ValueError, match="credential type name"):
        type_id("")


def test_register_issuer_and_views(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    gov = reg.governor
    assert gov.admin() == Account.from_key(reg.governor_key).address
    assert gov.is_governor(gov.account) and gov.governor_count() == 1
    acct = Account.from_key(reg.keys[1]).address
    first = gov.register_issuer("HKU", "did:web:hku.hk", [acct])
    second = gov.register_issuer("CUHK", "did:web:cuhk.edu.hk", [])
    assert (first, second) == (1, 2)
    info = gov.issuer(first)
    assert (info.issuer_id, info.name, info.did, info.status) == (
        1,
        "HKU",
        "did:web:hku.hk",
        IssuerStatus.ACTIVE,
    )
    assert info.registered_at > 0 and info.active
    assert [i.name for i in gov.issuers()] == ["HKU", "CUHK"]
    assert gov.issuer_of_account(acct) == 1
    assert gov.issuer_of_account(Account.from_key(reg.keys[2]).address) is None
    assert gov.issuer_accounts(first) == [acct]
    gov.add_issuer_account(second, Account.from_key(reg.keys[2]).address)
    assert gov.issuer_of_account(Account.from_key(reg.keys[2]).address) == 2
    gov.remove_issuer_account(second, Account.from_key(reg.keys[2]).address)
    assert gov.issuer_of_account(Account.from_key(reg.keys[2]).address) is None


def test_keys_types_and_issuer_lifecycle(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    iss = reg.setup_issuer(types=("DegreeCredential", "EmploymentCredential"))
    gov = reg.governor
    window = gov.signing_key(iss.issuer_id, iss.signing_key)
    assert window.registered and window.valid_until == 0
    assert gov.credential_type(iss.issuer_id, "EmploymentCredential").registered
    assert gov.credential_type(iss.issuer_id, type_id("EmploymentCredential")).registered
    assert not gov.credential_type(iss.issuer_id, "OpenBadgeCredential").registered
    now = reg.w3.eth.get_block("latest")["timestamp"]
    assert gov.is_key_valid_at(iss.issuer_id, iss.signing_key, now)
    assert gov.is_accredited_at(iss.issuer_id, "DegreeCredential", now)
    gov.withdraw_credential_type(iss.issuer_id, "EmploymentCredential")
    assert gov.credential_type(iss.issuer_id, "EmploymentCredential").valid_until > 0
    gov.revoke_signing_key(iss.issuer_id, iss.signing_key)
    assert gov.signing_key(iss.issuer_id, iss.signing_key).valid_until > 0
    gov.suspend_issuer(iss.issuer_id)
    assert gov.issuer(iss.issuer_id).status is IssuerStatus.SUSPENDED
    gov.reinstate_issuer(iss.issuer_id)
    assert gov.issuer(iss.issuer_id).status is IssuerStatus.ACTIVE
    gov.remove_issuer(iss.issuer_id)
    removed = gov.issuer(iss.issuer_id)
    assert removed.status is IssuerStatus.REMOVED and removed.removed_at > 0
    assert gov.issuer_status_at(iss.issuer_id, now) is IssuerStatus.ACTIVE


def test_governors_and_admin_transfer(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    gov = reg.governor
    other_key = reg.fresh_key()
    other = Account.from_key(other_key).address
    gov.add_governor(other)
    assert gov.is_governor(other) and gov.governor_count() == 2
    # the new governor can register issuers
    assert reg.client(other_key).register_issuer("HKUST", "did:web:hkust.edu.hk", []) == 1
    gov.remove_governor(other)
    assert not gov.is_governor(other)
    gov.transfer_admin(other)
    assert gov.pending_admin() == other
    reg.client(other_key).accept_admin()
    assert gov.admin() == other


def test_anchor_revoke_and_verification_view(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    iss = reg.setup_issuer()
    receipt = iss.client.anchor_root(ROOT, 4)
    ev = receipt.event("RootAnchored")
    assert ev.args == {"root": ROOT, "issuerId": iss.issuer_id, "leafCount": 4}
    record = iss.client.anchor(iss.issuer_id, ROOT)
    assert record is not None and record.issuer_id == iss.issuer_id and record.leaf_count == 4
    assert record.block_number == receipt.block_number
    assert iss.client.anchor(iss.issuer_id, OTHER_ROOT) is None
    verdict = iss.client.verify_credential(iss.did, ROOT, CRED, iss.signing_key, "DegreeCredential")
    assert verdict.anchored and verdict.issuer_name == iss.name and verdict.key_valid_at_anchor
    assert verdict.type_accredited_at_anchor and not verdict.credential_revoked
    iss.client.suspend_credential(CRED)
    now = reg.w3.eth.get_block("latest")["timestamp"]
    assert iss.client.credential_status_at(iss.issuer_id, CRED, now) == (False, True)
    assert iss.client.verify_credential(
        iss.did, ROOT, CRED, iss.signing_key, "DegreeCredential"
    ).credential_suspended
    iss.client.reinstate_credential(CRED)
    iss.client.revoke_credential(CRED)
    status = iss.client.credential_status(iss.issuer_id, CRED)
    assert status.revoked_at > 0 and status.suspension_count == 1
    assert iss.client.verify_credential(
        iss.did, ROOT, CRED, iss.signing_key, "DegreeCredential"
    ).credential_revoked
    others = [keccak(b"c2"), keccak(b"c3")]
    iss.client.suspend_credentials(others)
    iss.client.reinstate_credentials(others)
    iss.client.revoke_credentials(others)
    now = reg.w3.eth.get_block("latest")["timestamp"]
    assert iss.client.credential_status_at(iss.issuer_id, others[1], now) == (True, False)
    iss.client.revoke_batch(ROOT)
    assert iss.client.anchor(iss.issuer_id, ROOT).revoked  # type: ignore[union-attr]
    assert iss.client.verify_credential(
        iss.did, ROOT, keccak(b"x"), iss.signing_key, "DegreeCredential"
    ).batch_revoked


def test_typed_reverts_carry_error_name_and_args(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    from talentproof.ledger.errors import (  # type: ignore[attr-defined]
        AnchorAlreadyAnchored,
        AnchorUnauthorizedAccount,
        GovernanceUnauthorizedGovernor,
    )

    reg = deployed_embedded
    iss = reg.setup_issuer()
    iss.client.anchor_root(ROOT, 2)
    with pytest.raises(AnchorAlreadyAnchored) as info:
        iss.client.anchor_root(ROOT, 2)
    assert info.value.args_dict["root"] == ROOT
    assert "anchorRoot" in str(info.value) and "AnchorAlreadyAnchored" in str(info.value)
    stranger_key = reg.fresh_key()
    stranger = reg.client(stranger_key)
    with pytest.raises(GovernanceUnauthorizedGovernor) as gov_info:
        stranger.register_issuer("Fake U", "did:web:fake.example", [])
    assert gov_info.value.args_dict == {"account": Account.from_key(stranger_key).address}
    with pytest.raises(AnchorUnauthorizedAccount):
        stranger.anchor_root(OTHER_ROOT, 1)
    with pytest.raises(revert_class("AnchorEmptyBatch")):
        iss.client.anchor_root(OTHER_ROOT, 0)
    reg.governor.suspend_issuer(iss.issuer_id)
    with pytest.raises(revert_class("AnchorIssuerNotActive")) as inactive:
        iss.client.anchor_root(OTHER_ROOT, 1)
    assert inactive.value.args_dict == {
        "issuerId": iss.issuer_id,
        "status": int(IssuerStatus.SUSPENDED),
    }


def test_status_zero_transaction_raises_the_decoded_error(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    """Sent without estimation (gas given), the revert happens on chain and is replayed."""
    reg = deployed_embedded
    iss = reg.setup_issuer()
    iss.client.anchor_root(ROOT, 2)
    pending = iss.client.send("anchorRoot", ROOT, 2, gas=200_000)
    with pytest.raises(ContractRevert) as info:
        iss.client.wait(pending)
    assert info.value.error_name == "AnchorAlreadyAnchored"
    receipt = reg.w3.eth.get_transaction_receipt(pending.tx_hash)
    assert receipt["status"] == 0
    out_of_gas = iss.client.send("anchorRoot", OTHER_ROOT, 2, gas=30_000)
    with pytest.raises(TransactionFailed, match="status 0"):
        iss.client.wait(out_of_gas)


def test_events_are_decoded_and_filtered(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    a = reg.setup_issuer("A", "did:web:a.example")
    b = reg.setup_issuer("B", "did:web:b.example")
    a.client.anchor_root(ROOT, 1)
    b.client.anchor_root(OTHER_ROOT, 3)
    gov = reg.governor
    anchored = gov.events("RootAnchored")
    assert [(e.args["root"], e.args["issuerId"]) for e in anchored] == [
        (ROOT, a.issuer_id),
        (OTHER_ROOT, b.issuer_id),
    ]
    only_b = gov.events("RootAnchored", issuerId=b.issuer_id)
    assert [e.args["leafCount"] for e in only_b] == [3]
    by_root = gov.events("RootAnchored", root=ROOT)
    assert [e.args["issuerId"] for e in by_root] == [a.issuer_id]
    names = [e.name for e in gov.events()]
    assert names.count("IssuerRegistered") == 2 and names.count("RootAnchored") == 2
    assert "GovernorAdded" in names
    with pytest.raises(ValueError, match="no indexed argument"):
        gov.events("RootAnchored", leafCount=3)
    with pytest.raises(ValueError, match="no event"):
        gov.events("NoSuchEvent")


def test_log_topics_of_several_events_filter_one_argument_at_its_position() -> None:
    """`ContractABI.log_topics`, the one filter builder (RegistryClient.events, the issuer's
    status and key-revocation scans): any of several events, an indexed argument filtered at
    its topic position, which must be the same in every event named."""
    abi = ContractABI(load_artifact("TalentProofRegistry").abi)
    one = "0x" + (7).to_bytes(32, "big").hex()
    revoked, suspended = (abi.event(n) for n in ("CredentialRevoked", "CredentialSuspended"))
    assert abi.log_topics(["CredentialRevoked", "CredentialSuspended"], issuerId=7) == [
        ["0x" + revoked.topic0.hex(), "0x" + suspended.topic0.hex()],
        [one],
    ]
    # issuerId follows the root in a batch's events: the second indexed argument
    batch = abi.log_topics(["BatchRevoked", "BatchRevokedByGovernance"], issuerId=7)
    assert batch[1] is None and batch[2] == [one], batch
    assert abi.log_topics(["RootAnchored"]) == ["0x" + abi.event("RootAnchored").topic0.hex()]
    with pytest.raises(ValueError, match="not at the same topic position"):
        abi.log_topics(["CredentialRevoked", "BatchRevoked"], issuerId=7)
    with pytest.raises(ValueError, match="no indexed argument"):
        abi.log_topics(["RootAnchored"], leafCount=3)
    with pytest.raises(ValueError, match="need an event name"):
        abi.log_topics([], issuerId=7)


def test_strict_log_decoding_refuses_unknown_logs() -> None:
    abi = ContractABI(load_artifact("TalentProofRegistry").abi)
    with pytest.raises(LedgerError, match="unknown topic"):
        abi.decode_log([keccak(text="Unknown(uint256)")], bytes(32))
    event = abi.event("RootAnchored")
    with pytest.raises(LedgerError, match="does not match"):
        abi.decode_log([event.topic0], bytes(32))  # indexed topics missing


def test_nonce_manager_under_concurrent_threads(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    key = reg.fresh_key()
    sender = TxSender(reg.w3, key, expected_chain_id=reg.deployment.chain_id)
    start = reg.w3.eth.get_transaction_count(sender.address)
    sent: list[PendingTx] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(5):
                p = sender.send({"to": reg.deployment.deployer, "value": 1})
                with lock:
                    sent.append(p)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(p.nonce for p in sent) == list(range(start, start + 20))
    for p in sent:
        assert sender.wait(p)["status"] == 1
    assert reg.w3.eth.get_transaction_count(sender.address) == start + 20


def test_nonce_manager_resyncs_after_external_sends(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    key = reg.fresh_key()
    a = TxSender(reg.w3, key)
    b = TxSender(reg.w3, key)  # another process using the same account
    a.wait(a.send({"to": reg.deployment.deployer, "value": 1}))
    b.wait(b.send({"to": reg.deployment.deployer, "value": 1}))
    # a's cached nonce is stale now: the node refuses it, a resyncs and retries
    p = a.send({"to": reg.deployment.deployer, "value": 1})
    assert a.wait(p)["status"] == 1
    assert p.nonce == reg.w3.eth.get_transaction_count(a.address) - 1


def test_chain_id_mismatch_refuses_writes_before_signing(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    wrong = Deployment.from_json({**reg.deployment.to_json(), "chainId": 424242})
    client = RegistryClient(reg.w3, wrong, reg.governor_key)
    before = reg.w3.eth.get_transaction_count(client.account)
    with pytest.raises(ChainIdMismatch) as info:
        client.register_issuer("X", "did:web:x.example", [])
    assert info.value.expected == 424242 and info.value.actual == reg.deployment.chain_id
    assert reg.w3.eth.get_transaction_count(client.account) == before
    with pytest.raises(ChainIdMismatch):
        client.check_chain()


def test_pending_tx_json_roundtrip(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_embedded
    iss = reg.setup_issuer()
    pending = iss.client.send("anchorRoot", ROOT, 5)
    restored = PendingTx.from_json(json.loads(json.dumps(pending.to_json())))
    assert restored.tx_hash == pending.tx_hash and restored.raw == pending.raw
    assert (
        restored.nonce == pending.nonce
        and restored.fields["data"] == "0x" + pending.fields["data"].hex()
    )
    receipt = iss.client.wait(restored)
    assert receipt.event("RootAnchored").args["leafCount"] == 5
    with pytest.raises(LedgerError, match="malformed pending transaction"):
        PendingTx.from_json({"txHash": "0x00"})


def test_deployment_record_roundtrip(tmp_path: Path, deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    dep = deployed_embedded.deployment
    path = dep.save(tmp_path / "sub" / "deployment.json")
    data = json.loads(path.read_text())
    assert set(data) == {
        "chainId",
        "registry",
        "deploymentBlock",
        "deployer",
        "compiler",
        "artifacts",
        "deployedAt",
    }
    assert data["artifacts"]["TalentProofRegistry"].startswith("sha256:")
    assert data["compiler"] == load_artifact("TalentProofRegistry").compiler
    assert data["deployedAt"].endswith("Z")
    assert Deployment.load(path) == dep
    with pytest.raises(DeploymentError, match="lacks registry"):
        Deployment.from_json({"chainId": 1, "deploymentBlock": 1, "deployer": dep.deployer})
    with pytest.raises(DeploymentError, match="registry must be"):
        Deployment.from_json({**data, "registry": "0x1234"})
    with pytest.raises(DeploymentError, match="no deployment record"):
        Deployment.load(tmp_path / "missing.json")


def test_ensure_deployed_reuses_then_redeploys(tmp_path: Path, embedded_chain) -> None:  # type: ignore[no-untyped-def]
    w3, key = embedded_chain.w3, embedded_chain.private_keys[3]
    record = tmp_path / "deployment.json"
    first = ensure_deployed(w3, key, record)
    nonce = w3.eth.get_transaction_count(first.deployer)
    again = ensure_deployed(w3, key, record)
    assert again == first and w3.eth.get_transaction_count(first.deployer) == nonce  # nothing sent
    # a record pointing at an address without the registry (e.g. a fresh chain): deploy anew
    stale = Deployment.from_json({**first.to_json(), "registry": "0x" + "11" * 20})
    stale.save(record)
    third = ensure_deployed(w3, key, record)
    assert third.registry != first.registry and Deployment.load(record) == third


def test_deploy_registry_makes_the_deployer_admin(embedded_chain) -> None:  # type: ignore[no-untyped-def]
    dep = deploy_registry(embedded_chain.w3, embedded_chain.private_keys[4])
    client = RegistryClient(embedded_chain.w3, dep)
    assert (
        client.admin() == dep.deployer == Account.from_key(embedded_chain.private_keys[4]).address
    )
    assert client.is_governor(dep.deployer)
    with pytest.raises(LedgerError, match="read-only"):
        client.register_issuer("X", "did:web:x", [])


def test_bad_arguments_name_what_was_expected(deployed_embedded) -> None:  # type: ignore[no-untyped-def]
    gov = deployed_embedded.governor
    with pytest.raises(ValueError, match="Merkle root must be 32 bytes"):
        gov.anchor_root(b"short", 1)
    with pytest.raises(ValueError, match="account must be a 20-byte hex address"):
        gov.add_issuer_account(1, "0xnothex")


def test_load_private_key_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "0x" + "ab" * 32
    monkeypatch.delenv("TALENTPROOF_OPERATOR_KEY", raising=False)
    assert load_private_key(key=key[2:]) == key
    f = tmp_path / "key"
    f.write_text(key + "\n")
    assert load_private_key(key_file=f) == key
    monkeypatch.setenv("TALENTPROOF_OPERATOR_KEY", key.upper().replace("0X", "0x"))
    assert load_private_key() == key
    monkeypatch.delenv("TALENTPROOF_OPERATOR_KEY")
    with pytest.raises(LedgerError, match="no operator key"):
        load_private_key()
    with pytest.raises(LedgerError, match="not a 32-byte hex private key"):
        load_private_key(key="0x1234")
