"""Request body and upload size limits (413 naming the limit) and rate limits by principal (429
with Retry-After) of the issuer API, on a real service (real Anvil behind onboarding).

Rate limits (issue 12, point 5): an authenticated request counts against its API key id
whatever the header's spelling; a request whose credentials fail authentication against its
client address (a stricter budget), one without credentials against its client address too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.api.limits import LimitSettings, RateLimiter, TokenBuckets, human_bytes
from talentproof.issuer.errors import Unauthenticated
from talentproof.ratelimit import client_address
from tests.issuer.conftest import issuer_chain, make_service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard, operator_headers

SMALL = 4096  # body limit of the tests' service
BULK = 64 * 1024  # bulk upload limit of the tests' service
FAILED = 5  # failed-authentication budget per client address of the tests' service
ANON = 12  # budget per client address of requests without a key


@pytest.fixture
def limited(make_service) -> Iterator[TestClient]:
    from talentproof.issuer.app import create_app

    service = make_service(
        max_body_bytes=SMALL,
        bulk_max_upload_bytes=BULK,
        rate_limit_per_s=0.001,  # one token per ~17 minutes: only the burst counts in a test
        rate_limit_burst=8,
        rate_limit_failed_auth_per_s=0.001,
        rate_limit_failed_auth_burst=FAILED,
        rate_limit_anon_per_s=0.001,
        rate_limit_anon_burst=ANON,
    )
    with TestClient(create_app(service, run_worker=False)) as client:
        yield client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and body["message"], body
    return body


@pytest.mark.integration
def test_oversized_json_body_is_refused_with_413_naming_the_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]
    request = degree_request("x" * (SMALL + 100))
    body = _error(limited.post("/credentials", headers=bearer(token), json=request), 413)
    assert body["error"] == "payload_too_large"
    assert "4 KiB (4096 bytes)" in body["message"] and "request body" in body["message"]
    # nothing was issued
    assert limited.get("/credentials", headers=bearer(token)).json()["items"] == []


@pytest.mark.integration
def test_streamed_body_without_content_length_is_cut_at_the_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "DegreeCredential", "credentialSubject": {"name": "'
        for _ in range(20):
            yield b"y" * 512
        yield b'"}}'

    r = limited.post(
        "/credentials",
        headers=bearer(token, **{"Content-Type": "application/json"}),
        content=chunks(),
    )
    body = _error(r, 413)
    assert "4096 bytes" in body["message"]


@pytest.mark.integration
def test_bulk_uploads_have_their_own_larger_limit(limited) -> None:
    token = onboard(limited)["api_key"]["token"]
    row = b'{"id": "did:example:x", "name": "' + b"z" * 200 + b'"}\n'
    fits = row * ((SMALL * 4) // len(row))  # over the body limit, under the bulk limit
    r = limited.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", fits, "application/x-ndjson")},
    )
    assert r.status_code == 202, r.text
    too_big = row * ((BULK // len(row)) + 10)
    body = _error(
        limited.post(
            "/bulk-jobs",
            headers=bearer(token),
            data={"type": "DegreeCredential"},
            files={"file": ("rows.jsonl", too_big, "application/x-ndjson")},
        ),
        413,
    )
    assert "bulk upload" in body["message"] and "64 KiB (65536 bytes)" in body["message"]


@pytest.mark.integration
def test_rate_limit_is_per_api_key_with_retry_after(limited) -> None:
    inst = onboard(limited)
    slug, token = inst["slug"], inst["api_key"]["token"]
    other = limited.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["read"]},
    ).json()["token"]
    seen = [limited.get("/credentials", headers=bearer(token)).status_code for _ in range(12)]
    assert seen[:8] == [200] * 8 and seen[8:] == [429] * 4
    r = limited.get("/credentials", headers=bearer(token))
    body = _error(r, 429)
    assert body["error"] == "rate_limited" and "per API key" in body["message"]
    assert int(r.headers["Retry-After"]) >= 1
    # another key of the same institution has its own bucket; public endpoints stay open
    assert limited.get("/credentials", headers=bearer(other)).status_code == 200
    assert limited.get("/healthz").status_code == 200


def _address(client: TestClient, host: str) -> TestClient:
    """Another client of the same app, seen from ``host``."""
    return TestClient(client.app, client=(host, 40000))


@pytest.mark.integration
def test_junk_bearer_tokens_from_one_address_are_limited_after_its_budget(limited) -> None:
    """The attack of issue 12: each junk token used to get a fresh bucket, never limited."""
    token = onboard(limited)["api_key"]["token"]
    attacker = _address(limited, "203.0.113.7")
    assert attacker.get("/credentials", headers=bearer(token)).status_code == 200  # known good
    seen = [
        attacker.get("/credentials", headers=bearer(f"tpk_junk{i}_{i}")).status_code
        for i in range(FAILED + 20)
    ]
    assert seen[:FAILED] == [401] * FAILED and set(seen[FAILED:]) == {429}
    r = attacker.post(
        "/credentials", headers=bearer("tpk_other_junk"), json=degree_request("Fast path")
    )  # the fast path of POST /credentials follows the same rule
    body = _error(r, 429)
    assert "fail authentication" in body["message"] and int(r.headers["Retry-After"]) >= 1
    for header in ({"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpw"}):
        assert attacker.get("/credentials", headers=header).status_code == 429
    # a key that authenticated before keeps working from that address, counted by its key id;
    # another address has its own budget; requests without a key are counted apart
    assert attacker.get("/credentials", headers=bearer(token)).status_code == 200
    assert (
        attacker.post(
            "/credentials", headers=bearer(token), json=degree_request("Still served")
        ).status_code
        == 202
    )
    assert (
        _address(limited, "198.51.100.9")
        .get("/credentials", headers=bearer("tpk_junk_x"))
        .status_code
        == 401
    )
    assert attacker.get("/healthz").status_code == 200


@pytest.mark.integration
def test_a_valid_key_is_limited_by_its_key_id_whatever_the_header_spelling(limited) -> None:
    token = onboard(limited)["api_key"]["token"]
    spellings = [
        f"Bearer {token}",
        f"bearer {token}",
        f"BEARER {token}",
        f"Bearer   {token}",
        f"Bearer {token}   ",
        f"  Bearer {token}",
    ]
    seen = []
    for i in range(12):  # spellings, addresses and both paths of POST /credentials share a bucket
        client = _address(limited, f"192.0.2.{i}")
        auth = {"Authorization": spellings[i % len(spellings)]}
        if i % 2:
            r = client.post("/credentials", headers=auth, json=degree_request(f"Spelt {i}"))
        else:
            r = client.get("/credentials", headers=auth)
        seen.append(r.status_code)
    assert 429 not in seen[:8] and seen[8:] == [429] * 4, seen
    r = limited.get("/credentials", headers=bearer(token))
    assert "per API key" in _error(r, 429)["message"]
    # the key's bucket is not an address's: the failed-auth and anonymous budgets are untouched
    assert limited.get("/credentials", headers=bearer("tpk_junk_y")).status_code == 401
    assert limited.get("/healthz").status_code == 200


@pytest.mark.integration
def test_requests_without_a_key_are_limited_per_client_address(limited) -> None:
    seen = [limited.get("/healthz").status_code for _ in range(ANON + 3)]
    assert seen[:ANON] == [200] * ANON and seen[ANON:] == [429] * 3
    r = limited.get("/healthz")
    assert "without an API key" in _error(r, 429)["message"]
    assert _address(limited, "198.51.100.10").get("/healthz").status_code == 200


def test_rate_limiter_by_principal_without_a_service() -> None:
    """The rule itself (`RateLimiter`), with a stand-in for the service's authentication."""
    from talentproof.issuer.auth import Principal

    looked_up: list[str] = []

    def authenticate(token: str) -> Principal:
        looked_up.append(token)
        if not token.startswith("good-"):
            raise Unauthenticated("unknown or revoked API key")
        return Principal(token.split("-")[1], "institution", frozenset({"read"}), 1)

    limits = LimitSettings(
        max_body_bytes=1024,
        bulk_max_upload_bytes=1024,
        rate_per_s=0.001,
        burst=3,
        anon_rate_per_s=0.001,
        anon_burst=2,
        failed_auth_rate_per_s=0.001,
        failed_auth_burst=2,
        max_clients=50,
    )
    limiter = RateLimiter(limits, authenticate)

    def scope(auth: str | None, host: str = "10.0.0.1") -> dict[str, Any]:
        headers = [(b"authorization", auth.encode())] if auth is not None else []
        return {"type": "http", "client": (host, 1), "headers": headers}

    # a key id, whatever the token's secret part or spelling: "good-k1-a" and "good-k1-b" share
    assert [limiter.check(scope(f"Bearer good-k1-{c}")) for c in "abc"] == [None] * 3
    assert limiter.check(scope("bearer  good-k1-d ")) is not None
    assert limiter.check(scope("Bearer good-k2-a")) is None
    # junk: the address's budget, then refused without any lookup
    assert [limiter.check(scope(f"Bearer junk-{i}")) for i in range(2)] == [None, None]
    looked_up.clear()
    refused = limiter.check(scope("Bearer junk-3"))
    assert refused is not None and refused.retry_after >= 1 and looked_up == []
    assert limiter.check(scope("Bearer good-k2-a")) is None  # known good: still served
    assert limiter.check(scope("Bearer junk-4", host="10.0.0.2")) is None  # another address
    # no key: per address
    assert [limiter.check(scope(None)) is None for _ in range(3)] == [True, True, False]
    # the tables stay bounded under a flood of addresses and keys
    for i in range(1000):
        limiter.check(scope(f"Bearer junk-{i}", host=f"10.1.{i // 250}.{i % 250}"))
        limiter.check(scope(f"Bearer good-k{i}-x", host="10.0.0.3"))
    assert len(limiter.failed) <= 50 and len(limiter.keys) <= 50  # type: ignore[arg-type]


