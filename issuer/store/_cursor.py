"""The store's cursor strategy: the issuance path's statements compiled once and run on the
DB-API cursor (private to `issuer.store`; the service reaches it through the store package).

SQLAlchemy's execution machinery costs several times the SQL of the one-row statements of
issuance; `Direct` runs them without it, with the columns' own bind processors, so rows are stored
exactly as the ORM stores them. `store.ConnectionReads` is its reference twin on a SQLAlchemy
connection (the tests of issuance run both).
"""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from ..db import CredentialRow, table_of
from .statements import IDEM, SELECT_INSTITUTION, SELECT_LEDGER_STATE


class Direct:
    """A Core statement compiled once for the engine's dialect and run on the driver's cursor.

    Used by the issuance path only (`IssuerService.issue_group`): SQLAlchemy's execution
    machinery costs several times the SQL of these one-row statements. Values pass through the
    columns' own bind processors (e.g. SQLite's datetime format), so rows are stored exactly as
    the ORM stores them.
    """

    __slots__ = ("names", "processors", "sql")

    def __init__(self, statement: Any, dialect: Any, keys: list[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        if getattr(compiled, "insert_prefetch", None):
            missing = [c.key for c in compiled.insert_prefetch]
            raise ValueError(f"values for {missing} must be given explicitly")
        self.sql: str = compiled.string
        self.names: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup else None
        )
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def run(self, cursor: Any, values: dict[str, Any]) -> Any:
        """Execute with ``values`` (by name) on a DB-API cursor."""
        processors = self.processors
        if processors:
            values = {
                k: (processors[k](v) if k in processors and v is not None else v)
                for k, v in values.items()
            }
        if self.names is not None:
            return cursor.execute(self.sql, tuple(values[n] for n in self.names))
        return cursor.execute(self.sql, values)

    def run_many(self, cursor: Any, rows: list[dict[str, Any]]) -> Any:
        """Execute once per row of ``rows`` (``executemany``)."""
        processors = self.processors
        if processors:
            rows = [
                {
                    k: (processors[k](v) if k in processors and v is not None else v)
                    for k, v in values.items()
                }
                for values in rows
            ]
        names = self.names
        if names is not None:
            return cursor.executemany(self.sql, [tuple(v[n] for n in names) for v in rows])
        return cursor.executemany(self.sql, rows)


#: Idempotency-Keys looked up per query by `HotPath.stored_answers`.
IDEM_LOOKUP_MAX = 64


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: bytes
    status_code: int
    body: bytes
    headers: str


_CREDENTIAL_COLUMNS = [
    "id", "institution_id", "kind", "credential_hash", "document", "status_index", "suspended",
    "created_at",
]  # fmt: skip
_IDEM_COLUMNS = ["principal", "key", "fingerprint", "status_code", "body", "headers", "created_at"]


class HotPath:
    """The issuance statements of one engine, compiled once (see `Direct`)."""

    def __init__(self, engine: Any) -> None:
        dialect = engine.dialect
        self.dialect = dialect
        self._select_idem_keys: dict[int, Direct] = {}
        self.insert_idem = Direct(IDEM.insert(), dialect, _IDEM_COLUMNS)
        self.insert_credential = Direct(
            table_of(CredentialRow).insert(), dialect, _CREDENTIAL_COLUMNS
        )
        self.select_institution = Direct(SELECT_INSTITUTION, dialect)
        self.select_ledger_state = Direct(SELECT_LEDGER_STATE, dialect)
        self.integrity_error: type[Exception] = dialect.loaded_dbapi.IntegrityError

    def select_idem_keys(self, count: int) -> Direct:
        """The stored answers of one principal's ``count`` keys (``k0`` .. ``k<count-1>``)."""
        direct = self._select_idem_keys.get(count)
        if direct is None:
            direct = self._select_idem_keys[count] = Direct(
                select(
                    IDEM.c.key, IDEM.c.fingerprint, IDEM.c.status_code, IDEM.c.body,
                    IDEM.c.headers,
                ).where(
                    IDEM.c.principal == bindparam("principal"),
                    IDEM.c.key.in_([bindparam(f"k{i}") for i in range(count)]),
                ),
                self.dialect,
            )  # fmt: skip
        return direct

    def stored_answers(
        self, cursor: Any, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredAnswer]:
        """The stored answers of ``keys`` ((principal, Idempotency-Key) pairs) that have one."""
        by_principal: dict[str, list[str]] = {}
        for principal, key in keys:
            by_principal.setdefault(principal, []).append(key)
        found: dict[tuple[str, str], StoredAnswer] = {}
        for principal, names in by_principal.items():
            unique = list(dict.fromkeys(names))
            for start in range(0, len(unique), IDEM_LOOKUP_MAX):
                chunk = unique[start : start + IDEM_LOOKUP_MAX]
                values: dict[str, Any] = {f"k{i}": name for i, name in enumerate(chunk)}
                values["principal"] = principal
                self.select_idem_keys(len(chunk)).run(cursor, values)
                for key, *answer in cursor.fetchall():  # fetched to the end: no read left open
                    found[(principal, key)] = StoredAnswer(*answer)
        return found


class CursorSession:
    """One pooled DB-API connection and its cursor (`cursor_session`): the issuance group
    commit's reads and writes run on ``cursor`` (`HotPath`, `CursorReads`), and end with
    `commit` or `rollback`."""

    __slots__ = ("_raw", "cursor")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.cursor = raw.cursor()

    def commit(self) -> None:
        """Commit the connection's transaction."""
        self._raw.commit()

    def rollback(self) -> None:
        """Roll the connection's transaction back (also ends a read)."""
        self._raw.rollback()


@contextlib.contextmanager
def cursor_session(engine: Any) -> Iterator[CursorSession]:
    """A `CursorSession` on a connection of ``engine``'s pool, given back to the pool at the end
    (what is not committed by then is rolled back by the pool)."""
    raw = engine.raw_connection()
    try:
        yield CursorSession(raw)
    finally:
        raw.close()  # back to the pool


class CursorReads:
    """What issuance reads from the database (`_prepare_issue`), on a DB-API cursor."""

    __slots__ = ("cursor", "hot")

    def __init__(self, cursor: Any, hot: HotPath) -> None:
        self.cursor = cursor
        self.hot = hot

    def institution(self, institution_id: int) -> Any:
        self.hot.select_institution.run(self.cursor, {"id": institution_id})
        rows = self.cursor.fetchall()
        return rows[0] if rows else None

    def ledger_state(self, chain_issuer_id: int) -> Any:
        self.hot.select_ledger_state.run(self.cursor, {"id": chain_issuer_id})
        rows = self.cursor.fetchall()
        return rows[0] if rows else None
