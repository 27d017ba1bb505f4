"""An issuer whose RPC node is stale does not vouch afresh, in its did:web document, for a key
governance revoked since (real issuer service, two real Anvil nodes).

The attack (residual of test_attack_status_list_stale_node.py, 2026-12-07): ``did.json`` lists
only the keys the registry holds valid (test_did_document_follows_the_chain.py), but nothing
bounded the age of the chain head it read them at. An issuer service whose node is stuck or far
behind (it still answers) kept listing a signing key governance revoked after a compromise, as a
fresh read (``X-TalentProof-Ledger-State: chain``): an independent verifier resolving the did:web
accepted whatever the thief signed with it.

Node B starts from the live node A's state dumped before governance's revocation
(``anvil_dumpState``/``anvil_loadState``); the revocation is then mined on A only, and B's head
grows older than the bound. Defence: the status lists' ``TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S``
(one check, ``Publication._check_head_age``): a head older than that vouches for no key afresh
(the last good read within 300 s, else 503 naming the head's age).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey
from talentproof.ledger.nodes import anvil
from tests.issuer.conftest import client, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import onboard, operator_headers
from tests.issuer.test_institution_state import _governance
from tests.security.test_attack_status_list_stale_node import (  # noqa: F401
    BOUND,
    _rpc,
    issuer_chain,
)
from tests.security.test_did_document_follows_the_chain import asserting, methods

pytestmark = pytest.mark.integration


def _rotate(client: TestClient, slug: str) -> str:
    """Rotate the institution's signing key; the new key's multibase."""
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    key: str = r.json()["signing_keys"][-1]["publicKeyMultibase"]
    return key


def test_attack_a_stale_node_vouches_for_no_revoked_key(
    client: TestClient, make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    from talentproof.issuer.app import create_app

    live_url = issuer_chain["rpc_url"]
    inst = onboard(client)
    slug = inst["slug"]
    old_key = inst["signing_keys"][0]["publicKeyMultibase"]
    new_key = _rotate(client, slug)
    before = client.get(f"/institutions/{slug}/did.json")
    assert before.status_code == 200 and asserting(before.json()) == {old_key, new_key}
    state = _rpc(live_url, "anvil_dumpState", [])
    with anvil() as stale:
        assert _rpc(stale.rpc_url, "anvil_loadState", [state]) is True
        # governance revokes the (compromised) old key on the live chain only
        _governance(issuer_chain).revoke_signing_key(
            inst["chain_issuer_id"], Ed25519PublicKey.from_multibase(old_key).raw
        )
        time.sleep(BOUND + 1.5)
        _rpc(live_url, "evm_mine", [])  # the live chain has a fresh head

        # the same database, its service reading the stale node
        svc = make_service(rpc_url=stale.rpc_url, status_max_head_age_s=BOUND)
        with TestClient(create_app(svc, run_worker=False)) as off:
            r = off.get(f"/institutions/{slug}/did.json")
            assert not (r.status_code == 200 and old_key in methods(r.json())), (
                "did.json read afresh from the stale node vouches for the revoked key: "
                f"ledger state {r.headers.get('X-TalentProof-Ledger-State')!r}"
            )
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert "s old" in r.text and "head" in r.text, r.text

        # the live node passes the same bound (its head is fresh)
        ok = make_service(status_max_head_age_s=BOUND)
        with TestClient(create_app(ok, run_worker=False)) as on:
            _rpc(live_url, "evm_mine", [])
            r = on.get(f"/institutions/{slug}/did.json")
            assert r.status_code == 200, r.text
            assert r.headers["X-TalentProof-Ledger-State"] == "chain"
            assert set(methods(r.json())) == {new_key} and asserting(r.json()) == {new_key}


def test_a_node_turning_stale_serves_the_last_good_keys_then_503(
    make_service: Any, issuer_chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentproof.issuer.app import create_app
    from talentproof.issuer.usecases import publication

    live_url = issuer_chain["rpc_url"]
    svc = make_service(status_max_head_age_s=BOUND)
    with TestClient(create_app(svc, run_worker=False)) as client:
        inst = onboard(client)
        slug = inst["slug"]
        key = inst["signing_keys"][0]["publicKeyMultibase"]
        _rpc(live_url, "evm_mine", [])
        first = client.get(f"/institutions/{slug}/did.json")
        assert first.status_code == 200 and asserting(first.json()) == {key}, first.text
        assert first.headers["X-TalentProof-Ledger-State"] == "chain"
        time.sleep(BOUND + 1.5)  # no block since: the head is older than the bound
        r = client.get(f"/institutions/{slug}/did.json")
        assert r.status_code == 200, r.text
        assert r.json() == first.json()
        state = r.headers["X-TalentProof-Ledger-State"]
        assert "read" in state and "stale head" in state and "s old" in state, state
        monkeypatch.setattr(publication, "KEY_RECORDS_STALE_MAX_S", 0.0)
        r = client.get(f"/institutions/{slug}/did.json")
        assert r.status_code == 503 and "s old" in r.text, (r.status_code, r.text[:400])
        monkeypatch.setattr(publication, "KEY_RECORDS_STALE_MAX_S", 300.0)
        _rpc(live_url, "evm_mine", [])  # a fresh head reads afresh again
        r = client.get(f"/institutions/{slug}/did.json")
        assert r.status_code == 200 and r.headers["X-TalentProof-Ledger-State"] == "chain", r.text
        assert asserting(r.json()) == {key}
