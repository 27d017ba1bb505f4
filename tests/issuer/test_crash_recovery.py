"""The anchoring worker is killed at each crash point and restarted: every credential ends
anchored exactly once (one batch each, each root anchored once on chain, by its issuer)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from talentproof.issuer.db import AnchorBatch, CredentialRow

from .issuer_helpers import bearer, degree_request, onboard, run_worker_once

pytestmark = pytest.mark.integration

N_CREDENTIALS = 10
MAX_LEAVES = 4


def _root_anchored_events(chain: dict[str, Any], issuer_id: int) -> list[bytes]:
    from web3 import Web3

    from talentproof.ledger.artifacts import load_artifact

    w3 = Web3(Web3.HTTPProvider(chain["rpc_url"]))
    contract = w3.eth.contract(
        address=chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    logs = contract.events.RootAnchored().get_logs(
        from_block=0, argument_filters={"issuerId": issuer_id}
    )
    return [bytes(log["args"]["root"]) for log in logs]


def test_worker_killed_at_each_crash_point_resumes_without_loss_or_duplicate(
    client, service, issuer_chain, tmp_path
) -> None:
    """Kill at while_forming (batch 1 half formed), at before_send (batch 1 freed, a new batch 1
    built, nothing sent), then at after_send (batch 1 mined on
    chain but not recorded), then at after_receipt (batch 2 mined, receipt not recorded); the
    last restart finishes. Each restart first resumes what the previous crash left."""
    inst = onboard(client)
    token = inst["api_key"]["token"]
    ids = []
    for i in range(N_CREDENTIALS):
        response = client.post(
            "/credentials", headers=bearer(token), json=degree_request(f"Field {i}")
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    def batch_states() -> list[str]:
        with service.sessions() as session:
            return list(session.scalars(select(AnchorBatch.state).order_by(AnchorBatch.id)))

    def anchored_roots() -> list[bytes]:
        return _root_anchored_events(issuer_chain, inst["chain_issuer_id"])

    crashed = run_worker_once(issuer_chain, tmp_path, "while_forming", batch_max_leaves=MAX_LEAVES)
    assert crashed.returncode == 86, crashed.stderr[-2000:]
    assert batch_states() == ["forming"] and anchored_roots() == []
    with service.sessions() as session:  # its leaves are taken until the next worker frees them
        assert session.scalar(select(func.count()).where(CredentialRow.batch_id.is_not(None))) > 0

    crashed = run_worker_once(issuer_chain, tmp_path, "before_send", batch_max_leaves=MAX_LEAVES)
    assert crashed.returncode == 86, crashed.stderr[-2000:]
    assert batch_states() == ["built"] and anchored_roots() == []  # the forming one was freed

    crashed = run_worker_once(issuer_chain, tmp_path, "after_send", batch_max_leaves=MAX_LEAVES)
    assert crashed.returncode == 86, crashed.stderr[-2000:]
    assert batch_states() == ["built"] and len(anchored_roots()) == 1  # on chain, not recorded

    crashed = run_worker_once(issuer_chain, tmp_path, "after_receipt", batch_max_leaves=MAX_LEAVES)
    assert crashed.returncode == 86, crashed.stderr[-2000:]
    assert batch_states() == ["anchored", "sent"] and len(anchored_roots()) == 2

    resumed = run_worker_once(issuer_chain, tmp_path, None, batch_max_leaves=MAX_LEAVES)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    with service.sessions() as session:
        batches = list(session.scalars(select(AnchorBatch)))
        assert all(b.state == "anchored" for b in batches)
        assert sum(b.leaf_count for b in batches) == N_CREDENTIALS
        per_cred = session.execute(select(CredentialRow.id, CredentialRow.batch_id)).all()
        assert {c.id for c in per_cred} == set(ids)
        assert all(c.batch_id is not None for c in per_cred)
        assert (
            session.scalar(select(func.count(func.distinct(CredentialRow.credential_hash))))
            == N_CREDENTIALS
        )
    on_chain = anchored_roots()
    assert sorted(on_chain) == sorted(b.root for b in batches)  # each root exactly once
    for cred_id in ids:
        status = client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()
        assert status["status"] == "anchored"
