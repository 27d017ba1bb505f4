"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa, section 3.3).

Signing a document ``D`` with proof options ``P``:

1. ``P["@context"] = D["@context"]`` when the document has one (as the spec advises);
2. ``hashData = SHA-256(JCS(P)) || SHA-256(JCS(D without proof))``;
3. ``proofValue = "z" + base58btc(Ed25519-sign(hashData))``.

`sign` signs one document, `sign_many` a batch (the proof options are canonicalized once per
distinct ``@context``; no pydantic on the hot path). `verify` checks one proof and raises one
specific `ProofError` leaf per failure:

* `MissingProof`: no ``proof``;
* `UnsupportedCryptosuite`: a proof type other than ``DataIntegrityProof`` or another suite;
* `WrongProofPurpose`, `ChallengeMismatch`, `DomainMismatch`: options differ from the expected;
* `MalformedMultibase`: proofValue / key not multibase base58-btc;
* `KeyMismatch`: the key is not the one the verification method names (or not resolvable);
* `InvalidSignature`: the proofValue is not a well-formed Ed25519 signature;
* `AlteredDocument` (an `InvalidSignature`): a well-formed signature that does not verify over
  this document and proof options, or a document ``@context`` the proof no longer matches.

A ``proof`` may be a proof set (a list): entries of type ``TalentProofAnchor`` (see
`talentproof.credential.anchor`) are not signatures and are ignored here; the signed document
is the document without any proof.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orjson import JSONEncodeError
from orjson import dumps as _orjson_dumps

from ._base58 import b58decode, b58encode_64
from ._util import gc_paused
from .errors import (
    AlteredDocument,
    ChallengeMismatch,
    DomainMismatch,
    InvalidSignature,
    KeyMismatch,
    MalformedMultibase,
    MissingProof,
    ProofError,
    UnsupportedCryptosuite,
    WrongProofPurpose,
)
from .jcs import _ORJSON_OPTIONS, _fast_path_exact, canonicalize
from .keys import Ed25519PublicKey, Ed25519SigningKey, resolve_verification_method

__all__ = [
    "ANCHOR_PROOF_TYPE",
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "MalformedProof",
    "VerifiedProof",
    "format_datetime",
    "hash_data",
    "parse_datetime",
    "sign",
    "sign_many",
    "signing_proof",
    "verify",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ANCHOR_PROOF_TYPE = "TalentProofAnchor"
_ED25519_L = 2**252 + 27742317777372353535851937790883648493
_sha256 = hashlib.sha256


class MalformedProof(ProofError):
    """A proof entry is not an object or has a malformed field (``created``, ``proofValue``)."""


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a successful `verify` established."""

    verification_method: str
    public_key: Ed25519PublicKey
    created: datetime | None
    proof: Mapping[str, Any]


# --- dates ------------------------------------------------------------------------------------


def format_datetime(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC with second precision: ``2026-11-21T23:40:00Z``."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, found {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    """Parse a dateTimeStamp (``Z`` or an offset is required) into an aware datetime."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(f"expected an XML Schema dateTimeStamp, found {text!r}")
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"expected a dateTimeStamp with a time zone (Z), found {text!r}")
    return value


# --- signing ----------------------------------------------------------------------------------


def signing_proof(
    *,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
    context: Any = None,
) -> dict[str, Any]:
    """The proof options (proof without proofValue) `sign` uses."""
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created if isinstance(created, str) else format_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain if isinstance(domain, str) else list(domain)
    if context is not None:
        proof["@context"] = context
    return proof


