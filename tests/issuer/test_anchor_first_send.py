"""A batch never recorded sent is sent without asking the registry first (one ``anchor()`` view
call less a batch: every bulk chunk's batch), and still ends anchored exactly once when a crash
had sent it already: its send fails (the registry refuses the root at estimation, or the issuer
was suspended since) and the chain's record is asked then (real Anvil)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from talentproof.issuer.db import AnchorBatch, InstitutionRow

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def _governance(issuer_chain: dict[str, Any]) -> Any:
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


class _Views:
    """Counts the worker's ``anchor()`` view calls (the real call runs)."""

    def __init__(self, chain: Any) -> None:
        self.calls = 0
        self._real = chain.anchor_record

    def __call__(self, root: bytes, issuer_id: int | None) -> Any:
        self.calls += 1
        return self._real(root, issuer_id)


def _built_batch(client: Any, service: Any) -> tuple[dict[str, Any], int, bytes, int]:
    """An institution with one credential in a ``built`` batch, never sent: (institution, batch
    id, root, leaf count)."""
    from talentproof.issuer.anchoring import AnchorWorker

    inst = onboard(client)
    answer = client.post(
        "/credentials", headers=bearer(inst["api_key"]["token"]), json=degree_request()
    )
    assert answer.status_code == 202, answer.text
    with service.sessions() as session:
        inst_id = session.scalar(
            select(InstitutionRow.id).where(InstitutionRow.slug == inst["slug"])
        )
    batch_id = AnchorWorker(service).form_batch(inst_id, force=True)
    assert batch_id is not None
    with service.sessions() as session:
        batch = session.get(AnchorBatch, batch_id)
        assert batch is not None and batch.state == "built" and batch.tx_record is None
        return inst, batch_id, batch.root, batch.leaf_count


def _send_as_a_crashed_worker(service: Any, inst: dict[str, Any], root: bytes, leaves: int) -> int:
    """Anchor ``root`` from the institution's account and wait for it, recording nothing (a
    worker killed at ``after_send``); the block it is mined in."""
    with service.sessions() as session:
        row = session.scalar(select(InstitutionRow).where(InstitutionRow.slug == inst["slug"]))
        key = service.account_key(row)
    pending = service.chain.send_anchor(key, root, leaves)
    receipt = service.chain.wait(key, pending, 30)
    return int(receipt["blockNumber"])


def _state(service: Any, batch_id: int) -> tuple[str, int | None]:
    with service.sessions() as session:
        batch = session.get(AnchorBatch, batch_id)
        assert batch is not None
        return batch.state, batch.block_number


def test_a_batch_never_sent_is_sent_without_a_view_call(client, service, monkeypatch) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    _inst, batch_id, _root, _leaves = _built_batch(client, service)
    views = _Views(service.chain)
    monkeypatch.setattr(service.chain, "anchor_record", views)
    AnchorWorker(service).drain(30)
    assert _state(service, batch_id)[0] == "anchored"
    assert views.calls == 0


def test_a_batch_a_crash_sent_is_recorded_not_sent_again(
    client, service, issuer_chain, monkeypatch
) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    inst, batch_id, root, leaves = _built_batch(client, service)
    block = _send_as_a_crashed_worker(service, inst, root, leaves)
    views = _Views(service.chain)
    monkeypatch.setattr(service.chain, "anchor_record", views)
    AnchorWorker(service).drain(30)
    assert _state(service, batch_id) == ("anchored", block)  # the first send's block: no second
    assert views.calls == 1  # asked once, after the registry refused the root


def test_a_batch_a_crash_sent_is_recorded_while_the_issuer_is_suspended(
    client, service, issuer_chain
) -> None:
    """The send fails with ``AnchorIssuerNotActive`` (checked before the root), not with
    ``AnchorAlreadyAnchored``: the chain's record is still asked, and the batch is anchored,
    not held back until the ledger reinstates the issuer."""
    from talentproof.issuer.anchoring import AnchorWorker

    inst, batch_id, root, leaves = _built_batch(client, service)
    block = _send_as_a_crashed_worker(service, inst, root, leaves)
    _governance(issuer_chain).suspend_issuer(inst["chain_issuer_id"])
    worker = AnchorWorker(service)
    worker.drain(30)
    assert _state(service, batch_id) == ("anchored", block)
    assert not worker.waiting and not worker.failing


def test_a_pass_that_ran_out_of_work_is_not_run_again_at_once(make_service, monkeypatch) -> None:
    """The worker's loop runs the next pass at once only when a pass may have left work (its
    rounds ran out): a pass that ended on a round with nothing to send would find nothing now
    (work that arrives wakes the worker), so it waits; the pass after an anchoring pass was
    pure overhead in every bulk chunk (the chain's head, five queries)."""
    from fastapi.testclient import TestClient

    from talentproof.issuer import anchoring
    from talentproof.issuer.anchoring import AnchorWorker
    from talentproof.issuer.app import create_app

    service = make_service(batch_max_leaves=1)
    with TestClient(create_app(service, run_worker=False)) as client:
        inst = onboard(client)
        for i in range(3):
            answer = client.post(
                "/credentials",
                headers=bearer(inst["api_key"]["token"]),
                json=degree_request(f"Field {i}"),
            )
            assert answer.status_code == 202, answer.text
        monkeypatch.setattr(anchoring, "ROUNDS_PER_PASS", 2)
        worker = AnchorWorker(service)
        worker.lease.wait(10)
        assert worker.run_once() and worker.work_left  # 2 of 3 batches: its rounds ran out
        assert worker.run_once() and not worker.work_left  # the third, then an empty round
        assert not worker.run_once() and not worker.work_left
        with service.sessions() as session:
            states = list(session.scalars(select(AnchorBatch.state)))
        assert states == ["anchored"] * 3
