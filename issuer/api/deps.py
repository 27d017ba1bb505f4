"""The dependencies of the issuer's routes: settings, the service, the caller and idempotent
writes.

Every dependency here is ``async``, so FastAPI runs it on the event loop without a thread hop
(they are cheap: authentication is cached for a few seconds by the service).
"""

import functools
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..auth import Principal, not_bearer
from ..outcome import WriteOutcome
from ..service import IssuerService
from ..settings import IssuerSettings


@functools.lru_cache(maxsize=1)
def get_settings() -> IssuerSettings:
    """The settings read from the environment, once per process (``TALENTPROOF_ISSUER_*``).

    `create_app` overrides this dependency with its service's own settings, so the routes of an
    app built over a service configured in code (tests, ``talentproof demo``) see that service's.
    """
    return IssuerSettings()


SettingsDep = Annotated[IssuerSettings, Depends(get_settings)]


async def get_service(request: Request) -> IssuerService:
    """The application's `IssuerService` (``app.state.service``)."""
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[IssuerService, Depends(get_service)]

bearer = HTTPBearer(auto_error=False, description="API key: tpk_<id>_<secret>")


def authenticate(service: IssuerService, token: str | None) -> Principal:
    """The caller of an API key or operator token (raises `Unauthenticated`,
    `InstitutionSuspended`); the one check of both the routes and the ``POST /credentials``
    fast path."""
    return service.authenticate(token)


async def get_caller(
    request: Request,
    service: ServiceDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The authenticated caller (``Authorization: Bearer tpk_<id>_<secret>``); an
    ``Authorization`` header in another form is refused as such (`auth.not_bearer`), not as a
    missing key. (The ``POST /credentials`` fast path hands such a request to its route.)"""
    if creds is None and "authorization" in request.headers:
        raise not_bearer()
    return authenticate(service, creds.credentials if creds else None)


CallerDep = Annotated[Principal, Depends(get_caller)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", description="Retries with the same key never repeat the write."
    ),
]


class IdempotentWrite:
    """A write run once per (caller, ``Idempotency-Key``): a retry with the same key gets the
    first answer back; the same key with another request is refused (`IdempotencyKeyReused`)."""

    __slots__ = ("caller", "key", "service")

    def __init__(self, service: IssuerService, caller: Principal, key: str | None) -> None:
        self.service = service
        self.caller = caller
        self.key = key

    def __call__(
        self,
        request_fingerprint: bytes,
        operation: Callable[[Session], WriteOutcome],
        *,
        external: bool = False,
    ) -> WriteOutcome:
        """Run ``operation`` (given the transaction's session) unless this key already did."""
        return self.service.idempotent(
            self.caller, self.key, request_fingerprint, operation, external=external
        )


async def get_idempotent_write(
    service: ServiceDep, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> IdempotentWrite:
    """The caller's idempotent write (honours ``Idempotency-Key``)."""
    return IdempotentWrite(service, caller, idempotency_key)


IdempotentWriteDep = Annotated[IdempotentWrite, Depends(get_idempotent_write)]
