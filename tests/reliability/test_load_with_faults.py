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

import collections
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.issuer.issuer_helpers import OPERATOR_TOKEN, degree_request, settings_env
from tests.reliability.service_process import ServiceProcess, issuer_process

pytestmark = pytest.mark.integration

DURATION_S = float(os.environ.get("TALENTPROOF_RELIABILITY_DURATION_S", "60"))
CLIENTS = 32


def _free_port() -> int:
    from talentproof.ledger.nodes import free_port

    return free_port()


def _client_loop(
    url: str, token: str, stop: threading.Event, accepted: list[str], errors: collections.Counter
) -> None:
    with httpx.Client(base_url=url, timeout=15) as http:
        i = 0
        while not stop.is_set():
            i += 1
            req = degree_request(f"Load {threading.get_ident()} {i}", seed_byte=1 + i % 200)
            try:
                r = http.post(
                    "/credentials",
                    json=req,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )
            except httpx.HTTPError as exc:
                errors[f"refused ({type(exc).__name__})"] += 1
                time.sleep(0.5)  # back off: a refused request costs CPU the restart needs
                continue
            if 200 <= r.status_code < 300:
                accepted.append(r.json()["id"])
            else:
                errors[f"HTTP {r.status_code}"] += 1
                time.sleep(0.02)


def test_issuance_survives_chain_restarts_and_an_issuer_kill(tmp_path: Path) -> None:
    from sqlalchemy import select
    from web3 import Web3

    from talentproof.issuer.db import AnchorBatch, Credential
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings
    from talentproof.ledger.artifacts import load_artifact
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import LocalNode, NodeConfig
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.bulk import verify_items_bulk
    from talentproof.verifier.engine import Item, Verifier
    from talentproof.verifier.report import Verdict
    from talentproof.verifier.trust import TrustedDeployment

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
        onboarded = httpx.post(
            f"{issuer.url}/operator/institutions",
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            json={
                "name": "University of Testing",
                "slug": "load-uni",  # as its subjects name it
                "credential_types": ["DegreeCredential"],
            },
            timeout=60,
        )
        assert onboarded.status_code == 201, onboarded.text
        inst = onboarded.json()
        token = inst["api_key"]["token"]

        stop = threading.Event()
        accepted: list[str] = []
        errors: collections.Counter[str] = collections.Counter()
        threads = [
            threading.Thread(target=_client_loop, args=(issuer.url, token, stop, accepted, errors))
            for _ in range(CLIENTS)
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
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
        stop.set()
        for t in threads:
            t.join(30)
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

        fields = {
            k.removeprefix("TALENTPROOF_ISSUER_").lower(): v
            for k, v in settings_env(chain, data, public_url=f"http://127.0.0.1:{port}").items()
        }
        service = IssuerService(IssuerSettings(**fields))
        try:
            with service.sessions() as session:
                batches = {b.id: b for b in session.scalars(select(AnchorBatch))}
                rows = {c.id: c for c in session.scalars(select(Credential))}
                lost = [cid for cid in accepted if cid not in rows]
                unanchored = [
                    cid
                    for cid in accepted
                    if cid in rows
                    and (
                        rows[cid].batch_id is None
                        or batches[rows[cid].batch_id].state != "anchored"
                    )
                ]
                docs = [
                    service.holder_document(session, rows[cid])[0]
                    for cid in accepted
                    if cid in rows
                ]
        finally:
            service.close()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        registry = w3.eth.contract(
            address=deployment.registry, abi=load_artifact("TalentProofRegistry").abi
        )
        events = registry.events.RootAnchored().get_logs(
            from_block=0, argument_filters={"issuerId": inst["chain_issuer_id"]}
        )
        event_roots = [bytes(e["args"]["root"]) for e in events]
        anchored_roots = [b.root for b in batches.values() if b.state == "anchored"]
        used_batches = {rows[cid].batch_id for cid in accepted if cid in rows}

        trust = TrustedDeployment.load(record)
        verifier = Verifier(RegistryReader(node.rpc_url, trust.registry), trust)
        reports = verify_items_bulk(verifier, [Item(f"c{i}", d) for i, d in enumerate(docs)])
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
        assert not lost, f"{len(lost)} accepted credentials are missing from the database"
        assert not unanchored, f"{len(unanchored)} accepted credentials are not anchored"
        assert len(set(accepted)) == len(accepted)
        assert all(batches[b].state == "anchored" for b in used_batches)
        assert len(event_roots) == len(set(event_roots)), "a root was anchored twice"
        assert sorted(event_roots) == sorted(anchored_roots), "batches and RootAnchored differ"
        assert not invalid, invalid[0]
        assert len(reports) == len(accepted)
    finally:
        if issuer is not None:
            issuer.stop()
        node.stop()
