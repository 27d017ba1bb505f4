"""A dropped anchoring transaction is replaced (same nonce, higher fees) and the batch anchors."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from web3 import Web3

from talentproof.issuer.db import AnchorBatch

from .issuer_helpers import bearer, degree_request, onboard, worker_pass

pytestmark = pytest.mark.integration


def test_dropped_transaction_is_replaced(make_service, issuer_chain) -> None:
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app

    service = make_service(tx_timeout_s=1.0)
    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        cred = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
        w3.provider.make_request("evm_setAutomine", [False])
        worker, errors = worker_pass(client.app.state.worker)
        try:
            worker.start()
            deadline = time.monotonic() + 120  # a bound for a loaded machine, not a figure
            first_tx = None
            while time.monotonic() < deadline and first_tx is None:
                with service.sessions() as session:
                    first_tx = session.scalar(
                        select(AnchorBatch.tx_hash).where(AnchorBatch.state == "sent")
                    )
                time.sleep(0.05)
            assert first_tx is not None, "the worker never sent the anchoring transaction"
            w3.provider.make_request("anvil_dropAllTransactions", [])
        finally:
            w3.provider.make_request("evm_setAutomine", [True])
        worker.join(60)
        assert not errors, errors
        with service.sessions() as session:
            batch = session.scalars(select(AnchorBatch)).one()
        assert batch.state == "anchored"
        assert batch.tx_hash != first_tx and batch.tx_attempts == 2
        assert (
            service.metrics.registry.get_sample_value(
                "talentproof_issuer_transactions_replaced_total"
            )
            == 1
        )
        assert (
            client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()["status"]
            == "anchored"
        )
