"""The registry's reads, one owner each, shared by the ledger's three facades.

`RegistryViews` is how any facade reads a registry view: ``call(function, *args, block=...)``
encodes the calldata with the registry's `~talentproof.ledger.abi.ContractABI`, sends one
``eth_call`` through the facade's transport (`RegistryViews.eth_call`, the one method a facade
supplies), refuses an empty answer (no registry at that address) and decodes the answer; the
typed reads (`issuer`, `anchor`, `signing_key`, `credential_type`, `credential_status`, ...)
turn it into the `ledger.models` records. The facades differ only in their transport and role:

- `talentproof.ledger.reader.RegistryReader` (the verifier's): raw JSON-RPC, with its batched
  ``verifyCredential`` fast path;
- `talentproof.ledger.link.RegistryLink` (the issuer's) and
  `talentproof.ledger.client.RegistryClient` (governance): web3 on a transport, through
  `talentproof.ledger._internal.web3views.Web3Registry`.

Beside it, the one parser of each argument form (`as_bytes32`, `as_type_id`,
`checksum_address`), the registry ABI's one default (`registry_abi`) and the one block-head
decoder (`block_head`). Nothing here imports web3 (the verifier's start-up never loads it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from eth_utils import is_address, to_checksum_address

from talentproof.ledger._internal.verdict import Query
from talentproof.ledger.abi import ContractABI
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import (
    AnchorRecord,
    BlockHead,
    CredentialStatusRecord,
    IssuerInfo,
    IssuerStatus,
    IssuerSuspension,
    SuspensionInterval,
    TimeWindow,
)

__all__ = [
    "RegistryViews",
    "as_bytes32",
    "as_did_hash",
    "as_query",
    "as_type_id",
    "block_head",
    "chain_id_answer",
    "checksum_address",
    "registry_abi",
]


def as_bytes32(value: bytes | str, what: str = "value") -> bytes:
    """Accept 32 bytes or 0x-hex of 32 bytes; raise `ValueError` naming `what` otherwise."""
    if type(value) is bytes and len(value) == 32:  # the common case, first (bytes are immutable)
        return value
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


def as_query(
    issuer_did_hash: bytes | str,
    root: bytes | str,
    credential_hash: bytes | str,
    signing_key: bytes | str,
    type_id: bytes | str,
) -> Query:
    """The five 32-byte arguments of ``verifyCredential`` before ``asOf`` (bytes or 0x-hex
    each), checked; `ValueError` naming the first that is not 32 bytes."""
    return (
        as_bytes32(issuer_did_hash, "issuer DID hash"),
        as_bytes32(root, "Merkle root"),
        as_bytes32(credential_hash, "credential hash"),
        as_bytes32(signing_key, "signing key"),
        as_bytes32(type_id, "credential type id"),
    )


def as_type_id(value: bytes | str) -> bytes:
    """A credential type: a name (``"DegreeCredential"``) or its 32-byte id."""
    return type_id(value) if _is_name(value) else as_bytes32(value, "credential type id")


def as_did_hash(value: bytes | str) -> bytes:
    """A DID (``"did:web:..."``) or its 32-byte keccak256 (bytes or 0x-hex)."""
    return did_hash(value) if _is_name(value) else as_bytes32(value, "issuer DID hash")


def _is_name(value: bytes | str) -> TypeGuard[str]:
    return isinstance(value, str) and not value.startswith("0x")


def checksum_address(value: str, what: str = "account") -> str:
    """The checksummed form of a 20-byte hex address; `ValueError` naming `what` otherwise."""
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{what} must be a 20-byte hex address, got {value!r}")
    return to_checksum_address(value)


def registry_abi(abi: Sequence[Mapping[str, Any]] | None = None) -> ContractABI:
    """The registry's `ContractABI`: ``abi``, or the compiled artifact's when None."""
    return ContractABI(load_artifact("TalentProofRegistry").abi if abi is None else abi)


def block_head(block: Any, where: str = "", what: str = "a block") -> BlockHead:
    """The `BlockHead` of a JSON-RPC block object, as the node sends it (0x-hex quantities and
    hash) or as web3 formats it (ints, a 32-byte hash). Anything else raises `ChainUnavailable`
    naming ``what`` was expected and the endpoint ``where`` it came from."""
    try:
        return BlockHead(
            _quantity(block["number"]), _block_hash(block["hash"]), _quantity(block["timestamp"])
        )
    except (TypeError, KeyError, ValueError):
        source = f" from {where}" if where else ""
        raise ChainUnavailable(
            f"eth_getBlockByNumber: expected {what} (number, hash, timestamp), "
            f"found {block!r:.200}{source}"
        ) from None


def chain_id_answer(value: Any, where: str = "") -> int:
    """An ``eth_chainId`` result as a chain id (a quantity: ``0x`` and hex digits, or an int
    from web3). Anything else (null, a text that is no quantity, an object) raises
    `ChainUnavailable` naming the endpoint ``where``: a node's answer, never a crash."""
    try:
        return _quantity(value)
    except ValueError:
        source = f" from {where}" if where else ""
        raise ChainUnavailable(
            f"eth_chainId: expected a chain id, found {value!r:.80}{source}"
        ) from None


