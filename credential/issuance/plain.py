"""The plain issuance path: build, validate and sign one credential (or a batch, row by row).

This is the reference `talentproof.credential.issuance.template` is differential-tested against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import integrity as _integrity
from .. import jcs as _jcs
from .. import keys as _keys
from .. import types as _types
from ..claims import subject_fact_problems
from ..errors import CredentialError, SchemaValidationError
from ..schemas import SCHEMA_IDS
from ..text import same_name
from ..types import CREDENTIALS_V2, OB3_CONTEXT, TALENTPROOF_CONTEXT
from ..validation import validate_credential

__all__ = [
    "BOUND_PARTY",
    "CONTEXTS",
    "KINDS",
    "REQUEST_FIELDS",
    "CredentialIds",
    "FactError",
    "IssuerIdentity",
    "Result",
    "Signer",
    "bind_subject",
    "build_credential",
    "check_facts",
    "credential_document",
    "issue_credential",
    "issue_plain",
    "new_credential_id",
    "new_credential_ids",
    "new_seed",
    "request_fields_check",
    "status_entries",
]

#: One row's outcome: (row, credential id or None, JCS bytes, hash, error field, error message).
Result = tuple[int, "str | None", bytes, bytes, str, str]

KINDS: tuple[str, ...] = _types.KINDS

#: The ``@context`` of each kind's credentials.
CONTEXTS: dict[str, list[str]] = {
    _types.DEGREE: [CREDENTIALS_V2, TALENTPROOF_CONTEXT],
    _types.EMPLOYMENT: [CREDENTIALS_V2, TALENTPROOF_CONTEXT],
    _types.OPEN_BADGE: [CREDENTIALS_V2, OB3_CONTEXT, TALENTPROOF_CONTEXT],  # person, anchor terms
}

#: Where a subject names the issuing institution itself: (kind, outer key, party key).
BOUND_PARTY: dict[str, tuple[str, str]] = {
    _types.DEGREE: ("degree", "institution"),
    _types.EMPLOYMENT: ("employment", "employer"),
}


class FactError(SchemaValidationError):
    """An impossible or future fact (`talentproof.credential.claims`), naming its field."""

    def __init__(self, field: str, message: str) -> None:
        CredentialError.__init__(self, f"{field}: {message}")
        self.field = field
        self.expected = message
        self.found = None


#: `text.same_name`, cached: pure, and a bulk job compares the same few names on every row
_same_name = lru_cache(maxsize=1024)(same_name)


def _registered_name_expected(identity: IssuerIdentity) -> str:
    return (
        f"the issuing institution's registered name {identity.name!r} (another "
        "institution cannot be named: it attests for itself)"
    )


def _check_party(field: str, party: dict[str, Any], identity: IssuerIdentity) -> tuple[Any, Any]:
    """``party`` (the institution a subject names) is the issuer itself: its ``id``, when given,
    the issuer's DID and its ``name``, when given, the registered one (case, punctuation and
    whitespace aside). Returns the given ``(id, name)`` (None when absent). Raises
    `SchemaValidationError` naming ``<field>.id`` or ``<field>.name``."""
    given_id = party.get("id")
    if given_id is not None and given_id != identity.did:
        raise SchemaValidationError(
            f"{field}.id", f"the issuing institution's own DID {identity.did}", given_id
        )
    name = party.get("name")
    if name is not None and (
        not isinstance(name, str) or (name != identity.name and not _same_name(name, identity.name))
    ):
        raise SchemaValidationError(f"{field}.name", _registered_name_expected(identity), name)
    return given_id, name


def _check_creator(subject: dict[str, Any], identity: IssuerIdentity) -> None:
    """An Open Badge achievement's ``creator`` (an Open Badges Profile, or its IRI), when given,
    is the issuing institution itself: its ``id`` the issuer's DID and its ``name`` the
    registered one (as `bind_subject` binds a degree's institution), and nothing else the
    registry cannot vouch for (`types.unvouched_creator_members`: a ``url``, an ``image``, ...).
    Nothing is filled in: a badge need not state a creator. Raises `SchemaValidationError`
    naming the field."""
    achievement = subject.get("achievement")
    creator = achievement.get("creator") if isinstance(achievement, dict) else None
    if creator is None:
        return
    field = "credentialSubject.achievement.creator"
    if isinstance(creator, str):
        creator = {"id": creator}
    if not isinstance(creator, dict):
        raise SchemaValidationError(
            field, "a Profile of the issuing institution itself (its id and name)", creator
        )
    _check_party(field, creator, identity)
    for member in _types.unvouched_creator_members(creator):
        # (the verifier's check 6 refuses it: a site, a logo, ... the registry never recorded)
        raise SchemaValidationError(
            f"{field}.{member}",
            "only the institution's own id and name (and type Profile): the registry vouches "
            f"only for its DID and registered name and cannot vouch for {member!r}; omit it",
            creator[member],
        )


def bind_subject(
    kind: str, subject: dict[str, Any], identity: IssuerIdentity, *, owned: bool = False
) -> dict[str, Any]:
    """The subject with its institution bound to the issuer: ``degree.institution`` of a
    DegreeCredential and ``employment.employer`` of an EmploymentCredential describe the
    issuing institution itself, so their ``id`` is set to its DID and their ``name`` filled
    with its registered name when absent. Raises `SchemaValidationError` naming
    ``...institution.id`` / ``...employer.id`` when another identifier is given, or ``.name``
    when a name differs from the registered one (case, punctuation and whitespace aside): no
    third party attests for another institution (docs/threat-model.md). Returns ``subject``
    itself when nothing changes, else a new dict (the request is never modified). Subjects of
    the wrong shape are left to the schema. An Open Badge's ``achievement.creator``, when
    given, must be the issuing institution likewise (`_check_creator`; nothing is filled).

    ``owned``: the caller owns ``subject`` (parsed for this call, never seen by another), so the
    binding is written into it and ``subject`` itself returned, equal to what the copies give;
    nothing is written when it raises. Why: the bulk signing loop binds every row, and the three
    copies cost ~0.3 us of ~0.45 (tests/credential/test_claims_fast.py compares the two)."""
    if kind == _types.OPEN_BADGE:
        _check_creator(subject, identity)
        return subject
    spec = BOUND_PARTY.get(kind)
    if spec is None:
        return subject
    outer_key, party_key = spec
    outer = subject.get(outer_key)
    if not isinstance(outer, dict):
        return subject
    party = outer.get(party_key)
    if party is None:
        party = {}
    if not isinstance(party, dict):
        return subject
    given_id, name = _check_party(f"credentialSubject.{outer_key}.{party_key}", party, identity)
    if given_id is not None and name is not None:
        return subject
    if owned:
        if outer.get(party_key) is None:
            party = outer[party_key] = {}
        party["id"] = identity.did
        if name is None:
            party["name"] = identity.name
        return subject
    bound = dict(party)
    bound["id"] = identity.did
    if name is None:
        bound["name"] = identity.name
    return {**subject, outer_key: {**outer, party_key: bound}}


def check_facts(kind: str, subject: Any, today: dt.date) -> None:
    """Raises `FactError` for the first impossible or future fact of the subject
    (`claims.subject_fact_problems`: calendar-invalid dates, award or start dates after
    ``today``, an end before its start...)."""
    if not isinstance(subject, dict):
        return
    problems = subject_fact_problems(kind, subject, today)
    if problems:
        first = problems[0]
        raise FactError(first.field, first.message)


@dataclass(frozen=True, slots=True)
class IssuerIdentity:
    """The issuing institution as it appears in its credentials."""

    did: str
    name: str
    status_base_url: str  # .../institutions/<slug>/status


class Signer:
    """An Ed25519 key with its verification method (kept in memory only, never logged)."""

    __slots__ = ("key", "multibase", "public_raw", "verification_method")

    def __init__(self, seed: bytes, did: str) -> None:
        self.key = _keys.Ed25519SigningKey.from_seed(seed)
        self.public_raw: bytes = self.key.public_key.raw
        self.multibase: str = self.key.public_key.multibase
        self.verification_method = f"{did}#{self.multibase}"

    def __repr__(self) -> str:
        return f"Signer({self.verification_method!r})"


def new_seed() -> tuple[bytes, bytes, str]:
    """A fresh key: (seed, raw public key, publicKeyMultibase)."""
    key = _keys.Ed25519SigningKey.generate()
    return key.seed, key.public_key.raw, key.public_key.multibase


def status_entries(identity: IssuerIdentity, index: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{identity.status_base_url}/{purpose}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": f"{identity.status_base_url}/{purpose}",
        }
        for purpose in ("revocation", "suspension")
    ]


# -- credential ids --------------------------------------------------------------------------

# RFC 9562 variant bits (10xx) on rand_b's first byte
_VARIANT_BYTE = bytes(0x80 | (b & 0x3F) for b in range(256))
_RAND_B, _VARIANT = (1 << 62) - 1, 1 << 63  # the same on the 64 bits of variant and rand_b
_ID_SIZE = len("urn:uuid:00000000-0000-7000-8000-000000000000")
# where each of the 32 hex digits goes in an id
_DIGIT_AT = [9 + j + (j >= 8) + (j >= 12) + (j >= 16) + (j >= 20) for j in range(32)]
# the 4,096 counter values as 3 hex digits each, one after the other
_COUNTER_DIGITS = "".join(f"{c:03x}" for c in range(4096)).encode("ascii")
# below this many ids one formatted string per id is the cheaper way
_BY_COLUMN_FROM = 64


class CredentialIds:
    """Credential ids: ``urn:uuid:`` UUIDs of version 7 (RFC 9562 section 5.7), monotonic
    within this generator (section 6.2, method 1: a 12-bit counter in ``rand_a``).

    Each id holds the Unix time in milliseconds (48 bits), the version 7, a counter (12 bits),
    the variant and 62 random bits (``rand_b``). In a new millisecond the counter starts at a
    random value below 2,048 (its leftmost bit clear: 2,048 ids at least before it rolls over);
    within one it counts up by one an id; past 4,095 it rolls over into the next millisecond
    (the timestamp runs ahead of the clock, as section 6.2 allows; it takes 4,096 ids in a
    millisecond to get there). A clock that goes back never makes an id smaller than the last.

    Why version 7 (issue 17.2): ids that grow with time are appended to the unique index on
    ``credentials.id``; version 4's random ids landed on most of its leaf pages at every bulk
    commit, a cost per credential that grew with the table. What an id reveals: the moment the
    credential was issued, to the millisecond (``validFrom`` already states the issuance time to
    the second), and the order of ids issued by one process.

    JCS: `talentproof.credential.jcs` detects its slow cases outside strings only, so no id
    sends a credential to the slow path. (Version 4 ids used to start with a letter because an
    earlier detection read a digit followed by ``e`` or ``.`` anywhere as a float.) A version 7
    id starts ``0`` then ``1`` (until 2039) ... ``d``: no digit is followed by ``e`` or ``.``
    before the year 2457 (tests/credential/test_credential_ids.py checks both).

    Thread-safe; a process keeps one (`new_credential_ids`), whose state a forked child
    continues: ids of two processes in the same millisecond differ by their random bits.
    """

    __slots__ = ("_last", "_lock")

    def __init__(self) -> None:
        self._last = -1  # the last (Unix ms << 12 | counter) handed out
        self._lock = threading.Lock()

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    def take(
        self,
        count: int,
        *,
        random: bytes | None = None,
        by_id: bool = False,
        now_ms: int | None = None,
    ) -> list[str]:
        """``count`` new ids, in increasing order, after every id this generator gave.

        ``random``: these ``2 + 8 * count`` bytes instead of ``os.urandom``'s (the counter's
        start in a new millisecond, then ``rand_b`` of each id); ``now_ms``: this Unix time in
        milliseconds instead of the clock's (both for tests). ``by_id``: the reference (one
        formatted string per id); from 64 ids the same ids are written column by column.
        """
        if count < 0:
            raise ValueError(f"count: expected a number of ids >= 0, found {count}")
        if random is None:
            random = os.urandom(2 + 8 * count)
        elif len(random) != 2 + 8 * count:
            raise ValueError(f"random: expected {2 + 8 * count} bytes, found {len(random)}")
        if now_ms is None:
            now_ms = time.time_ns() // 1_000_000
        elif not 0 <= now_ms < 1 << 48:
            raise ValueError(f"now_ms: expected a Unix time in ms in [0, 2**48), found {now_ms}")
        if count == 0:
            return []
        with self._lock:
            last = self._last
            start = last + 1
            if now_ms > last >> 12:  # a new millisecond: the counter starts at random
                start = now_ms << 12 | (random[0] << 8 | random[1]) & 0x7FF
            end = start + count - 1
            if end >> 60:
                raise ValueError("now_ms: the 48-bit UUIDv7 timestamp is exhausted (year 10889)")
            self._last = end
        if count >= _BY_COLUMN_FROM and not by_id:
            return _ids_by_column(start, random, count)
        return _ids_by_id(start, random, count)


def _ids_by_id(start: int, random: bytes, count: int) -> list[str]:
    """The reference: id ``i`` is tick ``start + i`` (Unix ms << 12 | counter) and bytes
    ``2 + 8i`` to ``10 + 8i`` of ``random`` as ``rand_b``, one formatted string per id."""
    out = []
    ms, head = -1, ""
    for i in range(count):
        tick = start + i
        if tick >> 12 != ms:
            ms = tick >> 12
            h = f"{ms:012x}"
            head = f"urn:uuid:{h[:8]}-{h[8:]}-7"
        rand_b = f"{int.from_bytes(random[2 + 8 * i : 10 + 8 * i]) & _RAND_B | _VARIANT:016x}"
        out.append(f"{head}{tick & 0xFFF:03x}-{rand_b[:4]}-{rand_b[4:]}")
    return out


def _ids_by_column(start: int, random: bytes, count: int) -> list[str]:
    """`_ids_by_id`'s ids written column by column: the ids of each millisecond as copies of
    one form holding its timestamp, then each counter digit and each random digit written into
    all ids at once (a strided slice), then cut apart. Why: one formatted string per id costs
    ~0.8 us, this ~0.2 us (the bulk signing processes make one id per row); tests compare the
    two."""
    size = _ID_SIZE
    out = bytearray()
    tick, left = start, count
    while left:  # the runs of ids that share a millisecond
        ms, counter = tick >> 12, tick & 0xFFF
        run = min(left, 4096 - counter)
        h = f"{ms:012x}"
        out += f"urn:uuid:{h[:8]}-{h[8:]}-7000-8000-000000000000".encode("ascii") * run
        tick += run
        left -= run
    first = start & 0xFFF
    laps = (first + count + 4095) // 4096
    counters = (_COUNTER_DIGITS * laps)[3 * first : 3 * (first + count)]
    for j in range(3):
        out[_DIGIT_AT[13 + j] :: size] = counters[j::3]
    raw = bytearray(random[2:])
    raw[0::8] = raw[0::8].translate(_VARIANT_BYTE)
    digits = raw.hex().encode("ascii")
    for j in range(16):
        out[_DIGIT_AT[16 + j] :: size] = digits[j::16]
    text = out.decode("ascii")
    return [text[i : i + size] for i in range(0, size * count, size)]


_IDS = CredentialIds()
os.register_at_fork(after_in_child=_IDS._reinit_lock)


def new_credential_ids(
    count: int, *, random: bytes | None = None, by_id: bool = False
) -> list[str]:
    """``count`` new credential ids from this process's `CredentialIds` (UUIDv7, increasing):
    see there, and `CredentialIds.take` for ``random`` and ``by_id``."""
    return _IDS.take(count, random=random, by_id=by_id)


def new_credential_id() -> str:
    """One id of `new_credential_ids`."""
    return _IDS.take(1)[0]


def credential_document(
    kind: str,
    request: dict[str, Any],
    *,
    subject: dict[str, Any],
    issuer: Any,
    status: Any,
    credential_id: str | None,
    stamp: str | dt.datetime,
) -> dict[str, Any]:
    """The shape of every unsigned credential, defined here only (not validated): the kind's
    ``@context``, ``type`` and ``credentialSchema``; ``issuer`` as given; ``validFrom`` from the
    request or ``stamp``; the request's ``validUntil``, ``name`` (an Open Badge's defaults to
    its achievement's) and ``description``; ``subject`` (the request's ``credentialSubject`` as
    the caller bound or normalized it); ``credentialStatus`` when ``status`` is not None.
    `build_credential` (requests) and the typed builders of `talentproof.credential.model` both
    build through it."""
    doc: dict[str, Any] = {
        "@context": list(CONTEXTS[kind]),
        "id": credential_id or new_credential_id(),
        "type": ["VerifiableCredential", kind],
        "credentialSchema": {"id": SCHEMA_IDS[kind], "type": "JsonSchema"},
    }
    if kind == _types.OPEN_BADGE:
        achievement = subject.get("achievement")
        if not request.get("name") and isinstance(achievement, dict) and achievement.get("name"):
            doc["name"] = achievement["name"]
    doc["issuer"] = issuer
    doc["validFrom"] = request.get("validFrom") or stamp
    if request.get("validUntil"):
        doc["validUntil"] = request["validUntil"]
    for optional in ("name", "description"):
        if request.get(optional):
            doc[optional] = request[optional]
    doc["credentialSubject"] = subject
    if status is not None:
        doc["credentialStatus"] = status
    return doc


#: The members an issue request may hold (the ``POST /credentials`` body, a bulk row).
REQUEST_FIELDS = frozenset(
    ("type", "credentialSubject", "validFrom", "validUntil", "name", "description")
)


def request_fields_check(kind: str, request: dict[str, Any]) -> None:
    """Refuse a request member `credential_document` would drop in silence: one outside
    `REQUEST_FIELDS` (a misspelt ``validUntill`` would issue a credential without its
    expiry) or a ``type`` other than ``kind`` (the type being issued)."""
    unknown = request.keys() - REQUEST_FIELDS
    if unknown:
        field = min(unknown)
        raise SchemaValidationError(
            field, f"only the request fields {sorted(REQUEST_FIELDS)}", f"the field {field!r}"
        )
    stated = request.get("type", kind)
    if stated != kind:
        raise SchemaValidationError("type", f"{kind!r} (the type being issued) or no type", stated)


def build_credential(
    kind: str,
    request: dict[str, Any],
    *,
    identity: IssuerIdentity,
    status_index: int,
    stamp: str,
    credential_id: str | None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The unsigned, validated credential of one request (``stamp``: the validFrom default):
    the subject's institution bound to the issuer (`bind_subject`), the issuer's DID and name,
    its status list entries (`status_entries`), in the shape of `credential_document`."""
    if kind not in KINDS:
        raise SchemaValidationError("type", f"one of {list(KINDS)}", kind)
    request_fields_check(kind, request)
    subject = request.get("credentialSubject")
    if not isinstance(subject, dict):
        raise SchemaValidationError("credentialSubject", "an object", subject)
    subject = bind_subject(kind, subject, identity)
    if today is None:
        today = dt.date.fromisoformat(stamp[:10])
    issuer = _types.issuer_profile(identity.did, identity.name, kind)
    doc = credential_document(
        kind,
        request,
        subject=subject,
        issuer=issuer,
        status=status_entries(identity, status_index),
        credential_id=credential_id,
        stamp=stamp,
    )
    validate_credential(doc)
    check_facts(kind, subject, today)
    return doc


