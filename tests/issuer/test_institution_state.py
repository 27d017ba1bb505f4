"""Institutions suspended on the ledger or by the operator, and the API's request polish found by
a walk-through (issue #4): non-JSON bodies, timestamps in one format."""

from __future__ import annotations

import logging
import re
import socket
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .issuer_helpers import (
    BACKGROUND_WAIT_S,
    bearer,
    degree_request,
    onboard,
    operator_headers,
    until,
)

_WAITING = re.compile(
    r"^waiting: the institution is suspended on the ledger since "
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
)


def _governance(issuer_chain: dict[str, Any]) -> Any:
    """The ledger's governance, as the consortium runs it (not through the issuer service)."""
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


def _issue_answer(client: Any, token: str, status: int, error: str | None = None) -> Any:
    """A POST /credentials answer if it has ``status`` (and ``error``), else None."""
    r = client.post("/credentials", headers=bearer(token), json=degree_request())
    if r.status_code != status or (error is not None and r.json().get("error") != error):
        return None
    return r


def test_ledger_suspension_waits_quietly_for_that_institution_only(
    client, service, issuer_chain, caplog
) -> None:
    from talentproof.issuer.anchoring import AnchorWorker

    gov = _governance(issuer_chain)
    a, b = onboard(client), onboard(client)
    ta, tb = a["api_key"]["token"], b["api_key"]["token"]
    a1 = client.post("/credentials", headers=bearer(ta), json=degree_request()).json()["id"]
    b1 = client.post("/credentials", headers=bearer(tb), json=degree_request()).json()["id"]
    gov.suspend_issuer(a["chain_issuer_id"])

    worker = AnchorWorker(service)
    caplog.set_level(logging.INFO, logger="talentproof.issuer")
    worker.drain(30)  # A's batch reverts AnchorIssuerNotActive: expected, not an error
    worker.run_once(force=True)
    worker.run_once(force=True)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].exc_info is None and "suspended on the ledger" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # the other institution kept anchoring
    assert client.get(f"/credentials/{b1}/anchor", headers=bearer(tb)).json()["status"] == (
        "anchored"
    )
    status = client.get(f"/credentials/{a1}/anchor", headers=bearer(ta)).json()
    assert status["status"] == "pending_anchor"
    assert _WAITING.match(status["waiting"]), status["waiting"]
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    (waiting,) = ready["anchoring"]["waiting"]
    assert waiting["institution"] == a["slug"] and waiting["ledgerStatus"] == "suspended"
    assert waiting["reason"] == status["waiting"]

    # new issuance by A is refused (the worker's read is cached), B's still accepted
    refused = client.post("/credentials", headers=bearer(ta), json=degree_request())
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "institution_suspended"
    assert "suspended on the ledger" in refused.json()["message"]
    assert client.post("/credentials", headers=bearer(tb), json=degree_request()).status_code == (
        202
    )

    # reinstated on the ledger: anchoring resumes by itself, issuance is accepted again
    gov.reinstate_issuer(a["chain_issuer_id"])
    service.ledger_watch.refresh_once()
    worker.drain(30)
    assert client.get(f"/credentials/{a1}/anchor", headers=bearer(ta)).json()["status"] == (
        "anchored"
    )
    assert client.get("/readyz").json()["anchoring"]["waiting"] == []
    assert client.post("/credentials", headers=bearer(ta), json=degree_request()).status_code == (
        202
    )


