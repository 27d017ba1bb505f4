"""API keys, roles and scopes (pure helpers; storage lives in the service).

A key reads ``tpk_<id>_<secret>``: the id finds the row, only ``SHA-256(secret)`` is stored and
compared in constant time. Roles: ``institution`` keys carry scopes ``issue``, ``revoke``,
``read``; ``operator`` keys manage institutions and their keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from .errors import InvalidRequest, Unauthenticated

ROLE_INSTITUTION = "institution"
ROLE_OPERATOR = "operator"
SCOPES = ("issue", "revoke", "read")
OPERATOR_SCOPES = ("operate",)
_PREFIX = "tpk_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an institution's key (with scopes) or an operator."""

    key_id: str
    role: str
    scopes: frozenset[str]
    institution_id: int | None = None

    @property
    def is_operator(self) -> bool:
        """Whether the caller holds the operator role."""
        return self.role == ROLE_OPERATOR


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly made key: ``token`` is shown once and never stored."""

    key_id: str
    token: str
    secret_hash: bytes


def hash_secret(secret: str) -> bytes:
    """SHA-256 of the secret part of a key (keys are 256-bit random, so no slow hash needed)."""
    return hashlib.sha256(secret.encode()).digest()


def new_api_key() -> NewApiKey:
    """Generate a key id and secret."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(
        key_id=key_id, token=f"{_PREFIX}{key_id}_{secret}", secret_hash=hash_secret(secret)
    )


BEARER_FORM = "Authorization: Bearer <API key>"
"""The one form the issuer reads an API key in (``<API key>``: ``tpk_<id>_<secret>``)."""


def not_bearer() -> Unauthenticated:
    """The refusal of an ``Authorization`` header that is there but not ``Bearer <API key>``
    (the key alone, ``Basic ...``, ``Bearer`` with nothing after it): it names the form expected,
    never what was sent (it may be the key itself)."""
    return Unauthenticated(
        f"the Authorization header was found but is not in the form '{BEARER_FORM}'; "
        "send 'Authorization: Bearer tpk_<id>_<secret>' (the word Bearer, a space, then the key)"
    )


def parse_token(token: str) -> tuple[str, str]:
    """Split ``tpk_<id>_<secret>``; raises :class:`Unauthenticated` naming the expected form."""
    if not token.startswith(_PREFIX) or token.count("_") < 2:
        raise Unauthenticated("malformed API key; expected 'tpk_<id>_<secret>'")
    key_id, _, secret = token[len(_PREFIX) :].partition("_")
    if not key_id or not secret:
        raise Unauthenticated("malformed API key; expected 'tpk_<id>_<secret>'")
    return key_id, secret


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    """Constant-time comparison of a presented secret against the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def normalize_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate institution scopes; raises naming the allowed values."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidRequest(
            f"scopes must be a non-empty subset of {list(SCOPES)}, got {list(scopes)}",
            field="scopes",
        )
    return tuple(s for s in SCOPES if s in scopes)
