"""Migration 0009 (``signing_keys.closed_on_chain_at``) on SQLite and PostgreSQL: 0008 -> 0009
keeps the keys (none closed on chain), the migrated schema is the models', and the downgrade
drops the column and keeps the rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .issuer_helpers import insert_institution_row, migrate_to


def _columns(engine: sa.Engine) -> list[str]:
    with engine.connect() as c:
        return [col["name"] for col in sa.inspect(c).get_columns("signing_keys")]


def _check(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from talentproof.issuer import db

    engine = db.make_engine(url)
    migrate_to(engine, "0008")
    assert "closed_on_chain_at" not in _columns(engine)
    with engine.begin() as c:
        insert_institution_row(c)
        c.execute(
            sa.text(
                "INSERT INTO signing_keys (institution_id, public_key_multibase, public_key_raw, "
                "seed_enc, active, created_at) VALUES (1, 'z6Mk', :raw, :seed, :active, "
                "'2026-01-01 00:00:00+00:00')"
            ),
            {"raw": b"\x01" * 32, "seed": b"\x02" * 48, "active": True},
        )
    db.migrate(engine)
    with engine.connect() as c:  # the migrated schema is the models' (db.py)
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
        rows = c.execute(sa.text("SELECT active, closed_on_chain_at FROM signing_keys")).all()
    assert [tuple(r) for r in rows] == [(True, None)]
    with engine.begin() as c:
        c.execute(
            sa.text("UPDATE signing_keys SET closed_on_chain_at = '2026-02-01 00:00:00+00:00'")
        )
    migrate_to(engine, "0008", up=False)
    assert "closed_on_chain_at" not in _columns(engine)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM signing_keys")).scalar() == 1
    db.migrate(engine)
    assert "closed_on_chain_at" in _columns(engine)
    engine.dispose()


def test_migration_0009_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0009_on_postgres(pg_url: str) -> None:
    _check(pg_url)
