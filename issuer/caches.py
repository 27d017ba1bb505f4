"""The issuer process's caches: values kept a few seconds (by the monotonic clock), so another
process's change (a revoked key, a suspended institution, a withdrawn type, a rotated signing
key, a ledger status) is seen within the TTL, and this process's own change at once (it drops or
replaces the entry)."""

import threading
import time
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Principals, institutions and active signing keys are cached this long.
CACHE_TTL_S = 2.0
#: Each process re-reads an institution's recorded ledger status (`LedgerIssuerState`, written by
#: the one process that watches the ledger) at most this often.
LEDGER_SHARED_TTL_S = 1.0


class TtlCache(Generic[K, V]):
    """A dict whose entries are fresh for ``ttl`` seconds after they were put. Reads take no
    lock; writes do. With ``max_entries``, a put into a full cache empties it first."""

    __slots__ = ("_entries", "_lock", "max_entries", "ttl")

    def __init__(self, ttl: float, *, max_entries: int = 0) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key`` if it is fresh, else None (for values that are never None)."""
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        return None

    def entry(self, key: K) -> tuple[float, V] | None:
        """``(put at, value)`` of ``key``, fresh or not."""
        return self._entries.get(key)

    def is_fresh(self, entry: tuple[float, Any] | None, now: float) -> bool:
        """Whether ``entry`` (from `entry`) is still fresh at ``now``."""
        return entry is not None and now - entry[0] < self.ttl

    def put(self, key: K, value: V, *, at: float | None = None) -> None:
        """Keep ``value`` for ``key``, fresh from ``at`` (default: now)."""
        with self._lock:
            if self.max_entries and len(self._entries) > self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() if at is None else at, value)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class IssuerCaches:
    """The caches of one `IssuerService`."""

    __slots__ = ("institutions", "ledger_states", "principals", "signers")

    def __init__(self) -> None:
        #: API key digest -> `auth.Principal`
        self.principals: TtlCache[bytes, Any] = TtlCache(CACHE_TTL_S, max_entries=10_000)
        #: institution id -> what issuance needs of it
        self.institutions: TtlCache[int, Any] = TtlCache(CACHE_TTL_S)
        #: institution id -> (signing key id, signer); past the TTL the active key id is checked
        self.signers: TtlCache[int, Any] = TtlCache(CACHE_TTL_S)
        #: chain issuer id -> recorded ledger status (or None: none recorded)
        self.ledger_states: TtlCache[int, Any] = TtlCache(LEDGER_SHARED_TTL_S)

    def forget(self) -> None:
        """Drop the cached principals and institutions (after a key or institution changes)."""
        self.principals.clear()
        self.institutions.clear()
