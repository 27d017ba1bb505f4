"""The service's health: the ledger as last seen, and readiness from recorded state only."""

import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..chain import ChainHealth
from ..errors import NotReady
from ..store import ConnectionReads
from ..store import anchor_failures as failure_store
from ..store import anchor_watch as watch_store
from ..store import credentials as credential_store
from ..store import registry_names as names_store
from ..store import status_changes as change_store
from .collaborators import Collaborators
from .common import iso_z
from .ledger_states import LedgerStates


class Health:
    """The health use cases."""

    def __init__(self, c: Collaborators, ledger_states: LedgerStates) -> None:
        self.c = c
        self.ledger_states = ledger_states

    def chain_health(self) -> ChainHealth:
        """What the anchoring worker last saw of the ledger."""
        return self.c.chain.health

    def readiness(self) -> dict[str, Any]:
        """Database reachability, ledger availability, the anchoring backlog and the queued
        status changes: from recorded state only (database counts, the ledger health the
        workers and probes last recorded, the recorded ledger status of each institution).
        The ledger is never called on this thread: a stale health is re-probed in the
        background (`ChainGateway.probe_soon`, waited for at most 0.5 s), so `/readyz`
        answers within about a second whatever the ledger does. A database error raises
        `NotReady` (its message the database's error)."""
        try:
            return self._readiness()
        except SQLAlchemyError as exc:  # the database is down
            raise NotReady(str(exc)) from exc

    def _readiness(self) -> dict[str, Any]:
        health = self.c.chain.probe_soon(max_age=2.0, wait=0.5)
        with self.c.sessions() as session:
            pending, unconfirmed, queued_changes, failed_changes = (
                credential_store.readiness_counts(session)
            )
            # what the anchor watch found wrong (a rollback, a reorganisation, a nonce gap) and
            # has not yet repaired, recorded by the anchoring worker's process
            condition = watch_store.condition(session)
            seen = watch_store.head_seen(session)
            if condition is not None:
                condition["reanchoring"] = watch_store.still_open(session, condition["batches"])
            # institutions with credentials not yet anchored, to name any the ledger holds back
            waiting_for = credential_store.institutions_waiting_for_anchor(session)
            waiting = []
            db = ConnectionReads(session.connection())
            # institutions whose anchoring keeps failing (the worker backs off from them)
            failures = failure_store.load(session)
            for slug, chain_issuer_id in waiting_for:
                if chain_issuer_id is None:
                    continue
                ledger = self.ledger_states.recorded(db, chain_issuer_id)
                reason = ledger.waiting_reason() if ledger else None
                failure = failures.get(slug)
                if failure is not None and reason is None:
                    waiting.append(
                        {
                            "institution": slug,
                            "ledgerStatus": ledger.status if ledger else None,
                            "since": failure["since"],
                            "reason": f"anchoring fails ({failure['failures']} in a row, "
                            f"retried after {failure['retryInSeconds']:g} s while the other "
                            f"institutions go on): {failure['reason']}",
                            "failures": failure["failures"],
                        }
                    )
                if ledger is not None and reason is not None:
                    waiting.append(
                        {
                            "institution": slug,
                            "ledgerStatus": ledger.status,
                            "since": iso_z(ledger.since),
                            "reason": reason,
                        }
                    )
            # institutions whose queued status changes keep failing: the worker backs off from
            # them, their later changes wait behind, the other institutions' changes go on
            queued_by = change_store.institution_slugs_queued(session)
            changes_waiting = [
                {
                    "institution": slug,
                    "change": failure["change"],
                    "since": failure["since"],
                    "reason": f"status change {failure['change']} fails ({failure['failures']} "
                    f"in a row, retried after {failure['retryInSeconds']:g} s while the other "
                    f"institutions' changes go on): {failure['reason']}",
                    "failures": failure["failures"],
                }
                for slug, failure in sorted(
                    failure_store.load(session, failure_store.STATUS_CHANGE_FAILURES_KEY).items()
                )
                if slug in queued_by
            ]
            # institutions whose name or DID differ from the registry's record (the ledger
            # watch's periodic pass): their credentials fail the verifier's issuer check
            mismatched = [
                {"slug": m["slug"], "stored": m["stored"], "onChain": m["onChain"]}
                for m in names_store.load(session)
            ]
        checked = round(time.monotonic() - health.checked_at, 1) if health.checked_at else None
        # the configured JSON-RPC endpoints as the last requests and probes found them (several:
        # requests fail over; those down are named until a probe finds them answering again)
        endpoints = self.c.chain.endpoint_status()
        down = [e.url for e in endpoints if not e.up]
        stale = None
        limit = self.c.settings.head_stale_s
        if limit > 0 and seen is not None and time.time() - seen[1] > limit:
            stale = (
                f"the chain head has not moved past block {seen[0]} for "
                f"{time.time() - seen[1]:.0f} s (limit {limit:g} s): the node may be cut off "
                "from its network, or the signers stopped sealing; nothing sent is mined"
            )
        recovery = None
        if condition is not None:
            recovery = {
                "problem": condition["detail"],
                "details": condition["details"],
                "since": condition["since"],
                "batchesToReanchor": condition["reanchoring"],
                "anchorsRechecked": condition.get("rechecked", 0),
                "anchorsReopened": condition.get("reopened", 0),
                "nonceResyncs": condition.get("nonce_resyncs", 0),
                "statusChangesRequeued": condition.get("status_changes_requeued", 0),
            }
        return {
            "status": "ready"
            if health.available and recovery is None and not down and stale is None
            else "degraded",
            "database": "ok",
            "chain": {
                "available": health.available,
                "detail": health.detail,
                "chainId": health.chain_id,
                "registry": health.registry,
                "checkedSecondsAgo": checked,
                "endpointsDown": down,
                "endpoints": [e.to_json() for e in endpoints],
                "failovers": self.c.chain.failovers,
                "headStale": stale,
            },
            "anchoring": {
                "pending_credentials": pending,
                "unconfirmed_batches": unconfirmed,
                "note": (
                    "issuance is accepted and queued; anchoring resumes when the ledger returns"
                    if not health.available
                    else f"{recovery['problem']} ({recovery['batchesToReanchor']} batches to "
                    "re-anchor; their credentials are reported pending until then)"
                    if recovery is not None
                    else None
                ),
                "waiting": waiting,
                "recovery": recovery,
            },
            "institutions": {
                "mismatched": mismatched,
                "note": None
                if not mismatched
                else "these institutions' name or DID differ from the registry's record of their "
                "issuer: the credentials they issue fail the verifier's issuer check; set each "
                "one's name and DID in the issuer database to the registry's",
            },
            "statusChanges": {
                "queued": queued_changes,
                "failed": failed_changes,
                "waiting": changes_waiting,
                "note": None
                if health.available or not queued_changes
                else "status changes are accepted and queued; applied in order when the ledger "
                "returns",
            },
        }
