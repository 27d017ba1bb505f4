"""The anchoring worker sends every due institution's anchor before waiting for any receipt (issue
16 debt c): on a chain with block period T a pass over k institutions takes about one block, not
k x 1.5 T. Exactly once and crash safety as before: each anchor is recorded ``sent`` right after
its broadcast, so a worker killed while several are in flight resumes each of them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.issuer.app import create_app
from talentproof.issuer.db import AnchorBatch
from talentproof.ledger.nodes import rpc_call
from talentproof.verifier.engine import Verdict
from tests.reliability.load_helpers import tally, verify_documents

from .issuer_helpers import bearer, degree_request, onboard, run_worker_once, worker_pass

pytestmark = pytest.mark.integration

INSTITUTIONS = 3


def _issue_each(client: TestClient, institutions: list[dict[str, Any]], tag: str) -> dict[int, str]:
    """One credential per institution: its id by issuer id."""
    ids = {}
    for inst in institutions:
        answer = client.post(
            "/credentials",
            headers=bearer(inst["api_key"]["token"]),
            json=degree_request(f"Field {tag}"),
        )
        assert answer.status_code == 202, answer.text
        ids[int(inst["chain_issuer_id"])] = answer.json()["id"]
    return ids


def _check(service: Any, chain: dict[str, Any], issued: dict[int, list[str]]) -> None:
    """Every credential anchored, each institution's batches its RootAnchored events (each root
    once), and every credential verifies."""
    for issuer_id, ids in issued.items():
        found = tally(service.settings, ids, chain["rpc_url"], chain["registry"], issuer_id)
        assert not found.lost and not found.unanchored, (found.lost, found.unanchored)
        roots = {found.batches[found.rows[c].batch_id].root for c in ids}
        assert sorted(found.event_roots) == sorted(roots), "a batch anchored twice or not"
        reports, _ = verify_documents(chain["rpc_url"], chain["deployment_file"], found.docs)
        assert [r.verdict for r in reports] == [Verdict.VALID] * len(ids)


def test_one_pass_sends_every_institutions_anchor_before_waiting(
    make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    live = issuer_chain["rpc_url"]
    service = make_service(tx_timeout_s=30)
    with TestClient(create_app(service, run_worker=False)) as client:
        institutions = [onboard(client) for _ in range(INSTITUTIONS)]
        ids = _issue_each(client, institutions, "pipelined")
        worker = client.app.state.worker  # type: ignore[attr-defined]

        def sent() -> list[AnchorBatch]:
            with service.sessions() as session:
                return list(session.scalars(select(AnchorBatch).where(AnchorBatch.state == "sent")))

        rpc_call(live, "evm_setAutomine", [False])
        thread, errors = worker_pass(worker)
        try:
            thread.start()
            deadline = time.monotonic() + 120  # a bound for a loaded machine, not a figure
            while len(sent()) < INSTITUTIONS and time.monotonic() < deadline:
                time.sleep(0.02)
            in_flight = sent()
            # nothing is mined yet, and every institution's anchor is out
            assert len(in_flight) == INSTITUTIONS, (
                f"{len(in_flight)} of {INSTITUTIONS} anchors sent before the first receipt"
            )
            rpc_call(live, "evm_mine", [])
        finally:
            rpc_call(live, "evm_setAutomine", [True])
        thread.join(60)
        assert not errors, errors
        with service.sessions() as session:
            batches = list(session.scalars(select(AnchorBatch)))
        assert [b.state for b in batches] == ["anchored"] * INSTITUTIONS
        assert len({b.block_number for b in batches}) == 1  # one block for all of them
        _check(service, issuer_chain, {k: [v] for k, v in ids.items()})


def _run_worker(chain: dict[str, Any], data_dir: Path, crash_at: str | None) -> int:
    """``issuer worker --once`` (killed at ``crash_at``), two leaves a batch; its exit code."""
    done = run_worker_once(chain, data_dir, crash_at, batch_max_leaves=2)
    assert done.returncode in (0, 86), done.stderr[-2000:]
    return done.returncode


@pytest.mark.parametrize("crash_at", ["before_receipts", "after_receipt"])
def test_a_worker_killed_with_several_anchors_in_flight_resumes_each_once(
    crash_at: str, client: TestClient, service: Any, issuer_chain: dict[str, Any], tmp_path: Path
) -> None:
    """Killed after a round sent every institution's anchor (the first institution has a
    second batch, for the next round: one account never has two anchors in flight): with none
    awaited (``before_receipts``; the node then loses its pool, as on a restart, so the
    restarted worker must rebroadcast each recorded transaction) or after the first receipt
    (``after_receipt``). The restarted worker anchors every batch exactly once."""
    live = issuer_chain["rpc_url"]
    institutions = [onboard(client) for _ in range(INSTITUTIONS)]
    issued: dict[int, list[str]] = {int(i["chain_issuer_id"]): [] for i in institutions}
    for round_ in range(2):  # two credentials each: one batch each (max 2 leaves) ...
        for issuer_id, cred in _issue_each(client, institutions, f"crash {round_}").items():
            issued[issuer_id].append(cred)
    for issuer_id, cred in _issue_each(client, institutions[:1], "crash 2").items():
        issued[issuer_id].append(cred)  # ... and a second batch for the first institution
    mined = crash_at == "after_receipt"
    if not mined:
        rpc_call(live, "evm_setAutomine", [False])
    try:
        assert _run_worker(issuer_chain, tmp_path, crash_at) == 86
        with service.sessions() as session:
            states = sorted(session.scalars(select(AnchorBatch.state)))
        assert states == ["sent"] * INSTITUTIONS, states  # every institution's anchor was out
        if not mined:
            rpc_call(live, "anvil_dropAllTransactions", [])
    finally:
        rpc_call(live, "evm_setAutomine", [True])
    assert _run_worker(issuer_chain, tmp_path, None) == 0
    with service.sessions() as session:
        states = sorted(session.scalars(select(AnchorBatch.state)))
    assert states == ["anchored"] * (INSTITUTIONS + 1), states
    _check(service, issuer_chain, issued)
