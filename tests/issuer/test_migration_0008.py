"""Migration 0008 (``status_changes.api_key_id``) on SQLite and PostgreSQL: 0007 -> 0008 keeps
the queued changes (no key: only the institution's access is checked when they are sent), the
migrated schema is the models', and the downgrade drops the column and keeps the rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .issuer_helpers import insert_institution_row, migrate_to


def _columns(engine: sa.Engine) -> list[str]:
    with engine.connect() as c:
        return [col["name"] for col in sa.inspect(c).get_columns("status_changes")]


def _check(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from talentproof.issuer import db

    engine = db.make_engine(url)
    migrate_to(engine, "0007")
    assert "api_key_id" not in _columns(engine)
    with engine.begin() as c:
        insert_institution_row(c)
        c.execute(
            sa.text(
                "INSERT INTO status_changes (institution_id, action, reason, credential_ids, "
                "state, attempts, created_at) VALUES (1, 'revoke', 'r', 'urn:uuid:x', "
                "'pending', 0, '2026-01-01 00:00:00+00:00')"
            )
        )
    db.migrate(engine)
    with engine.connect() as c:  # the migrated schema is the models' (db.py)
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
        rows = c.execute(sa.text("SELECT state, api_key_id FROM status_changes")).all()
    assert [tuple(r) for r in rows] == [("pending", None)]
    with engine.begin() as c:
        c.execute(sa.text("UPDATE status_changes SET api_key_id = 'k1'"))
    migrate_to(engine, "0007", up=False)
    assert "api_key_id" not in _columns(engine)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT state FROM status_changes")).scalars().all() == ["pending"]
    db.migrate(engine)
    assert "api_key_id" in _columns(engine)
    engine.dispose()


def test_migration_0008_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0008_on_postgres(pg_url: str) -> None:
    _check(pg_url)
