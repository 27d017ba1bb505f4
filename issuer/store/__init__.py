"""The issuer's store: SQL beside the ORM models of `issuer.db`.

- `statements`: the Core statements shared by the service and the store's strategies.
- `CursorReads`, `HotPath` (from the private `_cursor` module): the issuance path's statements
  compiled once and run on the DB-API cursor of a `cursor_session` (a pooled connection and its
  cursor: the group commit's); `ConnectionReads` is the same reads on a SQLAlchemy connection
  (the reference twin, used off the hot path).
"""

from typing import Any

from sqlalchemy import Connection

from ._cursor import (
    IDEM_LOOKUP_MAX,
    CursorReads,
    CursorSession,
    Direct,
    HotPath,
    StoredAnswer,
    cursor_session,
)
from .statements import SELECT_INSTITUTION, SELECT_LEDGER_STATE

__all__ = [
    "IDEM_LOOKUP_MAX",
    "ConnectionReads",
    "CursorReads",
    "CursorSession",
    "Direct",
    "HotPath",
    "StoredAnswer",
    "cursor_session",
]


class ConnectionReads:
    """What issuance reads from the database (`usecases.issuance.Issuance.prepare`), on a SQLAlchemy
    connection."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def institution(self, institution_id: int) -> Any:
        row = self.conn.execute(SELECT_INSTITUTION, {"id": institution_id}).first()
        return None if row is None else tuple(row)

    def ledger_state(self, chain_issuer_id: int) -> Any:
        row = self.conn.execute(SELECT_LEDGER_STATE, {"id": chain_issuer_id}).first()
        return None if row is None else tuple(row)
