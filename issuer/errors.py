"""Errors of the issuer service: one root, specific leaves, each mapped to one HTTP status.

A leaf states its HTTP status and error code in its class line (``status_code=``, ``code=``);
what it does not state it inherits from its base.
"""

from __future__ import annotations

from typing import Any

from talentproof.errors import EXIT_UNAVAILABLE, TalentProofError


class IssuerError(TalentProofError):
    """Root of every error raised by ``talentproof.issuer``."""

    status_code = 500
    code = "issuer_error"

    def __init_subclass__(
        cls, *, status_code: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status_code is not None:
            cls.status_code = status_code
        if code is not None:
            cls.code = code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(IssuerError, status_code=404, code="not_found"):
    """The resource does not exist, or belongs to another institution."""


class Unauthenticated(IssuerError, status_code=401, code="unauthenticated"):
    """No API key, or an unknown, revoked or malformed one."""


class Forbidden(IssuerError, status_code=403, code="forbidden"):
    """The API key is valid but lacks the scope or role the endpoint needs."""


class InstitutionSuspended(Forbidden, code="institution_suspended"):
    """The API key is valid but its institution is suspended: by this service's operator, or on
    the ledger (the message says which, and since when)."""


class InstitutionRemoved(Forbidden, code="institution_removed"):
    """The API key is valid but the ledger shows its institution removed (final)."""


class UnsupportedMediaType(IssuerError, status_code=415, code="unsupported_media_type"):
    """The body is not sent as JSON (``Content-Type: application/json``)."""


class InvalidRequest(IssuerError, status_code=422, code="invalid_request"):
    """The request is malformed; the message names what was expected."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAccredited(IssuerError, status_code=403, code="not_accredited"):
    """The institution is not accredited for the credential type it tried to issue."""


class Conflict(IssuerError, status_code=409, code="conflict"):
    """The request conflicts with the resource's state (e.g. revoking a revoked credential)."""


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"):
    """The same Idempotency-Key was sent with a different request."""


class PayloadTooLarge(IssuerError, status_code=413, code="payload_too_large"):
    """The request body exceeds the configured limit (the message names it)."""


class RateLimited(IssuerError, status_code=429, code="rate_limited"):
    """The API key sent more requests than its rate limit allows; retry after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LedgerUnavailable(IssuerError, status_code=503, code="chain_unavailable"):
    """The ledger cannot be reached; the operation needs it now (the issuer's face of
    ``ledger.errors.ChainUnavailable``, which it wraps)."""

    exit_code = EXIT_UNAVAILABLE


class ConfigurationError(IssuerError, code="configuration_error"):
    """The service is misconfigured (missing passphrase file, unreadable deployment record)."""


class KeyDecryptionError(IssuerError, code="key_decryption_failed"):
    """An encrypted signing key could not be decrypted (wrong passphrase or tampered row)."""
