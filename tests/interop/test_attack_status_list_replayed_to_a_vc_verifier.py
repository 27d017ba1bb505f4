"""Attack: a Bitstring Status List captured before a revocation, replayed to an independent
verifier (@digitalbazaar/vc with @digitalbazaar/vc-bitstring-status-list, Node, offline) an
hour later, reads the revoked credential in good standing (real issuer service, Anvil).

The institution's list is signed afresh at each read with ``validFrom`` the read of the registry
and no ``validUntil``: a genuine list captured before governance revoked a credential (by a
proxy, a stale HTTP cache, whoever stands between the verifier and the issuer) stays genuinely
signed by the institution's key for ever, and a VC 2.0 verifier, which judges a status list by
its signature, issuer and validity period, read its bit clear: verified. The wallets were taught
to refuse a list older than the issuer's bound (``STATUS_LIST_MAX_AGE_S``,
test_attack_wallet_status_list_replayed.py); a verifier of another party cannot know that bound.
The list now states it: ``validUntil`` its ``validFrom`` plus that bound (the 300 s the service
serves its last read of the registry while the ledger is down, and the list's 60 s ``ttl``), so
any verifier refuses a list replayed after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentproof.wallet.inspect import STATUS_LIST_MAX_AGE_S
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance

from .node_vc import messages, verify_with_vc

pytestmark = pytest.mark.integration


def _lists(client: Any, slug: str) -> dict[str, dict[str, Any]]:
    return {
        p: client.get(f"/institutions/{slug}/status/{p}").json()
        for p in ("revocation", "suspension")
    }


def test_attack_a_list_replayed_from_before_a_revocation_does_not_verify_an_hour_later(
    client, service, issuer_chain
) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    r = client.post("/credentials", headers=bearer(token), json=degree_request("revoked later"))
    assert r.status_code in (201, 202), r.text
    cred = r.json()
    did_doc = client.get(f"/institutions/{slug}/did.json").json()
    fresh = _lists(client, slug)
    result = verify_with_vc(cred["credential"], [did_doc], status_lists=fresh.values())
    assert result["verified"] and not any(s["status"] for s in result["status"]), result
    # the list as the service signed it when read an hour ago, the bit clear (captured then)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    captured = service.status_list(slug, "revocation", now=an_hour_ago)["credential"]
    assert captured["validFrom"].startswith(an_hour_ago.strftime("%Y-%m-%dT%H"))

    _governance(issuer_chain).governance_revoke_credential(
        inst["chain_issuer_id"], cred["credentialHash"], "forged"
    )
    now = _lists(client, slug)  # the issuer, read now: the bit set
    result = verify_with_vc(cred["credential"], [did_doc], status_lists=now.values())
    assert any(s["status"] for s in result["status"] if s["statusPurpose"] == "revocation")

    replayed = [captured, now["suspension"]]
    result = verify_with_vc(cred["credential"], [did_doc], status_lists=replayed)
    assert not result["verified"], result
    assert any('after "validUntil"' in m for m in messages(result)), messages(result)


def test_the_served_list_states_the_bound_the_wallets_apply(client) -> None:  # type: ignore[no-untyped-def]
    slug = onboard(client)["slug"]
    for signed in _lists(client, slug).values():
        start = datetime.fromisoformat(signed["validFrom"].replace("Z", "+00:00"))
        until = datetime.fromisoformat(signed["validUntil"].replace("Z", "+00:00"))
        assert until - start == timedelta(seconds=STATUS_LIST_MAX_AGE_S), signed
