"""The person a credential names, and the salted commitment to their identity document.

Every TalentProof credential names its subject so that an officer can match them to the travel
document in front of them, without the credential leaking the document's number.
``credentialSubject`` carries, beside the holder's ``id`` (did:key):

- ``name``: the full name as on the travel document (1-200 characters);
- ``birthDate``: ``YYYY-MM-DD``;
- ``identityDocument``: ``{"documentType": "HKID" | "Passport" |
  "MainlandResidentIdentityCard", "issuingCountry": "HK", "commitment": "hmac-sha256:<43
  base64url characters>"}``.

The commitment is ``HMAC-SHA256(key = salt, msg = b"talentproof/identity-document/v1\\0" + type
+ b"\\0" + country + b"\\0" + normalized number)``, base64url without padding, prefixed
``hmac-sha256:``. The salt (16 random bytes, `new_salt`; any salt of at least 16 bytes is
accepted, so the 32-byte salts of earlier key files stay valid) is generated and kept by the holder
(in their key file) and disclosed only to the verifier they present to (a presentation's
``identityDocumentSalt``): identity-document numbers have too little entropy to be hidden by an
unsalted hash, while 128 random bits as the HMAC key are beyond any search. The number itself
never appears in a credential, at the issuer or on chain.

>>> salt = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
>>> doc = {"documentType": "HKID", "issuingCountry": "HK",
...        "commitment": commit_identity_document("HKID", "HK", "A123456(7)", salt)}
>>> identity_document_matches(doc, "a 123456 (7)", salt)
True
>>> identity_document_matches(doc, "A1234568", salt)
False
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMMITMENT_PREFIX",
    "COMMITMENT_RE",
    "DOCUMENT_TYPES",
    "Person",
    "check_salt",
    "commit_identity_document",
    "identity_document_matches",
    "new_salt",
    "normalize_document_number",
    "person_of",
]

DOCUMENT_TYPES: tuple[str, ...] = ("HKID", "Passport", "MainlandResidentIdentityCard")
"""The identity documents a commitment can name."""

COMMITMENT_PREFIX = "hmac-sha256:"
COMMITMENT_RE = re.compile(r"^hmac-sha256:[A-Za-z0-9_-]{43}$")
"""The form of a commitment: the prefix and 32 bytes in base64url without padding."""

_DOMAIN = b"talentproof/identity-document/v1\x00"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DROP = str.maketrans("", "", " ()-/.")
_MIN_SALT_BYTES = 16
_NEW_SALT_BYTES = 16


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("salt: expected base64url text without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"salt: not base64url ({exc})") from exc


def new_salt() -> str:
    """A fresh holder salt: 16 random bytes, base64url without padding (22 characters).

    128 bits: the commitment hides the document number as long as the salt is unknown, and
    guessing a 128-bit HMAC key is out of reach; the 21 characters a 32-byte salt would add cost
    about 17 bytes in every bound presentation's QR code.
    """
    return _b64url(secrets.token_bytes(_NEW_SALT_BYTES))


def normalize_document_number(number: str) -> str:
    """The canonical form of a document number: uppercase, without spaces, ``()-/.``.

    ``"a123456(7)"`` and ``"A 123456 (7)"`` both give ``"A1234567"``. Raises `ValueError` when
    nothing is left or a character other than ASCII letters and digits remains.
    """
    if not isinstance(number, str):
        raise ValueError(f"document number: expected a text, found {type(number).__name__}")
    dropped = number.translate(_DROP)
    if not dropped:
        raise ValueError("document number: expected letters or digits, found none")
    # only ASCII letters and digits: upper() would turn some others into them ("ß", "ﬀ"), and a
    # full-width or look-alike character is not the one committed at issuance
    bad = sorted({c for c in dropped if not (c.isascii() and c.isalnum())})
    if bad:
        named = ", ".join(
            f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})" for c in bad[:5]
        )
        raise ValueError(
            f"document number: unexpected character(s) {named}{' ...' if len(bad) > 5 else ''}; "
            f"expected ASCII letters, digits, spaces and ()-/. only"
        )
    normalized = dropped.upper()
    return normalized


def _check_type_country(document_type: str, issuing_country: str) -> None:
    if document_type not in DOCUMENT_TYPES:
        raise ValueError(
            f"documentType: expected one of {list(DOCUMENT_TYPES)}, found {document_type!r}"
        )
    if not isinstance(issuing_country, str) or not _COUNTRY.fullmatch(issuing_country):
        raise ValueError(
            f"issuingCountry: expected an ISO 3166-1 alpha-2 code in capitals "
            f"(e.g. HK, CN, GB), found {issuing_country!r}"
        )


def check_salt(salt: str) -> None:
    """Raise `ValueError` naming what is expected unless ``salt`` is a holder salt (base64url
    without padding, at least 16 bytes): what `commit_identity_document` takes."""
    _salt_bytes(salt)


def _salt_bytes(salt: str) -> bytes:
    key = _b64url_decode(salt)
    if len(key) < _MIN_SALT_BYTES:
        raise ValueError(
            f"salt: expected at least {_MIN_SALT_BYTES} bytes (base64url), found {len(key)}"
        )
    return key


def commit_identity_document(
    document_type: str, issuing_country: str, number: str, salt: str
) -> str:
    """The salted commitment ``hmac-sha256:...`` to an identity document's number.

    Raises `ValueError` naming the argument for an unknown ``document_type`` (not in
    `DOCUMENT_TYPES`), an ``issuing_country`` that is not two capital letters, a number
    `normalize_document_number` refuses or a salt shorter than 16 bytes.
    """
    _check_type_country(document_type, issuing_country)
    normalized = normalize_document_number(number)
    key = _salt_bytes(salt)
    msg = (
        _DOMAIN
        + document_type.encode("ascii")
        + b"\x00"
        + issuing_country.encode("ascii")
        + b"\x00"
        + normalized.encode("ascii")
    )
    return COMMITMENT_PREFIX + _b64url(hmac.new(key, msg, hashlib.sha256).digest())


def identity_document_matches(identity_document: Mapping[str, Any], number: str, salt: str) -> bool:
    """Whether ``identity_document`` (a subject's ``identityDocument``) commits to ``number``.

    Constant-time comparison; False (never an exception) on any malformed input: not a mapping,
    an unknown type or country, a malformed commitment, number or salt.
    """
    try:
        if not isinstance(identity_document, Mapping):
            return False
        commitment = identity_document.get("commitment")
        if not isinstance(commitment, str) or not COMMITMENT_RE.fullmatch(commitment):
            return False
        expected = commit_identity_document(
            identity_document.get("documentType"),  # type: ignore[arg-type]
            identity_document.get("issuingCountry"),  # type: ignore[arg-type]
            number,
            salt,
        )
    except (ValueError, TypeError, UnicodeError):
        return False
    return hmac.compare_digest(expected.encode("ascii"), commitment.encode("ascii"))


@dataclass(frozen=True)
class Person:
    """The person a credential names (``document_*`` and ``commitment`` None when absent)."""

    name: str
    birth_date: str
    document_type: str | None
    issuing_country: str | None
    commitment: str | None


def person_of(credential: Mapping[str, Any]) -> Person | None:
    """The `Person` of a credential's ``credentialSubject`` (or of a bare subject).

    None when the subject has no text ``name`` and ``birthDate``; the identity-document fields
    are None when ``identityDocument`` or one of its entries is missing or not a text.
    """
    if not isinstance(credential, Mapping):
        return None
    subject: Any = credential.get("credentialSubject", credential)
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        return None
    name, birth = subject.get("name"), subject.get("birthDate")
    if not isinstance(name, str) or not isinstance(birth, str):
        return None
    doc = subject.get("identityDocument")
    doc = doc if isinstance(doc, Mapping) else {}

    def text(key: str) -> str | None:
        value = doc.get(key)
        return value if isinstance(value, str) else None

    return Person(
        # canonically equivalent spellings (NFC, NFD) are one name: they render alike
        name=unicodedata.normalize("NFC", name),
        birth_date=birth,
        document_type=text("documentType"),
        issuing_country=text("issuingCountry"),
        commitment=text("commitment"),
    )
