"""The wallet's status is never "clear" from a status list replayed from before a revocation
(real issuer service, Anvil; the CLI wallet's `check`; the browser wallet's twin is
tests/wallet/test_wallet_page_checks.py::test_an_old_or_expired_status_list_is_not_confirmed).

The attack (red team, 2026-12-07): the institution's Bitstring Status List credential is signed
afresh at each read, ``validFrom`` the read of the registry. A list captured before governance
revoked a credential is still genuinely signed by the institution's key; a proxy between the
wallet and the issuer (or a stale cache) serves it after the revocation, and the wallet read its
bit without looking at its dates: "clear", the credential "valid". Now the list must be currently
valid (``validFrom`` not in the future, ``validUntil`` not past) and fresh (``validFrom`` within
``STATUS_LIST_MAX_AGE_S``: the issuer's 300 s stale-serving limit plus the list's 60 s ttl);
an older one gives "not confirmed (the status list is N minutes old ...)", never "clear".
A list signed by another institution, served at the issuer's address, does not count either.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from talentproof.wallet.inspect import STATUS_LIST_MAX_AGE_S, check, status_list_dates
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance

pytestmark = pytest.mark.integration


def _issue(client: TestClient, token: str, name: str) -> dict[str, Any]:
    r = client.post("/credentials", headers=bearer(token), json=degree_request(name))
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    anchor = client.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(token)).json()
    assert anchor["status"] == "anchored", anchor
    return r.json()


def _replaying(client: TestClient, replay: dict[str, dict[str, Any]]) -> httpx.Client:
    """The attacker's proxy in front of the issuer: the documents in ``replay`` (path -> JSON)
    served as they were captured, everything else forwarded to the real service."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = urlsplit(str(request.url)).path
        if path in replay:
            return httpx.Response(200, json=replay[path])
        r = client.get(path)
        return httpx.Response(r.status_code, content=r.content, headers=r.headers)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_attack_a_list_replayed_from_before_the_revocation_is_not_clear(
    client: TestClient, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    token, slug = inst["api_key"]["token"], inst["slug"]
    cred = _issue(client, token, "revoked later")
    path = f"/institutions/{slug}/status/revocation"
    assert urlsplit(cred["credential"]["credentialStatus"][0]["statusListCredential"]).path == path
    captured = client.get(path).json()  # genuinely signed, the bit clear
    now = datetime.now(UTC)
    assert check(cred["credential"], now, client).status["revocation"] == "clear"

    _governance(issuer_chain).governance_revoke_credential(
        inst["chain_issuer_id"], cred["credentialHash"], "forged"
    )
    # the real issuer, read now: set
    found = check(cred["credential"], datetime.now(UTC), client)
    assert found.status["revocation"] == "set" and found.summary == "revoked", found

    # the captured list replayed an hour later: its signature and issuer are right, its bit clear
    with _replaying(client, {path: captured}) as proxy:
        later = datetime.now(UTC) + timedelta(hours=1)
        found = check(cred["credential"], later, proxy)
        status = found.status["revocation"]
        assert status != "clear", f"a list replayed from before the revocation reads {status!r}"
        # the list states its end (validFrom + STATUS_LIST_MAX_AGE_S, for any verifier:
        # tests/interop/test_attack_status_list_replayed_to_a_vc_verifier.py)
        assert status.startswith("not confirmed (the status list expired "), status
        # one stating no end (another issuer's) is judged by its age
        endless = {k: v for k, v in captured.items() if k != "validUntil"}
        status = status_list_dates(endless, later) or ""
        assert status.startswith("not confirmed (the status list is 6"), status
        assert "minutes old" in status, status
        assert found.summary == "not confirmed", found.summary
        # within the bound it still counts (the issuer's own 300 s stale serving): 30 s before
        # the captured list's end, counted from its validFrom (from this clock, the seconds the
        # test took since the capture, many on a loaded machine, ate into those 30)
        signed_at = datetime.fromisoformat(captured["validFrom"].replace("Z", "+00:00"))
        soon = signed_at + timedelta(seconds=STATUS_LIST_MAX_AGE_S - 30)
        assert check(cred["credential"], soon, proxy).status["revocation"] == "clear"
        # a list dated in the future (a wallet clock far behind) is not confirmed either
        before = datetime.now(UTC) - timedelta(hours=1)
        status = check(cred["credential"], before, proxy).status["revocation"]
        assert status.startswith("not confirmed (the status list is valid only from"), status


def test_a_list_past_its_valid_until_or_of_another_institution_does_not_count(
    client: TestClient, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client, slug="replay-a")
    other = onboard(client, slug="replay-b", name="Replay B University")
    cred = _issue(client, inst["api_key"]["token"], "of A")
    path = "/institutions/replay-a/status/revocation"
    # B's own list, fresh and genuinely signed by B, served at A's address
    b_list = client.get("/institutions/replay-b/status/revocation").json()
    assert b_list["issuer"] == other["did"] != inst["did"]
    with _replaying(client, {path: b_list}) as proxy:
        status = check(cred["credential"], datetime.now(UTC), proxy).status["revocation"]
    assert status.startswith("not checked (the list at"), status
    assert "not signed by the credential's issuer key" in status, status

    # the dates rule itself on A's real list: a validUntil past, or no validFrom
    signed = client.get(path).json()
    now = datetime.now(UTC)
    assert status_list_dates(signed, now) is None
    expired = dict(signed, validUntil=(now - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert (status_list_dates(expired, now) or "").startswith(
        "not confirmed (the status list expired"
    )
    undated = {k: v for k, v in signed.items() if k != "validFrom"}
    assert (status_list_dates(undated, now) or "").startswith(
        "not confirmed (the status list has no"
    )
