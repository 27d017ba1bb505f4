"""The per-account send lock: one sender at a time per chain account among every process and
replica on one database, held from the nonce read to the broadcast (issue 16.4).

The anchoring lease (`store.lease`) gives the institutions' accounts one sender; the governor's
account is used by any replica's HTTP request (onboarding, grants and withdrawals, key
rotations), so two replicas could read the same ``pending`` count and sign the same nonce. Every
send of the issuer (`chain.ChainGateway`) takes this lock around `ledger.tx.TxSender.send`,
which re-reads the account's ``pending`` nonce from the chain under it; the receipt is awaited
after it is released (the next sender's ``pending`` read counts the transaction in the pool).

- **PostgreSQL**: a transaction advisory lock (``pg_advisory_xact_lock(LOCK_CLASS, key)``,
  the key from the account's address) under ``lock_timeout``, on a connection of a small pool
  of its own (never the request's pool: a request holding a session would wait on a second
  connection). A holder that dies loses it with its connection.
- **SQLite file**: ``flock`` on ``<db>-send-<address>``, polled until the deadline; ``<db>`` is
  the database file's real path (`lockfiles.lock_path`), so replicas naming one file differently
  (a symlink, a ``file:`` URI) share the lock.
- **SQLite in memory** (no file name, ``:memory:``, a ``file:`` URI with ``mode=memory``): one
  process, a lock per account in this process.

A wait longer than ``timeout_s`` raises `AccountBusy` (HTTP 503 with ``Retry-After``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ..errors import AccountBusy
from .lockfiles import lock_path

#: The advisory lock's first key ("TPsn"); the second is `lock_key` of the account.
LOCK_CLASS = 0x5450736E

_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


def lock_key(address: str) -> int:
    """The advisory lock's second key for an account: its address's first 4 bytes as a signed
    32-bit integer (two accounts sharing it only wait for each other)."""
    raw = bytes.fromhex(address.removeprefix("0x")[:8])
    return int.from_bytes(raw, "big", signed=True)


class AccountSendLock:
    """Serialises the sends of each chain account across processes on one database."""

    def __init__(self, engine: Engine, *, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s}")
        self.engine = engine
        self.timeout_s = timeout_s
        #: ``<db>-send`` of an SQLite file (the account's lock is ``<db>-send-<address>``)
        self._base: Path | None = None
        if engine.dialect.name == "postgresql":
            self.kind = "postgresql"
        elif engine.dialect.name == "sqlite":
            self._base = lock_path(engine, "send")
            self.kind = "memory" if self._base is None else "file"
        else:
            raise ValueError(
                f"the send lock needs PostgreSQL or SQLite, not {engine.dialect.name!r}"
            )
        self._pool: Engine | None = None
        self._pool_guard = threading.Lock()

    def _busy(self, address: str, timeout: float) -> AccountBusy:
        return AccountBusy(
            f"chain account {address} is sending another transaction (another replica or "
            f"request) and did not become free within {timeout:g} s "
            "(TALENTPROOF_ISSUER_SEND_LOCK_TIMEOUT_S); nothing was sent, retry"
        )

    @contextlib.contextmanager
    def hold(self, address: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the account's send lock for the block; `AccountBusy` after ``timeout``
        (default ``timeout_s``) seconds of waiting."""
        wait = self.timeout_s if timeout is None else timeout
        if self.kind == "postgresql":
            with self._hold_advisory(address, wait):
                yield
        elif self.kind == "file":
            with self._hold_file(address, wait):
                yield
        else:
            with _LOCAL_GUARD:
                lock = _LOCAL.setdefault(address.lower(), threading.Lock())
            if not lock.acquire(timeout=wait):
                raise self._busy(address, wait)
            try:
                yield
            finally:
                lock.release()

    def close(self) -> None:
        """Close the lock's connections."""
        if self._pool is not None:
            self._pool.dispose()
            self._pool = None

    # -- PostgreSQL -------------------------------------------------------------------------------
    def _connections(self) -> Engine:
        with self._pool_guard:
            if self._pool is None:
                # never waits for a connection (no overflow limit); keeps two idle
                self._pool = create_engine(
                    self.engine.url,
                    pool_size=2,
                    max_overflow=-1,
                    pool_pre_ping=True,
                    connect_args={
                        "application_name": "talentproof-send-lock",
                        "connect_timeout": max(1, round(self.timeout_s)),
                    },
                )
            return self._pool

    @contextlib.contextmanager
    def _hold_advisory(self, address: str, wait: float) -> Iterator[None]:
        with self._connections().connect() as conn:
            try:
                conn.execute(text(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}"))
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:c, :k)"),
                    {"c": LOCK_CLASS, "k": lock_key(address)},
                )
            except DBAPIError as exc:
                conn.rollback()
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise self._busy(address, wait) from None
                raise
            try:
                yield
            finally:
                conn.rollback()  # ends the transaction: the lock is released

    # -- SQLite file --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _hold_file(self, address: str, wait: float) -> Iterator[None]:
        path = Path(f"{self._base}-{address.lower()}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._busy(address, wait) from None
                    time.sleep(0.005)
            yield
        finally:
            os.close(fd)  # releases the flock
