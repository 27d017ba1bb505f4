"""A bulk chunk's documents stored as their holes along the chunk's frame (migration 0011,
`credential.frames`): every path the runner signs on (the signing processes, its own thread)
frames every row of a chunk whose documents all fit, stores less than half the bytes, and the
service reads each back byte for byte as `issue_credential` signs its request (same id, status
index and time); a chunk holding a row that does not fit (a validUntil after validFrom) is
stored whole, as the runner with framing off (`frame_documents = False`, the reference) stores
every chunk."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.issuer.app import create_app
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import DocumentFrame

from .issuer_helpers import bearer, degree_subjects, onboard, stored_bulk_rows

pytestmark = pytest.mark.integration


def _post(client: TestClient, token: str, requests: list[dict[str, Any]]) -> str:
    content = b"".join(orjson.dumps(r) + b"\n" for r in requests)
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.jsonl", content, "application/octet-stream")},
        data={"type": "DegreeCredential"},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("inline", [False, True], ids=["signing-processes", "runner-thread"])
def test_every_row_of_a_job_is_framed_and_read_back_byte_for_byte(service, inline) -> None:  # type: ignore[no-untyped-def]
    requests: list[dict[str, Any]] = list(degree_subjects(700))
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        job_id = _post(client, token, requests)
        runner = BulkRunner(service, processes=1, inline_rows=10_000 if inline else 0)
        runner.chunk_rows = 256
        runner.frame_min_rows = 1  # every chunk framed (the default: 2,048); three chunks
        runner.run_pending()
        rows = stored_bulk_rows(service, job_id, requests)
    assert all(frame is not None for _, _, frame, *_ in rows)
    # one frame a chunk (its batch), the rows' bytes less than half the documents'
    by_batch: dict[int, set[int]] = {}
    for _row, batch, frame, *_ in rows:
        by_batch.setdefault(batch, set()).add(frame)
    assert len(by_batch) == 3 and all(len(f) == 1 for f in by_batch.values())
    with service.sessions() as session:
        assert session.scalar(select(DocumentFrame.id).order_by(DocumentFrame.id.desc())) == 3
    stored = sum(r[3] for r in rows)
    whole = sum(len(r[4]) for r in rows)
    assert stored < 0.5 * whole, (stored, whole)


def test_a_chunk_with_a_row_of_another_layout_and_framing_off_store_whole_documents(
    service,  # type: ignore[no-untyped-def]
) -> None:
    subjects = degree_subjects(600)
    requests: list[dict[str, Any]] = list(subjects)
    # row 300 (second chunk) takes the generic path and its document ends with a validUntil
    # member: it does not fit the frame. Row 10's description sits right after the subject:
    # it fits (the subject's hole holds it), and is read back whole all the same.
    requests[299] = {"credentialSubject": subjects[299], "validUntil": "2036-06-30T00:00:00Z"}
    requests[9] = {"credentialSubject": subjects[9], "description": "With distinction"}
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        job_id = _post(client, token, requests)
        runner = BulkRunner(service, processes=1, inline_rows=0)
        runner.chunk_rows = 256
        runner.frame_min_rows = 1  # every chunk framed (the default: 2,048)
        runner.run_pending()
        rows = stored_bulk_rows(service, job_id, requests)
        framed = [r[0] for r in rows if r[2] is not None]
        assert framed == list(range(1, 257)) + list(range(513, 601))  # chunks 1 and 3
        assert b'"validUntil":"2036-06-30T00:00:00Z"}' in rows[299][4]
        assert b'"description":"With distinction"' in rows[9][4] and rows[9][2] is not None
        # the reference: framing off, every row whole
        off = _post(client, token, subjects)
        runner.frame_documents = False
        runner.run_pending()
        rows = stored_bulk_rows(service, off, subjects)
        assert all(r[2] is None and r[3] == len(r[4]) for r in rows)


@pytest.mark.postgres
def test_framed_rows_on_postgres_are_read_back_byte_for_byte(make_service, pg_url) -> None:  # type: ignore[no-untyped-def]
    service = make_service(database_url=pg_url)
    assert service.engine.dialect.name == "postgresql"
    requests: list[dict[str, Any]] = list(degree_subjects(300))
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        job_id = _post(client, token, requests)
        runner = BulkRunner(service, processes=1, inline_rows=0)
        runner.chunk_rows = 256
        runner.frame_min_rows = 1  # every chunk framed (the default: 2,048)
        runner.run_pending()  # one binary COPY a chunk, the frame a shared value of it
        rows = stored_bulk_rows(service, job_id, requests)
        assert all(frame is not None for _, _, frame, *_ in rows)
        # the API's answer is the whole document (with no anchor yet: no worker ran)
        cred_id = rows[0][5]
        got = client.get(f"/credentials/{cred_id}", headers=bearer(token))
        assert got.status_code == 200, got.text
        assert got.json() == orjson.loads(rows[0][4])


def test_a_small_job_is_stored_whole(service) -> None:  # type: ignore[no-untyped-def]
    # below `FRAME_MIN_ROWS` a chunk is stored whole: the frame's template would cost more
    # than its bytes save (a 1,000-row job, issue 17.1)
    requests: list[dict[str, Any]] = list(degree_subjects(300))
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        job_id = _post(client, token, requests)
        runner = BulkRunner(service, processes=1, inline_rows=0)
        assert runner.frame_min_rows == 2048
        runner.run_pending()
        rows = stored_bulk_rows(service, job_id, requests)
    assert all(r[2] is None and r[3] == len(r[4]) for r in rows)
