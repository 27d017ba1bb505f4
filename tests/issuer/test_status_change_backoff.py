"""One institution whose status changes keep failing (its chain account ran dry) does not hold
back the revocations of the others: each is applied on chain by the next pass and a verifier
reading the chain says revoked; the failing institution backs off, is named in ``/readyz`` and
in its change, keeps its own changes in order, and catches up once funded again. ``worker
--once`` (`AnchorWorker.drain`) names it instead of timing out. A change the registry refuses
ends ``failed``, as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from talentproof.issuer.db import StatusChange

from .issuer_helpers import bearer, degree_request, onboard

pytestmark = [pytest.mark.integration]

PASSES = 3


def set_balance(issuer_chain: dict[str, Any], account: str, wei: int) -> None:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    w3.provider.make_request("anvil_setBalance", [account, hex(wei)])


def issue(client: Any, token: str, n: int) -> dict[str, Any]:
    r = client.post(
        "/credentials", headers=bearer(token), json=degree_request(f"Status {n}", seed_byte=n)
    )
    assert r.status_code == 202, r.text
    return dict(r.json())


def change(client: Any, token: str, action: str, cred_id: str, reason: str) -> dict[str, Any]:
    r = client.post(
        f"/credentials/{cred_id}/{action}", headers=bearer(token), json={"reason": reason}
    )
    assert r.status_code == 202, r.text  # queued: no worker thread runs in this process
    return dict(r.json())


def governance(issuer_chain: dict[str, Any]) -> Any:
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


def verify(issuer_chain: dict[str, Any], document: dict[str, Any]) -> Any:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.trust import TrustedDeployment

    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    return Verifier(RegistryReader(issuer_chain["rpc_url"], trust.registry), trust).verify_document(
        document
    )


def test_a_failing_institution_does_not_hold_back_another_s_revocation(
    client, service, issuer_chain
) -> None:
    from talentproof.issuer.anchoring import AnchorWorker
    from talentproof.issuer.errors import LedgerUnavailable
    from talentproof.verifier.report import CheckId, Status, Verdict

    # A is onboarded first: its changes come first in the queue
    a, b = onboard(client), onboard(client)
    ta, tb = a["api_key"]["token"], b["api_key"]["token"]
    a1 = issue(client, ta, 1)
    b_creds = [issue(client, tb, 10 + n) for n in range(PASSES)]
    worker = AnchorWorker(service)
    worker.drain(30)
    documents = {
        c["id"]: client.get(f"/credentials/{c['id']}", headers=bearer(tb)).json() for c in b_creds
    }
    assert all(verify(issuer_chain, d).verdict == Verdict.VALID for d in documents.values())

    set_balance(issuer_chain, a["chain_account"], 0)  # A's account cannot pay for gas
    # two changes of A whose order matters: reinstating before the suspension would be refused
    first = change(client, ta, "suspend", a1["id"], "audit")
    second = change(client, ta, "reinstate", a1["id"], "cleared")
    service.status_changes.backoff_s = 60.0  # A is retried when that expires: not in this test

    for n, cred in enumerate(b_creds):
        revoked = change(client, tb, "revoke", cred["id"], f"fraud {n}")
        worker.run_once(force=True)  # one pass
        applied = client.get(revoked["poll"], headers=bearer(tb)).json()
        assert applied["state"] == "applied" and applied["txHash"], (n, applied)
        # the chain, which verifiers read, says revoked
        report = verify(issuer_chain, documents[cred["id"]])
        assert report.verdict == Verdict.INVALID, (n, report.verdict)
        (status,) = [c for c in report.checks if c.id == CheckId.STATUS]
        assert status.status == Status.FAIL and "revoked" in status.message.lower(), status

    # A's first change was tried once (then backed off), and says why it is not applied
    waits = client.get(first["poll"], headers=bearer(ta)).json()
    assert waits["state"] == "pending" and waits["txHash"] is None, waits
    assert "insufficient funds" in waits["error"].lower(), waits
    # its later change was never tried ahead of it
    behind = client.get(second["poll"], headers=bearer(ta)).json()
    assert behind["state"] == "pending" and behind["txHash"] is None, behind
    assert "insufficient funds" not in (behind["error"] or "").lower(), behind
    assert str(first["id"]) in (behind["error"] or ""), behind  # it names what it waits for

    ready = client.get("/readyz").json()
    (entry,) = ready["statusChanges"]["waiting"]
    assert entry["institution"] == a["slug"], entry
    assert "insufficient funds" in entry["reason"].lower(), entry
    assert entry["failures"] == 1 and entry["since"] and entry["change"] == first["id"], entry
    assert ready["statusChanges"]["queued"] == 2

    # `worker --once` retries A at once and names it and the error, rather than timing out
    with pytest.raises(LedgerUnavailable, match=rf"(?is){a['slug']}.*insufficient funds"):
        worker.drain(20)
    entry = client.get("/readyz").json()["statusChanges"]["waiting"][0]
    assert entry["failures"] == 2, entry

    # funded again: A's changes apply, in order
    set_balance(issuer_chain, a["chain_account"], 10**19)
    worker.drain(30)
    done = [client.get(c["poll"], headers=bearer(ta)).json() for c in (first, second)]
    assert [d["state"] for d in done] == ["applied", "applied"], done
    assert all(d["error"] is None for d in done), done
    with service.sessions() as session:
        confirmed = [
            session.scalar(select(StatusChange.confirmed_at).where(StatusChange.id == c["id"]))
            for c in (first, second)
        ]
    assert confirmed[0] is not None and confirmed[1] is not None and confirmed[0] <= confirmed[1]
    status = client.get(f"/credentials/{a1['id']}/anchor", headers=bearer(ta)).json()
    assert status["suspended"] is False and status["revoked"] is False, status
    assert client.get("/readyz").json()["statusChanges"]["waiting"] == []


def test_a_change_the_registry_refuses_ends_failed(client, service, issuer_chain) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    inst = onboard(client)
    token = inst["api_key"]["token"]
    cred = issue(client, token, 40)
    worker = AnchorWorker(service)
    worker.drain(30)
    suspended = change(client, token, "suspend", cred["id"], "audit")
    worker.drain(30)
    assert client.get(suspended["poll"], headers=bearer(token)).json()["state"] == "applied"
    # queued while active; the governance suspends the institution before it is applied: the
    # registry refuses a reinstatement by a suspended issuer, a revert, not a failure to retry
    reinstate = change(client, token, "reinstate", cred["id"], "cleared")
    governance(issuer_chain).suspend_issuer(inst["chain_issuer_id"])
    worker.drain(30)  # nothing left queued: it ends, without raising
    refused = client.get(reinstate["poll"], headers=bearer(token)).json()
    assert refused["state"] == "failed" and refused["error"], refused
    assert client.get("/readyz").json()["statusChanges"]["waiting"] == []
    assert service.pending_status_changes() == 0
