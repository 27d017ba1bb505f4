"""The OpenID4VP presentation requests of the verifier service, in bounded memory.

``POST /oid4vp/requests`` needs no authentication, so the store is bounded as the challenges
are (`talentproof.verifier.challenges`, issue 12):

- at most ``max_open`` requests in all and ``per_client`` per client address; a client at its
  own cap gets a new request in place of **its own oldest** (a flooding address only churns its
  own); when the store is full, the oldest request whose time is over is dropped, and if none
  is over a new one is **refused** (`RequestsFull`: 429 with ``Retry-After``);
- a request is open to a wallet for ``ttl`` seconds (one lifetime for all and a monotonic
  clock: insertion order is expiry order), then kept ``keep`` seconds more so that the
  officer's page can still read its verdict or that it expired; then it is dropped (lazily,
  whenever a request is created);
- a request is answered **once**: `claim` hands it to one response, atomically; a second
  response is a replay, and `answer` records a verdict only for the response that claimed
  it. Refusals (a response that was not taken) are kept, the last
  ``MAX_REFUSALS``, for the officer's page.

Two handles per request, both random: ``id`` the officer's (it reads the verdict, so it is
never in the QR code) and ``ref`` the wallet's (in the request and response URIs).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

PENDING = "pending"
VERIFYING = "verifying"  # a response was taken and is being verified
ANSWERED = "answered"
EXPIRED = "expired"
MAX_REFUSALS = 10


class RequestsFull(Exception):
    """Every slot of the store holds a request still open; retry after ``retry_after`` s."""

    def __init__(self, max_open: int, retry_after: int) -> None:
        super().__init__(
            f"the verifier holds its maximum of {max_open} open wallet requests; "
            f"retry after {retry_after} s"
        )
        self.retry_after = retry_after


@dataclass
class PresentationRequest:
    """One OpenID4VP authorization request and what became of it."""

    id: str
    ref: str
    client: str
    profession: str
    application_date: date | None
    id_number: str | None
    nonce: str
    state: str
    deadline: float  # on the store's clock
    expires_at: datetime
    request_object: str = ""  # the signed request object (JWT), made once
    status: str = PENDING
    report: dict[str, Any] | None = None
    refusals: list[dict[str, str]] = field(default_factory=list)
    claimed_until: float | None = None  # the claim this copy holds (`DbRequestStore.claim`)

    @classmethod
    def new(
        cls,
        client: str,
        profession: str,
        application_date: date | None,
        id_number: str | None,
        *,
        deadline: float,
        ttl: float,
    ) -> PresentationRequest:
        """A fresh pending request: its handles, nonce and state unguessable (every store makes
        them here)."""
        return cls(
            id=secrets.token_urlsafe(18),
            ref=secrets.token_urlsafe(18),
            client=client,
            profession=profession,
            application_date=application_date,
            id_number=id_number,
            nonce=secrets.token_urlsafe(24),
            state=secrets.token_urlsafe(18),
            deadline=deadline,
            expires_at=(datetime.now(UTC) + timedelta(seconds=ttl)).replace(microsecond=0),
        )

    def refuse(self, why: str) -> None:
        """Note a refused response (the last `MAX_REFUSALS` are kept)."""
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.refusals.append({"at": at, "error": "invalid_request", "error_description": why})
        del self.refusals[:-MAX_REFUSALS]


class RequestStore:
    """Presentation requests in bounded memory (see the module's text); thread safe, one
    service process (several replicas: `shared_store.DbRequestStore`)."""

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        keep: float | None = None,
        max_open: int = 1_000,
        per_client: int = 20,
    ) -> None:
        if max_open < 1 or per_client < 1:
            raise ValueError("max_open and per_client must be at least 1")
        self.ttl = ttl
        self.keep = ttl if keep is None else keep
        self.clock = clock
        self.max_open = max_open
        self.per_client = per_client
        self._by_id: OrderedDict[str, PresentationRequest] = OrderedDict()
        self._by_ref: dict[str, str] = {}
        self._by_client: dict[str, OrderedDict[str, None]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_id)

    def _drop(self, rid: str) -> None:
        req = self._by_id.pop(rid)
        self._by_ref.pop(req.ref, None)
        mine = self._by_client.get(req.client)
        if mine is not None:
            mine.pop(rid, None)
            if not mine:
                del self._by_client[req.client]

    def _forget_old(self, now: float) -> None:
        while self._by_id:
            oldest = next(iter(self._by_id.values()))
            if oldest.deadline + self.keep > now:
                return
            self._drop(oldest.id)

    def create(
        self,
        client: str,
        profession: str,
        application_date: date | None = None,
        id_number: str | None = None,
    ) -> PresentationRequest:
        """A new pending request for ``client`` (its address); raises `RequestsFull`."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            mine = self._by_client.get(client)
            if mine is not None and len(mine) >= self.per_client:
                self._drop(next(iter(mine)))  # the client's own oldest makes room
            elif len(self._by_id) >= self.max_open:
                oldest = next(iter(self._by_id.values()))
                if oldest.deadline > now:
                    raise RequestsFull(self.max_open, max(1, math.ceil(oldest.deadline - now)))
                self._drop(oldest.id)  # over: its verdict was there to read for a while
            req = PresentationRequest.new(
                client,
                profession,
                application_date,
                id_number,
                deadline=now + self.ttl,
                ttl=self.ttl,
            )
            self._by_id[req.id] = req
            self._by_ref[req.ref] = req.id
            self._by_client.setdefault(client, OrderedDict())[req.id] = None
        return req

    def set_request_object(self, req: PresentationRequest, request_object: str) -> None:
        """Keep the signed request object the wallet fetches."""
        with self._lock:
            req.request_object = request_object

    def get(self, rid: str) -> PresentationRequest | None:
        """The request of the officer's handle, or None (unknown or forgotten)."""
        with self._lock:
            return self._by_id.get(rid)

    def by_ref(self, ref: str) -> PresentationRequest | None:
        """The request of the wallet's handle, or None."""
        with self._lock:
            rid = self._by_ref.get(ref)
            return None if rid is None else self._by_id.get(rid)

    def status(self, req: PresentationRequest) -> str:
        """``pending``, ``verifying``, ``answered`` or ``expired``."""
        with self._lock:
            if req.status == PENDING and req.deadline <= self.clock():
                return EXPIRED
            return req.status

    def claim(self, req: PresentationRequest) -> str | None:
        """Take the request for one response: None when it was pending (it is now being
        verified), else why a response cannot be taken."""
        with self._lock:
            if req.status != PENDING:
                return "this request was already answered: a response is taken once (a replay)"
            if req.deadline <= self.clock():
                return "this request has expired: ask the officer for a new one"
            req.status = VERIFYING
        return None

    def release(self, req: PresentationRequest) -> None:
        """Give a claimed request back (its response could not be verified at all)."""
        with self._lock:
            if req.status == VERIFYING:
                req.status = PENDING

    def answer(self, req: PresentationRequest, report: dict[str, Any]) -> bool:
        """Record the verdict of the response that claimed the request: False (nothing
        recorded) when the request is not being verified (never claimed, or answered)."""
        with self._lock:
            if req.status != VERIFYING:
                return False
            req.report = report
            req.status = ANSWERED
        return True

    def refuse(self, req: PresentationRequest, why: str) -> None:
        """Note a refused response on the request (for the officer's page)."""
        with self._lock:
            req.refuse(why)


__all__ = [
    "ANSWERED",
    "EXPIRED",
    "PENDING",
    "VERIFYING",
    "PresentationRequest",
    "RequestStore",
    "RequestsFull",
]
