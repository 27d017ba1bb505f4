"""The store's queries on bulk jobs, their rejected rows and the credentials they issued (the
bulk insert itself: `issuer.bulk.insert_credentials`)."""

from sqlalchemy import ScalarResult, func, select, update
from sqlalchemy.orm import Session

from ..db import AnchorBatch, BulkError, BulkJob, Credential


def anchored_count(session: Session, job_id: str) -> int:
    """How many of the job's credentials are in an anchored batch."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Credential)
            .join(AnchorBatch, Credential.batch_id == AnchorBatch.id)
            .where(Credential.bulk_job_id == job_id, AnchorBatch.state == "anchored")
        )
        or 0
    )


def job_state(session: Session, job_id: str) -> str | None:
    """The job's state alone (None: no such job), for a long-poll's re-reads."""
    state: str | None = session.scalar(select(BulkJob.state).where(BulkJob.id == job_id))
    return state


def results_page(session: Session, job_id: str, *, after: int, limit: int) -> list[Credential]:
    """Up to ``limit`` of the job's credentials after row ``after``, in row order."""
    return list(
        session.scalars(
            select(Credential)
            .where(Credential.bulk_job_id == job_id, Credential.bulk_row > after)
            .order_by(Credential.bulk_row)
            .limit(limit)
        )
    )


def errors(session: Session, job_id: str) -> ScalarResult[BulkError]:
    """The job's rejected rows, in row order (read lazily)."""
    return session.scalars(
        select(BulkError).where(BulkError.job_id == job_id).order_by(BulkError.row)
    )


def unfinished_ids(session: Session) -> list[str]:
    """The ids of the jobs queued or running, oldest first."""
    return list(
        session.scalars(
            select(BulkJob.id)
            .where(BulkJob.state.in_(("queued", "running")))
            .order_by(BulkJob.created_at)
        )
    )


def ended_upload_paths(session: Session) -> list[str]:
    """The upload paths of the jobs that ended (done or failed)."""
    return list(session.scalars(select(BulkJob.path).where(BulkJob.state.in_(("done", "failed")))))


def add_progress(
    session: Session, job_id: str, *, new_offset: int, count: int, good: int, failed: int
) -> None:
    """Advance the job's cursor to ``new_offset`` and add a chunk's counts."""
    session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id)
        .values(
            byte_offset=new_offset,
            rows_done=BulkJob.rows_done + count,
            succeeded=BulkJob.succeeded + good,
            failed=BulkJob.failed + failed,
        )
    )
