"""A signing pool's results come back through shared memory (issue 17.3): each block's documents
are written by the signing process into a slot the pool lends it (`_bulkpool._Slots`) and read
here as a view of the pool's own mapping, not pickled through the result pipe. The documents are
the same bytes the reference issuance gives (and the pipe, ``slots=0``, the reference twin); a
slot is lent again only once the last view of its documents is dropped; a block too large for a
slot, or a pool with no slots, uses the pipe; the slot of a call the pool broke under (its
process killed) is never lent again."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import gc
import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from talentproof.credential.issuance import issue_credential
from talentproof.issuer import _bulkworker, _cred
from talentproof.issuer._bulkpool import BrokenProcessPool, JobSigner, SigningPool

from .issuer_helpers import degree_request

pytestmark = [
    pytest.mark.integration,
]

WAIT_S = 120  # a bound on waiting for the pool, not a performance figure
KIND = "DegreeCredential"
DID = "did:web:slots.example"
IDENTITY = _cred.IssuerIdentity(DID, "University of Testing", "https://slots.example/status")
SEED = bytes(range(1, 33))
JOB = (SEED, DID, IDENTITY, KIND, None, "slots")


def _records(count: int, start: int = 0) -> list[bytes]:
    return [
        orjson.dumps(degree_request(f"Field {i}", seed_byte=i % 250 + 1)["credentialSubject"])
        for i in range(start, start + count)
    ]


def _sign(signer: JobSigner, records: list[bytes], first: int, now: dt.datetime) -> cf.Future[Any]:
    return signer.sign("jsonl", None, first, records, list(range(first, first + len(records))), now)


def _assert_reference(result: Any, records: list[bytes], first: int, now: dt.datetime) -> None:
    """Each document of a block's result is what `issue_credential` signs for its row with the
    same id, status index and time, and its hash is the document's SHA-256."""
    rows, ids, blob, lengths, hashes, errors = result
    assert errors == [] and rows == list(range(first, first + len(records)))
    docs = _bulkworker.split_views(blob, lengths)
    signer = _cred.Signer(SEED, DID)
    for k, (row, cid, doc) in enumerate(zip(rows, ids, docs, strict=True)):
        _signed, raw, digest = issue_credential(
            KIND,
            {"credentialSubject": orjson.loads(records[row - first])},
            identity=IDENTITY,
            signer=signer,
            status_index=row,
            now=now,
            credential_id=cid,
        )
        assert bytes(doc) == raw, f"row {row} differs from the reference issuance"
        assert hashes[32 * k : 32 * k + 32] == digest == hashlib.sha256(doc).digest()


@pytest.fixture(scope="module")
def pool():  # type: ignore[no-untyped-def]
    signing = SigningPool(2)
    signing.start()
    yield signing
    signing.shutdown()


def test_documents_come_back_through_slots_as_the_reference_issues_them(pool: SigningPool) -> None:
    records, now = _records(600), dt.datetime.now(dt.UTC)
    signer = JobSigner(pool, JOB)
    futures = [_sign(signer, records[i : i + 150], 1 + i, now) for i in range(0, 600, 150)]
    results = [f.result(timeout=WAIT_S) for f in futures]
    # the documents are views of the pool's slots, not bytes sent through the pipe
    assert all(isinstance(r[2], memoryview) for r in results)
    assert pool.slots.lent() == 4
    for i, result in enumerate(results):
        _assert_reference(result, records[150 * i : 150 * i + 150], 1 + 150 * i, now)


def test_the_pipe_twin_gives_the_same_documents() -> None:
    records, now = _records(300), dt.datetime.now(dt.UTC)
    piped = SigningPool(1, slots=0)
    try:
        result = _sign(JobSigner(piped, JOB), records, 1, now).result(timeout=WAIT_S)
        assert isinstance(result[2], bytes) and piped.slots.made == 0
        _assert_reference(result, records, 1, now)
    finally:
        piped.shutdown()


def _settled(pool: SigningPool, lent: int) -> None:
    """Wait until ``lent`` slots are lent: a call's slot comes back in the future's done
    callback (`_Slots.settle`), which runs just after ``result()`` has returned to the caller,
    so the next call may otherwise find it still out and make a new one (a bound on waiting,
    not a performance figure)."""
    deadline = time.monotonic() + WAIT_S
    while pool.slots.lent() != lent and time.monotonic() < deadline:
        time.sleep(0.005)
    assert pool.slots.lent() == lent


