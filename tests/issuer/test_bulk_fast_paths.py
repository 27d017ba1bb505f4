"""The bulk fast paths store exactly what the slow ones did.

* `store.bulk_jobs.insert_credentials` (driver-level statements of many rows each) writes the same
  column values as the ORM's ``CredentialRow`` insert, read back through the ORM, and as its reference
  (``by_statement``) for every count of rows a chunk's statements split into.
* `_cred.issue_many` stores each credential's JCS bytes, whose SHA-256 is the credential hash the
  credential package computes from the document, and whose proof verifies.
* `_cred.new_credential_id` gives version-7 UUIDs (RFC 9562), in increasing order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from talentproof.credential import integrity, jcs, merkle
from talentproof.credential.examples import PERSON
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer import _bulkworker, _cred, bulk
from talentproof.issuer.db import (
    AnchorBatch,
    BulkJob,
    CredentialRow,
    InstitutionRow,
    make_engine,
    make_sessionmaker,
    migrate,
)
from talentproof.issuer.store import bulk_jobs

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = _cred.IssuerIdentity(
    "did:web:uni.example", "Uni of Tests", "https://uni.example/institutions/uni/status"
)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=dt.UTC)
_COLUMNS = [c.name for c in CredentialRow.__table__.columns if c.name != "seq"]


def _database(path: Path | str):  # type: ignore[no-untyped-def]
    engine = make_engine(path if isinstance(path, str) else f"sqlite:///{path}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(
            InstitutionRow(
                slug="uni",
                name="Uni of Tests",
                did=IDENTITY.did,
                chain_account="0x" + "11" * 20,
                chain_account_key_enc=b"x",
                credential_types="DegreeCredential",
            )
        )
        session.flush()
        session.add(
            BulkJob(id="job1", institution_id=1, kind="DegreeCredential", fmt="jsonl", path="p")
        )
        session.add(
            AnchorBatch(institution_id=1, root=b"\x01" * 32, leaf_count=3, oldest_leaf_at=NOW)
        )
    return engine, sessions


def _rows() -> list[tuple[str, bytes, bytes, int, int, int]]:
    return [
        (
            f"urn:uuid:a{i:07d}-0000-4000-8000-000000000000",
            bytes([i]) * 32,
            b'{"n":%d}' % i,
            100 + i,
            i,
            10 + i,
        )
        for i in range(3)
    ]


def _insert(session: Any, rows: list[Any], by_statement: bool = False) -> None:
    """``rows`` stored by ``store.bulk_jobs.insert_credentials`` in the fixture's institution, job and batch."""
    bulk_jobs.insert_credentials(
        session.connection(),
        institution_id=1,
        kind="DegreeCredential",
        batch_id=1,
        job_id="job1",
        now=NOW,
        rows=rows,
        by_statement=by_statement,
    )


def _stored(sessions) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        creds = session.scalars(select(CredentialRow).order_by(CredentialRow.bulk_row)).all()
        return [{name: getattr(c, name) for name in _COLUMNS} for c in creds]


@pytest.mark.parametrize("views", [False, True])
def test_insert_credentials_matches_the_orm_insert(tmp_path: Path, views: bool) -> None:
    """Documents given as bytes or, as the runner gives them, as views of their block."""
    _fast_engine, fast = _database(tmp_path / "fast.db")
    _orm_engine, orm = _database(tmp_path / "orm.db")
    rows: list[Any] = _rows()
    if views:
        block = b"".join(row[2] for row in rows)
        documents = _bulkworker.split_views(block, [len(row[2]) for row in rows])
        assert all(type(d) is memoryview for d in documents)
        rows = [(*row[:2], doc, *row[3:]) for row, doc in zip(rows, documents, strict=True)]
    with fast.begin() as session:
        _insert(session, rows)
    with orm.begin() as session:
        session.connection().execute(
            CredentialRow.__table__.insert(),
            [
                {
                    "id": cid,
                    "credential_hash": digest,
                    "document": raw,
                    "status_index": idx,
                    "leaf_index": leaf,
                    "bulk_row": row,
                    "institution_id": 1,
                    "kind": "DegreeCredential",
                    "batch_id": 1,
                    "bulk_job_id": "job1",
                    "suspended": False,
                    "created_at": NOW,
                }
                for cid, digest, raw, idx, leaf, row in _rows()
            ],
        )
    got, want = _stored(fast), _stored(orm)
    assert len(got) == 3
    assert got == want
    assert got[1]["created_at"].replace(tzinfo=dt.UTC) == NOW  # type: ignore[union-attr]
    # no audit path in a bulk row: derived from the batch's leaves (migration 0007)
    assert got[2]["proof_path"] is None and got[2]["suspended"] is False


