"""End to end through the HTTP API against a real Anvil: onboard, issue, anchor, deliver."""

from __future__ import annotations

import pytest

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def test_issue_anchor_and_fetch_credential(client, service) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    issued = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert issued.status_code == 202, issued.text
    body = issued.json()
    assert body["status"] == "pending_anchor"
    assert body["poll"] == f"/credentials/{body['id']}/anchor"
    status = client.get(body["poll"], headers=bearer(token)).json()
    assert status["status"] == "pending_anchor"

    client.app.state.worker.drain(30)

    status = client.get(body["poll"], headers=bearer(token)).json()
    assert status["status"] == "anchored"
    assert status["batch"]["treeSize"] == 1
    doc = client.get(f"/credentials/{body['id']}", headers=bearer(token)).json()
    anchors = (
        [p for p in doc["proof"] if p.get("type") == "TalentProofAnchor"]
        if isinstance(doc["proof"], list)
        else []
    )
    assert anchors and anchors[0]["merkleRoot"] == status["batch"]["merkleRoot"]
