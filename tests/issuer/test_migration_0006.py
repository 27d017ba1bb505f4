"""Migration 0006 (issue 17.2): ``credentials.credential_hash`` loses its unique index.

Nothing looks a stored credential up by its hash, and the hash covers the credential's id,
which stays unique: the index only cost every insert a random leaf page. A database of
revision 0005 with credentials in it upgrades (every row and every other index kept, the
sequence numbers continuing), and the downgrade restores the constraint; on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from talentproof.issuer import db

from .issuer_helpers import insert_institution_row, migrate_to

_ROWS = 300


def _fill(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """An institution, a batch and ``_ROWS`` credentials (every column set); the rows."""
    with engine.begin() as c:
        insert_institution_row(c)
        c.execute(
            sa.text(
                "INSERT INTO anchor_batches (institution_id, root, leaf_count, state, "
                "tx_attempts, oldest_leaf_at, created_at) VALUES (1, :root, 2, 'built', 0, "
                "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            ),
            {"root": b"\x01" * 32},
        )
        c.execute(
            sa.text(
                "INSERT INTO credentials (id, institution_id, kind, credential_hash, document, "
                "status_index, batch_id, leaf_index, proof_path, bulk_job_id, bulk_row, "
                "revoked_at, revocation_reason, suspended, suspension_reason, created_at) "
                "VALUES (:id, 1, 'DegreeCredential', :hash, :doc, :n, :batch, :leaf, :path, "
                ":job, :row, NULL, NULL, :suspended, NULL, '2026-01-01 00:00:00+00:00')"
            ),
            [
                {
                    "id": f"urn:uuid:{n:08x}-0000-4000-8000-000000000000",
                    "hash": n.to_bytes(32, "big"),
                    "doc": b'{"n":%d}' % n,
                    "n": n,
                    "batch": 1 if n % 2 else None,
                    "leaf": n % 7 if n % 2 else None,
                    "path": bytes([n % 256]) * 32 if n % 2 else None,
                    "job": "job" if n % 3 else None,
                    "row": n + 1 if n % 3 else None,
                    "suspended": n % 5 == 0,
                }
                for n in range(_ROWS)
            ],
        )
    return _rows(engine)


def _rows(engine: sa.Engine, columns: list[str] | None = None) -> list[tuple[Any, ...]]:
    """Every row of the credentials table: its every column, or ``columns`` (in that order)."""
    named = ", ".join(columns) if columns else "*"
    with engine.connect() as c:
        return [
            tuple(r) for r in c.execute(sa.text(f"SELECT {named} FROM credentials ORDER BY seq"))
        ]


def _columns(engine: sa.Engine) -> list[str]:
    return [column["name"] for column in sa.inspect(engine).get_columns("credentials")]


def _insert(engine: sa.Engine, cid: str, digest: bytes) -> None:
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO credentials (id, institution_id, kind, credential_hash, document, "
                "status_index, suspended, created_at) VALUES (:id, 1, 'DegreeCredential', :hash, "
                ":doc, 0, :no, '2026-01-02 00:00:00+00:00')"
            ),
            {"id": cid, "hash": digest, "doc": b"{}", "no": False},
        )


def _indexed_columns(engine: sa.Engine) -> dict[tuple[str | None, ...], bool]:
    """The credentials table's indexes and unique constraints: columns -> unique."""
    inspector = sa.inspect(engine)
    out = {
        tuple(i["column_names"]): bool(i["unique"]) for i in inspector.get_indexes("credentials")
    }
    for constraint in inspector.get_unique_constraints("credentials"):
        out[tuple(constraint["column_names"])] = True
    return out


def _check_upgrade(engine: sa.Engine) -> None:
    migrate_to(engine, "0005")
    before = _fill(engine)
    old = _columns(engine)
    assert _indexed_columns(engine)[("credential_hash",)] is True
    db.migrate(engine)
    # every row, every column it had, byte for byte (later migrations add columns: empty here)
    assert _rows(engine, old) == before
    added = [name for name in _columns(engine) if name not in old]
    if added:
        assert set(_rows(engine, added)) == {(None,) * len(added)}
    indexed = _indexed_columns(engine)
    assert not any("credential_hash" in columns for columns in indexed), indexed
    assert indexed[("id",)] is True
    assert indexed[("batch_id",)] is False
    assert indexed[("institution_id", "batch_id", "seq")] is False
    assert indexed[("bulk_job_id", "bulk_row")] is False
    # the same hash twice is stored (nothing relies on it being unique) ...
    _insert(engine, "urn:uuid:new-1", (0).to_bytes(32, "big"))
    # ... a credential id twice never is
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, "urn:uuid:new-1", b"\x02" * 32)
    with engine.connect() as c:
        seqs = c.execute(sa.text("SELECT seq FROM credentials ORDER BY seq")).scalars().all()
    assert seqs[-1] > before[-1][0] and len(seqs) == _ROWS + 1  # the sequence continues
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM credentials WHERE id = 'urn:uuid:new-1'"))
    migrate_to(engine, "0005", up=False)
    assert _indexed_columns(engine)[("credential_hash",)] is True
    assert _rows(engine) == before
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, "urn:uuid:new-2", (0).to_bytes(32, "big"))
    db.migrate(engine)
    assert not any("credential_hash" in columns for columns in _indexed_columns(engine))
    with engine.connect() as c:  # the migrated schema is the models' (db.py), as autogenerate sees
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
    engine.dispose()


def test_model_indexes_no_credential_hash() -> None:
    table = db.table_of(db.CredentialRow)
    assert table.c.credential_hash.unique is not True
    assert not any("credential_hash" in index.columns for index in table.indexes)
    assert table.c.id.unique is True


def test_migration_0006_upgrades_a_sqlite_database_with_credentials(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _check_upgrade(engine)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert c.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


@pytest.mark.integration
@pytest.mark.postgres
def test_migration_0006_upgrades_a_postgresql_database_with_credentials(pg_url: str) -> None:
    _check_upgrade(db.make_engine(pg_url))