def hash_data(document: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """``SHA-256(JCS(proof options)) || SHA-256(JCS(document without proof))`` (64 bytes)."""
    options = dict(proof_options)
    options.pop("proofValue", None)
    unsecured = dict(document)
    unsecured.pop("proof", None)
    return _sha256(canonicalize(options)).digest() + _sha256(canonicalize(unsecured)).digest()


def sign(
    document: Mapping[str, Any],
    key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an eddsa-jcs-2022 ``proof``."""
    return sign_many(
        (document,), key, verification_method=verification_method, created=created,
        proof_purpose=proof_purpose, challenge=challenge, domain=domain,
    )[0]


def sign_many(
    documents: Iterable[Mapping[str, Any]],
    key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Sign a batch of documents with one key and one set of proof options.

    The proof options are canonicalized and hashed once per distinct ``@context``.
    """
    with gc_paused():
        return _sign_many(documents, key, verification_method=verification_method,
                          created=created, proof_purpose=proof_purpose, challenge=challenge,
                          domain=domain)


def _sign_many(
    documents: Iterable[Mapping[str, Any]],
    key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: datetime,
    proof_purpose: str,
    challenge: str | None,
    domain: str | Sequence[str] | None,
) -> list[dict[str, Any]]:
    if not isinstance(key, Ed25519SigningKey):
        raise TypeError(f"key: expected Ed25519SigningKey, found {type(key).__name__}")
    base = signing_proof(
        verification_method=verification_method, created=created, proof_purpose=proof_purpose,
        challenge=challenge, domain=domain,
    )
    cache: dict[Any, tuple[dict[str, Any], bytes]] = {}
    last_ctx: Any = _UNSET
    options: dict[str, Any] = base
    options_hash = b""
    sign_raw = key._sign  # the bound cryptography method (no wrapper frame)
    sha = _sha256
    dumps = _orjson_dumps
    fast_ok = _fast_path_exact
    out: list[dict[str, Any]] = []
    append = out.append
    for doc in documents:
        if type(doc) is not dict:
            if not isinstance(doc, Mapping):
                raise TypeError(f"document {len(out)}: expected a JSON object, "
                                f"found {type(doc).__name__}")
            doc = dict(doc)
        if "proof" in doc:
            raise ProofError(f"document {len(out)} already carries a proof; sign the unsecured "
                             "document")
        ctx = doc.get("@context")
        if ctx != last_ctx:  # proof options are canonicalized once per distinct @context
            options, options_hash = _options_for(ctx, base, cache)
            last_ctx = ctx
        # JCS of the document: the orjson fast path, or the reference serializer (jcs module)
        try:
            canonical = dumps(doc, option=_ORJSON_OPTIONS)
            if not fast_ok(canonical):
                canonical = canonicalize(doc)
        except (JSONEncodeError, TypeError):
            canonical = canonicalize(doc)
        signature = sign_raw(options_hash + sha(canonical).digest())
        proof = options.copy()
        proof["proofValue"] = "z" + b58encode_64(signature)
        signed = doc.copy()
        signed["proof"] = proof
        append(signed)
    return out


_UNSET: Any = object()


def _options_for(
    ctx: Any, base: dict[str, Any], cache: dict[Any, tuple[dict[str, Any], bytes]]
) -> tuple[dict[str, Any], bytes]:
    try:
        key = tuple(ctx) if type(ctx) is list else ctx
        entry = cache.get(key)
    except TypeError:  # contexts holding objects are not hashable
        key, entry = None, None
    if entry is None:
        options = dict(base)
        if ctx is not None:  # a private copy: the signed documents never alias the caller's
            options["@context"] = copy.deepcopy(ctx)
        entry = (options, _sha256(canonicalize(options)).digest())
        if key is not None:
            cache[key] = entry
    return entry


# --- verification -----------------------------------------------------------------------------


def select_proof(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one Data Integrity proof of a document (ignoring TalentProofAnchor entries)."""
    if not isinstance(document, Mapping):
        raise MalformedProof(f"expected a JSON object document, found {type(document).__name__}")
    proof = document.get("proof")
    if proof is None or proof == []:
        raise MissingProof("the document carries no proof")
    entries = proof if isinstance(proof, list) else [proof]
    candidates = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MalformedProof(f"proof: expected an object, found {type(entry).__name__}")
        if entry.get("type") != ANCHOR_PROOF_TYPE:
            candidates.append(entry)
    if not candidates:
        raise MissingProof("the document carries no Data Integrity proof (only an anchor proof)")
    if len(candidates) > 1:
        raise UnsupportedCryptosuite(
            f"expected one Data Integrity proof, found a proof set of {len(candidates)}"
        )
    return candidates[0]


def verify(
    document: Mapping[str, Any],
    *,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    did_documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> VerifiedProof:
    """Verify the document's eddsa-jcs-2022 proof; raises a `ProofError` leaf on failure.

    ``public_key``, when given, must be the key the verification method names (did:key) or is
    taken as that key (did:web without a DID document). ``challenge`` and ``domain``, when given,
    must equal the proof's.
    """
    proof = select_proof(document)
    # (1) proof type and cryptosuite
    ptype = proof.get("type")
    if ptype != PROOF_TYPE:
        raise UnsupportedCryptosuite(f"proof type: expected {PROOF_TYPE!r}, found {ptype!r}")
    suite = proof.get("cryptosuite")
    if suite != CRYPTOSUITE:
        raise UnsupportedCryptosuite(f"cryptosuite: expected {CRYPTOSUITE!r}, found {suite!r}")
    # (2) purpose, challenge, domain
    purpose = proof.get("proofPurpose")
    if purpose != expected_purpose:
        raise WrongProofPurpose(
            f"proofPurpose: expected {expected_purpose!r}, found {purpose!r}"
        )
    if challenge is not None and proof.get("challenge") != challenge:
        raise ChallengeMismatch(
            f"challenge: expected {challenge!r}, found {proof.get('challenge')!r}"
        )
    if domain is not None:
        found_domain = proof.get("domain")
        ok = found_domain == domain or (isinstance(found_domain, list) and domain in found_domain)
        if not ok:
            raise DomainMismatch(f"domain: expected {domain!r}, found {found_domain!r}")
    # (3) created
    created_text = proof.get("created")
    created = None
    if created_text is not None:
        try:
            created = parse_datetime(created_text)
        except (ValueError, TypeError) as exc:
            raise MalformedProof(f"proof created: {exc}") from exc
    # (4) the proof's @context must be a prefix of the document's
    proof_ctx = proof.get("@context")
    if proof_ctx is not None:
        doc_ctx = document.get("@context")
        pc = proof_ctx if isinstance(proof_ctx, list) else [proof_ctx]
        dc = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
        if dc[: len(pc)] != pc:
            raise AlteredDocument(
                f"document @context {doc_ctx!r} does not start with the signed proof @context "
                f"{proof_ctx!r}"
            )
    # (5) key
    vm = proof.get("verificationMethod")
    if not isinstance(vm, str):
        raise KeyMismatch(f"verificationMethod: expected a DID URL, found {vm!r}")
    self_describing = vm.startswith("did:key:") or "#z6Mk" in vm
    if public_key is not None and not (self_describing or did_documents):
        key = public_key
    else:
        key = resolve_verification_method(vm, did_documents)
        if public_key is not None and key != public_key:
            raise KeyMismatch(
                f"verification method {vm} names key {key.multibase}, expected "
                f"{public_key.multibase}"
            )
    # (6) signature
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise MalformedMultibase(
            f"proofValue: expected multibase base58-btc text starting with 'z', found {value!r:.40}"
        )
    try:
        signature = b58decode(value[1:])
    except ValueError as exc:
        raise MalformedMultibase(f"proofValue: {exc}") from exc
    if len(signature) != 64:
        raise InvalidSignature(
            f"proofValue: expected a 64-byte Ed25519 signature, found {len(signature)} bytes"
        )
    if int.from_bytes(signature[32:], "little") >= _ED25519_L:
        raise InvalidSignature("proofValue: Ed25519 signature scalar is not canonical (S >= L)")
    data = hash_data(document, proof)
    try:
        key.verify(signature, data)
    except InvalidSignature as exc:
        raise AlteredDocument(
            "signature does not verify over this document and proof options: the document was "
            f"altered after signing or was not signed by {vm}"
        ) from exc
    return VerifiedProof(verification_method=vm, public_key=key, created=created, proof=proof)

