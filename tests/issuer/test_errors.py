"""The issuer's error classes: public names, hierarchy, error codes, and their HTTP statuses
(mapped at the API layer)."""

from __future__ import annotations

import pytest

from talentproof.issuer import errors
from talentproof.issuer.api.errors import http_status
from talentproof.issuer.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidRequest,
    IssuerError,
    RateLimited,
)

# class, its base, HTTP status, error code
TABLE = [
    (name, base, int(status), code)
    for name, base, status, code in map(
        str.split,
        """
        IssuerError           TalentProofError 500  issuer_error
        NotFound              IssuerError   404  not_found
        Unauthenticated       IssuerError   401  unauthenticated
        Forbidden             IssuerError   403  forbidden
        InstitutionSuspended  Forbidden     403  institution_suspended
        InstitutionRemoved    Forbidden     403  institution_removed
        UnsupportedMediaType  IssuerError   415  unsupported_media_type
        InvalidRequest        IssuerError   422  invalid_request
        NotAccredited         IssuerError   403  not_accredited
        Conflict              IssuerError   409  conflict
        IdempotencyKeyReused  Conflict      409  idempotency_key_reused
        PayloadTooLarge       IssuerError   413  payload_too_large
        RateLimited           IssuerError   429  rate_limited
        LedgerUnavailable     IssuerError   503  chain_unavailable
        AccountBusy           LedgerUnavailable 503 chain_account_busy
        NotReady              IssuerError   503  not_ready
        ConfigurationError    IssuerError   500  configuration_error
        KeyDecryptionError    IssuerError   500  key_decryption_failed
        """.strip().splitlines(),
    )
]


@pytest.mark.parametrize("name,base,status,code", TABLE)
def test_error_class_code_and_status(name: str, base: str, status: int, code: str) -> None:
    cls = getattr(errors, name)
    assert cls.__name__ == name and cls.__module__ == "talentproof.issuer.errors"
    assert [b.__name__ for b in cls.__bases__] == [base]
    assert (http_status(cls), cls.code) == (status, code)
    assert cls.__doc__ and cls.__doc__.strip()
    if cls in (InvalidRequest, RateLimited):
        return
    exc = cls("what went wrong")
    assert isinstance(exc, IssuerError) and isinstance(exc, Exception)
    assert (exc.message, str(exc), http_status(exc), exc.code) == (
        "what went wrong",
        "what went wrong",
        status,
        code,
    )


def test_every_public_error_is_in_the_table() -> None:
    public = {
        n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, IssuerError)
    }
    assert public == {row[0] for row in TABLE}


def test_errors_with_extra_fields() -> None:
    exc = InvalidRequest("bad subject", field="credentialSubject")
    assert (exc.message, exc.field, http_status(exc)) == ("bad subject", "credentialSubject", 422)
    assert InvalidRequest("no field").field is None
    limited = RateLimited("slow down", retry_after=7)
    assert (limited.message, limited.retry_after, limited.code) == ("slow down", 7, "rate_limited")
    with pytest.raises(TypeError):
        RateLimited("slow down")  # type: ignore[call-arg]
    reused = IdempotencyKeyReused("other body")
    assert isinstance(reused, Conflict) and http_status(reused) == 409
