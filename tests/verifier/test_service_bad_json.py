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


def test_a_body_that_is_json_is_refused_as_before(client):
    r = _post(client, b'{"payloads": 5}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "payloads"], r.text
