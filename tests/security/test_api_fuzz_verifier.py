"""The verifier HTTP API fuzzed from its own OpenAPI document (schemathesis), in-process.

The FastAPI app runs in-process (ASGI, no server) against a real registry on the session's
Anvil node, with accredited issuers and real anchored credentials. Every operation of the
OpenAPI document gets generated requests, valid and invalid; each answer must be:

- never a 5xx and never a crash (schemathesis' ``not_a_server_error`` and an explicit check);
- a rejection (4xx) that says what is wrong: a JSON body with a non-empty message;
- conformant to the OpenAPI document (status codes, content types, response schemas).

Generated requests seldom reach the chain (random QR text does not parse), so the same rules are
also checked for requests that carry real credentials with hostile field values (extreme dates,
odd challenges, many documents).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import (
    BADGE,
    DEGREE,
    EMPLOYMENT,
    Chain,
    holder,
    issue,
    setup_chain,
)

pytestmark = pytest.mark.integration

DOMAIN = "verifier.example.hk"
EXAMPLES = 25  # per operation and mode: the whole module runs in well under a minute


def message_of(body: Any) -> str:
    """The human message of an error body: FastAPI's ``detail`` (a string, or a list of
    validation errors each with ``msg``)."""
    assert isinstance(body, dict), body
    if "verified" in body:  # the W3C VC API's VerificationResult: its errors say why
        assert body["verified"] is False and body["errors"], body
        return "; ".join(body["errors"])
    if "error" in body:  # OAuth 2.0 / OpenID4VP: {error, error_description}
        assert isinstance(body["error"], str) and body["error"], body
        return str(body.get("error_description") or body["error"])
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    assert isinstance(detail, list) and detail, body
    msgs = [d.get("msg") for d in detail if isinstance(d, dict)]
    assert all(isinstance(m, str) and m for m in msgs) and len(msgs) == len(detail), body
    return "; ".join(msgs)


def assert_clear_answer(status: int, body_text: str, content_type: str) -> None:
    assert status < 500, f"server error {status}: {body_text[:300]}"
    if status >= 400:
        assert content_type.startswith("application/json"), (status, content_type, body_text[:200])
        import json

        assert message_of(json.loads(body_text)).strip(), body_text[:200]


# --------------------------------------------------------------------------- the app on a real chain


@pytest.fixture(scope="module")
def api(anvil_node: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    chain: Chain = setup_chain(anvil_node)
    uni = chain.add_issuer("University of Hong Kong", (DEGREE,))
    hsbc = chain.add_issuer("HSBC", (EMPLOYMENT,))
    chain.add_issuer("HKIB", (BADGE,))
    record = tmp_path_factory.mktemp("apifuzz") / "deployment.json"
    chain.deployment.save(record)
    app = create_app(
        ServiceSettings(
            rpc_url=chain.rpc_url,
            trust=str(record),
            domain=DOMAIN,
            # the module's requests share one client address: room for every fuzzed operation
            limits=VerifierLimits(verify_burst=1000),
        )
    )
    hk = holder()
    degree = issue(chain, uni, DEGREE, hk.public_key.did_key)
    employment = issue(chain, hsbc, EMPLOYMENT, hk.public_key.did_key, start="2012-01-01")
    return {"app": app, "chain": chain, "holder": hk, "degree": degree, "employment": employment}


@pytest.fixture(scope="module")
def api_schema(api: dict[str, Any]) -> Any:
    """The app's own OpenAPI document, loaded by schemathesis from the running ASGI app."""
    return schemathesis.openapi.from_asgi("/openapi.json", api["app"])


