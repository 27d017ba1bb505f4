"""The store's queries on anchor batches and the assignment of credentials to them (the anchoring
worker's SQL, `anchoring.AnchorWorker`)."""

import contextlib
import datetime as dt
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from ..db import AnchorBatch, CredentialRow, InstitutionRow, table_of
from .credentials import DONE_BATCH_STATES

#: A batch whose leaves are still being assigned; never sent (`AnchorWorker.form_batch`).
FORMING = "forming"


def chain_identity(session: Session, institution_id: int) -> tuple[str, int | None]:
    """The institution's slug and on-chain issuer id (its id as text and None if unknown)."""
    inst = session.get(InstitutionRow, institution_id)
    if inst is None:
        return str(institution_id), None
    return inst.slug, inst.chain_issuer_id


def unsend(session: Session, batch_id: int) -> None:
    """A ``sent`` batch whose transaction anchored nothing goes back to ``built`` (sent afresh)."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is not None and batch.state == "sent":
        batch.state = "built"
        batch.tx_record = None


def unfinished_by_institution(session: Session) -> list[tuple[int, int]]:
    """(batch id, institution id) of the batches formed but not yet anchored, oldest first."""
    return [
        (int(r[0]), int(r[1]))
        for r in session.execute(
            select(AnchorBatch.id, AnchorBatch.institution_id)
            .where(AnchorBatch.state.not_in((*DONE_BATCH_STATES, FORMING)))
            .order_by(AnchorBatch.id)
        )
    ]


def forming(session: Session) -> list[int]:
    """The ids of the batches still ``forming``."""
    return list(session.scalars(select(AnchorBatch.id).where(AnchorBatch.state == FORMING)))


def abandon(session: Session, batch_id: int) -> None:
    """Free the leaves of a forming batch and delete it."""
    table = table_of(CredentialRow)
    session.execute(
        update(table)
        .where(table.c.batch_id == batch_id)
        .values(batch_id=None, leaf_index=None, proof_path=None)
    )
    session.execute(
        delete(AnchorBatch).where(AnchorBatch.id == batch_id, AnchorBatch.state == FORMING)
    )


def institutions_with_pending(session: Session) -> list[int]:
    """The institutions with credentials in no batch yet."""
    return list(
        session.scalars(
            select(CredentialRow.institution_id).where(CredentialRow.batch_id.is_(None)).distinct()
        )
    )


def pending_count(session: Session) -> int:
    """Credentials not yet anchored: in no batch, or in a batch not yet anchored.

    Two index range scans (unbatched rows; rows of the few batches not yet anchored) rather than
    a join over every credential ever issued, which grew with the table."""
    open_batches = select(AnchorBatch.id).where(AnchorBatch.state.not_in(DONE_BATCH_STATES))
    unbatched = session.scalar(
        select(func.count()).select_from(CredentialRow).where(CredentialRow.batch_id.is_(None))
    )
    in_open = session.scalar(
        select(func.count())
        .select_from(CredentialRow)
        .where(CredentialRow.batch_id.in_(open_batches))
    )
    return (unbatched or 0) + (in_open or 0)


def unbatched(session: Session, institution_id: int, limit: int) -> Any:
    """The institution's oldest ``limit`` credentials in no batch: rows of ``seq``,
    ``credential_hash``, ``created_at``."""
    return session.execute(
        select(CredentialRow.seq, CredentialRow.credential_hash, CredentialRow.created_at)
        .where(CredentialRow.institution_id == institution_id, CredentialRow.batch_id.is_(None))
        .order_by(CredentialRow.seq)
        .limit(limit)
    ).all()


def add_forming(
    session: Session, institution_id: int, root: bytes, leaf_count: int, oldest: dt.datetime
) -> int:
    """A new ``forming`` batch; its id."""
    batch = AnchorBatch(
        institution_id=institution_id,
        root=root,
        leaf_count=leaf_count,
        state=FORMING,
        oldest_leaf_at=oldest,
    )
    session.add(batch)
    session.flush()
    return int(batch.id)


def finish_forming(session: Session, batch_id: int, leaf_count: int) -> bool:
    """Make the forming batch ``built`` if it holds exactly ``leaf_count`` leaves; whether it
    did (else the caller rolls back)."""
    held = session.scalar(
        select(func.count()).select_from(CredentialRow).where(CredentialRow.batch_id == batch_id)
    )
    done = session.execute(
        update(AnchorBatch)
        .where(AnchorBatch.id == batch_id, AnchorBatch.state == FORMING)
        .values(state="built")
    )
    return held == leaf_count and done.rowcount == 1  # type: ignore[attr-defined]  # (a CursorResult)


class LeafAssignment:
    """Assigns chunks of leaves to a forming batch, one transaction per chunk.

    The statement is compiled once and run on the driver's cursor: with small chunks the ORM
    session's per-transaction bookkeeping cost several times the SQL itself."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        table = table_of(CredentialRow)
        statement = (
            update(table)
            .where(table.c.seq == bindparam("s"), table.c.batch_id.is_(None))
            .values(batch_id=bindparam("b"), leaf_index=bindparam("i"), proof_path=bindparam("p"))
        )
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = compiled.string
        self._names = tuple(compiled.positiontup) if compiled.positiontup else None

    def run(
        self, write_lock: contextlib.AbstractContextManager[Any], params: list[dict[str, Any]]
    ) -> int:
        """Assign one chunk (``s`` seq, ``b`` batch, ``i`` index, ``p`` path) under
        ``write_lock`` in one transaction; returns how many rows were still unbatched and took
        it (all of them, or the chunk is rolled back)."""
        names = self._names
        rows: list[Any] = [tuple(p[n] for n in names) for p in params] if names else params
        raw = self.engine.raw_connection()
        try:
            with write_lock:
                cursor = raw.cursor()
                try:
                    cursor.executemany(self._sql, rows)
                    assigned = cursor.rowcount
                    if assigned == len(rows):
                        raw.commit()
                    else:
                        raw.rollback()
                    return int(assigned)
                except BaseException:
                    raw.rollback()
                    raise
                finally:
                    cursor.close()
        finally:
            raw.close()


