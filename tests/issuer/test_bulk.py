"""Bulk issuance: JSONL and CSV uploads, per-row errors, resume after interruption, results."""

from __future__ import annotations

import gc

import orjson
import pytest
from sqlalchemy import func, select

from talentproof.issuer import bulk
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import CredentialRow

from .issuer_helpers import (
    PERSON_CSV_CELLS,
    PERSON_CSV_COLUMNS,
    PERSON_CSV_HEADER,
    PERSON_CSV_ROW,
    bearer,
    degree_request,
    holder_did,
    onboard,
)

pytestmark = pytest.mark.integration


def _jsonl(rows: int, bad: dict[int, bytes]) -> bytes:
    lines = []
    for i in range(rows):
        if i in bad:
            lines.append(bad[i])
        else:
            lines.append(
                orjson.dumps(
                    degree_request(f"Field {i}", seed_byte=i % 250 + 1)["credentialSubject"]
                )
            )
    return b"\n".join(lines) + b"\n"


def _upload(client, token: str, content: bytes, name: str, **headers: str):
    return client.post(
        "/bulk-jobs",
        headers=bearer(token, **headers),
        files={"file": (name, content, "application/octet-stream")},
        data={"type": "DegreeCredential"},
    )


def test_jsonl_job_reports_bad_rows_and_issues_the_good_ones(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    bad_subject = orjson.loads(orjson.dumps(degree_request()["credentialSubject"]))
    bad_subject["degree"]["awardDate"] = "30/06/2026"
    # blank lines are no rows: one before the first row, two before the 18th
    content = b"\n" + _jsonl(
        40, {3: b"{not json", 17: b"\n\n" + orjson.dumps(bad_subject), 25: b"[1, 2]"}
    )
    r = _upload(client, token, content, "rows.jsonl")
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["total_rows"] == 40
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job['id']}", headers=bearer(token)).json()
    assert (status["state"], status["succeeded"], status["failed"], status["rows_done"]) == (
        "done",
        37,
        3,
        40,
    )
    errors = [
        orjson.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job['id']}/errors", headers=bearer(token)
        ).text.splitlines()
    ]
    # rows counted from 1 as the user counts them, lines as an editor shows the file
    assert [(e["row"], e["line"]) for e in errors] == [(4, 5), (18, 21), (26, 29)]
    assert errors[1]["field"] == "credentialSubject.degree.awardDate"
    assert "JSON" in errors[0]["message"]

    client.app.state.worker.drain(30)
    status = client.get(f"/bulk-jobs/{job['id']}", headers=bearer(token)).json()
    assert status["anchored"] == 37
    results = [
        orjson.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job['id']}/results", headers=bearer(token)
        ).text.splitlines()
    ]
    assert len(results) == 37 and {r["row"] for r in results} == set(range(1, 41)) - {4, 18, 26}
    from talentproof.credential.qr import decode_payload

    first = results[0]
    assert first["status"] == "anchored"
    assert decode_payload(first["qrPayload"]) == first["credential"]
    assert first["credential"]["credentialSubject"]["degree"]["fieldOfStudy"] == "Field 0"


