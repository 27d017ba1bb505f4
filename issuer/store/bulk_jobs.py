"""The store's queries on bulk jobs, their rejected rows and the credentials they issued, and
the bulk insert of a chunk's credentials (`insert_credentials`: its driver-level fast paths and
their reference, ``by_statement``)."""

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ScalarResult, func, select, update
from sqlalchemy.orm import Session

from ..db import AnchorBatch, BulkError, BulkJob, CredentialRow, table_of


def anchored_count(session: Session, job_id: str) -> int:
    """How many of the job's credentials are in an anchored batch."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CredentialRow)
            .join(AnchorBatch, CredentialRow.batch_id == AnchorBatch.id)
            .where(CredentialRow.bulk_job_id == job_id, AnchorBatch.state == "anchored")
        )
        or 0
    )


def job_state(session: Session, job_id: str) -> str | None:
    """The job's state alone (None: no such job), for a long-poll's re-reads."""
    state: str | None = session.scalar(select(BulkJob.state).where(BulkJob.id == job_id))
    return state


def results_page(session: Session, job_id: str, *, after: int, limit: int) -> list[CredentialRow]:
    """Up to ``limit`` of the job's credentials after row ``after``, in row order."""
    return list(
        session.scalars(
            select(CredentialRow)
            .where(CredentialRow.bulk_job_id == job_id, CredentialRow.bulk_row > after)
            .order_by(CredentialRow.bulk_row)
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


def add_errors(session: Session, errors: list[dict[str, Any]]) -> None:
    """Record a chunk's rejected rows (``job_id``, ``row``, ``line``, ``field``, ``message``
    each) in one statement."""
    session.connection().execute(table_of(BulkError).insert(), errors)


# -- the bulk insert (the runner's chunks) ------------------------------------------------------

_INSERT_COLUMNS = (
    "id",
    "credential_hash",
    "document",
    "status_index",
    "leaf_index",
    "bulk_row",
    "institution_id",
    "kind",
    "batch_id",
    "bulk_job_id",
    "suspended",
    "created_at",
)


def sqlite_literal(value: Any) -> str | None:
    """``value`` (a column value already through its dialect's bind processor) written as a
    SQLite literal that stores exactly what binding it would: an integer (``bool`` as 0/1,
    what the driver binds for it), a string quoted with its quotes doubled, NULL; None (no
    literal: the caller binds it) for anything else or a string holding a NUL character (the
    SQL text ends there)."""
    if value is None:
        return "NULL"
    if type(value) is bool:
        return "1" if value else "0"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\0" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def insert_credentials(
    connection: Any,
    *,
    institution_id: int,
    kind: str,
    batch_id: int,
    job_id: str,
    now: dt.datetime,
    rows: Iterable[tuple[str, bytes, bytes | memoryview, int, int, int]],
    by_statement: bool = False,
) -> None:
    """Insert one chunk's credentials with a single driver-level ``executemany`` (SQLite), or
    one binary ``COPY`` (PostgreSQL).

    ``rows`` are (id, credential hash, document JSON (bytes or a view of them: the runner
    passes `split_views`), status index, leaf index, bulk row), read once (the runner passes
    an iterator: no list of them is built); no audit path: the batch keeps
    its leaves (`AnchorBatch.leaves`), from which readers derive it. The columns every
    row shares (institution, kind, batch, job, suspended, created_at) are converted once
    with the dialect's own bind processors, so the stored values are exactly what the ORM
    would have written, without SQLAlchemy's per-row parameter processing (which cost more
    than the insert itself). On SQLite they are written into the statement as literals
    (`sqlite_literal`) and the rows' six values go to the driver's ``executemany`` as they
    are: no twelve-value tuple built and bound per row (5.3 against 6.5 us a row in
    `bench/bulk_storage.py`'s fast-path rows, bench/results.md 2026-12-07 11:30).
    ``by_statement`` takes the reference, every value bound on every row (``executemany``
    through SQLAlchemy; on PostgreSQL instead of COPY), which
    tests/issuer/test_bulk_fast_paths.py compares with both; so does a shared value with no
    literal.
    """
    dialect = connection.dialect
    table = table_of(CredentialRow)
    shared: list[Any] = []
    for name, value in (
        ("institution_id", institution_id),
        ("kind", kind),
        ("batch_id", batch_id),
        ("bulk_job_id", job_id),
        ("suspended", False),
        ("created_at", now),
    ):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        shared.append(process(value) if process is not None else value)
    tail = tuple(shared)
    if dialect.name == "postgresql" and not by_statement:
        _copy_credentials(connection, table, [r + tail for r in rows])
        return
    columns = ", ".join(_INSERT_COLUMNS)
    if dialect.name == "sqlite" and not by_statement:
        values = ["?"] * (len(_INSERT_COLUMNS) - len(tail))
        for value in tail:
            literal = sqlite_literal(value)
            if literal is None:
                break
            values.append(literal)
        else:
            sql = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join(values)})"
            # the session's own connection, in its transaction (SQLAlchemy's executemany
            # would want the rows as a list, and checks each)
            cursor = connection.connection.driver_connection.cursor()
            try:
                cursor.executemany(sql, rows)
            finally:
                cursor.close()
            return
    style = dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in _INSERT_COLUMNS)
    else:  # pragma: no cover - the two supported drivers use qmark (sqlite3) or %s (psycopg)
        raise RuntimeError(f"unsupported DBAPI paramstyle {style!r}")
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
    connection.exec_driver_sql(sql, [r + tail for r in rows])


def _copy_credentials(connection: Any, table: Any, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: ``rows`` (values in `_INSERT_COLUMNS` order) in one binary ``COPY`` on the
    transaction's own connection. Why: psycopg's ``executemany`` sends one INSERT per row (in a
    pipeline), which the server plans and executes row by row; ``COPY`` streams them into
    the table in one statement (the same constraints, indexes and triggers apply, and a row
    that breaks one fails the whole COPY, as it failed the whole ``executemany``). The binary
    format needs each column's exact type: taken from the table (``BIGINT``, ``BYTEA``...)."""
    dialect = connection.dialect
    types = [
        re.sub(r"\(.*\)", "", table.c[name].type.compile(dialect=dialect)).strip().lower()
        for name in _INSERT_COLUMNS
    ]
    driver = connection.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(_INSERT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)
