"""Migration 0011 (issue 17.3): ``document_frames`` and ``credentials.frame_id``, a bulk chunk's
shared document bytes stored once. A database of revision 0010 with credentials upgrades (every
row kept whole, no frame; the schema the models'); a framed row written after it reads back
whole through the service's reader; the downgrade gives every framed row its whole document
back and drops the column and the table; upgraded again they are back. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from talentproof.credential import frames
from talentproof.issuer import db
from talentproof.issuer.usecases.credentials import DocumentFrames

from .issuer_helpers import insert_institution_row, migrate_to

_PARTS = (b'{"a":"', b'","b":[', b'],"c":1}')
_WHOLE = b'{"a":"one","b":[2,3],"c":1}'
_INSERT = (
    "INSERT INTO credentials (id, institution_id, kind, credential_hash, document, "
    "status_index, suspended, created_at) VALUES (:id, 1, 'DegreeCredential', :hash, :doc, :n, "
    "false, '2026-01-01 00:00:00+00:00')"
)


def _documents(engine: sa.Engine) -> list[tuple[str, bytes]]:
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT id, document FROM credentials ORDER BY seq"))
        return [(r[0], bytes(r[1])) for r in rows]


def _columns(engine: sa.Engine) -> list[str]:
    with engine.connect() as c:
        return [col["name"] for col in sa.inspect(c).get_columns("credentials")]


def _check(url: str) -> None:
    engine = db.make_engine(url)
    migrate_to(engine, "0010")
    assert "frame_id" not in _columns(engine)
    with engine.begin() as c:
        insert_institution_row(c)
        c.execute(
            sa.text(_INSERT),
            [
                {"id": f"urn:uuid:old-{n}", "hash": bytes([n]) * 32, "doc": b'{"n":%d}' % n, "n": n}
                for n in range(3)
            ],
        )
    before = _documents(engine)
    db.migrate(engine)
    with engine.connect() as c:  # the migrated schema is the models' (db.py)
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
        assert c.execute(sa.text("SELECT frame_id FROM credentials")).scalars().all() == [None] * 3
    assert _documents(engine) == before
    holes = frames.split(_PARTS, _WHOLE)
    assert holes == b"one\x002,3"
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as s:
        frame = db.DocumentFrame(parts=frames.pack(_PARTS), created_at=db.utcnow())
        s.add(frame)
        s.flush()
        s.add(
            db.CredentialRow(
                id="urn:uuid:framed",
                institution_id=1,
                kind="DegreeCredential",
                credential_hash=b"\x09" * 32,
                document=holes,
                status_index=9,
                frame_id=frame.id,
            )
        )
    reader = DocumentFrames()
    with sessions() as s:
        rows = s.scalars(sa.select(db.CredentialRow).order_by(db.CredentialRow.seq)).all()
        assert [reader.document_bytes(s, r) for r in rows] == [d for _, d in before] + [_WHOLE]
    migrate_to(engine, "0010", up=False)
    assert "frame_id" not in _columns(engine)
    with engine.connect() as c:
        assert not sa.inspect(c).has_table("document_frames")
    assert _documents(engine) == [*before, ("urn:uuid:framed", _WHOLE)]
    db.migrate(engine)
    assert "frame_id" in _columns(engine)
    engine.dispose()


def test_migration_0011_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0011_on_postgres(pg_url: str) -> None:
    _check(pg_url)


def test_a_row_whose_frame_is_missing_is_an_error_not_a_document(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate(engine)
    with engine.begin() as c:
        insert_institution_row(c)
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add(
            db.CredentialRow(
                id="urn:uuid:lost",
                institution_id=1,
                kind="DegreeCredential",
                credential_hash=b"\x09" * 32,
                document=b"one\x002,3",
                status_index=9,
                frame_id=77,
            )
        )
    with sessions() as s:
        row = s.scalars(sa.select(db.CredentialRow)).one()
        with pytest.raises(RuntimeError, match="frame 77 is missing"):
            DocumentFrames().document_bytes(s, row)
    engine.dispose()
