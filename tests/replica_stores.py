"""What tests of stores shared by replicas use: a clock the test moves, the database the
replicas share (a SQLite file, or PostgreSQL), and threads released at one moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


class Clock:
    """A clock that stands still until the test moves ``now``."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database two replicas share: a SQLite file, or PostgreSQL (the module must import
    the ``pg_url`` fixture)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'verifier.db'}"
    return str(request.getfixturevalue("pg_url"))


def race(n: int, attempt: Callable[[int], Any], join_s: float = 60) -> list[Any]:
    """``n`` threads call ``attempt`` at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(join_s)
    return results


def two_replicas(database_url: str, store: Callable[[Any], T]) -> tuple[T, T]:
    """Two replicas' stores on one database, each through its own engine."""
    from talentproof.verifier.shared_store import shared_engine

    return store(shared_engine(database_url)), store(shared_engine(database_url))
