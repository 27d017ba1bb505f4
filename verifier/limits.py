"""Flood limits of the verifier service (issue 12): its endpoints need no authentication, so
what they may cost is bounded per client address.

- **Rate.** Token buckets per client address (`talentproof.ratelimit`: bounded tables, IPv6 per
  /64, ``X-Forwarded-For`` only behind ``trusted_proxies`` reverse proxies, read from the
  right): one for ``POST /api/v1/challenges`` (and ``POST /oid4vp/requests``, which issues a
  nonce), one shared by the verification endpoints (``/api/v1/verify``,
  ``/api/v1/verify/image``, ``/api/v1/applications/evaluate``, the VC API's
  ``/credentials/verify``, ``/presentations/verify`` and a wallet's OpenID4VP response,
  ``POST /oid4vp/responses/{ref}``). An empty
  bucket answers 429 ``{"detail": ...}`` with ``Retry-After`` (whole seconds) before the body is
  read, so a refused upload costs nothing.
- **State.** Open challenges are capped in all and per client address
  (`talentproof.verifier.challenges.ChallengeStore`), and so are OpenID4VP requests
  (`talentproof.verifier.oid4vp_store.RequestStore`). A request body (an image upload is
  spooled to a temporary file by the form parser) is at most ``max_body_bytes``: a larger
  declared ``Content-Length`` is refused before a byte is read, a streamed body as soon as it
  passes the limit (413 ``{"detail": ...}``).

Settings come from the environment (``TALENTPROOF_VERIFIER_*``, through pydantic-settings:
`VerifierLimits`); a rate of 0 turns that limit off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import orjson
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException

from talentproof.ratelimit import client_address, optional_buckets, retry_after_s
from talentproof.verifier.errors import SettingsError, settings_problem

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CHALLENGE_PATH = "/api/v1/challenges"
#: Creating an OpenID4VP request issues a nonce: it takes from the challenges' bucket.
CHALLENGE_PATHS = frozenset({CHALLENGE_PATH, "/oid4vp/requests"})
#: A wallet's OpenID4VP response (``/oid4vp/responses/{ref}``) is a verification.
VERIFY_PREFIXES = ("/oid4vp/responses/",)
VERIFY_PATHS = frozenset(
    {
        "/api/v1/verify",
        "/api/v1/verify/image",
        "/api/v1/applications/evaluate",
        "/credentials/verify",  # the W3C VC API (verifier.vc_api)
        "/presentations/verify",
    }
)
ENV_PREFIX = "TALENTPROOF_VERIFIER_"


class LimitsConfigError(SettingsError):
    """A ``TALENTPROOF_VERIFIER_*`` limit that is not a number, or out of range."""


class VerifierLimits(BaseSettings):
    """The verifier's flood limits (README, "Configuration"; ``TALENTPROOF_VERIFIER_<NAME>``).

    Read from the environment by pydantic-settings (``VerifierLimits()``; an empty variable is
    unset); :meth:`from_env` reads a given mapping instead. A bad value raises
    :class:`LimitsConfigError` naming the variable.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    challenge_rate_per_s: float = Field(
        5.0, ge=0, description="New challenges per second per client address (0: no limit)."
    )
    challenge_burst: int = Field(50, ge=1)
    challenges_max: int = Field(
        10_000,
        ge=1,
        description="Open challenges in all: past it new ones are refused (429) until the oldest expire.",
    )
    challenges_per_client: int = Field(
        100,
        ge=1,
        description="Open challenges per client address: past it the address's own oldest is replaced.",
    )
    oid4vp_requests_max: int = Field(
        1_000,
        ge=1,
        description="OpenID4VP requests kept in all: past it new ones are refused (429) until the oldest expire.",
    )
    oid4vp_requests_per_client: int = Field(
        20,
        ge=1,
        description="OpenID4VP requests per client address: past it the address's own oldest is replaced.",
    )
    verify_rate_per_s: float = Field(
        20.0, ge=0, description="Verification requests per second per client address (0: no limit)."
    )
    verify_burst: int = Field(200, ge=1)
    max_clients: int = Field(
        100_000,
        ge=1,
        description="Buckets kept per table; the least recently used is dropped past it.",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        description="Reverse proxies whose X-Forwarded-For entries are trusted (0: the TCP peer).",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1,
        description="Largest request body: two images at the engine's 16 MiB image limit, or many QR photos.",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise LimitsConfigError(settings_problem(exc, ENV_PREFIX)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VerifierLimits:
        """The limits from ``TALENTPROOF_VERIFIER_*`` variables (defaults for the others):
        ``environ``, or the process environment when None."""
        if environ is None:
            return cls()
        values: dict[str, Any] = {}
        for (
            name,
            spec,
        ) in cls.model_fields.items():  # every field given: the process environment is not read
            raw = environ.get(ENV_PREFIX + name.upper(), "").strip()
            values[name] = raw if raw else spec.default
        return cls(**values)


async def _send_json(
    send: Send, status: int, content: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(content)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def too_many(send: Send, message: str, retry_after: int) -> None:
    """A 429 in the service's error form (``{"detail": ...}``) with ``Retry-After``."""
    await _send_json(send, 429, {"detail": message}, [(b"retry-after", str(retry_after).encode())])


class ClientLimits:
    """ASGI middleware: the per-address rate limits and the body limit of the module's text."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limits: VerifierLimits
    ) -> None:
        self.app = app
        self.limits = limits
        self.challenges = optional_buckets(
            limits.challenge_rate_per_s, limits.challenge_burst, limits.max_clients
        )
        self.verifications = optional_buckets(
            limits.verify_rate_per_s, limits.verify_burst, limits.max_clients
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            path = scope.get("path", "").rstrip("/") or "/"
            lim = self.limits
            if path in CHALLENGE_PATHS:
                buckets, what, rate, burst = (
                    self.challenges,
                    "new challenges",
                    lim.challenge_rate_per_s,
                    lim.challenge_burst,
                )
            elif path in VERIFY_PATHS or path.startswith(VERIFY_PREFIXES):
                buckets, what, rate, burst = (
                    self.verifications,
                    "verification requests",
                    lim.verify_rate_per_s,
                    lim.verify_burst,
                )
            else:
                buckets = None
            if buckets is not None:
                wait = buckets.take(client_address(scope, lim.trusted_proxies))
                if wait > 0:
                    retry = retry_after_s(wait)
                    await too_many(
                        send,
                        f"rate limit of {rate:g} {what} per second per client address "
                        f"(burst {burst}) exceeded; retry after {retry} s",
                        retry,
                    )
                    return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.max_body_bytes
        message = f"a request body may hold at most {limit} bytes"
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the server refuses a malformed length itself
                if declared > limit:
                    await _send_json(send, 413, {"detail": f"{message}; this one has {declared}"})
                    return
        received = 0

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:  # an HTTPException: FastAPI's body parsing re-raises it
                    raise HTTPException(413, f"{message}; this one has more")
            return msg

        await self.app(scope, limited_receive, send)
