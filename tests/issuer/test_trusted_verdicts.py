"""Issue 11 on the issuer side, written as attacks first.

* A revoke or suspend without a reason (``{}``, blank) is refused, naming ``reason``; nothing is
  queued.
* Revocation is always possible: an institution the ledger shows suspended still revokes and
  suspends its own credentials (queued, applied, the verifier sees it revoked); it may not
  reinstate one (403 naming its state) nor issue.
* With the ledger frozen (a node that accepts connections and never answers) a status change is
  accepted (202) and `/readyz` answers, both well within bounds; once the node answers again the
  queued changes are applied in the order they were accepted.
* Impossible or future facts are refused at issuance naming the field: single, idempotent retry,
  bulk (JSONL and CSV, the template fast path).
* A degree or employment names the issuing institution itself: another employer or institution
  (name or id) is refused; the issuer's DID is set, its registered name filled when absent.
* Onboarding with the institution's own did:web.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.credential.examples import PERSON
from talentproof.issuer.bulk import BulkRunner

from .issuer_helpers import (
    BACKGROUND_WAIT_S,
    PERSON_CSV_HEADER,
    PERSON_CSV_ROW,
    bearer,
    degree_request,
    holder_did,
    new_slug,
    onboard,
    operator_headers,
    post_bulk_job,
    until,
)

pytestmark = pytest.mark.integration


def _governance(issuer_chain: dict[str, Any]) -> Any:
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


def _employment_request(employer: dict[str, Any], **dates: str) -> dict[str, Any]:
    employment: dict[str, Any] = {
        "type": "Employment",
        "employer": employer,
        "role": "Blockchain engineer",
        "seniority": "senior",
        "startDate": "2019-03-01",
        "responsibilities": ["settlement on a permissioned ledger"],
        "domains": ["blockchain in financial services"],
    }
    employment.update(dates)
    return {
        "type": "EmploymentCredential",
        "credentialSubject": {"id": holder_did(9), **PERSON, "employment": employment},
    }


# -- reasons -----------------------------------------------------------------------------------


def test_status_change_without_a_reason_is_refused_naming_reason(client, service) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    cred = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    for action in ("revoke", "suspend"):
        for body in ({}, {"reason": ""}, {"reason": "   \t\n"}):
            r = client.post(f"/credentials/{cred['id']}/{action}", headers=bearer(token), json=body)
            assert r.status_code == 422, (action, body, r.text)
            assert r.json()["field"] == "reason" and "reason" in r.json()["message"]
        r = client.post(
            "/credentials/status-changes",
            headers=bearer(token),
            json={"action": action, "credential_ids": [cred["id"]]},
        )
        assert r.status_code == 422 and r.json()["field"] == "reason", r.text
    assert service.pending_status_changes() == 0
    r = client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()
    assert r["revoked"] is False and r["suspended"] is False and r["statusChanges"] == []


# -- revocation by a suspended institution -----------------------------------------------------


@pytest.mark.parametrize("ledger_action", ["suspended", "removed"])
def test_suspended_institution_still_revokes_and_suspends_but_never_reinstates_or_issues(
    client, service, issuer_chain, ledger_action
) -> None:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.report import Status, Verdict
    from talentproof.verifier.trust import TrustedDeployment

    gov = _governance(issuer_chain)
    inst = onboard(client)
    token = inst["api_key"]["token"]
    a, b, c = (
        client.post(
            "/credentials", headers=bearer(token), json=degree_request(f"S{i}", seed_byte=30 + i)
        ).json()
        for i in range(3)
    )
    worker = client.app.state.worker
    worker.drain(30)
    r = client.post(
        f"/credentials/{c['id']}/suspend", headers=bearer(token), json={"reason": "audit"}
    )
    assert r.status_code == 202
    worker.drain(30)
    anchored = client.get(f"/credentials/{a['id']}", headers=bearer(token)).json()

    if ledger_action == "suspended":
        gov.suspend_issuer(inst["chain_issuer_id"])
    else:
        gov.remove_issuer(inst["chain_issuer_id"])
    service.ledger_watch.refresh_once()  # the background watch's read, now
    error = "institution_suspended" if ledger_action == "suspended" else "institution_removed"

    refused = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert refused.status_code == 403 and refused.json()["error"] == error
    reinstate = client.post(
        f"/credentials/{c['id']}/reinstate", headers=bearer(token), json={"reason": "cleared"}
    )
    assert reinstate.status_code == 403, reinstate.text
    assert reinstate.json()["error"] == error
    assert f"{ledger_action} on the ledger" in reinstate.json()["message"]

    revoke = client.post(
        f"/credentials/{a['id']}/revoke", headers=bearer(token), json={"reason": "fraud found"}
    )
    assert revoke.status_code in (200, 202), revoke.text
    suspend = client.post(
        f"/credentials/{b['id']}/suspend", headers=bearer(token), json={"reason": "under review"}
    )
    assert suspend.status_code in (200, 202), suspend.text
    worker.drain(30)
    for answer in (revoke, suspend):
        change = client.get(answer.json()["poll"], headers=bearer(token)).json()
        assert change["state"] == "applied", change
        assert change["txHash"] and change["error"] is None
    status = client.get(f"/credentials/{a['id']}/anchor", headers=bearer(token)).json()
    assert status["revoked"] is True and status["revocationReason"] == "fraud found"

    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    verifier = Verifier(RegistryReader(issuer_chain["rpc_url"], trust.registry), trust)
    report = verifier.verify_document(anchored)
    assert report.verdict == Verdict.INVALID
    failed = [check for check in report.checks if check.status == Status.FAIL]
    assert any("revok" in check.message.lower() for check in failed), failed


# -- a frozen ledger ----------------------------------------------------------------------------


class _FreezableProxy:
    """A TCP proxy to the node that can freeze: while frozen it accepts connections and reads
    requests but never answers (a hung node); thawed, it forwards again (held connections are
    dropped, as a restarted node would)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        client.settimeout(0.2)
        try:
            while not self.closed.is_set():
                try:
                    data = client.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return
                if self.frozen.is_set():  # swallowed: no answer, ever, on this connection
                    while self.frozen.is_set() and not self.closed.is_set():
                        time.sleep(0.05)
                    return
                if upstream is None:
                    upstream = socket.create_connection(self.target)
                    threading.Thread(
                        target=self._pump, args=(upstream, client), daemon=True
                    ).start()
                upstream.sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.closed.set()
        self.frozen.clear()
        self.listener.close()


