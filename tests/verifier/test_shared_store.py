"""Challenges and OpenID4VP requests shared by verifier replicas (issue 16.4): two stores on one
database stand for two replicas; single use holds across them, under concurrent attempts, on a
SQLite file and on PostgreSQL."""

from __future__ import annotations

import pytest

from talentproof.verifier.challenges import EXPIRED, UNKNOWN
from talentproof.verifier.oid4vp_store import ANSWERED, PENDING
from talentproof.verifier.shared_store import DbChallengeStore, DbRequestStore
from tests.issuer.conftest import pg_server, pg_url  # noqa: F401 (PostgreSQL fixtures)
from tests.replica_stores import Clock, database_url, race, two_replicas  # noqa: F401 (a fixture)


def test_a_challenge_is_consumed_once_on_any_replica(database_url: str) -> None:
    clock = Clock()
    a, b = two_replicas(database_url, lambda e: DbChallengeStore(e, 60, clock))
    value, ttl = a.issue("10.0.0.1")
    assert ttl == 60 and b.open_for("10.0.0.1") == 1
    assert b.consume(value) is None  # issued on one replica, answered on the other
    assert a.consume(value) == UNKNOWN and b.consume(value) == UNKNOWN  # used
    late, _ = b.issue("10.0.0.1")
    clock.now += 61
    assert a.consume(late) == EXPIRED
    for _ in range(5):  # racing replicas: exactly one takes each challenge
        value, _ = a.issue("10.0.0.2")
        results = race(8, lambda i, value=value: (a, b)[i % 2].consume(value))
        assert sorted(map(str, results)) == sorted(["None"] + [UNKNOWN] * 7), results


def test_challenge_caps_hold_across_replicas(database_url: str) -> None:
    from talentproof.verifier.challenges import ChallengesFull

    clock = Clock()
    a, b = two_replicas(
        database_url, lambda e: DbChallengeStore(e, 60, clock, max_open=3, per_client=2)
    )
    first, _ = a.issue("x")
    b.issue("x")
    b.issue("x")  # x at its cap: its own oldest makes room
    assert b.consume(first) == UNKNOWN and a.open_for("x") == 2
    a.issue("y")
    with pytest.raises(ChallengesFull) as full:
        b.issue("z")
    assert full.value.retry_after == 60
    clock.now += 61
    b.issue("z")  # the expired ones are dropped
    assert len(a) == 1


def test_a_request_is_answered_once_on_any_replica(database_url: str) -> None:
    clock = Clock()
    a, b = two_replicas(database_url, lambda e: DbRequestStore(e, 60, clock, claim_s=10))
    req = a.create("10.0.0.1", "physician")
    a.set_request_object(req, "header.payload.signature")
    seen = b.by_ref(req.ref)
    assert seen is not None and seen.request_object == "header.payload.signature"
    assert seen.nonce == req.nonce and seen.state == req.state and b.status(seen) == PENDING
    results = race(8, lambda i: (a, b)[i % 2].claim(req))
    assert results.count(None) == 1, results
    b.refuse(seen, "a replay")
    assert b.answer(req, {"outcome": "ELIGIBLE"})  # the copy that holds the claim
    got = a.get(req.id)
    assert got is not None and a.status(got) == ANSWERED
    assert got.report == {"outcome": "ELIGIBLE"}
    assert [r["error_description"] for r in got.refusals] == ["a replay"]
    assert a.claim(got) is not None  # answered: a replay


def test_a_dead_replicas_claim_lapses(database_url: str) -> None:
    clock = Clock()
    a, b = two_replicas(database_url, lambda e: DbRequestStore(e, 60, clock, claim_s=10))
    req = a.create("10.0.0.1", "physician")
    assert a.claim(req) is None  # replica a claims it, then dies before answering
    assert b.claim(req) is not None  # a live claim is not taken
    clock.now += 11
    fresh = b.by_ref(req.ref)
    assert fresh is not None and b.status(fresh) == PENDING
    assert b.claim(fresh) is None  # the wallet's retry on replica b takes it
    clock.now += 60
    late = a.create("10.0.0.1", "physician")
    clock.now += 61
    assert a.claim(late) is not None and a.status(late) == "expired"
