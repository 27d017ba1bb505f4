"""One institution whose anchoring keeps failing (its chain account ran dry) does not stall the
anchoring pass: the other institutions' credentials are anchored in the same passes, the failing
one backs off and is named in ``/readyz`` with the reason, and resumes once its account is
funded again (issue 16.4)."""

from __future__ import annotations

from typing import Any

import pytest

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = [pytest.mark.integration]

PASSES = 4


def _set_balance(issuer_chain: dict[str, Any], account: str, wei: int) -> None:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    w3.provider.make_request("anvil_setBalance", [account, hex(wei)])


def _issue(client: Any, token: str, n: int) -> str:
    r = client.post(
        "/credentials", headers=bearer(token), json=degree_request(f"Backoff {n}", seed_byte=n)
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _status(client: Any, token: str, cred_id: str) -> str:
    return str(client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()["status"])


def test_a_failing_institution_does_not_stall_the_others(client, service, issuer_chain) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    # A is onboarded first: its batches come first in every pass
    a, b = onboard(client), onboard(client)
    ta, tb = a["api_key"]["token"], b["api_key"]["token"]
    _set_balance(issuer_chain, a["chain_account"], 0)  # A's account ran dry: it cannot pay gas

    worker = AnchorWorker(service)
    worker.backoff_s = 60.0  # A is retried once its backoff expires: not within this test
    failed_passes = 0
    a_ids: list[str] = []
    for n in range(PASSES):
        a_ids.append(_issue(client, ta, 2 * n + 1))
        b_id = _issue(client, tb, 2 * n + 2)
        try:
            worker.run_once(force=True)
        except Exception:  # what the worker's loop does with a failed pass: logs it, waits
            failed_passes += 1
        # B's credential issued before this pass is anchored by it, whatever A does
        assert _status(client, tb, b_id) == "anchored", (n, failed_passes)
    assert failed_passes == 0
    assert all(_status(client, ta, i) == "pending_anchor" for i in a_ids)

    # A was tried once, then skipped while it backs off
    (failure,) = worker.failing.values()
    assert failure.slug == a["slug"] and failure.failures == 1, failure
    assert "insufficient funds" in failure.reason.lower(), failure.reason

    ready = client.get("/readyz").json()
    (waiting,) = ready["anchoring"]["waiting"]
    assert waiting["institution"] == a["slug"], waiting
    assert "insufficient funds" in waiting["reason"].lower(), waiting
    assert waiting["failures"] == 1 and waiting["since"], waiting

    # funded again: `drain` (the CLI's worker --once) retries it at once, and it anchors
    _set_balance(issuer_chain, a["chain_account"], 10**19)
    worker.drain(30)
    assert all(_status(client, ta, i) == "anchored" for i in a_ids)
    assert not worker.failing
    assert client.get("/readyz").json()["anchoring"]["waiting"] == []


def test_drain_reports_an_institution_that_keeps_failing(client, service, issuer_chain) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    a, b = onboard(client), onboard(client)
    _set_balance(issuer_chain, a["chain_account"], 0)
    a_id = _issue(client, a["api_key"]["token"], 1)
    b_id = _issue(client, b["api_key"]["token"], 2)
    worker = AnchorWorker(service)
    with pytest.raises(Exception, match=r"(?i)insufficient funds"):
        worker.drain(30)  # `worker --once` fails, naming why; B was anchored all the same
    assert _status(client, b["api_key"]["token"], b_id) == "anchored"
    assert _status(client, a["api_key"]["token"], a_id) == "pending_anchor"
    _set_balance(issuer_chain, a["chain_account"], 10**19)


def test_a_failing_status_change_does_not_stop_anchoring(client, service, issuer_chain) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    a, b = onboard(client), onboard(client)
    ta, tb = a["api_key"]["token"], b["api_key"]["token"]
    a1 = _issue(client, ta, 1)
    worker = AnchorWorker(service)
    worker.drain(30)
    _set_balance(issuer_chain, a["chain_account"], 0)
    r = client.post(f"/credentials/{a1}/revoke", headers=bearer(ta), json={"reason": "dry"})
    assert r.status_code == 202, r.text  # queued: A's account cannot pay for it now
    poll = r.json()["poll"]
    failed_passes = 0
    for n in range(2):
        b_id = _issue(client, tb, 10 + n)
        try:
            worker.run_once(force=True)
        except Exception:  # what the worker's loop does with a failed pass
            failed_passes += 1
        assert _status(client, tb, b_id) == "anchored", (n, failed_passes)
    assert client.get(poll, headers=bearer(ta)).json()["state"] != "applied"
    _set_balance(issuer_chain, a["chain_account"], 10**19)
    worker.drain(30)
    assert client.get(poll, headers=bearer(ta)).json()["state"] == "applied"
