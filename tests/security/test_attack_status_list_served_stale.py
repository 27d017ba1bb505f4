"""An institution's status list is never signed "in good standing" from what the service does not
know (real issuer service, Anvil).

The attack: governance revokes (or suspends) a fraudulent credential on the ledger; the
institution's published Bitstring Status Lists set its bit (they read the registry's events:
test_status_list_shows_governance.py). Then the issuer service cannot read the ledger (an RPC
outage, a node cut off, or a service restarted while its node is down). The lists fell back to the
service's own mirror, which holds only the changes the service made itself, so each list was
signed afresh (``validFrom`` now) with governance's bits clear: the holder's wallet (``wallet
list`` reads the lists) and any VC verifier trusting the list read "clear", in good standing.
Only the response header (``X-TalentProof-Ledger-State``), outside the signed document, said the
mirror was used.

Now a list is signed only from the registry: while the ledger is unreachable the last read of the
registry serves (the bits it set, and the service's own changes), dated when it was read, up to
``STATUS_READS_STALE_MAX_S`` seconds, then 503, as ``did.json`` does with its keys; with no read at
all (a restarted service) the list is refused (503), never signed from the mirror.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.errors import LedgerUnavailable
from talentproof.issuer.statuslist import bit_is_set, decode_bitstring
from talentproof.wallet.inspect import check
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance
from tests.issuer.test_trusted_verdicts import _FreezableProxy

pytestmark = pytest.mark.integration


def _issue(client: TestClient, token: str, name: str) -> dict[str, Any]:
    r = client.post("/credentials", headers=bearer(token), json=degree_request(name))
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    anchor = client.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(token)).json()
    assert anchor["status"] == "anchored", anchor
    return r.json()


def _index(cred: dict[str, Any]) -> int:
    return int(cred["credential"]["credentialStatus"][0]["statusListIndex"])


def _bit(doc: dict[str, Any], index: int) -> bool:
    return bit_is_set(decode_bitstring(doc["credentialSubject"]["encodedList"]), index)


def test_attack_a_restarted_service_without_its_ledger_signs_no_list(
    client: TestClient, make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    token, slug = inst["api_key"]["token"], inst["slug"]
    revoked, suspended = _issue(client, token, "revoked"), _issue(client, token, "suspended")
    gov = _governance(issuer_chain)
    gov.governance_revoke_credential(inst["chain_issuer_id"], revoked["credentialHash"], "forged")
    gov.governance_suspend_credential(
        inst["chain_issuer_id"], suspended["credentialHash"], "inquiry"
    )
    live = client.get(f"/institutions/{slug}/status/revocation")
    assert live.status_code == 200 and _bit(live.json(), _index(revoked)), live.text
    live = client.get(f"/institutions/{slug}/status/suspension")
    assert live.status_code == 200 and _bit(live.json(), _index(suspended)), live.text

    # the same database, restarted while its ledger does not answer
    offline = make_service(rpc_url="http://127.0.0.1:9", rpc_timeout_s=0.5)
    for purpose in ("revocation", "suspension"):
        with pytest.raises(LedgerUnavailable):
            offline.status_list(slug, purpose)
    from talentproof.issuer.app import create_app

    with TestClient(create_app(offline, run_worker=False)) as off:
        r = off.get(f"/institutions/{slug}/status/revocation")
        assert r.status_code == 503, (r.status_code, r.text[:300])
        # the holder's wallet reads the list at the credential's own URL: never "clear"
        found = check(revoked["credential"], datetime.now(UTC), off)
        assert found.status["revocation"].startswith("not checked (HTTP 503"), found.status
        found = check(suspended["credential"], datetime.now(UTC), off)
        assert found.status["suspension"].startswith("not checked (HTTP 503"), found.status


def test_attack_a_service_losing_its_ledger_keeps_the_last_read_of_the_registry(
    make_service: Any, issuer_chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentproof.issuer.app import create_app
    from talentproof.issuer.usecases import publication

    url = urlsplit(issuer_chain["rpc_url"])
    proxy = _FreezableProxy((url.hostname or "127.0.0.1", int(url.port or 8545)))
    try:
        # a budget the live reads through the proxy keep on a loaded machine; the frozen reads
        # wait it out
        svc = make_service(rpc_url=proxy.url, rpc_timeout_s=2.0)
        with TestClient(create_app(svc, run_worker=False)) as client:
            inst = onboard(client)
            token, slug = inst["api_key"]["token"], inst["slug"]
            revoked = _issue(client, token, "revoked")
            _governance(issuer_chain).governance_revoke_credential(
                inst["chain_issuer_id"], revoked["credentialHash"], "forged"
            )
            first = client.get(f"/institutions/{slug}/status/revocation")
            assert first.status_code == 200 and _bit(first.json(), _index(revoked)), first.text
            assert first.headers["X-TalentProof-Ledger-State"] == "chain"
            proxy.frozen.set()  # the node stops answering
            r = client.get(f"/institutions/{slug}/status/revocation")
            assert r.status_code == 200, r.text
            assert _bit(r.json(), _index(revoked)), "governance's revocation was signed away"
            assert "ledger unavailable" in r.headers["X-TalentProof-Ledger-State"], r.headers
            # dated when the registry was read, not now
            assert r.json()["validFrom"] == first.json()["validFrom"], r.json()["validFrom"]
            found = check(revoked["credential"], datetime.now(UTC), client)
            assert found.status["revocation"] == "set", found.status
            # past the bound, no list at all rather than an old one
            monkeypatch.setattr(publication, "STATUS_READS_STALE_MAX_S", 0.0)
            r = client.get(f"/institutions/{slug}/status/revocation")
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert "last read" in r.text, r.text
    finally:
        proxy.close()


def test_a_status_list_does_not_wait_again_for_a_node_that_hangs(
    client: TestClient, make_service: Any
) -> None:
    """A node that accepts the connection and never answers: every status list request waited
    the whole RPC timeout (did.json stopped doing so in bef270b). The failed read is stamped
    when it ended, and a request within `STATUS_RETRY_S` of it is answered at once: the last
    read of the registry, or (none here) a 503 naming the unanswered read."""
    from talentproof.issuer.usecases.publication import STATUS_RETRY_S

    inst = onboard(client)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # accepted by the kernel, never read nor answered
        port = hung.getsockname()[1]
        offline = make_service(
            rpc_url=f"http://127.0.0.1:{port}", rpc_timeout_s=STATUS_RETRY_S + 1.0
        )
        with pytest.raises(LedgerUnavailable):
            offline.status_list(inst["slug"], "revocation")
        for purpose in ("revocation", "suspension"):
            with pytest.raises(LedgerUnavailable, match="did not answer the last read"):
                offline.status_list(inst["slug"], purpose)


def test_a_status_list_asks_the_ledger_again_while_requests_keep_coming(
    client: TestClient, make_service: Any
) -> None:
    """The refusal at once lasts `STATUS_RETRY_S` from the failed read, not from the last
    refusal (db0c31a's lesson for did.json): requests coming more often still ask the ledger
    again after it, so a node that answers again is read again."""
    from talentproof.issuer.usecases.publication import STATUS_RETRY_S

    inst = onboard(client)
    offline = make_service(rpc_url="http://127.0.0.1:9", rpc_timeout_s=0.5)
    with pytest.raises(LedgerUnavailable):
        offline.status_list(inst["slug"], "revocation")
    failed_at = time.monotonic()
    asked_again = False
    # a bound for a loaded machine (CI: 2 cores under two test workers); the loop ends at the
    # first request that reads the ledger again, due STATUS_RETRY_S after the failed read
    while time.monotonic() - failed_at < STATUS_RETRY_S + 30.0:
        time.sleep(STATUS_RETRY_S / 4)
        with pytest.raises(LedgerUnavailable) as refused:
            offline.status_list(inst["slug"], "revocation")
        if "did not answer the last read" not in str(refused.value):
            asked_again = True  # (the ledger read again: port 9 refuses it once more)
            break
    assert asked_again, "every request within the bound of the previous refusal was refused unread"
