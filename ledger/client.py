"""Typed bindings of `TalentProofRegistry` for the operator (governance) and the issuer.

::

    client = RegistryClient(w3, Deployment.load("data/deployment.json"), operator_key)
    issuer_id = client.register_issuer("HKU", "did:web:hku.hk", [issuer_account])
    client.add_signing_key(issuer_id, ed25519_public_key)
    client.grant_credential_type(issuer_id, "DegreeCredential")

Every write is signed locally (`talentproof.ledger.tx.TxSender`), checks the chain id against the
deployment record first, waits for `confirmations`, and raises the typed custom error on revert
(`talentproof.ledger.errors`). Calldata, results and events come from the ABI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

from talentproof.ledger.abi import ContractABI
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import as_web3, did_hash, type_id
from talentproof.ledger.deploy import REGISTRY_CONTRACT, Deployment
from talentproof.ledger.errors import ChainIdMismatch, LedgerError, revert_data_from
from talentproof.ledger.models import (
    AnchorRecord,
    CredentialStatusRecord,
    CredentialVerdict,
    DecodedEvent,
    IssuerInfo,
    IssuerStatus,
    IssuerSuspension,
    SuspensionInterval,
    TimeWindow,
)
from talentproof.ledger.tx import FeeConfig, PendingTx, TxSender, endpoint_of, rpc_guard

__all__ = ["RegistryClient", "TxReceipt", "as_bytes32", "as_type_id", "did_hash"]


def as_did_hash(value: bytes | str) -> bytes:
    """A DID (``"did:web:..."``) or its 32-byte keccak256 (bytes or 0x-hex)."""
    if isinstance(value, str) and not value.startswith("0x"):
        return did_hash(value)
    return as_bytes32(value, "issuer DID hash")


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a governance status change needs a non-empty reason")
    return reason


def as_bytes32(value: bytes | str, what: str = "value") -> bytes:
    """Accept 32 bytes or 0x-hex of 32 bytes; raise `ValueError` naming `what` otherwise."""
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"{what} must be 32 bytes hex, got {value!r}") from None
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        raise ValueError(f"{what} must be 32 bytes, got {type(value).__name__}")
    if len(raw) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def as_type_id(value: bytes | str) -> bytes:
    """A credential type: a name (``"DegreeCredential"``) or its 32-byte id."""
    if isinstance(value, str) and not value.startswith("0x"):
        return type_id(value)
    return as_bytes32(value, "credential type id")


def _address(value: str, what: str = "account") -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{what} must be a 20-byte hex address, got {value!r}")
    return to_checksum_address(value)


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


class RegistryClient:
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
        self.w3 = as_web3(w3)
        self.deployment = deployment
        self.address = deployment.registry
        if abi is None:
            abi = load_artifact(REGISTRY_CONTRACT).abi
        self.abi = ContractABI(abi)
        self._endpoint = endpoint_of(self.w3)
        self.sender: TxSender | None = None
        if operator_key is not None:
            self.sender = TxSender(
                self.w3,
                operator_key,
                expected_chain_id=deployment.chain_id,
                fees=fees,
                error_decoder=self.abi.errors,
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
        with rpc_guard("eth_chainId", self._endpoint):
            actual = int(self.w3.eth.chain_id)
        if actual != self.deployment.chain_id:
            raise ChainIdMismatch(
                self.deployment.chain_id, actual, context=f"registry {self.address}"
            )

    def prepare(self, function: str, *args: Any) -> dict[str, Any]:
        """The unsigned transaction fields (``to``, ``data``) calling `function(*args)`."""
        fn = self.abi.function(function)
        return {"to": self.address, "data": fn.encode(*args)}

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

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        """``eth_call`` a view; reverts raise the typed custom error."""
        fn = self.abi.function(function)
        tx = {"to": self.address, "data": fn.encode(*args)}
        if self.sender is not None:
            data = self.sender.call(tx, block, label=function)
        else:
            data = self._call_anonymous(tx, block, function)
        if not data and fn.outputs:
            with rpc_guard("eth_getCode", self._endpoint):
                code = bytes(self.w3.eth.get_code(self.address))
            if not code:
                raise LedgerError(
                    f"no contract code at {self.address} on chain {self.deployment.chain_id}: "
                    "is the deployment record current?"
                )
        return fn.decode(data)

    def _call_anonymous(self, tx: dict[str, Any], block: int | str, label: str) -> bytes:
        with rpc_guard(f"eth_call {label}", self._endpoint):
            try:
                return bytes(self.w3.eth.call(tx, block))
            except LedgerError:
                raise
            except Exception as exc:
                decoded = self.abi.errors.decode(revert_data_from(exc), function=label)
                if decoded is not None:
                    raise decoded from None
                raise

    def _receipt(self, receipt: Any) -> TxReceipt:
        return TxReceipt(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            gas_used=int(receipt["gasUsed"]),
            events=tuple(self.abi.decode_logs(receipt["logs"], self.address)),
        )

    # -- events -------------------------------------------------------------------------------

    def events(
        self,
        name: str | None = None,
        from_block: int | None = None,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[DecodedEvent]:
        """Registry events in ``[from_block, to_block]`` (default: since deployment), decoded
        strictly: a log of the registry that the ABI cannot decode raises `LedgerError`.

        `filters` match indexed arguments of event `name`, e.g. ``events("RootAnchored", issuerId=1)``.
        """
        topics = self.abi.log_topics([] if name is None else [name], **filters)
        start = self.deployment.deployment_block if from_block is None else from_block
        params: dict[str, Any] = {"address": self.address, "fromBlock": start, "toBlock": to_block}
        if topics:
            params["topics"] = topics
        with rpc_guard("eth_getLogs", self._endpoint):
            logs = self.w3.eth.get_logs(params)
        return self.abi.decode_logs(logs, self.address)

    # -- governance ---------------------------------------------------------------------------

    def admin(self) -> str:
        """The admin account."""
        return str(self.call("admin"))

    def pending_admin(self) -> str:
        """The pending admin of a started transfer (zero address if none)."""
        return str(self.call("pendingAdmin"))

    def is_governor(self, account: str) -> bool:
        """True if `account` is a governor."""
        return bool(self.call("isGovernor", _address(account)))

    def governor_count(self) -> int:
        """Number of governors."""
        return int(self.call("governorCount"))

    def add_governor(self, account: str) -> TxReceipt:
        """Make `account` a governor (admin only)."""
        return self.transact("addGovernor", _address(account))

    def remove_governor(self, account: str) -> TxReceipt:
        """Remove governor `account` (admin only)."""
        return self.transact("removeGovernor", _address(account))

    def transfer_admin(self, new_admin: str) -> TxReceipt:
        """Start the two-step admin transfer to `new_admin`."""
        return self.transact("transferAdmin", _address(new_admin, "new admin"))

    def accept_admin(self) -> TxReceipt:
        """Accept the admin role (called by the pending admin)."""
        return self.transact("acceptAdmin")

    # -- issuers ------------------------------------------------------------------------------

    def register_issuer(self, name: str, did: str, accounts: Sequence[str] = ()) -> int:
        """Register an issuer with its transaction accounts; returns the new issuer id."""
        receipt = self.transact("registerIssuer", name, did, [_address(a) for a in accounts])
        return int(receipt.event("IssuerRegistered").args["issuerId"])

    def add_issuer_account(self, issuer_id: int, account: str) -> TxReceipt:
        """Let `account` act for issuer `issuer_id`."""
        return self.transact("addIssuerAccount", issuer_id, _address(account))

    def remove_issuer_account(self, issuer_id: int, account: str) -> TxReceipt:
        """Stop `account` acting for issuer `issuer_id`."""
        return self.transact("removeIssuerAccount", issuer_id, _address(account))

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

    def issuer(self, issuer_id: int) -> IssuerInfo:
        """The issuer record."""
        return IssuerInfo.from_struct(self.call("issuer", issuer_id), issuer_id=issuer_id)

    def issuer_count(self) -> int:
        """Number of registered issuers (ids run from 1)."""
        return int(self.call("issuerCount"))

    def issuers(self) -> list[IssuerInfo]:
        """Every registered issuer, by id."""
        return [self.issuer(i) for i in range(1, self.issuer_count() + 1)]

    def issuer_id_of_did(self, did: str) -> int | None:
        """The issuer registered with exactly `did`, or None."""
        value = int(self.call("issuerIdOfDid", did))
        return value or None

    def issuer_suspensions(self, issuer_id: int) -> list[IssuerSuspension]:
        """The issuer's closed suspension intervals before its last suspension, in time order."""
        return [IssuerSuspension.from_struct(x) for x in self.call("issuerSuspensions", issuer_id)]

    def issuer_of_account(self, account: str) -> int | None:
        """The issuer id `account` acts for, or None."""
        value = int(self.call("issuerOfAccount", _address(account)))
        return value or None

    def issuer_accounts(self, issuer_id: int) -> list[str]:
        """The accounts acting for issuer `issuer_id`."""
        return list(self.call("issuerAccounts", issuer_id))

    def signing_key(self, issuer_id: int, public_key: bytes | str) -> TimeWindow:
        """The validity window of a signing key (zeros: never registered)."""
        return TimeWindow.from_struct(
            self.call("signingKey", issuer_id, as_bytes32(public_key, "signing key"))
        )

    def credential_type(self, issuer_id: int, credential_type: bytes | str) -> TimeWindow:
        """The accreditation window for a type (zeros: never granted)."""
        return TimeWindow.from_struct(
            self.call("credentialType", issuer_id, as_type_id(credential_type))
        )

    def is_key_valid_at(self, issuer_id: int, public_key: bytes | str, t: int) -> bool:
        """Whether the key was valid for the issuer at time `t`."""
        return bool(self.call("isKeyValidAt", issuer_id, as_bytes32(public_key, "signing key"), t))

    def is_accredited_at(self, issuer_id: int, credential_type: bytes | str, t: int) -> bool:
        """Whether the issuer was accredited for the type at time `t`."""
        return bool(self.call("isAccreditedAt", issuer_id, as_type_id(credential_type), t))

    def issuer_status_at(self, issuer_id: int, t: int) -> IssuerStatus:
        """The issuer's status at time `t`."""
        return IssuerStatus(int(self.call("issuerStatusAt", issuer_id, t)))

    # -- anchoring and revocation -------------------------------------------------------------

    def anchor_root(self, root: bytes | str, leaf_count: int) -> TxReceipt:
        """Anchor a batch's Merkle root (the operator account must act for an active issuer)."""
        return self.transact("anchorRoot", as_bytes32(root, "Merkle root"), leaf_count)

    def anchor(self, issuer_id: int, root: bytes | str) -> AnchorRecord | None:
        """Issuer `issuer_id`'s anchor record of `root`, or None if it never anchored it."""
        record = AnchorRecord.from_struct(
            self.call("anchor", int(issuer_id), as_bytes32(root, "Merkle root"))
        )
        return record if record.anchored else None

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

    def credential_suspensions(
        self, issuer_id: int, credential_hash: bytes | str
    ) -> list[SuspensionInterval]:
        """The credential's closed suspension intervals before its last one, in time order."""
        return [
            SuspensionInterval.from_struct(x)
            for x in self.call(
                "credentialSuspensions", issuer_id, as_bytes32(credential_hash, "credential hash")
            )
        ]

    def credential_status(
        self, issuer_id: int, credential_hash: bytes | str
    ) -> CredentialStatusRecord:
        """The issuer's status record for a credential."""
        return CredentialStatusRecord.from_struct(
            self.call("credentialStatus", issuer_id, as_bytes32(credential_hash, "credential hash"))
        )

    def credential_status_at(
        self, issuer_id: int, credential_hash: bytes | str, t: int
    ) -> tuple[bool, bool]:
        """``(revoked, suspended)`` of a credential at time `t` for its issuer."""
        out = self.call(
            "credentialStatusAt", issuer_id, as_bytes32(credential_hash, "credential hash"), t
        )
        return bool(out["revoked"]), bool(out["suspended"])

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
        out = self.call(
            "verifyCredential",
            as_did_hash(issuer_did),
            as_bytes32(root, "Merkle root"),
            as_bytes32(credential_hash, "credential hash"),
            as_bytes32(signing_key, "signing key"),
            as_type_id(credential_type),
            as_of,
            block=block,
        )
        return CredentialVerdict.from_struct(out)
