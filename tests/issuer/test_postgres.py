"""The same flows on a real PostgreSQL server (Debian's package, started by the test setup)."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from talentproof.issuer.app import create_app
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import AnchorBatch, CredentialRow

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_issue_bulk_anchor_revoke_on_postgres(make_service, pg_url) -> None:
    service = make_service(database_url=pg_url)
    assert service.engine.dialect.name == "postgresql"
    with TestClient(create_app(service, run_worker=False)) as client:
        inst = onboard(client)
        token = inst["api_key"]["token"]
        headers = bearer(token, **{"Idempotency-Key": "pg-1"})
        first = client.post("/credentials", headers=headers, json=degree_request())
        again = client.post("/credentials", headers=headers, json=degree_request())
        assert first.status_code == 202 and first.json()["id"] == again.json()["id"]
        lines = (
            b"\n".join(
                orjson.dumps(degree_request(f"F{i}", seed_byte=i + 1)["credentialSubject"])
                for i in range(30)
            )
            + b"\n{oops\n"
        )
        job = client.post(
            "/bulk-jobs",
            headers=bearer(token),
            data={"type": "DegreeCredential"},
            files={"file": ("rows.jsonl", lines, "application/x-ndjson")},
        ).json()
        BulkRunner(service, processes=1).run_pending()
        status = client.get(f"/bulk-jobs/{job['id']}", headers=bearer(token)).json()
        assert (status["succeeded"], status["failed"]) == (30, 1)
        client.app.state.worker.drain(30)
        with service.sessions() as session:
            assert session.scalar(select(func.count()).select_from(CredentialRow)) == 31
            assert all(b.state == "anchored" for b in session.scalars(select(AnchorBatch)))
        cred_id = first.json()["id"]
        assert (
            client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()["status"]
            == "anchored"
        )
        r = client.post(
            f"/credentials/{cred_id}/revoke", headers=bearer(token), json={"reason": "pg"}
        )
        assert r.status_code == 202  # queued durably (no worker in this process), then applied
        client.app.state.worker.drain(30)
        assert client.get(r.json()["poll"], headers=bearer(token)).json()["state"] == "applied"
        assert (
            client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()["revoked"]
            is True
        )