def test_a_slot_is_lent_again_only_once_its_documents_are_dropped(pool: SigningPool) -> None:
    gc.collect()
    signer, now = JobSigner(pool, JOB), dt.datetime.now(dt.UTC)
    records = _records(200)
    held = _sign(signer, records, 1, now).result(timeout=WAIT_S)
    docs = _bulkworker.split_views(held[2], held[3])
    kept = bytes(docs[0])
    del held
    # one call first, its result dropped at once: the module's pool may be fresh (xdist runs this
    # module's tests in any order, on either worker), holding no slot besides the one viewed
    _settled(pool, 1)
    assert isinstance(_sign(signer, records, 1, now).result(timeout=WAIT_S)[2], memoryview)
    made = pool.slots.made
    for _round in range(20):  # each result dropped at once: its slot serves the next call
        _settled(pool, 1)
        assert isinstance(_sign(signer, records, 1, now).result(timeout=WAIT_S)[2], memoryview)
    _settled(pool, 1)
    assert pool.slots.made == made  # no new slot: the dropped ones were lent again
    # the documents still viewed were never overwritten, and their slot is still lent
    assert bytes(docs[0]) == kept and pool.slots.lent() == 1
    del docs
    assert pool.slots.lent() == 0


def test_a_block_larger_than_a_slot_and_blocks_past_the_last_slot_use_the_pipe() -> None:
    records, now = _records(40), dt.datetime.now(dt.UTC)
    small = SigningPool(1, slots=1, slot_bytes=16 << 10)  # 16 KiB: ~8 documents
    try:
        signer = JobSigner(small, JOB)
        big = _sign(signer, records, 1, now).result(timeout=WAIT_S)
        assert isinstance(big[2], bytes) and small.slots.lent() == 0
        _assert_reference(big, records, 1, now)
        fits = _sign(signer, records[:4], 1, now).result(timeout=WAIT_S)
        assert isinstance(fits[2], memoryview)  # the one slot is lent to its views now
        past = _sign(signer, records[:4], 1, now).result(timeout=WAIT_S)
        assert isinstance(past[2], bytes)
        _assert_reference(fits, records[:4], 1, now)
        _assert_reference(past, records[:4], 1, now)
    finally:
        small.shutdown()


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_the_slot_of_a_call_the_pool_broke_under_is_never_lent_again() -> None:
    records, now = _records(3000), dt.datetime.now(dt.UTC)
    victim_pool = SigningPool(1)
    try:
        victim_pool.start()
        signer = JobSigner(victim_pool, JOB)
        (pid,) = victim_pool.pids()
        before = _cpu_ticks(pid)
        future = _sign(signer, records, 1, now)  # ~0.1 s of signing at least
        deadline = time.monotonic() + WAIT_S
        while _cpu_ticks(pid) == before:  # it runs the call
            assert time.monotonic() < deadline and not future.done(), "the call did not start"
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=WAIT_S)
        # the broken call's slot was closed, not given back
        assert (victim_pool.slots.made, victim_pool.slots.open, victim_pool.slots.lent()) == (
            1,
            0,
            0,
        )
        # the pool started again; the next block gets a new slot and the right documents
        again = _sign(signer, records[:100], 1, now).result(timeout=WAIT_S)
        assert isinstance(again[2], memoryview) and victim_pool.slots.made == 2
        _assert_reference(again, records[:100], 1, now)
    finally:
        victim_pool.shutdown()


def _shmem_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssShmem:"):
            return int(line.split()[1])
    pytest.fail("no RssShmem in /proc/self/status: make test runs on Linux")


def test_an_idle_pool_returns_its_slots_memory(pool: SigningPool) -> None:
    signer, now = JobSigner(pool, JOB), dt.datetime.now(dt.UTC)
    records = _records(2000)
    gc.collect()
    results = [
        _sign(signer, records[i : i + 500], 1 + i, now).result(timeout=WAIT_S)
        for i in range(0, 2000, 500)
    ]
    assert all(isinstance(r[2], memoryview) for r in results)
    size = sum(len(r[2]) for r in results)  # ~2 KB a document
    for r in results:
        hashlib.sha256(r[2]).digest()  # read here, as the runner's insert reads them
    assert _shmem_kib() * 1024 >= size  # resident in this process
    pool.heal()  # the runner heals an idle pool: lent slots are left alone
    assert _shmem_kib() * 1024 >= size
    del results, r
    assert pool.slots.lent() == 0
    pool.heal()
    assert _shmem_kib() * 1024 < size // 4
