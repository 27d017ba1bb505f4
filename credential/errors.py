"""The error tree of `talentproof.credential`: one root, specific leaves.

Every error a caller can act on has its own class; messages say what was expected and what was
found. Third-party exceptions (cryptography, jsonschema, zlib, zxing) are translated here at the
package boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any

from talentproof.errors import TalentProofError


class CredentialError(TalentProofError):
    """Root of every error raised by `talentproof.credential`."""


# --- model / schema ---------------------------------------------------------------------------


class SchemaValidationError(CredentialError):
    """A credential or presentation does not match its schema or a VC 2.0 structural rule.

    ``field`` is a dotted JSON path (``credentialSubject.degree.level``), ``expected`` says what
    was required and ``found`` what the document held.
    """

    def __init__(self, field: str, expected: str, found: Any) -> None:
        self.field = field
        self.expected = expected
        self.found = found
        super().__init__(f"{field or '<document>'}: expected {expected}, found {_short(found)}")


class ImpossibleFact(SchemaValidationError):
    """A credential states a fact that cannot be true (`claims.fact_problems`): a date that is
    not a calendar date, in the future, before a date it must follow.

    ``field`` is the dotted path (``credentialSubject.degree.awardDate``), ``message`` what was
    expected (``expected a date on or before 2026-12-06 (today), found 2099-06-30``).
    """

    def __init__(self, field: str, message: str, found: Any) -> None:
        expected = "a calendar date YYYY-MM-DD"
        if message.startswith("expected "):
            expected = message[len("expected ") :].split(", found ")[0]
        super().__init__(field, expected, found)
        self.message = message
        self.args = (f"{field}: {message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class _Missing:
    """Marks a required value that is absent (``found`` of a `SchemaValidationError`)."""

    def __repr__(self) -> str:
        return "nothing"


MISSING: Any = _Missing()


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CanonicalizationError(CredentialError):
    """A value cannot be put in RFC 8785 (JCS) canonical form (NaN, 2^53+ integers, bad keys)."""


# --- proofs -----------------------------------------------------------------------------------


class ProofError(CredentialError):
    """A Data Integrity proof could not be created or does not verify."""


class MissingProof(ProofError):
    """The document carries no Data Integrity proof."""


class UnsupportedCryptosuite(ProofError):
    """The proof type or cryptosuite is not ``DataIntegrityProof`` / ``eddsa-jcs-2022``."""


class WrongProofPurpose(ProofError):
    """The proof's ``proofPurpose`` is not the purpose the verifier asked for."""


class MalformedMultibase(ProofError):
    """A multibase value (proofValue, publicKeyMultibase, did:key) is not well formed."""


class KeyMismatch(ProofError):
    """The key does not match the verification method (or the verification method is unknown)."""


class InvalidSignature(ProofError):
    """The proofValue is not a valid Ed25519 signature (wrong length or not canonical)."""


class AlteredDocument(InvalidSignature):
    """The signature is well formed but does not verify over this document and proof options.

    Ed25519 cannot tell whether the document, the proof options or the signature changed after
    signing; a well-formed signature that fails is reported as an altered document.  Catch
    `InvalidSignature` to handle both.
    """


class ChallengeMismatch(ProofError):
    """A presentation proof's ``challenge`` differs from the verifier's nonce (or is missing)."""


class DomainMismatch(ProofError):
    """A presentation proof's ``domain`` differs from the verifier's domain (or is missing)."""


class HolderMismatch(ProofError):
    """A presentation is not signed by its holder, or bundles a credential of another subject."""


# --- Merkle / anchor --------------------------------------------------------------------------


class MerkleProofError(CredentialError):
    """A Merkle inclusion proof is malformed or does not lead to the expected root."""


class AnchorFormatError(CredentialError):
    """A ``TalentProofAnchor`` proof entry is malformed."""


class UnknownContext(CredentialError):
    """A JSON-LD context URL the package does not ship (`credential.contexts.load_context`):
    contexts are never fetched over the network."""


# --- QR payloads ------------------------------------------------------------------------------


class QRPayloadError(CredentialError):
    """A QR payload cannot be encoded, decoded or rendered."""


class GarbagePayload(QRPayloadError):
    """The text is not a TalentProof payload (wrong prefix, bad Base45, corrupt stream)."""


class TruncatedPayload(QRPayloadError):
    """The payload ends before its declared content."""


class OversizedPayload(QRPayloadError):
    """The payload (or its decompressed content) exceeds the decoder's limits."""


class UnknownPayloadVersion(QRPayloadError):
    """The payload declares a format version this decoder does not know."""


class NoQRCodeFound(QRPayloadError):
    """An image holds no readable TalentProof QR code."""


class PayloadTooLargeForQR(QRPayloadError):
    """The payload does not fit in one QR code at the required error-correction level.

    ``excess_chars`` is how many alphanumeric characters are over the capacity of the largest
    allowed version; ``excess_bytes`` the same in payload bytes (Base45: 3 chars per 2 bytes).
    """

    def __init__(
        self,
        excess_chars: int,
        *,
        capacity_chars: int,
        length_chars: int,
        max_version: int,
        error: str,
    ) -> None:
        self.excess_chars = excess_chars
        self.excess_bytes = -(-excess_chars * 2 // 3)
        self.capacity_chars = capacity_chars
        self.length_chars = length_chars
        self.max_version = max_version
        super().__init__(
            f"payload is {length_chars} QR characters; one QR code of version <= {max_version} at "
            f"error correction {error.upper()} holds {capacity_chars}: {excess_chars} characters "
            f"(about {self.excess_bytes} payload bytes) too large"
        )
