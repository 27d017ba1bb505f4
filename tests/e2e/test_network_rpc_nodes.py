"""`talentproof run --chain network --rpc-nodes 2` (issue 16.3 b): two non-signing RPC nodes, and
the issuer and the verifier given both URLs: the issuer's RPC node killed with SIGKILL, a
credential is still issued, anchored and verified, and both services' ``/readyz`` name the dead
node. (The load test with a restart: tests/reliability/test_network_rpc_failover.py.)"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.qr import encode_payload
from talentproof.demo import demo_subjects
from talentproof.ledger.network import Network

from .stack import Stack, alive

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-network")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(
        tmp_path_factory.mktemp("e2e-network-rpc") / "data",
        chain="network",
        args=["--rpc-nodes", "2"],
    )
    running.start(timeout=600)
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def _ready(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/readyz", timeout=30).json())


def _anchored(stack: Stack, slug: str, cred_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        status = httpx.get(
            f"{stack.issuer_url}/credentials/{cred_id}/anchor",
            headers={"Authorization": f"Bearer {stack.api_key(slug)}"},
            timeout=30,
        ).json()
        if status["status"] == "anchored":
            return dict(status)
        assert time.monotonic() < deadline, f"{cred_id} not anchored: {status}"
        time.sleep(0.25)


def test_both_services_get_every_rpc_node_and_survive_the_first_one_dying(stack: Stack) -> None:
    net = Network(stack.data_dir / "chain" / "network")
    nodes = {n.name: n for n in net.status()}
    assert [n for n in nodes if n.startswith("rpc-")] == ["rpc-1", "rpc-2"]
    urls = net.rpc_urls
    assert urls[0] == stack.rpc_url and len(set(urls)) == 2
    said = stack.output()
    assert "3 Clique signers and 2 RPC nodes, a block every 1 s" in said, said
    assert f"JSON-RPC {','.join(urls)} (the services fail over between them)" in said, said
    for service in (stack.issuer_url, stack.verifier_url):
        ready = _ready(service)
        assert [e["url"] for e in ready["chain"]["endpoints"]] == urls, ready
        assert ready["chain"]["endpointsDown"] == [], ready

    pid = nodes["rpc-1"].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    slug = "harbour-university"
    request = demo_subjects(Ed25519SigningKey.generate().public_key.did_key)[slug]
    issued = httpx.post(
        f"{stack.issuer_url}/credentials",
        json=request,
        headers={
            "Authorization": f"Bearer {stack.api_key(slug)}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )
    assert issued.status_code == 202, issued.text
    anchored = _anchored(stack, slug, issued.json()["id"])
    assert anchored["batch"]["blockNumber"] > 0
    doc = httpx.get(
        f"{stack.issuer_url}/credentials/{issued.json()['id']}",
        headers={"Authorization": f"Bearer {stack.api_key(slug)}"},
        timeout=30,
    ).json()
    verdict = httpx.post(
        f"{stack.verifier_url}/api/v1/verify", json={"payloads": [encode_payload(doc)]}, timeout=60
    ).json()
    assert verdict["outcome"]["code"] == "VALID", verdict
    assert not alive(pid)
    for service in (stack.issuer_url, stack.verifier_url):
        ready = _ready(service)
        assert ready["chain"]["endpointsDown"] == [urls[0]], ready
        assert ready["status"] == "degraded" and ready["chain"]["failovers"] >= 1, ready
    # the stack goes on without the node, and says it died
    assert stack.process is not None and stack.process.poll() is None
    assert "rpc-1 stopped unexpectedly" in stack.output()
