"""Challenges and OpenID4VP requests in a database that several verifier replicas share
(issue 16.4): a challenge issued by one replica is consumed by another, an OpenID4VP request
created on one is answered on another and read by the officer's page on either.

``TALENTPROOF_VERIFIER_DATABASE_URL`` selects it (a SQLAlchemy URL: a SQLite file for several
processes on one host, PostgreSQL for several hosts); without it the service keeps both in its
own memory (`challenges.ChallengeStore`, `oid4vp_store.RequestStore`: one process). The
behaviour is theirs (same methods, same answers), with these differences:

- **single use across replicas**: a challenge is consumed by ``DELETE ... RETURNING`` and a
  request is claimed by ``UPDATE ... WHERE status = 'pending' ... RETURNING``: of two replicas
  answering at once exactly one gets it, the other a replay;
- a claimed request whose replica died before recording the verdict (``kill -9`` mid
  verification) is open again after ``claim_s`` seconds (the wallet's retry, on any replica,
  takes it); a live replica records its verdict or gives the claim back long before, and one
  that was only slow, whose claim another response took, records nothing (a request is
  answered once, by the response holding its claim);
- deadlines are wall-clock (UNIX seconds): the replicas' clocks must agree to about a second;
- the caps (``max_open``, ``per_client``) are checked in the creating transaction, so replicas
  creating at the same instant may pass them by one each.

The tables (``verifier_challenges``, ``verifier_oid4vp_requests``) are created on start if
missing; expired rows are deleted whenever a challenge or request is created. The verifier's
own tables: it never imports the issuer's store.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from talentproof.verifier.challenges import EXPIRED as CHALLENGE_EXPIRED
from talentproof.verifier.challenges import UNKNOWN, ChallengesFull
from talentproof.verifier.oid4vp_store import (
    ANSWERED,
    EXPIRED,
    MAX_REFUSALS,
    PENDING,
    VERIFYING,
    PresentationRequest,
    RequestsFull,
)

metadata = MetaData()

challenges_table = Table(
    "verifier_challenges",
    metadata,
    Column("value", String(64), primary_key=True),
    Column("client", String(128), nullable=False, index=True),
    Column("deadline", Float, nullable=False, index=True),
)

requests_table = Table(
    "verifier_oid4vp_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("client", String(128), nullable=False, index=True),
    Column("profession", String(128), nullable=False),
    Column("application_date", String(10)),
    Column("id_number", String(256)),
    Column("nonce", String(64), nullable=False),
    Column("state", String(64), nullable=False),
    Column("deadline", Float, nullable=False, index=True),
    Column("expires_at", String(32), nullable=False),
    Column("request_object", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("claimed_until", Float),
    Column("report", Text),
    Column("refusals", Text, nullable=False, default="[]"),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def shared_engine(url: str) -> Engine:
    """An engine on ``url`` with the verifier's tables created (if missing)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if not database or database == ":memory:" or url in ("sqlite://", "sqlite:"):
            raise ValueError(
                "TALENTPROOF_VERIFIER_DATABASE_URL: expected a SQLite file (sqlite:///path) or "
                "PostgreSQL URL; an in-memory database is one process's, as the default store"
            )
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    for attempt in range(5):  # replicas starting together may both create the tables
        try:
            metadata.create_all(engine, checkfirst=True)
            break
        except (IntegrityError, ProgrammingError, OperationalError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return engine


class _Db:
    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self.engine = engine
        self.clock = clock
        self._lock = threading.Lock()  # SQLite: one writer per process at a time (no busy waits)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if self.engine.dialect.name == "sqlite":
            with self._lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn


class DbChallengeStore(_Db):
    """`challenges.ChallengeStore`'s behaviour on a shared database (see the module's text)."""

    def __init__(
        self,
        engine: Engine,
        ttl: float,
        clock: Callable[[], float] = time.time,
        *,
        max_open: int = 10_000,
        per_client: int = 100,
    ) -> None:
        if max_open < 1 or per_client < 1:
            raise ValueError("max_open and per_client must be at least 1")
        super().__init__(engine, clock)
        self._ttl = ttl
        self.max_open = max_open
        self.per_client = per_client

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(challenges_table)) or 0)

    def open_for(self, client: str) -> int:
        """How many open (not yet expired-and-dropped) challenges ``client`` holds."""
        t = challenges_table
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(t).where(t.c.client == client)
            return int(conn.scalar(query) or 0)

    def issue(self, client: str = "") -> tuple[str, float]:
        """A fresh challenge for ``client``; raises `ChallengesFull` when the store is full."""
        t = challenges_table
        value = secrets.token_urlsafe(18)
        with self.begin() as conn:
            now = self.clock()
            conn.execute(delete(t).where(t.c.deadline <= now))
            mine = conn.scalar(select(func.count()).select_from(t).where(t.c.client == client))
            if (mine or 0) >= self.per_client:
                oldest = (
                    select(t.c.value)
                    .where(t.c.client == client)
                    .order_by(t.c.deadline)
                    .limit(1)
                    .scalar_subquery()
                )
                conn.execute(delete(t).where(t.c.value == oldest))
            else:
                total = conn.scalar(select(func.count()).select_from(t)) or 0
                if total >= self.max_open:
                    first = conn.scalar(select(func.min(t.c.deadline))) or now
                    raise ChallengesFull(self.max_open, max(1, math.ceil(first - now)))
            conn.execute(insert(t).values(value=value, client=client, deadline=now + self._ttl))
        return value, self._ttl

    def consume(self, value: str) -> str | None:
        """Use a challenge once, on whichever replica: None if it was open, else why not."""
        t = challenges_table
        with self.begin() as conn:
            deadline = conn.scalar(delete(t).where(t.c.value == value).returning(t.c.deadline))
        if deadline is None:
            return UNKNOWN
        if deadline <= self.clock():
            return CHALLENGE_EXPIRED
        return None