def issue_credential(
    kind: str,
    request: dict[str, Any],
    *,
    identity: IssuerIdentity,
    signer: Signer,
    status_index: int,
    now: dt.datetime,
    credential_id: str | None = None,
) -> tuple[dict[str, Any], bytes, bytes]:
    """Build, validate and sign one credential.

    ``request`` holds ``credentialSubject`` and optionally ``validFrom``, ``validUntil``, ``name``,
    ``description``. Returns (signed document, its JCS bytes for storage, credential hash).
    Raises `SchemaValidationError` naming the field, what was expected and what was found.
    """
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    doc = build_credential(
        kind,
        request,
        identity=identity,
        status_index=status_index,
        stamp=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        credential_id=credential_id,
    )
    signed = _integrity.sign(
        doc, signer.key, verification_method=signer.verification_method, created=created
    )
    raw = _jcs.canonicalize(signed)  # stored as is; its SHA-256 is the credential hash
    return signed, raw, hashlib.sha256(raw).digest()


def issue_plain(
    kind: str,
    requests: list[tuple[int, dict[str, Any] | Exception, int]],
    *,
    identity: IssuerIdentity,
    signer: Signer,
    now: dt.datetime,
) -> list[Result]:
    """The plain path of `issue_credentials` (the reference the template is tested against).

    Issue a batch: (row, request or parse error, status index) ->
    (row, credential id or None, JSON bytes, hash, error field, error message).

    Each row is validated on its own (a bad row never fails the others); the valid ones are
    signed together with `integrity.sign_many` (proof options hashed once).
    """
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    out: list[Result] = []
    docs: list[tuple[int, dict[str, Any]]] = []
    for row, request, index in requests:
        if isinstance(request, Exception):
            out.append((row, None, b"", b"", "", str(request)))
            continue
        try:
            docs.append(
                (
                    row,
                    build_credential(
                        kind,
                        request,
                        identity=identity,
                        status_index=index,
                        stamp=stamp,
                        credential_id=None,
                    ),
                )
            )
        except SchemaValidationError as exc:
            out.append((row, None, b"", b"", exc.field, str(exc)))
        except CredentialError as exc:
            out.append((row, None, b"", b"", "", str(exc)))
    signed_docs = _integrity.sign_many(
        [d for _r, d in docs],
        signer.key,
        verification_method=signer.verification_method,
        created=created,
    )
    # The stored bytes are the JCS form itself: the credential hash is its SHA-256 (exactly
    # `merkle.credential_hash`, which canonicalizes the same way), so each credential is
    # serialized once, not once for storage and once for hashing.
    canonicalize, sha256 = _jcs.canonicalize, hashlib.sha256
    for (row, _doc), signed in zip(docs, signed_docs, strict=True):
        raw = canonicalize(signed)
        out.append((row, signed["id"], raw, sha256(raw).digest(), "", ""))
    out.sort(key=lambda item: item[0])
    return out
