"""The anchoring lease: exactly one anchoring worker among the replicas on one database sends
chain transactions (anchors and status changes) for the deployment's chain accounts, so their
nonces never collide (issue 16.4).

The lease is a lock that dies with its holder, never a deadline to renew:

- **PostgreSQL** (several replicas): a session-level advisory lock (``pg_try_advisory_lock``)
  taken on a connection of its own, outside the pool, held while the worker works. When the
  holder's process dies (``kill -9`` included) its connection closes and the server drops the
  lock at once; a holder whose host vanishes is dropped when the server's TCP keepalives give
  up (set on that session to about ``timeout_s``). Before each anchoring pass the holder
  re-checks its lock on that connection once the last check is ``check_s`` old; a check that
  fails or does not answer within ``timeout_s`` gives the lease up (the connection is closed).
- **SQLite file** (one host): ``flock`` on a file beside the database (``<db>-anchorlease``),
  released by the kernel when the process dies; the holder writes its name into the file.
  ``<db>`` is the database file's real path (`lockfiles.lock_path`: symlinks and ``..``
  resolved, an SQLite ``file:`` URI read as its path), so replicas naming one file differently
  still share one lease.
- **SQLite in memory** (no file name, ``:memory:``, a ``file:`` URI with ``mode=memory``): one
  process, so this process always holds it.

A replica that does not hold the lease still serves issuance (it only writes rows) and tries
to take the lease every ``check_s``: takeover after the holder dies takes at most about that.
Who holds it is read from the database (`AnchorLease.holder`): ``/readyz`` reports it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from .lockfiles import lock_path

_logger = logging.getLogger(__name__)

#: The advisory lock's two keys (``pg_locks.classid``, ``objid``): "TPan" and lease number 1
#: (one lease per database: every chain account of the deployment).
LOCK_CLASS = 0x5450616E
LOCK_OBJECT = 1

_HOLDS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :c "
    "AND objid = :o AND objsubid = 2 AND granted AND pid = pg_backend_pid()"
)
_HOLDER = text(
    "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a "
    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = :c AND l.objid = :o "
    "AND l.objsubid = 2 AND l.granted"
)


def holder_name() -> str:
    """This process's name as a lease holder: host and process id."""
    return f"{socket.gethostname()} pid {os.getpid()}"


