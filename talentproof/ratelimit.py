"""Rate-limit building blocks shared by the issuer and the verifier services (standard library
only, so both may import it without importing each other).

- `TokenBuckets`: token buckets keyed by an opaque id, thread safe, with a bounded table: the
  least recently used bucket is dropped past ``max_keys`` (a dropped bucket comes back full,
  which only ever errs on the side of the client, and a flood of new keys can never grow the
  table).
- `optional_buckets` (a table, or None for a rate of 0) and `retry_after_s` (a wait in whole
  seconds, at least 1), as both services apply them.
- `client_address`: the client a request is counted against. The TCP peer's address, or,
  behind ``trusted_proxies`` reverse proxies, the address the outermost trusted proxy saw, read
  from ``X-Forwarded-For`` *from the right* (entries further left are written by the client and
  never trusted). IPv6 clients are counted per /64 network (what one subscriber is usually
  given), so an attacker cannot get a fresh bucket per address of its own network.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any


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
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[Any, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Any) -> float:
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
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def empty(self, key: Any) -> bool:
        """Whether ``key``'s bucket holds less than one token now (nothing is taken)."""
        now = self._clock()
        with self._lock:
            state = self._buckets.get(key)
        if state is None:
            return False
        tokens, last = state
        return min(self.burst, tokens + (now - last) * self.rate) < 1.0


def optional_buckets(rate_per_s: float, burst: int, max_keys: int) -> TokenBuckets | None:
    """A `TokenBuckets` table, or None when ``rate_per_s`` is 0 (that limit is off)."""
    return TokenBuckets(rate_per_s, burst, max_keys=max_keys) if rate_per_s > 0 else None


def retry_after_s(wait: float) -> int:
    """The ``Retry-After`` of a refused request: ``wait`` in whole seconds, at least 1."""
    return max(1, math.ceil(wait))


def _header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key == name]


def network_of(host: str) -> str:
    """``host`` as counted: an IPv4 address as is, an IPv6 address as its /64 network (a port
    some proxies append, ``1.2.3.4:5678`` or ``[2001:db8::1]:443``, is dropped)."""
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def client_address(scope: Mapping[str, Any], trusted_proxies: int = 0) -> str:
    """The client address an ASGI request is counted against (see the module's text).

    With ``trusted_proxies`` = n > 0, the n-th ``X-Forwarded-For`` entry from the right (the
    address the outermost of the n trusted proxies received the request from); when the header
    has fewer entries the request did not come through all of them, and the peer's address is
    used. With 0 (the default) the header is ignored.
    """
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if trusted_proxies > 0:
        values = _header_values(scope.get("headers") or (), b"x-forwarded-for")
        if values:
            hops = [
                part.strip()
                for part in b",".join(values).decode("latin-1").split(",")
                if part.strip()
            ]
            if len(hops) >= trusted_proxies:
                peer = hops[-trusted_proxies]
    return network_of(peer)
