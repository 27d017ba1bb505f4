"""Issue 17.1: a started bulk runner prepares, in its own thread after start-up, what the first
job of each institution that may issue would otherwise do before its first row is signed: the
signing key decrypted into the service's cache and a first block of status-list indexes
reserved. Bounded (`bulk.WARM_INSTITUTIONS`); institutions that may not issue are left alone;
memory then holds what the first job would have left, and that job writes nothing more."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select, update

from talentproof.issuer.bulk import WARM_INSTITUTIONS, BulkRunner
from talentproof.issuer.db import ApiKey, InstitutionRow
from talentproof.issuer.store.status_indexes import INDEX_BLOCK

from .issuer_helpers import onboard

pytestmark = pytest.mark.integration


def _ids(service, slugs: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    with service.sessions() as session:
        return [
            session.scalar(select(InstitutionRow.id).where(InstitutionRow.slug == slug))
            for slug in slugs
        ]


def _next_index(service, institution_id: int) -> int:  # type: ignore[no-untyped-def]
    with service.sessions() as session:
        return int(
            session.scalar(
                select(InstitutionRow.next_status_index).where(InstitutionRow.id == institution_id)
            )
        )


def test_a_started_runner_warms_the_institutions_that_may_issue(client, service) -> None:
    slugs = [onboard(client)["slug"] for _ in range(4)]
    may, reads_only, suspended, revoked = _ids(service, slugs)
    with service.session() as session:
        session.execute(
            update(ApiKey).where(ApiKey.institution_id == reads_only).values(scopes="read")
        )
        session.execute(
            update(InstitutionRow).where(InstitutionRow.id == suspended).values(status="suspended")
        )
        session.execute(
            update(ApiKey)
            .where(ApiKey.institution_id == revoked)
            .values(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        )
    signers = service.caches.signers
    assert all(signers.entry(i) is None for i in (may, reads_only, suspended, revoked))
    runner = BulkRunner(service, processes=1)
    started = time.monotonic()
    runner.start()
    try:
        assert time.monotonic() - started < 1.0  # in the runner's thread: start-up does not wait
        deadline = time.monotonic() + 60
        while signers.entry(may) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    entry = signers.entry(may)
    assert entry is not None
    key_id, _signer = entry[1]
    # what the first job's signer_for returns: the same cached key
    assert service.signer_for(may)[0] == key_id
    assert all(signers.entry(i) is None for i in (reads_only, suspended, revoked))
    assert [_next_index(service, i) for i in (may, reads_only, suspended, revoked)] == [
        INDEX_BLOCK,
        0,
        0,
        0,
    ]
    # the first job's indexes come from the block reserved: no write, none skipped
    assert service.allocate_status_indexes(may, 1000) == list(range(1000))
    assert _next_index(service, may) == INDEX_BLOCK
    # warmed again (a block held): nothing more reserved
    assert BulkRunner(service, processes=1).warm_institutions() == [may]
    assert _next_index(service, may) == INDEX_BLOCK


def test_warming_is_bounded(client, service) -> None:
    assert WARM_INSTITUTIONS == 64
    slugs = [onboard(client)["slug"] for _ in range(3)]
    ids = _ids(service, slugs)
    runner = BulkRunner(service, processes=1)
    assert runner.warm_institutions(limit=2) == sorted(ids)[:2]
    assert service.caches.signers.entry(sorted(ids)[2]) is None
    assert _next_index(service, sorted(ids)[2]) == 0
