"""Bulk jobs in bounded memory (issue 12.3): chunks bounded in bytes as well as rows, at most
``SIGN_AHEAD + GROUP_CHUNKS`` chunks read and not yet stored, every record of an upload at most
`MAX_RECORD_BYTES`, and a job's peak memory that does not follow the size of its file.

The full-size figure (a 900 MiB upload) is `bench/issuer_bulk.py --rows 1000000 --format csv
--size-mib 900`; here a ~48 MiB file of heavy rows (96 rows of ~1 MiB, under `bulk_chunk_rows`),
which the old pipeline took as one chunk and held twice over (the records and their pickled
copy for the signing process) while the bounded one holds a few chunks.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from talentproof.issuer import bulk
from talentproof.issuer.auth import Principal
from talentproof.issuer.bulk import BulkRunner, create_job
from talentproof.issuer.db import BulkError, BulkJob, InstitutionRow
from talentproof.issuer.errors import InvalidRequest

from .issuer_helpers import PERSON_CSV_HEADER, PERSON_CSV_ROW, holder_did, onboard

MiB = 1 << 20


def test_read_chunk_stops_at_its_byte_budget() -> None:
    sizes = [10, 300, 50, 700, 20, 20, 20, 900, 5, 400]
    data = b"".join(
        (b"\n" if i % 4 == 3 else b"") + f"{i:03d}".encode() + b"x" * n + b"\n"
        for i, n in enumerate(sizes)
    )
    handle = io.BytesIO(data)
    taken: list[bytes] = []
    while True:
        before = handle.tell()
        chunk = bulk.read_chunk(handle, "jsonl", 100, 512)
        if not chunk.read_any:
            break
        assert chunk.records  # at least one record, however heavy
        # no more than the budget, but for the record that crosses it
        assert handle.tell() - before - len(chunk.records[-1]) - 1 < 512
        taken += chunk.records
    assert taken == [r for r in data.split(b"\n") if r]
    assert handle.tell() == len(data)


@pytest.fixture
def caller(client) -> Principal:  # type: ignore[no-untyped-def]
    slug = onboard(client, types=["DegreeCredential"])["slug"]
    with client.app.state.service.sessions() as session:
        inst_id = session.scalars(
            select(InstitutionRow.id).where(InstitutionRow.slug == slug)
        ).one()
    return Principal("memory-test", "institution", frozenset({"issue", "read"}), inst_id)


def test_upload_refuses_a_record_longer_than_the_limit_without_holding_it(
    service, caller, tmp_path: Path
) -> None:
    line = orjson.dumps({"credentialSubject": {"id": holder_did(1)}, "description": "x" * MiB})
    for fmt, content in (
        ("jsonl", b"{}\n" + line + b"\n"),
        ("csv", b"id,description\n" + holder_did(1).encode() + b"," + b"x" * MiB + b"\n"),
    ):
        with pytest.raises(InvalidRequest, match=f"longer than {bulk.MAX_RECORD_BYTES} bytes"):
            create_job(
                service, caller, io.BytesIO(content), f"rows.{fmt}", "DegreeCredential", fmt, None
            )
    assert not list((service.settings.data_dir / "bulk").glob("*.*"))


def _heavy_csv(path: Path, rows: int, row_bytes: int) -> None:
    """Degree rows padded with a description: refused rows (over the schema's 4,000 characters,
    each still read, parsed and its error stored) every second row, issued rows between."""
    header = (
        f"id,{PERSON_CSV_HEADER},degree.type,degree.level,degree.fieldOfStudy,"
        "degree.institution.name,degree.awardDate,description\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        for i in range(rows):
            pad = "y" * (row_bytes if i % 2 else 100)
            out.write(
                f"{holder_did(i % 50 + 1)},{PERSON_CSV_ROW},Degree,master,Field {i},"
                f"University of Testing,2026-06-30,{pad}\n"
            )


class _Peak(threading.Thread):
    """This process's resident memory, its most (``/proc/self/statm``, every 5 ms)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.start_rss = self._rss()
        self._halt = threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while not self._halt.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak - self.start_rss


def test_a_job_of_heavy_rows_keeps_a_few_chunks_in_memory(
    service, caller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, row_bytes = 96, MiB - 4096  # ~48 MiB: a whole-file chunk, with the old pipeline
    path = tmp_path / "heavy.csv"
    _heavy_csv(path, rows, row_bytes)
    size = path.stat().st_size
    with open(path, "rb") as upload:
        job = create_job(service, caller, upload, path.name, "DegreeCredential", "csv", None).body
    path.unlink()

    # what is read and not yet stored, at its most (records submitted to the signing processes);
    # private on purpose: the pipeline's two steps are wrapped to count what is in flight between
    # them, which no public reader of a running job shows
    in_flight, most, chunks = [0], [0], []
    submit, store = BulkRunner._submit_block, BulkRunner._store_chunks
    weights: dict[int, int] = {}  # by submitted chunk (its id while it is in flight)

    def _submit(self, *args):  # type: ignore[no-untyped-def]
        weight = sum(map(len, args[5]))  # the chunk's records
        chunks.append(weight)
        in_flight[0] += weight
        most[0] = max(most[0], in_flight[0])
        submitted = submit(self, *args)
        weights[id(submitted)] = weight
        return submitted

    def _store(self, job_id, institution_id, queue, most_chunks, at_end, *rest):  # type: ignore[no-untyped-def]
        before = list(queue)
        stored, finished = store(self, job_id, institution_id, queue, most_chunks, at_end, *rest)
        for submitted in before[:stored]:
            in_flight[0] -= weights.pop(id(submitted))
        return stored, finished

    monkeypatch.setattr(BulkRunner, "_submit_block", _submit)
    monkeypatch.setattr(BulkRunner, "_store_chunks", _store)
    runner = BulkRunner(service, processes=1)
    # the byte budget scaled down with the file (the default's 16 MiB is what the bench measures
    # with 900 MiB): a few 1 MiB chunks against the whole 48 MiB file in one
    runner.chunk_bytes = MiB
    peak = _Peak()
    peak.start()
    runner.run_pending()
    growth = peak.stop()

    with service.sessions() as session:
        done = session.get(BulkJob, job["id"])
        assert done is not None
        assert (done.state, done.rows_done, done.succeeded, done.failed) == (
            "done",
            rows,
            rows // 2,
            rows // 2,
        )
        errors = session.query(BulkError).filter_by(job_id=job["id"]).count()
        assert errors == rows // 2
    # every chunk within its byte budget (but for the record that crosses it), and no more than
    # SIGN_AHEAD + GROUP_CHUNKS of them in flight: bounded whatever the file's size
    bound = runner.chunk_bytes + bulk.MAX_RECORD_BYTES
    assert len(chunks) > 3 and max(chunks) <= bound
    assert most[0] <= (bulk.SIGN_AHEAD + bulk.GROUP_CHUNKS) * bound < size
    # and this process's memory: the old whole-file chunk (every record, then its pickled copy
    # for the signing process) grew it by about twice the file's size (98 MiB measured); a few
    # chunks now (about 14 MiB)
    assert growth < size // 2, (growth / MiB, size / MiB)
