"""The issuer HTTP API fuzzed from its own OpenAPI document (schemathesis), in-process.

The FastAPI app runs in-process (ASGI, no server) over a service configured with a real Anvil
deployment, an onboarded institution and valid API keys, so generated requests reach the
authorized code paths (institution endpoints get the institution's full key, operator endpoints
the operator's). Every operation gets generated requests, valid (positive) and invalid
(negative); each answer must be:

- never a 5xx and never a crash;
- a rejection (4xx) that says what is wrong: a JSON body naming the problem (``error`` code and
  ``message`` for the API's own errors; ``detail`` for routing answers such as 405).

Examples are bounded (``EXAMPLES`` per operation and mode) so the module stays well under a minute.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from tests.issuer.conftest import issuer_chain  # noqa: F401
from tests.issuer.issuer_helpers import (
    OPERATOR_TOKEN,
    degree_request,
    onboard,
    operator_headers,
    settings_env,
)

pytestmark = pytest.mark.integration

EXAMPLES = 12


def message_of(body: Any) -> str:
    """The human message of an error body."""
    assert isinstance(body, dict), body
    if "message" in body:
        assert isinstance(body.get("error"), str) and body["error"], body
        return str(body["message"])
    if "error_description" in body:  # OAuth 2.0 / OpenID4VCI endpoints: the protocol's form
        assert isinstance(body.get("error"), str) and body["error"], body
        return str(body["error_description"])
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    assert isinstance(detail, list) and detail, body
    return "; ".join(str(d.get("msg")) for d in detail if isinstance(d, dict))


def assert_clear_answer(status: int, text: str, content_type: str) -> None:
    assert status < 500, f"server error {status}: {text[:400]}"
    if status >= 400:
        assert content_type.startswith("application/json"), (status, content_type, text[:200])
        assert message_of(json.loads(text)).strip(), text[:200]


@pytest.fixture(scope="module")
def api(issuer_chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from talentproof.issuer.app import create_app
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings

    data = tmp_path_factory.mktemp("issuer-fuzz")
    fields = {
        k.removeprefix("TALENTPROOF_ISSUER_").lower(): v
        for k, v in settings_env(issuer_chain, data).items()
    }
    service = IssuerService(IssuerSettings(**fields))
    app = create_app(service, run_worker=False)
    with TestClient(app) as client:
        inst = onboard(client)
        token = inst["api_key"]["token"]
        for i in range(3):
            r = client.post(
                "/credentials",
                headers={"Authorization": f"Bearer {token}"},
                json=degree_request(f"Fuzz {i}"),
            )
            assert r.status_code == 202, r.text
        client.app.state.worker.drain(30)
        yield {"app": app, "service": service, "inst": inst, "token": token}
    service.close()


@pytest.fixture(scope="module")
def api_schema(api: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", api["app"])


OPERATIONS = [
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/contexts/v1"),
    ("GET", "/institutions/{slug}/did.json"),
    ("GET", "/institutions/{slug}/status/{purpose}"),
    ("POST", "/credentials"),
    ("POST", "/credentials/issue"),
    ("POST", "/credentials/status"),
    ("GET", "/credentials"),
    ("GET", "/credentials/{credential_id}"),
    ("GET", "/credentials/{credential_id}/anchor"),
    ("GET", "/credentials/{credential_id}/qr.png"),
    ("GET", "/credentials/{credential_id}/qr.svg"),
    ("POST", "/credentials/{credential_id}/revoke"),
    ("POST", "/credentials/{credential_id}/suspend"),
    ("POST", "/credentials/{credential_id}/reinstate"),
    ("POST", "/credentials/status-changes"),
    ("GET", "/credentials/status-changes/{change_id}"),
    ("POST", "/bulk-jobs"),
    ("GET", "/bulk-jobs/{job_id}"),
    ("GET", "/bulk-jobs/{job_id}/results"),
    ("GET", "/bulk-jobs/{job_id}/errors"),
    ("POST", "/operator/institutions"),
    ("GET", "/operator/institutions"),
    ("GET", "/operator/institutions/{slug}"),
    ("POST", "/operator/institutions/{slug}/status"),
    ("POST", "/operator/institutions/{slug}/credential-types"),
    ("POST", "/operator/institutions/{slug}/signing-keys/rotate"),
    ("POST", "/operator/institutions/{slug}/api-keys"),
    ("GET", "/operator/institutions/{slug}/api-keys"),
    ("POST", "/operator/institutions/{slug}/api-keys/{key_id}/revoke"),
    ("POST", "/operator/institutions/{slug}/api-keys/{key_id}/rotate"),
    ("GET", "/.well-known/openid-credential-issuer/institutions/{slug}"),
    ("GET", "/.well-known/oauth-authorization-server/institutions/{slug}"),
    ("POST", "/credential-offers"),
    ("POST", "/credential-offers/{offer_id}/withdraw"),
    ("GET", "/credential-offers/{offer_id}/qr.png"),
    ("GET", "/institutions/{slug}/credential-offers/{offer_id}"),
    ("POST", "/institutions/{slug}/token"),
    ("POST", "/institutions/{slug}/nonce"),
    ("POST", "/institutions/{slug}/credential"),
    ("POST", "/institutions/{slug}/deferred_credential"),
]
# Negative (schema-violating) requests exist only for operations with a body or a typed query
# parameter: any string is a valid path parameter.
NEGATIVE = {
    ("POST", "/credentials"),
    ("POST", "/credentials/issue"),
    ("POST", "/credentials/status"),
    ("GET", "/credentials"),
    ("POST", "/credentials/{credential_id}/revoke"),
    ("POST", "/credentials/{credential_id}/suspend"),
    ("POST", "/credentials/{credential_id}/reinstate"),
    ("POST", "/credentials/status-changes"),
    ("GET", "/credentials/status-changes/{change_id}"),  # an integer path parameter
    ("POST", "/bulk-jobs"),
    ("GET", "/bulk-jobs/{job_id}/results"),
    ("POST", "/operator/institutions"),
    ("POST", "/operator/institutions/{slug}/status"),
    ("POST", "/operator/institutions/{slug}/credential-types"),
    ("POST", "/operator/institutions/{slug}/api-keys"),
    ("POST", "/credential-offers"),
    ("POST", "/institutions/{slug}/token"),
    ("POST", "/institutions/{slug}/credential"),
    ("POST", "/institutions/{slug}/deferred_credential"),
}
# Operations that would lock the fuzzer out of its own institution (suspending it, revoking or
# rotating its keys) run against a second institution only.
SELF_HARMING = {
    "/operator/institutions/{slug}/status",
    "/operator/institutions/{slug}/api-keys/{key_id}/revoke",
    "/operator/institutions/{slug}/api-keys/{key_id}/rotate",
}


def test_every_operation_of_the_openapi_document_is_fuzzed(api_schema: Any) -> None:
    found = sorted((op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations())
    assert found == sorted(OPERATIONS)


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        (m, p, mode)
        for m, p in OPERATIONS
        for mode in GenerationMode
        if mode is GenerationMode.POSITIVE or (m, p) in NEGATIVE
    ],
)
def test_api_answers_every_generated_request_clearly(
    api: dict[str, Any], api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    auth = f"Bearer {OPERATOR_TOKEN}" if path.startswith("/operator") else f"Bearer {api['token']}"
    seen: list[int] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        headers = dict(case.headers or {})
        headers["Authorization"] = auth
        case.headers = headers
        if path in SELF_HARMING and case.path_parameters.get("slug") == api["inst"]["slug"]:
            case.path_parameters["slug"] = "another-" + api["inst"]["slug"]
        response = case.call()
        seen.append(response.status_code)
        ctype = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert_clear_answer(response.status_code, response.text, ctype)

    check()
    assert seen


def test_fuzzing_reached_authorized_paths(api: dict[str, Any]) -> None:
    """Sanity: with the fixture's keys the authorized endpoints answer 2xx (so the fuzzer is
    not only exercising 401s)."""
    client = TestClient(api["app"])
    token = api["token"]
    assert (
        client.get("/credentials", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert client.get("/operator/institutions", headers=operator_headers()).status_code == 200


@pytest.mark.parametrize("idempotency_key", [None, "fuzz-regression-1"])
def test_regressions_found_by_the_fuzzer_answer_4xx(
    api: dict[str, Any], idempotency_key: str | None
) -> None:
    """Integers past 64 bits in a body (the request fingerprint and the 422 details once crashed
    on them) and a cursor past SQLite's integer range (once a 500)."""
    client = TestClient(api["app"])
    headers = {"Authorization": f"Bearer {api['token']}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    huge = degree_request()
    huge["credentialSubject"]["degree"]["level"] = 2**70
    for body in (
        huge,
        {"credentialSubject": {"": -(2**63) - 1}},
        {"type": 2**64, "credentialSubject": {}},
    ):
        r = client.post("/credentials", headers=headers, json=body)
        assert_clear_answer(r.status_code, r.text, r.headers["content-type"])
        assert 400 <= r.status_code < 500
    r = client.get("/credentials?after=9223372036854775808", headers=headers)
    assert r.status_code == 422 and "after" in r.json()["message"]
