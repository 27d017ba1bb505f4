"""Migration 0010 (``api_keys.rotated_at``) on SQLite and PostgreSQL: 0009 -> 0010 keeps the
keys (a key retired before it has no rotation time: it counts as revoked, as before), the
migrated schema is the models', and the downgrade drops the column and keeps the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .issuer_helpers import check_added_column


def _insert(c: Any) -> None:
    for key_id, revoked in (("k1", None), ("k2", "2026-01-02 00:00:00+00:00")):
        c.execute(
            sa.text(
                "INSERT INTO api_keys (id, institution_id, role, scopes, secret_hash, name, "
                "created_at, revoked_at) VALUES (:id, 1, 'institution', 'revoke,read', :hash, "
                "'n', '2026-01-01 00:00:00+00:00', :revoked)"
            ),
            {"id": key_id, "hash": b"\x01" * 32, "revoked": revoked},
        )


def _after_upgrade(c: Any) -> None:
    rows = c.execute(
        sa.text("SELECT id, revoked_at IS NOT NULL, rotated_at FROM api_keys ORDER BY id")
    ).all()
    assert [tuple(r) for r in rows] == [("k1", False, None), ("k2", True, None)]


def _after_downgrade(c: Any) -> None:
    rows = c.execute(sa.text("SELECT id, revoked_at IS NOT NULL FROM api_keys ORDER BY id"))
    assert [tuple(r) for r in rows.all()] == [("k1", False), ("k2", True)]


def _check(url: str) -> None:
    check_added_column(
        url,
        table="api_keys",
        column="rotated_at",
        before="0009",
        insert=_insert,
        after_upgrade=_after_upgrade,
        fill="UPDATE api_keys SET rotated_at = revoked_at WHERE id = 'k2'",
        after_downgrade=_after_downgrade,
    )


def test_migration_0010_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0010_on_postgres(pg_url: str) -> None:
    _check(pg_url)
