"""Three issuer replicas and two verifier replicas under load, the lease holder and a verifier
killed mid-run (issue 16.4).

Three real ``talentproof issuer serve`` processes share one PostgreSQL database and one Anvil;
exactly one of them holds the anchoring lease (`issuer.store.lease`). Two real ``talentproof
verifier serve`` processes share their challenges and OpenID4VP requests through another
PostgreSQL database (``TALENTPROOF_VERIFIER_DATABASE_URL``). For
``TALENTPROOF_REPLICAS_DURATION_S`` seconds (default 40):

- ``ISSUE_CLIENTS`` threads issue credentials, each on its own replica, retrying a request that
  got no answer on another replica with the same ``Idempotency-Key``;
- one thread presents holder-bound credentials: the challenge from one verifier replica, the
  presentation to the other; another runs OpenID4VP: the request created on one replica, its
  request object fetched and the wallet's response posted on the other;
- at 30 % the replica holding the lease is killed (SIGKILL), at 50 % one verifier replica.

Then: every accepted credential is anchored, in exactly one batch, whose root appears once
among the registry's ``RootAnchored`` events, and verifies; a revocation sent through a replica
that does not hold the lease is applied (by the holder); every presentation got its answer (the
surviving verifier answers after the kill). The test prints the counts and the takeover time.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.issuer.conftest import pg_server  # noqa: F401 (the PostgreSQL server fixture)
from tests.issuer.issuer_helpers import degree_request, settings_env
from tests.reliability.load_helpers import issuer_settings, onboard, tally, verify_documents
from tests.reliability.service_process import ServiceProcess as Replica
from tests.reliability.service_process import issuer_process

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DURATION_S = float(os.environ.get("TALENTPROOF_REPLICAS_DURATION_S", "40"))
ISSUE_CLIENTS = 6
LEASE_CHECK_S = 0.5
CLAIM_S = 3.0
HOLDER_SEEDS = (201, 202, 203, 204)


def _free_port() -> int:
    from talentproof.ledger.nodes import free_port

    return free_port()


def _lease(replica: Replica) -> dict[str, Any]:
    body = httpx.get(f"{replica.url}/readyz", timeout=5).json()
    return dict(body["anchoring"]["lease"])


def _lease_metric(replica: Replica) -> float:
    """``talentproof_issuer_anchor_lease_held`` of the replica's /metrics."""
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("talentproof_issuer_anchor_lease_held")
    )


def _issue_loop(
    replicas: list[Replica],
    first: int,
    token: str,
    stop: threading.Event,
    accepted: list[str],
    errors: collections.Counter[str],
) -> None:
    i = 0
    with httpx.Client(timeout=15) as http:
        while not stop.is_set():
            i += 1
            req = degree_request(f"Replica load {first} {i}", seed_byte=1 + i % 200)
            key = str(uuid.uuid4())
            for attempt in range(len(replicas) * 3):  # failover: same request, same key
                replica = replicas[(first + attempt) % len(replicas)]
                if not replica.alive:
                    continue
                try:
                    r = http.post(
                        f"{replica.url}/credentials",
                        json=req,
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                    )
                except httpx.HTTPError as exc:
                    errors[f"no answer from {replica.name} ({type(exc).__name__}); retried"] += 1
                    time.sleep(0.2)
                    continue
                if 200 <= r.status_code < 300:
                    accepted.append(r.json()["id"])
                else:
                    errors[f"HTTP {r.status_code}"] += 1
                    time.sleep(0.05)
                break


def _pair(verifiers: list[Replica], i: int) -> tuple[Replica, Replica]:
    """(where the challenge or request is made, where it is answered): different replicas
    while both live."""
    a, b = verifiers[i % 2], verifiers[(i + 1) % 2]
    if not a.alive:
        a = b
    if not b.alive:
        b = a
    return a, b


