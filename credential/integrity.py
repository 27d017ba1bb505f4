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
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from .jcs import (
    FIRST_ELEMENT,
    MEMBER_VALUE,
    NEXT_ELEMENT,
    ORJSON_OPTIONS,
    canonicalize,
    fast_path_exact,
    utf16_key,
)
from .keys import (
    DID_KEY_CACHE,
    Ed25519PublicKey,
    Ed25519SigningKey,
    RawEd25519Signer,
    resolve_verification_method,
)
from .merkle import credential_hash

native_cuts: Callable[..., tuple[bytes, int, int, int, int, int, int] | None] | None
native_digests: Callable[..., tuple[bytes, bytes] | None] | None
try:  # the C twins of `canonical_cuts_reference` and of verify_and_hash's hashing of its cut
    from .native import jcs_cuts as native_cuts  # (credential/native.c, built by the install)
    from .native import jcs_digests as native_digests
except ImportError:  # pragma: no cover - a tree whose extension was not built: the Python twin
    native_cuts = native_digests = None

__all__ = [
    "ANCHOR_PROOF_TYPE",
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "SIGN_CHUNK",
    "MalformedProof",
    "ProofExpired",
    "VerifiedProof",
    "canonical_cuts_reference",
    "format_datetime",
    "hash_data",
    "options_digest",
    "parse_datetime",
    "proof_value",
    "sign",
    "sign_many",
    "signing_proof",
    "split_canonical",
    "verify",
    "verify_and_hash",
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
        (document,),
        key,
        verification_method=verification_method,
        created=created,
        proof_purpose=proof_purpose,
        challenge=challenge,
        domain=domain,
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
        return _sign_many(
            documents,
            key,
            verification_method=verification_method,
            created=created,
            proof_purpose=proof_purpose,
            challenge=challenge,
            domain=domain,
        )


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
        verification_method=verification_method,
        created=created,
        proof_purpose=proof_purpose,
        challenge=challenge,
        domain=domain,
    )
    cache: dict[Any, tuple[dict[str, Any], bytes]] = {}
    last_ctx: Any = _UNSET
    options: dict[str, Any] = base
    options_hash = b""
    # Two steps are inlined in the loops below, each falling back to the function whose result
    # it equals (tested against them):
    # * the signature: `keys.RawEd25519Signer` (libsodium's crypto_sign into one buffer), the twin
    #   of `Ed25519SigningKey.sign`;
    # * jcs.fast_path_exact: ASCII output with no number or null token is exact (its pre-check).
    # The work runs in phases over chunks of documents: canonical forms and hashData, then the
    # signatures in one tight loop, then the proofs. (Interleaved per document, the Python work
    # between two signatures evicts libsodium's code and tables from the CPU caches: the
    # signatures then cost measurably more than the same calls back to back.)
    sha = _sha256
    dumps, jcs_options = _orjson_dumps, ORJSON_OPTIONS
    member_value, next_element, first_element = MEMBER_VALUE, NEXT_ELEMENT, FIRST_ELEMENT
    fast_ok = fast_path_exact
    out: list[dict[str, Any]] = []
    chunk_docs: list[dict[str, Any]] = []
    chunk_options: list[dict[str, Any]] = []
    chunk_data: list[bytes] = []
    for index, doc in enumerate(documents):
        if type(doc) is not dict:
            if not isinstance(doc, Mapping):
                raise TypeError(
                    f"document {index}: expected a JSON object, found {type(doc).__name__}"
                )
            doc = dict(doc)
        if "proof" in doc:
            raise ProofError(
                f"document {index} already carries a proof; sign the unsecured document"
            )
        ctx = doc.get("@context")
        if ctx is not last_ctx and ctx != last_ctx:  # options canonicalized per distinct @context
            options, options_hash = _options_for(ctx, base, cache)
            last_ctx = ctx
        # JCS of the document: the orjson fast path, or the reference serializer (jcs module)
        try:
            canonical = dumps(doc, option=jcs_options)
            if not (
                canonical.isascii()
                and member_value(canonical) is None
                and next_element(canonical) is None
                and first_element(canonical) is None
            ) and not fast_ok(canonical):
                canonical = canonicalize(doc)
        except (JSONEncodeError, TypeError):
            canonical = canonicalize(doc)
        chunk_docs.append(doc)
        chunk_options.append(options)
        chunk_data.append(options_hash + sha(canonical).digest())
        if len(chunk_data) == SIGN_CHUNK:
            _finish_chunk(key, chunk_docs, chunk_options, chunk_data, out)
            chunk_docs, chunk_options, chunk_data = [], [], []
    if chunk_data:
        _finish_chunk(key, chunk_docs, chunk_options, chunk_data, out)
    return out


