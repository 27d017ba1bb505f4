"""Single-credential issuance committed in groups (`IssuerService.issue_group`, the HTTP
process's `IssueGroups`): one commit for the requests of one event-loop step, each request
keeping its own answer, its own errors and its Idempotency-Key's guarantees."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from talentproof.issuer.db import CredentialRow, IdempotencyRecord
from talentproof.issuer.errors import IdempotencyKeyReused, InvalidRequest, NotAccredited
from talentproof.issuer.outcome import Kind, WriteOutcome

from .issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration


def _count(service: Any, table: Any = CredentialRow) -> int:
    with service.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _commits(service: Any) -> float:
    return service.metrics.registry.get_sample_value("talentproof_issuer_issue_groups_total") or 0.0


def test_one_commit_for_the_group_and_each_request_its_own_answer(client, service) -> None:
    caller = service.authenticate(onboard(client)["api_key"]["token"])
    bad = degree_request()
    bad["credentialSubject"]["degree"]["level"] = "kindergarten"
    commits = _commits(service)
    results = service.issue_group(
        [
            (caller, None, degree_request("A")),
            (caller, None, bad),
            (caller, "k-1", degree_request("B")),
            (caller, "k-1", degree_request("B")),  # the same key again in the group: a replay
            (caller, "k-1", degree_request("C")),  # the same key, another request: refused
            (caller, "x" * 256, degree_request("D")),  # a key too long
            (caller, "k-2", degree_request("E")),
        ]
    )
    first, schema, keyed, replayed, reused, too_long, other = results
    assert isinstance(first, WriteOutcome) and first.kind is Kind.ACCEPTED
    assert isinstance(schema, InvalidRequest) and schema.field == "credentialSubject.degree.level"
    assert isinstance(keyed, WriteOutcome) and keyed.kind is Kind.ACCEPTED
    assert not keyed.replayed and keyed.link == f"/credentials/{keyed.body['id']}/anchor"
    assert isinstance(replayed, WriteOutcome) and replayed.body["id"] == keyed.body["id"]
    assert replayed.replayed and replayed.kind is Kind.ACCEPTED and replayed.link == keyed.link
    assert isinstance(reused, IdempotencyKeyReused)
    assert isinstance(too_long, InvalidRequest) and too_long.field == "Idempotency-Key"
    assert isinstance(other, WriteOutcome) and other.body["id"] not in (
        first.body["id"],
        keyed.body["id"],
    )
    # three credentials, two stored answers; the group and its repeated key: two commits
    assert _count(service) == 3
    assert _count(service, IdempotencyRecord) == 2
    assert _commits(service) - commits == 2
    with service.sessions() as session:
        ids = set(session.scalars(select(CredentialRow.id)))
    assert ids == {first.body["id"], keyed.body["id"], other.body["id"]}


def test_a_retry_is_answered_as_first_even_once_it_would_be_refused(client, service) -> None:
    inst = onboard(client)
    caller = service.authenticate(inst["api_key"]["token"])
    (issued,) = service.issue_group([(caller, "retry-1", degree_request())])
    assert isinstance(issued, WriteOutcome)
    r = client.post(
        f"/operator/institutions/{inst['slug']}/credential-types",
        headers=operator_headers(),
        json={"withdraw": ["DegreeCredential"]},
    )
    assert r.status_code == 200, r.text
    service.forget_cached()
    retried, fresh = service.issue_group(
        [(caller, "retry-1", degree_request()), (caller, "retry-2", degree_request())]
    )
    assert isinstance(retried, WriteOutcome) and retried.body["id"] == issued.body["id"]
    assert retried.replayed and retried.kind is Kind.ACCEPTED
    assert isinstance(fresh, NotAccredited)
    assert _count(service) == 1


def test_requests_of_one_event_loop_step_share_one_commit(client, service) -> None:
    from talentproof.issuer.api.issuance import IssueGroups

    caller = service.authenticate(onboard(client)["api_key"]["token"])
    groups = IssueGroups(service, max_group=8)

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(groups.issue(caller, f"burst-{i}", degree_request(f"F{i}")) for i in range(12)),
            return_exceptions=True,
        )

    commits = _commits(service)
    answers = asyncio.run(burst())
    assert all(isinstance(a, WriteOutcome) and a.kind is Kind.ACCEPTED for a in answers)
    assert len({a.body["id"] for a in answers}) == 12
    assert _commits(service) - commits == 2  # 12 requests, at most 8 per group
    assert _count(service) == 12

    async def alone() -> WriteOutcome:
        return await groups.issue(caller, None, degree_request("G"))

    asyncio.run(alone())
    assert _commits(service) - commits == 3


def test_http_requests_in_flight_together_are_committed_together(client, service) -> None:
    """Over HTTP (the fast path and the route alike): concurrent requests each get their own
    credential; a failing one among them fails alone."""
    import httpx

    token = onboard(client)["api_key"]["token"]
    bad = degree_request()
    del bad["credentialSubject"]["degree"]["level"]

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://issuer") as http:
            requests = [
                http.post(
                    "/credentials",
                    headers=bearer(token, **{"Idempotency-Key": f"h-{i}"}),
                    json=bad if i == 3 else degree_request(f"H{i}"),
                )
                for i in range(6)
            ]
            return await asyncio.gather(*requests)

    answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [202, 202, 202, 422, 202, 202]
    assert answers[3].json()["field"] == "credentialSubject.degree.level"
    assert len({a.json()["id"] for a in answers if a.status_code == 202}) == 5
    assert _count(service) == 5
