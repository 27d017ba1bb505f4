"""The anchoring worker when another transaction takes its anchor's nonce during an RPC failover.

The issuer runs on two endpoints; the first dies on the ``anchorRoot`` broadcast without relaying
it while another sender of the institution's account (another process with its key) takes that
nonce. The second endpoint answers ``nonce too low``; it does not know our transaction, so the
failover transport must not take that as "sent" (`talentproof.ledger.endpoints`), and the anchor
is signed again at the next nonce. The second test takes the nonce without any failover: another
sender replaces the worker's recorded anchor in the node's pool, so the batch is recorded sent
with a transaction that can never be mined. Either way the worker must never report the batch
anchored while the chain does not show its root, and must anchor the root exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.issuer.app import create_app
from talentproof.issuer.db import AnchorBatch, InstitutionRow
from talentproof.ledger.nodes import rpc_call
from talentproof.verifier.engine import Verdict
from tests.ledger.dying_endpoint import DyingEndpoint
from tests.ledger.test_nonce_taken_on_failover import raw_hash, take_nonce
from tests.reliability.load_helpers import tally, verify_documents

from .issuer_helpers import bearer, degree_request, onboard, worker_pass

pytestmark = pytest.mark.integration


@dataclass
class Issued:
    """An onboarded institution with credentials issued and not yet anchored."""

    client: TestClient
    service: Any
    token: str
    issuer_id: int
    key: str  # the institution's chain-account key (0x-hex)
    ids: list[str]
    #: the transaction hashes the batch was recorded sent with, in order
    recorded: list[str] = field(default_factory=list)


def _issue(client: TestClient, service: Any) -> Issued:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    ids = [
        client.post(
            "/credentials", headers=bearer(token), json=degree_request(f"Field {i}")
        ).json()["id"]
        for i in range(3)
    ]
    with service.sessions() as session:
        row = session.scalars(select(InstitutionRow).where(InstitutionRow.slug == inst["slug"]))
        key = "0x" + service.account_key(row.one()).hex()
    return Issued(client, service, token, int(inst["chain_issuer_id"]), key, ids)


def _batch(issued: Issued) -> AnchorBatch:
    with issued.service.sessions() as session:
        batch: AnchorBatch = session.scalars(select(AnchorBatch)).one()
    if batch.tx_hash and batch.tx_hash not in issued.recorded:
        issued.recorded.append(batch.tx_hash)
    return batch


def _batch_state(service: Any) -> str | None:
    with service.sessions() as session:
        return session.scalar(select(AnchorBatch.state))


def _check_not_anchored_early(issued: Issued) -> AnchorBatch:
    """The batch now; asserts that neither it nor its credentials are reported anchored while
    the chain does not show its root."""
    batch = _batch(issued)
    on_chain = issued.service.chain.anchor_record(batch.root, issued.issuer_id)
    statuses = {
        issued.client.get(f"/credentials/{i}/anchor", headers=bearer(issued.token)).json()["status"]
        for i in issued.ids
    }
    if on_chain is None:
        assert batch.state != "anchored" and "anchored" not in statuses, (batch.state, statuses)
    if batch.state == "anchored":
        assert statuses == {"anchored"}, statuses
    return batch


def _anchor(issued: Issued, passes: int = 10) -> tuple[AnchorBatch, int]:
    """Worker passes until the batch is anchored (checked after each); the batch and the
    passes it took."""
    worker = issued.client.app.state.worker  # type: ignore[attr-defined]
    worker.backoff_s = 0.0  # a failing institution is tried again by the next pass
    for failure in worker.failing.values():
        failure.retry_at = 0.0
    for done in range(1, passes + 1):
        worker.run_once(force=True)
        batch = _check_not_anchored_early(issued)
        if batch.state == "anchored":
            return batch, done
    raise AssertionError(f"not anchored after {passes} passes: {batch.state}")


def _anchored_once_and_valid(issued: Issued, rpc_url: str, chain: dict[str, Any]) -> None:
    """Every credential anchored, the root anchored exactly once, and they verify."""
    found = tally(issued.service.settings, issued.ids, rpc_url, chain["registry"], issued.issuer_id)
    found.check()
    assert len(found.event_roots) == 1
    reports, _ = verify_documents(rpc_url, chain["deployment_file"], found.docs)
    assert [r.verdict for r in reports] == [Verdict.VALID] * len(issued.ids)


def test_a_nonce_taken_during_a_failover_is_not_taken_as_sent(
    make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    live = issuer_chain["rpc_url"]
    dying = DyingEndpoint(live)
    service = make_service(rpc_url=f"{dying.url},{live}", tx_timeout_s=1.0)
    try:
        with TestClient(create_app(service, run_worker=False)) as client:
            issued = _issue(client, service)  # through the first endpoint, alive until armed
            taken: dict[str, str] = {}
            dying.arm(lambda _raw: taken.update(take_nonce(live, issued.key)))
            batch, passes = _anchor(issued)
            assert dying.died_on is not None and taken, "the first endpoint did not die"
            lost = raw_hash(dying.died_on)
            # the lost transaction was never taken as sent: the anchor was signed again at the
            # next nonce by the same pass
            assert issued.recorded == [batch.tx_hash] and batch.tx_hash != lost, issued.recorded
            assert passes == 1 and batch.tx_attempts == 1
            assert rpc_call(live, "eth_getTransactionByHash", [lost]) is None
            assert batch.tx_nonce == int(taken["nonce"], 16) + 1
            _anchored_once_and_valid(issued, live, issuer_chain)
    finally:
        dying.close()


def test_a_recorded_anchor_whose_nonce_another_sender_took_is_re_anchored_once(
    make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    live = issuer_chain["rpc_url"]
    service = make_service(tx_timeout_s=5.0)
    with TestClient(create_app(service, run_worker=False)) as client:
        issued = _issue(client, service)
        worker = client.app.state.worker

        rpc_call(live, "evm_setAutomine", [False])
        thread, errors = worker_pass(worker)
        try:
            thread.start()
            deadline = time.monotonic() + 30
            while _batch_state(service) != "sent":
                assert time.monotonic() < deadline, "the worker never sent the anchor"
                time.sleep(0.02)
            # another sender of the account replaces the recorded anchor in the pool (same
            # nonce, higher fees), and that is what gets mined
            sent = orjson.loads(_batch(issued).tx_record or "{}")
            fields = sent["fields"]
            account = Account.from_key(issued.key)
            other = account.sign_transaction(
                {
                    "type": 2,
                    "to": account.address,
                    "value": 0,
                    "gas": 21_000,
                    "nonce": sent["nonce"],
                    "chainId": sent["chainId"],
                    "maxPriorityFeePerGas": int(fields["maxPriorityFeePerGas"]) * 3,
                    "maxFeePerGas": int(fields["maxFeePerGas"]) * 3,
                }
            )
            other_hash = rpc_call(
                live, "eth_sendRawTransaction", ["0x" + bytes(other.raw_transaction).hex()]
            )
            rpc_call(live, "evm_mine", [])
        finally:
            rpc_call(live, "evm_setAutomine", [True])
        thread.join(60)
        assert not errors, errors
        mined = rpc_call(live, "eth_getTransactionReceipt", [other_hash])
        assert mined is not None and int(mined["status"], 16) == 1
        lost = sent["txHash"]
        assert rpc_call(live, "eth_getTransactionReceipt", [lost]) is None
        _check_not_anchored_early(issued)
        batch, passes = _anchor(issued)
        # recorded with the lost transaction, then re-anchored with a new one at a later nonce
        assert issued.recorded[0] == lost and batch.tx_hash != lost, issued.recorded
        assert batch.tx_nonce > sent["nonce"]
        assert rpc_call(live, "eth_getTransactionReceipt", [lost]) is None
        _anchored_once_and_valid(issued, live, issuer_chain)
        print(
            f"\nnonce {sent['nonce']} taken by another sender's replacement; re-anchored at "
            f"nonce {batch.tx_nonce} by pass {passes} after the first"
        )
