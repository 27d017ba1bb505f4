"""OpenID4VCI key proofs (``proofs.jwt``, OpenID4VCI 1.0 appendix F.1, docs/openid4vc.md): the
wallet's JWT checked with PyJWT (EdDSA through ``cryptography``), its key read from a ``did:key``
DID URL (``kid``) or an OKP Ed25519 ``jwk`` with the project's key code (`credential.keys`).

`verify_proof_jwt` returns the proved holder (its ``did:key``) and the ``nonce`` it signed, or
raises `ProofRejected` saying why; the single use of the nonce is the caller's (the store).
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey as CryptoKey

from talentproof.credential.errors import CredentialError, InvalidSignature
from talentproof.credential.keys import Ed25519PublicKey

#: The ``typ`` header of a key proof JWT.
PROOF_TYP = "openid4vci-proof+jwt"
#: The one signing algorithm accepted (Ed25519 keys, as the holders' did:key).
PROOF_ALG = "EdDSA"
#: How far a proof's ``iat`` may be from now, either way (seconds).
MAX_IAT_SKEW_S = 300


class ProofRejected(ValueError):
    """The key proof is refused (``invalid_proof``); the message says why."""


@dataclass(frozen=True, slots=True)
class ProvedKey:
    """What a valid key proof establishes: the holder's ``did:key`` and the nonce it signed."""

    did: str
    nonce: str


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _holder_key(header: dict[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key a proof's header names: ``kid`` (a did:key DID URL) or ``jwk``."""
    kid, jwk = header.get("kid"), header.get("jwk")
    if (kid is None) == (jwk is None):
        raise ProofRejected("the proof's header must carry exactly one of kid and jwk")
    if "x5c" in header or "trust_chain" in header:
        raise ProofRejected("x5c and trust_chain keys are not supported; use kid or jwk")
    try:
        if kid is not None:
            if not isinstance(kid, str) or not kid.startswith("did:key:") or "#" not in kid:
                raise ProofRejected(
                    f"kid must be a did:key DID URL (did:key:z6Mk...#z6Mk...), got {kid!r:.100}"
                )
            return Ed25519PublicKey.from_did_key(kid)
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ProofRejected("jwk must be an OKP Ed25519 public key")
        if "d" in jwk:
            raise ProofRejected("jwk carries a private key")
        x = jwk.get("x")
        if not isinstance(x, str):
            raise ProofRejected("jwk lacks x")
        return Ed25519PublicKey.from_raw(_b64url(x))
    except (CredentialError, binascii.Error, ValueError) as exc:
        if isinstance(exc, ProofRejected):
            raise
        raise ProofRejected(f"the proof's key cannot be read: {exc}") from exc


def verify_proof_jwt(token: Any, *, audience: str, now: float) -> ProvedKey:
    """Check a key proof JWT for the Credential Issuer ``audience`` at Unix time ``now``:
    ``typ`` `PROOF_TYP`, ``alg`` EdDSA, a did:key ``kid`` or an Ed25519 ``jwk``, the signature,
    ``aud``, ``iat`` within `MAX_IAT_SKEW_S` of ``now`` and a ``nonce``. Raises `ProofRejected`."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise ProofRejected("the proof is not a compact JWT")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ProofRejected(f"the proof's header cannot be read: {exc}") from exc
    if header.get("typ") != PROOF_TYP:
        raise ProofRejected(f"the proof's typ must be {PROOF_TYP!r}, got {header.get('typ')!r:.60}")
    if header.get("alg") != PROOF_ALG:
        raise ProofRejected(f"the proof's alg must be {PROOF_ALG!r}, got {header.get('alg')!r:.60}")
    key = _holder_key(header)
    try:
        payload = jwt.decode(
            token,
            CryptoKey.from_public_bytes(key.raw),
            algorithms=[PROOF_ALG],
            audience=audience,
            options={"require": ["aud", "iat", "nonce"], "verify_iat": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise ProofRejected(f"the proof's aud must be {audience!r}") from exc
    except jwt.InvalidSignatureError as exc:
        raise ProofRejected("the proof's signature does not verify with its key") from exc
    except jwt.PyJWTError as exc:
        raise ProofRejected(f"the proof is invalid: {exc}") from exc
    # PyJWT checks with OpenSSL, which accepts a key of small order (the identity point: one
    # signature "verifies" for every message, a key nobody holds): the project's libsodium
    # check refuses those, and non-canonical encodings, so the credential is bound to a key the
    # wallet really holds.
    signing_input, _, signature = token.rpartition(".")
    try:
        key.verify(_b64url(signature), signing_input.encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise ProofRejected(
            "the proof's signature does not verify with its key (a key or signature of small "
            "order, or a non-canonical encoding, is refused)"
        ) from exc
    if not isinstance(payload["aud"], str):
        # PyJWT takes a list holding the audience: F.1's aud is the Credential Issuer
        # Identifier, one string, so that a proof is for one issuer
        raise ProofRejected(
            f"the proof's aud must be {audience!r}, one string, got {payload['aud']!r:.200}"
        )
    iat = payload["iat"]
    # Python's JSON parser (PyJWT's) reads NaN, Infinity, 1e400 and integers of any size: NaN
    # passed the skew check below (every comparison with it is false), an infinity or an
    # integer beyond a float raised OverflowError (HTTP 500)
    try:
        when = float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None
    except OverflowError:
        when = None
    if when is None or not math.isfinite(when):
        raise ProofRejected(
            f"the proof's iat must be a finite number (seconds since 1970), got {iat!r:.60}"
        )
    if abs(now - when) > MAX_IAT_SKEW_S:
        raise ProofRejected(
            f"the proof's iat is {int(now - when)} s from now (at most {MAX_IAT_SKEW_S} s either way)"
        )
    nonce = payload["nonce"]
    if not isinstance(nonce, str) or not nonce:
        raise ProofRejected("the proof's nonce must be a non-empty string")
    return ProvedKey(key.did_key, nonce)
