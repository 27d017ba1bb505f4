"""Request body and upload size limits (413 naming the limit) and per-API-key rate limits (429
with Retry-After) of the issuer API, on a real service (real Anvil behind onboarding)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from talentproof.issuer.limits import TokenBuckets, human_bytes

from tests.issuer.conftest import issuer_chain, make_service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard, operator_headers

SMALL = 4096  # body limit of the tests' service
BULK = 64 * 1024  # bulk upload limit of the tests' service


@pytest.fixture
def limited(make_service) -> Iterator[TestClient]:  # noqa: F811
    from talentproof.issuer.app import create_app

    service = make_service(
        max_body_bytes=SMALL,
        bulk_max_upload_bytes=BULK,
        rate_limit_per_s=0.001,  # one token per ~17 minutes: only the burst counts in a test
        rate_limit_burst=8,
    )
    with TestClient(create_app(service, run_worker=False)) as client:
        yield client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and body["message"], body
    return body


@pytest.mark.integration
def test_oversized_json_body_is_refused_with_413_naming_the_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]
    request = degree_request("x" * (SMALL + 100))
    body = _error(limited.post("/credentials", headers=bearer(token), json=request), 413)
    assert body["error"] == "payload_too_large"
    assert "4 KiB (4096 bytes)" in body["message"] and "request body" in body["message"]
    # nothing was issued
    assert limited.get("/credentials", headers=bearer(token)).json()["items"] == []


@pytest.mark.integration
def test_streamed_body_without_content_length_is_cut_at_the_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "DegreeCredential", "credentialSubject": {"name": "'
        for _ in range(20):
            yield b"y" * 512
        yield b'"}}'

    r = limited.post(
        "/credentials",
        headers=bearer(token, **{"Content-Type": "application/json"}),
        content=chunks(),
    )
    body = _error(r, 413)
    assert "4096 bytes" in body["message"]


@pytest.mark.integration
def test_bulk_uploads_have_their_own_larger_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]
    row = b'{"id": "did:example:x", "name": "' + b"z" * 200 + b'"}\n'
    fits = row * ((SMALL * 4) // len(row))  # over the body limit, under the bulk limit
    r = limited.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", fits, "application/x-ndjson")},
    )
    assert r.status_code == 202, r.text
    too_big = row * ((BULK // len(row)) + 10)
    body = _error(
        limited.post(
            "/bulk-jobs",
            headers=bearer(token),
            data={"type": "DegreeCredential"},
            files={"file": ("rows.jsonl", too_big, "application/x-ndjson")},
        ),
        413,
    )
    assert "bulk upload" in body["message"] and "64 KiB (65536 bytes)" in body["message"]


@pytest.mark.integration
def test_rate_limit_is_per_api_key_with_retry_after(limited) -> None:
    inst = onboard(limited)
    slug, token = inst["slug"], inst["api_key"]["token"]
    other = limited.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["read"]},
    ).json()["token"]
    seen = [limited.get("/credentials", headers=bearer(token)).status_code for _ in range(12)]
    assert seen[:8] == [200] * 8 and seen[8:] == [429] * 4
    r = limited.get("/credentials", headers=bearer(token))
    body = _error(r, 429)
    assert body["error"] == "rate_limited" and "per API key" in body["message"]
    assert int(r.headers["Retry-After"]) >= 1
    # another key of the same institution has its own bucket; public endpoints stay open
    assert limited.get("/credentials", headers=bearer(other)).status_code == 200
    assert limited.get("/healthz").status_code == 200


def test_token_bucket_refills_at_its_rate_and_caps_at_its_burst() -> None:
    now = [100.0]
    buckets = TokenBuckets(2.0, 3, clock=lambda: now[0])
    assert [buckets.take(b"k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(b"k") == pytest.approx(0.5)  # one token per 0.5 s
    now[0] += 0.5
    assert buckets.take(b"k") == 0.0
    now[0] += 100  # refills up to the burst, not beyond
    assert [buckets.take(b"k") for _ in range(4)][-1] > 0
    assert buckets.take(b"other") == 0.0
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBuckets(0, 1)


def test_limits_are_named_in_human_units() -> None:
    assert human_bytes(1 << 20) == "1 MiB (1048576 bytes)"
    assert human_bytes(1000) == "1000 bytes"
