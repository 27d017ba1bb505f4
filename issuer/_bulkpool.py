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

A block's signed documents come back through shared memory (`_Slots`), not the result pipe:
the pool lends each block a slot (a memfd it owns, mapped by the signing process through
``/proc/<owner>/fd/<fd>``), the signing process copies the documents there and sends only
their size; this process gets them as a view of its own mapping of the slot, and the slot is
lent again once the last view of it is dropped (the runner has stored the chunk). A block that
does not fit, or a process that cannot map the slot, sends its documents through the pipe as
before (the reference twin: ``SigningPool(slots=0)``; tests/issuer/test_bulk_pool_slots.py
compares the two). Why: through the pipe, each result's few MiB were pickled, written in 64 KiB
pieces, read, joined and unpickled again, ~1.8 us of this process's CPU per credential
(bench/results.md, 2026-12-07 07:10), in the thread that shares the GIL with the runner.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import datetime as dt
import functools
import itertools
import logging
import mmap
import multiprocessing
import os
import select
import signal
import threading
import time
import weakref
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

#: The size of one shared-memory slot a block's documents come back in (a block of 2,048 bench
#: rows holds ~5 MiB; a larger one comes back through the pipe). Pages are used as written.
SLOT_BYTES = 16 << 20

#: Slots a pool lends at most at once (a job keeps up to 16 blocks in flight with 2 processes:
#: `bulk.SIGN_AHEAD` + `bulk.GROUP_CHUNKS` chunks of 4 blocks); past it, blocks use the pipe.
MAX_SLOTS = 24


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


def exit_with(owner: int) -> None:
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
        target=exit_with, args=(owner,), name="signing-owner-watch", daemon=True
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


