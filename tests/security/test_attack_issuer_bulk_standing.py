"""Attacks on bulk issuance by an institution whose standing changes after its upload, on the real
issuer service and Anvil (tests/issuer's fixtures).

``POST /bulk-jobs`` checks that the institution may issue the type (accredited, not suspended or
removed on the ledger) when the file is uploaded; the job runs later (queued behind others, or a
1,000,000-row file for minutes). What it may issue is judged again when the job runs:

- a job of a type the operator withdrew (on chain, then here) after the upload signs nothing: it
  ends ``failed`` naming the type; single issuance and offers already refuse such a request;
- a job of an institution the ledger's governance suspended after the upload signs nothing;
- a failed job (an offers job too) does not hold back the other institutions' jobs queued behind
  it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from talentproof.credential import examples
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import CredentialRow, Oid4vciOffer
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    bearer,
    degree_request,
    holder_did,
    onboard,
    operator_headers,
    set_institution_status,
    stop_api_key,
)

pytestmark = pytest.mark.integration


def _employment_rows(count: int, *, offers: bool = False) -> bytes:
    subject = examples.employment(holder_did())["credentialSubject"]
    subject["employment"].pop("employer")  # the issuer binds it to itself
    if offers:
        subject.pop("id")
    return b"".join(orjson.dumps({"credentialSubject": subject}) + b"\n" for _ in range(count))


def _degree_rows(count: int) -> bytes:
    return b"".join(orjson.dumps(degree_request()) + b"\n" for _ in range(count))


def _upload(client: TestClient, token: str, kind: str, content: bytes, **form: str) -> str:
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": kind, **form},
        files={"file": ("rows.jsonl", content, "application/x-ndjson")},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _job(client: TestClient, token: str, job_id: str) -> dict[str, Any]:
    r = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@contextmanager
def signing_in_a_thread(
    service: Any, client: TestClient, token: str, job: str, *, rows_done: int = 4
) -> Iterator[None]:
    """``service``'s pending bulk jobs run by a `BulkRunner` (one signing process) in a thread;
    the body runs once ``job`` has ``rows_done`` rows done (or after 30 s), while it signs; the
    thread is joined (up to 60 s) when the body ends, raising or not."""
    runner = BulkRunner(service, processes=1, inline_rows=10_000)
    thread = threading.Thread(target=runner.run_pending)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while _job(client, token, job)["rows_done"] < rows_done and time.monotonic() < deadline:
            time.sleep(0.005)
        yield
    finally:
        thread.join(60)


def _count(service: Any, table: Any, institution_id: int) -> int:
    with service.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.institution_id == institution_id)
            )
        )


def _institution_id(service: Any, token: str) -> int:
    principal = service.authenticate(token)
    assert principal.institution_id is not None
    return int(principal.institution_id)


@pytest.mark.parametrize("offers", [False, True], ids=["credentials", "offers"])
def test_attack_bulk_job_of_a_type_withdrawn_after_its_upload_signs_nothing(
    client: TestClient, service: Any, offers: bool
) -> None:
    a, b = onboard(client), onboard(client)
    token_a, token_b = a["api_key"]["token"], b["api_key"]["token"]
    form = {"offers": "true"} if offers else {}
    job_a = _upload(
        client, token_a, "EmploymentCredential", _employment_rows(3, offers=offers), **form
    )
    job_b = _upload(client, token_b, "DegreeCredential", _degree_rows(2))  # queued behind A's
    r = client.post(
        f"/operator/institutions/{a['slug']}/credential-types",
        headers=operator_headers(),
        json={"withdraw": ["EmploymentCredential"]},
    )
    assert r.status_code == 200 and r.json()["credential_types"] == ["DegreeCredential"], r.text
    inst_a = _institution_id(service, token_a)
    BulkRunner(service, processes=1).run_pending()
    status = _job(client, token_a, job_a)
    assert status["state"] == "failed", status
    assert "EmploymentCredential" in (status["error"] or ""), status
    assert status["succeeded"] == 0, status
    assert _count(service, CredentialRow, inst_a) == 0
    assert _count(service, Oid4vciOffer, inst_a) == 0
    # the other institution's job behind it ran
    other = _job(client, token_b, job_b)
    assert (other["state"], other["succeeded"]) == ("done", 2), other


def test_attack_bulk_job_of_an_institution_suspended_on_the_ledger_after_its_upload(
    client: TestClient, service: Any, issuer_chain: dict[str, Any]
) -> None:
    from tests.issuer.test_institution_state import _governance

    inst = onboard(client)
    token = inst["api_key"]["token"]
    job = _upload(client, token, "DegreeCredential", _degree_rows(3))
    _governance(issuer_chain).suspend_issuer(inst["chain_issuer_id"])
    service.ledger_watch.refresh_once()  # the service's background read of the ledger
    refused = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert refused.status_code == 403, refused.text  # single issuance already refuses
    BulkRunner(service, processes=1).run_pending()
    status = _job(client, token, job)
    assert status["state"] == "failed", status
    assert "suspended" in (status["error"] or ""), status
    assert _count(service, CredentialRow, _institution_id(service, token)) == 0


def _key(client: TestClient, slug: str) -> dict[str, Any]:
    r = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["issue", "read"], "name": "stolen"},
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("stop", ["key revoked", "institution suspended"])
def test_attack_bulk_job_of_a_stolen_key_stops_when_the_operator_acts(
    client: TestClient, make_service: Any, stop: str
) -> None:
    """A thief's ``issue`` key uploads a large job of invented people; the operator revokes the
    key (or suspends the institution's API access). The job queued, or running, signs no more."""
    inst = onboard(client)
    slug, own = inst["slug"], inst["api_key"]["token"]
    stolen = _key(client, slug)
    queued = _upload(client, stolen["token"], "DegreeCredential", _degree_rows(4))
    running = _upload(client, stolen["token"], "DegreeCredential", _degree_rows(8))
    small = make_service(bulk_chunk_rows=2)
    runner = BulkRunner(small, processes=1, inline_rows=1000)
    runner.run_job(running, max_chunks=1)  # two rows stored: the job is running
    assert _job(client, own, running)["rows_done"] == 2
    stop_api_key(client, slug, stolen["id"], stop)
    runner.run_pending()
    if stop == "institution suspended":  # reactivated (the stolen key revoked) to read the jobs
        set_institution_status(client, slug, "active")
    for job, signed in ((queued, 0), (running, 2)):
        status = _job(client, own, job)
        assert status["state"] == "failed", status
        assert status["succeeded"] == signed, status
    assert _count(small, CredentialRow, _institution_id(small, own)) == 2


def test_attack_running_bulk_job_of_a_revoked_key_stops_at_its_next_chunk(
    client: TestClient, make_service: Any
) -> None:
    """The key is revoked while its job signs (chunks of 2 rows, 2,000 rows): the job stops at
    the next chunk, far from its end."""
    inst = onboard(client)
    own = inst["api_key"]["token"]
    stolen = _key(client, inst["slug"])
    job = _upload(client, stolen["token"], "DegreeCredential", _degree_rows(2000))
    with signing_in_a_thread(make_service(bulk_chunk_rows=2), client, own, job):
        url = f"/operator/institutions/{inst['slug']}/api-keys/{stolen['id']}/revoke"
        assert client.post(url, headers=operator_headers()).status_code == 200
        revoked_at = _job(client, own, job)["rows_done"]
    status = _job(client, own, job)
    assert status["state"] == "failed" and "revoked" in status["error"], status
    # what was stored by the revocation, and at most the chunks in flight then, no more
    assert status["succeeded"] <= revoked_at + 2 * 6, (revoked_at, status)
    assert status["succeeded"] < 2000
