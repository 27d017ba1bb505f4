"""Attacks on the issuer API by one institution's API key against another institution, on the
real issuer service and Anvil (tests/issuer's fixtures).

- Idempotency keys are the caller's: institution B sending the very request institution A sent,
  under the same ``Idempotency-Key``, on ``POST /credentials`` (fast path and route), the VC API's
  ``POST /credentials/issue`` and a status change, gets its own answer, never A's stored one (A's
  credential, signed in A's name, handed to B; or A's revocation answer).
- A bulk status change naming one of B's own credentials and one of A's is refused whole:
  neither is suspended.
- A's status change read by its number, and A's credential reinstated or revoked through the VC
  API's ``/credentials/status``, with B's key: 404, A's suspension stays A's only change.
- An offer made while the institution was accredited for the type, redeemed after the operator
  withdrew it: the wallet's credential request is refused, nothing is signed.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from talentproof.issuer.db import CredentialRow
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard, operator_headers
from tests.issuer.test_oid4vci import (
    Holder,
    c_nonce,
    make_offer,
    oauth_error,
    redeem,
    request_credential,
)
from tests.issuer.test_vc_api import vc_degree

pytestmark = pytest.mark.integration


def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential["issuer"]
    return str(issuer["id"] if isinstance(issuer, dict) else issuer)


def test_attack_same_idempotency_key_at_another_institution_gets_its_own_answer(
    client: TestClient,
) -> None:
    a, b = onboard(client), onboard(client)
    token_a, token_b = a["api_key"]["token"], b["api_key"]["token"]
    body = orjson.dumps(degree_request())
    # POST /credentials: the fast path (application/json) and the FastAPI route (a +json type)
    for label, media in [("fast", "application/json"), ("route", "application/vnd.tp+json")]:

        def send(tok: str, key: str, media: str = media) -> Any:
            headers = bearer(tok, **{"Idempotency-Key": key, "Content-Type": media})
            return client.post("/credentials", content=body, headers=headers)

        key = f"shared-{label}"
        first = send(token_a, key)
        assert first.status_code == 202, first.text
        mine = send(token_b, key)
        assert mine.status_code == 202, mine.text
        assert mine.headers.get("Idempotent-Replayed") != "true", (label, mine.headers)
        assert mine.json()["id"] != first.json()["id"], label
        assert _issuer_id(mine.json()["credential"]) == b["did"], label
        # and A's retry still replays A's own credential
        again = send(token_a, key)
        assert again.json()["id"] == first.json()["id"], label
        assert again.headers.get("Idempotent-Replayed") == "true", label
    # the VC API's issue: B's unsigned credential names B; A's under the same key names A
    r_a = client.post(
        "/credentials/issue",
        headers=bearer(token_a, **{"Idempotency-Key": "shared-vc"}),
        json={"credential": vc_degree(a["did"]), "options": {}},
    )
    assert r_a.status_code == 201, r_a.text
    r_b = client.post(
        "/credentials/issue",
        headers=bearer(token_b, **{"Idempotency-Key": "shared-vc"}),
        json={"credential": vc_degree(b["did"]), "options": {}},
    )
    assert r_b.status_code == 201, r_b.text
    assert r_b.headers.get("Idempotent-Replayed") != "true"
    signed_b = r_b.json()["verifiableCredential"]
    assert _issuer_id(signed_b) == b["did"]
    assert signed_b["id"] != r_a.json()["verifiableCredential"]["id"]
    # B naming A's DID under A's key is refused, not replayed
    r = client.post(
        "/credentials/issue",
        headers=bearer(token_b, **{"Idempotency-Key": "shared-vc-2"}),
        json={"credential": vc_degree(a["did"]), "options": {}},
    )
    assert r.status_code == 422 and r.json()["field"] == "credential.issuer", r.text
    # a status change: A revokes its credential under a key; B sending the same request under
    # the same key does not get A's stored answer (it is not B's credential: 404)
    cred_a = r_a.json()["verifiableCredential"]["id"]
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    reason = {"reason": "audit"}
    done = client.post(
        f"/credentials/{cred_a}/revoke",
        headers=bearer(token_a, **{"Idempotency-Key": "shared-status"}),
        json=reason,
    )
    assert done.status_code in (200, 202), done.text
    foreign = client.post(
        f"/credentials/{cred_a}/revoke",
        headers=bearer(token_b, **{"Idempotency-Key": "shared-status"}),
        json=reason,
    )
    assert foreign.status_code == 404, foreign.text
    assert foreign.headers.get("Idempotent-Replayed") != "true"


def test_attack_bulk_status_change_naming_another_institutions_credential(
    client: TestClient,
) -> None:
    a, b = onboard(client), onboard(client)
    token_a, token_b = a["api_key"]["token"], b["api_key"]["token"]
    cred_a = client.post("/credentials", headers=bearer(token_a), json=degree_request()).json()
    cred_b = client.post("/credentials", headers=bearer(token_b), json=degree_request()).json()
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    for action in ("suspend", "revoke"):
        r = client.post(
            "/credentials/status-changes",
            headers=bearer(token_b),
            json={
                "action": action,
                "credential_ids": [cred_b["id"], cred_a["id"]],
                "reason": "not all mine",
            },
        )
        assert r.status_code == 404 and cred_a["id"] in r.text, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    for token, cred in ((token_a, cred_a), (token_b, cred_b)):
        anchor = client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()
        assert not anchor["revoked"] and not anchor["suspended"], anchor
        assert anchor["statusChanges"] == [], anchor


def test_attack_another_institutions_status_change_and_vc_api_status(
    client: TestClient,
) -> None:
    """B reads A's status change by its (sequential) number and suspends A's credential
    through the VC API's ``/credentials/status``: 404 both, A's credential untouched."""
    a, b = onboard(client), onboard(client)
    token_a, token_b = a["api_key"]["token"], b["api_key"]["token"]
    cred_a = client.post("/credentials", headers=bearer(token_a), json=degree_request()).json()
    change = client.post(
        f"/credentials/{cred_a['id']}/suspend", headers=bearer(token_a), json={"reason": "mine"}
    ).json()
    own = client.get(change["poll"], headers=bearer(token_a))
    assert own.status_code == 200, own.text
    theirs = client.get(change["poll"], headers=bearer(token_b))
    assert theirs.status_code == 404 and "no status change" in theirs.text, theirs.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    for status in ("reinstated", "revoked"):
        r = client.post(
            "/credentials/status",
            headers=bearer(token_b),
            json={
                "credentialId": cred_a["id"],
                "credentialStatus": [{"type": "BitstringStatusListEntry", "status": status}],
                "reason": "not mine",
            },
        )
        assert r.status_code == 404 and cred_a["id"] in r.text, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    anchor = client.get(f"/credentials/{cred_a['id']}/anchor", headers=bearer(token_a)).json()
    assert anchor["suspended"] and not anchor["revoked"], anchor
    assert [c["action"] for c in anchor["statusChanges"]] == ["suspend"], anchor


def test_attack_offer_redeemed_after_the_type_was_withdrawn(
    client: TestClient, service: Any
) -> None:
    inst = onboard(client)  # DegreeCredential and EmploymentCredential
    offer = make_offer(client, inst["api_key"]["token"])
    access = redeem(client, offer).json()["access_token"]
    r = client.post(
        f"/operator/institutions/{inst['slug']}/credential-types",
        headers=operator_headers(),
        json={"withdraw": ["DegreeCredential"]},
    )
    assert r.status_code == 200 and r.json()["credential_types"] == ["EmploymentCredential"], r.text
    ci = offer["credentialOffer"]["credential_issuer"]
    holder = Holder(71)
    with service.sessions() as session:
        before = session.scalar(select(func.count()).select_from(CredentialRow))
    r = request_credential(client, offer, access, holder.proof(ci, c_nonce(client, offer)))
    says = oauth_error(r, 400, "credential_request_denied")
    assert "DegreeCredential" in says, says
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CredentialRow)) == before
