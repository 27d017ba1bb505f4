"""How `serve` runs the API fast: the issuance fast path, the writer lock across processes, the
caches other processes' changes expire from, the WAL checkpointer, GC freezing and its pause
metrics, and `serve --workers N` (several HTTP processes, one anchoring worker, one /metrics)."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from talentproof.issuer.db import CredentialRow

from .issuer_helpers import (
    OPERATOR_TOKEN,
    bearer,
    degree_request,
    new_slug,
    onboard,
    operator_headers,
    settings_env,
)

pytestmark = pytest.mark.integration


def _count(service: Any) -> int:
    with service.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(CredentialRow)) or 0)


# -- the issuance fast path ------------------------------------------------------------------------


def test_fast_path_and_route_answer_alike_and_share_idempotency(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    body = orjson.dumps(degree_request())
    fast = {"Content-Type": "application/json", **bearer(token, **{"Idempotency-Key": "k1"})}
    # a JSON media type the fast path leaves to the FastAPI route (which parses +json bodies)
    routed = {"Content-Type": "application/vnd.tp+json", **bearer(token)}
    a = client.post("/credentials", content=body, headers=fast)
    b = client.post("/credentials", content=body, headers={**routed, "Idempotency-Key": "k2"})
    assert a.status_code == b.status_code == 202
    assert a.json().keys() == b.json().keys()
    assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
    assert a.headers["location"] == f"/credentials/{a.json()['id']}/anchor"
    assert a.json()["id"] != b.json()["id"]
    # each key replays through the other path: one stored answer per key, whichever path wrote it
    a2 = client.post("/credentials", content=body, headers={**routed, "Idempotency-Key": "k1"})
    b2 = client.post("/credentials", content=body, headers={**fast, "Idempotency-Key": "k2"})
    assert (a2.json()["id"], b2.json()["id"]) == (a.json()["id"], b.json()["id"])
    assert a2.headers["Idempotent-Replayed"] == b2.headers["Idempotent-Replayed"] == "true"
    assert _count(service) == 2
    other = orjson.dumps(degree_request("Other field"))
    reused = client.post("/credentials", content=other, headers=fast)
    assert reused.status_code == 409 and reused.json()["error"] == "idempotency_key_reused"
    # the fast path applies the same checks: scope, accreditation, schema, credentials
    assert (
        client.post(
            "/credentials",
            content=orjson.dumps({**degree_request(), "type": "OpenBadgeCredential"}),
            headers=fast | {"Idempotency-Key": "k3"},
        ).json()["error"]
        == "not_accredited"
    )
    assert _count(service) == 2


@pytest.mark.parametrize(
    ("headers", "body", "status", "error", "field"),
    [
        ({}, degree_request(), 401, "unauthenticated", None),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, degree_request(), 401, "unauthenticated", None),
        ({"Authorization": "Bearer tpk_nope_nope"}, degree_request(), 401, "unauthenticated", None),
        ("token", {**degree_request(), "extra": 1}, 422, "invalid_request", "extra"),
        ("token", {"credentialSubject": {}}, 422, "invalid_request", "type"),
        ("token", b"{not json", 422, "invalid_request", None),
    ],
    ids=["no-key", "basic-auth", "unknown-key", "extra-field", "no-type", "bad-json"],
)
def test_fast_path_refusals_match_the_documented_errors(
    client, service, headers, body, status, error, field
) -> None:
    token = onboard(client)["api_key"]["token"]
    if headers == "token":
        headers = bearer(token)
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    r = client.post(
        "/credentials", content=content, headers={"Content-Type": "application/json", **headers}
    )
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    if field is not None:
        assert r.json()["field"] == field
    assert _count(service) == 0


def test_fast_path_answers_without_the_route_and_hands_on_the_rest(service) -> None:
    """Driven as ASGI: a well-formed request never reaches the app behind the fast path; any
    other request reaches it with its body intact."""
    from talentproof.issuer.api.issuance import IssueFastPath, IssueGroups
    from talentproof.issuer.api.main import create_app

    with TestClient(create_app(service, run_worker=False)) as client:
        token = onboard(client)["api_key"]["token"]
    reached: list[bytes] = []

    async def behind(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        reached.append(message["body"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    fast = IssueFastPath(behind, service=service, groups=IssueGroups(service))

    async def post(headers: dict[str, str], body: bytes, chunks: int = 1) -> int:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/credentials",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        size = -(-len(body) // chunks)
        parts = [body[i : i + size] for i in range(0, len(body), size)]
        messages = [
            {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
            for i, p in enumerate(parts)
        ]
        status: list[int] = []

        async def receive() -> Any:
            return messages.pop(0)

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await fast(scope, receive, send)
        return status[0]

    good = orjson.dumps(degree_request())
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert asyncio.run(post(auth, good, chunks=3)) == 202
    assert reached == []
    assert asyncio.run(post({**auth, "Content-Type": "text/plain"}, good)) == 299
    assert asyncio.run(post({"Content-Type": "application/json"}, good)) == 299
    bad = orjson.dumps({**degree_request(), "unexpected": True})
    assert asyncio.run(post(auth, bad, chunks=2)) == 299
    assert reached == [good, good, bad]
    assert _count(service) == 1


# -- several processes on one SQLite database ----------------------------------------------------


def _hold_lock(path: str, held: Any, release: Any) -> None:
    from talentproof.issuer.store.locks import WriterLock

    lock = WriterLock(Path(path))
    with lock:
        held.set()
        release.wait(30)


def test_writer_lock_excludes_other_processes_and_reenters_in_one_thread(tmp_path) -> None:
    from talentproof.issuer.store.locks import WriterLock

    path = tmp_path / "issuer.db-writelock"
    lock = WriterLock(path)
    with lock, lock:  # re-entrant within a thread
        probe = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the outer exit
    fcntl.flock(probe, fcntl.LOCK_UN)
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_lock, args=(str(path), held, release))
    child.start()
    entered = threading.Event()

    def write() -> None:
        with lock:
            entered.set()

    try:
        assert held.wait(60)
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert lock.waits == 0
        writer = threading.Thread(target=write)
        writer.start()
        assert not entered.wait(0.5)  # queued behind the other process
    finally:
        release.set()
        child.join(30)
    writer.join(30)
    assert entered.is_set()  # the other process let go
    assert lock.waits == 1 and lock.wait_max > 0 and lock.wait_seconds == lock.wait_max
    os.close(probe)
    lock.close()


def test_service_on_sqlite_file_uses_the_process_lock_and_checkpoints_the_wal(service) -> None:
    from talentproof.issuer.store.locks import WriterLock

    assert isinstance(service.write_lock, WriterLock)
    assert service.checkpointer is not None
    with TestClient(
        __import__("talentproof.issuer.app", fromlist=["create_app"]).create_app(
            service, run_worker=False
        )
    ) as client:
        token = onboard(client)["api_key"]["token"]
        for i in range(5):
            assert (
                client.post(
                    "/credentials", headers=bearer(token), json=degree_request(f"F {i}")
                ).status_code
                == 202
            )
    busy, frames, copied = service.checkpointer.checkpoint()
    assert busy == 0 and frames == copied  # everything written is back in the database file


def test_other_process_changes_reach_cached_issuance_after_the_ttl(
    client, make_service, monkeypatch
) -> None:
    """A second service on the same database stands for another `serve` process: a withdrawn
    type, a rotated signing key and a suspended institution reach its caches."""
    from talentproof.issuer.app import create_app

    slug = new_slug()
    inst = onboard(client, slug=slug, types=["DegreeCredential", "EmploymentCredential"])
    token = inst["api_key"]["token"]
    first_key = inst["signing_keys"][0]["publicKeyMultibase"]
    other = make_service()
    with TestClient(create_app(other, run_worker=False)) as second:
        r = second.post("/credentials", headers=bearer(token), json=degree_request())
        assert r.status_code == 202
        assert r.json()["credential"]["proof"]["verificationMethod"].endswith(first_key)
        rotated = client.post(
            f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
        )
        assert rotated.status_code == 200, rotated.text
        new_key = next(k for k in rotated.json()["signing_keys"] if k["active"])
        for cache in (other.caches.principals, other.caches.institutions, other.caches.signers):
            monkeypatch.setattr(cache, "ttl", 0.0)  # the TTL has passed
        r2 = second.post("/credentials", headers=bearer(token), json=degree_request())
        assert r2.status_code == 202, r2.text
        assert r2.json()["credential"]["proof"]["verificationMethod"].endswith(
            new_key["publicKeyMultibase"]
        )
        withdrawn = client.post(
            f"/operator/institutions/{slug}/credential-types",
            headers=operator_headers(),
            json={"withdraw": ["DegreeCredential"]},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        refused = second.post("/credentials", headers=bearer(token), json=degree_request())
        assert refused.status_code == 403 and refused.json()["error"] == "not_accredited"
        suspended = client.post(
            f"/operator/institutions/{slug}/status",
            headers=operator_headers(),
            json={"status": "suspended"},
        )
        assert suspended.status_code == 200
        gone = second.post("/credentials", headers=bearer(token), json=degree_request())
        assert gone.status_code == 403 and gone.json()["error"] == "institution_suspended"


# -- GC: freezing the start-up heap, pause metrics -------------------------------------------------


def test_freeze_gc_start_up_freezes_the_heap_and_reports_pauses(service) -> None:
    from talentproof.issuer.app import create_app
    from talentproof.issuer.observability import GC_GEN0_THRESHOLD, GC_PAUSES

    threshold = gc.get_threshold()
    try:
        with TestClient(create_app(service, run_worker=False, freeze_gc=True)) as client:
            assert gc.get_freeze_count() > 10_000  # web3, FastAPI, SQLAlchemy, the service
            assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
            assert GC_PAUSES.installed
            before = GC_PAUSES.count[2]
            gc.collect()
            assert GC_PAUSES.count[2] == before + 1
            text = client.get("/metrics").text
            full = re.search(
                r'talentproof_issuer_gc_collections_total\{generation="2"\} (\S+)', text
            )
            assert full is not None and float(full.group(1)) >= before + 1
            longest = re.search(
                r'talentproof_issuer_gc_pause_max_seconds\{generation="2"\} (\S+)', text
            )
            assert longest is not None and float(longest.group(1)) > 0
    finally:
        GC_PAUSES.uninstall()
        gc.unfreeze()
        gc.set_threshold(*threshold)
    plain = TestClient(create_app(service, run_worker=False))
    assert "talentproof_issuer_gc_" not in plain.get("/metrics").text


# -- serve --workers N -------------------------------------------------------------------------------


def _metric(text: str, name: str) -> float:
    values = [
        float(m.group(1))
        for m in re.finditer(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, flags=re.MULTILINE)
    ]
    assert values, f"no {name} in /metrics"
    return sum(values)


@pytest.mark.parametrize("processes", [1, 2])
def test_serve_runs_http_processes_beside_one_worker_and_reports_all(
    issuer_chain, tmp_path, processes
) -> None:
    """`serve` (and `serve --workers 2`): HTTP in spawned processes, the anchoring worker in
    the supervising one; the credentials all processes accept are anchored once, and /metrics of
    whichever process answers counts all of them."""
    from .conftest import _free_port

    port = _free_port()
    env = {
        **os.environ,
        **settings_env(issuer_chain, tmp_path / "data", batch_max_wait_s=0.2),
        "TALENTPROOF_ISSUER_PUBLIC_URL": f"http://localhost:{port}",
    }
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "talentproof", "issuer", "serve", "--port", str(port), "--workers", str(processes)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.3)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= processes  # the HTTP processes (and multiprocessing's helpers)
        made = httpx.post(
            f"{url}/operator/institutions",
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            json={
                "name": "University of Testing",
                "slug": new_slug(),
                "credential_types": ["DegreeCredential"],
            },
            timeout=120,
        )
        assert made.status_code == 201, made.text
        token = made.json()["api_key"]["token"]
        ids = []
        for i in range(12):  # a new connection each: the kernel spreads them over the processes
            r = httpx.post(
                f"{url}/credentials",
                headers=bearer(token, **{"Idempotency-Key": f"w-{i}"}),
                json=degree_request(f"Field {i}"),
                timeout=30,
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        replay = httpx.post(
            f"{url}/credentials",
            headers=bearer(token, **{"Idempotency-Key": "w-0"}),
            json=degree_request("Field 0"),
            timeout=30,
        )
        assert replay.json()["id"] == ids[0]
        deadline = time.monotonic() + 60
        while True:  # the supervisor's anchoring worker anchors what both processes accepted
            states = {
                httpx.get(
                    f"{url}/credentials/{c}/anchor", headers=bearer(token), timeout=30
                ).json()["status"]
                for c in ids
            }
            if states == {"anchored"}:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.5)
        while True:  # the worker counts a batch just after recording it anchored
            text = httpx.get(f"{url}/metrics", timeout=30).text
            if _metric(text, "talentproof_issuer_credentials_anchored_total") >= 12:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.5)
        assert _metric(text, "talentproof_issuer_credentials_issued_total") == 12
        assert _metric(text, "talentproof_issuer_credentials_anchored_total") == 12
        assert 'talentproof_issuer_gc_collections_total{generation="0",pid=' in text
        assert "talentproof_issuer_db_write_lock_waits_total{pid=" in text
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    assert server.returncode is not None


def test_worker_threads_yield_the_cpu_to_requests(make_service) -> None:
    """The anchoring and bulk worker threads run at nice ``worker_nice`` (Linux, where the
    service runs and this suite runs), the threads serving requests at the process's own
    priority; 0 leaves them alone."""
    from talentproof.issuer.observability import lower_thread_priority

    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def probe(name: str, nice: int) -> None:
        lower_thread_priority(nice)
        seen[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    service = make_service(worker_nice=7)
    assert service.settings.worker_nice == 7
    for name, nice in (("worker", service.settings.worker_nice), ("off", 0)):
        thread = threading.Thread(target=probe, args=(name, nice))
        thread.start()
        thread.join()
    assert seen == {"worker": max(base, 7), "off": base}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # caller untouched

    from talentproof.issuer.anchoring import AnchorWorker
    from talentproof.issuer.bulk import BulkRunner

    for worker in (AnchorWorker(service), BulkRunner(service)):
        worker.start()
        try:
            tid = worker.thread_id
            assert tid is not None
            deadline = time.monotonic() + 60  # a bound for a loaded machine, not a figure
            while os.getpriority(os.PRIO_PROCESS, tid) != max(base, 7):
                assert time.monotonic() < deadline, f"{type(worker).__name__} kept its priority"
                time.sleep(0.02)
        finally:
            worker.stop()