class _Slot:
    """One shared-memory slot: a memfd of ``size`` bytes mapped here (``mm``); ``ref`` is what
    a signing process needs to map it (`_mapped`) and to name it in its answer (``token``)."""

    __slots__ = ("fd", "lent_to", "mm", "ref", "token")

    def __init__(self, size: int, token: int) -> None:
        self.fd = os.memfd_create("talentproof-signing-slot", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self.mm = mmap.mmap(self.fd, size)
        except BaseException:
            os.close(self.fd)
            raise
        self.token = token
        self.ref = (os.getpid(), self.fd, size, token)
        self.lent_to: _Slots | None = None

    def close(self) -> None:
        """Unmap and close (its views are gone: a slot is closed only when not lent)."""
        try:
            self.mm.close()
        except BufferError:  # a view still exported: the mapping ends with the last one
            pass
        os.close(self.fd)


#: This process's slots lent to a call, by token: `_attach_slot` (run while a result is
#: unpickled, in the executor's manager thread) finds its slot here.
_LENT: dict[int, _Slot] = {}
_TOKENS = itertools.count(1)


class _Slots:
    """A pool's shared-memory slots (`SLOT_BYTES` each, up to ``most``), made as needed and
    reused: `take` lends one to a call, and it comes back (`_give_back`) when the call's
    documents are no longer viewed, or at once when the call did not use it; a slot of a call
    that failed with `BrokenProcessPool` is closed, never lent again (a killed pool's process
    may still be writing it until it ends)."""

    def __init__(self, size: int = SLOT_BYTES, most: int = MAX_SLOTS) -> None:
        self.size, self.most = size, most
        self._lock = threading.Lock()
        self._free: list[_Slot] = []
        self.made = 0  # slots made so far (closed ones included)
        self.open = 0  # slots open now (free or lent)
        self.closed = False

    def take(self) -> _Slot | None:
        """A free slot, lent (None: ``most`` are lent, or memfd is missing: use the pipe)."""
        with self._lock:
            if self._free:
                slot = self._free.pop()
            elif self.open >= self.most or not hasattr(os, "memfd_create"):
                return None
            else:
                try:
                    slot = _Slot(self.size, next(_TOKENS))
                except OSError as exc:
                    _logger.warning("no shared-memory slot for a signing result: %s", exc)
                    return None
                self.made += 1
                self.open += 1
            slot.lent_to = self
            _LENT[slot.token] = slot
            return slot

    def _give_back(self, slot: _Slot) -> None:
        with self._lock:
            _LENT.pop(slot.token, None)
            slot.lent_to = None
            if self.closed:
                self.open -= 1
                slot.close()
            else:
                self._free.append(slot)

    def _retire(self, slot: _Slot) -> None:
        with self._lock:
            _LENT.pop(slot.token, None)
            slot.lent_to = None
            self.open -= 1
        slot.close()

    def settle(self, slot: _Slot, future: cf.Future[Any]) -> None:
        """A call's slot once the call is done: left to the views of its documents if its
        result holds them (`_attach_slot` took it off `_LENT`), else given back, or closed if
        the pool broke under the call."""
        if slot.token not in _LENT:  # attached: the views give it back
            return
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self._retire(slot)
        else:
            self._give_back(slot)

    def trim(self) -> int:
        """Return the memory of the free slots to the system (``MADV_REMOVE``: their pages are
        freed in every process that maps them, and read as zeros if written again), so that an
        idle service does not keep its last job's documents resident; returns how many."""
        with self._lock:
            free = list(self._free)
            for slot in free:
                try:
                    slot.mm.madvise(mmap.MADV_REMOVE)
                except (AttributeError, OSError):  # not Linux: kept as they are
                    return 0
        return len(free)

    def lent(self) -> int:
        """Slots lent now (to a call, or held by the views of a result)."""
        with self._lock:
            return self.open - len(self._free)

    def close(self) -> None:
        """Close the free slots; the lent ones close as they come back."""
        with self._lock:
            self.closed = True
            free, self._free = self._free, []
            self.open -= len(free)
        for slot in free:
            slot.close()


def _attach_slot(token: int, size: int) -> memoryview:
    """The first ``size`` bytes of slot ``token`` as a view of this process's own mapping (what
    a `_SlotBlob` unpickles to); the slot is given back when the last view of them is dropped."""
    slot = _LENT.pop(token)
    owner = slot.lent_to
    assert owner is not None
    buf = (ctypes.c_char * size).from_buffer(slot.mm)
    weakref.finalize(buf, owner._give_back, slot)
    return memoryview(buf).cast("B")


class _SlotBlob:
    """A signing process's answer for the documents it wrote into its slot: pickled as the call
    `_attach_slot` (token, size), which the owner runs while unpickling the result."""

    __slots__ = ("size", "token")

    def __init__(self, token: int, size: int) -> None:
        self.token, self.size = token, size

    def __reduce__(self) -> tuple[Any, ...]:
        return _attach_slot, (self.token, self.size)


#: A signing process's mappings of the slots it was lent, by token (a slot is mapped once).
_MAPPED: dict[int, mmap.mmap] = {}


def _mapped(ref: tuple[int, int, int, int]) -> mmap.mmap | None:
    """The slot ``ref`` (owner, fd, size, token) mapped in this signing process (None: it
    cannot be mapped here; the result goes through the pipe)."""
    owner, fd, size, token = ref
    mm = _MAPPED.get(token)
    if mm is None:
        try:
            handle = os.open(f"/proc/{owner}/fd/{fd}", os.O_RDWR)
        except OSError:
            return None
        try:
            if os.fstat(handle).st_size != size:
                return None
            mm = _MAPPED[token] = mmap.mmap(handle, size)
        except OSError:
            return None
        finally:
            os.close(handle)
    return mm


def sign_job_block_into(
    ref: tuple[int, int, int, int],
    job: JobContext,
    fmt: str,
    header: list[str] | None,
    first_row: int,
    records: list[bytes],
    indexes: list[int],
    now: dt.datetime,
) -> tuple[list[int], list[str], Any, list[int], bytes, list[tuple[int, str, str]]]:
    """`_bulkworker.sign_job_block` in a signing process, its documents written into the slot
    ``ref`` and sent as a `_SlotBlob` (the owner gets a view of them); the same result through
    the pipe when they do not fit or the slot cannot be mapped."""
    rows, ids, blob, lengths, hashes, errors = sign_job_block(
        job, fmt, header, first_row, records, indexes, now
    )
    size = len(blob)
    if not size or size > ref[2]:
        return rows, ids, blob, lengths, hashes, errors
    mm = _mapped(ref)
    if mm is None:
        return rows, ids, blob, lengths, hashes, errors
    mm[:size] = blob
    return rows, ids, _SlotBlob(ref[3], size), lengths, hashes, errors


class InlineSigner:
    """`SigningPool`'s ``submit`` in the calling thread: the call runs now, its future is done."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # what a pool's future would carry
            future.set_exception(exc)
        return future

    def submit_block(self, job: JobContext, *args: Any) -> cf.Future[Any]:
        """`SigningPool.submit_block` here: `_bulkworker.sign_job_block`, the documents as bytes."""
        return self.submit(sign_job_block, job, *args)


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

    def __init__(
        self, processes: int, *, slots: int = MAX_SLOTS, slot_bytes: int = SLOT_BYTES
    ) -> None:
        self.processes = max(1, processes)
        self._lock = threading.RLock()
        self._executor: _Executor | None = None
        # results' documents through shared memory (`_Slots`): up to ``slots`` blocks at once
        # (0: every result through the pipe, the reference twin), each up to ``slot_bytes``
        self.slots = _Slots(slot_bytes, slots)
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
                if self.slots.closed:  # shut down before: slots anew
                    self.slots = _Slots(self.slots.size, self.slots.most)
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

    def submit_block(self, job: JobContext, *args: Any) -> cf.Future[Any]:
        """`_bulkworker.sign_job_block` (job, fmt, header, first row, records, indexes, now) in
        a signing process, its documents back through a shared-memory slot when one is free
        (`sign_job_block_into`), else through the pipe: the same result either way, the
        documents as a view of the slot or as bytes."""
        slot = self.slots.take()
        if slot is None:
            return self.submit(sign_job_block, job, *args)
        try:
            future = self.submit(sign_job_block_into, slot.ref, job, *args)
        except BaseException:
            self.slots._give_back(slot)  # never sent
            raise
        future.add_done_callback(functools.partial(self.slots.settle, slot))
        return future

    def heal(self) -> bool:
        """Whether the pool stayed whole since the last `heal`: False if a process of it died
        since (the pool was replaced: here, or at once by its watch thread). A process that
        does not answer in `HEAL_WAIT_S` is busy or stopped, not dead (logged). Nothing before
        `start`. The free shared-memory slots return their memory (`_Slots.trim`: the runner
        heals the pool when it is idle)."""
        executor = self._executor
        self.slots.trim()
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
        self.slots.close()


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
        """The future of `sign_block`'s result for these rows (from a pool, the documents may
        be a view of shared memory, valid while it is held: `SigningPool.submit_block`)."""
        return self.signer.submit_block(self.job, fmt, header, first_row, records, indexes, now)
