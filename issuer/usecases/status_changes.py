"""Credential status changes (revoke, suspend, reinstate): checked and queued on request,
applied on chain in order within each institution by the anchoring worker
(`StatusChanges.apply`), then mirrored here."""

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import auth
from ..db import CredentialRow, InstitutionRow, StatusChange, utcnow
from ..errors import (
    AccountBusy,
    Conflict,
    InstitutionRemoved,
    InstitutionSuspended,
    InvalidRequest,
    LedgerUnavailable,
    NotFound,
)
from ..store import ConnectionReads, CursorReads
from ..store import anchor_failures as failure_store
from ..store import credentials as credential_store
from ..store import status_changes as store
from ..store.status_changes import QUEUED_STATES
from ..transactions import RESEND_NEXT_PASS, LedgerTransaction
from .collaborators import Collaborators
from .common import iso_z, require
from .institutions import IssuingInstitution, open_account_key
from .ledger_states import LedgerStates

_logger = logging.getLogger("talentproof.issuer.service")  # the service's log name, kept

STATUS_ACTIONS = ("revoke", "suspend", "reinstate")
#: An institution whose queued change fails while the chain answers (its account cannot pay for
#: gas, its send lock busy) is skipped until its backoff expires: this long after the first
#: failure, doubling with each failure in a row up to `FAILURE_BACKOFF_MAX_S`; the other
#: institutions' changes go on (as the anchoring worker's per-institution backoff).
FAILURE_BACKOFF_S = 2.0
FAILURE_BACKOFF_MAX_S = 30.0


@dataclass(slots=True)
class ChangeFailure:
    """An institution whose oldest queued change keeps failing: which change, why, how often
    in a row, since when (``since``, UTC), and when it is tried again (``retry_at``,
    monotonic). Its later changes wait behind it."""

    slug: str
    change_id: int
    reason: str
    failures: int
    since: dt.datetime
    retry_at: float


def status_change_body(change: StatusChange) -> dict[str, Any]:
    """A status change as the API shows it."""
    ids = change.credential_ids.split("\n")
    return {
        "id": int(change.id),
        "action": change.action,
        "credential_ids": ids,
        "reason": change.reason,
        "state": change.state,
        "txHash": change.tx_hash,
        "error": change.error,
        "requestedAt": iso_z(change.created_at),
        "appliedAt": iso_z(change.confirmed_at),
        "poll": f"/credentials/status-changes/{int(change.id)}",
    }