def _raw(sessions) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """Every stored credential column with its SQLite storage class (``typeof``): what a
    literal and a bound value must both store."""
    cols = ", ".join(f"{c}, typeof({c})" for c in ["seq", *_COLUMNS])
    with sessions() as session:
        return [
            tuple(r)
            for r in session.connection().exec_driver_sql(
                f"SELECT {cols} FROM credentials ORDER BY seq"
            )
        ]


@pytest.mark.parametrize(
    "job_id",
    [
        "0123456789abcdef01234567",
        "it's",
        "'); DELETE FROM institutions; --",
        "ünï \u2028 \"q\" ''",
        "nul\0inside",
        "?1 ?7 :a @b $c",  # parameter marks inside a bound value are only text
    ],
)
def test_insert_credentials_shared_values_store_what_binding_stores(
    tmp_path: Path, job_id: str
) -> None:
    """SQLite: the shared values bound once a statement (the runner's path) store the same
    values of the same storage classes as every value bound on every row (``by_statement``),
    for hostile job ids too, and nothing else runs."""
    stored = []
    for name, by_statement in (("shared", False), ("bound", True)):
        _engine, sessions = _database(tmp_path / f"{name}.db")
        with sessions.begin() as session:
            session.add(
                AnchorBatch(institution_id=1, root=b"\x02" * 32, leaf_count=3, oldest_leaf_at=NOW)
            )
        for batch_id, first in ((1, 0), (2, 3)):  # two chunks, the second in batch 2
            with sessions.begin() as session:
                bulk_jobs.insert_credentials(
                    session.connection(),
                    institution_id=1,
                    kind="DegreeCredential",
                    batch_id=batch_id,
                    job_id=job_id,
                    now=NOW + dt.timedelta(seconds=first),
                    rows=[
                        (
                            f"urn:uuid:{first + i}",
                            bytes([i + 7]) * 32,
                            b'{"n":%d}' % i,
                            9 + i,
                            i,
                            first + i + 1,
                        )
                        for i in range(3)
                    ],
                    by_statement=by_statement,
                )
        stored.append(_raw(sessions))
        with sessions() as session:  # the institution is still there
            assert session.scalar(select(InstitutionRow.slug)) == "uni"
    assert len(stored[0]) == 6
    assert stored[0] == stored[1]
    assert {r[_COLUMNS.index("bulk_job_id") * 2 + 2] for r in stored[0]} == {job_id}


def _many(count: int, first: int = 0) -> list[tuple[str, bytes, Any, int, int, int]]:
    """``count`` rows of distinct values of each kind: documents as views, as the runner's."""
    docs = [b'{"row":%d,"pad":"%s"}' % (i, b"x" * (i % 7)) for i in range(count)]
    views = _bulkworker.split_views(b"".join(docs), [len(d) for d in docs])
    return [
        (f"urn:uuid:{first + i:08d}", hashlib.sha256(b"%d" % i).digest(), views[i], 5 * i, i, i + 1)
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 7, 63, 64, 65, 127, 257, 1000])
@pytest.mark.parametrize("per_statement", [1, 3, 64, 256])
def test_insert_credentials_rows_per_statement(
    tmp_path: Path, count: int, per_statement: int
) -> None:
    """Every count of rows, split into statements of ``per_statement`` rows and a rest (in
    statements of powers of two), stores the rows the reference stores, in order (none for
    none: the reference's ``executemany`` refuses an empty list; the runner skips a chunk
    without good rows)."""

    def stored(name: str, by_statement: bool) -> list[tuple[object, ...]]:
        _engine, sessions = _database(tmp_path / f"{name}.db")
        with sessions.begin() as session:
            bulk_jobs.insert_credentials(
                session.connection(),
                institution_id=1,
                kind="DegreeCredential",
                batch_id=1,
                job_id="job1",
                now=NOW,
                rows=iter(_many(count)),  # the runner passes an iterator
                by_statement=by_statement,
                rows_per_statement=per_statement,
            )
        return _raw(sessions)

    got = stored(f"k{per_statement}", False)
    assert len(got) == count
    assert got == (stored("ref", True) if count else [])


