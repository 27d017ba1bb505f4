"""Attack: the one JSON-RPC URL a long-running verifier reads starts answering from another
chain, and the chain id read once vouches for it (real Anvil x2, a switching endpoint).

Check 5 binds a credential to the trusted chain: the payload's chain id must be the node's, and
the node's the trusted deployment's; it is what refuses a credential anchored on another chain
holding a registry at the same address (a test network deployed with the same deployer key and
nonce, where the attacker registers "the university" with its DID and a key of their own). With
several URLs each read's chain id is asked of the endpoint that served it
(test_attack_fastpath_chain_id.py), but with one URL the verifier read the chain id once and kept
it for its life, as if one URL were one node for ever: a URL is a name (a load balancer's, a DNS
name moved to a standby, a node restarted on another network by mistake). Once the URL's node was
chain 4242, its forged doctorate, naming 31337 in its unsigned anchor entry, was VALID on the
running service (``/api/v1/verify``, the VC API) and in a verifier kept across applications.

Now a read's chain id is always asked with the hash of the block the read was at, in one request
(``eth_chainId`` beside that block's header), and kept by that hash: another chain's verdict
fails check 5, and a node that changed between the two requests cannot tell (NOT VERIFIABLE).
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.ledger.nodes import anvil
from talentproof.verifier.engine import Item, Verifier
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, anchor_batch, build, holder, issue, setup_chain, sign

pytestmark = pytest.mark.integration

NAME = "One Name University"
DID = "did:web:one-name.example.hk"


class SwitchingEndpoint:
    """One URL passing every JSON-RPC request on to ``upstream``, which the test may change."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = owner.relay(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def relay(self, body: bytes) -> bytes:
        """The answer of ``upstream`` to one request."""
        req = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return bytes(r.read())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def one_url(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The trusted chain A (31337) and the attacker's chain B (4242), the same registry address,
    behind one URL now reaching A; A's honest degree, B's forged doctorate naming 31337."""
    with (
        anvil(chain_id=31337, log_path=tmp_path / "a.log") as node_a,
        anvil(chain_id=4242, log_path=tmp_path / "b.log") as node_b,
    ):
        a, b = setup_chain(node_a), setup_chain(node_b)
        assert a.deployment.registry == b.deployment.registry
        uni_a = a.add_issuer(NAME, (DEGREE,), did=DID)
        uni_b = b.add_issuer(NAME, (DEGREE,), did=DID)
        honest = issue(a, uni_a, DEGREE, holder().public_key.did_key, institution=NAME)
        doc = build(DEGREE, DID, holder().public_key.did_key, institution=NAME, level="doctorate")
        forged = anchor_batch([sign(doc, uni_b.key)], uni_b.client, b.deployment, chain_id=31337)[0]
        endpoint = SwitchingEndpoint(node_a.rpc_url)
        try:
            yield {
                "endpoint": endpoint,
                "b": node_b.rpc_url,
                "record": str(a.save_deployment(tmp_path)),
                "registry": a.deployment.registry,
                "honest": honest,
                "forged": forged,
            }
        finally:
            endpoint.close()


def _failed(report: dict[str, Any]) -> list[int]:
    return [
        int(c["number"])
        for cred in report["credentials"]
        for c in cred["checks"]
        if c["status"] == "fail"
    ]


def test_attack_the_service_does_not_judge_another_chain_by_the_chain_id_read_once(one_url):
    app = create_app(ServiceSettings(rpc_url=one_url["endpoint"].url, trust=one_url["record"]))
    with TestClient(app) as client:
        r = client.post("/api/v1/verify", json={"documents": [one_url["honest"]]})
        assert r.json()["outcome"]["code"] == "VALID", r.text
        one_url["endpoint"].upstream = one_url["b"]  # the URL now reaches chain 4242
        r = client.post("/api/v1/verify", json={"documents": [one_url["forged"]]})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["outcome"]["code"] == "INVALID", report["outcome"]
        assert _failed(report) == [5], report
        r = client.post("/credentials/verify", json={"verifiableCredential": one_url["forged"]})
        assert r.json()["verified"] is False, r.text


@pytest.mark.parametrize("trust", ["record", "registry"])
def test_attack_a_kept_verifier_does_not_judge_another_chain_by_its_first_chain_id(one_url, trust):
    """A verifier kept across applications (a record naming chain 31337, or a bare registry
    address: the chain first read)."""
    verifier = Verifier.from_deployment(one_url[trust], one_url["endpoint"].url)
    first = verifier.verify_application([Item("honest.json", one_url["honest"])])
    assert first.outcome.outcome.value == "VALID", first.outcome
    one_url["endpoint"].upstream = one_url["b"]
    report = verifier.verify_application([Item("forged.json", one_url["forged"])])
    assert report.outcome.outcome.value == "INVALID", report.outcome
    assert _failed(report.to_json()) == [5], report.to_json()
