"""Single-use, expiring presentation challenges of the verifier service, in bounded memory.

`POST /api/v1/challenges` needs no authentication, so the store is capped (issue 12):

- at most ``max_open`` open challenges in all, and at most ``per_client`` per client address;
- issuing, consuming and expiring are O(1): challenges sit in one insertion-ordered table,
  which is also their expiry order (one lifetime for all, a monotonic clock), and in their
  client's own ordered table; expired challenges are dropped lazily from the front whenever a
  challenge is issued;
- a client at its own cap gets a new challenge in place of **its own oldest** open one (a
  terminal that abandoned challenges keeps working; a flooding address only ever churns its own
  challenges, never another client's);
- when the whole store is full of live challenges a new one is **refused** (`ChallengesFull`:
  429 with ``Retry-After``, the seconds until the oldest expires) rather than evicting another
  client's live challenge: a holder who is building a presentation for a challenge is never
  cut off by someone else's flood.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

UNKNOWN = "was not issued by this verifier, was already used or has expired"
EXPIRED = "has expired"


class ChallengesFull(Exception):
    """Every slot of the store holds a live challenge; retry after ``retry_after`` seconds."""

    def __init__(self, max_open: int, retry_after: int) -> None:
        super().__init__(
            f"the verifier holds its maximum of {max_open} open challenges; "
            f"retry after {retry_after} s"
        )
        self.retry_after = retry_after


class ChallengeStore:
    """Single-use, expiring challenges in bounded memory (see the module's text); thread safe,
    one service process (several replicas: `shared_store.DbChallengeStore`)."""

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_open: int = 10_000,
        per_client: int = 100,
    ) -> None:
        if max_open < 1 or per_client < 1:
            raise ValueError("max_open and per_client must be at least 1")
        self._ttl = ttl
        self._clock = clock
        self.max_open = max_open
        self.per_client = per_client
        # challenge -> (deadline, client): insertion order is expiry order
        self._open: OrderedDict[str, tuple[float, str]] = OrderedDict()
        # client -> its open challenges, oldest first
        self._by_client: dict[str, OrderedDict[str, None]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def open_for(self, client: str) -> int:
        """How many open (not yet expired-and-dropped) challenges ``client`` holds."""
        with self._lock:
            return len(self._by_client.get(client, ()))

    def _drop(self, value: str, client: str) -> None:
        mine = self._by_client.get(client)
        if mine is not None:
            mine.pop(value, None)
            if not mine:
                del self._by_client[client]

    def _expire(self, now: float) -> None:
        while self._open:
            value, (deadline, client) = next(iter(self._open.items()))
            if deadline > now:
                return
            del self._open[value]
            self._drop(value, client)

    def issue(self, client: str = "") -> tuple[str, float]:
        """A fresh challenge for ``client`` (its address) and its lifetime in seconds; raises
        `ChallengesFull` when the store is full of live challenges."""
        value = secrets.token_urlsafe(18)
        with self._lock:
            now = self._clock()
            self._expire(now)
            mine = self._by_client.get(client)
            if mine is not None and len(mine) >= self.per_client:
                oldest, _ = mine.popitem(last=False)  # the client's own oldest makes room
                del self._open[oldest]
            elif len(self._open) >= self.max_open:
                deadline = next(iter(self._open.values()))[0]
                raise ChallengesFull(self.max_open, max(1, math.ceil(deadline - now)))
            self._open[value] = (now + self._ttl, client)
            self._by_client.setdefault(client, OrderedDict())[value] = None
        return value, self._ttl

    def consume(self, value: str) -> str | None:
        """Use a challenge once: None if it was open, else why it is refused."""
        with self._lock:
            entry = self._open.pop(value, None)
            if entry is not None:
                self._drop(value, entry[1])
        if entry is None:
            return UNKNOWN
        if entry[0] <= self._clock():
            return EXPIRED
        return None
