"""The anchoring lease (issue 16.4): one holder among the processes on one database; it dies with
its holder (``kill -9``) and another process takes it; readiness names the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from talentproof.issuer.db import make_engine
from talentproof.issuer.store.lease import AnchorLease

HOLD = """
import sys, time
from talentproof.issuer.db import make_engine
from talentproof.issuer.store.lease import AnchorLease
lease = AnchorLease(make_engine(sys.argv[1]), check_s=0.2, timeout_s=3)
assert lease.wait(30), "the child could not take the lease"
print("held", flush=True)
time.sleep(600)
"""


def _holder_process(url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def _takeover(url: str) -> None:
    engine = make_engine(url)
    ours = AnchorLease(engine, check_s=0.1, timeout_s=3)
    other = AnchorLease(engine, check_s=0.1, timeout_s=3)
    try:
        assert ours.acquire()
        assert ours.acquire(force_check=True)  # still ours on a re-check
        if ours.kind == "postgresql":  # a second session of this process is refused too
            assert not other.acquire()
            assert other.holder() == ours.name
        ours.release()
        assert ours.holder() is None

        child = _holder_process(url)
        try:
            assert not ours.acquire(), "two holders at once"
            holder = ours.holder()
            assert holder is not None and f"pid {child.pid}" in holder, holder
            assert ours.describe()["heldHere"] is False
            started = time.monotonic()
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            assert ours.wait(30), "the lease was not taken over after its holder was killed"
            took = time.monotonic() - started
        finally:
            child.kill()
            child.wait(10)
        print(f"\n{ours.kind}: lease taken over {took:.2f} s after kill -9 of its holder")
        assert ours.describe()["heldHere"] is True
        assert ours.holder() == ours.name
    finally:
        ours.release()
        other.release()
        engine.dispose()


@pytest.mark.integration
def test_postgresql_lease_dies_with_its_holder(pg_url: str) -> None:
    _takeover(pg_url)


def test_sqlite_file_lease_dies_with_its_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'issuer.db'}"
    create_engine(url).dispose()
    _takeover(url)


def test_in_memory_database_lease_is_this_process() -> None:
    lease = AnchorLease(create_engine("sqlite://"))
    assert lease.acquire() and lease.held and lease.holder() == lease.name
