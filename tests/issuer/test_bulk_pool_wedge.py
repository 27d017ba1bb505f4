"""A signing process killed while it writes its result never wedges the `SigningPool`.

Found on a CI run hung for 70 minutes: the signing processes of the standard process pool share
one result pipe, written under one lock. A process killed mid-result (SIGKILL: the OOM killer,
an operator) leaves a partial message in the pipe and that lock taken: the executor's manager
thread waits forever for the rest of the message (so the executor is never marked broken, and
no call of it ever fails), the surviving processes wait forever for the lock, `heal` took it for
"busy", and `shutdown` joined the manager thread forever (the bulk runner and the service's own
stop with it). Here a call returning `BIG` bytes is sent, and the process running it is stopped
while it writes them (its written count, read from /proc/<pid>/io once stopped, short of the
result), then killed: a wedge made on purpose, whatever the machine's speed."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer import _bulkpool
from talentproof.issuer._bulkpool import BrokenProcessPool, SigningPool
from talentproof.issuer.bulk import BulkRunner

from .issuer_helpers import degree_subjects, onboard, post_bulk_job
from .test_bulk_pool import _alive, _assert_reference_bytes, _job_state, _wait

pytestmark = [
    pytest.mark.integration,
]

#: The result written while the process is stopped: large enough that writing it through the
#: 64 KiB pipe takes many reads by the manager thread (the process is caught in the middle).
BIG = 64 << 20

WAIT_S = 60  # a bound on waiting for the pool's own threads and processes, not a figure
ATTEMPTS = 20  # calls sent before giving up on catching one mid-result


def _wchar(pid: int) -> int:
    """Bytes the process wrote so far (all its threads; a write counts when it returns, and a
    pipe write cut short by a signal returns what it wrote)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"T"


def _stop_mid_result(pool: SigningPool) -> tuple[int, cf.Future[Any]]:
    """Send ``bytes(BIG)`` to the pool; stop (SIGSTOP) the process running it while it writes
    its result into the pool's result pipe. Returns that process's id and the call's future.

    The process that starts writing (its wchar moves) is stopped and its written count read:
    short of `BIG`, the result's message is partial in the pipe and the process holds the pipe's
    lock; else (it wrote it all before it stopped) it is continued and another call is sent."""
    for _attempt in range(ATTEMPTS):
        pids = pool.pids()
        base = {pid: _wchar(pid) for pid in pids}
        future = pool.submit(bytes, BIG)
        deadline = time.monotonic() + WAIT_S
        writing = None
        while writing is None and not future.done():
            assert time.monotonic() < deadline, "no signing process wrote a result"
            writing = next((pid for pid in pids if _wchar(pid) > base[pid]), None)
        if writing is not None:
            os.kill(writing, signal.SIGSTOP)
            _wait("the writing process to stop", lambda pid=writing: _stopped(pid))
            if _wchar(writing) - base[writing] < BIG:
                return writing, future
            os.kill(writing, signal.SIGCONT)
        assert len(future.result(timeout=WAIT_S)) == BIG
    pytest.fail(f"no signing process was caught writing its result in {ATTEMPTS} calls")


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _wait("the killed process to end", lambda: not _alive(pid))


def _kill_mid_result(pool: SigningPool) -> tuple[int, cf.Future[Any]]:
    """`_stop_mid_result`, then SIGKILL that process: the pool is wedged."""
    victim, future = _stop_mid_result(pool)
    _kill(victim)
    return victim, future


def _shutdown_within(pool: SigningPool, pids: list[int]) -> None:
    """`pool.shutdown()` in a thread, which must end within `WAIT_S`; then none of ``pids``
    runs. A shutdown still hanging is failed, after killing what it waits for."""
    thread = threading.Thread(target=pool.shutdown, name="test-shutdown", daemon=True)
    executor = pool._executor  # only to end a hanging shutdown (the test failed then)
    thread.start()
    thread.join(WAIT_S)
    if thread.is_alive():
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if executor is not None:
            executor.results._writer.close()  # the manager thread's reader sees its end
        thread.join(WAIT_S)
        pytest.fail(f"SigningPool.shutdown() still waited after {WAIT_S} s (a wedged pool)")
    assert not [pid for pid in pids if _alive(pid)], "signing processes outlived shutdown"