#: Documents per phase of `sign_many` (bounds the memory held between phases).
SIGN_CHUNK = 256


def _finish_chunk(
    key: Ed25519SigningKey,
    docs: list[dict[str, Any]],
    options: list[dict[str, Any]],
    data: list[bytes],
    out: list[dict[str, Any]],
) -> None:
    """Sign each ``data[i]`` (hashData) and append ``docs[i]`` with its proof to ``out``."""
    sign = RawEd25519Signer(key).sign  # (hashData: always 64 bytes, two SHA-256 digests)
    signatures = [sign(d) for d in data]
    append = out.append
    for doc, opts, signature in zip(docs, options, signatures, strict=True):
        value = "z" + b58encode_64(signature)
        proof = opts.copy()
        proof["proofValue"] = value
        signed = doc.copy()
        signed["proof"] = proof
        append(signed)


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


def options_digest(proof_options: Mapping[str, Any]) -> bytes:
    """``SHA-256(JCS(proof options))``: the first half of ``hashData`` (without ``proofValue``).

    For callers that sign many documents with one set of options and build each document's
    canonical form themselves (`proof_value`).
    """
    options = dict(proof_options)
    options.pop("proofValue", None)
    return _sha256(canonicalize(options)).digest()


def proof_value(key: Ed25519SigningKey, hash_data: bytes) -> str:
    """The eddsa-jcs-2022 ``proofValue`` over a precomputed ``hashData``.

    ``hash_data`` is the 64 bytes ``options_digest(options) || SHA-256(JCS(document without
    proof))`` (`hash_data` computes them from the objects); for callers that build a document's
    canonical form themselves and vouch for it. Same value as `sign`'s proofValue.
    """
    if type(hash_data) is not bytes or len(hash_data) != 64:
        raise ValueError("hashData: expected 64 bytes (two SHA-256 digests)")
    return "z" + b58encode_64(key.sign(hash_data))


# --- verification -----------------------------------------------------------------------------


