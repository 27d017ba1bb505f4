"""Errors of the issuer service: one root, specific leaves, each mapped to one HTTP status."""

from __future__ import annotations


class IssuerError(Exception):
    """Root of every error raised by ``talentproof.issuer``."""

    status_code = 500
    code = "issuer_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(IssuerError):
    """The resource does not exist, or belongs to another institution."""

    status_code = 404
    code = "not_found"


class Unauthenticated(IssuerError):
    """No API key, or an unknown, revoked or malformed one."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(IssuerError):
    """The API key is valid but lacks the scope or role the endpoint needs."""

    status_code = 403
    code = "forbidden"


class InvalidRequest(IssuerError):
    """The request is malformed; the message names what was expected."""

    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAccredited(IssuerError):
    """The institution is not accredited for the credential type it tried to issue."""

    status_code = 403
    code = "not_accredited"


class Conflict(IssuerError):
    """The request conflicts with the resource's state (e.g. revoking a revoked credential)."""

    status_code = 409
    code = "conflict"


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key was sent with a different request."""

    code = "idempotency_key_reused"


class PayloadTooLarge(IssuerError):
    """The request body exceeds the configured limit (the message names it)."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(IssuerError):
    """The API key sent more requests than its rate limit allows; retry after ``retry_after``."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChainUnavailable(IssuerError):
    """The ledger cannot be reached; the operation needs it now."""

    status_code = 503
    code = "chain_unavailable"


class ConfigurationError(IssuerError):
    """The service is misconfigured (missing passphrase file, unreadable deployment record)."""

    code = "configuration_error"


class KeyDecryptionError(IssuerError):
    """An encrypted signing key could not be decrypted (wrong passphrase or tampered row)."""

    code = "key_decryption_failed"