def batch_and_institution(session: Session, batch_id: int) -> tuple[AnchorBatch, InstitutionRow]:
    """The batch and its institution."""
    batch = session.get(AnchorBatch, batch_id)
    assert batch is not None
    inst = session.get(InstitutionRow, batch.institution_id)
    assert inst is not None
    return batch, inst


def record_sent(session: Session, batch_id: int, pending: Any, now: dt.datetime) -> None:
    """The batch's transaction ``pending`` (a `ledger.tx.PendingTx`) is sent (state ``sent``).
    One UPDATE (no row loaded into the session: a statement, not the ORM's unit of work)."""
    table = table_of(AnchorBatch)
    done = session.execute(
        update(table)
        .where(table.c.id == batch_id)
        .values(
            state="sent",
            tx_hash=pending.tx_hash,
            tx_nonce=pending.nonce,
            tx_attempts=func.coalesce(table.c.tx_attempts, 0) + 1,
            tx_sent_at=now,
            tx_record=orjson.dumps(pending.to_json()).decode(),
        )
    )
    assert done.rowcount == 1, f"batch {batch_id} not found"  # type: ignore[attr-defined]  # (a CursorResult)


def record_anchored(
    session: Session, batch_id: int, block_number: int, now: dt.datetime
) -> tuple[dt.datetime, int] | None:
    """The batch is anchored in ``block_number``: (its oldest leaf's time, in UTC, and its leaf
    count), or None if it was already done. Statements, not the ORM's unit of work; the caller's
    session holds the writer lock, so nothing changes the batch between the two."""
    table = table_of(AnchorBatch)
    row = session.execute(
        select(table.c.state, table.c.oldest_leaf_at, table.c.leaf_count).where(
            table.c.id == batch_id
        )
    ).one()
    if row.state in DONE_BATCH_STATES:
        return None
    session.execute(
        update(table)
        .where(table.c.id == batch_id)
        .values(state="anchored", block_number=block_number, anchored_at=now)
    )
    oldest = row.oldest_leaf_at
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return oldest, int(row.leaf_count)


__all__ = [
    "FORMING",
    "LeafAssignment",
    "abandon",
    "add_forming",
    "batch_and_institution",
    "chain_identity",
    "finish_forming",
    "forming",
    "institutions_with_pending",
    "pending_count",
    "record_anchored",
    "record_sent",
    "unbatched",
    "unfinished_by_institution",
    "unsend",
]
