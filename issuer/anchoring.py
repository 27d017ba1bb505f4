"""The anchoring worker: batches pending credentials into Merkle trees and anchors each root.

Crash safety rests on two facts: a credential joins exactly one batch that can be sent (a batch
becomes ``built``, the only state that is sent, in the transaction that checks it holds exactly
its leaves), and the registry refuses to anchor a root twice (``AnchorAlreadyAnchored``). The
chain is the source of truth for "is this root anchored": the worker asks ``anchor(root)``
before sending a batch it recorded sent (or mined) before, and, for a batch never recorded sent
(a crash may still have sent it), when its send fails: the registry refuses the root it holds at
estimation, before anything is signed.

Steps of one batch, with the crash points the tests kill the process at:

1. form: pending credentials -> tree -> batch row ``forming``; leaf index and path assigned
   per credential, ``FORM_CHUNK`` credentials per transaction (``while_forming`` falls after
   each), so issuance never waits for the whole batch; then ``built`` in a last transaction. A
   batch left ``forming`` by a crash is freed (its credentials pending again, the row deleted)
   when the next worker starts;
2. ``before_send``; send ``anchorRoot`` and record the pending transaction (state ``sent``);
   ``after_send`` falls between the broadcast and that record. A pass runs in rounds (at most
   `ROUNDS_PER_PASS`): each sends one batch's anchor per institution (their accounts differ;
   one account never has two in flight) before it awaits any: ``before_receipts`` falls after
   a round's last send;
3. wait for each receipt, in the order sent; ``after_receipt`` falls between a receipt and
   recording it;
4. record ``anchored`` (block, time) and the metrics.

On restart, ``built`` and ``sent`` batches are resumed: if the chain shows the root, it is
recorded; if a recorded transaction is not mined within the timeout it is rebroadcast and then
replaced (same nonce, higher fees); if the chain is down, the batch waits.

Front-running: the registry keeps anchors per (issuer, root), so another issuer anchoring a copy
of our root first does not block ours (``anchor(issuer, root)`` only shows our own record).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from talentproof.ledger.errors import ContractRevert

from . import _cred
from .chain import ISSUER_STATUSES, IssuerLedgerState
from .db import utcnow
from .errors import AccountBusy, LedgerUnavailable
from .observability import lower_thread_priority
from .reconcile import AnchorWatch
from .store import anchor_failures as failure_store
from .store import anchor_watch as watch_store
from .store import batches as batch_store
from .store.batches import FORMING as FORMING  # re-exported: the worker's states are named here
from .store.lease import AnchorLease
from .transactions import REPLACE_WHEN_STUCK, LedgerTransaction

_logger = logging.getLogger(__name__)

CRASH_POINTS = ("before_send", "after_send", "before_receipts", "after_receipt")

#: Credentials assigned to a forming batch per transaction, and the pause between two such
#: transactions: the writer lock is held ~1-2 ms at a time and then left free, so issuance
#: requests (which each need it to commit) keep flowing while a large batch forms, instead of
#: each waiting out a long chunk in turn.
FORM_CHUNK = 16
FORM_PAUSE_S = 0.004
#: While the ledger shows an institution suspended or removed its anchoring waits; its status is
#: read again at most this often (each pass also looks at the service's cached read).
LEDGER_RECHECK_S = 5.0
#: The revert of ``anchorRoot`` by an issuer that is not active on the ledger.
ISSUER_NOT_ACTIVE = "AnchorIssuerNotActive"
#: An institution whose anchoring fails while the chain answers (its account cannot pay for gas,
#: an unexpected revert) is skipped until its backoff expires: this long after the first
#: failure, doubling with each failure in a row up to `FAILURE_BACKOFF_MAX_S`; the others go on.
FAILURE_BACKOFF_S = 2.0
FAILURE_BACKOFF_MAX_S = 30.0


@dataclass(slots=True)
class InstitutionFailure:
    """An institution whose anchoring keeps failing: why, how often in a row, since when
    (``since``, UTC), and when it is tried again (``retry_at``, monotonic)."""

    slug: str
    reason: str
    failures: int
    since: dt.datetime
    retry_at: float


#: At most this many rounds in one pass (a round sends one batch per institution, then awaits
#: them): steady issuance would otherwise keep a pass going for ever.
ROUNDS_PER_PASS = 8
#: an idle pass (nothing sent, settled or applied) counts the pending credentials for the
#: ``pending`` gauge at most this often, not on every ``worker_poll_s`` (two counts a pass)
GAUGE_EVERY_S = 1.0


class _Held:
    """`AnchorWorker._step`'s result when the institution waits or failed (see there)."""

    def __repr__(self) -> str:
        return "HELD"


