"""The anchor watch: confirmations, and anchors that a rollback or reorganisation dropped.

A receipt says a transaction was mined in some block; it does not say that block stays. The
chain can come back behind where it was (a node restored from an older state, Anvil's
``evm_revert``, a ``kill -9`` of a node that had not written its last blocks) or reorganise (two
signers' competing blocks), and the anchors of the blocks it lost are gone from the registry
while the issuer's database still says ``anchored``. The watch, run by the anchoring worker at
the start of each pass (`AnchorWorker.run_once`):

1. reads the head (number, hash) and compares it with the last head it recorded: a lower number
   ("chain head went back from block N to M") or another hash at that height (a
   reorganisation) means the chain diverged;
2. finds the newest recorded head that is still canonical (same hash at that height): the
   fork is above it; every batch the issuer recorded in a block above it is re-checked against
   the registry (``anchor(issuer, root)``: the registry's view, not the receipt);
3. a batch whose root the registry no longer shows is reopened (`store.anchor_watch.reopen`):
   ``sent`` again with its recorded transaction (rebroadcast: the same transaction mined again
   anchors the same root once), its credentials reported pending again; the worker then drives
   it as any unfinished batch (`AnchorWorker._send_batch` resumes its recorded transaction,
   `AnchorWorker._await_batch` awaits it), and a transaction that can no longer be mined (its
   nonce above the chain's, or taken) is replaced by a fresh one (`_send_batch`, through
   `AnchorWorker._still_minable`). The registry refuses a root twice
   (``AnchorAlreadyAnchored``), so a root is never anchored twice;
4. what it found is recorded (``issuer_meta``) until every reopened batch is anchored again:
   `/readyz` reports it from there, in every process.

It also records when it last saw the head move (``head_seen``): with
``TALENTPROOF_ISSUER_HEAD_STALE_S`` set, `/readyz` is degraded while the head has not moved for
that long (a node cut off from its network, or signers no longer sealing: the node still
answers, and nothing sent to it is mined).

The heads are kept as checkpoints (the last 32 densely, older ones thinned), in the database, so
an issuer restarted while the chain is behind still detects it; a head below the highest block
an anchor was recorded in is a rollback too, checkpoints or not (a batch anchored in the
worker's last pass before a kill lies above every head recorded: `AnchorWatch.noted`).

Confirmations (``TALENTPROOF_ISSUER_CONFIRMATIONS``, default 1: final once mined): a batch mined
in block B is ``mined`` (its credentials pending) until the head reaches B + confirmations - 1
and the registry still shows its root; then ``anchored``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from .store import anchor_watch as watch_store

_logger = logging.getLogger(__name__)

#: Recorded heads kept: the newest `DENSE` all, older ones thinned to every other when more
#: than `KEEP` are held (so the list reaches back roughly exponentially).
KEEP = 64
DENSE = 32
#: Details of a condition kept for `/readyz` (the newest ones).
MAX_DETAILS = 5


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _thin(checkpoints: list[list[Any]]) -> list[list[Any]]:
    if len(checkpoints) <= KEEP:
        return checkpoints
    old, recent = checkpoints[:-DENSE], checkpoints[-DENSE:]
    return old[::2] + recent


class AnchorWatch:
    """Detects a chain that went back or reorganised, re-checks the anchors recorded above the
    fork, reopens the dropped ones, and decides when an anchor is final."""

    def __init__(self, service: Any, confirmations: int) -> None:
        self.service = service
        self.confirmations = confirmations
        #: the head at the last `check` (block number)
        self.head_number: int | None = None
        #: the highest block a batch was recorded anchored or mined in (None: read it from the
        #: database at the next `check`); kept by `noted` as the worker records batches
        self._recorded_top: int | None = None

    def noted(self, block_number: int) -> None:
        """A batch was just recorded anchored or mined in ``block_number``: `check` compares the
        head with it, not only with the heads it recorded, which may all be below it (the worker
        records a head at the start of a pass, so a batch anchored in the last pass before a kill
        is above every recorded head)."""
        if self._recorded_top is not None:
            self._recorded_top = max(self._recorded_top, block_number)

    # -- confirmations --------------------------------------------------------------------------
    def final(self, block_number: int) -> bool:
        """Whether an anchor mined in ``block_number`` has the configured confirmations (at the
        head the last `check` read; with 1 confirmation, at once)."""
        if self.confirmations <= 1:
            return True
        if self.head_number is None:
            self.head_number = self.service.chain.head()[0]
        return self.head_number >= block_number + self.confirmations - 1

    # -- what /readyz reports ---------------------------------------------------------------------
    def report(self, detail: str, batch_ids: list[int], **counts: int) -> None:
        """Record a condition (``detail``) until the batches ``batch_ids`` are anchored again;
        merged with one already recorded."""
        with self.service.session() as session:
            data = watch_store.load(session)
            current = data.get("condition") or {
                "since": _now(),
                "details": [],
                "batches": [],
            }
            details = [d for d in current["details"] if d != detail] + [detail]
            current["details"] = details[-MAX_DETAILS:]
            current["detail"] = detail
            current["batches"] = sorted(set(current["batches"]) | set(batch_ids))
            for name, value in counts.items():
                current[name] = int(current.get(name, 0)) + value
            data["condition"] = current
            watch_store.save(session, data)

    # -- the check ------------------------------------------------------------------------------
    def check(self) -> int:
        """Compare the head with the recorded heads; on divergence re-check and reopen. Returns
        how many batches were reopened."""
        chain = self.service.chain
        number, block_hash = chain.head()
        self.head_number = number
        with self.service.sessions() as session:
            data = watch_store.load(session)
            if self._recorded_top is None:  # once a worker (and after each re-check)
                self._recorded_top = watch_store.highest_block(session) or -1
        top = self._recorded_top
        checkpoints: list[list[Any]] = [list(c) for c in data["checkpoints"]]
        diverged: str | None = None
        if checkpoints:
            last_number, last_hash = int(checkpoints[-1][0]), str(checkpoints[-1][1])
            if number < last_number:
                diverged = f"chain head went back from block {last_number} to {number}"
            elif (number == last_number and block_hash != last_hash) or (
                number > last_number and chain.block_hash(last_number) != last_hash
            ):
                diverged = f"block {last_number} was replaced (reorganisation)"
        if diverged is None and top > number:
            # every recorded head may be below it: a batch anchored in the worker's last pass
            # before a kill (stop 27's CI: anchored in block 7, heads recorded up to 6, the node
            # restored to block 6 was read as unchanged and the anchor stayed "anchored")
            diverged = f"chain head went back from block {top} to {number} (an anchor was recorded in block {top})"
        if diverged is not None:
            return self._recheck(diverged, checkpoints, number, block_hash)
        if checkpoints and number <= int(checkpoints[-1][0]) and not data.get("condition"):
            return 0  # nothing to record
        with self.service.session() as session:
            data = watch_store.load(session)
            checkpoints = [list(c) for c in data["checkpoints"]]
            if not checkpoints or number > int(checkpoints[-1][0]):
                data["checkpoints"] = _thin([*checkpoints, [number, block_hash]])
                data["head_seen"] = [number, time.time()]  # /readyz: a head that stopped moving
            condition = data.get("condition")
            if condition and not watch_store.still_open(session, list(condition["batches"])):
                _logger.warning(
                    "chain condition repaired: every reopened anchor is anchored again",
                    extra={"condition": condition.get("detail")},
                )
                data["condition"] = None
            watch_store.save(session, data)
        return 0

    def _fork_floor(self, checkpoints: list[list[Any]], number: int) -> int:
        """The newest recorded head at or below ``number`` that is still canonical: blocks up to
        it are unchanged (a block's hash commits to its ancestors). -1 if none is."""
        chain = self.service.chain
        for cp_number, cp_hash in reversed(checkpoints):
            if int(cp_number) <= number and chain.block_hash(int(cp_number)) == cp_hash:
                return int(cp_number)
        return -1

    def _recheck(
        self, diverged: str, checkpoints: list[list[Any]], number: int, block_hash: str
    ) -> int:
        chain = self.service.chain
        self._recorded_top = None  # batches reopened or moved below: read again
        floor = self._fork_floor(checkpoints, number)
        with self.service.sessions() as session:
            candidates = watch_store.on_chain_since(session, floor)
        _logger.warning(
            "%s; re-checking %d anchors recorded above block %d",
            diverged,
            len(candidates),
            floor,
            extra={"head": number, "fork_floor": floor, "recheck": len(candidates)},
        )
        dropped: list[int] = []
        moved = 0
        for batch_id, root, issuer_id, recorded_block in candidates:
            record = chain.anchor_record(root, issuer_id)
            with self.service.session() as session:
                if record is None:
                    if watch_store.reopen(session, batch_id):
                        dropped.append(batch_id)
                elif record.block_number != recorded_block:
                    watch_store.move(session, batch_id, record.block_number)
                    moved += 1
                    if not self.final(record.block_number):
                        watch_store.record_mined(session, batch_id, record.block_number)
                        dropped.append(batch_id)
        # status changes applied in the blocks the chain lost: queued again, applied in order
        requeued = self.service.status_changes.reopen_lost(floor)
        detail = (
            f"{diverged}; re-checked {len(candidates)} anchors recorded above block {floor}: "
            f"{len(dropped)} no longer final, re-anchoring"
            + (f"; {requeued} status changes lost, queued again" if requeued else "")
        )
        with self.service.session() as session:
            data = watch_store.load(session)
            data["checkpoints"] = [
                *(c for c in checkpoints if int(c[0]) <= floor),
                [number, block_hash],
            ]
            data["head_seen"] = [number, time.time()]
            watch_store.save(session, data)
        self.service.metrics.chain_errors.labels("rollback").inc()
        if dropped or candidates or requeued:
            self.report(
                detail,
                dropped,
                rechecked=len(candidates),
                reopened=len(dropped),
                status_changes_requeued=requeued,
            )
        _logger.warning(
            "anchors dropped by the chain reopened",
            extra={"reopened": len(dropped), "moved": moved, "rechecked": len(candidates)},
        )
        return len(dropped)


__all__ = ["AnchorWatch"]