OPERATIONS = [
    ("POST", "/api/v1/challenges"),
    ("POST", "/api/v1/verify"),
    ("POST", "/api/v1/applications/evaluate"),
    ("POST", "/api/v1/verify/image"),
    ("GET", "/api/v1/professions"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/credentials/verify"),
    ("POST", "/presentations/verify"),
    ("POST", "/oid4vp/requests"),
    ("GET", "/oid4vp/requests/{id}"),
    ("GET", "/oid4vp/requests/{id}/qr.png"),
    ("GET", "/oid4vp/requests/{ref}/request.jwt"),
    ("POST", "/oid4vp/responses/{ref}"),
]


def test_every_operation_of_the_openapi_document_is_fuzzed(api_schema: Any) -> None:
    found = sorted((op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations())
    assert found == sorted(OPERATIONS)


def _known_refusals(case: Any, response: Any) -> list[Any]:
    """Checks not to apply to this answer: schema-valid requests the service refuses for a
    reason a JSON Schema cannot state, each named exactly (anything else must be accepted).

    - more than 16 credentials in one application: the limit is on payloads + documents + the
      credentials inside presentations together (said in the request's description);
    - a multipart ``files`` part sent without a filename: schemathesis sends generated binary
      values as plain form fields, which HTTP frameworks read as text, not as an uploaded file;
    - negative (schema-violating) multipart requests: a form carries only text, so a value of
      the "wrong" JSON type arrives as a valid string (not a check of the service).
    """
    if (
        case.operation.path == "/api/v1/verify/image"
        and case.meta
        and case.meta.generation.mode.is_negative
    ):
        # multipart: every value travels as text, so a "wrong-typed" value is a string there
        return [negative_data_rejection]
    if case.operation.path in ("/credentials/verify", "/presentations/verify") and (
        response.status_code == 400 and response.json().get("verified") is False
    ):
        # the W3C VC API: a well-formed document that does not verify answers 400
        return [positive_data_acceptance]
    if response.status_code != 422:
        return []
    detail = response.json().get("detail")
    if isinstance(detail, str) and re.fullmatch(
        r"application has \d+ credentials; the limit is 16 credentials", detail
    ):
        return [positive_data_acceptance]
    if (
        isinstance(detail, list)
        and detail
        and all(
            d.get("loc", [None, None])[:2] == ["body", "files"]
            and "Expected UploadFile" in d.get("msg", "")
            for d in detail
        )
    ):
        return [positive_data_acceptance]
    return []


NO_INPUT = {
    ("POST", "/api/v1/challenges"),
    ("GET", "/api/v1/professions"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # only a string path parameter: every generated value is a valid string (404 when unknown)
    ("GET", "/oid4vp/requests/{id}"),
    ("GET", "/oid4vp/requests/{id}/qr.png"),
    ("GET", "/oid4vp/requests/{ref}/request.jwt"),
}


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        (m, p, mode)
        for m, p in OPERATIONS
        for mode in GenerationMode
        if not ((m, p) in NO_INPUT and mode is GenerationMode.NEGATIVE)
    ],
)
def test_api_answers_every_generated_request_clearly(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    seen: list[int] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        response = case.call()
        seen.append(response.status_code)
        ctype = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
        assert_clear_answer(
            response.status_code, response.text, ctype[0] if isinstance(ctype, list) else ctype
        )
        case.validate_response(response, excluded_checks=_known_refusals(case, response))

    check()
    assert seen  # requests were really made
    if mode is GenerationMode.NEGATIVE and method == "POST" and path != "/api/v1/challenges":
        assert any(400 <= s < 500 for s in seen), seen  # invalid requests are refused


# --------------------------------------------------------------------------- hostile values with real credentials


def test_the_fuzzed_service_really_verifies(api: dict[str, Any]) -> None:
    """Control: the app under fuzzing is wired to the real chain and passes real credentials."""
    with TestClient(api["app"]) as client:
        r = client.post("/api/v1/verify", json={"payloads": [encode_payload(api["degree"])]})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "valid"


@pytest.mark.parametrize(
    "body",
    [
        {"asOf": "0001-01-01"},  # before 1970: a negative UNIX time for the chain's as-of read
        {"asOf": "9999-12-31"},
        {"asOf": "1970-01-01"},
        {"challenge": ""},
        {"challenge": "x" * 10_000},
        {"challenge": "\u0000\ud7ff\U0010ffff"},
        {"profession": ""},
        {"profession": "astronaut"},
        {"documents": [{}]},
        {"documents": [{"type": "VerifiablePresentation", "verifiableCredential": [1, "x", None]}]},
        {
            "documents": [
                {"type": "VerifiablePresentation", "verifiableCredential": {"proof": [{}]}}
            ]
        },
        {"payloads": ["TP1:"]},
        {"payloads": ["TP99:AAAA"]},
    ],
    ids=lambda b: ",".join(f"{k}={str(v)[:20]!r}" for k, v in b.items()),
)
def test_hostile_field_values_with_a_real_credential_get_a_clear_answer(
    api: dict[str, Any], body: dict[str, Any]
) -> None:
    request = {"payloads": [encode_payload(api["degree"])], **body}
    if "payloads" in body:
        request["payloads"] = [encode_payload(api["degree"]), *body["payloads"]]
    with TestClient(api["app"], raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", json=request)
    assert_clear_answer(r.status_code, r.text, r.headers.get("content-type", ""))
    if r.status_code == 200:
        assert r.json()["verdict"] in ("valid", "invalid", "error")


def test_replayed_challenge_through_the_api_is_refused(api: dict[str, Any]) -> None:
    """A challenge is single use: the same bound presentation sent twice fails check 10."""
    with TestClient(api["app"]) as client:
        ch = client.post("/api/v1/challenges").json()
        assert ch["domain"] == DOMAIN
        vp = create_presentation(
            [api["degree"], api["employment"]],
            api["holder"],
            challenge=ch["challenge"],
            domain=DOMAIN,
            created=datetime.now(UTC).replace(microsecond=0),
        )
        first = client.post(
            "/api/v1/verify", json={"payloads": [encode_payload(vp)], "challenge": ch["challenge"]}
        )
        again = client.post(
            "/api/v1/verify", json={"payloads": [encode_payload(vp)], "challenge": ch["challenge"]}
        )
    assert first.json()["verdict"] == "valid", first.text
    assert again.json()["verdict"] == "invalid"
    binding = [
        c
        for r in again.json()["credentials"]
        for c in r["checks"]
        if c["id"] == "presentation_binding"
    ]
    assert binding and all(
        c["status"] == "fail" and "already used" in c["message"] for c in binding
    )


# --------------------------------------------------------------------------- regressions (bugs the fuzzing found)


def test_regression_as_of_before_1970_is_an_answer_not_a_server_error(api: dict[str, Any]) -> None:
    """asOf 0001-01-01 became a negative UNIX time for the chain read: ValueError, HTTP 500.
    Now the chain is read as of its first second and check 9 says "not yet valid"; check 5
    fails too, since nothing was anchored by then."""
    with TestClient(api["app"], raise_server_exceptions=False) as client:
        r = client.post(
            "/api/v1/verify",
            json={"payloads": [encode_payload(api["degree"])], "asOf": "0001-01-01"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "invalid" and body["chainAsOf"] == 1
    checks = {c["id"]: c for c in body["credentials"][0]["checks"]}
    assert (
        checks["validity_window"]["status"] == "fail"
        and "Not yet valid" in checks["validity_window"]["message"]
    )
    anchor = checks["anchor"]  # the chain was read (as of its first second), not skipped
    assert anchor["status"] == "fail" and "after the as-of time" in anchor["message"]
    assert anchor["evidence"]["asOf"] == 1


def test_regression_error_bodies_match_the_openapi_document(
    api: dict[str, Any], api_schema: Any
) -> None:
    """Refusals answered {"detail": "..."} while the document promised FastAPI's list form; an
    empty application and an unknown profession were refused although the document allowed
    them; too many credentials were reported in "bytes"."""
    doc = api["app"].openapi()
    post = doc["paths"]["/api/v1/verify"]["post"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Problem"
    )
    request = doc["components"]["schemas"]["VerifyRequest"]
    assert {"required": ["payloads"], "properties": {"payloads": {"minItems": 1}}} in request[
        "anyOf"
    ]
    assert request["properties"]["profession"]["anyOf"][0]["enum"] == [
        "hk-dlt-expert",
        "hk-fintech-professional",
    ]
    form = doc["components"]["schemas"]["Body_verify_image_api_v1_verify_image_post"]
    assert "anyOf" not in form["properties"]["asOf"]  # a form field is absent, never null
    payload = encode_payload(api["degree"])
    with TestClient(api["app"]) as client:
        empty = client.post("/api/v1/verify", json={})
        unknown = client.post(
            "/api/v1/verify", json={"payloads": [payload], "profession": "astronaut"}
        )
        crowded = client.post(
            "/api/v1/verify", json={"payloads": [payload] * 16, "documents": [api["degree"]]}
        )
        bare = client.post("/api/v1/verify", json=api["degree"])  # a credential as the body
        stray = client.post("/api/v1/verify", json={"x": 1})
    assert empty.status_code == 422 and "expected at least one payload" in empty.json()["detail"]
    assert unknown.status_code == 422 and "astronaut" in unknown.json()["detail"]
    assert crowded.status_code == 422
    assert crowded.json()["detail"] == "application has 17 credentials; the limit is 16 credentials"
    # a body that does not match the schema: a sentence naming the body expected, and the field
    # errors (machine-readable) beside it; was FastAPI's raw "Extra inputs are not permitted" list
    for r in (bare, stray):
        assert r.status_code == 422 and '{"documents": [credential, ...]}' in r.json()["detail"]
        assert r.json()["errors"][0]["type"] == "extra_forbidden"
    assert "errors" in doc["components"]["schemas"]["Problem"]["properties"]
    for r in (empty, unknown, crowded, bare, stray):
        operation = api_schema["/api/v1/verify"]["POST"]
        operation.validate_response(r)  # the body conforms to the documented Problem schema


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [300, 800])
def test_regression_deeply_nested_document_is_an_answer_not_a_server_error(
    api: dict[str, Any], depth: int
) -> None:
    """A document nested 300+ deep parsed with orjson but could not be re-serialised by it (its
    limit is 255 levels): TypeError, HTTP 500. Such documents now take the reference parser."""
    doc = {**api["degree"], "x": _nested(depth)}
    with TestClient(api["app"], raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", json={"documents": [doc]})
    assert r.status_code == 200, r.text[:300]
    checks = {c["id"]: c["status"] for c in r.json()["credentials"][0]["checks"]}
    assert (
        r.json()["verdict"] == "invalid"
        and checks["parse"] == "pass"
        and checks["signature"] == "fail"
    )


def test_regression_json_file_nested_beyond_the_parser_is_a_parse_failure() -> None:
    """json.loads raised RecursionError (not caught: a traceback from the CLI)."""
    import sys

    from talentproof.verifier.inputs import item_from_json

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the interpreter's default, as in the CLI (test runners raise it)
    try:
        item = item_from_json('{"a": ' + "[" * 5_000 + "]" * 5_000 + "}", "deep.json")
    finally:
        sys.setrecursionlimit(limit)
    assert item.document is None and item.error is not None and "nested too deeply" in item.error


@pytest.mark.parametrize("as_of", [0, 1_700_000_000, 0.0, True, "2026-11-01T00:00:00"])
def test_regression_as_of_must_be_a_date_text(api: dict[str, Any], as_of: Any) -> None:
    """Found by negative fuzzing: pydantic read a number as a UNIX time (asOf: 0 verified as of
    1970) although the document says a YYYY-MM-DD string."""
    with TestClient(api["app"]) as client:
        r = client.post(
            "/api/v1/verify", json={"payloads": [encode_payload(api["degree"])], "asOf": as_of}
        )
    assert r.status_code == 422, r.text[:200]
    assert "YYYY-MM-DD" in message_of(r.json())