def _bound_presentations(
    verifiers: list[Replica],
    creds: list[tuple[Any, dict[str, Any]]],
    stop: threading.Event,
    results: list[dict[str, Any]],
    errors: collections.Counter[str],
) -> None:
    from talentproof.credential.presentation import create_presentation

    i = 0
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            i += 1
            key, cred = creds[i % len(creds)]
            for _attempt in range(30):
                made, answered = _pair(verifiers, i)
                try:
                    ch = http.post(f"{made.url}/api/v1/challenges").json()
                    vp = create_presentation(
                        [cred],
                        key,
                        challenge=ch["challenge"],
                        domain=ch["domain"],
                        created=datetime.now(UTC).replace(microsecond=0),
                    )
                    r = http.post(
                        f"{answered.url}/api/v1/verify",
                        json={"documents": [vp], "challenge": ch["challenge"]},
                    )
                except httpx.HTTPError as exc:  # a replica died: a new challenge, elsewhere
                    errors[f"bound: no answer ({type(exc).__name__}); retried"] += 1
                    time.sleep(0.2)
                    continue
                body = r.json()
                binding = next(
                    (
                        c["status"]
                        for c in body.get("credentials", [{}])[0].get("checks", [])
                        if c["id"] == "presentation_binding"
                    ),
                    None,
                )
                results.append(
                    {
                        "made": made.name,
                        "answered": answered.name,
                        "at": time.monotonic(),
                        "verdict": body.get("verdict"),
                        "binding": binding,
                        "http": r.status_code,
                    }
                )
                break
            else:
                results.append({"made": None, "answered": None, "verdict": "unanswered"})


def _oid4vp(
    verifiers: list[Replica],
    creds: list[tuple[Any, dict[str, Any]]],
    profession: str,
    query_id: str,
    stop: threading.Event,
    results: list[dict[str, Any]],
    errors: collections.Counter[str],
) -> None:
    from talentproof.credential.presentation import create_presentation

    i = 0
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            i += 1
            key, cred = creds[i % len(creds)]
            outcome: dict[str, Any] = {"verdict": "unanswered"}
            for _attempt in range(10):  # a new request when the one made could not be used
                made, answered = _pair(verifiers, i)
                try:
                    created = http.post(
                        f"{made.url}/oid4vp/requests", json={"profession": profession}
                    )
                    assert created.status_code == 201, created.text
                    body = created.json()
                    ref = body["requestUri"].rsplit("/requests/", 1)[1].split("/")[0]
                    token = http.get(f"{answered.url}/oid4vp/requests/{ref}/request.jwt").text
                except httpx.HTTPError as exc:
                    errors[f"oid4vp: no answer ({type(exc).__name__}); new request"] += 1
                    time.sleep(0.2)
                    continue
                payload = jwt.decode(token, options={"verify_signature": False})
                vp = create_presentation(
                    [cred],
                    key,
                    challenge=payload["nonce"],
                    domain=payload["client_id"],
                    created=datetime.now(UTC).replace(microsecond=0),
                )
                form = {"vp_token": json.dumps({query_id: [vp]}), "state": payload["state"]}
                state = _respond(http, verifiers, answered, ref, body["id"], form, errors)
                if state is None:
                    continue
                outcome = {
                    "made": made.name,
                    "answered": state["by"],
                    "at": time.monotonic(),
                    "verdict": state["state"],
                    "outcome": state.get("outcome"),
                    "refusals": state.get("refusals"),
                }
                break
            results.append(outcome)


def _respond(
    http: httpx.Client,
    verifiers: list[Replica],
    target: Replica,
    ref: str,
    rid: str,
    form: dict[str, str],
    errors: collections.Counter[str],
) -> dict[str, Any] | None:
    """Post the wallet's response (on ``target``, then on a live replica if it died), and read
    the request's final state; None when the request itself is gone with its replica.

    A replica may die at any point here, between the response's answer and the status read
    too: every call that reaches a replica is retried on a live one (before, a kill landing
    just after the response's answer raised out of the status read and ended the OpenID4VP
    client, and the test then said "nothing was presented after the verifier kill")."""
    answered_by: str | None = None
    for _attempt in range(10):
        replica = target if target.alive else next(v for v in verifiers if v.alive)
        try:
            r = http.post(f"{replica.url}/oid4vp/responses/{ref}", data=form)
            if r.status_code == 404:
                return None
            if r.status_code == 200:
                answered_by = replica.name
            elif r.status_code == 400 and "already answered" in r.text:
                # taken by a replica that died mid verification? its claim lapses after CLAIM_S
                status = http.get(f"{replica.url}/oid4vp/requests/{rid}").json()
                if status["state"] != "answered":
                    errors["oid4vp response: claimed by a dead replica; retried after it"] += 1
                    time.sleep(CLAIM_S + 0.5)
                    continue
            else:
                errors[f"oid4vp response HTTP {r.status_code}: {r.text[:120]}"] += 1
            status = http.get(f"{replica.url}/oid4vp/requests/{rid}").json()
        except httpx.HTTPError as exc:
            errors[f"oid4vp response: no answer ({type(exc).__name__}); retried"] += 1
            time.sleep(0.2)
            continue
        return {**status, "by": answered_by or replica.name}
    return None


