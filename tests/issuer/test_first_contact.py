"""What a new user meets first on the issuer (fresh-clone walk-through): the answers to a body
without a credential type, an ``Authorization`` header without its ``Bearer`` scheme, and
``GET /``; the same through the ``POST /credentials`` fast path and the FastAPI route (one
request contract)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.app import create_app

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration

TYPES = ("DegreeCredential", "EmploymentCredential", "OpenBadgeCredential")


@pytest.fixture
def both(make_service) -> Any:  # type: ignore[no-untyped-def]
    """Two clients over one database: the fast path on, and off (the FastAPI route only)."""
    fast = make_service()
    with TestClient(create_app(fast, run_worker=False)) as fast_client:
        token = onboard(fast_client)["api_key"]["token"]
        routed = make_service(issue_fast_path=False)
        with TestClient(create_app(routed, run_worker=False)) as route_client:
            yield fast_client, route_client, token


def _post(client: TestClient, body: Any, headers: dict[str, str]) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(
        "/credentials", content=content, headers={"Content-Type": "application/json", **headers}
    )


@pytest.mark.parametrize(
    "body",
    [
        {"credentialSubject": {}},
        {k: v for k, v in degree_request().items() if k != "type"},
        {**degree_request(), "type": "PhdCredential"},
        {**degree_request(), "type": 5},
        {**degree_request(), "type": None},
    ],
    ids=["only-subject", "no-type", "unknown-type", "number-type", "null-type"],
)
def test_a_missing_or_wrong_type_names_the_allowed_types(both, body) -> None:
    fast_client, route_client, token = both
    answers = [_post(c, body, bearer(token)) for c in (fast_client, route_client)]
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_request"
        assert r.json()["field"] == "type"
        for name in TYPES:
            assert name in r.json()["message"], r.json()
    assert answers[0].json() == answers[1].json()


@pytest.mark.parametrize(
    "value", ["{token}", "Basic dXNlcjpwYXNz", "Token {token}", "bearer", "Bearer"]
)
def test_an_authorization_header_without_bearer_says_so(both, value) -> None:
    fast_client, route_client, token = both
    headers = {"Authorization": value.format(token=token)}
    answers = [_post(c, degree_request(), headers) for c in (fast_client, route_client)]
    for r in answers:
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthenticated"
        message = r.json()["message"]
        assert "missing API key" not in message
        assert "Authorization: Bearer <API key>" in message
        assert token not in message  # the key is never echoed
    assert answers[0].json() == answers[1].json()
    # the same on any route behind an API key
    r = fast_client.get(
        "/credentials/urn:uuid:00000000-0000-4000-8000-000000000000", headers=headers
    )
    assert r.status_code == 401 and "Authorization: Bearer <API key>" in r.json()["message"]


def test_no_authorization_header_still_says_missing(both) -> None:
    fast_client, route_client, _token = both
    for c in (fast_client, route_client):
        r = _post(c, degree_request(), {})
        assert r.status_code == 401 and "missing API key" in r.json()["message"]


def test_the_root_names_the_service_and_where_to_start(client) -> None:
    r = client.get("/")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service"] == "TalentProof issuer"
    assert body["version"] == client.app.version
    links = body["links"]
    for path in ("/docs", "/openapi.json", "/readyz"):
        assert path in links.values()
        assert client.get(path).status_code == 200, path
    assert "README.md" in body["quickStart"] and "Authorization: Bearer" in body["quickStart"]
    assert client.head("/").status_code in (200, 405)
    # the OpenAPI page opens with what the API is for, not with this code's internals (it showed
    # the module docstring: 'create_app assembles the routers ... the IssuerError leaf')
    described = client.get("/openapi.json").json()["info"]["description"]
    assert "POST /credential-offers" in described and "Authorization: Bearer" in described
    for internal in ("create_app", "IssuerError", "fast path", "routers"):
        assert internal not in described, described


def test_a_request_without_the_holder_key_names_the_offer(both) -> None:
    """An offer's body (no credentialSubject.id) sent to POST /credentials was refused with the
    schema's words alone; the answer now names where the holder's did:key comes from and the
    offer, on both paths."""
    fast_client, route_client, token = both
    body = degree_request()
    del body["credentialSubject"]["id"]
    answers = [_post(c, body, bearer(token)) for c in (fast_client, route_client)]
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "credentialSubject.id"
        message = r.json()["message"]
        assert message.startswith("credentialSubject.id: expected a value"), message
        assert "talentproof keygen" in message and "POST /credential-offers" in message, message
    assert answers[0].json() == answers[1].json()
