"""The plain issuance path: build, validate and sign one credential (or a batch, row by row).

This is the reference `talentproof.credential.issuance.template` is differential-tested against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import unicodedata
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
from ..types import CREDENTIALS_V2, OB3_CONTEXT, TALENTPROOF_CONTEXT
from ..validation import validate_credential

__all__ = [
    "CONTEXTS",
    "KINDS",
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
_BOUND_PARTY: dict[str, tuple[str, str]] = {
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


@lru_cache(maxsize=1024)  # pure; a bulk job compares the same few names on every row
def _name_key(name: str) -> str:
    """A name compared case-, punctuation- and whitespace-insensitively (NFKC, casefold,
    letters and digits only): "OSL Digital Securities Ltd." is not "OSL Digital Securities
    Limited", but "osl  digital-securities LIMITED" is."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


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
    the wrong shape are left to the schema.

    ``owned``: the caller owns ``subject`` (parsed for this call, never seen by another), so the
    binding is written into it and ``subject`` itself returned, equal to what the copies give;
    nothing is written when it raises. Why: the bulk signing loop binds every row, and the three
    copies cost ~0.3 us of ~0.45 (tests/credential/test_claims_fast.py compares the two)."""
    spec = _BOUND_PARTY.get(kind)
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
    field = f"credentialSubject.{outer_key}.{party_key}"
    given_id = party.get("id")
    if given_id is not None and given_id != identity.did:
        raise SchemaValidationError(
            f"{field}.id", f"the issuing institution's own DID {identity.did}", given_id
        )
    name = party.get("name")
    if name is not None and (
        not isinstance(name, str)
        or (name != identity.name and _name_key(name) != _name_key(identity.name))
    ):
        raise SchemaValidationError(
            f"{field}.name",
            f"the issuing institution's registered name {identity.name!r} (another "
            "institution cannot be named: it attests for itself)",
            name,
        )
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


_HEX = "0123456789abcdef"
_FIRST = {c: "abcdef"[i % 6] for i, c in enumerate(_HEX)}  # the first hex digit: a letter
_VARIANT = {c: "89ab"[i & 3] for i, c in enumerate(_HEX)}  # RFC 9562 variant bits
# the same three rules on the bytes, for `_ids_by_column`: byte 0's high nibble a letter, byte
# 6's the version 4, byte 8's the variant 10xx
_FIRST_BYTE = bytes(((10 + (b >> 4) % 6) << 4) | (b & 15) for b in range(256))
_VERSION_BYTE = bytes(0x40 | (b & 15) for b in range(256))
_VARIANT_BYTE = bytes(0x80 | (b & 0x3F) for b in range(256))
_ID_FORM = b"urn:uuid:00000000-0000-0000-0000-000000000000"
# where each of the 32 hex digits goes in `_ID_FORM`
_DIGIT_AT = [9 + j + (j >= 8) + (j >= 12) + (j >= 16) + (j >= 20) for j in range(32)]


def new_credential_ids(
    count: int, *, random: bytes | None = None, by_id: bool = False
) -> list[str]:
    """``count`` ``urn:uuid:`` ids (version 4, RFC 9562 variant) whose first hex digit is a
    letter, from one ``os.urandom`` call (``random``: these 16 bytes per id instead, for tests).

    A digit right after ``urn:uuid:`` followed by ``e`` or ``.`` looks like a float token to the
    JCS fast path of `talentproof.credential.jcs`, which then takes its slow reference path;
    a letter as first digit keeps every credential on the fast path. Hand-written rather than
    ``uuid.uuid4`` (several times the cost, which shows at bulk rates); 119 random bits remain.
    ``by_id``: the reference (one formatted string per id); from 64 ids the same ids are written
    column by column (`_ids_by_column`).
    """
    if random is None:
        random = os.urandom(16 * count)
    elif len(random) != 16 * count:
        raise ValueError(f"random: expected {16 * count} bytes, found {len(random)}")
    if count >= 64 and not by_id:
        return _ids_by_column(random, count)
    h = random.hex()
    first, variant = _FIRST, _VARIANT
    return [
        f"urn:uuid:{first[h[i]]}{h[i + 1 : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{variant[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _ids_by_column(random: bytes, count: int) -> list[str]:
    """`new_credential_ids`' ids of ``random``, each of its 32 hex digits written into all ids
    at once (a strided slice), then cut apart. Why: one formatted string per id costs ~0.45 us,
    this ~0.1 us (the bulk signing processes make one id per row); tests compare the two."""
    raw = bytearray(random)
    raw[0::16] = raw[0::16].translate(_FIRST_BYTE)
    raw[6::16] = raw[6::16].translate(_VERSION_BYTE)
    raw[8::16] = raw[8::16].translate(_VARIANT_BYTE)
    digits = raw.hex().encode("ascii")
    size = len(_ID_FORM)
    out = bytearray(_ID_FORM * count)
    for j, at in enumerate(_DIGIT_AT):
        out[at::size] = digits[j::32]
    text = out.decode("ascii")
    return [text[i : i + size] for i in range(0, size * count, size)]


def new_credential_id() -> str:
    """One id of `new_credential_ids`."""
    return new_credential_ids(1)[0]


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
    subject = request.get("credentialSubject")
    if not isinstance(subject, dict):
        raise SchemaValidationError("credentialSubject", "an object", subject)
    subject = bind_subject(kind, subject, identity)
    if today is None:
        today = dt.date.fromisoformat(stamp[:10])
    issuer: dict[str, Any] = {"id": identity.did, "name": identity.name}
    if kind == _types.OPEN_BADGE:
        issuer["type"] = ["Profile"]
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
