"""The institutions' ledger status (active, suspended, removed) as issuance and the status
endpoints see it: recorded by the ledger watch for every process, read back through a cache, and
the refusals it implies. Never a ledger call on a request's path."""

import datetime as dt
import time

from ..chain import IssuerLedgerState
from ..errors import InstitutionRemoved, InstitutionSuspended, LedgerUnavailable
from ..store import ConnectionReads, CursorReads
from ..store import institutions as institution_store
from ..store import ledger_states as store
from .collaborators import Collaborators
from .common import iso_z

#: The institutions' ledger status (suspended or removed on chain) is re-read this often in the
#: background (`chain.IssuerStateWatch`); issuance refuses on a read at most
#: ``LEDGER_STATE_MAX_AGE_S`` old and accepts (queues) when it has none that fresh, e.g. while the
#: ledger is unreachable.
LEDGER_REFRESH_S = 2.0
LEDGER_STATE_MAX_AGE_S = 6.0


class LedgerStates:
    """The institutions' recorded ledger status."""

    def __init__(self, c: Collaborators) -> None:
        self.c = c

    def record(self, states: list[IssuerLedgerState]) -> None:
        """Record a complete read of the institutions' ledger status (`IssuerStateWatch`'s
        ``publish``) for every process of the service: one transaction, one row per issuer."""
        if not states:
            return
        now = time.time()
        rows = [
            {
                "chain_issuer_id": s.issuer_id,
                "status": s.status,
                "since_unix": int(s.since.timestamp()) if s.since is not None else None,
                "checked_unix": now,
            }
            for s in states
        ]
        store.record(self.c.engine, self.c.write_lock, rows)
        now_monotonic = time.monotonic()
        for state in states:  # this process sees its own reads at once
            self.c.caches.ledger_states.put(state.issuer_id, state, at=now_monotonic)

    def recorded(
        self, db: CursorReads | ConnectionReads, chain_issuer_id: int
    ) -> IssuerLedgerState | None:
        """The newest read of the issuer's ledger status at most ``LEDGER_STATE_MAX_AGE_S``
        old: the one the ledger watch recorded (re-read from the database at most every
        ``caches.LEDGER_SHARED_TTL_S``) or one this process made itself (e.g. its anchoring
        worker's); None if there is none that fresh."""
        now = time.monotonic()
        recorded = self.c.caches.ledger_states
        cached = recorded.entry(chain_issuer_id)
        if cached is None or not recorded.is_fresh(cached, now):
            row = db.ledger_state(chain_issuer_id)
            state = None
            if row is not None:
                status, since_unix, checked_unix = row
                state = IssuerLedgerState(
                    chain_issuer_id,
                    status,
                    dt.datetime.fromtimestamp(since_unix, dt.UTC) if since_unix else None,
                    now - max(0.0, time.time() - float(checked_unix)),
                )
            recorded.put(chain_issuer_id, state, at=now)
            cached = (now, state)
        state = cached[1]
        own = self.c.chain.cached_issuer_state(chain_issuer_id, max_age=LEDGER_STATE_MAX_AGE_S)
        if own is not None and (state is None or own.checked_at > state.checked_at):
            state = own
        if state is None or now - state.checked_at > LEDGER_STATE_MAX_AGE_S:
            return None
        return state

    def refuse_if_inactive(
        self, db: CursorReads | ConnectionReads, slug: str, chain_issuer_id: int | None
    ) -> None:
        """Refuse issuance by an institution the ledger shows suspended or removed: its
        credentials could not be anchored. From the read the service's ledger watch recorded
        (`record`), never a ledger call; no read at most ``LEDGER_STATE_MAX_AGE_S`` old (ledger
        unreachable, no watch running): accepted and queued."""
        if chain_issuer_id is None:
            return
        state = self.recorded(db, chain_issuer_id)
        if state is None or state.may_issue:
            return
        since = iso_z(state.since) or "an unknown time"
        if state.status == "removed":
            raise InstitutionRemoved(
                f"institution {slug!r} is removed on the ledger (issuer "
                f"{chain_issuer_id}) since {since}; it can issue no more credentials"
            )
        raise InstitutionSuspended(
            f"institution {slug!r} is {state.status} on the ledger (issuer "
            f"{chain_issuer_id}) since {since}; no new credentials until the ledger's "
            "governance reinstates it"
        )

    def chain_issuer_ids(self) -> list[int]:
        """The on-chain issuer ids the ledger watch reads."""
        with self.c.sessions() as session:
            return institution_store.chain_issuer_ids(session)

    def current(self, chain_issuer_id: int | None) -> IssuerLedgerState | None:
        """The institution's ledger status for status endpoints: the newest recent read
        (`recorded`), else a read now if the ledger answered at the last look; None if
        unknown."""
        if chain_issuer_id is None:
            return None
        with self.c.engine.connect() as conn:
            state = self.recorded(ConnectionReads(conn), chain_issuer_id)
        if state is None and self.c.chain.health.available:
            try:
                state = self.c.chain.issuer_state(chain_issuer_id)
            except LedgerUnavailable:
                return None
        return state