def test_csv_job_with_dotted_columns(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    header = (
        f"id,{PERSON_CSV_HEADER},degree.type,degree.level,degree.fieldOfStudy,"
        "degree.institution.name,degree.awardDate,validFrom\n"
    )
    rows = [
        f"{holder_did(i + 1)},{PERSON_CSV_ROW},Degree,bachelor,Subject {i},University of Testing,"
        "2026-06-30,"
        "2026-07-01T00:00:00Z\n"
        for i in range(5)
    ]
    rows.append(
        f"{holder_did(9)},{PERSON_CSV_ROW},Degree,nursery,Subject,University of Testing,2026-06-30,\n"
    )
    r = _upload(client, token, (header + "".join(rows)).encode(), "people.csv")
    assert r.status_code == 202, r.text
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{r.json()['id']}", headers=bearer(token)).json()
    assert (status["succeeded"], status["failed"]) == (5, 1)
    results = [
        orjson.loads(x)
        for x in client.get(
            f"/bulk-jobs/{r.json()['id']}/results", headers=bearer(token)
        ).text.splitlines()
    ]
    assert results[2]["credential"]["validFrom"] == "2026-07-01T00:00:00Z"
    assert results[2]["credential"]["credentialSubject"]["degree"]["fieldOfStudy"] == "Subject 2"


def test_interrupted_job_resumes_without_duplicates(client, service, make_service) -> None:
    token = onboard(client)["api_key"]["token"]
    content = _jsonl(55, {})
    r = _upload(client, token, content, "rows.jsonl", **{"Idempotency-Key": "upload-1"})
    job_id = r.json()["id"]
    again = _upload(client, token, content, "rows.jsonl", **{"Idempotency-Key": "upload-1"})
    assert again.json()["id"] == job_id
    small = make_service(bulk_chunk_rows=10)
    BulkRunner(small, processes=1).run_job(job_id, max_chunks=2)  # stops as a crash would
    partial = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (partial["state"], partial["rows_done"], partial["succeeded"]) == ("running", 20, 20)
    restarted = make_service(bulk_chunk_rows=10)  # a new process after the restart
    BulkRunner(restarted, processes=1).run_pending()
    done = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (done["state"], done["rows_done"], done["succeeded"]) == ("done", 55, 55)
    with service.sessions() as session:
        rows = (
            session.execute(
                select(CredentialRow.bulk_row).where(CredentialRow.bulk_job_id == job_id)
            )
            .scalars()
            .all()
        )
        assert sorted(rows) == list(range(1, 56))
        assert session.scalar(select(func.count(func.distinct(CredentialRow.status_index)))) == 55


def test_upload_limits_and_format_errors(client, make_service) -> None:
    token = onboard(client)["api_key"]["token"]
    r = _upload(client, token, b"a,b\n", "rows.txt")
    assert r.status_code == 422 and r.json()["field"] == "format"
    r = _upload(client, token, b"\n\n", "rows.jsonl")
    assert r.status_code == 422 and "no data rows" in r.json()["message"]


def test_upload_over_the_row_limit_is_refused(make_service) -> None:
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app

    service = make_service(bulk_max_rows=3)
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        r = _upload(client, token, _jsonl(4, {}), "rows.jsonl")
        assert r.status_code == 422 and "at most 3 rows" in r.json()["message"]
        assert not list((service.settings.data_dir / "bulk").glob("*.jsonl"))
        assert _upload(client, token, _jsonl(3, {}), "rows.jsonl").status_code == 202


def test_job_whose_upload_vanished_fails_with_the_reason(client, service) -> None:
    from pathlib import Path

    from talentproof.issuer.db import BulkJob

    token = onboard(client)["api_key"]["token"]
    job_id = _upload(client, token, _jsonl(3, {}), "rows.jsonl").json()["id"]
    with service.sessions() as session:
        job = session.get(BulkJob, job_id)
        assert job is not None
        Path(job.path).unlink()
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert status["state"] == "failed" and "No such file" in status["error"]


def _staff_csv(rows: int, bad: int) -> tuple[bytes, list[list[str]]]:
    """An EmploymentCredential CSV whose responsibilities span lines (RFC 4180 quoting, CRLF)."""
    header = (
        f"id,{PERSON_CSV_HEADER},employment.employer.name,employment.employer.registrationId,"
        "employment.role,"
        "employment.seniority,employment.startDate,employment.responsibilities[0],"
        "employment.responsibilities[1],employment.domains[0]\r\n"
    )
    lines, expected = [header], []
    for i in range(rows):
        duties = [f'Custody of client assets, line {i}\r\nand "cold" wallets', f"Team {i}"]
        if i % 3:
            duties = [f"Settlement {i}"]
        seniority = "overlord" if i == bad else "senior"
        cells = [
            holder_did(i % 200 + 1),
            *PERSON_CSV_CELLS,
            "OSL, Hong Kong",
            f"HK-{i}",
            f"Engineer {i}",
            seniority,
            "2021-01-04",
            *duties,
            *([""] if len(duties) == 1 else []),
            "digital assets",
        ]
        lines.append(
            ",".join(
                '"' + c.replace('"', '""') + '"' if any(x in c for x in '",\r\n') else c
                for c in cells
            )
            + "\r\n"
        )
        expected.append(duties)
    return "".join(lines).encode(), expected


def test_csv_with_multiline_fields_resumes_at_record_starts(client, service, make_service) -> None:
    from pathlib import Path

    from talentproof.issuer.db import BulkJob

    # the employer is the issuing institution itself (its registered name has a comma)
    token = onboard(client, name="OSL, Hong Kong")["api_key"]["token"]
    content, expected = _staff_csv(25, bad=13)
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("staff.csv", content, "text/csv")},
        data={"type": "EmploymentCredential"},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.json()["total_rows"] == 25  # records, not lines
    BulkRunner(make_service(bulk_chunk_rows=4), processes=1).run_job(job_id, max_chunks=2)
    with service.sessions() as session:
        job = session.get(BulkJob, job_id)
        assert job is not None and (job.rows_done, job.succeeded) == (8, 8)
        stored = Path(job.path).read_bytes()
        offset = job.byte_offset
    # the cursor is the byte offset of the ninth record's start, inside no quoted field
    assert stored[offset:].startswith(holder_did(9).encode() + b",")
    assert stored[:offset].count(b'"') % 2 == 0
    BulkRunner(make_service(bulk_chunk_rows=4), processes=1).run_pending()  # after a restart
    done = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (done["state"], done["rows_done"], done["succeeded"], done["failed"]) == (
        "done",
        25,
        24,
        1,
    )
    errors = [
        orjson.loads(x)
        for x in client.get(f"/bulk-jobs/{job_id}/errors", headers=bearer(token)).text.splitlines()
    ]
    # the 14th data row (i = 13); header on line 1, rows i = 0, 3, 6, 9, 12 take two lines each,
    # and the job resumed after 8 rows (its line count taken up again from the cursor)
    assert [(e["row"], e["line"], e["field"]) for e in errors] == [
        (14, 1 + 13 + 5 + 1, "credentialSubject.employment.seniority")
    ]
    assert content.split(b"\r\n")[19].startswith(holder_did(14).encode() + b",")
    results = [
        orjson.loads(x)
        for x in client.get(f"/bulk-jobs/{job_id}/results", headers=bearer(token)).text.splitlines()
    ]
    assert [x["row"] for x in results] == [i + 1 for i in range(25) if i != 13]
    for item in results:
        employment = item["credential"]["credentialSubject"]["employment"]
        assert employment["responsibilities"] == expected[item["row"] - 1]
        assert employment["role"] == f"Engineer {item['row'] - 1}"
        assert employment["employer"]["name"] == "OSL, Hong Kong"


