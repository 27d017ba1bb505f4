"""Bulk issuance without a fixed cost per job (issue 17.1): the signing processes are started with
the service and kept warm (a job forks none), a process that dies is replaced and its job
resumed from its last committed chunk, the pool stops with the service; small jobs are signed
in the runner's thread by the same call. Every path stores the bytes the reference issuance
(`credential.issuance.issue_credential`) gives the same request, id, status index and time."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.issuer._bulkpool import SigningPool
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import BulkJob, CredentialRow

from .issuer_helpers import degree_subjects, onboard, post_bulk_job, stored_bulk_rows

pytestmark = pytest.mark.integration

WAIT_S = 120  # a bound on waiting for the service's own threads, not a performance figure


def _wait(what: str, done) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, f"still waiting for {what} after {WAIT_S} s"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _job_state(service, job_id: str) -> str:  # type: ignore[no-untyped-def]
    with service.sessions() as session:
        job = session.get(BulkJob, job_id)
        assert job is not None
        return str(job.state)


def _assert_reference_bytes(service, job_id: str, subjects: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Every row issued once, each stored document (read as the service reads it: a framed
    row's holes joined with its chunk's frame, migration 0011) byte for byte what
    `issue_credential` signs for its request with the same id, status index and time."""
    stored_bulk_rows(service, job_id, subjects)


def test_service_start_warms_the_pool_a_job_forks_nothing_and_stop_ends_it(service) -> None:  # type: ignore[no-untyped-def]
    from talentproof.issuer.app import create_app

    subjects = degree_subjects(1000)
    with TestClient(create_app(service, run_worker=True)) as client:
        runner: BulkRunner = client.app.state.bulk  # type: ignore[attr-defined]
        # started with the service, before any job: sized to the cores (or the setting)
        _wait("the signing processes", lambda: len(runner.signing.pids()) == runner.processes)
        assert runner.processes == (service.settings.bulk_processes or os.cpu_count())
        pids = runner.signing.pids()
        forked, submitted = SigningPool.forked, runner.signing.submitted
        job_id = post_bulk_job(client, onboard(client)["api_key"]["token"], subjects)
        _wait("the job", lambda: _job_state(service, job_id) == "done")
        # signed by the warm processes: none forked, none replaced
        assert runner.signing.submitted > submitted
        assert (SigningPool.forked, runner.signing.restarts) == (forked, 0)
        assert runner.signing.pids() == pids and all(_alive(p) for p in pids)
        _assert_reference_bytes(service, job_id, subjects)
    # the service stopped: so did its signing processes
    assert not runner.signing.running
    assert not any(_alive(p) for p in pids)


def test_a_small_job_is_signed_in_the_runners_thread(client, service) -> None:  # type: ignore[no-untyped-def]
    subjects = degree_subjects(40)
    job_id = post_bulk_job(client, onboard(client)["api_key"]["token"], subjects)
    runner = BulkRunner(service, processes=2)
    assert runner.inline_rows >= len(subjects)
    forked = SigningPool.forked
    runner.run_pending()
    assert _job_state(service, job_id) == "done"
    assert SigningPool.forked == forked and not runner.signing.running
    _assert_reference_bytes(service, job_id, subjects)


def test_a_signing_process_killed_while_idle_is_replaced_and_the_job_resumes_once(
    client: TestClient, make_service: Any
) -> None:
    service = make_service(bulk_chunk_rows=100)
    token = onboard(client)["api_key"]["token"]
    subjects = degree_subjects(600)
    job_id = post_bulk_job(client, token, subjects)
    runner = BulkRunner(service, processes=2, inline_rows=0)
    runner.signing.start()
    try:
        runner.run_job(job_id, max_chunks=2)  # 200 rows committed, then stopped as a crash would
        # the blocks it had sent ahead are answered first: the process killed is idle (one
        # killed writing its answer is tests/issuer/test_bulk_pool_wedge.py's)
        _wait("the blocks sent ahead", lambda: runner.signing.unanswered() == 0)
        before = runner.signing.pids()
        os.kill(before[0], signal.SIGKILL)
        _wait("the killed process to end", lambda: not _alive(before[0]))
        assert runner.signing.heal() is False  # found dead, replaced
        after = runner.signing.pids()
        assert len(after) == 2 and before[0] not in after and runner.signing.restarts == 1
        assert runner.signing.heal() is True
        runner.run_pending()
        assert _job_state(service, job_id) == "done"
        _assert_reference_bytes(service, job_id, subjects)
    finally:
        runner.stop()
    assert not any(_alive(p) for p in after)


def test_signing_processes_killed_during_a_job_are_replaced_and_the_job_completes(
    client: TestClient, make_service: Any
) -> None:
    service = make_service(bulk_chunk_rows=100)
    subjects = degree_subjects(500)
    job_id = post_bulk_job(client, onboard(client)["api_key"]["token"], subjects)
    runner = BulkRunner(service, processes=2, inline_rows=0)
    runner.signing.start()
    pids = runner.signing.pids()
    for pid in pids:  # frozen: the job's blocks wait in their queue
        os.kill(pid, signal.SIGSTOP)
    thread = threading.Thread(target=runner.run_pending)
    try:
        thread.start()
        _wait("the job's first blocks", lambda: runner.signing.submitted > 0)
        for pid in pids:  # the blocks in flight are lost with them
            os.kill(pid, signal.SIGKILL)
        thread.join()
        assert runner.signing.restarts >= 1 and not set(pids) & set(runner.signing.pids())
        assert _job_state(service, job_id) == "done"
        _assert_reference_bytes(service, job_id, subjects)
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        thread.join()
        runner.stop()