class AnchorLease:
    """The anchoring lease of one database (see the module's text); thread safe. Nothing
    connects until `acquire` is first called (HTTP-only processes never take it)."""

    def __init__(self, engine: Engine, *, check_s: float = 1.0, timeout_s: float = 5.0) -> None:
        self.engine = engine
        self.check_s = check_s
        self.timeout_s = timeout_s
        self.name = holder_name()
        self._lock = threading.Lock()
        self._held = False
        self._checked = 0.0  # monotonic time of the last successful check
        self._conn: Connection | None = None
        self._lease_engine: Engine | None = None
        self._fd = -1
        self.kind = self._kind(engine)
        self._path = lock_path(engine, "anchorlease") if self.kind == "file" else None
        #: monotonic time the lease was last taken here, and how often it was taken and lost
        self.since: float | None = None
        self.taken = 0
        self.lost = 0

    @staticmethod
    def _kind(engine: Engine) -> str:
        if engine.dialect.name == "postgresql":
            return "postgresql"
        if engine.dialect.name == "sqlite":
            return "file" if lock_path(engine, "anchorlease") is not None else "memory"
        raise ValueError(
            f"the anchoring lease needs PostgreSQL or SQLite, not {engine.dialect.name!r}"
        )

    @property
    def path(self) -> Path:
        """The SQLite lease file (beside the database file's real path, `lockfiles.lock_path`)."""
        if self._path is None:
            raise ValueError(f"the anchoring lease on a {self.kind} database has no lease file")
        return self._path

    @property
    def held(self) -> bool:
        """Whether this process held the lease at its last check."""
        return self._held

    # -- taking and keeping it ------------------------------------------------------------------
    def acquire(self, *, force_check: bool = False) -> bool:
        """Take the lease if free, or confirm it is still ours (at most every ``check_s``
        unless ``force_check``); returns whether this process holds it now."""
        with self._lock:
            if self._held:
                if not force_check and time.monotonic() - self._checked < self.check_s:
                    return True
                if self._still_held():
                    self._checked = time.monotonic()
                    return True
                self._drop("the lease check failed")
            if self._try_take():
                self._held = True
                self._checked = time.monotonic()
                self.since = self._checked
                self.taken += 1
                _logger.info(
                    "anchoring lease taken by %s; this replica now sends the chain transactions",
                    self.name,
                    extra={"holder": self.name},
                )
            return self._held

    def wait(self, timeout: float) -> bool:
        """`acquire`, retried every ``check_s`` for up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.acquire():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(self.check_s, max(0.0, deadline - time.monotonic())))

    def release(self) -> None:
        """Give the lease up (service shutdown)."""
        with self._lock:
            if self._held:
                _logger.info("anchoring lease released by %s", self.name)
            self._close()
            self._held = False

    close = release

    def _drop(self, why: str) -> None:
        self._close()
        self._held = False
        self.lost += 1
        _logger.error(
            "anchoring lease lost by %s: %s; this replica stops sending chain transactions",
            self.name,
            why,
            extra={"holder": self.name},
        )

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # a dead connection: closing it is all that is left
                _logger.debug("closing the lease connection failed", exc_info=True)
            self._conn = None
        if self._lease_engine is not None:
            self._lease_engine.dispose()
            self._lease_engine = None
        if self._fd >= 0:
            os.close(self._fd)  # releases the flock
            self._fd = -1

    def _try_take(self) -> bool:
        if self.kind == "memory":
            return True
        if self.kind == "file":
            return self._take_file()
        try:
            return self._take_advisory()
        except Exception as exc:  # the database is down: nobody here anchors meanwhile
            _logger.warning("anchoring lease: the database did not answer (%s)", exc)
            self._close()
            return False

    def _still_held(self) -> bool:
        if self.kind != "postgresql":
            return True  # the flock (or the single process) cannot be lost while we live
        assert self._conn is not None
        try:
            count = self._conn.execute(_HOLDS, {"c": LOCK_CLASS, "o": LOCK_OBJECT}).scalar()
            self._conn.rollback()
        except Exception as exc:
            _logger.warning("anchoring lease check failed: %s", exc)
            return False
        return bool(count)

    # -- PostgreSQL ---------------------------------------------------------------------------
    def _connect(self) -> Connection:
        if self._lease_engine is None:
            idle = max(1, round(self.timeout_s / 3))
            self._lease_engine = create_engine(
                self.engine.url,
                poolclass=NullPool,
                connect_args={
                    "application_name": f"talentproof-anchor-lease {self.name}"[:63],
                    "connect_timeout": max(1, round(self.timeout_s)),
                    # this side notices a silent server within about timeout_s
                    "keepalives": 1,
                    "keepalives_idle": idle,
                    "keepalives_interval": 1,
                    "keepalives_count": max(1, round(self.timeout_s - idle)),
                    "tcp_user_timeout": int(self.timeout_s * 1000),
                },
            )
        conn = self._lease_engine.connect()
        ms = int(self.timeout_s * 1000)
        # the server drops this session (and the lock) within about timeout_s of the holder's
        # host going silent; no statement here waits longer than that
        idle = max(1, round(self.timeout_s / 3))
        for setting, value in (
            ("tcp_keepalives_idle", idle),
            ("tcp_keepalives_interval", 1),
            ("tcp_keepalives_count", max(1, round(self.timeout_s - idle))),
            ("tcp_user_timeout", ms),
            ("statement_timeout", ms),
        ):
            conn.execute(text(f"SET {setting} = {int(value)}"))
        conn.commit()
        return conn

    def _take_advisory(self) -> bool:
        if self._conn is None:
            self._conn = self._connect()
        got = self._conn.execute(
            text("SELECT pg_try_advisory_lock(:c, :o)"), {"c": LOCK_CLASS, "o": LOCK_OBJECT}
        ).scalar()
        self._conn.commit()  # the lock is the session's: it outlives this transaction
        return bool(got)  # not ours: the connection is kept for the next try

    # -- SQLite file ----------------------------------------------------------------------------
    def _take_file(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.name.encode(), 0)
        self._fd = fd
        return True

    # -- who holds it ---------------------------------------------------------------------------
    def holder(self) -> str | None:
        """Who holds the lease now (a replica's host and process id), read from the database
        or the lease file; None when nobody does."""
        if self._held:
            return self.name
        if self.kind == "memory":
            return None
        if self.kind == "file":
            try:
                with open(self.path, "rb") as f:
                    try:
                        fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:
                        return f.read().decode(errors="replace") or "another process"
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)
                    return None
            except FileNotFoundError:
                return None
        with self.engine.connect() as conn:
            row = conn.execute(_HOLDER, {"c": LOCK_CLASS, "o": LOCK_OBJECT}).first()
        if row is None:
            return None
        name = str(row[0] or "")
        return name.removeprefix("talentproof-anchor-lease ") or f"database session {row[1]}"

    def describe(self) -> dict[str, Any]:
        """The lease for ``/readyz``: who holds it, whether this replica does (this process or
        the ``serve`` process supervising it), and for how long (when this process holds it)."""
        try:
            holder = self.holder()
        except Exception as exc:  # readiness reports the database separately
            holder = f"unknown ({type(exc).__name__})"
        since = round(time.monotonic() - self.since, 1) if self._held and self.since else None
        # an HTTP process of `serve --workers N` answers for its supervising process, which
        # runs the worker
        parent = f"{socket.gethostname()} pid {os.getppid()}"
        return {
            "kind": {"postgresql": "advisory lock", "file": "lock file"}.get(self.kind, "process"),
            "holder": holder,
            "heldHere": self._held or (holder is not None and holder == parent),
            "heldForSeconds": since,
            "replica": self.name,
        }
