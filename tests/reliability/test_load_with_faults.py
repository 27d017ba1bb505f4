"""Issuance under load with faults: nothing accepted is ever lost or anchored twice.

32 concurrent clients issue credentials for ``TALENTPROOF_RELIABILITY_DURATION_S`` seconds
(default 60) against a real issuer process (``talentproof issuer serve``: uvicorn, SQLite, the
anchoring worker inside) while:

- the Anvil node is stopped and restarted twice (state persisted with ``--state``, same port);
- the issuer process is killed once with SIGKILL and restarted on the same data folder.

Afterwards every accepted credential (every 2xx answer) is in exactly one batch, each batch root
appears exactly once in the registry's ``RootAnchored`` events (under our issuer id), and every
accepted credential verifies with ``talentproof.verifier`` (the engine in-process against the
chain). Requests refused while the issuer was down are fine; accepted then lost is not. The test
prints throughput, error counts and the fault timeline.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

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
from tests.reliability.service_process import ServiceProcess, issuer_process

pytestmark = pytest.mark.integration

DURATION_S = float(os.environ.get("TALENTPROOF_RELIABILITY_DURATION_S", "60"))
CLIENTS = 32


def _free_port() -> int:
    from talentproof.ledger.nodes import free_port

    return free_port()


def test_issuance_survives_chain_restarts_and_an_issuer_kill(tmp_path: Path) -> None:
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import LocalNode, NodeConfig
    from talentproof.verifier.report import Verdict

    config = NodeConfig(
        kind="anvil", port=_free_port(), state_path=tmp_path / "anvil-state.json", state_interval=1
    )
    node = LocalNode(config, log_path=tmp_path / "anvil.log").start()
    issuer: ServiceProcess | None = None
    timeline: list[str] = []
    t0 = time.monotonic()

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - t0:6.1f} s  {what}")

    try:
        deployment = deploy_registry(node.rpc_url, node.private_keys[0])
        record = tmp_path / "deployment.json"
        deployment.save(record)
        chain = {
            "rpc_url": node.rpc_url,
            "governor_key": node.private_keys[0],
            "deployment_file": record,
        }
        port = _free_port()
        data = tmp_path / "issuer"
        env = {
            **os.environ,
            **settings_env(
                chain,
                data,
                public_url=f"http://127.0.0.1:{port}",
                batch_max_wait_s=0.5,
                tx_timeout_s=5,
                rate_limit_per_s=0,  # one key for all 32 clients: measure the service, not the guard
                log_level="WARNING",
                run_worker="true",
            ),
        }
        issuer = issuer_process(env, port, tmp_path / "issuer.log")
        issuer.start()
        inst = onboard(issuer.url, "load-uni")  # as its subjects name it
        token = inst["api_key"]["token"]

        load = ClientLoad(
            issuer.url,
            token,
            CLIENTS,
            tag="Load",
            timeout=15,
            no_answer="refused",
            no_answer_pause_s=0.5,  # back off: a refused request costs CPU the restart needs
            refused_pause_s=0.02,
        )
        accepted, errors = load.accepted, load.errors
        t0 = time.monotonic()
        load.start()
        mark(f"{CLIENTS} clients started")

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + fraction * DURATION_S - time.monotonic()))

        at(0.15)
        node.stop()
        mark("anvil stopped (1)")
        at(0.30)
        node = LocalNode(config, log_path=tmp_path / "anvil.log").start()
        mark("anvil restarted (1)")
        at(0.45)
        issuer.kill()
        mark("issuer SIGKILLed")
        at(0.50)
        issuer.start()
        mark("issuer restarted")
        at(0.65)
        node.stop()
        mark("anvil stopped (2)")
        at(0.80)
        node = LocalNode(config, log_path=tmp_path / "anvil.log").start()
        mark("anvil restarted (2)")
        at(1.0)
        load.stop(30)
        elapsed = time.monotonic() - t0
        mark(f"load stopped: {len(accepted)} accepted")

        # wait until the worker has anchored everything
        deadline = time.monotonic() + 180
        ready: dict[str, Any] = {}
        while time.monotonic() < deadline:
            ready = httpx.get(f"{issuer.url}/readyz", timeout=10).json()
            if (
                ready["anchoring"]["pending_credentials"] == 0
                and ready["anchoring"]["unconfirmed_batches"] == 0
            ):
                break
            time.sleep(0.5)
        mark(f"anchoring drained: {ready.get('anchoring')}")
        issuer.stop()
        issuer = None

        settings = issuer_settings(chain, data, public_url=f"http://127.0.0.1:{port}")
        found = tally(
            settings, accepted, node.rpc_url, deployment.registry, inst["chain_issuer_id"]
        )
        batches, rows = found.batches, found.rows
        event_roots, anchored_roots = found.event_roots, found.anchored_roots
        used_batches = {rows[cid].batch_id for cid in accepted if cid in rows}
        reports, _ = verify_documents(node.rpc_url, record, found.docs)
        invalid = [r for r in reports if r.verdict is not Verdict.VALID]

        print("\n--- load with faults ---")
        print("\n".join(timeline))
        print(
            f"duration {elapsed:.1f} s, {CLIENTS} clients: {len(accepted)} accepted "
            f"({len(accepted) / elapsed:.0f}/s), errors {dict(errors)}"
        )
        print(
            f"batches anchored {len(anchored_roots)}, RootAnchored events {len(event_roots)}, "
            f"verified {len(reports) - len(invalid)}/{len(reports)}"
        )
        assert accepted, "no request was accepted"
        found.check()
        assert len(set(accepted)) == len(accepted)
        assert all(batches[b].state == "anchored" for b in used_batches)
        assert not invalid, invalid[0]
        assert len(reports) == len(accepted)
    finally:
        if issuer is not None:
            issuer.stop()
        node.stop()