def test_one_warm_pool_signs_each_institutions_jobs_as_that_institution(client, service) -> None:  # type: ignore[no-untyped-def]
    """The signing processes outlive jobs: each block carries its job's key and identity, and a
    process that signed for one institution never reuses its state for the next."""
    first, second = degree_subjects(300), degree_subjects(301)
    jobs = [
        (post_bulk_job(client, onboard(client)["api_key"]["token"], rows), rows)
        for rows in (first, second)
    ]
    runner = BulkRunner(service, processes=1, inline_rows=0)
    runner.signing.start()
    try:
        pids = runner.signing.pids()
        runner.run_pending()
        assert runner.signing.pids() == pids
    finally:
        runner.stop()
    for job_id, rows in jobs:
        assert _job_state(service, job_id) == "done"
        _assert_reference_bytes(service, job_id, rows)


def test_the_warm_up_signs_every_kind_and_leaves_no_job_behind() -> None:
    """What each signing process runs when the pool starts: example rows of every kind signed
    without a refusal (a warm-up that stopped warming would otherwise go unnoticed), and no
    key or template of it kept for the next job."""
    from talentproof.issuer import _bulkworker

    pid, problem = _bulkworker.warm_up()
    assert (pid, problem) == (os.getpid(), "")
    assert not _bulkworker.holds_a_key()


def test_a_job_queued_by_another_process_wakes_the_idle_runner_at_once(client, service) -> None:  # type: ignore[no-untyped-def]
    """`issuer serve` runs the bulk runner in its supervising process while uploads arrive in
    its HTTP processes (here: an app without the workers, so nothing sets the runner's
    ``wakeup`` in process): the upload's datagram wakes the runner, which otherwise would sleep
    its whole idle wait (made 60 s here) before reading the job."""
    runner = BulkRunner(service, processes=1)
    runner.idle_wait_s = 60.0
    runner.start()
    try:
        _wait("the signing processes", lambda: len(runner.signing.pids()) == 1)
        time.sleep(0.3)  # its first pass found nothing: it waits
        subjects = degree_subjects(20)
        started = time.monotonic()
        job_id = post_bulk_job(client, onboard(client)["api_key"]["token"], subjects)
        deadline = started + 30  # a bound for a loaded machine, still half the idle wait
        while _job_state(service, job_id) != "done":
            assert time.monotonic() < deadline, "the idle runner was not woken by the upload"
            time.sleep(0.01)
        _assert_reference_bytes(service, job_id, subjects)
        # and a second runner on the same folder cannot take the address: it polls instead
        # (private on purpose: the wake-up listener is the mechanism under test, tried without
        # starting a second runner's loop and signing pool)
        other = BulkRunner(service, processes=1)
        other._listen()
        assert other._listener is None
    finally:
        runner.stop()
    assert runner._listener is None


def test_the_runner_warms_a_jobs_statements_and_leaves_no_trace(client, service) -> None:  # type: ignore[no-untyped-def]
    """`BulkRunner.warm_up` (run when the runner starts, beside the warm signing pool) runs a
    job's statements in a transaction it rolls back: they are compiled before the first job
    (its ~50 ms of the runner's CPU on 1,000 rows), and nothing of it is stored."""
    from talentproof.issuer.db import AnchorBatch, BulkError

    runner = BulkRunner(service, processes=1)
    assert runner.warm_up() is False  # no institution yet: nothing to refer the rows to
    token = onboard(client)["api_key"]["token"]
    compiled = service.engine._compiled_cache  # SQLAlchemy's statement cache of the engine
    before = len(compiled)
    assert runner.warm_up() is True
    warmed = len(compiled) - before
    assert warmed >= 4, warmed  # the job's and the batch's rows, error, progress, lookups
    with service.sessions() as session:
        for table in (BulkJob, AnchorBatch, BulkError, CredentialRow):
            assert session.scalars(select(table)).first() is None, table.__name__
    subjects = degree_subjects(30)
    job_id = post_bulk_job(client, token, subjects)
    known = set(compiled.keys())
    runner.run_pending()
    assert _job_state(service, job_id) == "done"
    # the job compiled only what belongs to its institution: its signing key, its status indexes
    new = [str(compiled[k]) for k in set(compiled.keys()) - known]
    assert all("signing_keys" in sql or "next_status_index" in sql for sql in new), new
    _assert_reference_bytes(service, job_id, subjects)


_FREED_PROBE = """
import sys
from talentproof.issuer._bulkworker import keep_freed_memory

def resident():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096

if sys.argv[1] == "keep" and not keep_freed_memory():
    print("unsupported")
    raise SystemExit(0)
block = b"\\x01" * (24 << 20)  # every page touched
held = resident()
del block
print(held - resident())
"""


def test_signing_processes_keep_the_memory_they_free() -> None:
    """`_bulkworker.keep_freed_memory` (the signing processes' initializer runs it): a block of
    a few MiB freed stays in the process for the next one (without it, glibc unmaps it and the
    next block faults in fresh pages). Each probe is a fresh interpreter."""
    import subprocess
    import sys

    def freed(mode: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", _FREED_PROBE, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.strip()

    kept = freed("keep")
    if kept == "unsupported":
        pytest.fail("no glibc mallopt here: make test runs on Linux with glibc")
    assert int(freed("default")) >= 20 << 20  # the allocator's default: returned at once
    assert int(kept) < 4 << 20  # kept: the resident set did not shrink
