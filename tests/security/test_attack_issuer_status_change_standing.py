"""Attack: a stolen API key's status changes, queued while the ledger could not apply them, are
still sent after the operator revoked the key or suspended the institution's API access.

A revoke, suspend or reinstate is queued (202) and applied later by the anchoring worker; while
the chain is down or slow (here: no worker runs until the test drives it) it waits. A thief
holding an institution's ``revoke`` key reinstates the credential the institution suspended
(the harmful direction: a credential under inquiry reads VALID again) and revokes a good one
(final). The operator then revokes the key, or suspends the institution's API access. The
worker must not send what that key asked: each such change ends ``failed`` saying why, shown in
the change and in the credential's anchor status; the chain keeps the suspension and the good
credential. A change another, current key asked for is applied as before (real issuer service
and Anvil: tests/issuer's fixtures).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    bearer,
    degree_request,
    onboard,
    operator_headers,
    set_institution_status,
    stop_api_key,
)

pytestmark = pytest.mark.integration


def _issue(client: TestClient, token: str, n: int) -> dict[str, Any]:
    r = client.post(
        "/credentials", headers=bearer(token), json=degree_request(f"Standing {n}", seed_byte=n)
    )
    assert r.status_code == 202, r.text
    return dict(r.json())


def _change(client: TestClient, token: str, action: str, cred_id: str) -> dict[str, Any]:
    r = client.post(
        f"/credentials/{cred_id}/{action}", headers=bearer(token), json={"reason": action}
    )
    assert r.status_code == 202, r.text  # queued: no worker runs in this process
    return dict(r.json())


def _verdict(issuer_chain: dict[str, Any], document: dict[str, Any]) -> str:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.trust import TrustedDeployment

    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    reader = RegistryReader(issuer_chain["rpc_url"], trust.registry)
    return str(Verifier(reader, trust).verify_document(document).verdict.name)


@pytest.mark.parametrize("stop", ["key revoked", "institution suspended"])
def test_attack_stolen_key_status_changes_are_not_sent_after_the_operator_acts(
    client: TestClient, service: Any, issuer_chain: dict[str, Any], stop: str
) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    inst = onboard(client)
    slug, own = inst["slug"], inst["api_key"]["token"]
    r = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["revoke", "read"], "name": "stolen"},
    )
    assert r.status_code == 201, r.text
    stolen = r.json()
    under_inquiry, good, fraud = (_issue(client, own, 40 + n) for n in range(3))
    worker = AnchorWorker(service)
    worker.drain(30)
    docs = {
        c["id"]: client.get(f"/credentials/{c['id']}", headers=bearer(own)).json()
        for c in (under_inquiry, good, fraud)
    }
    suspended = _change(client, own, "suspend", under_inquiry["id"])
    worker.drain(30)
    assert client.get(suspended["poll"], headers=bearer(own)).json()["state"] == "applied"
    assert _verdict(issuer_chain, docs[under_inquiry["id"]]) == "INVALID"

    # the ledger is down (no worker): the thief's changes wait in the queue, then the
    # institution's own revocation behind them
    reinstate = _change(client, stolen["token"], "reinstate", under_inquiry["id"])
    revoke = _change(client, stolen["token"], "revoke", good["id"])
    own_revoke = _change(client, own, "revoke", fraud["id"])

    stop_api_key(client, slug, stolen["id"], stop)
    worker.drain(30)  # the ledger answers again
    if stop == "institution suspended":  # reactivated to read what happened
        set_institution_status(client, slug, "active")

    why = "revoked" if stop == "key revoked" else "suspended"
    for dropped in (reinstate, revoke):
        body = client.get(dropped["poll"], headers=bearer(own)).json()
        assert body["state"] == "failed" and body["txHash"] is None, body
        assert "not sent" in body["error"] and why in body["error"], body
    # the credential's anchor status names the dropped reinstatement and why
    anchor = client.get(f"/credentials/{under_inquiry['id']}/anchor", headers=bearer(own)).json()
    last = anchor["statusChanges"][-1]
    assert last["id"] == reinstate["id"] and last["state"] == "failed", anchor
    assert "API key" in last["error"] or "API access" in last["error"], last
    # the chain, which verifiers read, kept the suspension and the good credential
    assert _verdict(issuer_chain, docs[under_inquiry["id"]]) == "INVALID"
    assert _verdict(issuer_chain, docs[good["id"]]) == "VALID"

    own_body = client.get(own_revoke["poll"], headers=bearer(own)).json()
    if stop == "key revoked":  # the institution's own key still acts
        assert own_body["state"] == "applied" and own_body["txHash"], own_body
        assert _verdict(issuer_chain, docs[fraud["id"]]) == "INVALID"
    else:  # nothing the suspended institution's keys asked is sent; it may ask again
        assert own_body["state"] == "failed" and "suspended" in own_body["error"], own_body
        assert _verdict(issuer_chain, docs[fraud["id"]]) == "VALID"
        again = _change(client, own, "revoke", fraud["id"])
        worker.drain(30)
        assert client.get(again["poll"], headers=bearer(own)).json()["state"] == "applied"
        assert _verdict(issuer_chain, docs[fraud["id"]]) == "INVALID"
    # the dropped changes no longer count in what the service projects: the institution may
    # suspend the good credential (a dropped revocation would have made it final)
    assert _change(client, own, "suspend", good["id"])["state"] == "pending"
