"""Bounded state under floods (issue 12, point 4): the verifier's unauthenticated endpoints are
rate-limited per client address and the open challenges are capped, in all and per address.

The store and the middleware are tested on their own (no chain); one test floods a real
service over loopback (uvicorn on 127.0.0.1, the flooding and the legitimate client bound to
distinct 127.0.0.x source addresses), with a fixed request count and a time bound, and asserts
on counts only.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.verifier.challenges import EXPIRED, UNKNOWN, ChallengesFull, ChallengeStore
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.service import ServiceSettings, create_app

# --------------------------------------------------------------------------- the store


def test_challenge_store_never_exceeds_its_cap_under_a_flood_of_addresses() -> None:
    now = [0.0]
    store = ChallengeStore(300, clock=lambda: now[0], max_open=1_000, per_client=10)
    legit, _ = store.issue("officer")
    refused = 0
    for i in range(50_000):  # 5,000 addresses, 10 challenges each, then more
        try:
            store.issue(f"10.{i // 65536}.{(i // 256) % 256}.{i % 256 // 10}")
        except ChallengesFull as exc:
            refused += 1
            assert exc.retry_after == 300  # the oldest expires in 300 s
        assert len(store) <= 1_000
    assert refused > 0
    # the legitimate challenge was never evicted by anyone else's flood
    assert store.consume(legit) is None
    assert store.consume(legit) == UNKNOWN
    # once the flood's challenges expire they are dropped as new ones are issued
    now[0] = 301
    fresh, _ = store.issue("officer")
    assert len(store) == 1 and store.consume(fresh) is None


def test_one_address_only_ever_replaces_its_own_oldest_challenges() -> None:
    store = ChallengeStore(300, max_open=50, per_client=5)
    others = [store.issue(f"192.0.2.{i}")[0] for i in range(10)]
    flood = [store.issue("203.0.113.66")[0] for _ in range(10_000)]
    assert store.open_for("203.0.113.66") == 5 and len(store) == 15
    assert store.consume(flood[0]) == UNKNOWN  # its own oldest were replaced
    assert store.consume(flood[-1]) is None
    assert all(store.consume(c) is None for c in others)


def test_challenges_expire_and_are_single_use() -> None:
    now = [0.0]
    store = ChallengeStore(10, clock=lambda: now[0], max_open=3, per_client=3)
    a, _ = store.issue("x")
    b, _ = store.issue("y")
    now[0] = 10.5
    assert store.consume(a) == EXPIRED  # still held (dropped lazily), so said precisely
    store.issue("z")  # drops b, expired
    assert store.consume(b) == UNKNOWN and len(store) == 1
    with pytest.raises(ValueError):
        ChallengeStore(10, max_open=0)


# --------------------------------------------------------------------------- the middleware


def _app(limits: VerifierLimits) -> Any:
    stub = SimpleNamespace(domain="verifier.example.hk", trust=None, reader=None)
    return create_app(ServiceSettings(limits=limits), verifier=stub)  # type: ignore[arg-type]


def test_challenges_are_rate_limited_per_client_address() -> None:
    app = _app(VerifierLimits(challenge_rate_per_s=0.001, challenge_burst=5))
    a = TestClient(app, client=("203.0.113.7", 1000))
    seen = [a.post("/api/v1/challenges").status_code for _ in range(8)]
    assert seen == [200] * 5 + [429] * 3
    r = a.post("/api/v1/challenges", headers={"X-Forwarded-For": "10.9.8.7"})  # not trusted
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "per client address" in r.json()["detail"]
    b = TestClient(app, client=("198.51.100.1", 1000))
    assert b.post("/api/v1/challenges").status_code == 200
    # verification has its own budget
    assert a.post("/api/v1/verify", json={}).status_code == 422


def test_verification_and_image_upload_are_rate_limited_per_client_address() -> None:
    app = _app(VerifierLimits(verify_rate_per_s=0.001, verify_burst=4))
    a = TestClient(app, client=("203.0.113.8", 1000))
    seen = [a.post("/api/v1/verify", json={}).status_code for _ in range(2)]
    seen.append(a.post("/api/v1/applications/evaluate", json={}).status_code)
    seen.append(a.post("/api/v1/verify/image", data={"idNumber": "x"}).status_code)
    assert 429 not in seen
    r = a.post("/api/v1/verify/image", files=[("files", ("a.png", b"x" * 100_000, "image/png"))])
    assert r.status_code == 429 and "verification requests" in r.json()["detail"]
    assert a.post("/api/v1/verify", json={}).status_code == 429
    assert a.post("/api/v1/challenges").status_code == 200  # a separate budget
    assert (
        TestClient(app, client=("198.51.100.2", 1)).post("/api/v1/verify", json={}).status_code
        == 422
    )
    assert a.get("/api/v1/professions").status_code == 200  # reads are not limited here


def test_request_bodies_are_capped_image_uploads_included() -> None:
    app = _app(VerifierLimits(max_body_bytes=64 * 1024))
    c = TestClient(app, client=("203.0.113.9", 1))
    r = c.post("/api/v1/verify/image", files=[("files", ("big.png", b"x" * 100_000, "image/png"))])
    assert r.status_code == 413 and "at most 65536 bytes" in r.json()["detail"]

    def chunks():  # streamed, no Content-Length: cut as it passes the limit
        for _ in range(40):
            yield b"x" * 4096

    r = c.post("/api/v1/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "at most 65536 bytes" in r.json()["detail"]
    assert c.post("/api/v1/verify", json={"profession": "x" * 30_000}).status_code == 422  # read


def test_a_full_store_refuses_new_challenges_with_retry_after() -> None:
    app = _app(VerifierLimits(challenges_max=3, challenges_per_client=2, challenge_rate_per_s=0))
    clients = [TestClient(app, client=(f"192.0.2.{i}", 1)) for i in range(3)]
    assert [c.post("/api/v1/challenges").status_code for c in clients[:2] for _ in range(2)] == [
        200,
        200,
        200,
        429,
    ]
    r = clients[2].post("/api/v1/challenges")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "maximum of 3 open challenges" in r.json()["detail"]
    assert len(app.state.verifier_state.challenges) == 3


def test_forwarded_for_counts_only_behind_configured_proxies() -> None:
    app = _app(VerifierLimits(challenge_rate_per_s=0.001, challenge_burst=1, trusted_proxies=1))
    proxy = TestClient(app, client=("10.0.0.1", 1))
    for i in range(5):  # each client behind the proxy has its own budget
        assert (
            proxy.post(
                "/api/v1/challenges", headers={"X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            == 200
        )
    # a client cannot pick its bucket by writing the header itself: the proxy's entry (right) counts
    r = proxy.post("/api/v1/challenges", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.0"})
    assert r.status_code == 429


def test_limits_come_from_the_environment() -> None:
    limits = VerifierLimits.from_env(
        {
            "TALENTPROOF_VERIFIER_CHALLENGES_MAX": "500",
            "TALENTPROOF_VERIFIER_VERIFY_RATE_PER_S": "0",
            "TALENTPROOF_VERIFIER_TRUSTED_PROXIES": "1",
        }
    )
    assert (limits.challenges_max, limits.verify_rate_per_s, limits.trusted_proxies) == (
        500,
        0.0,
        1,
    )
    assert VerifierLimits.from_env({}) == VerifierLimits()
    with pytest.raises(ValueError, match="CHALLENGES_PER_CLIENT"):
        VerifierLimits.from_env({"TALENTPROOF_VERIFIER_CHALLENGES_PER_CLIENT": "0"})
    with pytest.raises(ValueError, match="MAX_BODY_BYTES"):
        VerifierLimits.from_env({"TALENTPROOF_VERIFIER_MAX_BODY_BYTES": "0"})
    with pytest.raises(ValueError, match="expected a number"):
        VerifierLimits.from_env({"TALENTPROOF_VERIFIER_VERIFY_BURST": "many"})


# --------------------------------------------------------------------------- a loopback flood

FLOOD_REQUESTS = 3_000  # fixed count of the flooding client's challenge requests
FLOOD_TIME_BOUND_S = 60.0  # and a time bound: the flood stops by itself either way
LEGIT_ROUNDS = 10  # challenge issued, presentation bound to it, verified (challenge consumed)


def _post(
    conn: http.client.HTTPConnection,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else b""
    conn.request(
        "POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    r = conn.getresponse()
    raw = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(raw) if raw else None


@pytest.mark.integration
def test_loopback_flood_of_challenges_leaves_legitimate_clients_served(vchain, tmp_path) -> None:
    import uvicorn

    from talentproof.credential.presentation import create_presentation
    from talentproof.credential.qr import encode_payload
    from tests.chainkit import DEGREE, holder, issue

    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    limits = VerifierLimits(
        challenge_rate_per_s=5, challenge_burst=500, challenges_max=150, challenges_per_client=100
    )
    app = create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url, trust=str(record), domain="verifier.example.hk", limits=limits
        )
    )
    store = app.state.verifier_state.challenges
    hk = holder()
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, hk.public_key.did_key)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started

    flood: dict[int, int] = {}
    retry_after_missing = 0
    peak = [0]
    stop = time.monotonic() + FLOOD_TIME_BOUND_S

    def flooder() -> None:
        nonlocal retry_after_missing
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0)
        )
        for i in range(FLOOD_REQUESTS):
            if time.monotonic() > stop:
                break
            # a spoofed X-Forwarded-For is ignored (no trusted proxy configured)
            status, headers, _ = _post(
                conn,
                "/api/v1/challenges",
                headers={"X-Forwarded-For": f"10.0.{i // 256 % 256}.{i % 256}"},
            )
            flood[status] = flood.get(status, 0) + 1
            if status == 429 and "retry-after" not in headers:
                retry_after_missing += 1
            peak[0] = max(peak[0], len(store))
        conn.close()

    legit: list[tuple[int, int, str]] = []

    def legitimate() -> None:
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=("127.0.0.3", 0)
        )
        for _ in range(LEGIT_ROUNDS):
            status, _, ch = _post(conn, "/api/v1/challenges")
            if status != 200:
                legit.append((status, 0, "challenge refused"))
                continue
            vp = create_presentation(
                [degree],
                hk,
                challenge=ch["challenge"],
                domain=ch["domain"],
                created=datetime.now(UTC).replace(microsecond=0),
            )
            vstatus, _, body = _post(
                conn,
                "/api/v1/verify",
                {"payloads": [encode_payload(vp)], "challenge": ch["challenge"]},
            )
            binding = next(
                (
                    c
                    for c in (body or {}).get("credentials", [{}])[0].get("checks", [])
                    if c["id"] == "presentation_binding"
                ),
                {},
            )
            legit.append((status, vstatus, binding.get("status", "")))
            peak[0] = max(peak[0], len(store))
        conn.close()

    try:
        threads = [threading.Thread(target=flooder), threading.Thread(target=legitimate)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(FLOOD_TIME_BOUND_S + 30)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.should_exit = True
        serving.join(10)

    print(f"flood {flood}, peak open challenges {peak[0]}, legitimate rounds {len(legit)}")
    # every legitimate round: challenge issued, bound presentation verified, challenge consumed
    assert legit == [(200, 200, "pass")] * LEGIT_ROUNDS, legit
    # the flood was cut by the per-address rate limit, its state by the per-address cap
    assert sum(flood.values()) == FLOOD_REQUESTS, flood
    assert set(flood) <= {200, 429} and flood.get(429, 0) > 0 and retry_after_missing == 0, flood
    assert flood[200] >= limits.challenge_burst  # the burst was served, then refused
    assert store.open_for("127.0.0.2") <= limits.challenges_per_client
    assert store.open_for("10.0.0.1") == 0  # the spoofed header made no client of its own
    assert peak[0] <= limits.challenges_per_client + 1 <= limits.challenges_max
