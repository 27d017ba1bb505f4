"""Typed bindings of `TalentProofRegistry` for the operator (governance) and the issuer.

::

    client = RegistryClient(w3, Deployment.load("data/deployment.json"), operator_key)
    issuer_id = client.register_issuer("HKU", "did:web:hku.hk", [issuer_account])
    client.add_signing_key(issuer_id, ed25519_public_key)
    client.grant_credential_type(issuer_id, "DegreeCredential")

Every write is signed locally (`talentproof.ledger.tx.TxSender`), checks the chain id against the
deployment record first, waits for `confirmations`, and raises the typed custom error on revert
(`talentproof.ledger.errors`). Calldata, results and events come from the ABI. The reads (``call``,
the typed views such as ``issuer`` or ``credential_status``, blocks, events) are the ledger's
shared registry access (`talentproof.ledger._internal.web3views.Web3Registry`, as the issuer's
`RegistryLink` reads); this module adds the operator's account, the writes and `TxReceipt`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from talentproof.ledger._internal.views import (
    as_bytes32,
    as_did_hash,
    as_query,
    as_type_id,
    checksum_address,
)
from talentproof.ledger._internal.web3views import Web3Registry
from talentproof.ledger.chain import as_web3, did_hash
from talentproof.ledger.deploy import Deployment
from talentproof.ledger.errors import ChainIdMismatch, LedgerError
from talentproof.ledger.models import CredentialVerdict, DecodedEvent
from talentproof.ledger.tx import FeeConfig, PendingTx, TxSender

__all__ = ["RegistryClient", "TxReceipt", "as_bytes32", "as_type_id", "did_hash"]


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a governance status change needs a non-empty reason")
    return reason


@dataclass(frozen=True)
class TxReceipt:
    """A mined, successful registry transaction and the registry events it emitted."""

    tx_hash: str
    block_number: int
    block_hash: bytes
    gas_used: int
    events: tuple[DecodedEvent, ...]

    def event(self, name: str) -> DecodedEvent:
        """The first event called `name` (raises `LookupError` if absent)."""
        for ev in self.events:
            if ev.name == name:
                return ev
        raise LookupError(f"transaction {self.tx_hash} emitted no {name} event")


class RegistryClient(Web3Registry):
    """Reads and writes `TalentProofRegistry` at `deployment.registry`.

    Args:
        w3: a `web3.Web3` or an RPC URL.
        deployment: the deployment record (chain id and address).
        operator_key: private key signing writes; None makes a read-only client.
        confirmations: blocks a write waits for (1 = mined).
        fees: fee policy (legacy zero gas price, EIP-1559 tips...).
        timeout: seconds a write waits before `TransactionTimeout`.
        abi: the registry ABI; default from the compiled artifact.
    """

    def __init__(
        self,
        w3: Any,
        deployment: Deployment,
        operator_key: str | bytes | None = None,
        *,
        confirmations: int = 1,
        fees: FeeConfig | None = None,
        timeout: float = 120.0,
        abi: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(as_web3(w3), deployment.registry, abi=abi)
        self.deployment = deployment
        self.first_block = deployment.deployment_block
        #: the registry address (= `registry`)
        self.address = self.registry
        #: the operator's account signing writes; None for a read-only client
        self.sender: TxSender | None = None
        if operator_key is not None:
            self.sender = self.tx_sender(
                operator_key,
                expected_chain_id=deployment.chain_id,
                fees=fees,
                confirmations=confirmations,
                timeout=timeout,
            )

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The operator account signing writes."""
        return self._sender().address

    def _sender(self) -> TxSender:
        if self.sender is None:
            raise LedgerError("this RegistryClient is read-only: pass operator_key to write")
        return self.sender

    def check_chain(self) -> None:
        """Raise `ChainIdMismatch` unless the node serves the deployment's chain."""
        actual = self.chain_id()
        if actual != self.deployment.chain_id:
            raise ChainIdMismatch(
                self.deployment.chain_id, actual, context=f"registry {self.address}"
            )

    def prepare(self, function: str, *args: Any) -> dict[str, Any]:
        """The unsigned transaction fields (``to``, ``data``) calling `function(*args)`."""
        return {"to": self.address, "data": self.calldata(function, *args)}

    def send(self, function: str, *args: Any, gas: int | None = None) -> PendingTx:
        """Sign and send a call of `function`; returns at once (see `wait`, `replace`)."""
        return self._sender().send(self.prepare(function, *args), label=function, gas=gas)

    def wait(
        self, pending: PendingTx, *, confirmations: int | None = None, timeout: float | None = None
    ) -> TxReceipt:
        """Wait for `pending` (or its replacement); decoded events, or the typed revert."""
        receipt = self._sender().wait(pending, confirmations=confirmations, timeout=timeout)
        return self._receipt(receipt)

    def replace(self, pending: PendingTx, *, cancel: bool = False) -> PendingTx:
        """Re-send `pending` with the same nonce and bumped fees (or cancel it)."""
        return self._sender().replace(pending, cancel=cancel)

    def transact(self, function: str, *args: Any) -> TxReceipt:
        """`send` then `wait`."""
        return self.wait(self.send(function, *args))

    def eth_call(self, tx: dict[str, Any], block: int | str, label: str) -> bytes:
        """``eth_call`` from the operator's account (anonymous for a read-only client); a
        revert raises the typed custom error."""
        if self.sender is not None:
            return self.sender.call(tx, block, label=label)
        return super().eth_call(tx, block, label)

    def _receipt(self, receipt: Any) -> TxReceipt:
        return TxReceipt(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            gas_used=int(receipt["gasUsed"]),
            events=tuple(self.receipt_events(receipt)),
        )

    # -- governance ---------------------------------------------------------------------------

    def add_governor(self, account: str) -> TxReceipt:
        """Make `account` a governor (admin only)."""
        return self.transact("addGovernor", checksum_address(account))

    def remove_governor(self, account: str) -> TxReceipt:
        """Remove governor `account` (admin only)."""
        return self.transact("removeGovernor", checksum_address(account))

    def transfer_admin(self, new_admin: str) -> TxReceipt:
        """Start the two-step admin transfer to `new_admin`."""
        return self.transact("transferAdmin", checksum_address(new_admin, "new admin"))

    def accept_admin(self) -> TxReceipt:
        """Accept the admin role (called by the pending admin)."""
        return self.transact("acceptAdmin")

    # -- issuers ------------------------------------------------------------------------------

    def register_issuer(self, name: str, did: str, accounts: Sequence[str] = ()) -> int:
        """Register an issuer with its transaction accounts; returns the new issuer id."""
        receipt = self.transact(
            "registerIssuer", name, did, [checksum_address(a) for a in accounts]
        )
        return int(receipt.event("IssuerRegistered").args["issuerId"])

    def add_issuer_account(self, issuer_id: int, account: str) -> TxReceipt:
        """Let `account` act for issuer `issuer_id`."""
        return self.transact("addIssuerAccount", issuer_id, checksum_address(account))

    def remove_issuer_account(self, issuer_id: int, account: str) -> TxReceipt:
        """Stop `account` acting for issuer `issuer_id`."""
        return self.transact("removeIssuerAccount", issuer_id, checksum_address(account))

    def add_signing_key(
        self, issuer_id: int, public_key: bytes | str, valid_from: int = 0, valid_until: int = 0
    ) -> TxReceipt:
        """Register the issuer's Ed25519 public key (32 bytes) for ``[valid_from, valid_until)``."""
        return self.transact(
            "addSigningKey",
            issuer_id,
            as_bytes32(public_key, "signing key"),
            valid_from,
            valid_until,
        )

    def revoke_signing_key(self, issuer_id: int, public_key: bytes | str) -> TxReceipt:
        """End the key's validity now (earlier anchors stay valid)."""
        return self.transact("revokeSigningKey", issuer_id, as_bytes32(public_key, "signing key"))

    def grant_credential_type(
        self,
        issuer_id: int,
        credential_type: bytes | str,
        valid_from: int = 0,
        valid_until: int = 0,
    ) -> TxReceipt:
        """Accredit the issuer for a credential type (name or id)."""
        return self.transact(
            "grantCredentialType", issuer_id, as_type_id(credential_type), valid_from, valid_until
        )

    def withdraw_credential_type(self, issuer_id: int, credential_type: bytes | str) -> TxReceipt:
        """End the issuer's accreditation for a type now."""
        return self.transact("withdrawCredentialType", issuer_id, as_type_id(credential_type))

    def suspend_issuer(self, issuer_id: int) -> TxReceipt:
        """Suspend an issuer (it can no longer anchor or revoke)."""
        return self.transact("suspendIssuer", issuer_id)

    def reinstate_issuer(self, issuer_id: int) -> TxReceipt:
        """Lift an issuer's suspension."""
        return self.transact("reinstateIssuer", issuer_id)

    def remove_issuer(self, issuer_id: int) -> TxReceipt:
        """Remove an issuer (final)."""
        return self.transact("removeIssuer", issuer_id)

    # -- anchoring and revocation -------------------------------------------------------------

    def anchor_root(self, root: bytes | str, leaf_count: int) -> TxReceipt:
        """Anchor a batch's Merkle root (the operator account must act for an active issuer)."""
        return self.transact("anchorRoot", as_bytes32(root, "Merkle root"), leaf_count)

    def revoke_batch(self, root: bytes | str) -> TxReceipt:
        """Revoke every credential of the batch `root`."""
        return self.transact("revokeBatch", as_bytes32(root, "Merkle root"))

    def revoke_credential(self, credential_hash: bytes | str) -> TxReceipt:
        """Revoke one credential (final)."""
        return self.transact("revokeCredential", as_bytes32(credential_hash, "credential hash"))

    def revoke_credentials(self, credential_hashes: Sequence[bytes | str]) -> TxReceipt:
        """Revoke several credentials at once (all or nothing)."""
        return self.transact(
            "revokeCredentials", [as_bytes32(h, "credential hash") for h in credential_hashes]
        )

    def suspend_credential(self, credential_hash: bytes | str) -> TxReceipt:
        """Suspend one credential."""
        return self.transact("suspendCredential", as_bytes32(credential_hash, "credential hash"))

    def suspend_credentials(self, credential_hashes: Sequence[bytes | str]) -> TxReceipt:
        """Suspend several credentials."""
        return self.transact(
            "suspendCredentials", [as_bytes32(h, "credential hash") for h in credential_hashes]
        )

    def reinstate_credential(self, credential_hash: bytes | str) -> TxReceipt:
        """Lift one credential's suspension."""
        return self.transact("reinstateCredential", as_bytes32(credential_hash, "credential hash"))

    def reinstate_credentials(self, credential_hashes: Sequence[bytes | str]) -> TxReceipt:
        """Lift several suspensions."""
        return self.transact(
            "reinstateCredentials", [as_bytes32(h, "credential hash") for h in credential_hashes]
        )

    def governance_revoke_batch(self, issuer_id: int, root: bytes | str, reason: str) -> TxReceipt:
        """Revoke every credential of the batch `root` of issuer `issuer_id` as governance (a
        governor key; final): for an issuer that will not revoke its own (its credentials' hashes
        are not on chain, its batches' roots are)."""
        return self.transact(
            "governanceRevokeBatch",
            int(issuer_id),
            as_bytes32(root, "Merkle root"),
            _reason(reason),
        )

    def governance_revoke_credential(
        self, issuer_id: int, credential_hash: bytes | str, reason: str
    ) -> TxReceipt:
        """Revoke a credential of issuer `issuer_id` as governance (a governor key; final)."""
        return self.transact(
            "governanceRevokeCredential",
            int(issuer_id),
            as_bytes32(credential_hash, "credential hash"),
            _reason(reason),
        )

    def governance_suspend_credential(
        self, issuer_id: int, credential_hash: bytes | str, reason: str
    ) -> TxReceipt:
        """Suspend a credential of issuer `issuer_id` as governance (only governance lifts it)."""
        return self.transact(
            "governanceSuspendCredential",
            int(issuer_id),
            as_bytes32(credential_hash, "credential hash"),
            _reason(reason),
        )

    def governance_reinstate_credential(
        self, issuer_id: int, credential_hash: bytes | str, reason: str
    ) -> TxReceipt:
        """Lift a credential's suspension as governance (whoever suspended it)."""
        return self.transact(
            "governanceReinstateCredential",
            int(issuer_id),
            as_bytes32(credential_hash, "credential hash"),
            _reason(reason),
        )

    def verify_credential(
        self,
        issuer_did: bytes | str,
        root: bytes | str,
        credential_hash: bytes | str,
        signing_key: bytes | str,
        credential_type: bytes | str,
        as_of: int = 0,
        *,
        block: int | str = "latest",
    ) -> CredentialVerdict:
        """The verification view through web3 (the verifier's fast path is `RegistryReader`).

        `issuer_did` is the credential's issuer DID or its keccak256 (see `did_hash`)."""
        query = as_query(
            as_did_hash(issuer_did), root, credential_hash, signing_key, as_type_id(credential_type)
        )
        out = self.call("verifyCredential", *query, as_of, block=block)
        return CredentialVerdict.from_struct(out)
