"""Flood limits of the verifier service (issue 12): its endpoints need no authentication, so
what they may cost is bounded per client address.

- **Rate.** Token buckets per client address (`talentproof.ratelimit`: bounded tables, IPv6 per
  /64, ``X-Forwarded-For`` only behind ``trusted_proxies`` reverse proxies, read from the
  right): one for ``POST /api/v1/challenges``, one shared by the verification endpoints
  (``/api/v1/verify``, ``/api/v1/verify/image``, ``/api/v1/applications/evaluate``). An empty
  bucket answers 429 ``{"detail": ...}`` with ``Retry-After`` (whole seconds) before the body is
  read, so a refused upload costs nothing.
- **State.** Open challenges are capped in all and per client address
  (`talentproof.verifier.challenges.ChallengeStore`). A request body (an image upload is
  spooled to a temporary file by the form parser) is at most ``max_body_bytes``: a larger
  declared ``Content-Length`` is refused before a byte is read, a streamed body as soon as it
  passes the limit (413 ``{"detail": ...}``).

Settings come from the environment (``TALENTPROOF_VERIFIER_*``, `VerifierLimits.from_env`); a
rate of 0 turns that limit off.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

import orjson
from starlette.exceptions import HTTPException

from talentproof.ratelimit import TokenBuckets, client_address
from talentproof.verifier.errors import VerifierError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CHALLENGE_PATH = "/api/v1/challenges"
VERIFY_PATHS = frozenset(
    {"/api/v1/verify", "/api/v1/verify/image", "/api/v1/applications/evaluate"}
)
ENV_PREFIX = "TALENTPROOF_VERIFIER_"


class LimitsConfigError(VerifierError, ValueError):
    """A ``TALENTPROOF_VERIFIER_*`` limit that is not a number, or out of range."""


@dataclass(frozen=True)
class VerifierLimits:
    """The verifier's flood limits (README, "Configuration"; ``TALENTPROOF_VERIFIER_<NAME>``)."""

    challenge_rate_per_s: float = 5.0
    """New challenges per second per client address (0: no limit)."""
    challenge_burst: int = 50
    challenges_max: int = 10_000
    """Open challenges in all: past it new ones are refused (429) until the oldest expire."""
    challenges_per_client: int = 100
    """Open challenges per client address: past it the address's own oldest is replaced."""
    verify_rate_per_s: float = 20.0
    """Verification requests per second per client address (0: no limit)."""
    verify_burst: int = 200
    max_clients: int = 100_000
    """Buckets kept per table; the least recently used is dropped past it."""
    trusted_proxies: int = 0
    """Reverse proxies whose X-Forwarded-For entries are trusted (0: the TCP peer)."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Largest request body: two images at the engine's 16 MiB image limit, or many QR photos."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VerifierLimits:
        """The limits from ``TALENTPROOF_VERIFIER_*`` variables (defaults for the others)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper(), "").strip()
            if not raw:
                continue
            kind = float if f.type in ("float", float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise LimitsConfigError(
                    f"{ENV_PREFIX}{f.name.upper()}: expected a number, found {raw!r}"
                ) from None
            if value < 0 or (value < 1 and f.name in _AT_LEAST_ONE):
                raise LimitsConfigError(
                    f"{ENV_PREFIX}{f.name.upper()}: expected at least "
                    f"{1 if f.name in _AT_LEAST_ONE else 0}, found {raw!r}"
                )
            values[f.name] = value
        return cls(**values)


_AT_LEAST_ONE = frozenset(
    {
        "challenge_burst",
        "challenges_max",
        "challenges_per_client",
        "verify_burst",
        "max_clients",
        "max_body_bytes",
    }
)


def _buckets(rate: float, burst: int, max_keys: int) -> TokenBuckets | None:
    return TokenBuckets(rate, burst, max_keys=max_keys) if rate > 0 else None


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
        self.challenges = _buckets(
            limits.challenge_rate_per_s, limits.challenge_burst, limits.max_clients
        )
        self.verifications = _buckets(
            limits.verify_rate_per_s, limits.verify_burst, limits.max_clients
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            path = scope.get("path", "").rstrip("/") or "/"
            lim = self.limits
            if path == CHALLENGE_PATH:
                buckets, what, rate, burst = (
                    self.challenges,
                    "new challenges",
                    lim.challenge_rate_per_s,
                    lim.challenge_burst,
                )
            elif path in VERIFY_PATHS:
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
                    retry = max(1, math.ceil(wait))
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