HELD: Any = _Held()


@dataclass(slots=True)
class _Round:
    """One round of a pass (`AnchorWorker.run_once`): the institutions with a batch in it (sent
    or settled), the anchors sent, and whether a batch became anchored."""

    busy: set[int] = field(default_factory=set)
    flights: list[tuple[int, InFlight]] = field(default_factory=list)
    anchored: bool = False


@dataclass(frozen=True, slots=True)
class InFlight:
    """A batch whose anchor is sent and recorded, to be awaited (`AnchorWorker._await_batch`)."""

    batch_id: int
    root: bytes
    issuer_id: int
    pending: Any
    tx: LedgerTransaction


class ConcurrentBatching(Exception):
    """Another worker batched the same pending credentials first (the batch is rolled back)."""


def _crash_point(name: str) -> None:
    """Test hook: ``TALENTPROOF_ISSUER_UNSAFE_CRASH_AT=<point>`` kills the process there."""
    if os.environ.get("TALENTPROOF_ISSUER_UNSAFE_CRASH_AT") == name:
        _logger.warning("unsafe crash hook: exiting at %s", name)
        logging.shutdown()
        os._exit(86)


class AnchorWorker:
    """Forms batches and drives them to ``anchored``; one per service (runs in a thread)."""

    def __init__(
        self, service: Any, *, max_leaves: int | None = None, max_wait: float | None = None
    ) -> None:
        self.service = service
        settings = service.settings
        self.max_leaves = max_leaves or settings.batch_max_leaves
        self.max_wait = settings.batch_max_wait_s if max_wait is None else max_wait
        self.poll = settings.worker_poll_s
        self.tx_timeout = settings.tx_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.wakeup = threading.Event()
        self.form_chunk = FORM_CHUNK
        self._assignment: batch_store.LeafAssignment | None = None
        self._recovered = False
        #: institution id -> (ledger state, monotonic time of the next status read): institutions
        #: whose anchoring waits because the ledger shows them suspended or removed
        self.waiting: dict[int, tuple[Any, float]] = {}
        #: institution id -> its anchoring failures in a row (skipped until ``retry_at``)
        self.failing: dict[int, InstitutionFailure] = {}
        self.backoff_s = FAILURE_BACKOFF_S
        self.backoff_max_s = FAILURE_BACKOFF_MAX_S
        #: confirmations, and anchors a rollback or reorganisation dropped (`reconcile`)
        self.watch = AnchorWatch(service, settings.confirmations)
        service.anchor_wakeup = self.wakeup  # bulk chunks wake the worker when they commit
        #: one worker among the replicas on this database sends (`store.lease.AnchorLease`)
        self.lease: AnchorLease = service.anchor_lease
        #: whether the last `run_once` may have left work it could do now: it applied status
        #: changes, its rounds ran out, or it stopped when the lease was lost
        self.work_left = False
        self._gauge_at = 0.0  # monotonic time of the last `update_pending_gauge`

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Run the worker in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="anchor-worker", daemon=True)
        self._thread.start()
        self.service.anchor_worker = self  # status-change requests wake it and wait, bounded

    @property
    def thread_id(self) -> int | None:
        """The operating system's id of the worker's thread (None before `start`): the thread
        whose CPU priority ``worker_nice`` lowers."""
        return None if self._thread is None else self._thread.native_id

    @property
    def running(self) -> bool:
        """Whether the worker's thread runs (in this process)."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to stop and wait for it."""
        self._stop.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_forever(self) -> None:
        """Loop until stopped; a chain outage only pauses anchoring. The service's ledger
        status watch runs beside it (`IssuerStateWatch`: one per deployment, here). The thread
        runs at the lower CPU priority ``worker_nice``."""
        self.service.ledger_watch.ensure_running()
        lower_thread_priority(self.service.settings.worker_nice)
        backoff = self.poll
        while not self._stop.is_set():
            if not self._hold_lease():  # another replica anchors; this one only issues
                self._stop.wait(self.lease.check_s)
                continue
            try:
                # again at once only when the pass may have left work: a pass that ended on a
                # round with nothing to send finds nothing more now (a bulk chunk committed
                # meanwhile has set `wakeup`, so the wait below returns at once for it)
                busy = self.run_once() and self.work_left
                backoff = self.poll
            except LedgerUnavailable as exc:
                self.service.metrics.chain_errors.labels("unavailable").inc()
                self.service.metrics.chain_up.set(0)
                self.service.chain.mark(False, str(exc))
                _logger.warning(
                    "ledger unavailable; credentials stay queued", extra={"error": str(exc)}
                )
                busy = False
                backoff = min(backoff * 2, 5.0)
            except Exception:
                self.service.metrics.chain_errors.labels("other").inc()
                _logger.exception("anchoring pass failed")
                busy = False
                backoff = min(backoff * 2, 5.0)
            if not busy:
                self.wakeup.wait(backoff)
                self.wakeup.clear()

    def _hold_lease(self) -> bool:
        """Take or keep the anchoring lease (every pass; the lease throttles its own checks).
        A worker that has just taken it first frees what a dead holder left half formed."""
        taken = self.lease.taken
        held = self.lease.acquire()
        self._taken_since(taken)
        self.service.metrics.lease_held.set(1 if held else 0)
        return held

    def _taken_since(self, taken: int) -> None:
        """After a lease check: when the lease was taken since its count was ``taken`` (taken
        first, or lost and taken again in the same check, another replica perhaps holding it in
        between), the next pass first frees what a holder left half formed."""
        if self.lease.taken != taken:
            self._recovered = False
            self.service.metrics.lease_taken.inc()

    def _lease_lost(self) -> bool:
        """Whether the lease this pass started with was lost (re-checked at most every
        ``check_s``): then the pass sends nothing more, since another replica may hold it now
        (or may have held it: when it was taken again at once, the next pass recovers first)."""
        taken = self.lease.taken
        held = self.lease.acquire()
        if held and self.lease.taken == taken:
            return False
        self._taken_since(taken)
        self.service.metrics.lease_held.set(1 if held else 0)
        _logger.warning("anchoring lease lost during a pass; the rest of the pass is left")
        return True

    def run_once(self, *, force: bool = False) -> bool:
        """One pass: resume unfinished batches, then form and anchor due ones.

        ``force`` anchors whatever is pending without waiting for ``max_wait``. Returns whether
        anything was anchored (so the loop runs again at once).
        """
        did = False
        self.work_left = True
        if not self._recovered:  # batches a killed worker left half formed: free their leaves
            for batch_id in self._forming():
                self._abandon(batch_id, "left half formed by a previous worker")
            with self.service.session() as session:  # a previous holder's: tried again here
                failure_store.clear(session)
            self._recovered = True
        # a failure recorded by the last pass (a transaction not mined after its replacements:
        # a node cut off, a frozen chain) is probed again at once, not served from the cache
        # for 5 s: the watch below then sees a reorganisation or rollback as soon as the node
        # answers (the loop's backoff spaces these probes)
        chain = self.service.chain
        health = chain.probe(max_age=5.0 if chain.health.available else 0.0)
        if not health.available:
            raise LedgerUnavailable(health.detail)
        # the chain went back or reorganised? reopen the anchors it dropped before driving
        self.watch.check()
        # queued revocations, suspensions and reinstatements first, in order (never held back
        # by an institution's ledger state: the registry decides)
        changes_applied = False
        try:
            if self.service.apply_status_changes():
                did = True
                changes_applied = True
        except Exception as exc:  # one institution's change failing does not stop anchoring
            if not self._institution_fault(exc) and not (
                isinstance(exc, LedgerUnavailable) and self.service.chain.probe(max_age=0).available
            ):
                raise
            _logger.warning("status changes wait: %s", exc, extra={"error": str(exc)})
        # A pass runs in rounds: each round sends one due batch's anchor per institution (its
        # oldest unfinished batch, else a newly formed one), records each, and only then awaits
        # them all. Institutions have accounts of their own, so a round over k institutions
        # takes about one block, not k; one account never has two anchors in flight (a stuck
        # one holds back only its own institution's next, as before).
        leased = self.lease.held
        stopped: set[int] = set()  # institutions held back, failing or not final this pass
        handled: set[int] = set()  # batches sent or settled this pass
        lost = False

        def send(now: _Round, batch_id: int, institution_id: int) -> None:
            now.busy.add(institution_id)
            handled.add(batch_id)
            result = self._step(
                batch_id, institution_id, functools.partial(self._send_batch, batch_id)
            )
            if result is HELD:
                stopped.add(institution_id)
            elif isinstance(result, InFlight):
                now.flights.append((institution_id, result))
            else:  # the chain already shows it: anchored (final) or mined, not yet final
                self._succeeded(institution_id)
                now.anchored = now.anchored or bool(result)

        def free(now: _Round, institution_id: int) -> bool:
            return (
                institution_id not in now.busy
                and institution_id not in stopped
                and not self._held_back(institution_id)
            )

        for _ in range(ROUNDS_PER_PASS):
            now = _Round()
            for batch_id, institution_id in self._unfinished_by_institution():
                if batch_id in handled or not free(now, institution_id):
                    continue
                if leased and self._lease_lost():
                    lost = True
                    break
                send(now, batch_id, institution_id)
            for institution_id in [] if lost else self._institutions_with_pending():
                if not free(now, institution_id):
                    continue
                if leased and self._lease_lost():
                    lost = True
                    break
                try:
                    formed = self.form_batch(institution_id, force=force)
                except ConcurrentBatching as exc:
                    _logger.warning("%s", exc)
                    continue  # tried again next round
                if formed is not None:
                    send(now, formed, institution_id)
            # the anchors sent are awaited even when the lease was lost meanwhile: each is
            # driven to its end (its replacements included), none is sent afresh
            if now.flights:
                _crash_point("before_receipts")
            for institution_id, flight in now.flights:
                result = self._step(
                    flight.batch_id, institution_id, functools.partial(self._await_batch, flight)
                )
                if result is HELD:
                    stopped.add(institution_id)
                    continue
                self._succeeded(institution_id)
                if result:
                    now.anchored = True
                else:  # mined, not final: the next pass settles it, with the batches before
                    # it, from a fresh head (this pass's head would never make them final)
                    stopped.add(institution_id)
            did = did or now.anchored
            if lost:
                return did
            if not now.busy:  # nothing left to send or settle
                self.work_left = changes_applied
                break
        # the gauge's two counts, after a pass that changed something, else at most every
        # `GAUGE_EVERY_S` (an idle worker passes every ``worker_poll_s``)
        if did or time.monotonic() - self._gauge_at >= GAUGE_EVERY_S:
            self.update_pending_gauge()
        return did

    def drain(self, timeout: float = 60.0) -> None:
        """Anchor everything pending now (CLI ``worker --once``, tests, benchmarks); what waits
        for an institution the ledger holds suspended or removed is left queued."""
        deadline = time.monotonic() + timeout
        taken = self.lease.taken
        if not self.lease.wait(timeout):
            raise TimeoutError(
                f"the anchoring lease stayed held by {self.lease.holder()} for {timeout:g} s: "
                "that replica's worker anchors what is pending"
            )
        self._taken_since(taken)
        self.service.metrics.lease_held.set(1)
        for failure in self.failing.values():  # an operator's run: try them again now
            failure.retry_at = 0.0
        self.service.status_changes.retry_now()
        while time.monotonic() < deadline:
            self.run_once(force=True)
            if not self.lease.held:
                raise TimeoutError(
                    f"the anchoring lease was lost during the run (now held by "
                    f"{self.lease.holder()}): that replica's worker anchors what is pending"
                )
            left = {i for _b, i in self._unfinished_by_institution()}
            left.update(self._institutions_with_pending())
            failing = left & set(self.failing)
            # queued status changes left only by institutions whose changes fail: named below
            changes = self.service.status_changes.failing_only()
            if not left - set(self.waiting) - failing and (
                changes or not self.service.pending_status_changes()
            ):
                problems = [changes] if changes else []
                if failing:
                    failure = self.failing[min(failing)]
                    problems.insert(
                        0, f"anchoring of institution {failure.slug!r} fails: {failure.reason}"
                    )
                if problems:
                    raise LedgerUnavailable("; ".join(problems))
                return
        raise TimeoutError(f"pending credentials remain after {timeout:g} s")

    # -- institutions whose anchoring keeps failing ------------------------------------------
    def _held_back(self, institution_id: int) -> bool:
        """Whether the institution's anchoring is skipped this pass: the ledger holds it back,
        or it backs off after failing."""
        failure = self.failing.get(institution_id)
        if failure is not None and time.monotonic() < failure.retry_at:
            return True
        return self._is_waiting(institution_id)

    def _institution_fault(self, exc: Exception) -> bool:
        """Whether a failure is the institution's own (the pass goes on with the others: its
        account cannot pay, a revert, its account's send lock busy) rather than the database's
        or the chain's (unreachable, or nothing mined: the pass stops, the loop backs off)."""
        if isinstance(exc, AccountBusy):
            return True
        return not isinstance(exc, (SQLAlchemyError, LedgerUnavailable))

    def _step(self, batch_id: int, institution_id: int, step: Callable[[], Any]) -> Any:
        """Run one step of a batch (`_send_batch`, `_await_batch`): its result, or `HELD` when
        the institution must wait (an ``AnchorIssuerNotActive`` revert: the ledger shows it
        suspended or removed; the batch is sent afresh once it may anchor again) or failed on
        its own (in backoff, recorded for `/readyz`); the others go on either way."""
        try:
            try:
                return step()
            except ContractRevert as exc:
                if exc.error_name != ISSUER_NOT_ACTIVE:
                    raise
                self._reset_reverted(batch_id)
                self._start_waiting(institution_id, exc)
                return HELD
        except Exception as exc:
            if not self._institution_fault(exc):
                raise
            self._start_failing(institution_id, exc)
            return HELD

    def _succeeded(self, institution_id: int) -> None:
        """The institution's batch went through: its failures in a row, if any, end."""
        failure = self.failing.pop(institution_id, None)
        if failure is not None:
            with self.service.session() as session:
                failure_store.clear(session, failure.slug)
            _logger.info(
                "anchoring of institution %r works again after %d failures",
                failure.slug,
                failure.failures,
                extra={"institution": failure.slug},
            )

    def _start_failing(self, institution_id: int, exc: Exception) -> None:
        previous = self.failing.get(institution_id)
        failures = previous.failures + 1 if previous is not None else 1
        delay = min(self.backoff_s * 2 ** (failures - 1), max(self.backoff_max_s, self.backoff_s))
        slug = previous.slug if previous is not None else self._chain_identity(institution_id)[0]
        reason = f"{type(exc).__name__}: {exc}"[:500]
        failure = InstitutionFailure(
            slug,
            reason,
            failures,
            previous.since if previous is not None else utcnow(),
            time.monotonic() + delay,
        )
        self.failing[institution_id] = failure
        with self.service.session() as session:
            failure_store.record(
                session,
                slug,
                {
                    "reason": reason,
                    "failures": failures,
                    "since": failure.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "retryInSeconds": round(delay, 1),
                },
            )
        self.service.metrics.chain_errors.labels("institution").inc()
        _logger.warning(
            "anchoring of institution %r failed (%d in a row): %s; the others go on, it is "
            "tried again in %.0f s",
            slug,
            failures,
            reason,
            delay,
            extra={"institution": slug, "failures": failures},
            exc_info=failures == 1,
        )

    # -- institutions the ledger holds back ---------------------------------------------------
    def _chain_identity(self, institution_id: int) -> tuple[str, int | None]:
        """The institution's slug and on-chain issuer id."""
        with self.service.sessions() as session:
            return batch_store.chain_identity(session, institution_id)

    def _start_waiting(self, institution_id: int, exc: Exception) -> None:
        slug, issuer_id = self._chain_identity(institution_id)
        state: Any = None
        if issuer_id is not None:
            try:  # the reason, with its time, for the status endpoints (cached by the gateway)
                state = self.service.chain.issuer_state(issuer_id)
            except LedgerUnavailable:
                state = None
        if state is None or state.may_issue:  # not read, or changed again: what the revert says
            code = int(getattr(exc, "args_dict", {}).get("status", 2))
            status = ISSUER_STATUSES[code] if 0 <= code < len(ISSUER_STATUSES) else "not active"
            state = IssuerLedgerState(issuer_id or 0, status, None, time.monotonic())
        self.waiting[institution_id] = (state, time.monotonic() + LEDGER_RECHECK_S)
        self.service.metrics.chain_errors.labels("issuer_not_active").inc()
        _logger.warning(
            "anchoring of institution %r waits: %s; its credentials stay queued and anchor "
            "once the ledger reinstates it",
            slug,
            state.waiting_reason() or f"the institution is {state.status} on the ledger",
            extra={"institution": slug, "ledger_status": state.status},
        )

    def _is_waiting(self, institution_id: int) -> bool:
        """Whether the institution's anchoring still waits; re-reads its ledger status at most
        every `LEDGER_RECHECK_S` (sooner if the service's cached read says it is active)."""
        entry = self.waiting.get(institution_id)
        if entry is None:
            return False
        state, next_read = entry
        chain = self.service.chain
        now = time.monotonic()
        cached = (
            chain.cached_issuer_state(state.issuer_id, max_age=LEDGER_RECHECK_S)
            if state.issuer_id
            else None
        )
        if cached is not None and cached.checked_at > state.checked_at:
            state = cached  # a fresher read (the service's status watch)
        elif now >= next_read:
            next_read = now + LEDGER_RECHECK_S
            if not state.issuer_id:
                state = None  # nothing to read: try anchoring again
            else:
                try:
                    state = chain.issuer_state(state.issuer_id)
                except LedgerUnavailable:
                    pass  # still waiting; the pass's probe reports the outage
        if state is not None and not state.may_issue:
            self.waiting[institution_id] = (state, next_read)
            return True
        del self.waiting[institution_id]
        _logger.info(
            "institution %s is active on the ledger again; its anchoring resumes",
            institution_id,
            extra={"institution_id": institution_id},
        )
        return False

    def _reset_reverted(self, batch_id: int) -> None:
        """A batch whose ``anchorRoot`` reverted (mined or at estimation) anchored nothing: it
        is sent afresh (a new transaction) once the institution may anchor again."""
        with self.service.session() as session:
            batch_store.unsend(session, batch_id)

    # -- queries ----------------------------------------------------------------------------
    def _unfinished_by_institution(self) -> list[tuple[int, int]]:
        with self.service.sessions() as session:
            return batch_store.unfinished_by_institution(session)

    def _assign(self, params: list[dict[str, Any]]) -> int:
        """Assign one chunk of leaves (``s`` seq, ``b`` batch, ``i`` index, ``p`` path) to a
        forming batch in one transaction; returns how many rows were still unbatched and took it
        (all of them, or the chunk is rolled back)."""
        if self._assignment is None:
            self._assignment = batch_store.LeafAssignment(self.service.engine)
        return self._assignment.run(self.service.write_lock, params)

    def _forming(self) -> list[int]:
        with self.service.sessions() as session:
            return batch_store.forming(session)

    def _abandon(self, batch_id: int, why: str) -> None:
        """Free the leaves of a batch that was never completely formed, and delete it (it was
        never sent: only ``built`` batches are)."""
        with self.service.session() as session:
            batch_store.abandon(session, batch_id)
        _logger.warning("batch abandoned before sending", extra={"batch": batch_id, "why": why})

    def _institutions_with_pending(self) -> list[int]:
        with self.service.sessions() as session:
            return batch_store.institutions_with_pending(session)

    def update_pending_gauge(self) -> None:
        """Set the ``pending`` metric to the credentials not yet anchored (unbatched, or in a
        batch not yet anchored), as a pass of the worker ends (`run_once`)."""
        self._gauge_at = time.monotonic()
        with self.service.sessions() as session:
            pending = batch_store.pending_count(session)
        self.service.metrics.pending.set(pending)

    # -- step 1: form ------------------------------------------------------------------------------
    def form_batch(self, institution_id: int, *, force: bool) -> int | None:
        """Batch the institution's unbatched credentials (at most ``max_leaves``, oldest first)
        into one ``built`` batch, its Merkle tree made, not yet sent; its id, or None when there
        is nothing to batch or, without ``force``, too little that is too young (fewer than
        ``max_leaves`` and the oldest under ``max_wait``). Raises `ConcurrentBatching` when
        another worker batched some of them meanwhile (this batch is then abandoned)."""
        # Read and build the tree without the writer lock (issuance keeps flowing); the write
        # below re-checks that every row is still unbatched.
        with self.service.sessions() as session:
            rows = batch_store.unbatched(session, institution_id, self.max_leaves)
            if not rows:
                return None
            oldest = rows[0].created_at
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            age = (utcnow() - oldest).total_seconds()
            if not force and len(rows) < self.max_leaves and age < self.max_wait:
                return None
        root, paths = _cred.merkle_tree([r.credential_hash for r in rows])
        # The leaves are assigned in chunks (FORM_CHUNK per transaction) under a ``forming``
        # batch that nothing sends; the last transaction turns it ``built`` only if it holds
        # exactly its leaves. A crash in between leaves a forming batch that the next worker
        # frees (`_abandon`); rows batched meanwhile by another worker abandon this one.
        with self.service.session() as session:
            batch_id = batch_store.add_forming(session, institution_id, root, len(rows), oldest)
        try:
            for start in range(0, len(rows), self.form_chunk):
                chunk = rows[start : start + self.form_chunk]
                params = [
                    {"s": r.seq, "b": batch_id, "i": start + j, "p": b"".join(paths[start + j])}
                    for j, r in enumerate(chunk)
                ]
                assigned = self._assign(params)
                if assigned != len(chunk):
                    raise ConcurrentBatching(
                        f"{len(chunk) - assigned} credentials were batched by another worker; "
                        "retrying"
                    )
                _crash_point("while_forming")
                if start + self.form_chunk < len(rows):
                    time.sleep(FORM_PAUSE_S)
            with self.service.session() as session:
                if not batch_store.finish_forming(session, batch_id, len(rows)):
                    raise ConcurrentBatching(
                        f"batch {batch_id} changed while it was formed; retrying"
                    )
        except Exception as exc:
            try:
                self._abandon(batch_id, str(exc))
            except Exception:  # the database itself failed: the next worker start frees it
                _logger.exception("could not abandon batch %s now", batch_id)
            raise
        _logger.info(
            "batch formed", extra={"batch": batch_id, "leaves": len(rows), "root": root.hex()}
        )
        return batch_id

    # -- steps 2-4: drive ----------------------------------------------------------------------------
    def _send_batch(self, batch_id: int) -> bool | InFlight:
        """Send the batch's anchor (or resume the one recorded) and record it ``sent``: the
        `InFlight` to await; or, when the chain already shows the root (a crash after the send
        or after the receipt), whether it is now recorded anchored (final)."""
        service = self.service
        chain = service.chain
        with service.sessions() as session:
            batch, inst = batch_store.batch_and_institution(session, batch_id)
            account_key = service.account_key(inst)
            root, leaf_count, issuer_id = batch.root, batch.leaf_count, inst.chain_issuer_id
            state, pending_json = batch.state, batch.tx_record
        if issuer_id is None:  # only registered institutions issue, so this is a broken row
            raise LedgerUnavailable(
                f"batch {batch_id}: institution {inst.slug!r} has no issuer id on the ledger"
            )
        tx = LedgerTransaction(
            chain,
            account_key,
            self.tx_timeout,
            REPLACE_WHEN_STUCK,
            on_replaced=lambda stuck, _new: self._replaced(batch_id, stuck),
        )
        # Already on chain (crash after send or after receipt)? Then only record it. A batch
        # never recorded sent (``built``, no transaction: every bulk chunk's, on its first send)
        # is asked only if its send fails: the registry refuses a root it holds
        # (``AnchorAlreadyAnchored`` at estimation, before anything is signed), and whatever
        # else fails (the issuer suspended since, no funds, the node) is answered by the chain's
        # record first, as the question before the send answered it. One view call less a batch.
        never_sent = state == "built" and not pending_json
        if not never_sent:
            record = chain.anchor_record(root, issuer_id)
            if record is not None:
                return self._settle(batch_id, record, issuer_id)
        if state == watch_store.MINED:  # mined, not yet final, and gone: a reorganisation
            with service.session() as session:
                watch_store.reopen(session, batch_id)
            self.watch.report(
                f"the anchor of batch {batch_id} was dropped before it was final; re-anchoring",
                [batch_id],
                reopened=1,
            )
            state = "sent"
        pending = tx.resume(pending_json) if state == "sent" else None
        if pending is not None:
            pending = self._still_minable(batch_id, account_key, pending)
        if pending is None:
            _crash_point("before_send")
            try:
                pending = chain.send_anchor(account_key, root, leaf_count)
            except Exception as exc:
                if isinstance(exc, ContractRevert) and exc.error_name == "AnchorAlreadyAnchored":
                    record = chain.anchor_record(root, issuer_id)
                elif never_sent:  # the question the send went without, before its error goes on
                    record = self._record_if_anchored(root, issuer_id)
                else:
                    raise
                if record is not None:
                    return self._settle(batch_id, record, issuer_id)
                raise
            _crash_point("after_send")
            self._record_sent(batch_id, pending)
        return InFlight(batch_id, root, issuer_id, pending, tx)

    def _record_if_anchored(self, root: bytes, issuer_id: int) -> Any:
        """After a failed send: the chain's record of ``root`` anchored by us, or None (also
        when the chain cannot be asked now: the send's own error then goes on)."""
        try:
            return self.service.chain.anchor_record(root, issuer_id)
        except LedgerUnavailable:
            return None

    def _await_batch(self, flight: InFlight) -> bool:
        """Await and record a sent anchor (replaced when stuck); whether the batch is now
        anchored (final: False while it waits for confirmations)."""
        service, chain = self.service, self.service.chain
        batch_id, root, issuer_id = flight.batch_id, flight.root, flight.issuer_id
        try:
            receipt = flight.tx.wait(
                flight.pending,
                record=lambda replacement: self._record_sent(batch_id, replacement),
                landed=lambda: chain.anchor_record(root, issuer_id) is not None,
            )
        except ContractRevert as exc:
            if exc.error_name != "AnchorAlreadyAnchored":
                raise
            receipt = None
        if receipt is not None:
            _crash_point("after_receipt")
            chain.mark(True, "ok")
            service.metrics.chain_up.set(1)
            block = int(receipt["blockNumber"])
            if self.watch.final(block):
                self._record_anchored(batch_id, block, issuer_id, issuer_id)
                return True
            with service.session() as session:
                watch_store.record_mined(session, batch_id, block)
            self.watch.noted(block)
            return False
        record = chain.anchor_record(root, issuer_id)
        if record is None:
            raise LedgerUnavailable(f"batch {batch_id}: root not anchored after replacements")
        return self._settle(batch_id, record, issuer_id)

    def _still_minable(self, batch_id: int, account_key: bytes, pending: Any) -> Any:
        """The recorded transaction if it can still be mined; None (the batch is sent afresh)
        when its nonce was taken by another transaction or lies above the chain's (the chain
        went back: re-sending it would wait in the pool for ever)."""
        verdict, chain_nonce = self.service.chain.nonce_state(account_key, pending)
        if verdict not in ("taken", "gap"):
            return pending
        what = (
            f"nonce gap: batch {batch_id}'s transaction has nonce {pending.nonce}, the chain's "
            f"next is {chain_nonce}; nonces resynced from the chain, sending it afresh"
            if verdict == "gap"
            else f"nonce {pending.nonce} of batch {batch_id}'s transaction was used by another "
            f"transaction; sending it afresh at nonce {chain_nonce}"
        )
        _logger.warning("%s", what, extra={"batch": batch_id, "tx": pending.tx_hash})
        self.service.metrics.chain_errors.labels("nonce_" + verdict).inc()
        with self.service.session() as session:
            batch_store.unsend(session, batch_id)
        self.watch.report(what, [batch_id], nonce_resyncs=1)
        return None

    def _replaced(self, batch_id: int, stuck: Any) -> None:
        _logger.warning(
            "anchoring transaction stuck; replaced", extra={"batch": batch_id, "tx": stuck.tx_hash}
        )
        self.service.metrics.tx_replaced.inc()

    def _settle(self, batch_id: int, record: Any, ours: int | None) -> bool:
        """The registry shows the batch's root anchored by us: record it anchored when final,
        else mined (waiting for confirmations); whether it is final."""
        if self.watch.final(record.block_number):
            self._record_anchored(batch_id, record.block_number, ours, record.issuer_id)
            return True
        with self.service.session() as session:
            watch_store.record_mined(session, batch_id, record.block_number)
        self.watch.noted(record.block_number)
        return False

    def _record_sent(self, batch_id: int, pending: Any) -> None:
        with self.service.session() as session:
            batch_store.record_sent(session, batch_id, pending, utcnow())

    def _record_anchored(
        self, batch_id: int, block_number: int, ours: int | None, on_chain: int
    ) -> None:
        if ours is not None and on_chain != ours:  # anchor(issuer, root) shows only ours
            raise AssertionError(f"batch {batch_id}: root is issuer {on_chain}'s, not ours")
        now = utcnow()
        with self.service.session() as session:
            anchored = batch_store.record_anchored(session, batch_id, block_number, now)
        self.watch.noted(block_number)
        if anchored is None:
            return
        oldest, leaves = anchored
        self.service.metrics.anchored.inc(leaves)
        self.service.metrics.batches.inc()
        self.service.metrics.latency.observe(max((now - oldest).total_seconds(), 0.0))
        _logger.info(
            "batch anchored", extra={"batch": batch_id, "leaves": leaves, "block": block_number}
        )