def test_issuance_refused_from_the_background_read_on_every_path(client, issuer_chain) -> None:
    """No worker ran: the service's background status watch alone sees the suspension; the
    fast path, the FastAPI route and bulk job submission all refuse; removal is named."""
    gov = _governance(issuer_chain)
    inst = onboard(client)
    token = inst["api_key"]["token"]
    assert client.post(
        "/credentials", headers=bearer(token), json=degree_request()
    ).status_code == (202)
    gov.suspend_issuer(inst["chain_issuer_id"])
    refused = until(lambda: _issue_answer(client, token, 403), BACKGROUND_WAIT_S)
    assert refused, "the suspension never reached issuance"
    assert refused.json()["error"] == "institution_suspended"
    assert f"issuer {inst['chain_issuer_id']}" in refused.json()["message"]
    # the FastAPI route (a content type the fast path leaves to it)
    routed = client.post(
        "/credentials",
        headers=bearer(token, **{"Content-Type": "application/json;charset=UTF-8"}),
        content=b'{"type": "DegreeCredential", "credentialSubject": {"id": "did:example:x"}}',
    )
    assert routed.status_code == 403 and routed.json()["error"] == "institution_suspended"
    bulk = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", b'{"credentialSubject": {}}\n')},
    )
    assert bulk.status_code == 403 and bulk.json()["error"] == "institution_suspended"

    gov.remove_issuer(inst["chain_issuer_id"])
    removed = until(
        lambda: _issue_answer(client, token, 403, "institution_removed"), BACKGROUND_WAIT_S
    )
    assert removed, "the removal never reached issuance"
    assert "removed on the ledger" in removed.json()["message"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ledger_unreachable_issuance_is_accepted_and_queued(
    client, service, make_service, issuer_chain
) -> None:
    """A service whose ledger is unreachable and whose database holds no fresh read of the
    suspension accepts and queues (no ledger call on the request path); once another process of
    the deployment records the suspension in the shared database, it refuses like any other."""
    from talentproof.issuer.app import create_app
    from talentproof.issuer.store import ConnectionReads

    gov = _governance(issuer_chain)
    inst = onboard(client)
    token, issuer_id = inst["api_key"]["token"], inst["chain_issuer_id"]
    # The first service's ledger watch (started by its app even with run_worker=False) would
    # record the suspension in the shared database within LEDGER_REFRESH_S, and the offline
    # service rightly refuses on that fresh read: stop it (joins the thread) before suspending.
    service.ledger_watch.stop()
    gov.suspend_issuer(issuer_id)
    offline = make_service(rpc_url=f"http://127.0.0.1:{_closed_port()}")  # same database
    with TestClient(create_app(offline, run_worker=False)) as down:
        with offline.engine.connect() as conn:
            known = offline.ledger_states.recorded(ConnectionReads(conn), issuer_id)
        assert known is None or known.status == "active", known  # the mirror has not seen it
        r = down.post("/credentials", headers=bearer(token), json=degree_request())
        assert r.status_code == 202, r.text
        assert "ledger unavailable" in r.json()["anchoring"] or r.json()["anchoring"] == "queued"

        service.ledger_watch.refresh_once()  # the other process records the suspension
        refused = until(
            lambda: _issue_answer(down, token, 403, "institution_suspended"), BACKGROUND_WAIT_S
        )
        assert refused, "the recorded suspension never reached the offline service"
        assert "suspended on the ledger" in refused.json()["message"]


# -- requests that are not JSON ---------------------------------------------------------------------


def test_form_body_names_the_expected_content_type(client) -> None:
    token = onboard(client)["api_key"]["token"]
    # curl -d '{...}' without -H: a form content type
    r = client.post(
        "/credentials",
        headers=bearer(token, **{"Content-Type": "application/x-www-form-urlencoded"}),
        content=b'{"type": "DegreeCredential", "credentialSubject": {}}',
    )
    assert r.status_code == 415, r.text
    body = r.json()
    assert body["error"] == "unsupported_media_type"
    assert "send the body as JSON with Content-Type: application/json" in body["message"]
    assert "application/x-www-form-urlencoded" in body["message"]
    # the operator endpoints too
    r = client.post(
        "/operator/institutions",
        headers=operator_headers(**{"Content-Type": "text/plain"}),
        content=b'{"name": "x"}',
    )
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["message"]
    # JSON, but not an object: 422 naming what is expected
    r = client.post("/credentials", headers=bearer(token), json=[1, 2])
    assert r.status_code == 422
    assert "send the body as a JSON object" in r.json()["message"]
    # a field error still names its field
    r = client.post("/credentials", headers=bearer(token), json={"type": "DegreeCredential"})
    assert r.status_code == 422 and r.json()["field"] == "credentialSubject"


# -- timestamps --------------------------------------------------------------------------------------

_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_STAMP_KEY = re.compile(r"(_at|At|^since)$")


def _stamps(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) of a timestamp key in a JSON value."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if _STAMP_KEY.search(k) and v is not None:
                out.append((f"{path}.{k}", v))
            out.extend(_stamps(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_stamps(v, f"{path}[{i}]"))
    return out


def test_every_timestamp_is_utc_with_z(client) -> None:
    inst = onboard(client)
    slug, token, key_id = inst["slug"], inst["api_key"]["token"], inst["api_key"]["id"]
    op = operator_headers()
    cred = client.post("/credentials", headers=bearer(token), json=degree_request()).json()["id"]
    client.app.state.worker.drain(30)
    extra = client.post(
        f"/operator/institutions/{slug}/api-keys", headers=op, json={"scopes": ["read"]}
    )
    answers = {
        "onboard": inst,
        "rotate signing key": client.post(
            f"/operator/institutions/{slug}/signing-keys/rotate", headers=op
        ).json(),
        "get institution": client.get(f"/operator/institutions/{slug}", headers=op).json(),
        "list institutions": client.get("/operator/institutions", headers=op).json(),
        "revoke api key": client.post(
            f"/operator/institutions/{slug}/api-keys/{extra.json()['id']}/revoke", headers=op
        ).json(),
        "list api keys": client.get(f"/operator/institutions/{slug}/api-keys", headers=op).json(),
        "anchor status": client.get(f"/credentials/{cred}/anchor", headers=bearer(token)).json(),
    }
    seen = set()
    for name, body in answers.items():
        for path, value in _stamps(body):
            seen.add(path.rsplit(".", 1)[-1])
            assert isinstance(value, str) and _STAMP.match(value), (name, path, value)
    assert {"created_at", "revoked_at", "anchoredAt"} <= seen
    assert key_id  # the onboarding answer's own key


def test_timestamp_format_helper() -> None:
    import datetime as dt

    from talentproof.issuer.service import iso_z

    naive = dt.datetime(2026, 7, 1, 8, 30, 5, 123456)  # as SQLite returns: UTC, no offset
    aware = dt.datetime(2026, 7, 1, 16, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert iso_z(naive) == iso_z(aware) == "2026-07-01T08:30:05Z"
    assert iso_z(None) is None


@pytest.mark.parametrize("status", ["suspended"])
def test_operator_suspension_answers_403_for_valid_keys_only(client, status: str) -> None:
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    r = client.post(
        f"/operator/institutions/{slug}/status", headers=operator_headers(), json={"status": status}
    )
    assert r.status_code == 200
    for method, path in (("GET", "/credentials"), ("POST", "/credentials")):
        r = client.request(method, path, headers=bearer(token), json=degree_request())
        assert r.status_code == 403 and r.json()["error"] == "institution_suspended", r.text
    bad = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.get("/credentials", headers=bearer(bad)).status_code == 401
    assert client.get("/credentials", headers=bearer("tpk_nope_nope")).status_code == 401


def test_one_watch_shares_the_ledger_status_with_every_process(
    client, service, make_service, issuer_chain
) -> None:
    """The watch of one process records the status in the database; another process with no
    ledger at all (its RPC URL dead) refuses from that record alone, and accepts again once the
    record is older than the freshness limit (the watch stopped: fail open, queue)."""

    from sqlalchemy import update

    from talentproof.issuer.api.errors import http_status
    from talentproof.issuer.db import LedgerIssuerState
    from talentproof.issuer.outcome import Kind, WriteOutcome
    from talentproof.issuer.usecases.ledger_states import LEDGER_STATE_MAX_AGE_S

    gov = _governance(issuer_chain)
    inst = onboard(client)
    token = inst["api_key"]["token"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    other = make_service(rpc_url=dead)  # another process on the same database
    other.ledger_watch.stop()  # it never watches the ledger itself
    caller = other.authenticate(token)
    (accepted,) = other.issue_group([(caller, None, degree_request())])
    assert isinstance(accepted, WriteOutcome) and accepted.kind is Kind.ACCEPTED

    gov.suspend_issuer(inst["chain_issuer_id"])
    service.ledger_watch.refresh_once()  # the watching process's read, recorded
    with service.sessions() as session:
        row = session.get(LedgerIssuerState, inst["chain_issuer_id"])
        assert row is not None and row.status == "suspended" and row.since_unix
    other.caches.ledger_states.clear()  # past its 1 s re-read interval
    (refused,) = other.issue_group([(caller, None, degree_request())])
    assert http_status(refused) == 403 and refused.code == "institution_suspended"
    assert f"issuer {inst['chain_issuer_id']}" in refused.message
    assert other.chain.cached_issuer_state(inst["chain_issuer_id"], max_age=60) is None

    stale = time.time() - LEDGER_STATE_MAX_AGE_S - 1
    with service.session() as session:
        session.execute(
            update(LedgerIssuerState)
            .where(LedgerIssuerState.chain_issuer_id == inst["chain_issuer_id"])
            .values(checked_unix=stale)
        )
    other.caches.ledger_states.clear()
    (queued,) = other.issue_group([(caller, None, degree_request())])
    assert isinstance(queued, WriteOutcome) and queued.kind is Kind.ACCEPTED
    gov.reinstate_issuer(inst["chain_issuer_id"])
