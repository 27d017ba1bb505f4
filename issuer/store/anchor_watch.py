"""The store's side of the anchor watch (`reconcile.AnchorWatch`): the chain heads it last saw
and what it found wrong, in ``issuer_meta`` (shared by every process of the service: `/readyz`
reads them), and the batch updates of confirmation, re-check and re-anchoring."""

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import AnchorBatch, InstitutionRow, Meta

#: ``issuer_meta`` key of the watch's record: {"checkpoints": [[number, hash], ...] oldest
#: first, "condition": {...} or null, "head_seen": [number, unix time the head moved there]}
WATCH_KEY = "anchor_watch"
#: A batch whose transaction is mined but not yet under the configured confirmations: its
#: credentials stay pending (`AnchorBatch`'s states).
MINED = "mined"


def load(session: Session) -> dict[str, Any]:
    """The watch's record (empty checkpoints and no condition if none was written)."""
    row = session.get(Meta, WATCH_KEY)
    if row is None:
        return {"checkpoints": [], "condition": None}
    data = orjson.loads(row.value)
    data.setdefault("checkpoints", [])
    data.setdefault("condition", None)
    return dict(data)


def save(session: Session, data: dict[str, Any]) -> None:
    """Write the watch's record."""
    session.merge(Meta(key=WATCH_KEY, value=orjson.dumps(data).decode()))


def condition(session: Session) -> dict[str, Any] | None:
    """What the watch found wrong and has not yet repaired, or None."""
    found = load(session).get("condition")
    return dict(found) if found else None


def head_seen(session: Session) -> tuple[int, float] | None:
    """(block number, unix time) of the newest head the watch saw the chain move to, or None."""
    seen = load(session).get("head_seen")
    return (int(seen[0]), float(seen[1])) if seen else None


def on_chain_since(session: Session, above_block: int) -> list[tuple[int, bytes, int | None, int]]:
    """(batch id, root, chain issuer id, block number) of the batches the chain showed anchored
    (``mined`` or ``anchored``) in a block above ``above_block``, lowest block first."""
    rows = session.execute(
        select(
            AnchorBatch.id,
            AnchorBatch.root,
            InstitutionRow.chain_issuer_id,
            AnchorBatch.block_number,
        )
        .join(InstitutionRow, InstitutionRow.id == AnchorBatch.institution_id)
        .where(
            AnchorBatch.state.in_(("anchored", MINED)),
            AnchorBatch.block_number > above_block,
        )
        .order_by(AnchorBatch.block_number, AnchorBatch.id)
    ).all()
    return [(int(r[0]), bytes(r[1]), r[2], int(r[3] or 0)) for r in rows]


def highest_block(session: Session) -> int | None:
    """The highest block a batch was recorded anchored or mined in (None if none was)."""
    found = session.scalar(
        select(AnchorBatch.block_number)
        .where(AnchorBatch.state.in_(("anchored", MINED)))
        .order_by(AnchorBatch.block_number.desc())
        .limit(1)
    )
    return int(found) if found is not None else None


def reopen(session: Session, batch_id: int) -> bool:
    """The chain no longer shows the batch's root: back to ``sent`` (its recorded transaction is
    rebroadcast, so the same transaction can be mined again) or ``built`` if none is recorded;
    its credentials are pending again. Whether it was reopened (it was mined or anchored)."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is None or batch.state not in ("anchored", MINED):
        return False
    batch.state = "sent" if batch.tx_record else "built"
    batch.block_number = None
    batch.anchored_at = None
    return True


def record_mined(session: Session, batch_id: int, block_number: int) -> None:
    """The batch's root is on chain in ``block_number``, not yet final."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is None:
        return
    batch.state = MINED
    batch.block_number = block_number
    batch.anchored_at = None


def move(session: Session, batch_id: int, block_number: int) -> None:
    """The chain shows the batch's root in another block than recorded (the same transaction
    re-included by a reorganisation): record that block."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is not None:
        batch.block_number = block_number


def still_open(session: Session, batch_ids: list[int]) -> int:
    """How many of these batches are not yet anchored."""
    if not batch_ids:
        return 0
    return len(
        list(
            session.scalars(
                select(AnchorBatch.id).where(
                    AnchorBatch.id.in_(batch_ids), AnchorBatch.state != "anchored"
                )
            )
        )
    )


__all__ = [
    "MINED",
    "WATCH_KEY",
    "condition",
    "head_seen",
    "highest_block",
    "load",
    "move",
    "on_chain_since",
    "record_mined",
    "reopen",
    "save",
    "still_open",
]
