"""Thin adapter from the issuer to `talentproof.credential` (document building, signing,
hashing, Merkle trees, anchor proofs, QR codes, key publication).

Everything the issuer needs from the credential package goes through here, so the service and the
bulk worker processes share one definition of "issue one credential".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import unicodedata
from dataclasses import dataclass
from typing import Any

from talentproof.credential import anchor as _anchor
from talentproof.credential import integrity as _integrity
from talentproof.credential import jcs as _jcs
from talentproof.credential import keys as _keys
from talentproof.credential import merkle as _merkle
from talentproof.credential import types as _types
from talentproof.credential import validation as _validation
from talentproof.credential.errors import CredentialError, SchemaValidationError
from talentproof.credential.schemas import SCHEMA_IDS

__all__ = [
    "KINDS",
    "CredentialError",
    "FactError",
    "bind_subject",
    "check_facts",
    "IssuerIdentity",
    "SchemaValidationError",
    "Signer",
    "anchored_document",
    "credential_hash",
    "did_document",
    "issue_document",
    "merkle_tree",
    "qr_payload",
    "qr_png",
    "qr_svg",
]

KINDS: tuple[str, ...] = _types.KINDS

_VC2 = "https://www.w3.org/ns/credentials/v2"
_CONTEXTS: dict[str, list[str]] = {
    _types.DEGREE: [_VC2, "https://talentproof.org/contexts/v1"],
    _types.EMPLOYMENT: [_VC2, "https://talentproof.org/contexts/v1"],
    _types.OPEN_BADGE: [_VC2, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
}
_SCHEMA_IDS = SCHEMA_IDS  # the credential package's stable schema ids (credentialSchema.id)

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


def _name_key(name: str) -> str:
    """A name compared case-, punctuation- and whitespace-insensitively (NFKC, casefold,
    letters and digits only): "OSL Digital Securities Ltd." is not "OSL Digital Securities
    Limited", but "osl  digital-securities LIMITED" is."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def bind_subject(kind: str, subject: dict[str, Any], identity: IssuerIdentity) -> dict[str, Any]:
    """The subject with its institution bound to the issuer: ``degree.institution`` of a
    DegreeCredential and ``employment.employer`` of an EmploymentCredential describe the
    issuing institution itself, so their ``id`` is set to its DID and their ``name`` filled
    with its registered name when absent. Raises `SchemaValidationError` naming
    ``...institution.id`` / ``...employer.id`` when another identifier is given, or ``.name``
    when a name differs from the registered one (case, punctuation and whitespace aside): no
    third party attests for another institution (docs/threat-model.md). Returns ``subject``
    itself when nothing changes, else a new dict (the request is never modified). Subjects of
    the wrong shape are left to the schema."""
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
        not isinstance(name, str) or _name_key(name) != _name_key(identity.name)
    ):
        raise SchemaValidationError(
            f"{field}.name",
            f"the issuing institution's registered name {identity.name!r} (another "
            "institution cannot be named: it attests for itself)",
            name,
        )
    if given_id is not None and name is not None:
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
    problems = _subject_fact_problems(kind, subject, today)
    if problems:
        first = problems[0]
        raise FactError(first.field, first.message)


def _subject_fact_problems(kind: str, subject: dict[str, Any], today: dt.date) -> list[Any]:
    try:
        from talentproof.credential.claims import subject_fact_problems
    except ImportError:  # pragma: no cover - the credential package ships it
        return []
    return subject_fact_problems(kind, subject, today)


def _holder_ok(subject_id: str) -> bool:
    return _validation.is_holder_did(subject_id)


def warm_up() -> None:
    """Compile every kind's schema validator and load the QR module now (at start-up) rather
    than on the first request that needs them."""
    for kind in KINDS:
        _validation.compiled_validator(kind)
    _qr()


def _validate(doc: dict[str, Any]) -> None:
    """`credential.validation.validate_credential` (the compiled schema, the reference
    explaining a rejection)."""
    _validation.validate_credential(doc)


def _qr() -> Any:
    from talentproof.credential import qr

    return qr


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


def _status_entries(identity: IssuerIdentity, index: int) -> list[dict[str, Any]]:
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


_HEX_LETTERS = "abcdef"
_VARIANT = "89ab"