def test_a_process_killed_mid_result_is_found_by_heal_and_the_pool_replaced() -> None:
    pool = SigningPool(2)
    pool.start()
    seen = list(pool.pids())
    try:
        victim, future = _kill_mid_result(pool)
        assert pool.heal() is False  # found wedged, replaced
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=WAIT_S)  # the call in flight fails: its caller resumes
        after = pool.pids()
        seen += after
        assert len(after) == 2 and victim not in after and pool.restarts == 1
        assert pool.heal() is True
        assert pool.submit(os.getpid).result(timeout=WAIT_S) in after
    finally:
        _shutdown_within(pool, sorted(set(seen + pool.pids())))


def test_shutdown_of_a_pool_wedged_mid_result_returns() -> None:
    pool = SigningPool(2)
    pool.start()
    pids = pool.pids()
    _victim, future = _kill_mid_result(pool)
    _shutdown_within(pool, pids)
    assert not pool.running
    with pytest.raises(BrokenProcessPool):  # what was in flight failed, not left pending
        future.result(timeout=0)


def test_shutdown_ends_a_process_stopped_mid_result_after_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process stopped (not dead: nothing to see for the watch thread) in the middle of its
    result: `shutdown` waits for its call `SHUTDOWN_WAIT_S` (made 1 s here), then ends it."""
    monkeypatch.setattr(_bulkpool, "SHUTDOWN_WAIT_S", 1.0)
    pool = SigningPool(2)
    pool.start()
    pids = pool.pids()
    _victim, future = _stop_mid_result(pool)
    _shutdown_within(pool, pids)
    with pytest.raises(BrokenProcessPool):
        future.result(timeout=0)


def test_a_job_on_a_pool_wedged_mid_result_resumes_once_and_completes(
    client: TestClient, make_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The runner waits on its blocks' futures: on a wedged pool they would never end. It finds
    the wedge while it waits, the pool is replaced, and the job resumes from its last committed
    chunk once: every row stored once, byte for byte the reference issuance."""
    service = make_service(bulk_chunk_rows=100)
    subjects = degree_subjects(600)
    job_id = post_bulk_job(client, onboard(client)["api_key"]["token"], subjects)
    runner = BulkRunner(service, processes=2, inline_rows=0)
    runner.signing.start()
    seen = list(runner.signing.pids())
    done = threading.Thread(target=runner.run_pending, name="test-job", daemon=True)
    try:
        runner.run_job(job_id, max_chunks=2)  # 200 rows committed, then stopped as a crash would
        _wait("the blocks sent ahead to be answered", lambda: runner.signing.unanswered() == 0)
        # a process stopped mid-result (holding the result pipe's lock): the job's blocks sent
        # now wait for that lock, then it is killed
        victim, _future = _stop_mid_result(runner.signing)
        with caplog.at_level(logging.WARNING, logger="talentproof.issuer.bulk"):
            done.start()
            _wait("the job's blocks", lambda: runner.signing.unanswered() > 1)
            _kill(victim)
            done.join(WAIT_S * 2)
            assert not done.is_alive(), "the runner still waits on a wedged signing pool"
        resumed = [r for r in caplog.records if "resuming it" in r.getMessage()]
        assert len(resumed) == 1, [r.getMessage() for r in caplog.records]
        assert runner.signing.restarts == 1
        seen += runner.signing.pids()
        assert _job_state(service, job_id) == "done"
        _assert_reference_bytes(service, job_id, subjects)
    finally:
        _shutdown_within(runner.signing, sorted(set(seen + runner.signing.pids())))