def select_proof(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one Data Integrity proof of a document (ignoring TalentProofAnchor entries)."""
    if type(document) is not dict and not isinstance(document, Mapping):
        raise MalformedProof(f"expected a JSON object document, found {type(document).__name__}")
    proof = document.get("proof")
    if proof is None or proof == []:
        raise MissingProof("the document carries no proof")
    if type(proof) is dict and proof.get("type") != ANCHOR_PROOF_TYPE:  # the usual case
        return proof
    entries = proof if isinstance(proof, list) else [proof]
    candidates = []
    for entry in entries:
        if type(entry) is not dict and not isinstance(entry, Mapping):
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
    proof, vm, key, created, signature = _checked_proof(
        document, expected_purpose, challenge, domain, public_key, did_documents
    )
    _verify_signature(key, signature, hash_data(document, proof), vm)
    return VerifiedProof(verification_method=vm, public_key=key, created=created, proof=proof)


def verify_and_hash(
    document: Mapping[str, Any],
    *,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    did_documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[VerifiedProof, bytes]:
    """`verify` plus the credential hash: ``(verify(document), merkle.credential_hash(document))``.

    Same checks, results and errors as calling both in that order (the first error is raised;
    ``document`` is a signed credential without its anchor proof: split it off first with
    `talentproof.credential.anchor.split_anchor`, else `MerkleProofError`), with one
    canonicalization of the document instead of two: with a single proof object, the JCS form
    of the signed document is computed once and the form without proof is cut out of it (see
    `split_canonical`).
    """
    proof, vm, key, created, signature = _checked_proof(
        document, expected_purpose, challenge, domain, public_key, did_documents
    )
    digests = native_digests(document, proof) if native_digests is not None else None
    if digests is not None:  # the hashes below, of the same cut, in C (credential/native.c)
        data, chash = digests
        _verify_signature(key, signature, data, vm)
        return VerifiedProof(
            verification_method=vm, public_key=key, created=created, proof=proof
        ), chash
    # (when jcs_digests answered None, jcs_cuts would too - the same writer: not run it twice)
    cuts = (
        _canonical_cuts(document, proof)
        if native_digests is None
        else canonical_cuts_reference(document, proof)
    )
    if cuts is None:  # the plain path: proof sets, non-dict values, non-JSON content, ...
        data = hash_data(document, proof)
        _verify_signature(key, signature, data, vm)
        chash = credential_hash(document)
    else:
        # JCS(document) = F; JCS(document without proof) = F[:x] + F[y:]; JCS(proof options)
        # = F[a:b] + F[c:d]. The first two share the prefix F[:x]: it is hashed once.
        full, x, y, a, b, c, d = cuts
        view = memoryview(full)
        unsecured_sha = _sha256(view[:x])
        full_sha = unsecured_sha.copy()
        full_sha.update(view[x:])
        unsecured_sha.update(view[y:])
        options_sha = _sha256(view[a:b])
        options_sha.update(view[c:d])
        _verify_signature(key, signature, options_sha.digest() + unsecured_sha.digest(), vm)
        chash = full_sha.digest()
    return VerifiedProof(
        verification_method=vm, public_key=key, created=created, proof=proof
    ), chash


def split_canonical(
    document: Mapping[str, Any], proof: Mapping[str, Any]
) -> tuple[bytes, bytes, bytes] | None:
    """``(JCS(proof options), JCS(document without proof), JCS(document))``, or None.

    The texts that `_canonical_cuts` locates (`verify_and_hash` hashes them without building
    them); for tests and callers that want the texts.
    """
    cuts = _canonical_cuts(document, proof)
    if cuts is None:
        return None
    full, x, y, a, b, c, d = cuts
    return full[a:b] + full[c:d], full[:x] + full[y:], full


def _canonical_cuts(
    document: Mapping[str, Any], proof: Mapping[str, Any]
) -> tuple[bytes, int, int, int, int, int, int] | None:
    """`canonical_cuts_reference`'s contract, through the C writer when it can answer.

    For `split_canonical` (check 3 itself, `verify_and_hash`, takes the same cut already hashed
    from ``native.jcs_digests``, or the Python twin's when that answers None). ``native.jcs_cuts``
    writes JCS(document) and notes where the ``proof`` and ``proofValue`` members sit as it
    writes them (~3 us against ~11 us for orjson's sorted dump, its exactness checks and the
    searches below). It answers None for anything it does not write exactly as RFC 8785 does (floats, big
    integers, keys >= U+E000, subclasses, ...): the Python twin decides those.
    tests/credential/test_native_jcs.py compares both with the rfc8785 reference.
    """
    if native_cuts is not None:
        cuts: tuple[bytes, int, int, int, int, int, int] | None = native_cuts(document, proof)
        if cuts is not None:
            return cuts
    return canonical_cuts_reference(document, proof)


def canonical_cuts_reference(
    document: Mapping[str, Any], proof: Mapping[str, Any]
) -> tuple[bytes, int, int, int, int, int, int] | None:
    """``(F, x, y, a, b, c, d)`` with ``F = JCS(document)``, ``F[:x] + F[y:] = JCS(document
    without proof)`` and ``F[a:b] + F[c:d] = JCS(proof options)``, or None.

    JCS writes an object as ``{`` + its members ``"name":value`` in sorted order, comma
    separated, + ``}``, and a member's text does not depend on its neighbours. So
    ``F = JCS(document)`` holds the top-level member ``"proof":P`` with ``P = JCS(proof)``:

    * when the text ``"proof":`` occurs exactly once in ``F``, it starts that member;
    * ``P`` ends at the end of ``F`` (``"proof"`` the greatest key) or just before the next
      member ``,"K":``, ``K`` the least key after ``"proof"``: ``P`` ends with ``}``, so when
      ``},"K":`` occurs exactly once after the member's start, it marks the end of ``P``;
    * removing the member and one adjacent comma gives ``JCS(document without proof)``;
    * likewise, when ``"proofValue":`` occurs once in ``P`` and is followed by ``"`` + the
      proofValue + ``"`` (the JSON text of a string that needs no escape), removing that member
      gives ``JCS(proof options)``.

    Anything else (a proof set, a proof that is not a dict, a canonicalization error, a
    repeated text, a key that needs escaping) returns None and the caller takes the plain path.
    """
    if type(document) is not dict or type(proof) is not dict or document.get("proof") is not proof:
        return None
    value = proof.get("proofValue")
    if type(value) is not str:
        return None
    try:
        full = canonicalize(document)
        value_text = b'"' + value.encode() + b'"'
    except Exception:
        return None
    # the "proof" member: full[i:end] == b'"proof":' + P
    i = full.find(b'"proof":')
    if i < 1 or full.find(b'"proof":', i + 1) != -1:
        return None
    start = i + 8
    following = [k for k in document if k > "proof"]  # (str order = UTF-16 order vs "proof")
    if following:
        if len(following) == 1:
            nxt = following[0]
        else:  # (for ASCII names code point order is UTF-16 order)
            ascii_names = "".join(following).isascii()
            nxt = min(following) if ascii_names else min(following, key=utf16_key)
        if not _VERBATIM_JSON(nxt):
            return None
        marker = b'},"' + nxt.encode() + b'":'
        m = full.find(marker, start)
        if m == -1 or full.find(marker, m + 1) != -1:
            return None
        end = m + 1
    else:
        end = len(full) - 1
    if full[start : start + 1] != b"{" or full[end - 1 : end] != b"}":
        return None  # pragma: no cover - cannot happen: P is an object
    if full[i - 1 : i] == b",":  # a member before it: drop the comma that precedes it
        x, y = i - 1, end
    elif full[end : end + 1] == b",":  # the first member of several
        x, y = i, end + 1
    else:  # the only member
        x, y = i, end
    # the "proofValue" member inside P
    j = full.find(b'"proofValue":', start, end)
    if j == -1 or full.find(b'"proofValue":', j + 1, end) != -1:
        return None
    k = j + 13 + len(value_text)
    if full[j + 13 : k] != value_text:
        return None
    if full[j - 1 : j] == b",":
        return full, x, y, start, j - 1, k, end
    if full[k : k + 1] == b",":
        return full, x, y, start, j, k + 1, end
    return full, x, y, start, j, k, end


# An object key whose JSON text is itself in quotes (ASCII, no '"', '\\' or control character).
_VERBATIM_JSON = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*").fullmatch


def _checked_proof(
    document: Mapping[str, Any],
    expected_purpose: str,
    challenge: str | None,
    domain: str | None,
    public_key: Ed25519PublicKey | None,
    did_documents: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[Mapping[str, Any], str, Ed25519PublicKey, datetime | None, bytes]:
    """Every check of `verify` before the signature itself."""
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
        raise WrongProofPurpose(f"proofPurpose: expected {expected_purpose!r}, found {purpose!r}")
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
        created = _CREATED_CACHE.get(created_text) if type(created_text) is str else None
        if created is None:
            try:
                created = parse_datetime(created_text)
            except (ValueError, TypeError) as exc:
                raise MalformedProof(f"proof created: {exc}") from exc
            if type(created_text) is str and len(_CREATED_CACHE) < 4096:
                _CREATED_CACHE[created_text] = created  # (a pure function of the text)
    # (3b) expires (VC Data Integrity 1.0: a proof past its expiry does not verify); none of
    # TalentProof's proofs has one, so the common case is one dict lookup
    if "expires" in proof:
        _check_expiry(proof["expires"])
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
    key: Ed25519PublicKey | None
    if public_key is not None and not (self_describing or did_documents):
        key = public_key
    else:
        # Without DID documents, a method resolved before resolves to the same key (the
        # resolver's own cache of self-describing methods); anything else goes through it.
        key = None if did_documents else DID_KEY_CACHE.get(vm)
        if key is None:
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
    return proof, vm, key, created, signature


_CREATED_CACHE: dict[str, datetime] = {}


class ProofExpired(ProofError):
    """The proof's ``expires`` has passed."""


def _check_expiry(expires: Any) -> None:
    """Raise unless ``expires`` is a dateTimeStamp still in the future (the wall clock: the
    moment the proof is checked, whatever as-of the verdict is judged at)."""
    try:
        moment = parse_datetime(expires)
    except (ValueError, TypeError) as exc:
        raise MalformedProof(f"proof expires: {exc}") from exc
    if moment <= datetime.now(UTC):
        raise ProofExpired(f"proof expired at {format_datetime(moment)}")


def _verify_signature(key: Ed25519PublicKey, signature: bytes, data: bytes, vm: str) -> None:
    try:
        key.verify(signature, data)
    except InvalidSignature as exc:
        raise AlteredDocument(
            "signature does not verify over this document and proof options: the document was "
            f"altered after signing or was not signed by {vm}"
        ) from exc