def new_credential_id() -> str:
    """A ``urn:uuid:`` (version 4, RFC 9562 variant) whose first hex digit is a letter.

    A digit right after ``urn:uuid:`` followed by ``e`` or ``.`` looks like a float token to the
    JCS fast path of `talentproof.credential.jcs`, which then takes its slow reference path;
    a letter as first digit keeps every credential on the fast path. Built from ``os.urandom``
    directly (``uuid.uuid4`` costs several times more, which shows at bulk rates); 119 random
    bits remain.
    """
    h = os.urandom(16).hex()
    return (
        f"urn:uuid:{_HEX_LETTERS[int(h[0], 16) % 6]}{h[1:8]}-{h[8:12]}-4{h[13:16]}-"
        f"{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
    )


def _unsigned(
    kind: str,
    request: dict[str, Any],
    *,
    identity: IssuerIdentity,
    status_index: int,
    stamp: str,
    credential_id: str | None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise SchemaValidationError("type", f"one of {list(KINDS)}", kind)
    subject = request.get("credentialSubject")
    if not isinstance(subject, dict):
        raise SchemaValidationError("credentialSubject", "an object", subject)
    subject = bind_subject(kind, subject, identity)
    if today is None:
        today = dt.date.fromisoformat(stamp[:10])
    doc: dict[str, Any] = {
        "@context": list(_CONTEXTS[kind]),
        "id": credential_id or new_credential_id(),
        "type": ["VerifiableCredential", kind],
        "credentialSchema": {"id": _SCHEMA_IDS[kind], "type": "JsonSchema"},
    }
    issuer: dict[str, Any] = {"id": identity.did, "name": identity.name}
    if kind == _types.OPEN_BADGE:
        issuer["type"] = ["Profile"]
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
    doc["credentialStatus"] = _status_entries(identity, status_index)
    _validate(doc)
    check_facts(kind, subject, today)
    return doc


def issue_document(
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
    doc = _unsigned(
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


def issue_many(
    kind: str,
    requests: list[tuple[int, dict[str, Any] | Exception, int]],
    *,
    identity: IssuerIdentity,
    signer: Signer,
    now: dt.datetime,
) -> list[tuple[int, str | None, bytes, bytes, str, str]]:
    """Issue a batch: (row, request or parse error, status index) ->
    (row, credential id or None, JSON bytes, hash, error field, error message).

    Each row is validated on its own (a bad row never fails the others); the valid ones are
    signed together with `integrity.sign_many` (proof options hashed once).
    """
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    out: list[tuple[int, str | None, bytes, bytes, str, str]] = []
    docs: list[tuple[int, dict[str, Any]]] = []
    for row, request, index in requests:
        if isinstance(request, Exception):
            out.append((row, None, b"", b"", "", str(request)))
            continue
        try:
            docs.append(
                (
                    row,
                    _unsigned(
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


def credential_hash(document: dict[str, Any]) -> bytes:
    """The credential's 32-byte identity (architecture.md)."""
    return _merkle.credential_hash(document)


def merkle_tree(hashes: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """(root, inclusion path of each leaf) of an RFC 9162 tree over the credential hashes."""
    tree = _merkle.MerkleTree(hashes)
    return tree.root, [list(p.path) for p in tree.proofs()]


def anchored_document(
    document: dict[str, Any],
    *,
    chain_id: int,
    registry: str,
    root: bytes,
    leaf_index: int,
    tree_size: int,
    path: list[bytes],
) -> dict[str, Any]:
    """The holder's form: the signed credential plus its TalentProofAnchor proof."""
    proof = _anchor.AnchorProof(
        chain_id=chain_id,
        registry=registry,
        merkle_root=root,
        leaf_index=leaf_index,
        tree_size=tree_size,
        path=tuple(path),
    )
    return _anchor.attach_anchor(document, proof)


def qr_payload(anchored: dict[str, Any]) -> str:
    """The compact QR payload of an anchored credential."""
    return _qr().encode_payload(anchored)


def qr_png(anchored: dict[str, Any]) -> bytes:
    """The QR code as PNG bytes."""
    return _qr().render_png(qr_payload(anchored))


def qr_svg(anchored: dict[str, Any]) -> str:
    """The QR code as an SVG document."""
    return _qr().render_svg(qr_payload(anchored))


def did_document(did: str, public_keys_multibase: list[str]) -> dict[str, Any]:
    """The did:web document publishing the institution's verification methods.

    Each key's fragment is its publicKeyMultibase, as in the credentials' verificationMethod.
    """
    return _keys.did_web_document(
        did, {mb: _keys.Ed25519PublicKey.from_multibase(mb) for mb in public_keys_multibase}
    )


def sign_plain(document: dict[str, Any], signer: Signer, *, now: dt.datetime) -> dict[str, Any]:
    """Sign a document that is not one of the credential kinds (the status list credential)."""
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    return _integrity.sign(
        document, signer.key, verification_method=signer.verification_method, created=created
    )
