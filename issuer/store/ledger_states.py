"""The store's record of the institutions' ledger status, shared by the service's processes."""

import contextlib
import importlib
from typing import Any

from sqlalchemy.engine import Engine

from . import statements


def record(
    engine: Engine, write_lock: contextlib.AbstractContextManager[Any], rows: list[dict[str, Any]]
) -> None:
    """Upsert ``rows`` (``chain_issuer_id``, ``status``, ``since_unix``, ``checked_unix``) in one
    transaction, one row per issuer."""
    dialect = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    upsert: Any = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    statement = upsert(statements.LEDGER_STATES)
    statement = statement.on_conflict_do_update(
        index_elements=[statements.LEDGER_STATES.c.chain_issuer_id],
        set_={
            "status": statement.excluded.status,
            "since_unix": statement.excluded.since_unix,
            "checked_unix": statement.excluded.checked_unix,
        },
    )
    with write_lock, engine.begin() as conn:
        conn.execute(statement, rows)
