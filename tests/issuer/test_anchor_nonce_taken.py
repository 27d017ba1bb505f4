"""The anchoring worker when another transaction takes its anchor's nonce during an RPC failover.

The issuer runs on two endpoints; the first dies on the ``anchorRoot`` broadcast without relaying
it while another sender of the institution's account (another process with its key) takes that
nonce. The second endpoint answers ``nonce too low``, which the failover transport takes as
"sent" (`talentproof.ledger.endpoints`): the batch is recorded sent with a transaction that can
never be mined. The worker must find that out, never report the batch anchored while the chain
does not show its root, and anchor the root exactly once with a new transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.issuer.app import create_app
from talentproof.issuer.db import AnchorBatch, Institution
from talentproof.ledger.nodes import rpc_call
from talentproof.verifier.engine import Verdict
from tests.ledger.dying_endpoint import DyingEndpoint
from tests.ledger.test_nonce_taken_on_failover import raw_hash, take_nonce
from tests.reliability.load_helpers import tally, verify_documents

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def test_a_taken_anchor_nonce_is_re_anchored_once_and_never_reported_anchored_before(
    make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    live = issuer_chain["rpc_url"]
    dying = DyingEndpoint(live)
    service = make_service(rpc_url=f"{dying.url},{live}", tx_timeout_s=1.0)
    try:
        with TestClient(create_app(service, run_worker=False)) as client:
            inst = onboard(client)  # through the first endpoint, alive until armed
            token = inst["api_key"]["token"]
            ids = [
                client.post(
                    "/credentials", headers=bearer(token), json=degree_request(f"Field {i}")
                ).json()["id"]
                for i in range(3)
            ]
            with service.sessions() as session:
                row = session.scalars(select(Institution).where(Institution.slug == inst["slug"]))
                key = "0x" + service.account_key(row.one()).hex()
            taken: dict[str, str] = {}
            dying.arm(lambda _raw: taken.update(take_nonce(live, key)))

            worker = client.app.state.worker
            worker.backoff_s = 0.0  # a failing institution is tried again by the next pass
            issuer_id = int(inst["chain_issuer_id"])
            passes, recorded_hashes = 0, []
            while passes < 10:
                passes += 1
                worker.run_once(force=True)
                with service.sessions() as session:
                    batch = session.scalars(select(AnchorBatch)).one()
                if batch.tx_hash and batch.tx_hash not in recorded_hashes:
                    recorded_hashes.append(batch.tx_hash)
                on_chain = service.chain.anchor_record(batch.root, issuer_id)
                statuses = {
                    client.get(f"/credentials/{i}/anchor", headers=bearer(token)).json()["status"]
                    for i in ids
                }
                if on_chain is None:  # never reported anchored before the chain shows it
                    assert batch.state != "anchored" and "anchored" not in statuses, (
                        batch.state,
                        statuses,
                    )
                if batch.state == "anchored":
                    assert statuses == {"anchored"}
                    break
            assert batch.state == "anchored", f"not anchored after {passes} passes"
            assert dying.died_on is not None and taken, "the first endpoint did not die"
            lost = raw_hash(dying.died_on)
            # the batch was recorded sent with the transaction that lost its nonce, then anchored
            # by a new one at a later nonce
            assert recorded_hashes[0] == lost and batch.tx_hash != lost, recorded_hashes
            assert rpc_call(live, "eth_getTransactionByHash", [lost]) is None
            assert batch.tx_nonce == int(taken["nonce"], 16) + 1
            # every credential anchored, the root anchored exactly once, and they verify
            found = tally(service.settings, ids, live, issuer_chain["registry"], issuer_id)
            found.check()
            assert found.event_roots == [batch.root]
            reports, _ = verify_documents(live, issuer_chain["deployment_file"], found.docs)
            assert [r.verdict for r in reports] == [Verdict.VALID] * len(ids)
            print(
                f"\nnonce {int(taken['nonce'], 16)} taken by another sender during the failover; "
                f"anchored by pass {passes} at nonce {batch.tx_nonce} "
                f"(attempts {batch.tx_attempts}, hashes recorded {len(recorded_hashes)})"
            )
    finally:
        dying.close()
