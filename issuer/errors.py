"""Errors of the issuer service: one root, specific leaves.

A leaf states its error code in its class line (``code=``); what it does not state it inherits from
its base. The HTTP status of each is chosen at the API layer only (`issuer.api.errors.http_status`).
"""

from __future__ import annotations

from typing import Any

from talentproof.errors import EXIT_UNAVAILABLE, TalentProofError


class IssuerError(TalentProofError):
    """Root of every error raised by ``talentproof.issuer``."""

    code = "issuer_error"

    def __init_subclass__(cls, *, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(IssuerError, code="not_found"):
    """The resource does not exist, or belongs to another institution."""


class Unauthenticated(IssuerError, code="unauthenticated"):
    """No API key, or an unknown, revoked or malformed one."""


class Forbidden(IssuerError, code="forbidden"):
    """The API key is valid but lacks the scope or role the endpoint needs."""


class InstitutionSuspended(Forbidden, code="institution_suspended"):
    """The API key is valid but its institution is suspended: by this service's operator, or on
    the ledger (the message says which, and since when)."""


class InstitutionRemoved(Forbidden, code="institution_removed"):
    """The API key is valid but the ledger shows its institution removed (final)."""


class UnsupportedMediaType(IssuerError, code="unsupported_media_type"):
    """The body is not sent as JSON (``Content-Type: application/json``)."""


class InvalidRequest(IssuerError, code="invalid_request"):
    """The request is malformed; the message names what was expected."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAccredited(IssuerError, code="not_accredited"):
    """The institution is not accredited for the credential type it tried to issue, or not at
    that degree's level (``field``: the request member refused)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(IssuerError, code="conflict"):
    """The request conflicts with the resource's state (e.g. revoking a revoked credential)."""


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"):
    """The same Idempotency-Key was sent with a different request."""


class PayloadTooLarge(IssuerError, code="payload_too_large"):
    """The request body exceeds the configured limit (the message names it)."""


class RateLimited(IssuerError, code="rate_limited"):
    """The API key sent more requests than its rate limit allows; retry after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LedgerUnavailable(IssuerError, code="chain_unavailable"):
    """The ledger cannot be reached; the operation needs it now (the issuer's face of
    ``ledger.errors.ChainUnavailable``, which it wraps)."""

    exit_code = EXIT_UNAVAILABLE


class AccountBusy(LedgerUnavailable, code="chain_account_busy"):
    """Another replica or request kept sending from the same chain account longer than the
    send lock's wait (`store.sendlock`): nothing was sent; a retry may pass (HTTP 503)."""


class NotReady(IssuerError, code="not_ready"):
    """The readiness check could not read the service's database (``message``: the database's
    error): the service cannot take work now."""


class ConfigurationError(IssuerError, code="configuration_error"):
    """The service is misconfigured (missing passphrase file, unreadable deployment record)."""


class KeyDecryptionError(IssuerError, code="key_decryption_failed"):
    """An encrypted signing key could not be decrypted (wrong passphrase or tampered row)."""
