"""The store's queries on bulk jobs, their rejected rows and the credentials they issued, and
the bulk insert of a chunk's credentials (`insert_credentials`: its driver-level fast paths and
their reference, ``by_statement``)."""

import datetime as dt
import functools
import itertools
import re
import sqlite3
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
    "frame_id",
)


#: Rows one SQLite ``INSERT`` carries (multi-row ``VALUES``; fewer when the driver's limit on
#: bound values says so: `_rows_per_statement`). Why: each statement executed opens a cursor on
#: the table and each of its four indexes and checks its two foreign keys' tables anew, and the
#: driver steps and resets it: with one row a statement that was ~2 us of the ~6 us a bulk row
#: cost to insert (bench/results.md, "the SQLite insert in statements of many rows"). Not
#: more: compiling the statement grows faster than its rows (64 rows ~0.4 ms, 256 rows ~5 ms,
#: once a connection: a 1,000-row job on a fresh connection paid more than it saved), and 256
#: saved only ~0.3 us a row more.
ROWS_PER_STATEMENT = 64


def _rows_per_statement(driver: Any, per_row: int, shared: int, wanted: int) -> int:
    """``wanted`` rows of ``per_row`` bound values each (after ``shared`` values bound once),
    or as many as the SQLite connection ``driver`` binds in one statement (its
    ``SQLITE_LIMIT_VARIABLE_NUMBER``: 32,766 by default since SQLite 3.32, 999 before)."""
    try:
        limit = int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):  # not sqlite3's connection: SQLite's old default
        limit = 999
    return max(1, min(wanted, (limit - shared) // per_row))


@functools.lru_cache(maxsize=64)
def _sqlite_statement(table: str, rows: int, width: int, shared: int) -> str:
    """``INSERT`` of ``rows`` rows into ``table``'s `_INSERT_COLUMNS`: the ``shared`` values
    every row has (the columns after the first ``width``) are the parameters ``?1``...,
    bound once; row ``j``'s own ``width`` values the parameters after them. Its text depends
    only on the count, so the driver's statement cache keeps a few (a compiled statement of
    256 rows is ~0.3 MiB: one a chunk would fill the cache with them)."""
    tail = ", ".join(f"?{k + 1}" for k in range(shared))
    tuples = (
        "(" + ", ".join(f"?{shared + j * width + k + 1}" for k in range(width)) + ", " + tail + ")"
        for j in range(rows)
    )
    return f"INSERT INTO {table} ({', '.join(_INSERT_COLUMNS)}) VALUES " + ", ".join(tuples)


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
    rows_per_statement: int = ROWS_PER_STATEMENT,
    frame_id: int | None = None,
) -> None:
    """Insert one chunk's credentials with driver-level statements of `ROWS_PER_STATEMENT` rows
    each (SQLite), or one binary ``COPY`` (PostgreSQL), in the caller's transaction (a row that
    breaks a constraint fails its statement, and the caller's rollback the chunk).

    ``rows`` are (id, credential hash, document JSON (bytes or a view of them: the runner
    passes `split_views`), status index, leaf index, bulk row), read once (the runner passes
    an iterator: no list of them is built; with ``frame_id``, each document is its holes
    along that `DocumentFrame`, `credential.frames.split`); no audit path: the batch keeps
    its leaves (`AnchorBatch.leaves`), from which readers derive it. The columns every
    row shares (institution, kind, batch, job, suspended, created_at, frame) are converted once
    with the dialect's own bind processors, so the stored values are exactly what the ORM
    would have written, without SQLAlchemy's per-row parameter processing (which cost more
    than the insert itself). On SQLite each statement carries ``rows_per_statement`` rows
    (`ROWS_PER_STATEMENT`; 1 before 1cda6c6) and binds the shared values once,
    the rows' six values after them (`_sqlite_statement`): no twelve-value tuple is built and
    bound per row, and the statement's set-up (cursors on the table and its indexes, the
    foreign keys' tables) is paid once for its rows (3.8-4.5 against 5.8-6.3 us a row,
    bench/results.md "the SQLite insert in statements of many rows"). ``by_statement`` takes the
    reference, every value bound on every row
    (``executemany`` through SQLAlchemy; on PostgreSQL instead of COPY), which
    tests/issuer/test_bulk_fast_paths.py compares with both.
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
        ("frame_id", frame_id),
    ):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        shared.append(process(value) if process is not None else value)
    tail = tuple(shared)
    if dialect.name == "postgresql" and not by_statement:
        _copy_credentials(connection, table, [r + tail for r in rows])
        return
    if dialect.name == "sqlite" and not by_statement:
        # the session's own connection, in its transaction (SQLAlchemy's executemany would
        # want the rows as a list, and checks each)
        driver = connection.connection.driver_connection
        width = len(_INSERT_COLUMNS) - len(tail)
        _sqlite_insert(
            driver,
            table.name,
            tail,
            rows,
            _rows_per_statement(driver, width, len(tail), rows_per_statement),
        )
        return
    columns = ", ".join(_INSERT_COLUMNS)
    style = dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in _INSERT_COLUMNS)
    else:  # pragma: no cover - the two supported drivers use qmark (sqlite3) or %s (psycopg)
        raise RuntimeError(f"unsupported DBAPI paramstyle {style!r}")
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
    connection.exec_driver_sql(sql, [r + tail for r in rows])


def _sqlite_insert(
    driver: Any,
    table: str,
    tail: tuple[Any, ...],
    rows: Iterable[tuple[Any, ...]],
    per_statement: int,
) -> None:
    """``rows`` (their own values each, `_INSERT_COLUMNS` less the ``tail`` every row shares)
    inserted by statements of ``per_statement`` rows (`_sqlite_statement`), then the rest by
    statements of as many rows as the powers of two it sums (at most six more; a statement
    text per count)."""
    shared = len(tail)
    width = len(_INSERT_COLUMNS) - shared
    tuples = rows if isinstance(rows, list) else list(rows)
    if tuples and set(map(len, tuples)) != {width}:  # flattened, one would shift the rest
        raise ValueError(f"expected rows of {width} values")
    head = list(tail)
    flat = list(itertools.chain.from_iterable(tuples))
    cursor = driver.cursor()
    try:
        step = per_statement * width
        full = len(flat) - len(flat) % step
        if full:
            cursor.executemany(
                _sqlite_statement(table, per_statement, width, shared),
                (head + flat[i : i + step] for i in range(0, full, step)),
            )
        at, left = full, (len(flat) - full) // width
        while left:
            count = 1 << (left.bit_length() - 1)
            end = at + count * width
            cursor.execute(_sqlite_statement(table, count, width, shared), head + flat[at:end])
            at, left = end, left - count
    finally:
        cursor.close()


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