def test_frozen_ledger_status_changes_are_queued_and_applied_in_order(
    make_service, issuer_chain
) -> None:
    from urllib.parse import urlsplit

    from web3 import Web3

    from talentproof.issuer.app import create_app

    target = urlsplit(issuer_chain["rpc_url"])
    proxy = _FreezableProxy((target.hostname or "127.0.0.1", target.port or 8545))
    try:
        service = make_service(
            rpc_url=proxy.url, rpc_timeout_s=1.0, tx_timeout_s=5.0, worker_poll_s=0.1
        )
        with TestClient(create_app(service, run_worker=True)) as client:
            inst = onboard(client)
            token = inst["api_key"]["token"]
            creds = [
                client.post(
                    "/credentials",
                    headers=bearer(token),
                    json=degree_request(f"Q{i}", seed_byte=60 + i),
                ).json()
                for i in range(3)
            ]
            a, b, c = (cred["id"] for cred in creds)

            def anchored() -> bool:
                return all(
                    client.get(f"/credentials/{cid}/anchor", headers=bearer(token)).json()["status"]
                    == "anchored"
                    for cid in (a, b, c)
                )

            assert until(anchored, 60), "the credentials were not anchored"

            proxy.frozen.set()  # the node hangs: connections accepted, never answered
            started = time.monotonic()
            ready = client.get("/readyz")
            assert ready.status_code == 200 and time.monotonic() - started < 3.0

            answers = []
            for path, body in (
                (f"/credentials/{a}/revoke", {"reason": "first"}),
                (f"/credentials/{b}/suspend", {"reason": "second"}),
                (f"/credentials/{b}/revoke", {"reason": "third"}),
            ):
                started = time.monotonic()
                r = client.post(path, headers=bearer(token), json=body)
                elapsed = time.monotonic() - started
                assert r.status_code == 202, r.text
                assert elapsed < 5.0, f"{path} took {elapsed:.1f} s"
                assert r.json()["state"] in ("pending", "sent")
                answers.append(r.json())
            issued = client.post("/credentials", headers=bearer(token), json=degree_request())
            assert issued.status_code == 202  # issuance is queued as before

            def probed_down() -> dict[str, Any] | None:
                """/readyz once the background probes have failed against the frozen node
                (each answer fast, as before and after)."""
                started = time.monotonic()
                ready = client.get("/readyz")
                assert ready.status_code == 200 and time.monotonic() - started < 3.0
                body: dict[str, Any] = ready.json()
                return body if body["chain"]["available"] is False else None

            body = until(probed_down, BACKGROUND_WAIT_S, step=0.25)
            assert body, "/readyz never saw the frozen node"
            for _ in range(3):
                started = time.monotonic()
                ready = client.get("/readyz")
                assert ready.status_code == 200 and time.monotonic() - started < 3.0
            body = ready.json()
            assert body["chain"]["available"] is False and body["status"] == "degraded"
            assert body["statusChanges"]["queued"] == 3

            proxy.frozen.clear()  # the node answers again

            def applied() -> list[dict[str, Any]] | None:
                changes = [
                    client.get(answer["poll"], headers=bearer(token)).json() for answer in answers
                ]
                return changes if all(ch["state"] == "applied" for ch in changes) else None

            changes = until(applied, 90, step=0.25)
            assert changes, [
                client.get(answer["poll"], headers=bearer(token)).json() for answer in answers
            ]
            w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
            blocks = [
                int(w3.eth.get_transaction_receipt(change["txHash"])["blockNumber"])
                for change in changes
            ]
            assert blocks == sorted(blocks) and len(set(blocks)) == 3  # applied in order
            assert [ch["id"] for ch in changes] == sorted(ch["id"] for ch in changes)
            status_a = client.get(f"/credentials/{a}/anchor", headers=bearer(token)).json()
            status_b = client.get(f"/credentials/{b}/anchor", headers=bearer(token)).json()
            assert status_a["revoked"] is True and status_a["revocationReason"] == "first"
            assert status_b["revoked"] is True and status_b["revocationReason"] == "third"
            assert [ch["action"] for ch in status_b["statusChanges"]] == ["suspend", "revoke"]
            assert until(
                lambda: client.get("/readyz").json()["status"] == "ready", BACKGROUND_WAIT_S
            )
    finally:
        proxy.close()


