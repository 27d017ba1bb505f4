"""``GET /credentials/{id}/anchor`` shows the registry's status, whoever acted (real issuer
service, Anvil).

The attack (on the institution's and its integrations' picture, e.g. a registrar dashboard that
re-sends "clear" credentials to employers): governance revokes a fraudulent credential, a whole
batch, or suspends one pending an inquiry. The anchor status read only the service's own mirror,
so each still read ``revoked: false, suspended: false`` (the TalentProof verifier reads the chain:
INVALID). It now reads the registry (the credential's status record and its batch's anchor
record, cached two seconds) and says where its answer comes from.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.usecases.credentials import LEDGER_STATUS_TTL_S
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance

pytestmark = pytest.mark.integration


def listed(
    client: TestClient, token: str, creds: dict[str, dict[str, Any]]
) -> dict[str, tuple[bool, bool]]:
    """(revoked, suspended) of ``creds`` in ``GET /credentials``."""
    r = client.get("/credentials", headers=bearer(token), params={"limit": 1000})
    assert r.status_code == 200, r.text
    assert r.json()["ledgerStatus"] == "chain", r.json()
    items = {i["id"]: (i["revoked"], i["suspended"]) for i in r.json()["items"]}
    return {name: items[c["id"]] for name, c in creds.items()}


def test_anchor_status_shows_governance_actions(
    client: TestClient, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    worker = client.app.state.worker  # type: ignore[attr-defined]

    def status(cred_id: str) -> dict[str, Any]:
        r = client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def issue(name: str) -> dict[str, Any]:
        r = client.post("/credentials", headers=bearer(token), json=degree_request(name))
        assert r.status_code == 202, r.text
        worker.drain(30)  # each in its own batch
        body = status(r.json()["id"])
        assert body["status"] == "anchored", body
        assert (body["revoked"], body["suspended"]) == (False, False), body
        assert body["ledgerStatus"]["source"] == "chain", body
        return {**r.json(), "root": body["batch"]["merkleRoot"]}

    creds = {n: issue(n) for n in ("revoked", "in-batch", "suspended", "untouched")}
    gov = _governance(issuer_chain)
    issuer_id = inst["chain_issuer_id"]
    gov.governance_revoke_credential(issuer_id, creds["revoked"]["credentialHash"], "forged")
    gov.governance_revoke_batch(issuer_id, creds["in-batch"]["root"], "sold records")
    gov.governance_suspend_credential(issuer_id, creds["suspended"]["credentialHash"], "inquiry")
    time.sleep(LEDGER_STATUS_TTL_S)  # the cached reads of the clear states age out

    seen = {n: status(c["id"]) for n, c in creds.items()}
    assert {n: (b["revoked"], b["suspended"]) for n, b in seen.items()} == {
        "revoked": (True, False),
        "in-batch": (True, False),
        "suspended": (False, True),
        "untouched": (False, False),
    }, seen
    assert seen["revoked"]["ledgerStatus"]["revokedBy"] == "governance"
    assert seen["revoked"]["ledgerStatus"]["revokedAt"] is not None
    assert seen["in-batch"]["ledgerStatus"]["batchRevokedAt"] is not None
    assert seen["in-batch"]["ledgerStatus"]["revokedAt"] is None
    assert seen["suspended"]["ledgerStatus"]["suspendedBy"] == "governance"
    assert all(b["ledgerStatus"]["source"] == "chain" for b in seen.values())
    # the list of the institution's credentials says the same
    assert listed(client, token, creds) == {
        "revoked": (True, False),
        "in-batch": (True, False),
        "suspended": (False, True),
        "untouched": (False, False),
    }

    # governance lifts its suspension: the status clears again
    gov.governance_reinstate_credential(issuer_id, creds["suspended"]["credentialHash"], "ok")
    time.sleep(LEDGER_STATUS_TTL_S)
    body = status(creds["suspended"]["id"])
    assert (body["revoked"], body["suspended"]) == (False, False), body
    assert body["ledgerStatus"]["suspendedBy"] is None
    assert listed(client, token, creds)["suspended"] == (False, False)


def test_the_services_own_change_shows_at_once(client: TestClient, service: Any) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    cred = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    url = f"/credentials/{cred['id']}/anchor"
    assert client.get(url, headers=bearer(token)).json()["revoked"] is False  # cached clear
    assert listed(client, token, {"it": cred}) == {"it": (False, False)}
    r = client.post(
        f"/credentials/{cred['id']}/revoke", headers=bearer(token), json={"reason": "rescinded"}
    )
    assert r.status_code == 202, r.text
    service.apply_status_changes()
    body = client.get(url, headers=bearer(token)).json()  # within the cache's two seconds
    assert body["revoked"] is True and body["ledgerStatus"]["revokedBy"] == "issuer", body
    assert listed(client, token, {"it": cred}) == {"it": (True, False)}


def test_anchor_status_falls_back_to_the_mirror_saying_so(
    client: TestClient, make_service: Any
) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    r = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert r.status_code == 202, r.text
    # the same database, a ledger nobody answers at
    offline = make_service(rpc_url="http://127.0.0.1:9", rpc_timeout_s=0.5)
    principal = offline.authenticate(token)
    started = time.monotonic()
    body = offline.anchor_status(principal, r.json()["id"])
    assert body["ledgerStatus"] == {"source": "local mirror (ledger unavailable)"}, body
    assert (body["revoked"], body["suspended"]) == (False, False)
    # the next poll does not wait for the RPC timeout again
    again = time.monotonic()
    offline.anchor_status(principal, r.json()["id"])
    assert time.monotonic() - again < 0.25, "a poll waited on the unreachable ledger again"
    assert time.monotonic() - started < 5