def test_csv_with_an_unclosed_quote_is_refused(client) -> None:
    token = onboard(client)["api_key"]["token"]
    content, _ = _staff_csv(3, bad=-1)
    broken = content + b'did:key:z6Mk,"OSL,HK-9,Engineer,senior,2021-01-04,x,,y\r\n'
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("staff.csv", broken, "text/csv")},
        data={"type": "EmploymentCredential"},
    )
    assert r.status_code == 422 and r.json()["field"] == "file"
    message = r.json()["message"]
    # header line 1, row 1 on lines 2-3 (a quoted line break), rows 2-3 on lines 4-5
    assert "CSV row 4 (from line 6)" in message and "not closed" in message
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("staff.csv", b'id,"employment.role\nx,y\n', "text/csv")},
        data={"type": "EmploymentCredential"},
    )
    assert r.status_code == 422 and "the CSV header" in r.json()["message"]


def test_the_collector_is_paused_only_while_a_chunk_is_stored(client, service, monkeypatch) -> None:
    """Storing a chunk pauses the cyclic collector (its rows hold no cycles) and turns it on
    again after, also when the store fails; it stays off if it was off."""
    token = onboard(client)["api_key"]["token"]
    seen: list[bool] = []
    insert = bulk.insert_credentials

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise RuntimeError("disk full")
        return insert(*args, **kwargs)

    monkeypatch.setattr(bulk, "insert_credentials", watched)
    small = BulkRunner(service, processes=1)
    small.chunk_rows = 10
    small.group_chunks = 1  # one chunk per transaction (grouped: test_grouped_chunks_...)
    job_id = _upload(client, token, _jsonl(25, {}), "rows.jsonl").json()["id"]
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="disk full"):
        small.run_job(job_id)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        small.run_job(job_id)  # resumes after the first chunk
    finally:
        still_off = not gc.isenabled()
        gc.enable()
    assert seen == [False, False, False, False] and still_off
    done = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (done["state"], done["succeeded"]) == ("done", 25)


