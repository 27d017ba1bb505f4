"""Where the bulk runner's blocks are signed: a warm pool of signing processes, or its own thread.

`SigningPool` is started with the service (the bulk runner's thread starts it before its first
pass), kept alive between jobs, sized to the cores, replaced when one of its processes dies,
and shut down with the runner: a job pays no process start-up. `InlineSigner` signs in the
calling thread, for jobs too small to gain from a second core (`BulkRunner`'s
``inline_rows``). Both run the very same call, `_bulkworker.sign_job_block` (the pool in its
processes, the inline signer here), so bulk issuance has one signing path whatever the size.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ._bulkworker import JobContext, sign_job_block, warm_up, worker_pid, yield_to_runner

__all__ = ["BrokenProcessPool", "InlineSigner", "JobSigner", "SigningPool"]

_logger = logging.getLogger(__name__)

#: What the forkserver imports once: each signing process forks from it with the code loaded.
_PRELOAD = ["__main__", "talentproof.issuer._bulkworker", "talentproof.issuer._bulkpool"]

#: How often a signing process looks whether its owner still runs, where Linux gives no pidfd.
OWNER_POLL_S = 1.0

#: How long `SigningPool.heal` waits for an answer (a stopped process must not hold the runner).
HEAL_WAIT_S = 30.0


def _owner_gone(owner: int) -> bool:
    """Whether process ``owner`` ended (a zombie, dead but not yet reaped, has ended; a process of
    another user with its id, which ``os.kill`` may not signal, is a new one)."""
    try:
        os.kill(owner, 0)
    except (ProcessLookupError, PermissionError):
        return True
    try:
        with open(f"/proc/{owner}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):  # no /proc: kill's answer is all there is
        return False


def _exit_with(owner: int) -> None:
    """Wait until process ``owner`` ends, then end this process at once (`os._exit`: no
    clean-up runs; a signing process stores nothing, its owner stores what it signs)."""
    try:
        pidfd = os.pidfd_open(owner)
    except ProcessLookupError:  # ended already
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd (not Linux, Linux < 5.3, a seccomp sandbox)
        while not _owner_gone(owner):
            time.sleep(OWNER_POLL_S)
        os._exit(0)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)  # readable once the process ended
    while not poller.poll():
        pass
    os._exit(0)


def start_signing_process(owner: int) -> None:
    """Process initializer of the signing processes: end when the ``owner`` process (the service
    that started the pool) ends, then `_bulkworker.yield_to_runner`.

    Why: an owner killed (SIGKILL, the OOM killer) runs no shutdown, and a pool process waits on
    its call queue forever (it holds both ends of that pipe, so it never reads its end). The
    processes lived on (about 200 MiB a crash) and kept the forkserver alive too (each holds a
    writer of the forkserver's "alive" pipe, which it waits to see closed), all of them holding
    whatever the owner's stdout and stderr were (a parent reading those never saw their end).
    A daemon thread waits on the owner's pidfd (or, without one, looks every `OWNER_POLL_S`)
    and ends the process; once every process it forked ended, the forkserver and the resource
    tracker end on their own.
    """
    threading.Thread(
        target=_exit_with, args=(owner,), name="signing-owner-watch", daemon=True
    ).start()
    yield_to_runner()


class InlineSigner:
    """`SigningPool`'s ``submit`` in the calling thread: the call runs now, its future is done."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # what a pool's future would carry
            future.set_exception(exc)
        return future


class SigningPool:
    """``processes`` signing processes forked from the forkserver, kept between jobs.

    `start` forks them all and waits until each has signed example rows of every kind
    (`_bulkworker.warm_up`); `submit` sends one call, starting the
    pool again first if a process died since (the executor is then broken: every call it held
    fails with `BrokenProcessPool`, which the runner answers by resuming the job from its last
    committed chunk); `heal` checks the processes are alive and replaces a broken pool.
    """

    #: Signing processes started by every pool of this process so far (tests, the bench).
    forked = 0

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._lock = threading.Lock()
        self._executor: cf.ProcessPoolExecutor | None = None
        self.restarts = 0  # pools started again after a process died
        self.submitted = 0  # calls sent to the signing processes

    @property
    def running(self) -> bool:
        """Whether the pool was started and not shut down."""
        return self._executor is not None

    def start(self) -> None:
        """Fork the signing processes (if not running) and wait until each one answers."""
        with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()

    def _new_executor(self) -> cf.ProcessPoolExecutor:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        executor = cf.ProcessPoolExecutor(
            self.processes,
            mp_context=ctx,
            initializer=start_signing_process,
            initargs=(os.getpid(),),
        )
        # The executor forks a process for each call submitted while none is idle: as many calls
        # at once as processes start them all now, not during a job.
        for _ in range(3):
            answers = [
                f.result() for f in [executor.submit(warm_up) for _ in range(self.processes)]
            ]
            for _pid, problem in answers:
                if problem:
                    _logger.warning("a signing process's warm-up failed: %s", problem)
            pids = {pid for pid, _problem in answers}
            if len(self.pids_of(executor)) >= self.processes:
                break
        SigningPool.forked += len(self.pids_of(executor))
        _logger.debug("signing pool ready", extra={"pids": sorted(pids)})
        return executor

    @staticmethod
    def pids_of(executor: cf.ProcessPoolExecutor) -> list[int]:
        """The process ids of an executor's processes (the standard executor keeps them in its
        ``_processes`` mapping, by id)."""
        return sorted(getattr(executor, "_processes", None) or {})

    def pids(self) -> list[int]:
        """The ids of the signing processes now (empty before `start`)."""
        executor = self._executor
        return [] if executor is None else self.pids_of(executor)

    def _restart(self, broken: cf.ProcessPoolExecutor | None) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._executor is broken or self._executor is None:
                if broken is not None:
                    _logger.warning("a signing process died: starting the signing pool again")
                    broken.shutdown(wait=False, cancel_futures=True)
                    self.restarts += 1
                self._executor = self._new_executor()
            return self._executor

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        """``fn(*args)`` in a signing process (the pool started again first if it broke)."""
        executor = self._executor
        if executor is None:
            executor = self._restart(None)
        self.submitted += 1
        try:
            return executor.submit(fn, *args)
        except BrokenProcessPool:  # a process died since the last call
            return self._restart(executor).submit(fn, *args)

    def heal(self) -> bool:
        """Whether every signing process answered; if one had died, the pool is replaced (and
        False returned). Nothing before `start`."""
        executor = self._executor
        if executor is None:
            return True
        try:
            executor.submit(worker_pid).result(timeout=HEAL_WAIT_S)
        except BrokenProcessPool:
            self._restart(executor)
            return False
        except cf.TimeoutError:  # busy or stopped, not dead: looked at again next time
            _logger.warning("a signing process did not answer in %s s", HEAL_WAIT_S)
        return True

    def shutdown(self) -> None:
        """Stop the signing processes (waiting for the calls they run)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class JobSigner:
    """One job's blocks sent to its signer (a `SigningPool` or an `InlineSigner`), each with the
    job's context (`_bulkworker.JobContext`) for `_bulkworker.sign_job_block`."""

    __slots__ = ("job", "signer")

    def __init__(self, signer: SigningPool | InlineSigner, job: JobContext) -> None:
        self.signer, self.job = signer, job

    def sign(
        self,
        fmt: str,
        header: list[str] | None,
        first_row: int,
        records: list[bytes],
        indexes: list[int],
        now: dt.datetime,
    ) -> cf.Future[Any]:
        """The future of `sign_block`'s result for these rows."""
        return self.signer.submit(
            sign_job_block, self.job, fmt, header, first_row, records, indexes, now
        )
