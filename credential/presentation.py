"""Verifiable presentations bound to a verifier's challenge.

An applicant bundles the anchored credentials of one application (degree, employment,
training) into a VC 2.0 presentation whose ``holder`` is their did:key and signs it with an
eddsa-jcs-2022 proof of purpose ``authentication`` carrying the verifier's ``challenge`` (nonce)
and ``domain``. A copied presentation QR therefore cannot be replayed to another verifier or
for another nonce.

`verify_presentation` checks the binding (proof, purpose, challenge, domain, holder key) and that
every bundled credential is about the holder (``credentialSubject.id == holder``); it returns the
bundled credentials, whose own proofs and anchors the verifier checks next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .errors import HolderMismatch, KeyMismatch, MalformedMultibase, SchemaValidationError
from .integrity import sign, verify
from .keys import Ed25519PublicKey, Ed25519SigningKey
from .model import CREDENTIALS_V2, TALENTPROOF_CONTEXT, validate_presentation

__all__ = [
    "SALT_PROPERTY",
    "create_presentation",
    "presentation_salt",
    "verify_holder_proof",
    "verify_presentation",
]

AUTHENTICATION = "authentication"
SALT_PROPERTY = "identityDocumentSalt"
"""The presentation's top-level property carrying the holder's identity-document salt."""


def create_presentation(
    credentials: Sequence[Mapping[str, Any]],
    holder_key: Ed25519SigningKey,
    *,
    challenge: str,
    domain: str,
    created: datetime,
    id: str | None = None,
    identity_document_salt: str | None = None,
) -> dict[str, Any]:
    """A presentation of ``credentials`` signed by the holder's did:key for one verifier.

    Every credential's subject must be the holder (`HolderMismatch` otherwise).
    ``identity_document_salt`` (the holder's salt, `person.new_salt`) is disclosed to this
    verifier as the top-level ``identityDocumentSalt``, covered by the holder's signature, so the
    verifier can check the credentials' identity-document commitment against the document in
    front of the officer (`person.identity_document_matches`).
    """
    if not challenge or not isinstance(challenge, str):
        raise ValueError("challenge: expected the verifier's non-empty nonce")
    if not domain or not isinstance(domain, str):
        raise ValueError("domain: expected the verifier's non-empty domain")
    if not credentials:
        raise ValueError("credentials: expected at least one credential")
    holder = holder_key.public_key.did_key
    for i, cred in enumerate(credentials, 1):
        _check_subject(cred, holder, i, len(credentials))
    vp: dict[str, Any] = {"@context": [CREDENTIALS_V2, TALENTPROOF_CONTEXT]}  # identityDocumentSalt
    if id is not None:
        vp["id"] = id
    vp["type"] = ["VerifiablePresentation"]
    vp["holder"] = holder
    vp["verifiableCredential"] = [dict(c) for c in credentials]
    if identity_document_salt is not None:
        _check_salt(identity_document_salt)
        vp[SALT_PROPERTY] = identity_document_salt
    return sign(
        vp,
        holder_key,
        verification_method=holder_key.public_key.verification_method,
        created=created,
        proof_purpose=AUTHENTICATION,
        challenge=challenge,
        domain=domain,
    )


def verify_presentation(
    vp: Mapping[str, Any], *, challenge: str, domain: str
) -> list[dict[str, Any]]:
    """Check a presentation's holder binding; return its credentials.

    Raises `SchemaValidationError` (not a VC 2.0 presentation), a `ProofError` leaf for the
    proof (`WrongProofPurpose`, `ChallengeMismatch`, `DomainMismatch`, `AlteredDocument`, …)
    or `HolderMismatch` (signed by another key than the holder's, or a credential about
    someone else).
    """
    if not challenge or not domain:
        raise ValueError("verify_presentation needs the verifier's challenge and domain")
    return _verify(vp, challenge, domain)


def verify_holder_proof(vp: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check a presentation's holder proof when no challenge was asked; return its credentials.

    The same checks as `verify_presentation` (a VC 2.0 presentation, an ``authentication`` proof
    that verifies, signed by the holder's did:key, every credential about the holder) except that
    the proof's challenge and domain are not compared: nothing was asked. A presentation without a
    proof raises `MissingProof`: a presentation claims a holder, and a claim nobody signed is not
    taken.
    """
    return _verify(vp, None, None)


def _verify(
    vp: Mapping[str, Any], challenge: str | None, domain: str | None
) -> list[dict[str, Any]]:
    validate_presentation(vp)
    holder = vp.get("holder")
    if not isinstance(holder, str) or not holder.startswith("did:key:"):
        raise SchemaValidationError("holder", "the holder's did:key", holder)
    try:
        holder_key = Ed25519PublicKey.from_did_key(holder)
    except (MalformedMultibase, KeyMismatch) as exc:
        raise SchemaValidationError("holder", "the holder's Ed25519 did:key", holder) from exc
    verified = verify(vp, expected_purpose=AUTHENTICATION, challenge=challenge, domain=domain)
    if verified.public_key != holder_key:
        raise HolderMismatch(
            f"presentation signed by {verified.verification_method}, not by its holder {holder}"
        )
    creds = vp.get("verifiableCredential") or []
    if isinstance(creds, Mapping):
        creds = [creds]
    if not creds:
        raise SchemaValidationError("verifiableCredential", "at least one credential", creds)
    for i, cred in enumerate(creds, 1):
        _check_subject(cred, holder, i, len(creds))
    return [dict(c) for c in creds]


def presentation_salt(vp: Mapping[str, Any]) -> str | None:
    """The holder's identity-document salt a presentation discloses (``identityDocumentSalt``),
    or None when it carries none or not a well-formed salt (base64url, at least 16 bytes).

    The property is covered by the holder's proof: read it from a presentation that
    `verify_presentation` accepted.
    """
    if not isinstance(vp, Mapping):
        return None
    salt = vp.get(SALT_PROPERTY)
    try:
        _check_salt(salt)
    except ValueError:
        return None
    return salt


def _check_salt(salt: Any) -> None:
    if not isinstance(salt, str) or not _SALT.fullmatch(salt) or len(salt) % 4 == 1:
        raise ValueError(
            f"{SALT_PROPERTY}: expected the holder's salt (base64url without "
            f"padding, at least 16 bytes), found {salt!r}"
        )


_SALT = re.compile(r"^[A-Za-z0-9_-]{22,200}$")


def _check_subject(cred: Mapping[str, Any], holder: str, number: int, total: int) -> None:
    """Refuse ``cred`` (the ``number``-th of ``total``, counted from 1 as a user counts the
    files given or `wallet list` numbers them) unless it is about ``holder`` alone."""
    subject = cred.get("credentialSubject") if isinstance(cred, Mapping) else None
    subjects = subject if isinstance(subject, list) else [subject]
    ids = [s.get("id") if isinstance(s, Mapping) else None for s in subjects]
    if any(i != holder for i in ids):
        cid = cred.get("id") if isinstance(cred, Mapping) else "?"
        raise HolderMismatch(
            f"credential {number} of {total} ({cid}) is about "
            f"{ids[0] if len(ids) == 1 else ids}, not the holder {holder}"
        )