def _client(
    name: str, run: Callable[..., None], failures: list[str], *args: Any
) -> threading.Thread:
    """A load client's thread; an exception that ends it is kept in ``failures`` (the test fails
    with it, rather than later with the symptom of a client that stopped presenting)."""

    def guarded() -> None:
        try:
            run(*args)
        except BaseException:
            failures.append(f"{name} stopped: {traceback.format_exc()}")

    return threading.Thread(target=guarded, name=name)


def test_issuer_and_verifier_replicas_survive_kills(tmp_path: Path, pg_server: str) -> None:
    import psycopg

    from talentproof.credential.keys import Ed25519SigningKey
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import LocalNode, NodeConfig
    from talentproof.verifier.dcql import dcql_query
    from talentproof.verifier.policy import load_policy
    from talentproof.verifier.receipt import generate_key_file
    from talentproof.verifier.report import Verdict

    base = pg_server.replace("+psycopg", "")
    stamp = f"{os.getpid()}_{int(time.time() * 1000) % 10**7}"
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "issuer_{stamp}"')
        conn.execute(f'CREATE DATABASE "verifier_{stamp}"')
    issuer_db, verifier_db = f"{pg_server}/issuer_{stamp}", f"{pg_server}/verifier_{stamp}"

    node = LocalNode(
        NodeConfig(kind="anvil", port=_free_port()), log_path=tmp_path / "anvil.log"
    ).start()
    issuers: list[Replica] = []
    verifiers: list[Replica] = []
    timeline: list[str] = []
    t0 = time.monotonic()

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - t0:6.1f} s  {what}")

    try:
        deployment = deploy_registry(node.rpc_url, node.private_keys[0])
        record = tmp_path / "deployment.json"
        deployment.save(record)
        chain = {
            "rpc_url": node.rpc_url,
            "governor_key": node.private_keys[0],
            "deployment_file": record,
        }
        ports = [_free_port() for _ in range(3)]
        public_url = f"http://127.0.0.1:{ports[0]}"  # the same on every replica
        for n, port in enumerate(ports):
            env = {
                **os.environ,
                **settings_env(
                    chain,
                    tmp_path / f"issuer-{n}",
                    database_url=issuer_db,
                    public_url=public_url,
                    batch_max_wait_s=0.5,
                    tx_timeout_s=5,
                    rate_limit_per_s=0,
                    log_level="INFO",  # the lease's takeovers are logged at INFO
                    run_worker="true",
                    lease_check_s=LEASE_CHECK_S,
                ),
            }
            issuers.append(issuer_process(env, port, tmp_path / f"issuer-{n}.log", f"issuer-{n}"))
            issuers[-1].start()  # one after the other: the first migrates the database
        key_file = tmp_path / "verifier-key.json"
        generate_key_file(key_file)  # one client_id for both verifier replicas
        for n in range(2):
            port = _free_port()
            env = {
                **os.environ,
                "TALENTPROOF_VERIFIER_KEY": str(key_file),
                "TALENTPROOF_VERIFIER_DATABASE_URL": verifier_db,
                "TALENTPROOF_VERIFIER_OID4VP_CLAIM_S": str(CLAIM_S),
                "TALENTPROOF_VERIFIER_CHALLENGE_RATE_PER_S": "0",
                "TALENTPROOF_VERIFIER_VERIFY_RATE_PER_S": "0",
                "TALENTPROOF_VERIFIER_CHALLENGES_PER_CLIENT": "10000",
                "TALENTPROOF_VERIFIER_OID4VP_REQUESTS_PER_CLIENT": "1000",
            }
            env.pop("TALENTPROOF_DATA_DIR", None)
            verifiers.append(
                Replica(
                    [
                        "verifier",
                        "serve",
                        "--port",
                        str(port),
                        "--rpc",
                        node.rpc_url,
                        "--trust",
                        str(record),
                    ],
                    env,
                    port,
                    tmp_path / f"verifier-{n}.log",
                    f"verifier-{n}",
                )
            )
            verifiers[-1].start()
        mark("3 issuer and 2 verifier replicas started")

        inst = onboard(issuers[0].url, "replica-uni")
        token = inst["api_key"]["token"]
        auth = {"Authorization": f"Bearer {token}"}

        # exactly one replica holds the lease; the others name it
        leases = [_lease(r) for r in issuers]
        holders = [r for r, lease in zip(issuers, leases, strict=True) if lease["heldHere"]]
        assert len(holders) == 1, leases
        holder = holders[0]
        assert holder.proc is not None
        assert {lease["holder"].split(" pid ")[-1] for lease in leases} == {str(holder.proc.pid)}
        mark(f"lease held by {holder.name}")

        # holder-bound credentials for the presentations, anchored before the load starts
        creds: list[tuple[Any, dict[str, Any]]] = []
        for seed in HOLDER_SEEDS:
            r = httpx.post(
                f"{issuers[seed % 3].url}/credentials",
                json=degree_request(f"Presented {seed}", seed_byte=seed),
                headers=auth,
                timeout=30,
            )
            assert r.status_code in (200, 201, 202), r.text
            creds.append((Ed25519SigningKey.from_seed(bytes([seed]) * 32), {"id": r.json()["id"]}))
        deadline = time.monotonic() + 60
        for n, (key, ref) in enumerate(creds):
            while True:
                state = httpx.get(
                    f"{issuers[n % 3].url}/credentials/{ref['id']}/anchor", headers=auth, timeout=10
                ).json()
                if state["status"] == "anchored":
                    break
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            doc = httpx.get(f"{issuers[n % 3].url}/credentials/{ref['id']}", headers=auth).json()
            creds[n] = (key, doc)
        policy = load_policy()
        profession, query_id = next(
            (p, q["id"])
            for p in sorted(policy.professions)
            for q in dcql_query(policy.profession(p))["credentials"]
            if "DegreeCredential" in json.dumps(q)
        )

        stop = threading.Event()
        accepted: list[str] = []
        errors: collections.Counter[str] = collections.Counter()
        bound: list[dict[str, Any]] = []
        wallet: list[dict[str, Any]] = []
        failures: list[str] = []
        threads = [
            _client(
                f"issuing client {n}",
                _issue_loop,
                failures,
                issuers,
                n % 3,
                token,
                stop,
                accepted,
                errors,
            )
            for n in range(ISSUE_CLIENTS)
        ]
        bound_client = _client(
            "bound-presentation client",
            _bound_presentations,
            failures,
            verifiers,
            creds,
            stop,
            bound,
            errors,
        )
        wallet_client = _client(
            "OpenID4VP client",
            _oid4vp,
            failures,
            verifiers,
            creds,
            profession,
            query_id,
            stop,
            wallet,
            errors,
        )
        threads += [bound_client, wallet_client]
        t0 = time.monotonic()
        timeline.clear()
        for t in threads:
            t.start()
        mark(f"{ISSUE_CLIENTS} issuing clients, 1 bound-presentation and 1 OpenID4VP client")

        def at(fraction: float) -> None:
            time.sleep(max(0.0, t0 + fraction * DURATION_S - time.monotonic()))

        at(0.3)
        holder.kill()
        killed = time.monotonic()
        mark(f"{holder.name} (lease holder) SIGKILLed with {len(accepted)} accepted")
        survivors = [r for r in issuers if r.alive]
        new_holder: Replica | None = None
        while new_holder is None:
            for r in survivors:
                if _lease(r)["heldHere"]:
                    new_holder = r
                    break
            else:
                assert time.monotonic() - killed < 60, "nobody took the lease over"
                time.sleep(0.05)
        takeover = time.monotonic() - killed
        mark(f"lease taken over by {new_holder.name} after {takeover:.2f} s")
        at(0.5)
        dead_verifier = verifiers[1]
        dead_verifier.kill()
        mark(f"{dead_verifier.name} SIGKILLed")
        at(1.0)
        # the presentation clients go on until each has been answered after the kill (a busy
        # machine can leave the fixed window without one: a request claimed by the dead replica
        # is only taken over once its claim lapses), or until a client stopped (its failure is
        # reported below); bounded, the assertions below say which
        later = time.monotonic() + 180
        while (
            time.monotonic() < later
            and bound_client.is_alive()
            and wallet_client.is_alive()
            and not (
                any(b.get("at", 0) > (dead_verifier.killed_at or 0.0) + 1 for b in list(bound))
                and any(w.get("at", 0) > (dead_verifier.killed_at or 0.0) + 1 for w in list(wallet))
            )
        ):
            time.sleep(0.2)
        # the survivors agree on the one holder, and so does /metrics
        assert {_lease(r)["holder"] for r in survivors} == {_lease(new_holder)["holder"]}
        held_metric = {r.name: _lease_metric(r) for r in survivors}
        assert held_metric == {r.name: float(r is new_holder) for r in survivors}, held_metric
        stop.set()
        for t in threads:
            t.join(90)
        elapsed = time.monotonic() - t0
        mark(f"load stopped: {len(accepted)} accepted")

        # a revocation through a replica that does not hold the lease: the holder applies it
        standby = next(r for r in survivors if r is not new_holder)
        revoked = accepted[0]
        r = httpx.post(
            f"{standby.url}/credentials/{revoked}/revoke",
            json={"reason": "replica test"},
            headers=auth,
            timeout=30,
        )
        assert r.status_code in (200, 202), r.text
        poll = r.json()["poll"]

        deadline = time.monotonic() + 180
        ready: dict[str, Any] = {}
        change: dict[str, Any] = {}
        while time.monotonic() < deadline:
            ready = httpx.get(f"{standby.url}/readyz", timeout=10).json()
            change = httpx.get(f"{standby.url}{poll}", headers=auth, timeout=10).json()
            if (
                ready["anchoring"]["pending_credentials"] == 0
                and ready["anchoring"]["unconfirmed_batches"] == 0
                and change["state"] == "applied"
            ):
                break
            time.sleep(0.5)
        mark(f"anchoring drained: {ready.get('anchoring')}; revocation {change.get('state')}")

        logs = "".join(r.log.read_text() for r in issuers)
        taken = logs.count("anchoring lease taken")
        nonce_trouble = [line for line in logs.splitlines() if "nonce" in line.lower()]
        settings = issuer_settings(
            chain, tmp_path / "check", database_url=issuer_db, public_url=public_url
        )
        found = tally(
            settings,
            accepted,
            node.rpc_url,
            deployment.registry,
            inst["chain_issuer_id"],
            run_migrations=False,
            leave_out={revoked},
        )
        event_roots, anchored_roots = found.event_roots, found.anchored_roots
        reports, _ = verify_documents(node.rpc_url, record, found.docs)
        invalid = [r for r in reports if r.verdict is not Verdict.VALID]

        after_kill = dead_verifier.killed_at or 0.0
        bound_after = [b for b in bound if b.get("at", 0) > after_kill + 1]
        wallet_after = [w for w in wallet if w.get("at", 0) > after_kill + 1]
        print("\n--- issuer and verifier replicas ---")
        print("\n".join(timeline))
        print(
            f"duration {elapsed:.1f} s, {ISSUE_CLIENTS} issuing clients on 3 replicas: "
            f"{len(accepted)} accepted ({len(accepted) / elapsed:.0f}/s); errors {dict(errors)}"
        )
        print(
            f"lease takeover {takeover:.2f} s after SIGKILL of {holder.name} "
            f"(lease check every {LEASE_CHECK_S} s); batches anchored {len(anchored_roots)}, "
            f"RootAnchored events {len(event_roots)}, verified {len(reports) - len(invalid)}/"
            f"{len(reports)}; revocation through {standby.name}: {change.get('state')}; "
            f"lease taken {taken} times, nonce warnings {len(nonce_trouble)}"
        )
        print(
            f"bound presentations {len(bound)} ({collections.Counter(b['verdict'] for b in bound)}"
            f", across replicas {sum(b['made'] != b['answered'] for b in bound)}, after the "
            f"verifier kill {len(bound_after)}); OpenID4VP {len(wallet)} "
            f"({collections.Counter(w['verdict'] for w in wallet)}, across replicas "
            f"{sum(w.get('made') != w.get('answered') for w in wallet)}, after the kill "
            f"{len(wallet_after)})"
        )

        assert not failures, "\n".join(failures)
        assert accepted, "no request was accepted"
        found.check()
        assert len(set(accepted)) == len(accepted), "an id was answered twice"
        assert not invalid, invalid[0]
        assert change["state"] == "applied", change
        assert taken == 2, f"the lease was taken {taken} times (expected: at start, at the kill)"
        assert not nonce_trouble, nonce_trouble[:3]
        assert bound and wallet
        assert all(b["verdict"] == "valid" and b["binding"] == "pass" for b in bound), [
            b for b in bound if b["verdict"] != "valid" or b["binding"] != "pass"
        ][:3]
        assert all(w["verdict"] == "answered" for w in wallet), [
            w for w in wallet if w["verdict"] != "answered"
        ][:3]
        assert any(b["made"] != b["answered"] for b in bound)
        assert any(w["made"] != w["answered"] for w in wallet)
        assert bound_after and wallet_after, "nothing was presented after the verifier kill"
        survivor = verifiers[0].name
        assert all(b["answered"] == survivor for b in bound_after)
        assert all(w["answered"] == survivor for w in wallet_after)
    finally:
        for replica in [*issuers, *verifiers]:
            replica.stop()
        node.stop()
