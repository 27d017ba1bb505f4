"""Bulk issuance: JSONL and CSV uploads, per-row errors, resume after interruption, results."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import Credential

from .issuer_helpers import bearer, degree_request, holder_did, onboard

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
    content = _jsonl(40, {3: b"{not json", 17: orjson.dumps(bad_subject), 25: b"[1, 2]"})
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
    assert [e["row"] for e in errors] == [3, 17, 25]
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
    assert len(results) == 37 and {r["row"] for r in results} == set(range(40)) - {3, 17, 25}
    from talentproof.credential.qr import decode_payload

    first = results[0]
    assert first["status"] == "anchored"
    assert decode_payload(first["qrPayload"]) == first["credential"]
    assert first["credential"]["credentialSubject"]["degree"]["fieldOfStudy"] == "Field 0"


def test_csv_job_with_dotted_columns(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    header = "id,degree.type,degree.level,degree.fieldOfStudy,degree.institution.name,degree.awardDate,validFrom\n"
    rows = [
        f"{holder_did(i + 1)},Degree,bachelor,Subject {i},Univ,2026-06-30,2026-07-01T00:00:00Z\n"
        for i in range(5)
    ]
    rows.append(f"{holder_did(9)},Degree,nursery,Subject,Univ,2026-06-30,\n")
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
            session.execute(select(Credential.bulk_row).where(Credential.bulk_job_id == job_id))
            .scalars()
            .all()
        )
        assert sorted(rows) == list(range(55))
        assert session.scalar(select(func.count(func.distinct(Credential.status_index)))) == 55


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