_QUANTITY = re.compile(r"0x[0-9a-fA-F]+")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def _quantity(value: Any) -> int:
    """A JSON-RPC quantity: ``0x`` and hex digits (the node's form), or a non-negative int
    (web3's)."""
    if isinstance(value, str):
        if _QUANTITY.fullmatch(value):
            return int(value, 16)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(value)


def _block_hash(value: Any) -> str:
    """A block hash: ``0x`` and 64 hex digits (kept as sent), or 32 bytes (web3's form)."""
    if isinstance(value, str):
        if _HASH.fullmatch(value):
            return value
    elif isinstance(value, bytes | bytearray) and len(value) == 32:
        return "0x" + bytes(value).hex()
    raise ValueError(value)


class RegistryViews:
    """The registry's views, typed, over one ``eth_call`` (`eth_call`) of the subclass's
    transport. A subclass sets `registry` (checksummed) and `abi` (`registry_abi`)."""

    #: the registry contract address, checksummed
    registry: str
    #: the registry ABI: calldata, answers, events and custom errors
    abi: ContractABI

    def eth_call(self, tx: dict[str, Any], block: int | str, label: str) -> bytes:
        """The raw answer of ``eth_call`` of ``tx`` at ``block`` (what a facade supplies);
        ``label`` names the function in errors."""
        raise NotImplementedError

    def calldata(self, function: str, *args: Any) -> bytes:
        """The calldata of the registry's ``function(*args)`` (for a transaction's ``data``)."""
        return bytes(self.abi.function(function).encode(*args))

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        """``eth_call`` of the registry's ``function(*args)`` at ``block``, decoded (one output
        as its value, a struct as its fields by name, for `ledger.models`' ``from_struct``).
        No answer from a function with outputs raises `LedgerError` (no registry there)."""
        fn = self.abi.function(function)
        data = self.eth_call({"to": self.registry, "data": fn.encode(*args)}, block, function)
        if not data and fn.outputs:
            raise LedgerError(
                f"{function} returned no data: is the registry at {self.registry} on this chain?"
            )
        return fn.decode(data)

    # -- governance ---------------------------------------------------------------------------

    def admin(self) -> str:
        """The admin account."""
        return str(self.call("admin"))

    def pending_admin(self) -> str:
        """The pending admin of a started transfer (zero address if none)."""
        return str(self.call("pendingAdmin"))

    def is_governor(self, account: str) -> bool:
        """True if `account` is a governor."""
        return bool(self.call("isGovernor", checksum_address(account)))

    def governor_count(self) -> int:
        """Number of governors."""
        return int(self.call("governorCount"))

    # -- issuers, keys and types --------------------------------------------------------------

    def issuer(self, issuer_id: int) -> IssuerInfo:
        """The issuer record (``registered_at`` 0 when no issuer holds the id)."""
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
        value = int(self.call("issuerOfAccount", checksum_address(account)))
        return value or None

    def issuer_accounts(self, issuer_id: int) -> list[str]:
        """The accounts acting for issuer `issuer_id`."""
        return list(self.call("issuerAccounts", issuer_id))

    def issuer_status_at(self, issuer_id: int, t: int) -> IssuerStatus:
        """The issuer's status at time `t`."""
        return IssuerStatus(int(self.call("issuerStatusAt", issuer_id, t)))

    def signing_key(self, issuer_id: int, public_key: bytes | str) -> TimeWindow:
        """The validity window of a signing key (zeros: never registered)."""
        return TimeWindow.from_struct(
            self.call("signingKey", issuer_id, as_bytes32(public_key, "signing key"))
        )

    def is_key_valid_at(self, issuer_id: int, public_key: bytes | str, t: int) -> bool:
        """Whether the key was valid for the issuer at time `t`."""
        return bool(self.call("isKeyValidAt", issuer_id, as_bytes32(public_key, "signing key"), t))

    def credential_type(self, issuer_id: int, credential_type: bytes | str) -> TimeWindow:
        """The accreditation window for a type, by name or id (zeros: never granted)."""
        return TimeWindow.from_struct(
            self.call("credentialType", issuer_id, as_type_id(credential_type))
        )

    def is_accredited_at(self, issuer_id: int, credential_type: bytes | str, t: int) -> bool:
        """Whether the issuer was accredited for the type at time `t`."""
        return bool(self.call("isAccreditedAt", issuer_id, as_type_id(credential_type), t))

    # -- anchors and credential statuses ------------------------------------------------------

    def anchor(
        self, issuer_id: int, root: bytes | str, block: int | str = "latest"
    ) -> AnchorRecord | None:
        """Issuer `issuer_id`'s anchor record of `root` at ``block``, or None if it never
        anchored it."""
        record = AnchorRecord.from_struct(
            self.call("anchor", int(issuer_id), as_bytes32(root, "Merkle root"), block=block)
        )
        return record if record.anchored else None

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
