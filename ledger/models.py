"""Typed, immutable views of the registry's structs (mirroring contracts/interfaces/*.sol).

Field names are the Solidity names in snake_case. `from_struct` builds one from a decoded ABI
tuple (a mapping by Solidity name, or a sequence in declaration order), so the ABI stays the
source of truth: a struct whose fields do not match raises `LedgerError` naming the field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Self, TypeVar

from talentproof.ledger.errors import LedgerError

__all__ = [
    "AnchorRecord",
    "BlockHead",
    "CredentialStatusRecord",
    "CredentialVerdict",
    "DecodedEvent",
    "IssuerInfo",
    "IssuerStatus",
    "IssuerSuspension",
    "StatusActor",
    "SuspensionInterval",
    "TimeWindow",
    "TypeAccreditation",
    "camel",
    "snake",
]


def snake(name: str) -> str:
    """``registeredAt`` -> ``registered_at``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    """``registered_at`` -> ``registeredAt``."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class IssuerStatus(enum.IntEnum):
    """``enum IssuerStatus { None, Active, Suspended, Removed }``."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class StatusActor(enum.IntEnum):
    """``enum StatusActor { None, Issuer, Governance }``: who changed a credential's status."""

    NONE = 0
    ISSUER = 1
    GOVERNANCE = 2


T = TypeVar("T", bound="_Struct")


class _Struct:
    """Mixin: build a frozen dataclass from a decoded ABI struct."""

    _nested: ClassVar[dict[str, type[_Struct]]] = {}

    @classmethod
    def from_struct(cls, value: Mapping[str, Any] | Sequence[Any], **extra: Any) -> Self:
        all_fields = [f for f in fields(cls) if f.name not in extra]  # type: ignore[arg-type]
        optional = {f.name for f in all_fields if f.default is not MISSING}
        names = [f.name for f in all_fields]
        if isinstance(value, Mapping):
            by_name = {snake(str(k)): v for k, v in value.items()}
        elif hasattr(value, "_asdict"):
            by_name = {snake(str(k)): v for k, v in value._asdict().items()}
        else:
            seq = list(value)
            names = [n for n in names if n not in optional] if len(seq) < len(names) else names
            if len(seq) != len(names):
                raise LedgerError(
                    f"{cls.__name__}: expected {len(names)} struct fields, the ABI decoded {len(seq)}"
                )
            by_name = dict(zip(names, seq, strict=True))
        kwargs: dict[str, Any] = {}
        for name in names:
            if name not in by_name:
                if name in optional:
                    continue
                raise LedgerError(f"{cls.__name__}: the ABI struct has no field {camel(name)!r}")
            raw = by_name[name]
            nested = cls._nested.get(name)
            if nested is not None:
                raw = nested.from_struct(raw)
            elif name.endswith(("status", "status_at_anchor", "status_as_of")):
                raw = IssuerStatus(int(raw)) if not isinstance(raw, _Struct) else raw
            elif name.endswith(("_by",)):
                raw = StatusActor(int(raw))
            elif isinstance(raw, bytearray):
                raw = bytes(raw)
            kwargs[name] = raw
        return cls(**kwargs, **extra)


@dataclass(frozen=True)
class IssuerInfo(_Struct):
    """``IssuerRecord`` plus its id."""

    issuer_id: int
    name: str
    did: str
    status: IssuerStatus
    registered_at: int
    suspended_at: int
    reinstated_at: int
    removed_at: int

    @property
    def active(self) -> bool:
        """True when the issuer may anchor and revoke."""
        return self.status is IssuerStatus.ACTIVE


@dataclass(frozen=True)
class AnchorRecord(_Struct):
    """``AnchorRecord``: who anchored a root, when; ``issuer_id == 0`` means never anchored."""

    issuer_id: int
    leaf_count: int
    block_number: int
    anchored_at: int
    revoked_at: int

    @property
    def anchored(self) -> bool:
        """True if the root was anchored."""
        return self.issuer_id != 0

    @property
    def revoked(self) -> bool:
        """True if the whole batch was revoked."""
        return self.revoked_at != 0


