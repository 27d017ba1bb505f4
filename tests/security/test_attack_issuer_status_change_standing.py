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

A routine rotation is not a revocation: the institution's revocations and suspensions queued
while the ledger was unreachable (a replica on a closed RPC port, same database) must reach the
chain after its key is rotated, or a credential its issuer revoked verifies VALID; only the
rotated key's reinstatements are dropped (a false INVALID at worst), saying why. A rotated key
revoked later (found stolen) drops all its queued changes, and a retired key's queued change
never makes the service refuse the institution's own revocation or suspension.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.issuer.conftest import (  # noqa: F401
    client,
    issuer_chain,
    make_service,
    pg_server,
    pg_url,
    service,
)
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


def _extra_key(client: TestClient, slug: str, name: str) -> dict[str, Any]:
    """A second ``revoke``/``read`` API key of the institution, made by the operator."""
    r = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["revoke", "read"], "name": name},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _anchored(
    client: TestClient, service: Any, token: str, first: int, count: int
) -> tuple[Any, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``count`` credentials issued with ``token`` (seeds from ``first``) and anchored: (the
    anchoring worker, the issue answers, the credentials by id)."""
    from talentproof.issuer.anchoring import AnchorWorker

    issued = [_issue(client, token, first + n) for n in range(count)]
    worker = AnchorWorker(service)
    worker.drain(30)
    docs = {
        c["id"]: client.get(f"/credentials/{c['id']}", headers=bearer(token)).json() for c in issued
    }
    return worker, issued, docs


def _report(issuer_chain: dict[str, Any], document: dict[str, Any]) -> Any:
    """The real verifier's report on ``document``, reading the chain the issuer anchors on."""
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.trust import TrustedDeployment

    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    reader = RegistryReader(issuer_chain["rpc_url"], trust.registry)
    return Verifier(reader, trust).verify_document(document)


def _verdict(issuer_chain: dict[str, Any], document: dict[str, Any]) -> str:
    return str(_report(issuer_chain, document).verdict.name)


def _failed_checks(issuer_chain: dict[str, Any], document: dict[str, Any]) -> str:
    """The messages of the checks the credential fails, joined (empty when it passes)."""
    from talentproof.verifier.report import Status

    report = _report(issuer_chain, document)
    return " | ".join(c.message for c in report.checks if c.status is Status.FAIL)


@pytest.mark.parametrize("stop", ["key revoked", "institution suspended"])
def test_attack_stolen_key_status_changes_are_not_sent_after_the_operator_acts(
    client: TestClient, service: Any, issuer_chain: dict[str, Any], stop: str
) -> None:
    inst = onboard(client)
    slug, own = inst["slug"], inst["api_key"]["token"]
    stolen = _extra_key(client, slug, "stolen")
    worker, (under_inquiry, good, fraud), docs = _anchored(client, service, own, 40, 3)
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


def _rotate(client: TestClient, slug: str, key_id: str) -> dict[str, Any]:
    """The operator rotates API key ``key_id`` of ``slug`` (routine): the new key and token."""
    r = client.post(
        f"/operator/institutions/{slug}/api-keys/{key_id}/rotate", headers=operator_headers()
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _queue_while_the_ledger_is_down(
    make_service: Any, changes: list[tuple[str, str, str]], **database: str
) -> list[dict[str, Any]]:
    """Ask for ``changes`` ((token, action, credential id), in order) from a replica of the
    service whose ledger is unreachable (same database: ``database`` overrides the test's
    SQLite file, RPC on a closed port): each is queued, and that replica's worker pass fails
    for the ledger, leaving them all pending."""
    from talentproof.issuer.anchoring import AnchorWorker
    from talentproof.issuer.app import create_app
    from talentproof.issuer.errors import LedgerUnavailable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    offline = make_service(rpc_url=f"http://127.0.0.1:{closed}", **database)
    with TestClient(create_app(offline, run_worker=False)) as down:
        queued = [_change(down, token, action, cid) for token, action, cid in changes]
        with pytest.raises(LedgerUnavailable):
            AnchorWorker(offline).run_once(force=True)
        for change in queued:
            assert down.get(change["poll"], headers=bearer(changes[0][0])).json()["state"] == (
                "pending"
            )
    return queued


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_attack_a_rotation_does_not_drop_the_revocations_asked_while_the_ledger_was_down(
    make_service: Any, issuer_chain: dict[str, Any], request: pytest.FixtureRequest, database: str
) -> None:
    """The institution revokes a credential (and suspends another, then reinstates it) while
    the ledger is unreachable; the operator then rotates its API key in the normal course. The
    revocation and the suspension must still reach the chain (before the fix both were dropped:
    the revoked credential verified VALID); only the retired key's reinstatement is dropped,
    saying why and that the credential stays suspended (a false INVALID at worst). On SQLite
    and on PostgreSQL (the queries judging the key)."""
    from talentproof.issuer.app import create_app

    url = {"database_url": request.getfixturevalue("pg_url")} if database == "postgres" else {}
    service = make_service(**url)
    with TestClient(create_app(service, run_worker=False)) as client:
        _rotation_keeps_the_revocation(client, service, make_service, issuer_chain, url)


def _rotation_keeps_the_revocation(
    client: TestClient,
    service: Any,
    make_service: Any,
    issuer_chain: dict[str, Any],
    url: dict[str, str],
) -> None:
    inst = onboard(client)
    slug, own, own_id = inst["slug"], inst["api_key"]["token"], inst["api_key"]["id"]
    worker, (revoked, inquiry), docs = _anchored(client, service, own, 50, 2)
    assert _verdict(issuer_chain, docs[revoked["id"]]) == "VALID"

    revoke, suspend, reinstate = _queue_while_the_ledger_is_down(
        make_service,
        [
            (own, "revoke", revoked["id"]),
            (own, "suspend", inquiry["id"]),
            (own, "reinstate", inquiry["id"]),
        ],
        **url,
    )
    new = _rotate(client, slug, own_id)  # routine: the old key is retired, not believed stolen
    token = new["token"]
    worker.drain(30)  # the ledger answers again

    # the verifier reads the revocation from the chain (before the fix: VALID)
    assert _verdict(issuer_chain, docs[revoked["id"]]) == "INVALID"
    assert "Revoked by" in _failed_checks(issuer_chain, docs[revoked["id"]])
    for kept in (revoke, suspend):
        body = client.get(kept["poll"], headers=bearer(token)).json()
        assert body["state"] == "applied" and body["txHash"], body

    # the retired key's reinstatement is dropped, and its record says why and what remains
    dropped = client.get(reinstate["poll"], headers=bearer(token)).json()
    assert dropped["state"] == "failed" and dropped["txHash"] is None, dropped
    error = dropped["error"]
    assert error.startswith("not sent") and "rotated" in error and own_id in error, error
    assert "stay suspended" in error and "reinstatement" in error, error
    anchor = client.get(f"/credentials/{inquiry['id']}/anchor", headers=bearer(token)).json()
    last = anchor["statusChanges"][-1]
    assert last["id"] == reinstate["id"] and last["state"] == "failed", anchor
    assert last["error"] == error, last
    assert _verdict(issuer_chain, docs[inquiry["id"]]) == "INVALID"
    assert "Suspended by" in _failed_checks(issuer_chain, docs[inquiry["id"]])

    # the institution may ask again with its current key: the reinstatement is applied
    again = _change(client, token, "reinstate", inquiry["id"])
    worker.drain(30)
    assert client.get(again["poll"], headers=bearer(token)).json()["state"] == "applied"
    assert _verdict(issuer_chain, docs[inquiry["id"]]) == "VALID"


def test_attack_a_rotated_key_then_revoked_drops_its_queued_changes(
    client: TestClient, service: Any, make_service: Any, issuer_chain: dict[str, Any]
) -> None:
    """A key rotated out, then revoked by the operator who learns it was stolen: the
    revocation supersedes the rotation, and every change the key asked that is still queued
    (revoking a good credential: final harm) is dropped, naming the revocation, as for a key
    revoked outright."""
    inst = onboard(client)
    slug, own = inst["slug"], inst["api_key"]["token"]
    stolen = _extra_key(client, slug, "stolen")
    worker, (good, other), docs = _anchored(client, service, own, 60, 2)
    revoke, suspend = _queue_while_the_ledger_is_down(
        make_service,
        [(stolen["token"], "revoke", good["id"]), (stolen["token"], "suspend", other["id"])],
    )
    _rotate(client, slug, stolen["id"])
    stop_api_key(client, slug, stolen["id"], "key revoked")  # now believed stolen
    keys = client.get(f"/operator/institutions/{slug}/api-keys", headers=operator_headers())
    listed = {k["id"]: k for k in keys.json()}
    assert listed[stolen["id"]]["revoked_at"] and listed[stolen["id"]]["rotated_at"] is None
    worker.drain(30)

    for dropped in (revoke, suspend):
        body = client.get(dropped["poll"], headers=bearer(own)).json()
        assert body["state"] == "failed" and body["txHash"] is None, body
        assert body["error"].startswith("not sent") and "was revoked" in body["error"], body
        assert "rotated" not in body["error"], body
    assert _verdict(issuer_chain, docs[good["id"]]) == "VALID"
    assert _verdict(issuer_chain, docs[other["id"]]) == "VALID"


@pytest.mark.parametrize("retired", ["key revoked", "key rotated"])
def test_attack_a_retired_keys_queued_change_never_refuses_the_institutions_own(
    client: TestClient,
    service: Any,
    make_service: Any,
    issuer_chain: dict[str, Any],
    retired: str,
) -> None:
    """A key's revocation and suspension wait in the queue (ledger down) and the operator
    retires the key. The institution then revokes and suspends the same credentials with its
    own key: before the fix it was refused (409 "revoked (once the queued changes are
    applied)", "already suspended") on the strength of changes the worker drops (a revoked
    key's) or may still drop (a rotated key's, should the operator revoke it): the credentials
    stayed VALID on chain. Both are accepted and reach the chain; duplicates end applied."""
    inst = onboard(client)
    slug, own = inst["slug"], inst["api_key"]["token"]
    other = _extra_key(client, slug, "other")
    worker, (fraud, inquiry), docs = _anchored(client, service, own, 70, 2)
    theirs = _queue_while_the_ledger_is_down(
        make_service,
        [(other["token"], "revoke", fraud["id"]), (other["token"], "suspend", inquiry["id"])],
    )
    if retired == "key revoked":
        stop_api_key(client, slug, other["id"], "key revoked")
    else:
        _rotate(client, slug, other["id"])
    ours = [
        _change(client, own, "revoke", fraud["id"]),
        _change(client, own, "suspend", inquiry["id"]),
    ]
    worker.drain(30)

    assert _verdict(issuer_chain, docs[fraud["id"]]) == "INVALID"
    assert "Revoked by" in _failed_checks(issuer_chain, docs[fraud["id"]])
    assert _verdict(issuer_chain, docs[inquiry["id"]]) == "INVALID"
    assert "Suspended by" in _failed_checks(issuer_chain, docs[inquiry["id"]])
    for change in ours:
        assert client.get(change["poll"], headers=bearer(own)).json()["state"] == "applied"
    for change in theirs:
        body = client.get(change["poll"], headers=bearer(own)).json()
        if retired == "key revoked":
            assert body["state"] == "failed" and "was revoked" in body["error"], body
        else:
            assert body["state"] == "applied", body
