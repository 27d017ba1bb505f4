"""The process locks of the store: SQLite's one writer, queued across threads and processes."""

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any, Self

from sqlalchemy.engine import Engine

from .lockfiles import lock_path


class WriterLock:
    """SQLite's single writer, queued: a re-entrant lock across the threads of this process and,
    through ``flock`` on a file beside the database file's real path (`lockfiles.lock_path`:
    one lock whatever name a process reaches the file by), across processes (several ``serve``
    workers, a separate ``issuer worker``, the CLI).

    SQLite itself lets a second writer wait in its busy handler, which polls with sleeps of up
    to 100 ms; a writer blocked in ``flock`` instead wakes the moment the lock is released.
    Transactions that write must run inside it; readers never need it (WAL).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        #: Waits for the lock (another thread or process was writing): count, seconds, longest.
        self.waits = 0
        self.wait_seconds = 0.0
        self.wait_max = 0.0

    def __enter__(self) -> Self:
        started = 0.0
        if not self._thread_lock.acquire(blocking=False):
            started = time.perf_counter()
            self._thread_lock.acquire()
        if self._depth == 0:
            try:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    started = started or time.perf_counter()
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise
        self._depth += 1
        if started:
            waited = time.perf_counter() - started
            self.waits += 1
            self.wait_seconds += waited
            self.wait_max = max(self.wait_max, waited)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        """Release the lock file's descriptor."""
        with self._thread_lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def writer_lock(engine: Engine) -> Any:
    """The lock that serializes writers of ``engine``'s database (see `WriterLock`): a
    `WriterLock` on ``<db>-writelock`` for a SQLite file (``<db>`` its real path), a thread lock
    for an in-memory SQLite database, and none for PostgreSQL (row locks and unique constraints
    serialize what must be)."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    path = lock_path(engine, "writelock")
    return threading.RLock() if path is None else WriterLock(path)
