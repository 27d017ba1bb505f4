"""Revocation, suspension and reinstatement reach the chain; the status lists follow chain state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from talentproof.issuer.db import StatusChange
from talentproof.issuer.statuslist import MIN_BITS, bit_is_set, decode_bitstring

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def _status_bits(client, slug: str, purpose: str) -> tuple[bytes, dict]:
    r = client.get(f"/institutions/{slug}/status/{purpose}")
    assert r.status_code == 200
    vc = r.json()
    assert "BitstringStatusListCredential" in vc["type"]
    assert vc["credentialSubject"]["statusPurpose"] == purpose
    assert r.headers["X-TalentProof-Ledger-State"] == "chain"
    return decode_bitstring(vc["credentialSubject"]["encodedList"]), vc


def _index(cred: dict, purpose: str) -> int:
    entry = next(e for e in cred["credentialStatus"] if e["statusPurpose"] == purpose)
    return int(entry["statusListIndex"])


def test_revoke_suspend_reinstate_reach_chain_and_status_lists(
    client, service, issuer_chain
) -> None:
    inst = onboard(client)
    token, slug = inst["api_key"]["token"], inst["slug"]
    creds = [
        client.post("/credentials", headers=bearer(token), json=degree_request(f"F{i}")).json()
        for i in range(4)
    ]
    client.app.state.worker.drain(30)
    a, b, c, d = creds

    # accepted and queued (202: no worker runs in this process), applied in order by the worker
    r = client.post(
        f"/credentials/{a['id']}/revoke", headers=bearer(token), json={"reason": "rescinded"}
    )
    assert r.status_code == 202 and r.json()["state"] == "pending", r.text
    assert r.json()["txHash"] is None and r.json()["poll"].startswith(
        "/credentials/status-changes/"
    )
    r = client.post(
        "/credentials/status-changes",
        headers=bearer(token),
        json={"action": "suspend", "credential_ids": [b["id"], c["id"]], "reason": "audit"},
    )
    assert r.status_code == 202
    # checked against the queued changes: c is suspended once they apply, so it may be reinstated
    assert (
        client.post(
            f"/credentials/{c['id']}/reinstate", headers=bearer(token), json={"reason": "cleared"}
        ).status_code
        == 202
    )
    # a revocation is final, queued or applied
    assert (
        client.post(
            f"/credentials/{a['id']}/revoke", headers=bearer(token), json={"reason": "again"}
        ).status_code
        == 409
    )
    assert service.pending_status_changes() == 3
    client.app.state.worker.drain(30)
    assert service.pending_status_changes() == 0
    applied = client.get(r.json()["poll"], headers=bearer(token)).json()
    assert applied["state"] == "applied" and applied["txHash"].startswith("0x")
    assert applied["reason"] == "audit" and applied["credential_ids"] == [b["id"], c["id"]]
    assert (
        client.post(
            f"/credentials/{a['id']}/revoke", headers=bearer(token), json={"reason": "again"}
        ).status_code
        == 409
    )
    retry = bearer(token, **{"Idempotency-Key": "suspend-d"})
    first = client.post(f"/credentials/{d['id']}/suspend", headers=retry, json={"reason": "check"})
    again = client.post(f"/credentials/{d['id']}/suspend", headers=retry, json={"reason": "check"})
    assert first.status_code == again.status_code == 202
    assert (
        first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    )
    assert service.pending_status_changes() == 1  # the retry queued nothing
    client.app.state.worker.drain(30)
    assert (
        client.post(
            f"/credentials/{d['id']}/reinstate", headers=bearer(token), json={"reason": "ok"}
        ).status_code
        == 202
    )
    client.app.state.worker.drain(30)

    status = client.get(f"/credentials/{a['id']}/anchor", headers=bearer(token)).json()
    assert status["revoked"] is True and status["revocationReason"] == "rescinded"
    (change,) = status["statusChanges"]
    assert change["action"] == "revoke" and change["state"] == "applied"
    assert change["reason"] == "rescinded" and change["txHash"].startswith("0x")

    revocation, vc = _status_bits(client, slug, "revocation")
    suspension, _ = _status_bits(client, slug, "suspension")
    assert len(revocation) * 8 >= MIN_BITS
    assert bit_is_set(revocation, _index(a["credential"], "revocation"))
    assert not any(bit_is_set(revocation, _index(x["credential"], "revocation")) for x in (b, c, d))
    assert bit_is_set(suspension, _index(b["credential"], "suspension"))
    assert not any(bit_is_set(suspension, _index(x["credential"], "suspension")) for x in (a, c, d))
    from talentproof.credential import integrity

    did_doc = client.get(f"/institutions/{slug}/did.json").json()
    integrity.verify(vc, did_documents={inst["did"]: did_doc})

    # the chain agrees, read directly
    from web3 import Web3

    from talentproof.ledger.artifacts import load_artifact

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    registry = w3.eth.contract(
        address=issuer_chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    for cred, revoked, suspended in ((a, True, False), (b, False, True), (c, False, False)):
        digest = bytes.fromhex(cred["credentialHash"][2:])
        assert tuple(
            registry.functions.credentialStatusAt(inst["chain_issuer_id"], digest, 2**63).call()
        ) == (revoked, suspended)
    with service.sessions() as session:
        reasons = {(s.action, s.reason) for s in session.scalars(select(StatusChange))}
    assert {("revoke", "rescinded"), ("suspend", "audit")} <= reasons


def test_other_institutions_credential_cannot_be_revoked(client) -> None:
    a = onboard(client)
    b = onboard(client)
    cred = client.post(
        "/credentials", headers=bearer(a["api_key"]["token"]), json=degree_request()
    ).json()
    r = client.post(
        f"/credentials/{cred['id']}/revoke",
        headers=bearer(b["api_key"]["token"]),
        json={"reason": "not yours"},
    )
    assert r.status_code == 404
    r = client.post(
        "/credentials/status-changes",
        headers=bearer(b["api_key"]["token"]),
        json={"action": "revoke", "credential_ids": [cred["id"]], "reason": "not yours"},
    )
    assert r.status_code == 404