def test_client_address_trusts_forwarded_for_only_when_configured() -> None:
    def scope(*forwarded: str, host: str = "10.0.0.1") -> dict[str, Any]:
        return {
            "client": (host, 1),
            "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded],
        }

    assert client_address(scope("1.2.3.4")) == "10.0.0.1"  # default: the header is ignored
    assert client_address(scope("1.2.3.4"), trusted_proxies=1) == "1.2.3.4"
    # the entries a client writes itself (left) are never taken: the rightmost n are the proxies'
    assert client_address(scope("6.6.6.6, 1.2.3.4"), trusted_proxies=1) == "1.2.3.4"
    assert client_address(scope("6.6.6.6", "1.2.3.4, 5.6.7.8"), trusted_proxies=2) == "1.2.3.4"
    assert client_address(scope("1.2.3.4"), trusted_proxies=2) == "10.0.0.1"  # too few hops
    assert client_address(scope(), trusted_proxies=1) == "10.0.0.1"
    # IPv6 clients count per /64; an IPv4-mapped address is its IPv4 address
    a = client_address(scope(host="2001:db8:1:2::1"))
    assert a == client_address(scope(host="2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert client_address(scope(host="2001:db8:1:3::1")) != a
    assert client_address(scope(host="::ffff:192.0.2.1")) == "192.0.2.1"
    # a port a proxy appends is not part of the address
    assert client_address(scope("1.2.3.4:5678"), trusted_proxies=1) == "1.2.3.4"
    assert client_address(scope("[2001:db8:1:2::1]:443"), trusted_proxies=1) == a


def test_token_bucket_refills_at_its_rate_and_caps_at_its_burst() -> None:
    now = [100.0]
    buckets = TokenBuckets(2.0, 3, clock=lambda: now[0])
    assert [buckets.take(b"k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(b"k") == pytest.approx(0.5)  # one token per 0.5 s
    now[0] += 0.5
    assert buckets.take(b"k") == 0.0
    now[0] += 100  # refills up to the burst, not beyond
    assert [buckets.take(b"k") for _ in range(4)][-1] > 0
    assert buckets.take(b"other") == 0.0
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBuckets(0, 1)


def test_token_bucket_table_is_bounded() -> None:
    buckets = TokenBuckets(1.0, 1, max_keys=100)
    for i in range(10_000):
        buckets.take(i)
    assert len(buckets) == 100
    assert buckets.take(9_999) > 0 and buckets.take(0) == 0.0  # the oldest were dropped


def test_limits_are_named_in_human_units() -> None:
    assert human_bytes(1 << 20) == "1 MiB (1048576 bytes)"
    assert human_bytes(1000) == "1000 bytes"


JUNK_FLOOD = 2_000  # fixed count of junk-token requests from one address
LEGIT_REQUESTS = 200  # a legitimate key's requests from another address meanwhile


@pytest.mark.integration
def test_loopback_junk_token_flood_leaves_a_valid_key_served(make_service) -> None:
    """Real HTTP on loopback (uvicorn on 127.0.0.1), the flooding and the legitimate client
    bound to distinct 127.0.0.x source addresses; a fixed count and a time bound, count-based
    assertions only."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    from talentproof.issuer.app import create_app

    budget = 20
    service = make_service(rate_limit_failed_auth_per_s=0.001, rate_limit_failed_auth_burst=budget)
    app = create_app(service, run_worker=False)
    with TestClient(app) as client:
        token = onboard(client)["api_key"]["token"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    stop = time.monotonic() + 60  # the time bound: both clients stop by themselves
    flood: dict[int, int] = {}
    legit: dict[int, int] = {}

    def send(source: str, n: int, request: Any, seen: dict[int, int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
        for i in range(n):
            if time.monotonic() > stop:
                break
            conn.request(*request(i))
            r = conn.getresponse()
            r.read()
            seen[r.status] = seen.get(r.status, 0) + 1
        conn.close()

    def junk(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        if i % 2:  # the fast path of POST /credentials too
            body = orjson.dumps(degree_request(f"Junk {i}"))
            headers = {
                "Authorization": f"Bearer tpk_junk{i}_s{i}",
                "Content-Type": "application/json",
            }
            return "POST", "/credentials", body, headers
        return "GET", "/credentials?limit=1", b"", {"Authorization": f"Bearer tpk_junk{i}_s{i}"}

    def good(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        if i % 10 == 0:
            body = orjson.dumps(degree_request(f"Legit {i}"))
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return "POST", "/credentials", body, headers
        return "GET", "/credentials?limit=1", b"", {"Authorization": f"Bearer {token}"}

    try:
        threads = [
            threading.Thread(target=send, args=("127.0.0.2", JUNK_FLOOD, junk, flood)),
            threading.Thread(target=send, args=("127.0.0.3", LEGIT_REQUESTS, good, legit)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.should_exit = True
        serving.join(10)
    print(f"junk flood {flood}, legitimate {legit}")
    assert flood == {401: budget, 429: JUNK_FLOOD - budget}, flood
    assert legit == {200: LEGIT_REQUESTS * 9 // 10, 202: LEGIT_REQUESTS // 10}, legit
