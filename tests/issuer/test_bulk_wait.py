"""Long-poll of a bulk job: ``GET /bulk-jobs/{id}?wait=<seconds>`` answers once the job ends
(done or failed) or when ``wait`` seconds have passed, at most ``bulk_wait_max_s``."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.bulk import BulkRunner

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def _job(client: TestClient, token: str, rows: int = 3) -> str:
    content = b"\n".join(
        orjson.dumps(degree_request(f"Field {i}", seed_byte=i + 1)["credentialSubject"])
        for i in range(rows)
    )
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.jsonl", content + b"\n", "application/octet-stream")},
        data={"type": "DegreeCredential"},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_a_wait_answers_once_the_job_ends_in_another_thread(client, service) -> None:
    """The runner (here a thread; in `serve` another process) ends the job while the request
    waits: the answer is the ended job, before the wait runs out."""
    token = onboard(client)["api_key"]["token"]
    job_id = _job(client, token)
    assert client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()["state"] == "queued"

    def run() -> None:
        time.sleep(0.3)  # the request is waiting by then
        BulkRunner(service, processes=1).run_pending()

    runner = threading.Thread(target=run)
    runner.start()
    try:
        started = time.monotonic()
        r = client.get(f"/bulk-jobs/{job_id}?wait=30", headers=bearer(token))
        elapsed = time.monotonic() - started
    finally:
        runner.join()
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["rows_done"], body["succeeded"]) == ("done", 3, 3)
    assert elapsed < 30  # answered when the job ended, not at the end of the wait
    # an ended job answers at once, as without wait
    assert client.get(f"/bulk-jobs/{job_id}?wait=30", headers=bearer(token)).json() == body


def test_a_wait_on_an_unknown_or_foreign_job_is_404_at_once(client) -> None:
    token = onboard(client)["api_key"]["token"]
    other = onboard(client)["api_key"]["token"]
    job_id = _job(client, token)
    for who, path in ((token, "/bulk-jobs/no-such-job"), (other, f"/bulk-jobs/{job_id}")):
        started = time.monotonic()
        r = client.get(f"{path}?wait=30", headers=bearer(who))
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "not_found"
        assert time.monotonic() - started < 30
    assert client.get(f"/bulk-jobs/{job_id}?wait=1").status_code == 401  # no API key


def test_wait_zero_is_the_plain_poll(client) -> None:
    token = onboard(client)["api_key"]["token"]
    job_id = _job(client, token)
    plain = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert plain["state"] == "queued"
    assert client.get(f"/bulk-jobs/{job_id}?wait=0", headers=bearer(token)).json() == plain


def test_a_wait_on_a_job_that_does_not_end_answers_its_progress(client, make_service) -> None:
    """No runner: the job stays queued; the answer comes after the wait with the job as it is.
    ``wait`` outside 0..bulk_wait_max_s, or not a number, is 422 naming the range."""
    token = onboard(client)["api_key"]["token"]
    job_id = _job(client, token)
    short = make_service(bulk_wait_max_s=0.5)  # the same database, a small maximum
    from talentproof.issuer.app import create_app

    with TestClient(create_app(short, run_worker=False)) as capped:
        started = time.monotonic()
        r = capped.get(f"/bulk-jobs/{job_id}?wait=0.5", headers=bearer(token))
        assert time.monotonic() - started >= 0.5  # a lower bound only: it did wait
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "queued"
        assert r.json()["total_rows"] == 3
        for bad in ("0.6", "-1", "abc", "nan", "inf", ""):
            r = capped.get(f"/bulk-jobs/{job_id}?wait={bad}", headers=bearer(token))
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["error"] == "invalid_request"
            assert "wait" in r.json()["message"]
            assert "0 to 0.5" in r.json()["message"], r.text
    r = client.get(f"/bulk-jobs/{job_id}?wait=31", headers=bearer(token))  # default maximum 30
    assert r.status_code == 422
    assert "0 to 30" in r.json()["message"], r.text
