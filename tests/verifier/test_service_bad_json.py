"""A body that is not JSON (truncated, a stray byte) gets the service's own error shape, naming
where the JSON breaks: never FastAPI's raw ``[{"type": "json_invalid", ...}]`` list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(vchain, tmp_path_factory):
    record = vchain.save_deployment(tmp_path_factory.mktemp("badjson"))
    with vchain.service_client(record) as c:
        yield c


def _post(client, body: bytes):
    return client.post("/api/v1/verify", content=body, headers={"content-type": "application/json"})


def test_a_truncated_body_is_named_with_its_line_and_column(client):
    r = _post(client, b'{"payloads": [\n  "TP1:abc"')
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str), r.text  # the service's own shape, not FastAPI's list
    assert detail.startswith("the body is not JSON ("), detail
    assert "line 2, column 12" in detail, detail  # as json.JSONDecodeError counts
    assert "expected a JSON object {payloads, documents," in detail, detail
    assert "TP1:abc" not in detail  # never echoing the input


def test_a_stray_byte_and_an_empty_body_are_named(client):
    r = _post(client, b'{"payloads": ["TP1:abc"]}x')
    assert r.status_code == 422 and "line 1, column 26" in r.json()["detail"], r.text
    r = _post(client, b'{"payloads": ["TP1:abc"], "payloads": []}')  # check 1's duplicate key
    detail = r.json()["detail"]
    assert r.status_code == 422 and "duplicate key 'payloads'" in detail, r.text
    assert "line" not in detail  # a duplicate has no one place


def test_a_body_that_is_json_names_the_member_and_keeps_the_field_errors(client):
    """A JSON body that does not match the schema: 422, ``detail`` a sentence naming the member
    and the body expected, ``errors`` FastAPI's field errors (loc, msg, type: machine-readable,
    without the input echoed). Was FastAPI's raw list as ``detail``."""
    r = _post(client, b'{"payloads": 5}')
    assert r.status_code == 422, r.text
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"].startswith("payloads"), body
    assert body["errors"][0]["loc"] == ["body", "payloads"], body
    assert "input" not in body["errors"][0]


CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential", "DegreeCredential"],
    "issuer": "did:web:hku.hk",
    "credentialSubject": {"id": "did:key:z6MkSecretName", "name": "Chan Tai Man"},
    "proof": {"type": "DataIntegrityProof", "proofValue": "z3abc"},
}


@pytest.mark.parametrize("path", ["/api/v1/verify", "/api/v1/applications/evaluate"])
def test_a_bare_credential_as_the_body_is_told_to_wrap_it(client, path):
    """New-user trial: a credential posted as the body got FastAPI's raw list of five
    "Extra inputs are not permitted"; now one sentence says what is expected."""
    r = client.post(path, json=CREDENTIAL)
    assert r.status_code == 422, r.text
    body = r.json()
    detail = body["detail"]
    assert isinstance(detail, str), body
    assert "looks like a credential" in detail, detail
    assert '{"documents": [credential, ...]}' in detail, detail
    assert "Extra inputs" not in detail and "Chan Tai Man" not in r.text
    assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "@context"), ("body", "proof")}


def test_an_unknown_member_says_what_is_expected(client):
    r = client.post("/api/v1/verify", json={"x": 1})
    assert r.status_code == 422, r.text
    body = r.json()
    detail = body["detail"]
    assert isinstance(detail, str) and detail.startswith("x: not a member"), detail
    assert '{"documents": [credential, ...]}' in detail and "payloads" in detail, detail
    assert body["errors"][0]["type"] == "extra_forbidden"
