"""The verifier service on several JSON-RPC endpoints (issue 16.3 b): reads fail over past an
endpoint that refuses connections, and ``/readyz`` names it while it is down."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.qr import encode_payload
from talentproof.ledger.nodes import free_port
from talentproof.verifier.errors import SettingsError
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration


def test_reads_fail_over_and_readyz_names_the_endpoint_down(vchain, tmp_path):
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    app = create_app(ServiceSettings(rpc_url=f"{dead}, {vchain.rpc_url}", trust=str(record)))
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    with TestClient(app) as client:
        verdict = client.post("/api/v1/verify", json={"payloads": [encode_payload(degree)]}).json()
        assert verdict["outcome"]["code"] == "VALID", verdict
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "degraded" and body["chain"]["available"] is True
        assert body["chain"]["endpointsDown"] == [dead]
        assert body["chain"]["failovers"] == 1
        by_url = {e["url"]: e for e in body["chain"]["endpoints"]}
        assert by_url[vchain.rpc_url]["current"] and by_url[vchain.rpc_url]["up"]
        assert "refused" in by_url[dead]["detail"].lower(), by_url[dead]


def test_readyz_is_unavailable_when_no_endpoint_answers(vchain, tmp_path):
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with TestClient(create_app(ServiceSettings(rpc_url=",".join(dead), trust=str(record)))) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert ready.json()["chain"]["endpointsDown"] == dead
    with TestClient(create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))) as c:
        body = c.get("/readyz").json()
        assert body["status"] == "ready" and body["chain"]["endpointsDown"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://a:1,ftp://b", "expected http(s)://host[:port][/path] JSON-RPC URLs separated by "
         "commas, got 'ftp://b' (entry 2 of 2)"),
        ("http://a:1,,http://b:2", "got an empty entry (entry 2 of 3)"),
    ],
)  # fmt: skip
def test_a_bad_url_list_names_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv("TALENTPROOF_VERIFIER_RPC_URL", value)
    with pytest.raises(SettingsError) as err:
        ServiceSettings()
    assert str(err.value).startswith("TALENTPROOF_VERIFIER_RPC_URL: expected")
    assert expected in str(err.value)


def test_url_lists_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TALENTPROOF_RPC_URL", " http://a:1 , http://b:2")
    assert ServiceSettings().rpc_url == "http://a:1,http://b:2"
