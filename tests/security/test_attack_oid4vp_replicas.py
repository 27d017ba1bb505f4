"""Attack on OpenID4VP with verifier replicas sharing one database (verifier/shared_store.py):
a request must be answered once, by the response that holds its claim.

A claim lapses after ``claim_s`` so that a request whose replica died mid-verification can be
answered again. A replica that is only slow (a chain read stalling past ``claim_s``) is not
dead: while it verifies the first response, a second one (whoever photographed the officer's QR
code) takes the lapsed claim on another replica. Both verdicts were then recorded, the later
one over the earlier: the officer's page could show one applicant's verdict and then another's,
and a replica giving its claim back (``release``) reopened a request another replica was
verifying, for a third response. Now ``answer`` and ``release`` act only for the claim that is
still the request's; the slow replica's response is refused as a replay.
"""

from __future__ import annotations

from typing import Any

import pytest

from talentproof.verifier.oid4vp_store import ANSWERED, VERIFYING, RequestStore
from talentproof.verifier.shared_store import DbRequestStore, shared_engine
from tests.issuer.conftest import pg_server, pg_url  # noqa: F401 (PostgreSQL fixtures)
from tests.replica_stores import Clock, database_url, two_replicas  # noqa: F401 (a fixture)


@pytest.fixture
def replicas(database_url: str) -> tuple[Clock, DbRequestStore, DbRequestStore]:
    """Two replicas' request stores on one database (claims lapse after 10 s), and their clock."""
    clock = Clock()
    a, b = two_replicas(database_url, lambda e: DbRequestStore(e, 300, clock, claim_s=10))
    return clock, a, b


def _claim_taken_over(a: Any, b: Any, clock: Clock) -> tuple[Any, Any, Any]:
    """A request made on replica ``a``; a response claims it there (the applicant's); ``a``
    stalls past ``claim_s`` (slow, not dead) and a second response claims it on ``b`` (whoever
    photographed the QR code): the request, as each replica read it."""
    req = a.create("10.0.0.1", "hk-dlt-expert")
    seen_a = a.by_ref(req.ref)
    assert seen_a is not None and a.claim(seen_a) is None
    clock.now += 11
    seen_b = b.by_ref(req.ref)
    assert seen_b is not None and b.claim(seen_b) is None
    return req, seen_a, seen_b


def test_attack_a_slow_replicas_lapsed_claim_does_not_record_a_second_verdict(
    replicas: tuple[Clock, DbRequestStore, DbRequestStore],
) -> None:
    clock, a, b = replicas
    req, seen_a, seen_b = _claim_taken_over(a, b, clock)
    assert b.answer(seen_b, {"outcome": {"code": "VALID_NOT_MET"}}) is True
    # a finishes: its claim was taken over, so its verdict is not recorded over b's
    assert a.answer(seen_a, {"outcome": {"code": "VALID_MEETS"}}) is False
    got = a.get(req.id)
    assert got is not None and a.status(got) == ANSWERED
    assert got.report == {"outcome": {"code": "VALID_NOT_MET"}}
    # the other order: the slow replica finishes first, after its claim was taken over
    req2, first, second = _claim_taken_over(a, b, clock)
    assert a.answer(first, {"outcome": {"code": "VALID_MEETS"}}) is False
    assert a.status(first) == VERIFYING  # b is still verifying the response it took
    assert b.answer(second, {"outcome": {"code": "INVALID"}}) is True
    got = a.get(req2.id)
    assert got is not None and got.report == {"outcome": {"code": "INVALID"}}


def test_attack_a_slow_replica_giving_back_a_lapsed_claim_does_not_reopen_the_request(
    replicas: tuple[Clock, DbRequestStore, DbRequestStore],
) -> None:
    clock, a, b = replicas
    req, first, second = _claim_taken_over(a, b, clock)
    a.release(first)  # a's response could not be verified at all: gives back its (lost) claim
    third = a.by_ref(req.ref)
    assert third is not None and a.status(third) == VERIFYING
    assert a.claim(third) is not None  # b holds the request: a third response is a replay
    assert b.answer(second, {"outcome": {"code": "VALID_MEETS"}}) is True


def test_claims_must_lapse_after_a_positive_time(database_url: str) -> None:
    with pytest.raises(ValueError, match="claim_s"):
        DbRequestStore(shared_engine(database_url), 300, claim_s=0)


def test_the_in_memory_store_answers_once_too() -> None:
    store = RequestStore(300, clock=lambda: 0.0)
    req = store.create("10.0.0.1", "hk-dlt-expert")
    assert store.answer(req, {"outcome": "x"}) is False  # never claimed
    assert store.claim(req) is None
    assert store.answer(req, {"outcome": "y"}) is True
    assert store.answer(req, {"outcome": "z"}) is False
    assert req.report == {"outcome": "y"}
