"""Alembic environment: runs on the connection handed in by :func:`talentproof.issuer.db.migrate`
(or on ``sqlalchemy.url`` when run from the alembic command line)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from talentproof.issuer.db import Base

target_metadata = Base.metadata
config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: expected sqlalchemy.url in the configuration or a connection")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