@dataclass(frozen=True)
class TimeWindow(_Struct):
    """A ``[valid_from, valid_until)`` window (``valid_until == 0``: open ended)."""

    valid_from: int
    valid_until: int

    @property
    def registered(self) -> bool:
        """True if the key/type was ever registered (a window exists)."""
        return self.valid_from != 0

    def contains(self, t: int) -> bool:
        """True if `t` lies in the window."""
        return (
            self.registered
            and self.valid_from <= t
            and (self.valid_until == 0 or t < self.valid_until)
        )

    def open_at(self, t: int) -> bool:
        """True if registered and not ended by `t` (open, or scheduled to open: a grant
        governance can still withdraw)."""
        return self.registered and (self.valid_until == 0 or t < self.valid_until)


@dataclass(frozen=True)
class CredentialStatusRecord(_Struct):
    """``CredentialStatusRecord``: revocation and last suspension of one credential, with who
    revoked and who suspended (earlier suspensions: `SuspensionInterval`)."""

    revoked_at: int
    suspended_at: int
    reinstated_at: int
    suspension_count: int
    suspended: bool
    revoked_by: StatusActor = StatusActor.NONE
    suspended_by: StatusActor = StatusActor.NONE


@dataclass(frozen=True)
class SuspensionInterval(_Struct):
    """A closed suspension interval ``[suspended_at, reinstated_at)`` of a credential."""

    suspended_at: int
    reinstated_at: int
    suspended_by: StatusActor

    def contains(self, t: int) -> bool:
        """True if `t` lies in the interval."""
        return self.suspended_at <= t < self.reinstated_at


@dataclass(frozen=True)
class IssuerSuspension(_Struct):
    """A closed suspension interval ``[suspended_at, reinstated_at)`` of an issuer."""

    suspended_at: int
    reinstated_at: int


@dataclass(frozen=True)
class CredentialVerdict(_Struct):
    """``CredentialVerdict`` of ``verifyCredential``, plus the hash of the block it was read at."""

    anchor: AnchorRecord
    issuer_name: str
    issuer_did: str
    issuer_status: IssuerStatus
    issuer_status_at_anchor: IssuerStatus
    key_registered: bool
    key_valid_from: int
    key_valid_until: int
    key_valid_at_anchor: bool
    type_granted: bool
    type_valid_from: int
    type_valid_until: int
    type_accredited_at_anchor: bool
    credential_revoked: bool
    credential_suspended: bool
    credential_status: CredentialStatusRecord
    batch_revoked: bool
    as_of: int
    block_number: int
    block_timestamp: int
    issuer_id: int = 0
    credential_revoked_by: StatusActor = StatusActor.NONE
    credential_suspended_by: StatusActor = StatusActor.NONE
    credential_suspended_since: int = 0
    issuer_status_as_of: IssuerStatus = IssuerStatus.NONE
    block_hash: bytes = b""
    #: Not in the view's struct: the issuer's level-scoped accreditations of the credential's
    #: type, each read by `RegistryReader` in the same call at the same block (empty: none read).
    type_scopes: tuple[TypeAccreditation, ...] = ()
    #: Not in the view's struct: the reason governance gave for the credential's suspension in
    #: force (its ``CredentialSuspendedByGovernance`` event), read by `RegistryReader` for a
    #: credential governance suspended (None: another suspension, or the event not read).
    credential_suspended_reason: str | None = None

    _nested: ClassVar[dict[str, type[_Struct]]] = {
        "anchor": AnchorRecord,
        "credential_status": CredentialStatusRecord,
    }

    @property
    def anchored(self) -> bool:
        """True if the root was anchored."""
        return self.anchor.anchored


@dataclass(frozen=True, slots=True)
class BlockHead:
    """A block as `reader.RegistryReader.head` and `link.RegistryLink` read it."""

    number: int
    hash: str  # 0x-hex
    timestamp: int  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class TypeAccreditation:
    """One more type id's window for a verdict's issuer, read with it (at its block, against its
    anchor): a level-scoped accreditation such as ``DegreeCredential#level=bachelor``."""

    name: str
    granted: bool
    valid_from: int
    valid_until: int
    accredited_at_anchor: bool


@dataclass(frozen=True)
class DecodedEvent:
    """One registry event log, decoded with the ABI."""

    name: str
    args: Mapping[str, Any]
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int
    address: str
