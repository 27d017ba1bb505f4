"""Request limits of the issuer API: body sizes (413) and per-API-key rate limits (429).

One pure ASGI middleware, in front of routing, so nothing oversized reaches a parser:

- **Body size.** A declared ``Content-Length`` over the limit is refused before a byte is read;
  a body streamed without one (chunked) is counted as it arrives and refused as soon as it
  passes the limit. Bulk uploads (``POST /bulk-jobs``) have their own, larger limit; their
  multipart body is spooled to a temporary file by the form parser (never held in memory) and
  then streamed into the data folder by ``bulk.create_job``.
- **Rate, by principal.** Token buckets (`talentproof.ratelimit.TokenBuckets`, bounded
  tables): a request whose ``Authorization`` bearer token authenticates (``authenticate``, the
  service's own, cached) is counted against its **API key id**: ``rate_limit_per_s`` tokens per
  second, at most ``rate_limit_burst`` saved up, however the header is spelt. A request whose
  credentials fail authentication is counted against its **client address** in a separate,
  stricter bucket (``rate_limit_failed_auth_per_s`` / ``..._burst``); once an address has spent
  it, its requests with credentials not already known good are refused before any database
  lookup. Requests without credentials (public endpoints, or refused by authentication) are
  counted against their client address (``rate_limit_anon_per_s`` / ``..._burst``). An empty
  bucket answers 429 with ``Retry-After`` (whole seconds). The client address is the TCP peer,
  or behind ``trusted_proxies`` reverse proxies the one they saw (``X-Forwarded-For`` read from
  the right; `talentproof.ratelimit.client_address`). Both HTTP paths of ``POST /credentials``
  (the fast path and the route) sit behind this one middleware.

Errors use the API's JSON error form: ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.exceptions import HTTPException

from talentproof.ratelimit import (
    TokenBuckets,
    client_address,
    optional_buckets,
    retry_after_s,
)

from ..errors import InvalidRequest, IssuerError, PayloadTooLarge, RateLimited
from .errors import error_answer  # the one mapping of errors to HTTP

__all__ = ["LimitSettings", "RateLimiter", "RequestLimits", "TokenBuckets", "human_bytes"]

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
    """The limits the middleware enforces (a rate of 0 turns that limit off)."""

    max_body_bytes: int
    bulk_max_upload_bytes: int
    rate_per_s: float
    burst: int
    anon_rate_per_s: float = 0.0
    anon_burst: int = 1
    failed_auth_rate_per_s: float = 0.0
    failed_auth_burst: int = 1
    max_clients: int = 100_000
    trusted_proxies: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> LimitSettings:
        """Read them from `IssuerSettings`."""
        return cls(
            max_body_bytes=settings.max_body_bytes,
            bulk_max_upload_bytes=settings.bulk_max_upload_bytes,
            rate_per_s=settings.rate_limit_per_s,
            burst=settings.rate_limit_burst,
            anon_rate_per_s=settings.rate_limit_anon_per_s,
            anon_burst=settings.rate_limit_anon_burst,
            failed_auth_rate_per_s=settings.rate_limit_failed_auth_per_s,
            failed_auth_burst=settings.rate_limit_failed_auth_burst,
            max_clients=settings.rate_limit_max_clients,
            trusted_proxies=settings.trusted_proxies,
        )


def _bearer_token(authorization: bytes) -> str | None:
    """The token of ``Bearer <token>`` (scheme case-insensitive, blanks around it ignored)."""
    scheme, _, token = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return token.strip().decode("latin-1") or None


class RateLimiter:
    """Who a request is counted against, and whether its bucket has a token (module text).

    One instance per app, used by `RequestLimits` for every request, so every route (the
    ``POST /credentials`` fast path included) follows the same rule.
    """

    def __init__(
        self,
        limits: LimitSettings,
        authenticate: Callable[[str], Any] | None,
        *,
        known_good: int = 10_000,
    ) -> None:
        self.limits = limits
        self.authenticate = authenticate
        self.keys = optional_buckets(limits.rate_per_s, limits.burst, limits.max_clients)
        self.anon = optional_buckets(limits.anon_rate_per_s, limits.anon_burst, limits.max_clients)
        self.failed = optional_buckets(
            limits.failed_auth_rate_per_s, limits.failed_auth_burst, limits.max_clients
        )
        # SHA-256 of tokens that authenticated lately (no token kept in clear): they are not
        # refused by their address's spent failed-authentication budget (a valid key behind the
        # same address as an attacker keeps working)
        self._known_good: OrderedDict[bytes, None] = OrderedDict()
        self._known_good_max = known_good
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any rate limit is on."""
        return self.keys is not None or self.anon is not None or self.failed is not None

    def _limited(self, wait: float, per: str, rate: float, burst: int) -> RateLimited | None:
        if wait <= 0:
            return None
        retry = retry_after_s(wait)
        return RateLimited(
            f"rate limit of {rate:g} requests per second {per} (burst {burst}) exceeded; "
            f"retry after {retry} s",
            retry_after=retry,
        )

    def _failed(self, address: str) -> RateLimited | None:
        if self.failed is None:
            return None
        lim = self.limits
        return self._limited(
            self.failed.take(address),
            "per client address for requests that fail authentication",
            lim.failed_auth_rate_per_s,
            lim.failed_auth_burst,
        )

    def _anonymous(self, address: str) -> RateLimited | None:
        if self.anon is None:
            return None
        lim = self.limits
        return self._limited(
            self.anon.take(address),
            "per client address for requests without an API key",
            lim.anon_rate_per_s,
            lim.anon_burst,
        )

    def check(self, scope: Scope) -> RateLimited | None:
        """None if the request may proceed, else the 429 to answer (a token is taken)."""
        lim = self.limits
        authorization = None
        for name, value in scope.get("headers") or ():  # the first, as Starlette reads it
            if name == b"authorization":
                authorization = value
                break
        address = client_address(scope, lim.trusted_proxies)
        if not authorization or self.authenticate is None:
            return self._anonymous(address)
        token = _bearer_token(authorization)
        if token is None:  # credentials of another kind: authentication will refuse them
            return self._failed(address)
        digest = hashlib.sha256(token.encode("latin-1")).digest()
        if self.failed is not None and self.failed.empty(address):
            with self._lock:
                known = digest in self._known_good
            if not known:  # a spent address: refused before any lookup
                return self._failed(address)
        try:
            principal = self.authenticate(token)
        except IssuerError:  # unknown, revoked or malformed key (or a suspended institution)
            return self._failed(address)
        except Exception:
            return self._anonymous(address)
        with self._lock:
            self._known_good[digest] = None
            self._known_good.move_to_end(digest)
            while len(self._known_good) > self._known_good_max:
                self._known_good.popitem(last=False)
        if self.keys is None:
            return None
        return self._limited(
            self.keys.take(("key", principal.key_id)), "per API key", lim.rate_per_s, lim.burst
        )


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
    status, extra, content = error_answer(exc)
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.extend((name.lower().encode(), value.encode()) for name, value in extra.items())
    if isinstance(exc, PayloadTooLarge):
        headers.append((b"connection", b"close"))
    return status, headers, body


async def _send_error(send: Send, exc: IssuerError) -> None:
    status, headers, body = _error_response(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware enforcing :class:`LimitSettings` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        limits: LimitSettings,
        authenticate: Callable[[str], Any] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.rate = RateLimiter(limits, authenticate)

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
        if self.rate.enabled:
            refused = self.rate.check(scope)
            if refused is not None:
                await _send_error(send, refused)
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