def test_readyz_answers_fast_with_a_dead_rpc(make_service) -> None:
    from talentproof.issuer.app import create_app

    with socket.socket() as hung:  # accepts (backlog) and never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        service = make_service(rpc_url=url, rpc_timeout_s=5.0)
        with TestClient(create_app(service, run_worker=False)) as client:
            for _ in range(3):
                started = time.monotonic()
                r = client.get("/readyz")
                assert r.status_code == 200 and time.monotonic() - started < 2.0
            assert r.json()["status"] == "degraded"


# -- impossible facts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda s: s["degree"].update(awardDate="2099-06-30"),
            "credentialSubject.degree.awardDate",
        ),
        (
            lambda s: s["degree"].update(awardDate="2023-02-30"),
            "credentialSubject.degree.awardDate",
        ),
        (
            lambda s: s["degree"].update(awardDate="2021-02-29"),
            "credentialSubject.degree.awardDate",
        ),
    ],
)
def test_impossible_degree_dates_are_refused_naming_the_field(client, mutate, field) -> None:
    token = onboard(client)["api_key"]["token"]
    request = degree_request()
    mutate(request["credentialSubject"])
    r = client.post("/credentials", headers=bearer(token), json=request)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    # the idempotent path: refused alike, every time, nothing stored
    for _ in range(2):
        r = client.post(
            "/credentials", headers=bearer(token, **{"Idempotency-Key": "facts-1"}), json=request
        )
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    listed = client.get("/credentials", headers=bearer(token)).json()
    assert listed["items"] == []