def test_insert_credentials_within_the_drivers_limit_on_bound_values(tmp_path: Path) -> None:
    """A connection that binds fewer values a statement (SQLite before 3.32 bound 999) gets
    statements of fewer rows (7 here: one of 64 fails with "too many SQL variables"), and the
    same rows stored."""
    _engine, sessions = _database(tmp_path / "limit.db")
    with sessions.begin() as session:
        driver = session.connection().connection.driver_connection
        old = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 50)  # 7 rows of 6 + 6
        try:
            _insert(session, _many(40))
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)
    _engine, ref = _database(tmp_path / "ref.db")
    with ref.begin() as session:
        _insert(session, _many(40), by_statement=True)
    assert _raw(sessions) == _raw(ref)


def test_insert_credentials_refuses_a_row_of_other_width(tmp_path: Path) -> None:
    """Flattened into one list of values, a row short of a value would shift every row after
    it into the wrong columns: refused whole, nothing stored."""
    _engine, sessions = _database(tmp_path / "short.db")
    rows: list[Any] = _many(5)
    rows[2] = rows[2][:5]
    with pytest.raises(ValueError, match="rows of 6 values"), sessions.begin() as session:
        _insert(session, rows)
    assert _stored(sessions) == []


def _pg_database(pg_server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(pg_server.replace("+psycopg", "") + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_server}/{name}"


@pytest.mark.integration
@pytest.mark.postgres
def test_postgres_copy_stores_what_the_executemany_stores(pg_server: str) -> None:
    """On PostgreSQL `store.bulk_jobs.insert_credentials` streams a chunk in one binary COPY; the
    reference (``by_statement``: the ``executemany`` of SQLite) stores the same values, read back
    through the ORM; documents as bytes and as views of their block; a duplicate id fails the
    whole COPY, nothing stored."""
    rows: list[Any] = _rows()
    block = b"".join(row[2] for row in rows)
    documents = _bulkworker.split_views(block, [len(row[2]) for row in rows])
    rows[1] = (*rows[1][:2], documents[1], *rows[1][3:])  # one document given as a view
    stored = []
    for name, by_statement in (("bulkcopy", False), ("bulkref", True)):
        _engine, sessions = _database(_pg_database(pg_server, name))
        with sessions.begin() as session:
            _insert(session, rows, by_statement=by_statement)
        stored.append(_stored(sessions))
        with pytest.raises(Exception, match="duplicate key"), sessions.begin() as session:
            _insert(
                session,
                [(f"urn:uuid:{uuid.uuid4()}", *rows[0][1:]), rows[0]],
                by_statement=by_statement,
            )
        assert _stored(sessions) == stored[-1]
        _engine.dispose()
    copied, reference = stored
    assert len(copied) == 3 and copied == reference
    assert copied[1]["document"] == b'{"n":1}' and copied[2]["created_at"] == NOW


def test_migration_0002_numbers_existing_bulk_rows_from_1(tmp_path: Path) -> None:
    """A database of revision 0001 (rows from 0, no line) keeps its jobs consistent: every
    stored row moves up by one, old errors have no line, and the downgrade restores them."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(bulk.__file__).parent / "migrations"))

    def to(revision: str, up: bool = True) -> None:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            (command.upgrade if up else command.downgrade)(cfg, revision)

    to("0001")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO institutions (slug, name, did, chain_account, "
                "chain_account_key_enc, credential_types, status, next_status_index, "
                "created_at) VALUES ('u', 'U', 'did:web:u', '0x', x'00', "
                "'DegreeCredential', 'active', 0, '2026-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO bulk_jobs (id, institution_id, kind, fmt, path, state, "
                "rows_done, byte_offset, succeeded, failed, created_at) VALUES "
                "('j', 1, 'DegreeCredential', 'jsonl', 'p', 'done', 4, 9, 2, 2, "
                "'2026-01-01')"
            )
        )
        for row in (0, 1):  # consecutive rows of one job: the key (job_id, row) must not collide
            c.execute(
                text(
                    f"INSERT INTO bulk_errors (job_id, row, field, message) "
                    f"VALUES ('j', {row}, '', 'bad {row}')"
                )
            )
        for row in (2, 3):
            c.execute(
                text(
                    f"INSERT INTO credentials (id, institution_id, kind, "
                    f"credential_hash, document, status_index, bulk_job_id, bulk_row, "
                    f"suspended, created_at) VALUES ('c{row}', 1, 'DegreeCredential', "
                    f"x'0{row}', x'00', {row}, 'j', {row}, 0, '2026-01-01')"
                )
            )
    to("head")
    with engine.begin() as c:
        assert c.execute(
            text('SELECT "row", line, message FROM bulk_errors ORDER BY "row"')
        ).all() == [(1, None, "bad 0"), (2, None, "bad 1")]
        assert c.execute(text("SELECT id, bulk_row FROM credentials ORDER BY bulk_row")).all() == [
            ("c2", 3),
            ("c3", 4),
        ]
    to("0001", up=False)
    with engine.begin() as c:
        assert c.execute(text('SELECT "row" FROM bulk_errors ORDER BY "row"')).scalars().all() == [
            0,
            1,
        ]
        assert c.execute(
            text("SELECT bulk_row FROM credentials ORDER BY bulk_row")
        ).scalars().all() == [2, 3]


def test_insert_credentials_is_one_statement_that_fails_whole(tmp_path: Path) -> None:
    _engine, sessions = _database(tmp_path / "dup.db")
    rows = _rows()
    rows.append(rows[0])  # a duplicate credential id violates the unique index
    with pytest.raises(Exception, match="UNIQUE"), sessions.begin() as session:
        _insert(session, rows)
    assert _stored(sessions) == []


def test_issue_many_stores_jcs_bytes_whose_sha256_is_the_credential_hash() -> None:
    signer = _cred.Signer(b"\x05" * 32, IDENTITY.did)
    good = {
        "credentialSubject": {
            "id": HOLDER,
            **PERSON,
            "degree": {
                "type": "Degree",
                "level": "master",
                "fieldOfStudy": 'Fintech Ünï \u2028 "q"',
                "institution": {"name": "Uni of Tests"},
                "awardDate": "2025-06-30",
            },
        }
    }
    bad = {"credentialSubject": {"id": HOLDER, "degree": {"type": "Degree"}}}
    out = _cred.issue_many(
        "DegreeCredential",
        [(0, good, 5), (1, bad, 6), (2, ValueError("expected a JSON object"), 7)],
        identity=IDENTITY,
        signer=signer,
        now=NOW,
    )
    assert [o[0] for o in out] == [0, 1, 2]
    _row, cid, raw, digest, field, message = out[0]
    doc = orjson.loads(raw)
    assert cid == doc["id"] and field == "" and message == ""
    assert raw == jcs.canonicalize(doc)
    assert digest == hashlib.sha256(raw).digest() == merkle.credential_hash(doc)
    integrity.verify(doc, public_key=signer.key.public_key)
    assert doc["credentialStatus"][0]["statusListIndex"] == "5"
    assert out[1][1] is None and out[1][4] != ""  # schema error names a field
    assert out[2][1] is None and "expected a JSON object" in out[2][5]


def test_new_credential_ids_are_v7_uuids_in_increasing_order() -> None:
    made = [_cred.new_credential_id() for _ in range(5000)]
    assert len(set(made)) == 5000 and made == sorted(made)
    for text in made:
        assert text.startswith("urn:uuid:")
        parsed = uuid.UUID(text.removeprefix("urn:uuid:"))
        assert str(parsed) == text.removeprefix("urn:uuid:")
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_csv_credential_subject_prefix_names_the_subjects_name() -> None:
    """``name`` is the credential's name; ``credentialSubject.name`` the person's."""
    from talentproof.issuer import _bulkworker

    header = [
        "id",
        "credentialSubject.name",
        "name",
        "credentialSubject.identityDocument.documentType",
    ]
    request = _bulkworker.row_to_request("csv", b"did:key:z,CHAN Tai Man,Degree,HKID", header)
    assert request == {
        "credentialSubject": {
            "id": "did:key:z",
            "name": "CHAN Tai Man",
            "identityDocument": {"documentType": "HKID"},
        },
        "name": "Degree",
    }
