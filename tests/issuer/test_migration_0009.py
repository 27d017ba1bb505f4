"""Migration 0009 (``signing_keys.closed_on_chain_at``) on SQLite and PostgreSQL: 0008 -> 0009
keeps the keys (none closed on chain), the migrated schema is the models', and the downgrade
drops the column and keeps the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .issuer_helpers import check_added_column


def _insert(c: Any) -> None:
    c.execute(
        sa.text(
            "INSERT INTO signing_keys (institution_id, public_key_multibase, public_key_raw, "
            "seed_enc, active, created_at) VALUES (1, 'z6Mk', :raw, :seed, :active, "
            "'2026-01-01 00:00:00+00:00')"
        ),
        {"raw": b"\x01" * 32, "seed": b"\x02" * 48, "active": True},
    )


def _after_upgrade(c: Any) -> None:
    rows = c.execute(sa.text("SELECT active, closed_on_chain_at FROM signing_keys")).all()
    assert [tuple(r) for r in rows] == [(True, None)]


def _after_downgrade(c: Any) -> None:
    assert c.execute(sa.text("SELECT count(*) FROM signing_keys")).scalar() == 1


def _check(url: str) -> None:
    check_added_column(
        url,
        table="signing_keys",
        column="closed_on_chain_at",
        before="0008",
        insert=_insert,
        after_upgrade=_after_upgrade,
        fill="UPDATE signing_keys SET closed_on_chain_at = '2026-02-01 00:00:00+00:00'",
        after_downgrade=_after_downgrade,
    )


def test_migration_0009_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0009_on_postgres(pg_url: str) -> None:
    _check(pg_url)