def test_impossible_employment_dates_are_refused(client) -> None:
    inst = onboard(client, types=["EmploymentCredential"])
    token = inst["api_key"]["token"]
    employer = {"name": inst["name"], "registrationId": "HK-1"}
    for dates, field in (
        ({"startDate": "2020-06-01", "endDate": "2019-01-31"}, "endDate"),
        ({"startDate": "2099-01-01"}, "startDate"),
        ({"startDate": "2020-06-01", "endDate": "2099-01-31"}, "endDate"),
        ({"startDate": "2020-04-31"}, "startDate"),
    ):
        r = client.post(
            "/credentials", headers=bearer(token), json=_employment_request(employer, **dates)
        )
        assert r.status_code == 422, (dates, r.text)
        assert r.json()["field"] == f"credentialSubject.employment.{field}", (dates, r.json())
    ok = client.post(
        "/credentials",
        headers=bearer(token),
        json=_employment_request(employer, startDate="2019-01-01", endDate="2020-01-01"),
    )
    assert ok.status_code == 202, ok.text


def test_bulk_rows_with_impossible_facts_are_row_errors_naming_the_field(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    subjects = [degree_request(f"B{i}", seed_byte=80 + i)["credentialSubject"] for i in range(4)]
    subjects[1]["degree"]["awardDate"] = "2099-06-30"
    subjects[3]["degree"]["awardDate"] = "2022-02-30"
    jsonl_job = post_bulk_job(client, token, subjects)
    csv = (
        f"id,{PERSON_CSV_HEADER},degree.type,degree.level,degree.fieldOfStudy,"
        "degree.institution.name,degree.awardDate\r\n"
        f"{holder_did(90)},{PERSON_CSV_ROW},Degree,master,Fintech,University of Testing,2020-06-30\r\n"
        f"{holder_did(91)},{PERSON_CSV_ROW},Degree,master,Fintech,University of Testing,2098-06-30\r\n"
    ).encode()
    r2 = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.csv", csv, "text/csv")},
        data={"type": "DegreeCredential"},
    )
    assert r2.status_code == 202, r2.text
    BulkRunner(service, processes=1).run_pending()
    for job_id, bad in ((jsonl_job, [2, 4]), (r2.json()["id"], [2])):
        status = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
        assert status["state"] == "done" and status["failed"] == len(bad), status
        errors = [
            orjson.loads(line)
            for line in client.get(
                f"/bulk-jobs/{job_id}/errors", headers=bearer(token)
            ).text.splitlines()
        ]
        assert [e["row"] for e in errors] == bad
        assert all(e["field"] == "credentialSubject.degree.awardDate" for e in errors), errors
        assert all(e["message"] for e in errors)


# -- the institution named in the subject is the issuer ------------------------------------------


def test_employment_naming_another_employer_is_refused(client) -> None:
    inst = onboard(client, types=["EmploymentCredential"])
    token = inst["api_key"]["token"]
    for employer, field in (
        ({"name": "OSL Digital Securities Limited", "registrationId": "HK-1"}, "name"),
        ({"name": "Universty of Testing", "registrationId": "HK-1"}, "name"),
        ({"name": inst["name"], "registrationId": "HK-1", "id": "did:web:osl.com"}, "id"),
    ):
        r = client.post("/credentials", headers=bearer(token), json=_employment_request(employer))
        assert r.status_code == 422, r.text
        assert r.json()["field"] == f"credentialSubject.employment.employer.{field}"
        r = client.post(
            "/credentials",
            headers=bearer(token, **{"Idempotency-Key": f"emp-{field}-{employer['name']}"}),
            json=_employment_request(employer),
        )
        assert r.status_code == 422 and r.json()["field"].endswith(f"employer.{field}")
    # the same name written differently is the institution; its DID is set, its name kept
    r = client.post(
        "/credentials",
        headers=bearer(token),
        json=_employment_request({"name": " university OF testing. ", "registrationId": "HK-1"}),
    )
    assert r.status_code == 202, r.text
    employer = r.json()["credential"]["credentialSubject"]["employment"]["employer"]
    assert employer["id"] == inst["did"] and employer["name"] == " university OF testing. "
    # no name: the registered one is filled
    r = client.post(
        "/credentials",
        headers=bearer(token),
        json=_employment_request({"registrationId": "HK-1", "id": inst["did"]}),
    )
    assert r.status_code == 202, r.text
    employer = r.json()["credential"]["credentialSubject"]["employment"]["employer"]
    assert employer == {"registrationId": "HK-1", "id": inst["did"], "name": inst["name"]}