class StatusChanges:
    """The status-change use cases. ``institution_info`` reads an institution as issuance sees
    it; ``worker`` gives the anchoring worker of this process, if it runs one."""

    def __init__(
        self,
        c: Collaborators,
        ledger_states: LedgerStates,
        institution_info: Callable[[CursorReads | ConnectionReads, int], IssuingInstitution],
        worker: Callable[[], Any],
    ) -> None:
        self.c = c
        self.ledger_states = ledger_states
        self.institution_info = institution_info
        self.worker = worker
        #: one applying pass at a time in this process (the anchoring worker, a CLI call)
        self._apply_lock = threading.Lock()
        #: institution id -> its changes' failures in a row (skipped until ``retry_at``)
        self.failing: dict[int, ChangeFailure] = {}
        self.backoff_s = FAILURE_BACKOFF_S
        self.backoff_max_s = FAILURE_BACKOFF_MAX_S
        self._recorded_cleared = False

    def change(
        self, principal: auth.Principal, action: str, credential_ids: list[str], reason: Any
    ) -> dict[str, Any]:
        """Revoke, suspend or reinstate credentials of the caller: queued, then applied on chain.

        The change is checked against the credentials' state (the applied one and the changes
        still queued before it), recorded ``pending`` with its reason (durable: one database
        commit) and applied in order by the anchoring worker (`apply`), which
        then mirrors it locally. No ledger call happens here: when this process runs the worker,
        the request waits for the change at most ``status_change_wait_s`` (capped at the RPC
        timeout) and returns the change: ``state`` ``applied`` with the transaction if it was
        applied by then, else ``pending`` (``GET /credentials/{id}/anchor`` and
        ``GET /credentials/status-changes/{n}`` follow it: its ``poll`` link). A ledger that is down or slow
        therefore never holds a request longer than that.

        A reason is required (non-blank). An institution the ledger shows suspended or removed
        may still revoke and suspend its credentials (the registry allows it), but not reinstate
        one (403 naming the state), as it may not issue.
        """
        institution_id = require(principal, "revoke")
        if action not in STATUS_ACTIONS:
            raise InvalidRequest(
                f"action must be revoke, suspend or reinstate, got {action!r}", field="action"
            )
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            raise InvalidRequest(
                f"reason: a {action} needs a non-empty reason (it is recorded with the change)",
                field="reason",
            )
        if not credential_ids or len(credential_ids) > 10_000:
            raise InvalidRequest("credential_ids must hold 1 to 10,000 ids", field="credential_ids")
        if len(set(credential_ids)) != len(credential_ids):
            raise InvalidRequest("credential_ids holds duplicates", field="credential_ids")
        with self.c.session() as session:
            rows = credential_store.by_ids(session, credential_ids)
            found = {r.id: r for r in rows if r.institution_id == institution_id}
            missing = [c for c in credential_ids if c not in found]
            if missing:
                raise NotFound(f"no credential {missing[0]!r}")
            projected = self._projected_status(session, institution_id, found, action)
            for cid in credential_ids:
                revoked, suspended, queued = projected[cid]
                later = " (once the queued changes are applied)" if queued else ""
                if revoked:
                    raise Conflict(f"credential {cid!r} is revoked{later} (final)")
                if action == "suspend" and suspended:
                    raise Conflict(f"credential {cid!r} is already suspended{later}")
                if action == "reinstate" and not suspended:
                    raise Conflict(f"credential {cid!r} is not suspended{later}")
            if action == "reinstate":
                self._refuse_reinstate_if_inactive(session, institution_id)
            new_change = StatusChange(
                institution_id=institution_id,
                action=action,
                reason=text,
                credential_ids="\n".join(credential_ids),
                state="pending",
                attempts=0,
                api_key_id=principal.key_id,
            )
            session.add(new_change)
            session.flush()
            change_id = int(new_change.id)
        _logger.info(
            "credential status change queued",
            extra={"action": action, "count": len(credential_ids), "change": change_id},
        )
        self.c.metrics.status_changes_queued.set(self.pending())
        self._wait_applied(change_id)
        with self.c.sessions() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            body = status_change_body(change)
        if body["state"] == "failed":
            error = str(body["error"] or "")
            if error.startswith("not sent"):  # the operator stopped the key or institution
                raise Conflict(f"the {action} was {error}")
            raise Conflict(f"the registry refused the {action}: {error}")
        return body

    def _wait_applied(self, change_id: int) -> None:
        """Wake the worker of this process (if it runs one) and wait, bounded, for the change
        to leave the queue. Never a ledger call: the worker applies it."""
        worker = self.worker()
        if worker is None or not worker.running:
            return
        worker.wakeup.set()
        limit = min(self.c.settings.status_change_wait_s, self.c.settings.rpc_timeout_s)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(0.02)
            with self.c.engine.connect() as conn:
                if store.state_of(conn, change_id) in ("applied", "failed"):
                    return

    @staticmethod
    def _projected_status(
        session: Session, institution_id: int, rows: dict[str, CredentialRow], asked: str
    ) -> dict[str, tuple[bool, bool, bool]]:
        """Each credential's (revoked, suspended, changed by a queued change) once the
        institution's queued changes are applied in order, as judged for a new ``asked``
        change.

        A queued change of an API key the operator retired since is not counted when the
        worker drops it (any change of a revoked key, a rotated key's reinstatement), nor, for
        a new revocation or suspension, at all: the operator may still revoke a rotated key
        (its changes are then dropped), and a request withdrawing a credential's validity must
        never be refused on the strength of a change that may not be sent (the credential
        would stay valid on chain). A duplicate is harmless: the worker finds its effect on
        chain and records it applied."""
        state = {
            cid: [r.revoked_at is not None, bool(r.suspended), False] for cid, r in rows.items()
        }
        queued = store.queued_for(session, institution_id)
        for action, ids, key_revoked_at, key_rotated_at in queued:
            if key_revoked_at is not None and (
                asked in store.RESTRICTIVE_ACTIONS
                or key_rotated_at is None
                or action not in store.RESTRICTIVE_ACTIONS
            ):
                continue
            for cid in ids.split("\n"):
                entry = state.get(cid)
                if entry is None:
                    continue
                entry[2] = True
                if action == "revoke":
                    entry[0] = True
                elif action == "suspend":
                    entry[1] = True
                else:
                    entry[1] = False
        return {cid: (e[0], e[1], e[2]) for cid, e in state.items()}

    def _refuse_reinstate_if_inactive(self, session: Session, institution_id: int) -> None:
        """Reinstating needs an institution active on the ledger (as issuing does): refused
        with 403 naming its ledger state (from the recorded read, never a ledger call)."""
        db = ConnectionReads(session.connection())
        inst = self.institution_info(db, institution_id)
        if inst.chain_issuer_id is None:
            return
        state = self.ledger_states.recorded(db, inst.chain_issuer_id)
        if state is None or state.may_issue:
            return
        since = iso_z(state.since) or "an unknown time"
        error = InstitutionRemoved if state.status == "removed" else InstitutionSuspended
        raise error(
            f"institution {inst.slug!r} is {state.status} on the ledger (issuer "
            f"{inst.chain_issuer_id}) since {since}: it may revoke and suspend its credentials "
            "but not reinstate one until the ledger's governance reinstates it"
        )

    def get(self, principal: auth.Principal, change_id: int) -> dict[str, Any]:
        """A queued or applied status change of the caller's institution."""
        institution_id = require(principal, "read")
        with self.c.sessions() as session:
            change = session.get(StatusChange, change_id)
            if change is None or change.institution_id != institution_id:
                raise NotFound(f"no status change {change_id}")
            return status_change_body(change)

    def for_credential(self, session: Session, cred: CredentialRow) -> list[dict[str, Any]]:
        changes = store.naming(session, cred.institution_id, cred.id)
        out = []
        for change in changes:
            body = status_change_body(change)
            if cred.id not in body["credential_ids"]:
                continue
            del body["credential_ids"]
            out.append(body)
        out.reverse()
        return out

    def pending(self) -> int:
        """How many status changes wait to be applied (pending or sent)."""
        with self.c.sessions() as session:
            return store.queued_count(session)

    def apply(self, *, limit: int = 64) -> bool:
        """Apply queued status changes, in order within each institution (the anchoring
        worker's job): each one its own transaction, sent and recorded (``sent``) before its
        receipt is awaited, so a restart resumes it. A change the registry refuses is
        ``failed`` (with the revert) unless the chain already shows its effect (a resend after
        a crash): then ``applied``. A change that fails otherwise while the chain answers (the
        institution's account cannot pay for gas, its send lock is busy) stays queued with the
        reason: that institution backs off (`ChangeFailure`, named in ``/readyz``) and its
        later changes wait behind it, while the other institutions' changes go on; so does a
        change sent but not mined yet. Raises `LedgerUnavailable` when the ledger does not
        answer: the queue waits, in order. Returns whether anything was applied or failed."""
        did = False
        failed = True
        with self._apply_lock:
            if not self._recorded_cleared:  # a previous process's: tried again here
                with self.c.session() as session:
                    failure_store.clear(session, None, failure_store.STATUS_CHANGE_FAILURES_KEY)
                self._recorded_cleared = True
            now = time.monotonic()
            skip = {i for i, f in self.failing.items() if now < f.retry_at}
            try:
                while True:
                    with self.c.sessions() as session:
                        rows = store.queued_except(session, skip, limit)
                    for change_id, institution_id in rows:
                        if institution_id in skip:
                            continue  # an earlier change of its own waits: order is kept
                        try:
                            done = self._apply_status_change(change_id)
                        except Exception as exc:
                            if not self._own_fault(exc):
                                raise
                            self._start_failing(institution_id, change_id, exc)
                            skip.add(institution_id)
                            continue
                        self._works_again(institution_id)
                        if not done:  # sent, not mined yet: the next pass resumes it
                            skip.add(institution_id)
                            continue
                        did = True
                    if len(rows) < limit:
                        failed = False
                        return did
            finally:
                if did or failed:  # the queue changed, or waits for the ledger
                    self.c.metrics.status_changes_queued.set(self.pending())

    def retry_now(self) -> None:
        """Try the failing institutions' changes again on the next pass (an operator's run)."""
        for failure in self.failing.values():
            failure.retry_at = 0.0

    def failing_only(self) -> str | None:
        """When every queued change belongs to an institution whose changes fail: what fails,
        naming each institution, its change and the reason; else None."""
        with self.c.sessions() as session:
            queued = store.institutions_queued(session)
        if not queued or not queued <= set(self.failing):
            return None
        return "; ".join(
            f"status change {f.change_id} of institution {f.slug!r} fails ({f.failures} in a "
            f"row): {f.reason}"
            for i, f in sorted(self.failing.items())
            if i in queued
        )

    def _own_fault(self, exc: Exception) -> bool:
        """Whether a change's failure is its institution's own (its account cannot pay, its
        send lock busy, the node rejecting its transaction while the chain answers): the
        others go on. Not the database's, nor the chain unreachable: the pass stops."""
        if isinstance(exc, AccountBusy):
            return True
        if isinstance(exc, SQLAlchemyError):
            return False
        if isinstance(exc, LedgerUnavailable):
            return self.c.chain.probe(max_age=0).available
        return True

    def _start_failing(self, institution_id: int, change_id: int, exc: Exception) -> None:
        previous = self.failing.get(institution_id)
        failures = previous.failures + 1 if previous is not None else 1
        delay = min(self.backoff_s * 2 ** (failures - 1), max(self.backoff_max_s, self.backoff_s))
        # the node's own error, not the ledger-unavailable wrapper: the chain answered
        cause = exc.__cause__ if isinstance(exc, LedgerUnavailable) and exc.__cause__ else exc
        reason = f"{type(cause).__name__}: {cause}"[:500]
        with self.c.session() as session:
            inst = session.get(InstitutionRow, institution_id)
            change = session.get(StatusChange, change_id)
            assert inst is not None and change is not None
            slug = inst.slug
            since = previous.since if previous is not None else utcnow()
            change.error = (
                f"not applied yet ({failures} failures in a row, tried again in {delay:g} s; "
                f"the other institutions' changes go on): {reason}"
            )[:2000]
            store.note_behind(
                session,
                institution_id,
                change_id,
                f"waits behind change {change_id} of this institution (applied in order), "
                "which is not applied yet",
            )
            failure_store.record(
                session,
                slug,
                {
                    "change": change_id,
                    "reason": reason,
                    "failures": failures,
                    "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "retryInSeconds": round(delay, 1),
                },
                failure_store.STATUS_CHANGE_FAILURES_KEY,
            )
        self.failing[institution_id] = ChangeFailure(
            slug, change_id, reason, failures, since, time.monotonic() + delay
        )
        self.c.metrics.chain_errors.labels("institution").inc()
        _logger.warning(
            "status change %d of institution %r failed (%d in a row): %s; the other "
            "institutions' changes go on, it is tried again in %.0f s",
            change_id,
            slug,
            failures,
            reason,
            delay,
            extra={"institution": slug, "change": change_id, "failures": failures},
            exc_info=failures == 1,
        )

    def _works_again(self, institution_id: int) -> None:
        failure = self.failing.pop(institution_id, None)
        if failure is None:
            return
        with self.c.session() as session:
            store.note_behind(session, institution_id, failure.change_id, None)
            failure_store.clear(session, failure.slug, failure_store.STATUS_CHANGE_FAILURES_KEY)
        _logger.info(
            "status changes of institution %r work again after %d failures",
            failure.slug,
            failure.failures,
            extra={"institution": failure.slug},
        )

    def _apply_status_change(self, change_id: int) -> bool:
        """Send (or resume) one queued change and settle it; False when its transaction is
        sent but not mined within the transaction timeout (it stays ``sent``: the next pass
        rebroadcasts it and waits again, later changes wait behind it)."""
        from talentproof.ledger.errors import (  # noqa: PLC0415 (start-up time)
            ContractRevert,
            LedgerError,
            NonceError,
            TransactionFailed,
            TransactionTimeout,
        )

        with self.c.sessions() as session:
            change = session.get(StatusChange, change_id)
            if change is None or change.state not in QUEUED_STATES:
                return True
            inst = session.get(InstitutionRow, change.institution_id)
            assert inst is not None
            account_key = open_account_key(self.c.vault, inst)
            ids = change.credential_ids.split("\n")
            rows = credential_store.by_ids(session, ids)
            by_id = {r.id: r.credential_hash for r in rows}
            hashes = [by_id[c] for c in ids if c in by_id]
            action, state, record = change.action, change.state, change.tx_record
            issuer_id = inst.chain_issuer_id
            # the operator may have revoked the asking key, or suspended the institution's API
            # access, while the change waited (a stolen key's reinstatements and revocations);
            # a key rotated out stops only its reinstatements (never a revocation the issuer
            # asked for: the chain would keep the credential valid)
            stopped = store.requester_stopped(
                session,
                inst.id,
                change.api_key_id,
                action,
                stays_suspended=bool(rows) and all(r.suspended for r in rows),
            )
        if stopped is not None and state == "pending":
            self._mark_failed(change_id, stopped, refused_by="the service")
            return True
        tx = LedgerTransaction(
            self.c.chain, account_key, self.c.settings.tx_timeout_s, RESEND_NEXT_PASS
        )
        pending = tx.resume(record) if state == "sent" else None
        if pending is not None and self.c.chain.nonce_state(account_key, pending)[0] in (
            "taken",
            "gap",
        ):
            # it can never be mined: its nonce went to another transaction, or the chain went
            # back below it (a rollback); rebroadcast, it would wait in the pool for ever and
            # hold every later change behind it. Sent afresh at the chain's nonce.
            _logger.warning(
                "status change transaction can no longer be mined (nonce %s); sending afresh",
                pending.nonce,
                extra={"change": change_id, "tx": pending.tx_hash},
            )
            if self._shows_effect(issuer_id, action, hashes):
                self._mark_applied(change_id, None)
                return True
            if stopped is not None:  # never sent afresh for a key or institution stopped
                self._mark_failed(change_id, stopped, refused_by="the service")
                return True
            self._reset_pending(change_id)
            pending = None
        try:
            if pending is None:
                pending = self.c.chain.send_credential_status(account_key, action, hashes)
                self._record_sent(change_id, pending)
            receipt = tx.wait(pending, record=lambda p: self._record_sent(change_id, p))
        except (ContractRevert, TransactionFailed) as exc:  # refused by the registry
            self.c.metrics.chain_errors.labels("revert").inc()
            if self._shows_effect(issuer_id, action, hashes):
                self._mark_applied(change_id, None)
            else:
                self._mark_failed(change_id, f"{exc}")
            return True
        except NonceError:  # our nonce went to another transaction: done already, or resend
            if self._shows_effect(issuer_id, action, hashes):
                self._mark_applied(change_id, None)
            else:
                self._reset_pending(change_id)
            return True
        except TransactionTimeout:
            _logger.warning(
                "status change transaction not mined yet; it is rebroadcast on the next pass",
                extra={"change": change_id, "tx": getattr(pending, "tx_hash", None)},
            )
            return False
        except LedgerError as exc:
            raise LedgerUnavailable(f"status change {change_id}: {exc}") from exc
        self._mark_applied(change_id, "0x" + bytes(receipt["transactionHash"]).hex())
        return True

    def reopen_lost(self, above_block: int, *, limit: int = 1000) -> int:
        """After the chain went back or reorganised (`reconcile.AnchorWatch`): queue again, to
        be applied in order, the applied changes the chain lost. Walks back from the newest
        applied change until one whose transaction is mined at or below ``above_block`` (the
        newest block known unchanged; -1: none), at most ``limit``; a change is lost when the
        registry no longer shows its effect. Returns how many were queued again."""
        with self.c.sessions() as session:
            applied = store.applied_latest(session, limit)
        requeued = 0
        for change_id, tx_hash in applied:
            block = self.c.chain.tx_block(tx_hash) if tx_hash else None
            if block is not None and block <= above_block:
                break
            with self.c.sessions() as session:
                change = session.get(StatusChange, change_id)
                assert change is not None
                inst = session.get(InstitutionRow, change.institution_id)
                assert inst is not None
                ids = change.credential_ids.split("\n")
                by_id = {r.id: r.credential_hash for r in credential_store.by_ids(session, ids)}
                hashes = [by_id[c] for c in ids if c in by_id]
                action, issuer_id = change.action, inst.chain_issuer_id
            if self._shows_effect(issuer_id, action, hashes):
                continue
            with self.c.session() as session:
                store.requeue(session, change_id)
            requeued += 1
            _logger.warning(
                "status change lost by the chain; queued again",
                extra={"change": change_id, "action": action, "tx": tx_hash},
            )
        if requeued:
            self.c.metrics.status_changes_queued.set(self.pending())
        return requeued

    def _record_sent(self, change_id: int, pending: Any) -> None:
        with self.c.session() as session:
            sent = session.get(StatusChange, change_id)
            assert sent is not None
            sent.state, sent.tx_hash = "sent", pending.tx_hash
            sent.tx_record = orjson.dumps(pending.to_json()).decode()
            sent.attempts = (sent.attempts or 0) + 1

    def _shows_effect(self, issuer_id: int | None, action: str, hashes: list[bytes]) -> bool:
        if issuer_id is None or not hashes:
            return False
        statuses = self.c.chain.credential_statuses(issuer_id, hashes)
        if action == "revoke":
            return all(revoked for revoked, _s in statuses)
        if action == "suspend":
            return all(suspended and not revoked for revoked, suspended in statuses)
        return all(not suspended and not revoked for revoked, suspended in statuses)

    def _mark_failed(self, change_id: int, error: str, refused_by: str = "the registry") -> None:
        with self.c.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.error = "failed", error[:2000]
        self.c.metrics.status_changes.labels("failed").inc()
        _logger.warning(
            "credential status change refused by %s",
            refused_by,
            extra={"change": change_id, "error": error[:500]},
        )

    def _reset_pending(self, change_id: int) -> None:
        with self.c.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.tx_record = "pending", None

    def _mark_applied(self, change_id: int, tx_hash: str | None) -> None:
        now = utcnow()
        with self.c.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.confirmed_at, change.error = "applied", now, None
            if tx_hash is not None:
                change.tx_hash = tx_hash
            ids = change.credential_ids.split("\n")
            action, reason = change.action, change.reason
            for row in credential_store.by_ids(session, ids):
                if action == "revoke":
                    row.revoked_at, row.revocation_reason = now, reason
                elif action == "suspend":
                    row.suspended, row.suspension_reason = True, reason
                else:
                    row.suspended, row.suspension_reason = False, None
        self.c.metrics.status_changes.labels("applied").inc()
        _logger.info(
            "credential status changed",
            extra={"action": action, "count": len(ids), "tx": tx_hash, "change": change_id},
        )
