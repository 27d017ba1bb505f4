"""The anchoring lease (issue 16.4): one holder among the processes on one database; it dies with
its holder (``kill -9``) and another process takes it; readiness names the holder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from talentproof.issuer.db import make_engine
from talentproof.issuer.store.lease import AnchorLease

#: A bound on a lease becoming free or taken after its holder let go or its session was ended
#: (PostgreSQL ends the backend just after), on a loaded machine; not a figure.
LEASE_WAIT_S = 60

HOLD = """
import sys, time
from talentproof.issuer.db import make_engine
from talentproof.issuer.store.lease import AnchorLease
lease = AnchorLease(make_engine(sys.argv[1]), check_s=0.2, timeout_s=3)
assert lease.wait(30), "the child could not take the lease"
print("held", flush=True)
time.sleep(600)
"""


def _holder_process(url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def _takeover(url: str) -> None:
    engine = make_engine(url)
    ours = AnchorLease(engine, check_s=0.1, timeout_s=3)
    other = AnchorLease(engine, check_s=0.1, timeout_s=3)
    try:
        assert ours.acquire()
        assert ours.acquire(force_check=True)  # still ours on a re-check
        if ours.kind == "postgresql":  # a second session of this process is refused too
            assert not other.acquire()
            assert other.holder() == ours.name
        ours.release()
        # PostgreSQL ends the closed session's backend (and its lock) just after the close
        deadline = time.monotonic() + LEASE_WAIT_S
        while ours.holder() is not None:
            assert time.monotonic() < deadline, f"still held by {ours.holder()} after release"
            time.sleep(0.02)

        child = _holder_process(url)
        try:
            assert not ours.acquire(), "two holders at once"
            holder = ours.holder()
            assert holder is not None and f"pid {child.pid}" in holder, holder
            assert ours.describe()["heldHere"] is False
            started = time.monotonic()
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            assert ours.wait(30), "the lease was not taken over after its holder was killed"
            took = time.monotonic() - started
        finally:
            child.kill()
            child.wait(10)
        print(f"\n{ours.kind}: lease taken over {took:.2f} s after kill -9 of its holder")
        assert ours.describe()["heldHere"] is True
        assert ours.holder() == ours.name
    finally:
        ours.release()
        other.release()
        engine.dispose()


@pytest.mark.integration
def test_postgresql_lease_dies_with_its_holder(pg_url: str) -> None:
    _takeover(pg_url)


def test_sqlite_file_lease_dies_with_its_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'issuer.db'}"
    create_engine(url).dispose()
    _takeover(url)


def test_in_memory_database_lease_is_this_process() -> None:
    lease = AnchorLease(create_engine("sqlite://"))
    assert lease.acquire() and lease.held and lease.holder() == lease.name


def test_in_memory_sqlite_uris_are_this_process() -> None:
    for url in (
        "sqlite:///file:memdb-lease?mode=memory&cache=shared&uri=true",
        "sqlite:///:memory:",
    ):
        lease = AnchorLease(create_engine(url))
        assert lease.kind == "memory" and lease.acquire() and lease.holder() == lease.name
        lease.engine.dispose()


def _not_anchored(service: Any) -> int:
    """Credentials in no batch or in a batch not yet anchored."""
    from talentproof.issuer.store import batches

    with service.sessions() as session:
        return int(batches.pending_count(session))


@pytest.mark.integration
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_replicas_with_different_operator_keys_anchor_each_batch_once(
    database: str, make_service: Any, issuer_chain: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """Two replicas on one database, each with its own operator (governor) key, both running
    their anchoring worker while credentials are issued through both for two institutions: the
    lease is the database's, so exactly one worker takes it and sends; every batch is anchored
    exactly once, none is skipped, and every credential verifies (issue 16 debt b)."""
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app
    from talentproof.verifier.engine import Verdict
    from tests.reliability.load_helpers import tally, verify_documents

    from .issuer_helpers import bearer, degree_request, onboard

    shared: dict[str, Any] = {"lease_check_s": 0.1, "batch_max_leaves": 4}
    if database == "postgresql":
        shared["database_url"] = request.getfixturevalue("pg_url")
    first = make_service(**shared)
    second = make_service(governor_key=issuer_chain["node"].private_keys[7], **shared)
    assert first.settings.resolved_database_url() == second.settings.resolved_database_url()
    assert first.settings.secret("governor_key") != second.settings.secret("governor_key")
    with (
        TestClient(create_app(first, run_worker=False)) as one,
        TestClient(create_app(second, run_worker=False)) as two,
    ):
        institutions = [onboard(one) for _ in range(2)]
        workers = [one.app.state.worker, two.app.state.worker]  # type: ignore[attr-defined]
        for worker in workers:
            worker.start()
        issued: dict[int, list[str]] = {int(i["chain_issuer_id"]): [] for i in institutions}
        try:
            for round_ in range(5):
                for n, inst in enumerate(institutions):
                    for client in (one, two):
                        answer = client.post(
                            "/credentials",
                            headers=bearer(inst["api_key"]["token"]),
                            json=degree_request(f"Field {round_}-{n}"),
                        )
                        assert answer.status_code == 202, answer.text
                        issued[int(inst["chain_issuer_id"])].append(answer.json()["id"])
                for worker in workers:
                    worker.wakeup.set()
            deadline = time.monotonic() + 120
            while _not_anchored(first):
                assert time.monotonic() < deadline, "credentials still pending after 120 s"
                time.sleep(0.1)
        finally:
            for worker in workers:
                worker.stop()
        leases = [first.anchor_lease, second.anchor_lease]
        assert sorted(lease.taken for lease in leases) == [0, 1], [lease.taken for lease in leases]
        assert sum(lease.lost for lease in leases) == 0
        batches = 0
        for issuer_id, ids in issued.items():
            found = tally(
                first.settings, ids, issuer_chain["rpc_url"], issuer_chain["registry"], issuer_id
            )
            # none lost or unanchored; this institution's batches are its RootAnchored events,
            # each root once
            assert not found.lost and not found.unanchored, (found.lost, found.unanchored)
            roots = {found.batches[found.rows[c].batch_id].root for c in ids}
            assert sorted(found.event_roots) == sorted(roots), "a batch anchored twice or not"
            batches += len(found.event_roots)
            reports, _ = verify_documents(
                issuer_chain["rpc_url"], issuer_chain["deployment_file"], found.docs
            )
            assert [r.verdict for r in reports] == [Verdict.VALID] * len(ids)
        print(
            f"\n{database}: {sum(map(len, issued.values()))} credentials, {batches} batches, "
            f"lease taken by {'the first' if first.anchor_lease.taken else 'the second'} replica"
        )


@pytest.mark.integration
def test_a_holder_that_loses_the_lease_mid_pass_sends_nothing_more(
    make_service: Any, issuer_chain: dict[str, Any], pg_url: str
) -> None:
    """The holder's lease session is ended (a database failover, an administrator) while its
    worker's pass waits to send one institution's anchor (its account's send lock is busy), and
    another replica takes the lease: the old holder finishes that send and awaits it, but sends
    no other institution's (the new holder does), so two workers never send side by side for
    longer than one batch."""

    from fastapi.testclient import TestClient
    from sqlalchemy import select, text

    from talentproof.issuer.app import create_app
    from talentproof.issuer.db import AnchorBatch, InstitutionRow

    from .issuer_helpers import bearer, degree_request, onboard, worker_pass

    holder = make_service(database_url=pg_url, lease_check_s=0.05, send_lock_timeout_s=30)
    with TestClient(create_app(holder, run_worker=False)) as client:
        institutions = [onboard(client) for _ in range(2)]
        for inst in institutions:
            answer = client.post(
                "/credentials", headers=bearer(inst["api_key"]["token"]), json=degree_request()
            )
            assert answer.status_code == 202, answer.text
        with holder.sessions() as session:
            accounts = list(session.scalars(select(InstitutionRow.chain_account)))
        worker = client.app.state.worker  # type: ignore[attr-defined]
        assert worker.lease.acquire() and worker.lease.kind == "postgresql"
        standby = AnchorLease(make_engine(pg_url), check_s=0.05, timeout_s=3)

        def states() -> list[str]:
            with holder.sessions() as session:
                return list(session.scalars(select(AnchorBatch.state).order_by(AnchorBatch.id)))

        thread, errors = worker_pass(worker)
        with contextlib.ExitStack() as busy:  # another sender of both accounts
            for account in accounts:
                busy.enter_context(holder.send_lock.hold(account))
            thread.start()
            deadline = time.monotonic() + 30
            while states() != ["built"]:  # the first batch formed; its send waits for the lock
                assert time.monotonic() < deadline, f"no batch formed: {states()}"
                time.sleep(0.02)
            with holder.engine.connect() as conn:  # end the holder's lease session
                ended = conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name LIKE 'talentproof-anchor-lease%'"
                    )
                ).all()
            assert ended == [(True,)], ended
            assert standby.wait(LEASE_WAIT_S), "the standby did not take the lease"
        thread.join(60)
        try:
            assert not errors, errors
            assert not worker.lease.held and worker.lease.lost == 1
            # the send under way was made and awaited; the other institution's batch was not
            # even formed
            assert states() == ["anchored"], states()
        finally:
            standby.release()
            standby.engine.dispose()


@pytest.mark.integration
def test_a_lease_lost_and_taken_again_frees_what_the_holder_between_left_half_formed(
    make_service: Any, issuer_chain: dict[str, Any], pg_url: str
) -> None:
    """The holder's lease session is ended; another replica takes the lease, starts forming a
    batch and dies; the first takes the lease again in one check. It must free that half-formed
    batch as after any takeover, or its credentials would never be anchored."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select, text

    from talentproof.issuer.app import create_app
    from talentproof.issuer.db import AnchorBatch, CredentialRow, InstitutionRow
    from talentproof.issuer.store import batches as batch_store

    from .issuer_helpers import bearer, degree_request, onboard

    holder = make_service(database_url=pg_url, lease_check_s=0.05)
    with TestClient(create_app(holder, run_worker=False)) as client:
        inst = onboard(client)
        token = inst["api_key"]["token"]
        worker = client.app.state.worker  # type: ignore[attr-defined]
        worker.drain(30)  # takes the lease (and frees what a previous holder left: nothing)
        assert worker.lease.held and worker.lease.taken == 1
        ids = [
            client.post("/credentials", headers=bearer(token), json=degree_request()).json()["id"]
            for _ in range(2)
        ]
        with holder.engine.connect() as conn:  # end the holder's lease session
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'talentproof-anchor-lease%'"
                )
            )
        other = AnchorLease(make_engine(pg_url), check_s=0.05, timeout_s=3)
        assert other.wait(LEASE_WAIT_S)
        # the other replica starts forming a batch of those credentials, then dies
        with holder.sessions() as session:
            institution_id = session.scalars(
                select(InstitutionRow.id).where(InstitutionRow.slug == inst["slug"])
            ).one()
            rows = batch_store.unbatched(session, institution_id, 10)
        assert len(rows) == 2
        with holder.session() as session:
            half = batch_store.add_forming(
                session, institution_id, b"\x01" * 32, 2, rows[0].created_at
            )
        assert (
            batch_store.LeafAssignment(holder.engine).run(
                holder.write_lock, [{"s": rows[0].seq, "b": half, "i": 0, "p": b""}]
            )
            == 1
        )
        other.release()
        other.engine.dispose()
        time.sleep(0.1)  # past the holder's check_s: its next step re-checks its lease
        worker.drain(30)  # the lease lost and taken again in one check
        assert worker.lease.held and worker.lease.lost == 1 and worker.lease.taken == 2
        with holder.sessions() as session:
            assert session.get(AnchorBatch, half) is None, "the half-formed batch was kept"
            states = {
                c.id: session.get(AnchorBatch, c.batch_id).state if c.batch_id else None
                for c in session.scalars(select(CredentialRow).where(CredentialRow.id.in_(ids)))
            }
        assert set(states.values()) == {"anchored"}, states