def test_degree_naming_another_institution_is_refused_in_bulk_too(client, service) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    request = degree_request()
    request["credentialSubject"]["degree"]["institution"] = {"name": "Harbour University"}
    r = client.post("/credentials", headers=bearer(token), json=request)
    assert r.status_code == 422
    assert r.json()["field"] == "credentialSubject.degree.institution.name"
    good = degree_request("Good", seed_byte=101)["credentialSubject"]
    other = degree_request("Other", seed_byte=102)["credentialSubject"]
    other["degree"]["institution"] = {
        "name": "University of Testing",
        "id": "https://evil.example/",
    }
    job_id = post_bulk_job(client, token, [good, other])
    BulkRunner(service, processes=1).run_pending()
    errors = [
        orjson.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job_id}/errors", headers=bearer(token)
        ).text.splitlines()
    ]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "credentialSubject.degree.institution.id")
    ]
    results = [
        orjson.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job_id}/results", headers=bearer(token)
        ).text.splitlines()
    ]
    (issued,) = results
    assert issued["credential"]["credentialSubject"]["degree"]["institution"] == {
        "name": "University of Testing",
        "id": inst["did"],
    }


# -- onboarding with the institution's own DID ------------------------------------------------------


def test_onboarding_with_an_explicit_did_web(client) -> None:
    slug = new_slug("own-did")
    did = f"did:web:{slug}.example.com"
    r = client.post(
        "/operator/institutions",
        headers=operator_headers(),
        json={
            "name": "Own Domain Ltd",
            "slug": slug,
            "credential_types": ["EmploymentCredential"],
            "did": did,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["did"] == did
    doc = client.get(f"/institutions/{slug}/did.json").json()
    assert doc["id"] == did
    token = body["api_key"]["token"]
    issued = client.post(
        "/credentials",
        headers=bearer(token),
        json=_employment_request({"name": "Own Domain Ltd", "registrationId": "HK-9"}),
    )
    assert issued.status_code == 202, issued.text
    credential = issued.json()["credential"]
    assert credential["issuer"]["id"] == did
    assert credential["proof"]["verificationMethod"].startswith(did + "#")
    assert credential["credentialSubject"]["employment"]["employer"]["id"] == did
    # refused: not a did:web of a domain, or a DID that already names an institution
    for bad in (
        "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
        "did:web:OSL.com",
        "did:web:nodot",
        "https://osl.com",
    ):
        r = client.post(
            "/operator/institutions",
            headers=operator_headers(),
            json={
                "name": "X",
                "slug": new_slug("bad-did"),
                "credential_types": ["DegreeCredential"],
                "did": bad,
            },
        )
        assert r.status_code == 422 and r.json()["field"] == "did", (bad, r.text)
    again = client.post(
        "/operator/institutions",
        headers=operator_headers(),
        json={
            "name": "Twin",
            "slug": new_slug("twin"),
            "credential_types": ["DegreeCredential"],
            "did": did,
        },
    )
    assert again.status_code == 409, again.text
    derived = onboard(client)
    assert derived["did"].endswith(f":institutions:{derived['slug']}")


# -- migration 0004 ------------------------------------------------------------------------------


def test_migration_0004_keeps_confirmed_changes_as_applied(tmp_path) -> None:
    from pathlib import Path

    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from talentproof.issuer import db

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO institutions (slug, name, did, chain_account, chain_account_key_enc, "
                "credential_types, status, next_status_index, created_at) VALUES ('u', 'U', "
                "'did:web:u.example', '0x0', x'00', 'DegreeCredential', 'active', 0, '2026-01-01')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO status_changes (institution_id, action, reason, credential_ids, state, "
                "tx_hash, created_at) VALUES (1, 'revoke', 'old', 'urn:uuid:a', 'confirmed', '0x1', "
                "'2026-01-01'), (1, 'suspend', 'old', 'urn:uuid:b', 'pending', NULL, '2026-01-01')"
            )
        )
    db.migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT state, attempts, tx_record FROM status_changes ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [("applied", 0, None), ("pending", 0, None)]
    engine.dispose()


def test_cli_onboard_takes_an_explicit_did(issuer_chain, tmp_path, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from talentproof.issuer.cli import issuer_app

    from .issuer_helpers import settings_env

    for name, value in settings_env(issuer_chain, tmp_path, log_json="false").items():
        monkeypatch.setenv(name, value)
    slug = new_slug("cli-did")
    result = CliRunner().invoke(
        issuer_app,
        [
            "onboard",
            "--name",
            "CLI Firm Ltd",
            "--slug",
            slug,
            "--type",
            "EmploymentCredential",
            "--did",
            f"did:web:{slug}.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert body["did"] == f"did:web:{slug}.example.org" and body["slug"] == slug
    bad = CliRunner().invoke(
        issuer_app,
        [
            "onboard",
            "--name",
            "X",
            "--slug",
            new_slug("cli-bad"),
            "--type",
            "DegreeCredential",
            "--levels",
            "all",
            "--did",
            "did:key:z6Mkbad",
        ],
    )
    assert bad.exit_code != 0 and "did" in bad.output


def test_revoking_a_credential_not_yet_anchored_is_applied(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    cred = client.post("/credentials", headers=bearer(token), json=degree_request("Early")).json()
    r = client.post(
        f"/credentials/{cred['id']}/revoke", headers=bearer(token), json={"reason": "in error"}
    )
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)
    change = client.get(r.json()["poll"], headers=bearer(token)).json()
    assert change["state"] == "applied", change
    status = client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()
    assert status["status"] == "anchored" and status["revoked"] is True


def test_metrics_count_queued_and_applied_status_changes(client) -> None:
    token = onboard(client)["api_key"]["token"]
    cred = client.post("/credentials", headers=bearer(token), json=degree_request("Met")).json()
    client.app.state.worker.drain(30)
    r = client.post(
        f"/credentials/{cred['id']}/suspend", headers=bearer(token), json={"reason": "m"}
    )
    assert r.status_code == 202
    assert "talentproof_issuer_status_changes_queued 1.0" in client.get("/metrics").text
    client.app.state.worker.drain(30)
    text = client.get("/metrics").text
    assert "talentproof_issuer_status_changes_queued 0.0" in text
    assert 'talentproof_issuer_status_changes_total{outcome="applied"} 1.0' in text


def test_a_status_change_not_mined_in_time_stays_sent_and_is_resumed(
    make_service, issuer_chain
) -> None:
    from web3 import Web3

    from talentproof.issuer.app import create_app

    service = make_service(tx_timeout_s=1.0)
    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        cred = client.post(
            "/credentials", headers=bearer(token), json=degree_request("Slow")
        ).json()
        client.app.state.worker.drain(30)
        r = client.post(
            f"/credentials/{cred['id']}/revoke",
            headers=bearer(token),
            json={"reason": "slow chain"},
        )
        assert r.status_code == 202
        w3.provider.make_request("evm_setAutomine", [False])
        try:
            service.apply_status_changes()  # sent, not mined within 1 s: no error, stays sent
            change = client.get(r.json()["poll"], headers=bearer(token)).json()
            assert change["state"] == "sent" and change["txHash"], change
        finally:
            w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
        service.apply_status_changes()
        change = client.get(r.json()["poll"], headers=bearer(token)).json()
        assert change["state"] == "applied", change
        assert client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()[
            "revoked"
        ]


def test_queued_status_changes_survive_a_restart(make_service) -> None:
    from talentproof.issuer.app import create_app

    first = make_service()
    with TestClient(create_app(first, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
        cred = client.post("/credentials", headers=bearer(token), json=degree_request("Dur")).json()
        client.app.state.worker.drain(30)
        r = client.post(
            f"/credentials/{cred['id']}/revoke",
            headers=bearer(token),
            json={"reason": "before the crash"},
        )
        assert r.status_code == 202
    first.close()  # the process ends with the change queued
    second = make_service()  # same database
    assert second.pending_status_changes() == 1
    second.apply_status_changes()
    with TestClient(create_app(second, run_worker=False)) as client:
        change = client.get(r.json()["poll"], headers=bearer(token)).json()
        assert change["state"] == "applied" and change["reason"] == "before the crash"
