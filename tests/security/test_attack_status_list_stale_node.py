"""An issuer whose RPC node is stale signs no fresh status list from that old state (real issuer
service, two real Anvil nodes).

The attack (red team, 2026-12-07): the institution's Bitstring Status Lists are signed only from
the registry (test_attack_status_list_served_stale.py), but nothing bounded the age of the chain
head they were read at. An issuer service whose node is stuck or far behind (it still answers)
signed a list afresh (``validFrom`` now, ``X-TalentProof-Ledger-State: chain``) from that old
state: a revocation mined since read "clear" to every independent verifier trusting the list.

Node B starts from the live node A's state dumped before governance's revocation
(``anvil_dumpState``/``anvil_loadState``); the revocation is then mined on A only, and B's head
grows older than the bound. Defence: ``TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S``: a head older
than that signs no fresh list (the last good read within 300 s, else 503 naming the head's age).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.ledger.nodes import anvil
from tests.issuer.conftest import client, deployed_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import onboard
from tests.issuer.test_institution_state import _governance
from tests.security.test_attack_status_list_served_stale import _bit, _index, _issue

pytestmark = pytest.mark.integration

#: The bound the tests set (seconds); B's head is made older than it by waiting (BOUND + 1.5 s).
#: The live node's head must stay younger than it from its block (whose time is a whole second,
#: up to 1 s before the mining) to the service's read, which on a loaded machine can take more
#: than the second that a bound of 2 s left: a bound, not a figure.
BOUND = 5.0


@pytest.fixture(scope="module")
def issuer_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A chain of these tests' own, with a TalentProofRegistry: its state is copied to the stale
    node over JSON-RPC (``anvil_dumpState``), which Anvil refuses as an invalid request past its
    request size; the session's shared chain grows with the whole suite."""
    with anvil() as node:
        yield deployed_chain(node, tmp_path_factory.mktemp("stale-node-chain"))


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    req = urllib.request.Request(
        url,
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.loads(r.read())
    assert "result" in answer, answer
    return answer["result"]


def test_attack_a_stale_node_signs_no_fresh_clear_list(
    client: TestClient, make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    from talentproof.issuer.app import create_app

    live_url = issuer_chain["rpc_url"]
    inst = onboard(client)
    token, slug = inst["api_key"]["token"], inst["slug"]
    revoked = _issue(client, token, "revoked")
    state = _rpc(live_url, "anvil_dumpState", [])
    with anvil() as stale:
        assert _rpc(stale.rpc_url, "anvil_loadState", [state]) is True
        # governance revokes on the live chain only; the stale node stopped following
        _governance(issuer_chain).governance_revoke_credential(
            inst["chain_issuer_id"], revoked["credentialHash"], "forged"
        )
        live = client.get(f"/institutions/{slug}/status/revocation")
        assert live.status_code == 200 and _bit(live.json(), _index(revoked)), live.text
        time.sleep(BOUND + 1.5)
        _rpc(live_url, "evm_mine", [])  # the live chain has a fresh head

        # the same database, its service reading the stale node
        svc = make_service(rpc_url=stale.rpc_url, status_max_head_age_s=BOUND)
        with TestClient(create_app(svc, run_worker=False)) as off:
            r = off.get(f"/institutions/{slug}/status/revocation")
            assert not (r.status_code == 200 and not _bit(r.json(), _index(revoked))), (
                "a list signed afresh from the stale node reads the revoked credential clear: "
                f"validFrom {r.json().get('validFrom')}, "
                f"ledger state {r.headers.get('X-TalentProof-Ledger-State')!r}"
            )
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert "s old" in r.text and "head" in r.text, r.text

        # the live node passes the same bound (its head is fresh)
        ok = make_service(status_max_head_age_s=BOUND)
        with TestClient(create_app(ok, run_worker=False)) as on:
            _rpc(live_url, "evm_mine", [])
            r = on.get(f"/institutions/{slug}/status/revocation")
            assert r.status_code == 200 and _bit(r.json(), _index(revoked)), r.text
            assert r.headers["X-TalentProof-Ledger-State"] == "chain"


def test_a_node_turning_stale_serves_the_last_good_read_then_503(
    make_service: Any, issuer_chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentproof.issuer.app import create_app
    from talentproof.issuer.usecases import publication

    live_url = issuer_chain["rpc_url"]
    svc = make_service(status_max_head_age_s=BOUND)
    with TestClient(create_app(svc, run_worker=False)) as client:
        inst = onboard(client)
        token, slug = inst["api_key"]["token"], inst["slug"]
        revoked = _issue(client, token, "revoked")
        _governance(issuer_chain).governance_revoke_credential(
            inst["chain_issuer_id"], revoked["credentialHash"], "forged"
        )
        _rpc(live_url, "evm_mine", [])
        first = client.get(f"/institutions/{slug}/status/revocation")
        assert first.status_code == 200 and _bit(first.json(), _index(revoked)), first.text
        assert first.headers["X-TalentProof-Ledger-State"] == "chain"
        time.sleep(BOUND + 1.5)  # no block since: the head is older than the bound
        r = client.get(f"/institutions/{slug}/status/revocation")
        assert r.status_code == 200, r.text
        assert _bit(r.json(), _index(revoked))
        assert r.json()["validFrom"] == first.json()["validFrom"], "signed afresh from an old head"
        state = r.headers["X-TalentProof-Ledger-State"]
        assert "read" in state and "stale head" in state and "s old" in state, state
        monkeypatch.setattr(publication, "STATUS_READS_STALE_MAX_S", 0.0)
        r = client.get(f"/institutions/{slug}/status/revocation")
        assert r.status_code == 503 and "s old" in r.text, (r.status_code, r.text[:400])
        monkeypatch.setattr(publication, "STATUS_READS_STALE_MAX_S", 300.0)
        _rpc(live_url, "evm_mine", [])  # a fresh head signs afresh again
        r = client.get(f"/institutions/{slug}/status/revocation")
        assert r.status_code == 200 and r.headers["X-TalentProof-Ledger-State"] == "chain", r.text
        assert _bit(r.json(), _index(revoked))
