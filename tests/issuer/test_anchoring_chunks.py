"""Batches are formed a chunk of credentials per transaction (the writer lock is held briefly):
every batch that is sent holds exactly its leaves, and a batch disturbed while it is formed is
abandoned, its credentials batched again, none lost or anchored twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from talentproof.issuer import anchoring
from talentproof.issuer.anchoring import AnchorWorker, ConcurrentBatching
from talentproof.issuer.db import AnchorBatch, CredentialRow, InstitutionRow

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration

N = 10


def _issue(client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    token = inst["api_key"]["token"]
    ids = []
    for i in range(N):
        r = client.post("/credentials", headers=bearer(token), json=degree_request(f"Field {i}"))
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    return token, ids


def _check_all_anchored_once(client, service, token: str, ids: list[str]) -> list[AnchorBatch]:  # type: ignore[no-untyped-def]
    with service.sessions() as session:
        batches = list(session.scalars(select(AnchorBatch).order_by(AnchorBatch.id)))
        rows = session.execute(
            select(CredentialRow.id, CredentialRow.batch_id, CredentialRow.leaf_index)
        ).all()
    assert all(b.state == "anchored" for b in batches)
    assert sum(b.leaf_count for b in batches) == N
    for b in batches:  # each batch holds exactly its leaves, indexed 0..n-1
        assert sorted(r.leaf_index for r in rows if r.batch_id == b.id) == list(range(b.leaf_count))
    assert {r.id for r in rows} == set(ids)
    for cred_id in ids:
        status = client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()
        assert status["status"] == "anchored"
    with service.sessions() as session:
        issuer_ids = {
            session.get(InstitutionRow, b.institution_id).chain_issuer_id for b in batches
        }
    (issuer_id,) = issuer_ids
    records = [service.chain.anchor_record(b.root, issuer_id) for b in batches]
    # every root on chain, by this institution
    assert all(r is not None and r.issuer_id == issuer_id for r in records)
    return batches


def test_batches_formed_in_chunks_hold_exactly_their_leaves(client, service) -> None:  # type: ignore[no-untyped-def]
    token, ids = _issue(client)
    worker: AnchorWorker = client.app.state.worker
    worker.form_chunk = 3  # 10 credentials: chunks of 3, 3, 3 and 1
    worker.drain(30)
    batches = _check_all_anchored_once(client, service, token, ids)
    assert [b.leaf_count for b in batches] == [N]


def test_a_batch_disturbed_while_forming_is_abandoned_and_its_leaves_batched_again(
    client, service, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    token, ids = _issue(client)
    worker: AnchorWorker = client.app.state.worker
    worker.form_chunk = 4
    rival = AnchorWorker(service)  # a second worker (misconfigured deployment) takes the rest
    seen: list[str] = []

    def rival_forms_after_first_chunk(name: str) -> None:
        if name == "while_forming" and not seen:
            seen.append(name)
            assert rival.form_batch(1, force=True) is not None

    # private on purpose: the test hook at "while_forming" is where the rival steps in
    monkeypatch.setattr(anchoring, "_crash_point", rival_forms_after_first_chunk)
    with pytest.raises(ConcurrentBatching):
        worker.form_batch(1, force=True)
    with service.sessions() as session:
        states = list(session.scalars(select(AnchorBatch.state).order_by(AnchorBatch.id)))
        freed = session.scalar(
            select(CredentialRow.seq).where(CredentialRow.batch_id.is_(None)).limit(1)
        )
    assert states == ["built"]  # the rival's batch; the disturbed one is gone
    assert freed is not None  # the first chunk's credentials are pending again
    worker.drain(30)
    batches = _check_all_anchored_once(client, service, token, ids)
    assert sorted(b.leaf_count for b in batches) == [4, N - 4]
