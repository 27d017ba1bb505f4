"""Keys at rest, logs without secrets or personal data, metrics, OpenAPI."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from talentproof.issuer.db import InstitutionRow, SigningKey
from talentproof.issuer.observability import JsonFormatter

from .issuer_helpers import PASSPHRASE, bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def test_keys_are_sealed_at_rest_and_logs_hold_no_secret_or_personal_data(
    client, service, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="talentproof")
    inst = onboard(client)
    token = inst["api_key"]["token"]
    request = degree_request("Secret Field Of Study")
    r = client.post("/credentials", headers=bearer(token), json=request)
    assert r.status_code == 202
    client.app.state.worker.drain(30)
    _kid, signer = service.signer_for(1)
    seed = signer.key.seed
    with service.sessions() as session:
        key_row = session.scalars(select(SigningKey)).first()
        inst_row = session.scalars(select(InstitutionRow)).first()
        assert key_row is not None and inst_row is not None
        assert seed not in key_row.seed_enc
        account_key = service.account_key(inst_row)
        assert account_key not in inst_row.chain_account_key_enc
    text = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    assert "credential issued" in text and "batch anchored" in text
    for secret in (
        seed.hex(),
        account_key.hex(),
        token,
        PASSPHRASE,
        "Secret Field Of Study",
        request["credentialSubject"]["id"],
    ):
        assert secret not in text


def test_metrics_count_issued_anchored_and_latency(client) -> None:
    token = onboard(client)["api_key"]["token"]
    for i in range(3):
        client.post("/credentials", headers=bearer(token), json=degree_request(f"M{i}"))
    worker = client.app.state.worker
    worker.update_pending_gauge()  # unbatched ones count
    assert "talentproof_issuer_credentials_pending 3.0" in client.get("/metrics").text
    batch_id = worker.form_batch(1, force=True)
    assert batch_id is not None
    worker.update_pending_gauge()  # batched but not yet anchored ones count too
    assert "talentproof_issuer_credentials_pending 3.0" in client.get("/metrics").text
    worker.drain(30)
    text = client.get("/metrics").text
    assert 'talentproof_issuer_credentials_issued_total{mode="single"} 3.0' in text
    assert "talentproof_issuer_credentials_anchored_total 3.0" in text
    assert "talentproof_issuer_credentials_pending 0.0" in text
    assert "talentproof_issuer_anchoring_latency_seconds_count 1.0" in text


def test_openapi_documents_every_endpoint_with_examples(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/credentials",
        "/credentials/{credential_id}",
        "/credentials/{credential_id}/anchor",
        "/credentials/{credential_id}/qr.png",
        "/credentials/{credential_id}/revoke",
        "/credentials/status-changes",
        "/bulk-jobs",
        "/bulk-jobs/{job_id}/results",
        "/operator/institutions",
        "/operator/institutions/{slug}/signing-keys/rotate",
        "/institutions/{slug}/did.json",
        "/institutions/{slug}/status/{purpose}",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
        for op in paths[path].values():
            assert op.get("summary"), (path, op)
    issue_body = paths["/credentials"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert issue_body["$ref"].endswith("/IssueRequest")
    schemas = spec["components"]["schemas"]
    assert schemas["IssueRequest"]["examples"][0]["type"] == "DegreeCredential"
    assert schemas["OnboardRequest"]["examples"]
    assert schemas["StatusChangeRequest"]["examples"]


def test_readiness_answers_503_when_the_database_fails(client, service) -> None:
    """A database error during the readiness check is ``503 {"status": "unavailable",
    "database": <the error>}`` (no Retry-After), rendered where every error is mapped to HTTP
    (`issuer.api.errors`); liveness does not read the database and stays ``200 {"status":
    "ok"}``. The database fails for real: its credentials table is gone."""
    import orjson

    assert client.get("/readyz").status_code == 200
    with service.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE credentials")
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert list(body) == ["status", "database"] and body["status"] == "unavailable"
    assert body["database"].startswith("(sqlite3.OperationalError) no such table: credentials")
    assert r.content == orjson.dumps(body)  # the bytes: compact JSON, these two members in order
    assert "retry-after" not in r.headers
    assert r.headers["content-type"] == "application/json"
    live = client.get("/healthz")
    assert (live.status_code, live.content) == (200, b'{"status":"ok"}')
