"""How bulk credentials are stored (issue 17.2/17.3): each anchor batch keeps its leaves (the
credential hashes in leaf order, 32 bytes a row, one value) and a bulk row keeps no audit path;
the path is derived from the batch's leaves when a credential is read.

Every reader answers byte for byte what it answered when each row held its own path (the
storage before migration 0007, which old rows keep): ``GET /credentials/{id}``, its QR code,
``GET /bulk-jobs/{id}/results``; on SQLite and on PostgreSQL. A batch whose leaves do not lead
to its root is refused, never served.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from talentproof.credential.merkle import MerkleTree
from talentproof.issuer.app import create_app
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import AnchorBatch, CredentialRow

from .issuer_helpers import (
    bearer,
    degree_subjects,
    insert_institution_row,
    migrate_to,
    onboard,
    post_bulk_job,
)

pytestmark = pytest.mark.integration


def _answers(client: TestClient, token: str, job_id: str, ids: list[str]) -> list[bytes]:
    """Every reader's answer for the job's credentials, as the client receives it."""
    out = [client.get(f"/credentials/{cid}", headers=bearer(token)).content for cid in ids]
    out.append(client.get(f"/credentials/{ids[0]}/qr.svg", headers=bearer(token)).content)
    out.append(client.get(f"/bulk-jobs/{job_id}/results", headers=bearer(token)).content)
    return out


def _to_stored_paths(service: Any, batch_ids: list[int]) -> None:
    """Rewrite the batches as they were stored before migration 0007: each row its joined audit
    path (`MerkleTree.joined_paths`, what the runner wrote), the batch no leaves."""
    with service.session() as session:
        for batch_id in batch_ids:
            rows = session.execute(
                select(CredentialRow.seq, CredentialRow.credential_hash)
                .where(CredentialRow.batch_id == batch_id)
                .order_by(CredentialRow.leaf_index)
            ).all()
            paths = MerkleTree([r.credential_hash for r in rows]).joined_paths()
            for row, path in zip(rows, paths, strict=True):
                session.execute(
                    update(CredentialRow)
                    .where(CredentialRow.seq == row.seq)
                    .values(proof_path=path)
                )
            session.execute(
                update(AnchorBatch).where(AnchorBatch.id == batch_id).values(leaves=None)
            )


def _check_same_answers(make_service: Any, **settings: Any) -> None:
    service = make_service(bulk_chunk_rows=16, **settings)
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        job_id = post_bulk_job(client, token, degree_subjects(37))  # batches of 16, 16 and 5 leaves
        BulkRunner(service, processes=1).run_pending()
        with service.sessions() as session:
            creds = session.execute(
                select(
                    CredentialRow.id,
                    CredentialRow.batch_id,
                    CredentialRow.leaf_index,
                    CredentialRow.credential_hash,
                    CredentialRow.proof_path,
                )
                .where(CredentialRow.bulk_job_id == job_id)
                .order_by(CredentialRow.bulk_row)
            ).all()
            batch_ids = sorted({c.batch_id for c in creds})
            batches = [session.get(AnchorBatch, b) for b in batch_ids]
            # no row holds a path; each batch holds its leaves, in leaf order, once
            assert all(c.proof_path is None for c in creds)
            for batch in batches:
                assert batch is not None
                mine = sorted(
                    (c.leaf_index, c.credential_hash) for c in creds if c.batch_id == batch.id
                )
                assert batch.leaves == b"".join(h for _i, h in mine)
                assert MerkleTree([h for _i, h in mine]).root == batch.root
            assert [b.leaf_count for b in batches if b is not None] == [16, 16, 5]
        client.app.state.worker.drain(30)
        ids = [c.id for c in creds]
        derived = _answers(client, token, job_id, ids)
        assert all(b'"TalentProofAnchor' in a or b"TalentProofAnchor" in a for a in derived[:-2])
        # the same answers from the storage before: paths in the rows (a new service: no tree
        # cached), then one batch of each kind side by side
        _to_stored_paths(service, batch_ids)
        again = make_service(bulk_chunk_rows=16, **settings)
        with TestClient(create_app(again, run_worker=False)) as client2:
            assert _answers(client2, token, job_id, ids) == derived
    # a batch's leaves that do not give its root are refused (never a proof that fails later)
    with service.session() as session:
        session.execute(
            update(CredentialRow)
            .where(CredentialRow.batch_id == batch_ids[0])
            .values(proof_path=None)
        )
        wrong = bytearray(b"".join(c.credential_hash for c in creds if c.batch_id == batch_ids[0]))
        wrong[0] ^= 1
        session.execute(
            update(AnchorBatch).where(AnchorBatch.id == batch_ids[0]).values(leaves=bytes(wrong))
        )
    third = make_service(bulk_chunk_rows=16, **settings)
    with TestClient(create_app(third, run_worker=False), raise_server_exceptions=False) as c3:
        bad = c3.get(f"/credentials/{ids[0]}", headers=bearer(token))
        assert bad.status_code == 500 and b"TalentProofAnchor" not in bad.content
        # the batch beside it (paths in its rows) still reads as before
        assert c3.get(f"/credentials/{ids[20]}", headers=bearer(token)).content == derived[20]


def test_derived_paths_answer_what_stored_paths_answered_on_sqlite(make_service) -> None:
    _check_same_answers(make_service)


@pytest.mark.postgres
def test_derived_paths_answer_what_stored_paths_answered_on_postgres(make_service, pg_url) -> None:
    _check_same_answers(make_service, database_url=pg_url)


def _check_migration_0007(url: str) -> None:
    """0006 -> 0007 keeps every row; the downgrade gives each row of a batch with leaves its
    joined path (what 0006's readers need) and drops the column; the schema is the models'."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from talentproof.issuer import db

    engine = db.make_engine(url)
    db.migrate(engine)
    with engine.connect() as c:  # the migrated schema is the models' (db.py)
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
    hashes = [bytes([n]) * 32 for n in range(1, 12)]
    tree = MerkleTree(hashes)
    with engine.begin() as c:
        insert_institution_row(c)
        for root, leaves in ((tree.root, b"".join(hashes)), (b"\x02" * 32, None)):
            c.execute(
                sa.text(
                    "INSERT INTO anchor_batches (institution_id, root, leaf_count, state, "
                    "tx_attempts, oldest_leaf_at, created_at, leaves) VALUES (1, :root, 11, "
                    "'anchored', 0, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', "
                    ":leaves)"
                ),
                {"root": root, "leaves": leaves},
            )
        c.execute(
            sa.text(
                "INSERT INTO credentials (id, institution_id, kind, credential_hash, document, "
                "status_index, batch_id, leaf_index, proof_path, suspended, created_at) VALUES "
                "(:id, 1, 'DegreeCredential', :hash, :doc, :n, :batch, :leaf, :path, :no, "
                "'2026-01-01 00:00:00+00:00')"
            ),
            [
                {
                    "id": f"urn:uuid:{n:08x}-0000-7000-8000-000000000000",
                    "hash": hashes[n % 11],
                    "doc": b"{}",
                    "n": n,
                    "batch": 1 if n < 11 else 2,
                    "leaf": n % 11,
                    "path": None if n < 11 else b"\x03" * 64,  # batch 2: paths in its rows
                    "no": False,
                }
                for n in range(22)
            ],
        )
    migrate_to(engine, "0006", up=False)
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT leaf_index, proof_path, batch_id FROM credentials ORDER BY seq")
        ).all()
        columns = [col["name"] for col in sa.inspect(c).get_columns("anchor_batches")]
    assert "leaves" not in columns
    joined = tree.joined_paths()
    assert [bytes(r.proof_path) for r in rows[:11]] == [joined[r.leaf_index] for r in rows[:11]]
    assert all(bytes(r.proof_path) == b"\x03" * 64 for r in rows[11:])
    db.migrate(engine)
    with engine.connect() as c:
        assert (
            c.execute(sa.text("SELECT count(*) FROM anchor_batches WHERE leaves IS NULL")).scalar()
            == 2
        )
        assert (
            c.execute(sa.text("SELECT count(*) FROM credentials WHERE proof_path IS NULL")).scalar()
            == 0
        )
    engine.dispose()


