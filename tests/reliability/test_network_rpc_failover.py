"""The RPC node the issuer uses is killed under load, on a real geth network (issue 16.3 b).

A Clique network of three signers and two non-signing RPC nodes (`talentproof.ledger.network`);
a real issuer process (``talentproof issuer serve``: uvicorn, SQLite, the anchoring worker) and a
real verifier process (``talentproof verifier serve``), each given both RPC nodes' URLs. For
``TALENTPROOF_RPC_FAILOVER_DURATION_S`` seconds (default 40) ``CLIENTS`` threads issue
credentials over HTTP while:

- at 25 % the RPC node the issuer's ``/readyz`` names as current is killed with SIGKILL; the
  issuer and the verifier must name it in ``/readyz`` ``endpointsDown`` while it is down;
- at 65 % it is started again (same data folder and ports) and both must stop naming it.

After the load, the anchoring backlog drains; then the other RPC node (where the services moved)
is killed too, so the final checks run on the restarted node through failover: every accepted
credential is in exactly one anchored batch, each root appears once among the registry's
``RootAnchored`` events, every accepted credential verifies (in-process with a reader on both
URLs, and a sample through the verifier service), and both services report the second node
down. The test prints the counts (accepted, anchored, roots, failovers) and the timeline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.issuer.issuer_helpers import settings_env
from tests.reliability.load_helpers import (
    ClientLoad,
    issuer_settings,
    onboard,
    tally,
    verify_documents,
)
from tests.reliability.service_process import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-network")]

DURATION_S = float(os.environ.get("TALENTPROOF_RPC_FAILOVER_DURATION_S", "40"))
CLIENTS = 8
SAMPLE = 12  # credentials verified through the verifier service while a node is down


def _free_port() -> int:
    from talentproof.ledger.nodes import free_port

    return free_port()


def _until(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.25)


def test_issuance_and_verification_survive_the_rpc_node_being_killed(tmp_path: Path) -> None:
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.network import Network, NetworkConfig
    from talentproof.ledger.nodes import rpc_call
    from talentproof.verifier.report import Verdict

    net = Network(tmp_path / "net", NetworkConfig(signers=3, rpc_nodes=2, block_period=1))
    net.start()
    issuer: ServiceProcess | None = None
    verifier: ServiceProcess | None = None
    timeline: list[str] = []
    t0 = time.monotonic()

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - t0:6.1f} s  {what}")

    try:
        urls = net.rpc_urls
        node_of = {url: node.name for url, node in zip(urls, net.rpc_nodes, strict=True)}
        assert len(urls) == 2
        deployment = deploy_registry(urls[0], net.private_keys[0])
        record = tmp_path / "deployment.json"
        deployment.save(record)
        chain = {
            "rpc_url": ",".join(urls),
            "governor_key": net.private_keys[0],
            "deployment_file": record,
        }
        port = _free_port()
        data = tmp_path / "issuer"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
        issuer = ServiceProcess(
            ["issuer", "serve", "--port", str(port)],
            {
                **base_env,
                **settings_env(
                    chain,
                    data,
                    public_url=f"http://127.0.0.1:{port}",
                    batch_max_wait_s=0.5,
                    tx_timeout_s=5,
                    rpc_timeout_s=3,
                    rate_limit_per_s=0,
                    log_level="WARNING",
                    run_worker="true",
                ),
            },
            port,
            tmp_path / "issuer.log",
        )
        issuer.start()
        vport = _free_port()
        verifier = ServiceProcess(
            ["verifier", "serve", "--port", str(vport), "--trust", str(record)],
            {**base_env, "TALENTPROOF_VERIFIER_RPC_URL": ",".join(urls)},
            vport,
            tmp_path / "verifier.log",
        )
        verifier.start()
        inst = onboard(issuer.url, "load-uni", timeout=120)
        token = inst["api_key"]["token"]

        load = ClientLoad(
            issuer.url,
            token,
            CLIENTS,
            tag="Failover",
            timeout=30,
            no_answer="no answer",
            no_answer_pause_s=0.2,
            refused_pause_s=0.05,
        )
        accepted, errors = load.accepted, load.errors
        t0 = time.monotonic()
        load.start()
        mark(f"{CLIENTS} clients started")

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + fraction * DURATION_S - time.monotonic()))

        def head(url: str) -> int:
            return int(rpc_call(url, "eth_blockNumber"), 16)

        def down_in(service: ServiceProcess) -> list[str]:
            return list(service.ready()["chain"]["endpointsDown"])

        at(0.25)
        [current] = [e["url"] for e in issuer.ready()["chain"]["endpoints"] if e["current"]]
        other = next(u for u in urls if u != current)
        net.kill(node_of[current])
        killed_at = head(other)
        mark(
            f"{node_of[current]} ({current}, the issuer's) killed with SIGKILL at block {killed_at}"
        )
        # both services name the endpoint down while it is (a probe finds it, or a request)
        _until("the issuer's /readyz names it", lambda: down_in(issuer) == [current], 30)
        mark("issuer /readyz: endpointsDown " + str([current]))
        _until("the verifier's /readyz names it", lambda: down_in(verifier) == [current], 30)
        mark("verifier /readyz: endpointsDown " + str([current]))
        at(0.65)
        back_at = head(other)
        net.restart(node_of[current])
        mark(f"{node_of[current]} restarted")
        _until("the issuer's /readyz clears it", lambda: down_in(issuer) == [], 30)
        _until("the verifier's /readyz clears it", lambda: down_in(verifier) == [], 30)
        mark("issuer and verifier /readyz: no endpoint down")
        at(1.0)
        load.stop(60)
        elapsed = time.monotonic() - t0
        mark(f"load stopped: {len(accepted)} accepted")

        def drained() -> bool:
            anchoring = issuer.ready()["anchoring"]
            return anchoring["pending_credentials"] == 0 and anchoring["unconfirmed_batches"] == 0

        _until("the anchoring backlog drains", drained, 240)
        mark("anchoring drained")
        issuer_failovers = issuer.ready()["chain"]["failovers"]

        # now the node the services moved to dies: the checks run on the restarted one
        net.kill(node_of[other])
        mark(f"{node_of[other]} ({other}) killed with SIGKILL")
        service_ids = accepted[:: max(1, len(accepted) // SAMPLE)][:SAMPLE]
        docs_for_service = [
            httpx.get(
                f"{issuer.url}/credentials/{cid}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
            for cid in service_ids
        ]
        service_verdicts = [
            httpx.post(f"{verifier.url}/api/v1/verify", json={"documents": [doc]}, timeout=60)
            .json()["outcome"]["code"]
            for doc in docs_for_service
        ]  # fmt: skip
        _until(
            "the verifier's /readyz names the second node", lambda: down_in(verifier) == [other], 30
        )
        _until("the issuer's /readyz names the second node", lambda: down_in(issuer) == [other], 30)
        verifier_failovers = verifier.ready()["chain"]["failovers"]
        mark(f"verifier verified {len(service_verdicts)} through {current}; /readyz names {other}")
        issuer.stop()
        issuer = None

        settings = issuer_settings(chain, data, public_url=f"http://127.0.0.1:{port}")
        found = tally(settings, accepted, current, deployment.registry, inst["chain_issuer_id"])
        batches, rows, unanchored = found.batches, found.rows, found.unanchored
        event_roots, anchored_roots = found.event_roots, found.anchored_roots
        used_batches = {rows[cid].batch_id for cid in accepted if cid in rows}
        # anchored through the other node while the issuer's first node was down
        during = [
            b
            for b in batches.values()
            if b.block_number is not None and killed_at < b.block_number <= back_at
        ]

        # `other` is dead: failover
        reports, reader = verify_documents([other, current], record, found.docs)
        invalid = [r for r in reports if r.verdict is not Verdict.VALID]
        assert reader.endpoints is not None

        print("\n--- RPC node killed under load (geth Clique, 3 signers, 2 RPC nodes) ---")
        print("\n".join(timeline))
        print(
            f"duration {elapsed:.1f} s, {CLIENTS} clients: {len(accepted)} accepted "
            f"({len(accepted) / elapsed:.0f}/s), errors {dict(errors)}"
        )
        print(
            f"accepted {len(accepted)}, anchored {len(accepted) - len(unanchored)}, "
            f"batches anchored {len(anchored_roots)} ({len(during)} while "
            f"{node_of[current]} was down), RootAnchored roots {len(event_roots)} "
            f"({len(set(event_roots))} distinct), verified {len(reports) - len(invalid)}/"
            f"{len(reports)} in-process and {service_verdicts.count('VALID')}/"
            f"{len(service_verdicts)} by the verifier service; failovers: issuer "
            f"{issuer_failovers}, verifier service {verifier_failovers}, final reader "
            f"{reader.endpoints.failovers}"
        )
        assert accepted, "no request was accepted"
        found.check()
        assert len(set(accepted)) == len(accepted)
        assert all(batches[b].state == "anchored" for b in used_batches)
        assert not invalid, invalid[0]
        assert len(reports) == len(accepted)
        assert service_verdicts == ["VALID"] * len(service_verdicts), service_verdicts
        assert during, "nothing was anchored while the issuer's first RPC node was down"
        assert issuer_failovers >= 1 and verifier_failovers >= 1
        assert reader.endpoints.failovers == 1
    finally:
        for running in (issuer, verifier):
            if running is not None:
                running.stop()
        net.stop()
