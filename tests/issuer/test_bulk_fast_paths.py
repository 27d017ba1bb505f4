"""The bulk fast paths store exactly what the slow ones did.

* `bulk.insert_credentials` (one driver-level ``executemany``) writes the same column values as
  the ORM's ``Credential`` insert, read back through the ORM.
* `_cred.issue_many` stores each credential's JCS bytes, whose SHA-256 is the credential hash the
  credential package computes from the document, and whose proof verifies.
* `_cred.new_credential_id` gives version-4 UUIDs whose first hex digit is a letter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from talentproof.credential import integrity, jcs, merkle
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer import _cred, bulk
from talentproof.issuer.db import (
    AnchorBatch,
    BulkJob,
    Credential,
    Institution,
    make_engine,
    make_sessionmaker,
    migrate,
)

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = _cred.IssuerIdentity(
    "did:web:uni.example", "Uni of Tests", "https://uni.example/institutions/uni/status"
)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=dt.UTC)
_COLUMNS = [c.name for c in Credential.__table__.columns if c.name != "seq"]


def _database(path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(
            Institution(
                slug="uni",
                name="Uni of Tests",
                did=IDENTITY.did,
                chain_account="0x" + "11" * 20,
                chain_account_key_enc=b"x",
                credential_types="DegreeCredential",
            )
        )
        session.flush()
        session.add(BulkJob(id="job1", institution_id=1, kind="DegreeCredential", fmt="jsonl", path="p"))
        session.add(AnchorBatch(institution_id=1, root=b"\x01" * 32, leaf_count=3, oldest_leaf_at=NOW))
    return engine, sessions


def _rows() -> list[tuple[str, bytes, bytes, int, int, bytes, int]]:
    return [
        (f"urn:uuid:a{i:07d}-0000-4000-8000-000000000000", bytes([i]) * 32, b'{"n":%d}' % i,
         100 + i, i, bytes([i + 7]) * 64, 10 + i)
        for i in range(3)
    ]


def _stored(sessions) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        creds = session.scalars(select(Credential).order_by(Credential.bulk_row)).all()
        return [{name: getattr(c, name) for name in _COLUMNS} for c in creds]


def test_insert_credentials_matches_the_orm_insert(tmp_path: Path) -> None:
    _fast_engine, fast = _database(tmp_path / "fast.db")
    _orm_engine, orm = _database(tmp_path / "orm.db")
    with fast.begin() as session:
        bulk.insert_credentials(
            session.connection(), institution_id=1, kind="DegreeCredential", batch_id=1,
            job_id="job1", now=NOW, rows=_rows(),
        )
    with orm.begin() as session:
        session.connection().execute(
            Credential.__table__.insert(),
            [
                {
                    "id": cid, "credential_hash": digest, "document": raw, "status_index": idx,
                    "leaf_index": leaf, "proof_path": path, "bulk_row": row, "institution_id": 1,
                    "kind": "DegreeCredential", "batch_id": 1, "bulk_job_id": "job1",
                    "suspended": False, "created_at": NOW,
                }
                for cid, digest, raw, idx, leaf, path, row in _rows()
            ],
        )
    got, want = _stored(fast), _stored(orm)
    assert len(got) == 3
    assert got == want
    assert got[1]["created_at"].replace(tzinfo=dt.UTC) == NOW  # type: ignore[union-attr]
    assert got[2]["proof_path"] == bytes([9]) * 64 and got[2]["suspended"] is False


def test_insert_credentials_is_one_statement_that_fails_whole(tmp_path: Path) -> None:
    _engine, sessions = _database(tmp_path / "dup.db")
    rows = _rows()
    rows.append(rows[0])  # a duplicate credential id violates the unique index
    with pytest.raises(Exception, match="UNIQUE"), sessions.begin() as session:
        bulk.insert_credentials(
            session.connection(), institution_id=1, kind="DegreeCredential", batch_id=1,
            job_id="job1", now=NOW, rows=rows,
        )
    assert _stored(sessions) == []


def test_issue_many_stores_jcs_bytes_whose_sha256_is_the_credential_hash() -> None:
    signer = _cred.Signer(b"\x05" * 32, IDENTITY.did)
    good = {"credentialSubject": {"id": HOLDER, "degree": {
        "type": "Degree", "level": "master", "fieldOfStudy": "Fintech Ünï \u2028 \"q\"",
        "institution": {"name": "Uni of Tests"}, "awardDate": "2026-06-30"}}}
    bad = {"credentialSubject": {"id": HOLDER, "degree": {"type": "Degree"}}}
    out = _cred.issue_many(
        "DegreeCredential",
        [(0, good, 5), (1, bad, 6), (2, ValueError("expected a JSON object"), 7)],
        identity=IDENTITY, signer=signer, now=NOW,
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


def test_new_credential_ids_are_v4_uuids_starting_with_a_letter() -> None:
    ids = {_cred.new_credential_id() for _ in range(5000)}
    assert len(ids) == 5000
    firsts = set()
    for text in ids:
        assert text.startswith("urn:uuid:")
        parsed = uuid.UUID(text.removeprefix("urn:uuid:"))
        assert str(parsed) == text.removeprefix("urn:uuid:")
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert text[9] in "abcdef"
        firsts.add(text[9])
    assert firsts == set("abcdef")
