"""Where the bulk runner's blocks are signed: a warm pool of signing processes, or its own thread.

`SigningPool` is started with the service (the bulk runner's thread starts it before its first
pass), kept alive between jobs, sized to the cores, replaced when one of its processes dies,
and shut down with the runner: a job pays no process start-up. `InlineSigner` signs in the
calling thread, for jobs too small to gain from a second core (`BulkRunner`'s
``inline_rows``). Both run the very same call, `_bulkworker.sign_job_block` (the pool in its
processes, the inline signer here), so bulk issuance has one signing path whatever the size.

A pool never wedges on a process killed under it (SIGKILL: the OOM killer, an operator). The
standard executor's processes write their results into one shared pipe, one at a time under one
lock: a process killed in the middle of a result (a block's is a few MiB) leaves a partial
message and that lock taken, and the executor then waits forever (its manager thread for the
rest of the message, so no call ever fails; the other processes for the lock; its shutdown for
its manager thread). Each pool has a watch thread that sees a process end (its sentinel) and
ends the pool at once (`_end`: its processes killed, this process's copy of the result pipe's
writing end closed, so the manager thread reads the pipe's end, marks the executor broken and
fails every call in flight with `BrokenProcessPool`), then starts it again; `shutdown` waits
for the calls running within bounds and ends the pool the same way past them. This relies on
the CPython 3.11 executor's internals (its processes, result queue, manager thread and calls in
flight): tests/issuer/test_bulk_pool_wedge.py wedges a pool on purpose and fails if they change.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait as wait_ready
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

#: How often a pool's watch thread looks at the list of its processes again (it wakes at once
#: when one ends), and `SigningPool.shutdown` whether one ended while it waits.
WATCH_S = 1.0

#: How long `SigningPool.shutdown` waits for the calls running before it ends them (`_end`).
SHUTDOWN_WAIT_S = 60.0

#: How long `_end` waits for the killed processes and then the executor's manager thread to end.
END_WAIT_S = 30.0


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


class _Executor(cf.ProcessPoolExecutor):
    """The standard executor, keeping what `_end` needs past its ``shutdown`` (which drops its
    own references): its processes (the mapping it adds to and removes from), its result queue,
    its manager thread (``manager``: set once the first call started it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.processes: MutableMapping[int, Any] = self._processes
        self.results: Any = self._result_queue
        self.manager: threading.Thread | None = None
        self.ending = threading.Lock()
        self.ended = False

    def unanswered(self) -> int:
        """Calls sent and not answered yet (done: answered, failed or cancelled)."""
        return sum(not item.future.done() for item in list(self._pending_work_items.values()))

    def ended_pids(self) -> list[int]:
        """The ids of its processes that ended: their sentinels are readable, or (killed, not
        reaped yet by the forkserver, which then makes the sentinel readable) zombies."""
        procs = list(self.processes.items())
        ready = set(wait_ready([p.sentinel for _pid, p in procs], timeout=0))
        return [pid for pid, p in procs if p.sentinel in ready or _owner_gone(pid)]


def _end(executor: _Executor) -> None:
    """End ``executor`` whatever state its processes left it in (once; later calls return).

    Its processes still running are killed (SIGKILL: one blocked on the result pipe's lock would
    never leave), then this process's copy of the writing end of their result pipe is closed:
    with every other copy gone with them, the executor's manager thread, even one waiting for
    the rest of a result cut short, reads the end of the pipe; it marks the executor broken,
    fails every call in flight with `BrokenProcessPool`, and ends. Were it still running after
    `END_WAIT_S` (logged), the calls it left are failed here, so that no caller waits forever.
    """
    with executor.ending:
        if executor.ended:
            return
        executor.ended = True
        procs = list(executor.processes.values())
        ended = set(wait_ready([p.sentinel for p in procs], timeout=0))
        for p in procs:
            if p.sentinel not in ended:  # not reaped yet: the id is still this process's
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        left = [p.sentinel for p in procs if p.sentinel not in ended]
        deadline = time.monotonic() + END_WAIT_S
        while left and (wait_s := deadline - time.monotonic()) > 0:
            ready = set(wait_ready(left, timeout=wait_s))
            left = [sentinel for sentinel in left if sentinel not in ready]
        if left:
            _logger.error("%d killed signing processes did not end in %s s", len(left), END_WAIT_S)
        executor.results._writer.close()
        manager = executor.manager
        if manager is not None:
            manager.join(END_WAIT_S)
            if manager.is_alive():
                _logger.error("a signing pool's manager thread did not end in %s s", END_WAIT_S)
        with executor._shutdown_lock:  # no call is added meanwhile (``submit`` holds it)
            if not executor._broken:
                # the message `submit` raises with (typeshed has it a bool)
                executor._broken = "its signing processes were ended"  # type: ignore[assignment]
            for item in list(executor._pending_work_items.values()):
                try:
                    item.future.set_exception(
                        BrokenProcessPool("the signing processes were ended under this call")
                    )
                except cf.InvalidStateError:  # answered, failed or cancelled already
                    pass


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
    (`_bulkworker.warm_up`); `submit` sends one call. A process that ends while the pool runs
    (killed) is seen at once by the pool's watch thread, which ends the pool (`_end`: every call
    it held fails with `BrokenProcessPool`, which the runner answers by resuming the job from its
    last committed chunk) and starts it again; `heal` checks the processes answer.
    """

    #: Signing processes started by every pool of this process so far (tests, the bench).
    forked = 0

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._lock = threading.RLock()
        self._executor: _Executor | None = None
        self.restarts = 0  # pools started again after a process died
        self._healed = 0  # `restarts` at the last `heal`
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

    def _new_executor(self) -> _Executor:
        """A new executor, its processes warm, and its watch thread started (`_watch`)."""
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        executor = _Executor(
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
        executor.manager = getattr(executor, "_executor_manager_thread", None)  # started by now
        threading.Thread(
            target=self._watch, args=(executor,), name="signing-pool-watch", daemon=True
        ).start()
        _logger.debug("signing pool ready", extra={"pids": sorted(pids)})
        return executor

    def _watch(self, executor: _Executor) -> None:
        """The watch thread of ``executor``, until it is not the pool's (replaced, shut down;
        it may look before it is made the pool's: ``_lock`` is held until then): a process of
        it ended (its sentinel readable) -> the pool is replaced (`_replace`)."""
        while True:
            with self._lock:
                if self._executor is not executor:
                    return
            try:
                procs = list(executor.processes.values())  # held: their sentinels stay open
                if not wait_ready([p.sentinel for p in procs], timeout=WATCH_S):
                    continue
                if self._replace(executor):
                    return
            except Exception:  # looked at again (a pool that failed to start: started again)
                _logger.exception("watching the signing processes failed")
                time.sleep(WATCH_S)

    @staticmethod
    def pids_of(executor: cf.ProcessPoolExecutor) -> list[int]:
        """The process ids of an executor's processes (the standard executor keeps them in its
        ``_processes`` mapping, by id)."""
        return sorted(getattr(executor, "_processes", None) or {})

    def pids(self) -> list[int]:
        """The ids of the signing processes now (empty before `start`)."""
        executor = self._executor
        return [] if executor is None else self.pids_of(executor)

    def unanswered(self) -> int:
        """Calls sent to the pool now running and not answered yet (0: its processes idle)."""
        executor = self._executor
        return 0 if executor is None else executor.unanswered()

    def _restart(self, broken: _Executor | None) -> _Executor:
        """The pool's executor, a new one if it is ``broken`` (ended first: `_end`) or none."""
        with self._lock:
            if self._executor is broken or self._executor is None:
                if broken is not None:
                    _logger.warning("a signing process died: starting the signing pool again")
                    _end(broken)
                    broken.shutdown(wait=False, cancel_futures=True)
                    self.restarts += 1
                self._executor = self._new_executor()
            return self._executor

    def _replace(self, broken: _Executor) -> bool:
        """`_restart` if ``broken`` is still the pool's executor (not replaced or shut down
        since); returns whether it was."""
        with self._lock:
            if self._executor is not broken:
                return False
            self._restart(broken)  # the lock is reentrant
            return True

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
        """Whether the pool stayed whole since the last `heal`: False if a process of it died
        since (the pool was replaced: here, or at once by its watch thread). A process that
        does not answer in `HEAL_WAIT_S` is busy or stopped, not dead (logged). Nothing before
        `start`."""
        executor = self._executor
        if executor is not None:
            try:
                if executor.ended_pids():
                    self._replace(executor)
                else:
                    executor.submit(worker_pid).result(timeout=HEAL_WAIT_S)
            except BrokenProcessPool:
                self._replace(executor)
            except cf.TimeoutError:  # busy or stopped, not dead: looked at again next time
                _logger.warning("a signing process did not answer in %s s", HEAL_WAIT_S)
        healed, self._healed = self._healed, self.restarts
        return healed == self.restarts

    def shutdown(self) -> None:
        """Stop the signing processes, waiting for the calls they run: up to `SHUTDOWN_WAIT_S`,
        or until one of them ends under a call (killed: the pool may be wedged); then they are
        ended (`_end`: the calls fail with `BrokenProcessPool`). Never waits longer."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        manager, deadline = executor.manager, time.monotonic() + SHUTDOWN_WAIT_S
        while manager is not None and manager.is_alive():
            manager.join(WATCH_S)
            if manager.is_alive() and (
                time.monotonic() >= deadline or (executor.unanswered() and executor.ended_pids())
            ):
                _logger.warning("ending the signing processes: a call did not end")
                _end(executor)
                break
        if manager is None or not manager.is_alive():
            executor.results.close()


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
