"""The store's queries on issued credentials (issuance itself inserts through `store._cursor`)."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import AnchorBatch, CredentialRow, DocumentFrame, InstitutionRow, StatusChange
from .status_changes import QUEUED_STATES


def status_list_candidates(session: Session, institution_id: int, changed_ids: list[str]) -> Any:
    """The institution's credentials whose status a status list must check: revoked or
    suspended here, or named by an applied status change (``changed_ids``): rows of
    ``credential_hash``, ``status_index``, ``revoked_at``, ``suspended``."""
    return session.execute(
        select(
            CredentialRow.credential_hash,
            CredentialRow.status_index,
            CredentialRow.revoked_at,
            CredentialRow.suspended,
        ).where(
            CredentialRow.institution_id == institution_id,
            (CredentialRow.revoked_at.is_not(None))
            | (CredentialRow.suspended.is_(True))
            | CredentialRow.id.in_(changed_ids),
        )
    ).all()


#: Hashes, roots or ids per ``IN (...)`` of the reads below.
_IN_CHUNK = 500


def status_rows_by_hash(session: Session, institution_id: int, hashes: set[bytes]) -> list[Any]:
    """The institution's credentials among ``hashes``: rows as `status_list_candidates`
    gives."""
    wanted = sorted(hashes)
    rows: list[Any] = []
    for i in range(0, len(wanted), _IN_CHUNK):
        rows.extend(
            session.execute(
                select(
                    CredentialRow.credential_hash,
                    CredentialRow.status_index,
                    CredentialRow.revoked_at,
                    CredentialRow.suspended,
                ).where(
                    CredentialRow.institution_id == institution_id,
                    CredentialRow.credential_hash.in_(wanted[i : i + _IN_CHUNK]),
                )
            )
        )
    return rows


def status_indexes_in_batches(
    session: Session, institution_id: int, roots: set[bytes]
) -> list[int]:
    """The status indexes of the institution's credentials anchored in the batches ``roots``."""
    wanted = sorted(roots)
    out: list[int] = []
    for i in range(0, len(wanted), _IN_CHUNK):
        out.extend(
            session.scalars(
                select(CredentialRow.status_index)
                .join(AnchorBatch, CredentialRow.batch_id == AnchorBatch.id)
                .where(
                    AnchorBatch.institution_id == institution_id,
                    AnchorBatch.root.in_(wanted[i : i + _IN_CHUNK]),
                )
            )
        )
    return out


def top_status_index(session: Session, institution_id: int) -> int:
    """The highest status-list index the institution used (0 if none)."""
    return (
        session.scalar(
            select(func.max(CredentialRow.status_index)).where(
                CredentialRow.institution_id == institution_id
            )
        )
        or 0
    )


#: Anchor batch states that need nothing more. ``superseded`` (another issuer had anchored the
#: batch's root first, its credentials moved to a salted root) is no longer written: anchors are
#: kept per (issuer, root); it stays here for old rows.
DONE_BATCH_STATES = ("anchored", "superseded")


def readiness_counts(session: Session) -> tuple[int, int, int, int]:
    """In one query: credentials waiting for an anchor batch, anchor batches neither anchored
    nor superseded, status changes waiting to be applied (pending or sent), status changes the
    registry refused."""

    def count(table: Any, cond: Any) -> Any:
        return select(func.count()).select_from(table).where(cond).scalar_subquery()

    row = session.execute(
        select(
            count(CredentialRow, CredentialRow.batch_id.is_(None)),
            count(AnchorBatch, AnchorBatch.state.not_in(DONE_BATCH_STATES)),
            count(StatusChange, StatusChange.state.in_(QUEUED_STATES)),
            count(StatusChange, StatusChange.state == "failed"),
        )
    ).one()
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))


def institutions_waiting_for_anchor(session: Session) -> Any:
    """(slug, chain issuer id) of the institutions with credentials not yet anchored."""
    return session.execute(
        select(InstitutionRow.slug, InstitutionRow.chain_issuer_id).where(
            InstitutionRow.id.in_(
                select(CredentialRow.institution_id)
                .where(CredentialRow.batch_id.is_(None))
                .distinct()
                .union(
                    select(AnchorBatch.institution_id).where(
                        AnchorBatch.state.not_in(DONE_BATCH_STATES)
                    )
                )
            )
        )
    ).all()


def by_ids(session: Session, ids: list[str]) -> list[CredentialRow]:
    """The credentials with these ids (any institution's; missing ones left out)."""
    return list(session.scalars(select(CredentialRow).where(CredentialRow.id.in_(ids))))


def batch_leaves(session: Session, batch_id: int) -> bytes | None:
    """The batch's leaves (its credential hashes in leaf order, joined), None if it keeps none
    (its rows hold their paths)."""
    leaves: bytes | None = session.scalar(
        select(AnchorBatch.leaves).where(AnchorBatch.id == batch_id)
    )
    return None if leaves is None else bytes(leaves)


def frame_parts(session: Session, frame_id: int) -> bytes | None:
    """The packed parts of document frame ``frame_id`` (`credential.frames.pack`), None if no
    such frame."""
    parts: bytes | None = session.scalar(
        select(DocumentFrame.parts).where(DocumentFrame.id == frame_id)
    )
    return None if parts is None else bytes(parts)


def by_id(session: Session, cred_id: str) -> CredentialRow | None:
    """The credential with this id, if any."""
    return session.scalar(select(CredentialRow).where(CredentialRow.id == cred_id))


def page(session: Session, institution_id: int, *, after: int, limit: int) -> Any:
    """Up to ``limit`` of the institution's credentials after sequence number ``after``: rows of
    ``seq``, ``id``, ``kind``, ``credential_hash``, ``batch_id``, ``revoked_at``,
    ``suspended`` and ``anchored_root`` (its batch's Merkle root once anchored, else None)."""
    return session.execute(
        select(
            CredentialRow.seq,
            CredentialRow.id,
            CredentialRow.kind,
            CredentialRow.credential_hash,
            CredentialRow.batch_id,
            CredentialRow.revoked_at,
            CredentialRow.suspended,
            AnchorBatch.root.label("anchored_root"),
        )
        .outerjoin(
            AnchorBatch,
            (AnchorBatch.id == CredentialRow.batch_id) & (AnchorBatch.state == "anchored"),
        )
        .where(CredentialRow.institution_id == institution_id, CredentialRow.seq > after)
        .order_by(CredentialRow.seq)
        .limit(limit)
    ).all()
