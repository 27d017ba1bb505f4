"""The issuer on several JSON-RPC endpoints (issue 16.3 b): every ledger call (onboarding,
anchoring, reads) fails over past an endpoint that refuses connections, ``/readyz`` names the
endpoint down while it is, and a bad URL list is refused naming the variable. The network test
(tests/reliability/test_network_rpc_failover.py) kills the RPC node of a real geth network."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from talentproof.issuer.app import create_app
from talentproof.issuer.settings import IssuerSettings
from talentproof.ledger.nodes import free_port

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def test_issuance_and_anchoring_fail_over_past_a_dead_endpoint(
    make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    live = issuer_chain["rpc_url"]
    service = make_service(rpc_url=f"{dead},{live}")
    assert service.settings.rpc_urls == (dead, live)
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]  # governance transactions, through `live`
        issued = client.post("/credentials", headers=bearer(token), json=degree_request())
        assert issued.status_code in (201, 202), issued.text
        client.app.state.worker.drain(30)
        anchor = client.get(f"/credentials/{issued.json()['id']}/anchor", headers=bearer(token))
        assert anchor.json()["status"] == "anchored", anchor.json()
        ready = client.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["chain"]["available"] is True
        assert ready["chain"]["endpointsDown"] == [dead]
        assert ready["chain"]["failovers"] == 1  # once, then the live endpoint stays current
        by_url = {e["url"]: e for e in ready["chain"]["endpoints"]}
        assert by_url[live]["current"] and by_url[live]["up"]
        assert "refused" in by_url[dead]["detail"].lower()
    single = make_service()
    with TestClient(create_app(single, run_worker=False)) as client:
        client.get("/readyz")
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["chain"]["endpointsDown"] == []
        assert [e["url"] for e in ready["chain"]["endpoints"]] == [live]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://a:1,", "got an empty entry (entry 2 of 2)"),
        ("http://a:1;http://b:2", "got 'http://a:1;http://b:2'"),
        ("http://a:1,http://a:1", "'http://a:1' is listed twice"),
    ],
)
def test_a_bad_url_list_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("TALENTPROOF_ISSUER_RPC_URL", value)
    with pytest.raises(ValidationError) as caught:
        IssuerSettings()
    assert "TALENTPROOF_ISSUER_RPC_URL" in str(caught.value) and expected in str(caught.value)


def test_url_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALENTPROOF_RPC_URL", "http://a:1, http://b:2/rpc")
    settings = IssuerSettings()
    assert settings.rpc_url == "http://a:1,http://b:2/rpc"
    assert settings.rpc_urls == ("http://a:1", "http://b:2/rpc")


def test_issuer_serve_refuses_a_bad_url_list_without_a_traceback() -> None:
    from typer.testing import CliRunner

    from talentproof.cli import app

    result = CliRunner().invoke(
        app, ["issuer", "serve"], env={"TALENTPROOF_RPC_URL": "http://a:1;http://b:2"}
    )
    assert result.exit_code == 2, result.output
    assert (
        "error: TALENTPROOF_ISSUER_RPC_URL or TALENTPROOF_RPC_URL: expected "
        "http(s)://host[:port][/path] JSON-RPC URLs separated by commas, got "
        "'http://a:1;http://b:2'"
    ) in result.output
    assert "Traceback" not in result.output