def _stored(service, job_id: str) -> tuple[object, ...]:
    """What a job stored, without what differs between runs (ids, signatures, times): its rows
    with their status index, leaf index and batch (as the batch's rank in the job), each batch's
    leaf count, its errors and its cursor."""
    from talentproof.issuer.db import AnchorBatch, BulkError, BulkJob

    with service.sessions() as session:
        creds = session.execute(
            select(
                CredentialRow.bulk_row,
                CredentialRow.status_index,
                CredentialRow.leaf_index,
                CredentialRow.batch_id,
            )
            .where(CredentialRow.bulk_job_id == job_id)
            .order_by(CredentialRow.bulk_row)
        ).all()
        batch_ids = sorted({c.batch_id for c in creds})
        leaves = [session.get(AnchorBatch, b).leaf_count for b in batch_ids]
        first_index = min(c.status_index for c in creds)
        errors = session.execute(
            select(BulkError.row, BulkError.line, BulkError.field)
            .where(BulkError.job_id == job_id)
            .order_by(BulkError.row)
        ).all()
        job = session.get(BulkJob, job_id)
        assert job is not None
        return (
            [
                (
                    c.bulk_row,
                    c.status_index - first_index,
                    c.leaf_index,
                    batch_ids.index(c.batch_id),
                )
                for c in creds
            ],
            leaves,
            [tuple(e) for e in errors],
            (job.state, job.byte_offset, job.rows_done, job.succeeded, job.failed),
        )


