"""Migration 0008 (``status_changes.api_key_id``) on SQLite and PostgreSQL: 0007 -> 0008 keeps
the queued changes (no key: only the institution's access is checked when they are sent), the
migrated schema is the models', and the downgrade drops the column and keeps the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .issuer_helpers import check_added_column


def _insert(c: Any) -> None:
    c.execute(
        sa.text(
            "INSERT INTO status_changes (institution_id, action, reason, credential_ids, "
            "state, attempts, created_at) VALUES (1, 'revoke', 'r', 'urn:uuid:x', "
            "'pending', 0, '2026-01-01 00:00:00+00:00')"
        )
    )


def _after_upgrade(c: Any) -> None:
    rows = c.execute(sa.text("SELECT state, api_key_id FROM status_changes")).all()
    assert [tuple(r) for r in rows] == [("pending", None)]


def _after_downgrade(c: Any) -> None:
    assert c.execute(sa.text("SELECT state FROM status_changes")).scalars().all() == ["pending"]


def _check(url: str) -> None:
    check_added_column(
        url,
        table="status_changes",
        column="api_key_id",
        before="0007",
        insert=_insert,
        after_upgrade=_after_upgrade,
        fill="UPDATE status_changes SET api_key_id = 'k1'",
        after_downgrade=_after_downgrade,
    )


def test_migration_0008_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0008_on_postgres(pg_url: str) -> None:
    _check(pg_url)