class DbRequestStore(_Db):
    """`oid4vp_store.RequestStore`'s behaviour on a shared database (see the module's text).
    The requests it hands out are snapshots: every method reads or changes the row."""

    def __init__(
        self,
        engine: Engine,
        ttl: float,
        clock: Callable[[], float] = time.time,
        *,
        keep: float | None = None,
        max_open: int = 1_000,
        per_client: int = 20,
        claim_s: float = 60.0,
    ) -> None:
        if max_open < 1 or per_client < 1:
            raise ValueError("max_open and per_client must be at least 1")
        if not claim_s > 0:
            raise ValueError(f"claim_s: expected a positive number of seconds, got {claim_s!r}")
        super().__init__(engine, clock)
        self.ttl = ttl
        self.keep = ttl if keep is None else keep
        self.max_open = max_open
        self.per_client = per_client
        self.claim_s = claim_s

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(requests_table)) or 0)

    def create(
        self,
        client: str,
        profession: str,
        application_date: date | None = None,
        id_number: str | None = None,
    ) -> PresentationRequest:
        """A new pending request for ``client``; raises `RequestsFull`."""
        t = requests_table
        with self.begin() as conn:
            now = self.clock()
            conn.execute(delete(t).where(t.c.deadline + self.keep <= now))
            mine = conn.scalar(select(func.count()).select_from(t).where(t.c.client == client))
            if (mine or 0) >= self.per_client:
                oldest = (
                    select(t.c.id)
                    .where(t.c.client == client)
                    .order_by(t.c.deadline)
                    .limit(1)
                    .scalar_subquery()
                )
                conn.execute(delete(t).where(t.c.id == oldest))
            elif (conn.scalar(select(func.count()).select_from(t)) or 0) >= self.max_open:
                first = conn.execute(
                    select(t.c.id, t.c.deadline).order_by(t.c.deadline).limit(1)
                ).first()
                assert first is not None
                if first.deadline > now:
                    raise RequestsFull(self.max_open, max(1, math.ceil(first.deadline - now)))
                conn.execute(delete(t).where(t.c.id == first.id))
            req = PresentationRequest.new(
                client,
                profession,
                application_date,
                id_number,
                deadline=now + self.ttl,
                ttl=self.ttl,
            )
            conn.execute(
                insert(t).values(
                    id=req.id,
                    ref=req.ref,
                    client=client,
                    profession=profession,
                    application_date=application_date.isoformat() if application_date else None,
                    id_number=id_number,
                    nonce=req.nonce,
                    state=req.state,
                    deadline=req.deadline,
                    expires_at=req.expires_at.isoformat(),
                    request_object="",
                    status=PENDING,
                    refusals="[]",
                )
            )
        return req

    def set_request_object(self, req: PresentationRequest, request_object: str) -> None:
        """Keep the signed request object the wallet fetches (from any replica)."""
        req.request_object = request_object
        t = requests_table
        with self.begin() as conn:
            conn.execute(update(t).where(t.c.id == req.id).values(request_object=request_object))

    def _read(self, where: Any) -> PresentationRequest | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(requests_table).where(where)).first()
        if row is None:
            return None
        status = row.status
        if status == VERIFYING and (row.claimed_until or 0) <= self.clock():
            status = PENDING  # its replica died before recording a verdict: open again
        return PresentationRequest(
            id=row.id,
            ref=row.ref,
            client=row.client,
            profession=row.profession,
            application_date=date.fromisoformat(row.application_date)
            if row.application_date
            else None,
            id_number=row.id_number,
            nonce=row.nonce,
            state=row.state,
            deadline=row.deadline,
            expires_at=datetime.fromisoformat(row.expires_at),
            request_object=row.request_object,
            status=status,
            report=json.loads(row.report) if row.report else None,
            refusals=json.loads(row.refusals),
        )

    def get(self, rid: str) -> PresentationRequest | None:
        """The request of the officer's handle, or None (unknown or forgotten)."""
        return self._read(requests_table.c.id == rid)

    def by_ref(self, ref: str) -> PresentationRequest | None:
        """The request of the wallet's handle, or None."""
        return self._read(requests_table.c.ref == ref)

    def status(self, req: PresentationRequest) -> str:
        """``pending``, ``verifying``, ``answered`` or ``expired``, as the database has it."""
        fresh = self.get(req.id)
        if fresh is None:
            return EXPIRED
        if fresh.status == PENDING and fresh.deadline <= self.clock():
            return EXPIRED
        return fresh.status

    def claim(self, req: PresentationRequest) -> str | None:
        """Take the request for one response, atomically across replicas: None when it was
        pending (or its claim lapsed), else why a response cannot be taken.

        The claim is its ``claimed_until`` (kept on ``req``): as ``claim_s`` is positive, a
        claim taking over a lapsed one always ends later, so it tells the claims apart, and
        `answer` and `release` act only for the claim that is still the request's (a slow
        replica whose claim lapsed and was taken by another response records nothing)."""
        t = requests_table
        now = self.clock()
        until = now + self.claim_s
        with self.begin() as conn:
            taken = conn.scalar(
                update(t)
                .where(
                    t.c.id == req.id,
                    t.c.deadline > now,
                    (t.c.status == PENDING)
                    | ((t.c.status == VERIFYING) & (t.c.claimed_until <= now)),
                )
                .values(status=VERIFYING, claimed_until=until)
                .returning(t.c.id)
            )
        if taken is not None:
            req.status, req.claimed_until = VERIFYING, until
            return None
        fresh = self.get(req.id)
        if fresh is not None and fresh.status != PENDING:
            return "this request was already answered: a response is taken once (a replay)"
        return "this request has expired: ask the officer for a new one"

    def _mine(self, req: PresentationRequest) -> tuple[Any, ...]:
        """The rows of ``req`` still under the claim ``req`` holds."""
        t = requests_table
        return (
            t.c.id == req.id,
            t.c.status == VERIFYING,
            t.c.claimed_until == req.claimed_until,
        )

    def release(self, req: PresentationRequest) -> None:
        """Give a claimed request back (its response could not be verified at all), unless
        its claim lapsed and another response took it meanwhile."""
        if req.claimed_until is None:
            return
        with self.begin() as conn:
            conn.execute(
                update(requests_table)
                .where(*self._mine(req))
                .values(status=PENDING, claimed_until=None)
            )
        req.status, req.claimed_until = PENDING, None

    def answer(self, req: PresentationRequest, report: dict[str, Any]) -> bool:
        """Record the verdict of the response that claimed the request: False (nothing
        recorded) when ``req`` holds no claim or its claim lapsed and another response took
        the request (that response's verdict is the request's)."""
        if req.claimed_until is None:
            return False
        with self.begin() as conn:
            done = conn.scalar(
                update(requests_table)
                .where(*self._mine(req))
                .values(status=ANSWERED, report=json.dumps(report), claimed_until=None)
                .returning(requests_table.c.id)
            )
        if done is None:
            return False
        req.report, req.status, req.claimed_until = report, ANSWERED, None
        return True

    def refuse(self, req: PresentationRequest, why: str) -> None:
        """Note a refused response on the request (the last `MAX_REFUSALS` are kept)."""
        t = requests_table
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = {"at": at, "error": "invalid_request", "error_description": why}
        with self.begin() as conn:
            query = select(t.c.refusals).where(t.c.id == req.id)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update()
            current = conn.scalar(query)
            if current is None:
                return
            refusals = [*json.loads(current), entry][-MAX_REFUSALS:]
            conn.execute(update(t).where(t.c.id == req.id).values(refusals=json.dumps(refusals)))
        req.refusals = refusals


__all__ = ["DbChallengeStore", "DbRequestStore", "shared_engine"]