def test_grouped_chunks_store_what_one_chunk_per_transaction_stores(
    client, service, make_service, monkeypatch
) -> None:
    """Chunks already signed are stored together (`BulkRunner._store_chunks`, ``group_chunks``
    at most): the same rows, Merkle batches (one per chunk), errors and cursor as one chunk per
    transaction (``group_chunks = 1``, the reference), in fewer transactions; a failure in a
    group's second chunk rolls the whole group back and the job resumes from the cursor before
    it, every row stored once."""
    token = onboard(client)["api_key"]["token"]
    bad = {3: b"not json", 17: b"[1, 2]", 28: b"{}"}
    content = _jsonl(45, bad)
    progress = bulk.bulk_store.add_progress
    commits: list[int] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        commits.append(kwargs["count"])
        return progress(*args, **kwargs)

    monkeypatch.setattr(bulk.bulk_store, "add_progress", counted)
    stored = {}
    for group in (1, 3):
        job_id = _upload(client, token, content, f"rows{group}.jsonl").json()["id"]
        # signed in this thread (every block signed when submitted), so each group is as large
        # as allowed, whatever the timing
        runner = BulkRunner(make_service(bulk_chunk_rows=5), processes=1, inline_rows=1000)
        runner.group_chunks = group
        commits.clear()
        runner.run_job(job_id)
        stored[group] = _stored(service, job_id)
        assert sum(commits) == 45
        assert commits == ([5] * 9 if group == 1 else [15, 15, 15]), commits
    one, grouped = stored[1], stored[3]
    assert len(grouped[0]) == 42 and grouped[1] == [4, 5, 5, 4, 5, 4, 5, 5, 5]
    # the cursors differ only by the file (each upload its own): same offsets, rows and counts
    assert grouped == one

    # a failure while storing a group's second chunk: nothing of the group is kept
    insert = bulk.insert_credentials
    calls: list[int] = []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 5:  # the second chunk of the second group
            raise RuntimeError("disk full")
        return insert(*args, **kwargs)

    job_id = _upload(client, token, content, "rows-crash.jsonl").json()["id"]
    runner = BulkRunner(make_service(bulk_chunk_rows=5), processes=1, inline_rows=1000)
    runner.group_chunks = 3
    monkeypatch.setattr(bulk, "insert_credentials", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        runner.run_job(job_id)
    partial = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (partial["rows_done"], partial["succeeded"]) == (15, 14)  # the first group only
    monkeypatch.setattr(bulk, "insert_credentials", insert)
    runner.run_job(job_id)  # resumed from the first group's cursor
    resumed = _stored(service, job_id)
    # the same, but for the status indexes of the chunks signed again (fresh ones, each once)
    assert [(r, leaf, b) for r, _s, leaf, b in resumed[0]] == [
        (r, leaf, b) for r, _s, leaf, b in one[0]
    ]
    assert resumed[1:] == one[1:]
    assert len({s for _r, s, _l, _b in resumed[0]}) == 42


def _nice_and_parent(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return int(fields[16]), int(fields[1])  # nice, parent


def test_signing_processes_run_below_the_runner(make_service) -> None:
    """The signing processes run `_bulkworker.SIGNING_NICE` nice levels below the forkserver
    they come from (started by the runner's thread, with its priority): the runner, the
    pipeline's serial stage, gets its core whenever it has a chunk to store."""
    from talentproof.issuer._bulkworker import SIGNING_NICE, worker_pid

    runner = BulkRunner(make_service(), processes=2)
    runner.signing.start()
    try:
        pids = runner.signing.pids()
        assert len(pids) == 2
        # each process has run its initializer once it answers a call
        answered: set[int] = set()
        for _ in range(10_000):
            answered.add(runner.signing.submit(worker_pid).result())
            if answered >= set(pids):
                break
        assert answered == set(pids)
        for pid in pids:
            nice, parent = _nice_and_parent(pid)
            parent_nice, _ = _nice_and_parent(parent)  # the forkserver
            assert nice == min(19, parent_nice + SIGNING_NICE), (nice, parent_nice)
    finally:
        runner.signing.shutdown()


def test_a_job_ends_in_its_last_chunks_transaction(client, make_service, monkeypatch) -> None:
    """The job's state ``done`` is committed with its last chunk (one transaction a job less: a
    1,000-row job is one chunk): a failure storing that chunk leaves the job running at the
    cursor before it, and the job resumed ends done, every row stored once."""
    token = onboard(client)["api_key"]["token"]
    small = make_service(bulk_chunk_rows=5)
    # one chunk: the job's writes are its start (state running) and that chunk, nothing more
    one = _upload(client, token, _jsonl(4, {}), "one.jsonl").json()["id"]
    sessions: list[int] = []
    session = small.session

    def counted():  # type: ignore[no-untyped-def]
        sessions.append(1)
        return session()

    monkeypatch.setattr(small, "session", counted)
    BulkRunner(small, processes=1).run_job(one)
    assert len(sessions) == 2
    assert client.get(f"/bulk-jobs/{one}", headers=bearer(token)).json()["state"] == "done"

    job_id = _upload(client, token, _jsonl(12, {}), "rows.jsonl").json()["id"]
    insert = bulk.insert_credentials
    calls: list[int] = []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:  # the last chunk (rows 11-12)
            raise RuntimeError("disk full")
        return insert(*args, **kwargs)

    monkeypatch.setattr(bulk, "insert_credentials", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        BulkRunner(small, processes=1).run_job(job_id)
    partial = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (partial["state"], partial["rows_done"], partial["succeeded"]) == ("running", 10, 10)
    monkeypatch.setattr(bulk, "insert_credentials", insert)
    BulkRunner(small, processes=1).run_pending()
    done = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (done["state"], done["rows_done"], done["succeeded"]) == ("done", 12, 12)
    with small.sessions() as db:
        rows = db.scalars(select(CredentialRow.bulk_row).where(CredentialRow.bulk_job_id == job_id))
        assert sorted(rows) == list(range(1, 13))


def test_a_row_field_the_job_cannot_honour_is_that_rows_error(client, service) -> None:
    """A JSONL row is a ``POST /credentials`` body: a field that body may not hold (a misspelt
    ``validUntill``) or another type than the job's was dropped in silence, so the row was
    issued as a degree without its expiry, or as a degree when it asked for an employment.
    Each is now that row's error naming the field; a row restating the job's type is fine."""
    token = onboard(client)["api_key"]["token"]
    subject = degree_request()["credentialSubject"]
    rows = [
        {"credentialSubject": subject, "validUntill": "2027-01-01T00:00:00Z"},
        {"type": "EmploymentCredential", "credentialSubject": subject},
        {"type": "DegreeCredential", "credentialSubject": subject},
        {"credentialSubject": subject, "validUntil": "2030-01-01T00:00:00Z"},
    ]
    content = b"\n".join(orjson.dumps(row) for row in rows) + b"\n"
    r = _upload(client, token, content, "rows.jsonl")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (status["succeeded"], status["failed"]) == (2, 2)
    errors = [
        orjson.loads(x)
        for x in client.get(f"/bulk-jobs/{job_id}/errors", headers=bearer(token)).text.splitlines()
    ]
    assert [(e["row"], e["field"]) for e in errors] == [(1, "validUntill"), (2, "type")]
    assert "validUntil" in errors[0]["message"]  # names the fields a row may hold
    assert (
        "DegreeCredential" in errors[1]["message"]
        and "EmploymentCredential" in errors[1]["message"]
    )
    results = [
        orjson.loads(x)
        for x in client.get(f"/bulk-jobs/{job_id}/results", headers=bearer(token)).text.splitlines()
    ]
    assert [r["row"] for r in results] == [3, 4]
    assert results[1]["credential"]["validUntil"] == "2030-01-01T00:00:00Z"
    assert "DegreeCredential" in results[0]["credential"]["type"]


def test_csv_with_name_for_the_subject_s_name_names_the_columns(client, service) -> None:
    """A new user's CSV had a ``name`` column for the person's name: ``name`` alone is the
    credential's (README), so every row was refused with only "credentialSubject.name: expected a
    value (required property), found nothing". The error names the CSV's columns and the column expected."""
    token = onboard(client)["api_key"]["token"]
    columns = ["id", "name", *PERSON_CSV_COLUMNS[1:], "degree.type", "degree.level"]
    columns += ["degree.fieldOfStudy", "degree.institution.name", "degree.awardDate"]
    row = [holder_did(1), *PERSON_CSV_CELLS, "Degree", "bachelor", "Law", "University of Testing"]
    row.append("2026-06-30")
    content = (",".join(columns) + "\n" + ",".join(row) + "\n").encode()
    r = _upload(client, token, content, "people.csv")
    assert r.status_code == 202, r.text
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{r.json()['id']}", headers=bearer(token)).json()
    assert (status["succeeded"], status["failed"]) == (0, 1), status
    [error] = [
        orjson.loads(x)
        for x in client.get(
            f"/bulk-jobs/{r.json()['id']}/errors", headers=bearer(token)
        ).text.splitlines()
    ]
    assert error["field"] == "credentialSubject.name", error
    message = error["message"]
    assert message.startswith("credentialSubject.name: expected a value"), message
    assert "no column credentialSubject.name" in message, message
    assert f"(its columns: {', '.join(columns)})" in message, message
    assert "`name` alone is the credential's name" in message, message


def test_csv_missing_hint_says_which_column_and_leaves_other_errors_alone() -> None:
    from talentproof.issuer._bulkworker import csv_missing_hint

    missing = "expected a value (required property), found nothing"
    field = "credentialSubject.degree.type"
    msg = f"{field}: {missing}"
    assert csv_missing_hint(None, field, msg) == msg  # JSONL: unchanged
    assert (
        csv_missing_hint(["id"], field, f"{field}: expected a date") == f"{field}: expected a date"
    )
    said = csv_missing_hint(["id", "degree.type"], field, msg)
    assert said == f"{msg}; its column degree.type is empty in this row"
    said = csv_missing_hint(["id", "credentialSubject.name"], "credentialSubject.name", msg)
    assert said.endswith("its column credentialSubject.name is empty in this row"), said
    wide = [f"c{i}" for i in range(100)]
    said = csv_missing_hint(wide, field, msg)
    assert "no column degree.type" in said and "c39, ... (60 more))" in said and "c40" not in said
