"""Request limits of the issuer API: body sizes (413) and per-API-key rate limits (429).

One pure ASGI middleware, in front of routing, so nothing oversized reaches a parser:

- **Body size.** A declared ``Content-Length`` over the limit is refused before a byte is read;
  a body streamed without one (chunked) is counted as it arrives and refused as soon as it
  passes the limit. Bulk uploads (``POST /bulk-jobs``) have their own, larger limit; their
  multipart body is spooled to a temporary file by the form parser (never held in memory) and
  then streamed into the data folder by ``bulk.create_job``.
- **Rate.** A token bucket per API key (the ``Authorization`` bearer token, keyed by its
  SHA-256 so no token is kept in memory in clear): ``rate_limit_per_s`` tokens per second, at most
  ``rate_limit_burst`` saved up. An empty bucket answers 429 with ``Retry-After`` (whole seconds).
  Requests without a key are not counted here (they are refused by authentication or are public).

Errors use the API's JSON error form: ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.exceptions import HTTPException

from .errors import IssuerError, PayloadTooLarge, RateLimited

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BULK_PATH = "/bulk-jobs"


def human_bytes(n: int) -> str:
    """``1048576`` -> ``'1 MiB (1048576 bytes)'``: limits are named in messages."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit} ({n} bytes)"
    return f"{n} bytes"


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """The limits the middleware enforces."""

    max_body_bytes: int
    bulk_max_upload_bytes: int
    rate_per_s: float
    burst: int

    @classmethod
    def from_settings(cls, settings: Any) -> LimitSettings:
        """Read them from `IssuerSettings`."""
        return cls(
            max_body_bytes=settings.max_body_bytes,
            bulk_max_upload_bytes=settings.bulk_max_upload_bytes,
            rate_per_s=settings.rate_limit_per_s,
            burst=settings.rate_limit_burst,
        )


class TokenBuckets:
    """Token buckets keyed by an opaque id; thread safe, bounded in size (LRU)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    def take(self, key: bytes) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


class BodyOverflow(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit.

    An ``HTTPException`` so that FastAPI's body parsing re-raises it unchanged; the app renders
    it with :func:`overflow_response` (registered as its exception handler).
    """

    def __init__(self, error: PayloadTooLarge) -> None:
        super().__init__(status_code=413, detail=error.message)
        self.error = error


def overflow_response(exc: BodyOverflow) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, JSON body) of an overflow, for the app's exception handler."""
    status, headers, body = _error_response(exc.error)
    return status, {k.decode(): v.decode() for k, v in headers if k != b"content-length"}, body


def _error_response(exc: IssuerError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps({"error": exc.code, "message": exc.message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(exc, RateLimited):
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    if isinstance(exc, PayloadTooLarge):
        headers.append((b"connection", b"close"))
    return exc.status_code, headers, body


async def _send_error(send: Send, exc: IssuerError) -> None:
    status, headers, body = _error_response(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware enforcing :class:`LimitSettings` (see the module docstring)."""

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.limits = limits
        self.buckets = (
            TokenBuckets(limits.rate_per_s, limits.burst) if limits.rate_per_s > 0 else None
        )

    def body_limit(self, scope: Scope) -> tuple[int, str]:
        """(limit in bytes, what it applies to) for a request."""
        if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == BULK_PATH:
            return self.limits.bulk_max_upload_bytes, "a bulk upload"
        return self.limits.max_body_bytes, "a request body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        if self.buckets is not None:
            auth = headers.get(b"authorization")
            if auth:
                wait = self.buckets.take(hashlib.sha256(auth).digest())
                if wait > 0:
                    retry = max(1, math.ceil(wait))
                    await _send_error(
                        send,
                        RateLimited(
                            f"rate limit of {self.limits.rate_per_s:g} requests per second per "
                            f"API key (burst {self.limits.burst}) exceeded; retry after {retry} s",
                            retry_after=retry,
                        ),
                    )
                    return
        limit, what = self.body_limit(scope)

        def too_large(size: str) -> PayloadTooLarge:
            return PayloadTooLarge(
                f"{what} may hold at most {human_bytes(limit)}; this one has {size}"
            )

        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                from .errors import InvalidRequest

                await _send_error(
                    send, InvalidRequest("Content-Length must be a non-negative integer")
                )
                return
            if length > limit:
                await _send_error(send, too_large(f"{length} bytes"))
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyOverflow(too_large(f"more than {limit} bytes"))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyOverflow as exc:
            if started:
                raise
            await _send_error(send, exc.error)
        except Exception as exc:  # FastAPI may wrap a receive error while parsing a body
            overflow = exc.__cause__ or exc.__context__
            while overflow is not None and not isinstance(overflow, BodyOverflow):
                overflow = overflow.__cause__ or overflow.__context__
            if overflow is None or started:
                raise
            await _send_error(send, overflow.error)
