"""The SQLite lock files of the store (issue 16 debt): the anchoring lease, the per-account send
lock and the writers' lock are each one per database file, whatever name a replica reaches it
by. Before, the send lock and the writers' lock were named from the URL's text, so a replica
naming the file through a symlink (to the file or its folder), a path through ``..`` or an
SQLite ``file:`` URI held a lock of its own: two holders of what must be one lock."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from talentproof.issuer.db import make_engine
from talentproof.issuer.errors import AccountBusy
from talentproof.issuer.store.lease import AnchorLease
from talentproof.issuer.store.locks import WriterLock, writer_lock
from talentproof.issuer.store.sendlock import AccountSendLock

ACCOUNT = "0x" + "ab" * 20
L = TypeVar("L")

IN_MEMORY = [
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:///file:memdb-locks?mode=memory&cache=shared&uri=true",
]


CASES = ["symlinked file", "symlinked folder", "path through ..", "file: URI"]


def same_file_urls(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Pairs of SQLite URLs naming one database file (``data/issuer.db``) differently, the plain
    path first, by case: a symlink to the file, a symlink to its folder, a path through '..',
    an SQLite URI filename (``file:`` with ``uri=true``)."""
    real = tmp_path / "data"
    real.mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    db = real / "issuer.db"
    create_engine(f"sqlite:///{db}").dispose()
    (tmp_path / "issuer-link.db").symlink_to(db)
    plain = f"sqlite:///{db}"
    return {
        "symlinked file": (plain, f"sqlite:///{tmp_path / 'issuer-link.db'}"),
        "symlinked folder": (plain, f"sqlite:///{tmp_path / 'link' / 'issuer.db'}"),
        "path through ..": (plain, f"sqlite:///{tmp_path / 'sub' / '..' / 'data' / 'issuer.db'}"),
        "file: URI": (plain, f"sqlite:///file:{db}?mode=rwc&uri=true"),
    }


def _pair(tmp_path: Path, case: str, order: str) -> tuple[str, str]:
    urls = same_file_urls(tmp_path)[case]
    return urls if order == "plain first" else (urls[1], urls[0])


@contextmanager
def _locks_on(urls: tuple[str, str], lock: Callable[[Any], L]) -> Iterator[tuple[L, L]]:
    """``lock`` made on an engine of each URL (two replicas); closed, engines disposed, after."""
    engines = [make_engine(url) for url in urls]
    made: list[Any] = []
    try:
        made = [lock(engine) for engine in engines]
        yield made[0], made[1]
    finally:
        for each in made:
            each.close()
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("order", ["plain first", "other name first"])
@pytest.mark.parametrize("case", CASES)
def test_one_sqlite_file_under_two_names_has_one_send_lock(
    tmp_path: Path, case: str, order: str
) -> None:
    """While one replica holds an account's send lock, a replica naming the database otherwise
    waits for it (here: gives up with AccountBusy), never signs the same nonce alongside."""
    urls = _pair(tmp_path, case, order)
    with _locks_on(urls, lambda engine: AccountSendLock(engine, timeout_s=5)) as (first, second):
        assert first.kind == second.kind == "file", (first.kind, second.kind)
        with first.hold(ACCOUNT), pytest.raises(AccountBusy), second.hold(ACCOUNT, timeout=0.1):
            raise AssertionError(f"two holders of one send lock: {urls}")
        with second.hold(ACCOUNT, timeout=5):  # free again once the first let go
            pass


@pytest.mark.parametrize("order", ["plain first", "other name first"])
@pytest.mark.parametrize("case", CASES)
def test_one_sqlite_file_under_two_names_has_one_writer_lock(
    tmp_path: Path, case: str, order: str
) -> None:
    """While one replica writes, a replica naming the database otherwise queues on the same
    ``flock``: the lock file sits beside the database file's real path."""
    urls = _pair(tmp_path, case, order)
    with _locks_on(urls, writer_lock) as (first, second):
        assert isinstance(first, WriterLock) and isinstance(second, WriterLock), urls
        real = os.path.realpath(tmp_path / "data" / "issuer.db")
        assert first.path == second.path == Path(f"{real}-writelock"), urls
        with first:  # a writer through the other name (its own descriptor) is shut out
            probe = os.open(second.path, os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(probe)


@pytest.mark.parametrize("order", ["plain first", "other name first"])
@pytest.mark.parametrize("case", CASES)
def test_one_sqlite_file_under_two_names_has_one_anchor_lease(
    tmp_path: Path, case: str, order: str
) -> None:
    """The lease (fixed in 2772b2b) through the same shared helper: one holder."""
    urls = first_url, second_url = _pair(tmp_path, case, order)
    first = AnchorLease(make_engine(first_url), check_s=0.1, timeout_s=3)
    second = AnchorLease(make_engine(second_url), check_s=0.1, timeout_s=3)
    try:
        assert first.kind == second.kind == "file", (first.kind, second.kind)
        assert first.path == second.path
        assert first.acquire()
        assert not second.acquire(), f"two holders of one database: {urls}"
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()
        first.engine.dispose()
        second.engine.dispose()


@pytest.mark.parametrize("url", IN_MEMORY)
def test_in_memory_databases_lock_in_this_process(url: str) -> None:
    """An in-memory database is one process's: its locks are thread locks, no file made."""
    engine = create_engine(url, poolclass=StaticPool)
    send = AccountSendLock(engine, timeout_s=5)
    lock = writer_lock(engine)
    try:
        assert send.kind == "memory"
        assert not isinstance(lock, WriterLock)
        with lock, lock:  # re-entrant in one thread
            pass
        with send.hold(ACCOUNT):
            done: list[BaseException] = []

            def other() -> None:
                try:
                    with send.hold(ACCOUNT, timeout=0.1):
                        pass
                except BaseException as exc:
                    done.append(exc)

            thread = threading.Thread(target=other)
            thread.start()
            thread.join(30)
            assert len(done) == 1 and isinstance(done[0], AccountBusy), done
        assert AnchorLease(engine).kind == "memory"
    finally:
        send.close()
        engine.dispose()


def test_an_sqlite_uri_makes_no_folder_named_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make_engine` creates a plain path's folder; an SQLite URI filename is no path: before,
    ``sqlite:///file:/abs/db?uri=true`` created ``./file:/abs`` in the working folder."""
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "issuer.db"
    db.parent.mkdir()
    engine = make_engine(f"sqlite:///file:{db}?mode=rwc&uri=true")
    try:
        with engine.connect():
            pass
        assert db.exists()
        assert not (tmp_path / "file:").exists(), sorted(p.name for p in tmp_path.iterdir())
    finally:
        engine.dispose()