def test_migration_0007_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _check_migration_0007(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0007_on_postgres(pg_url: str) -> None:
    _check_migration_0007(pg_url)


def test_a_batch_id_used_again_never_gets_the_old_tree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`AuditPaths` keys its cache by batch id and root: SQLite gives a deleted batch's id to the
    next batch (a forming batch abandoned is deleted), whose leaves differ."""
    import datetime as dt

    from talentproof.issuer.db import InstitutionRow, make_engine, make_sessionmaker, migrate
    from talentproof.issuer.usecases.credentials import AuditPaths

    engine = make_engine(f"sqlite:///{tmp_path / 'reuse.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    paths = AuditPaths()

    def batch_of(hashes: list[bytes]) -> tuple[int, list[bytes]]:
        with sessions.begin() as s:
            batch = AnchorBatch(
                institution_id=1,
                root=MerkleTree(hashes).root,
                leaf_count=len(hashes),
                state="anchored",
                oldest_leaf_at=now,
                leaves=b"".join(hashes),
            )
            s.add(batch)
            s.flush()
            cred = CredentialRow(
                id=f"urn:uuid:{hashes[0].hex()[:8]}-0000-7000-8000-000000000000",
                institution_id=1,
                kind="DegreeCredential",
                credential_hash=hashes[1],
                document=b"{}",
                status_index=0,
                batch_id=batch.id,
                leaf_index=1,
                created_at=now,
            )
            s.add(cred)
            s.flush()
            got = paths.path(s, cred, batch)
            assert got is not None
            return batch.id, got

    with sessions.begin() as s:
        s.add(
            InstitutionRow(
                slug="u",
                name="U",
                did="did:web:u.example",
                chain_account="0x" + "11" * 20,
                chain_account_key_enc=b"x",
                credential_types="DegreeCredential",
            )
        )
    first = [bytes([n]) * 32 for n in range(1, 6)]
    old_id, old_path = batch_of(first)
    with sessions.begin() as s:
        s.execute(CredentialRow.__table__.delete())
        s.execute(AnchorBatch.__table__.delete())
    second = [bytes([n]) * 32 for n in range(101, 106)]
    new_id, new_path = batch_of(second)
    assert new_id == old_id  # the id came back
    assert new_path == list(MerkleTree(second).proof(1).path) != old_path
    engine.dispose()
