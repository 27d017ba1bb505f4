"""Bulk issuance: an uploaded JSONL or CSV file becomes an asynchronous, resumable job.

Upload (``create_job``) streams the file into ``<data_dir>/bulk/`` and counts its rows (at most
``bulk_max_rows``, 1,000,000 by default). ``BulkRunner`` then issues it chunk by chunk: each chunk
is validated and signed (in worker processes), and its credentials, its per-row errors and the
job's cursor (byte offset and row count) are committed in one transaction. A restart resumes
after the last committed chunk, so no row is issued twice and none is skipped. Bad rows are
recorded with the field and the reason, and never fail the good ones. Rows are numbered from 1
as the user counts them (blank lines and the CSV header are not rows); an error also names the
physical line of the upload where its row starts (a resumed job counts the lines before its
cursor again).

Memory is bounded whatever the size of the file: a chunk is at most ``bulk_chunk_rows`` rows and
`CHUNK_BYTES` of the file, at most ``SIGN_AHEAD + GROUP_CHUNKS`` chunks are read and not yet
stored (the signing processes' queue holds no more), each chunk's credentials and errors are
committed (with at most ``GROUP_CHUNKS - 1`` chunks signed after it) and dropped, and no list
of all rows, offsets, errors or results is ever held; an upload's records are at most
`MAX_RECORD_BYTES` each, and the upload itself is read in blocks of that size (`store_upload`),
a longer line refused before it is read whole.

Row formats:

* JSONL: one JSON object per line, either an issue request (``credentialSubject`` plus optional
  ``validFrom``, ``validUntil``, ``name``, ``description``) or the subject object itself.
* CSV (RFC 4180): a header row; columns are subject fields with dotted paths (``degree.name``),
  array items with an index on the last part (``employment.domains[0]``,
  ``employment.domains[1]``: the non-empty cells, in index order); the columns ``validFrom``,
  ``validUntil``, ``name`` and ``description`` go to the credential.
  Empty cells are omitted. A quoted field may span several lines (``"line one\nline two"``);
  records are found with the quoting rules of Python's ``csv`` module, so the resume cursor is
  always the byte offset of a record's start. A quoted field still open at the end of the file,
  or a record (of either format) longer than `MAX_RECORD_BYTES`, refuses the upload.

Signing processes receive each chunk's raw records and return compact results (ids, JCS bytes,
hashes); the template of `_bulkcred` validates and canonicalizes only what differs per row.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import csv
import datetime as dt
import gc
import hashlib
import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson

from talentproof.credential import frames as _frames
from talentproof.credential import merkle as _merkle
from talentproof.private import private_dir

from . import _bulkcred, _cred
from ._bulkpool import BrokenProcessPool, InlineSigner, JobSigner, SigningPool
from ._bulkworker import csv_missing_hint, split_views
from ._bulkworker import row_to_request as row_to_request  # re-exported: a row as a request
from .auth import Principal
from .db import AnchorBatch, BulkJob, DocumentFrame, InstitutionRow, utcnow
from .errors import Conflict, Forbidden, InvalidRequest, NotAccredited, NotFound
from .observability import lower_thread_priority
from .outcome import WriteOutcome, accepted
from .service import IssuerService, fingerprint
from .store import ConnectionReads
from .store import bulk_jobs as bulk_store
from .store import institutions as institution_store
from .store import oid4vci as offer_store
from .store.bulk_jobs import insert_credentials as insert_credentials  # the runner's (re-exported)
from .usecases.institutions import refuse_unaccredited
from .usecases.oid4vci import Oid4vci, build_oid4vci

_logger = logging.getLogger(__name__)

#: Chunks a job keeps submitted to its signing processes while it stores the oldest one.
SIGN_AHEAD = 2

#: Fewest rows a chunk has for its documents to be stored along its frame (`ChunkFrames`):
#: the frame's template costs ~0.6 ms a chunk, and a 1,000-row job (issue 17.1) stored its
#: rows no faster framed (3 pairs under load: job 7,509-10,144/s framed against 7,569-17,924/s
#: whole; bench/results.md, "the signed document stored once a chunk"). Smaller chunks are
#: stored whole, as before.
FRAME_MIN_ROWS = 2048

#: Most chunks stored in one transaction (`BulkRunner._store_chunks`): the oldest, and with it
#: those after it already signed when it is stored. A job keeps at most ``SIGN_AHEAD +
#: GROUP_CHUNKS`` chunks read and not yet stored, so that ``SIGN_AHEAD`` stay with the signing
#: processes while a group is stored.
GROUP_CHUNKS = 2

#: Longest record an upload may hold (a JSONL line, a CSV record with all its lines): a longer
#: CSV record is almost always a quote left open, which would otherwise swallow the rest of the
#: file into one row; no row that long can be a valid request (``max_body_bytes`` is 1 MiB).
MAX_RECORD_BYTES = 1 << 20

#: Most bytes of the file one chunk takes (besides ``bulk_chunk_rows``, whichever comes first; a
#: chunk takes one record at least): with `SIGN_AHEAD` this bounds a job's memory whatever its
#: rows weigh. 8,192 rows of 2 KiB fit, so ordinary files keep their full chunks (one Merkle
#: batch, one anchor and one commit each: smaller chunks cost CPU per row, 8 MiB cost ~12% more
#: with 4 KiB rows); 3 chunks of 16 MiB in flight keep the heaviest files at ~600 MiB in all.
CHUNK_BYTES = 16 << 20


#: A job with at most this many rows left is signed in the bulk runner's own thread (the same
#: `_bulkworker.sign_job_block` the signing processes run): a few hundred rows sign in
#: milliseconds, less than sending them to another process and back costs.
INLINE_ROWS = 256

#: Institutions whose signing key and first status-list block a started runner prepares, in
#: the background after start-up (`BulkRunner.warm_institutions`): those that may issue, lowest
#: ids first. A first job paid ~6-9 ms of CPU for them (the key decrypted, a block reserved in
#: a write transaction); 64 keys in memory are what 64 institutions' first jobs would leave.
WARM_INSTITUTIONS = 64

#: How many times a job is resumed after a signing process died under it before it fails (a
#: row that kills its process would otherwise be retried forever).
POOL_RETRIES = 3

_UNCLOSED_QUOTE = "a quoted CSV field is not closed before the end of the file"

#: How long an idle bulk runner waits before it looks for queued jobs again when nothing wakes
#: it (a job created in this process sets its ``wakeup``; one created in another process, e.g.
#: an HTTP process of ``issuer serve``, sends it a datagram: `notify_runner`).
IDLE_WAIT_S = 1.0


def wake_address(data_dir: Path) -> bytes | None:
    """Where the bulk runner of a data folder listens for new jobs: a Linux abstract Unix
    datagram address named after the folder (nothing on the file system, no stale file after a
    crash); None on other systems (the runner then finds jobs every `IDLE_WAIT_S`)."""
    if not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:32]
    return b"\0talentproof-bulk-runner-" + digest.encode()


def notify_runner(data_dir: Path) -> bool:
    """Tell the bulk runner of ``data_dir`` that a job is queued (one datagram, never blocks);
    whether one was listening. Why: ``issuer serve`` runs the runner in its supervising process
    and uploads arrive in its HTTP processes, so without it a job waited up to `IDLE_WAIT_S`
    (0.5 s on average) before its first row was read: more than a 1,000-row job takes."""
    address = wake_address(data_dir)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"job", address)
    except OSError:  # no runner listening (CLI, tests, a runner on another host): its next pass
        return False
    return True


def _check_record_size(size: int) -> None:
    """Refuse a CSV record (all its lines so far) longer than `MAX_RECORD_BYTES`."""
    if size > MAX_RECORD_BYTES:
        raise ValueError(
            f"a CSV record is longer than {MAX_RECORD_BYTES} bytes (a quote left open?)"
        )


def _csv_open_after(line: bytes, inside: bool) -> bool:
    """Whether a CSV record is still inside a quoted field at the end of ``line``.

    ``inside`` says whether the line starts inside one (a continuation line). The rules are the
    ``csv`` module's (default dialect): a quote opens a quoted field only at the start of a
    field (record start or after ``,``), ``""`` inside one is an escaped quote, another quote
    closes it; elsewhere a quote is an ordinary character. Only quotes are visited.

    Hand-written because `csv.reader` cannot say where a record ends in the file: the resume
    cursor stores each record's byte offset (tests/issuer/test_bulk_template.py compares the
    records found with those ``csv.reader`` reads).
    """
    pos = 0
    find = line.find
    while True:
        q = find(b'"', pos)
        if q < 0:
            return inside
        if inside:
            if line[q + 1 : q + 2] == b'"':
                pos = q + 2
                continue
            inside = False
        elif q == 0 or line[q - 1] == 0x2C:  # b","
            inside = True
        pos = q + 1


def _csv_where(records: int, line: int) -> str:
    """Names the ``records``-th CSV record (the header is the first) for an error message: data
    rows are numbered from 1, as in the errors of a job."""
    return "the CSV header" if records <= 1 else f"CSV row {records - 1} (from line {line})"


def read_record(handle: BinaryIO, fmt: str) -> bytes:
    """The next record with its line ending(s), b"" at the end of the file.

    A JSONL record is a line; a CSV record ends at the first newline outside a quoted field.
    Raises ValueError for a CSV record longer than `MAX_RECORD_BYTES` or a quoted field still
    open at the end of the file.
    """
    line = handle.readline()
    if fmt != "csv" or b'"' not in line or not _csv_open_after(line, False):
        return line
    parts = [line]
    size = len(line)
    while True:
        more = handle.readline()
        if not more:
            raise ValueError(_UNCLOSED_QUOTE)
        parts.append(more)
        size += len(more)
        _check_record_size(size)
        if b'"' in more and not _csv_open_after(more, True):
            return b"".join(parts)


# -- parsing ----------------------------------------------------------------------------------


class Chunk(NamedTuple):
    """Records read by `read_chunk` and where they stand in the file.

    ``lines`` is the number of physical lines consumed (up to the end of the last record
    taken, blank lines included); ``starts`` locates the records whose first line is not simply
    the chunk's k-th line: ``(k, line)`` pairs, ``line`` counted from 0 at the chunk's start,
    for the records after a blank line or after a record spanning several lines (usually
    none). `line_of` turns them into line numbers.
    """

    records: list[bytes]
    read_any: bool
    lines: int
    starts: list[tuple[int, int]]


def line_of(k: int, first_line: int, starts: list[tuple[int, int]]) -> int:
    """The physical line (from ``first_line``, the chunk's first line) where record ``k`` of a
    `Chunk` starts."""
    at = bisect.bisect_right(starts, (k, 1 << 62)) - 1
    if at < 0:
        return first_line + k
    j, rel = starts[at]
    return first_line + rel + (k - j)


def _lines_before(handle: BinaryIO, offset: int) -> int:
    """The number of line endings in the first ``offset`` bytes (the handle is left at
    ``offset``): where a resumed job's cursor stands, in lines."""
    handle.seek(0)
    count = 0
    left = offset
    while left > 0:
        block = handle.read(min(left, 1 << 22))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    handle.seek(offset)
    return count


def read_chunk(handle: BinaryIO, fmt: str, limit: int, max_bytes: int = CHUNK_BYTES) -> Chunk:
    """Up to ``limit`` non-blank records (line endings removed) from the handle's position, and
    no more once ``max_bytes`` of the file are taken (the record that reaches them is the last),
    whether anything was read, and their lines (`Chunk`); the handle is left exactly after the
    last record taken.

    The same records as repeated `read_record` calls, read in large blocks (``readlines``)
    instead of one ``readline`` per row.
    """
    start = handle.tell()
    records: list[bytes] = []
    append = records.append
    starts: list[tuple[int, int]] = []
    used = 0  # bytes up to the end of the last record taken (from ``start``)
    pos = 0  # bytes of the lines looked at so far (from ``start``)
    seen = 0  # lines looked at so far
    used_lines = 0  # lines up to the end of the last record taken
    first = 0  # the line where the current record starts
    parts: list[bytes] = []  # lines of a CSV record still inside a quoted field
    size = 0
    csv_fmt = fmt == "csv"
    read_any = False
    while len(records) < limit and used < max_bytes:
        lines = handle.readlines(min(1 << 22, max_bytes))
        if not lines:
            if parts:
                raise ValueError(_UNCLOSED_QUOTE)
            break
        for line in lines:
            pos += len(line)
            seen += 1
            if parts:
                parts.append(line)
                size += len(line)
                _check_record_size(size)
                if b'"' not in line or _csv_open_after(line, True):
                    continue
                line = b"".join(parts)
                parts = []
            elif csv_fmt and b'"' in line and _csv_open_after(line, False):
                parts, size, first = [line], len(line), seen - 1
                continue
            else:
                first = seen - 1
            read_any = True
            used, used_lines = pos, seen
            if line.strip():  # blank lines are not rows
                k = len(records)
                if first != (starts[-1][1] + k - starts[-1][0] if starts else k):
                    starts.append((k, first))
                append(line.rstrip(b"\r\n"))
                if k + 1 == limit or used >= max_bytes:
                    break
            elif used >= max_bytes:
                break
    handle.seek(start + used)  # readlines may have read past the last record taken
    return Chunk(records, read_any, used_lines, starts)


# -- upload ------------------------------------------------------------------------------------

_WHITESPACE = b" \t\r\n\x0b\x0c"  # what ``bytes.strip`` removes: a line of them is blank
#: A line ending followed by whitespace may start a blank line: a block of an upload without
#: one (nor whitespace at its start) has no blank line, so its rows are its line endings.
_MAYBE_BLANK = re.compile(rb"\n[" + re.escape(_WHITESPACE) + rb"]").search


class _UploadScan:
    """The state of an upload being stored: its digest, its records (non-blank lines outside a
    quoted CSV field: the CSV header counts) and, for CSV, whether a quoted field is open."""

    __slots__ = (
        "digest",
        "fmt",
        "inside",
        "limit",
        "line_no",
        "max_record",
        "max_rows",
        "out",
        "record_bytes",
        "record_line",
        "rows",
    )

    def __init__(self, out: BinaryIO, fmt: str, max_rows: int, max_record: int) -> None:
        self.out, self.fmt, self.max_rows, self.max_record = out, fmt, max_rows, max_record
        self.digest = hashlib.sha256()
        self.rows = 0
        self.limit = max_rows + (1 if fmt == "csv" else 0)
        self.inside = False  # CSV: within a quoted field that spans lines
        self.record_bytes = self.record_line = self.line_no = 0

    def line(self, line: bytes) -> None:
        """The reference: take one line (``\n`` ended, but for the file's last), or refuse the
        upload (`InvalidRequest`) at the first line that breaks a limit."""
        self.line_no += 1
        line_no, fmt, max_record = self.line_no, self.fmt, self.max_record
        if len(line) > max_record:
            where = (
                f"line {line_no}"
                if fmt == "jsonl"
                else _csv_where(self.rows, self.record_line)
                if self.inside
                else _csv_where(self.rows + 1, line_no)
            )
            raise InvalidRequest(
                f"{where} is longer than {max_record} bytes; expected "
                + ("one JSON object per line" if fmt == "jsonl" else "shorter rows"),
                field="file",
            )
        self.digest.update(line)
        if not self.inside and line.strip():
            self.rows += 1
            self.record_bytes, self.record_line = 0, line_no
            if self.rows > self.limit:
                raise InvalidRequest(
                    f"a bulk file holds at most {self.max_rows} rows", field="file"
                )
        if fmt == "csv" and (self.inside or b'"' in line):
            self.inside = _csv_open_after(line, self.inside)
            self.record_bytes += len(line)
            if self.record_bytes > max_record:
                raise InvalidRequest(
                    f"{_csv_where(self.rows, self.record_line)} is longer than {max_record} "
                    "bytes; expected every quoted field to be closed",
                    field="file",
                )
        self.out.write(line if line.endswith(b"\n") else line + b"\n")

    def lines(self, buf: bytearray, start: int, end: int) -> None:
        """The whole lines ``buf[start:end]`` (``end`` just after a ``\n``, each line at most
        ``max_record`` bytes), as `line` would take them one by one. Why: `line` costs ~0.5 us
        a row in Python; lines without quotes or blank lines, not beyond the row limit, are
        hashed, counted and written as a whole, without a copy. Any others go to `line`."""
        count = buf.count(b"\n", start, end)
        if (
            (self.fmt == "jsonl" or (not self.inside and buf.find(b'"', start, end) < 0))
            and self.rows + count <= self.limit
            and buf[start] not in _WHITESPACE
            and _MAYBE_BLANK(buf, start, end) is None
        ):
            part = memoryview(buf)[start:end]
            self.digest.update(part)
            self.out.write(part)
            self.rows += count
            self.line_no += count
            # (record_bytes and record_line only matter inside a quoted field: not here)
            return
        while start < end:
            stop = buf.index(b"\n", start, end) + 1
            self.line(bytes(buf[start:stop]))
            start = stop

    def end(self) -> None:
        """Refuse a CSV upload whose last quoted field is still open."""
        if self.inside:
            raise InvalidRequest(
                f"{_csv_where(self.rows, self.record_line)} has a quoted field that is not closed "
                "before the end of the file; expected every opening quote to have its closing "
                "quote",
                field="file",
            )


def store_upload(
    upload: BinaryIO,
    out: BinaryIO,
    fmt: str,
    max_rows: int,
    *,
    max_record: int = MAX_RECORD_BYTES,
    by_line: bool = False,
) -> tuple[int, str]:
    """Copy an upload to ``out`` (each line ``\n`` ended) and return its records (non-blank
    lines outside quoted CSV fields, the CSV header included) and its SHA-256 (hex). Raises
    `InvalidRequest` naming the line or row at the first line longer than ``max_record``, a
    record beyond ``max_rows`` (plus the CSV header), a CSV record longer than ``max_record``,
    or a quoted CSV field left open at the end; ``out`` then holds part of the upload.

    Memory stays bounded: a line longer than ``max_record`` is refused once that much of it is
    read (``max_record + 1`` bytes by line, under ``2 * max_record`` in blocks), never held
    whole. ``by_line`` takes the reference path (one bounded ``readline`` and
    `_UploadScan.line` per line); the default reads blocks of ``max_record`` bytes into one
    buffer and hands the line that ends in a block to `_UploadScan.line`, the block's other
    whole lines (each in the block, so at most ``max_record`` bytes) to `_UploadScan.lines`.
    tests/issuer/test_bulk_upload.py compares the two.
    """
    scan = _UploadScan(out, fmt, max_rows, max_record)
    if by_line:
        # at most max_record + 1 bytes a read: a longer line is refused, never held whole
        for line in iter(lambda: upload.readline(max_record + 1), b""):
            scan.line(line)
    else:
        buf = bytearray(max_record)  # reused: a fresh block each read would cost page faults
        view = memoryview(buf)
        readinto = getattr(upload, "readinto", None)
        carry = b""  # the start of a line whose end is not read yet (at most max_record bytes)
        while True:
            if readinto is not None:
                n = readinto(view)
            else:
                block = upload.read(max_record)
                n = len(block)
                view[:n] = block
            if not n:
                break
            first = buf.find(b"\n", 0, n) + 1
            if first == 0:
                carry += view[:n]
            else:  # the line that began in an earlier block, then the block's whole lines
                scan.line(carry + view[:first])
                cut = buf.rfind(b"\n", 0, n) + 1
                if cut > first:
                    scan.lines(buf, first, cut)
                carry = bytes(view[cut:n])
            if len(carry) > max_record:  # a line longer than the limit: refused where it starts
                scan.line(carry)
        if carry:
            scan.line(carry)  # the last line, without its line ending
    scan.end()
    return scan.rows, scan.digest.hexdigest()


# -- jobs --------------------------------------------------------------------------------------


def _job_dir(service: IssuerService) -> Path:
    return private_dir(service.settings.data_dir / "bulk")


def create_job(
    service: IssuerService,
    caller: Principal,
    upload: BinaryIO,
    filename: str,
    kind: str,
    fmt: str | None,
    idempotency_key: str | None,
    offers: bool = False,
) -> WriteOutcome:
    """Store an upload and queue its job (202 with the job's links). ``offers``: the job makes
    one OpenID4VCI credential offer per row (rows without ``credentialSubject.id``) instead of
    signing credentials (docs/openid4vc.md)."""
    institution_id = service.require(caller, "issue")
    if kind not in _cred.KINDS:
        raise InvalidRequest(f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type")
    with service.sessions() as session:
        inst = session.get(InstitutionRow, institution_id)
        assert inst is not None
        # a degree's level is judged row by row (`sign_block`, the offers' `_validate_claims`)
        refuse_unaccredited(inst.slug, inst.credential_types.split(","), kind, None)
    if fmt is None:
        lower = filename.lower()
        fmt = (
            "csv"
            if lower.endswith(".csv")
            else "jsonl"
            if lower.endswith((".jsonl", ".ndjson"))
            else None
        )
    if fmt not in ("jsonl", "csv"):
        raise InvalidRequest(
            "format must be 'jsonl' or 'csv' (form field or file extension)", field="format"
        )
    job_id = secrets.token_hex(12)
    path = _job_dir(service) / f"{job_id}.{fmt}"
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        try:
            rows, file_digest = store_upload(upload, out, fmt, service.settings.bulk_max_rows)
        except InvalidRequest:
            out.close()
            path.unlink(missing_ok=True)
            raise
    if fmt == "csv":
        rows = max(rows - 1, 0)
    if rows == 0:
        path.unlink(missing_ok=True)
        raise InvalidRequest("the file holds no data rows", field="file")
    fp = fingerprint("bulk", kind, fmt, file_digest, *(["offers"] if offers else []))

    def _create(session: Any) -> WriteOutcome:
        session.add(
            BulkJob(
                id=job_id,
                institution_id=institution_id,
                kind=kind,
                fmt=fmt,
                path=str(path),
                state="queued",
                total_rows=rows,
                offers=offers,
                api_key_id=caller.key_id,
            )
        )
        return accepted(
            {
                "id": job_id,
                "state": "queued",
                "total_rows": rows,
                **({"offers": True} if offers else {}),
                "links": {
                    "self": f"/bulk-jobs/{job_id}",
                    "results": f"/bulk-jobs/{job_id}/results",
                    "errors": f"/bulk-jobs/{job_id}/errors",
                },
            },
            f"/bulk-jobs/{job_id}",
        )

    try:
        outcome = service.idempotent(caller, idempotency_key, fp, _create)
    except BaseException:  # the key refused it (another upload's) or the job was not stored
        path.unlink(missing_ok=True)
        raise
    if outcome.body.get("id") != job_id:
        path.unlink(missing_ok=True)  # a replay: the first upload's job stands
    else:
        _logger.info("bulk job queued", extra={"job": job_id, "rows": rows})
        notify_runner(service.settings.data_dir)
    return outcome


def _remove_upload(path: str | None) -> bool:
    """Delete a job's upload once the job has ended (its rows are issued or refused: results
    and errors live in the database); whether a file was removed."""
    if not path:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def _uploader_stopped(
    session: Any, institution_id: int, api_key_id: str | None, signing_key_id: int | None = None
) -> str | None:
    """Why a job may sign no more though its upload was accepted: the operator suspended its
    institution's API access, or revoked (or rotated) the API key that uploaded it (a stolen
    key's job stops with the key), or the ledger closed the signing key the job signs with
    (`Institutions.close_keys_the_ledger_closed`); None when it may go on."""
    if signing_key_id is not None and institution_store.closed_on_chain(session, signing_key_id):
        return (
            "the signing key this job signs with was revoked on the ledger (or its validity "
            "window ended); the rows not signed yet are not issued: upload them again once the "
            "operator has rotated the key"
        )
    # one statement: the institution's status and the key's revocation read together
    status, revoked = institution_store.standing(session, institution_id, api_key_id)
    if status != "active":
        return (
            "the institution's API access was suspended by this service's operator; "
            "the rows not signed yet are not issued"
        )
    if revoked:  # False without a key (jobs of the operator's CLI)
        return (
            "the API key that uploaded this job was revoked (or rotated); the rows not "
            "signed yet are not issued: upload them again with a current key"
        )
    return None


def _own_job(service: IssuerService, caller: Principal, job_id: str) -> BulkJob:
    institution_id = service.require(caller, "read")
    with service.sessions() as session:
        job: BulkJob | None = session.get(BulkJob, job_id)
        if job is None or job.institution_id != institution_id:
            raise NotFound(f"no bulk job {job_id!r}")
        return job


def job_status(service: IssuerService, caller: Principal, job_id: str) -> dict[str, Any]:
    """Progress: rows done of total, succeeded, failed, anchored, state."""
    job = _own_job(service, caller, job_id)
    with service.sessions() as session:
        anchored = bulk_store.anchored_count(session, job_id)
    total = job.total_rows or 0
    return {
        "id": job.id,
        "state": job.state,
        "type": job.kind,
        "format": job.fmt,
        "total_rows": total,
        "rows_done": job.rows_done,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "anchored": anchored,
        "progress": round(job.rows_done / total, 4) if total else 1.0,
        **({"offers": True} if job.offers else {}),
        "error": job.error,
        "links": {
            "results": f"/bulk-jobs/{job_id}/results",
            "errors": f"/bulk-jobs/{job_id}/errors",
        },
    }


ENDED_STATES = frozenset({"done", "failed"})
"""The final states of a bulk job (a long-poll answers once the job is in one)."""


def job_state(service: IssuerService, job_id: str) -> str | None:
    """The job's state alone, one short session (no ownership check: for re-reads after
    `job_status` checked it)."""
    with service.sessions() as session:
        return bulk_store.job_state(session, job_id)


def iter_results(
    service: IssuerService, caller: Principal, job_id: str, *, qr: bool = True, page: int = 2000
) -> Iterator[bytes]:
    """JSONL lines ``{"row", "id", "status", "credential", "qrPayload"}`` in row order (``row``
    numbered from 1, as in the errors).

    Access is checked at once (before a streaming response starts), the rows are read lazily.
    """
    job = _own_job(service, caller, job_id)
    if job.offers:
        # each offer's transaction code: whoever reads them can redeem the offers with a key of
        # its own, so they are for keys that may issue (as making the offers was), not ``read``
        service.require(caller, "issue")
        return _offer_results(build_oid4vci(service), job_id, page=page)
    return _results(service, job_id, qr=qr, page=page)


def _offer_results(oid4vci: Oid4vci, job_id: str, *, page: int) -> Iterator[bytes]:
    """An offer job's results: ``{"row", "id", "status", "credentialOfferUri", "txCode",
    "expiresAt", "qr"}`` per offered row, in row order."""
    after = 0
    while True:
        items = oid4vci.bulk_results(job_id, after=after, limit=page)
        if not items:
            return
        after = items[-1]["row"]
        yield b"".join(orjson.dumps(item) + b"\n" for item in items)


def _results(service: IssuerService, job_id: str, *, qr: bool, page: int) -> Iterator[bytes]:
    after = 0
    batches: dict[int, AnchorBatch] = {}
    while True:
        with service.sessions() as session:
            rows = bulk_store.results_page(session, job_id, after=after, limit=page)
            if not rows:
                return
            chunk = []
            for cred in rows:
                if cred.batch_id is not None and cred.batch_id not in batches:
                    b = session.get(AnchorBatch, cred.batch_id)
                    if b is not None and b.state == "anchored":
                        batches[cred.batch_id] = b
                doc, batch = service.holder_document(session, cred)
                anchored = batch is not None and batch.state == "anchored"
                item: dict[str, Any] = {
                    "row": cred.bulk_row,
                    "id": cred.id,
                    "status": "anchored" if anchored else "pending_anchor",
                    "credential": doc,
                }
                if qr and anchored:
                    item["qrPayload"] = _cred.qr_payload(doc)
                chunk.append(orjson.dumps(item) + b"\n")
            after = rows[-1].bulk_row or 0
        yield b"".join(chunk)


def iter_errors(service: IssuerService, caller: Principal, job_id: str) -> Iterator[bytes]:
    """JSONL lines ``{"row", "line", "field", "message"}`` of rejected rows, in row order
    (access checked at once): ``row`` is the data row counted from 1 as the user counts them
    (blank lines and the CSV header are not rows), ``line`` the physical line of the uploaded
    file where the row starts (a CSV row with a quoted line break spans several)."""
    _own_job(service, caller, job_id)
    return _errors(service, job_id)


def _errors(service: IssuerService, job_id: str) -> Iterator[bytes]:
    with service.sessions() as session:
        for err in bulk_store.errors(session, job_id):
            yield (
                orjson.dumps(
                    {"row": err.row, "line": err.line, "field": err.field, "message": err.message}
                )
                + b"\n"
            )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused (if it runs) for the block: for code that builds
    many acyclic objects, which reference counting frees."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Prepared(NamedTuple):
    """A signed chunk ready to store: its good rows by column (ids, credential hashes: the
    Merkle tree's leaves, also joined, documents, status indexes, bulk rows), its errors, its
    time, and the frame its documents were cut along (``raws`` are then their holes,
    `credential.frames.split`) or None (``raws`` are the whole documents)."""

    ids: list[str]
    hashes: list[bytes]
    leaves: bytes  # the hashes joined: the batch's ``leaves``
    raws: list[memoryview] | list[bytes]
    indexes: list[int]
    rows: list[int]
    errors: list[dict[str, Any]]
    now: dt.datetime
    frame: tuple[bytes, ...] | None = None


class ChunkFrames:
    """The frame a job's chunk of subject-only documents is cut along (`credential.frames`):
    the constant bytes of the signing template's splice (`BulkTemplate.native_parts`) around
    each row's status index (in its status entries), subject, id and proofValue. The runner
    builds the template the signing processes build for the chunk's time (same job context,
    same ``now``: `_bulkworker._template`), one per second, as they do.

    The frame only decides what is stored once: `frames.split` answers only for a document
    that is exactly the parts and its holes, so a frame that does not describe a document
    (another path's layout, another template) leaves it whole, never changes a byte of it."""

    __slots__ = ("_context", "_created", "_parts")

    def __init__(self, context: tuple[Any, ...]) -> None:
        self._context = context
        self._created: dt.datetime | None = None
        self._parts: tuple[bytes, ...] | None = None

    def parts(self, now: dt.datetime) -> tuple[bytes, ...] | None:
        """The frame of the documents signed at ``now``, None if the template has none."""
        created = now.astimezone(dt.UTC).replace(microsecond=0)
        if created != self._created:
            seed, did, identity, kind = self._context[:4]
            try:
                template = _bulkcred.BulkTemplate(
                    kind, identity=identity, signer=_cred.Signer(seed, did), now=now, native=False
                )
                self._parts = template_frame(template)
            except Exception:  # no frame: the chunk's documents are stored whole, as before
                _logger.exception("building a chunk's document frame failed")
                self._parts = None
            self._created = created
        return self._parts


def template_frame(template: Any) -> tuple[bytes, ...] | None:
    """The frame of ``template``'s subject-only documents: ``{`` contexts, schema, the status
    entries around the index (the index a hole each time), ``"credentialSubject":`` (the
    subject a hole), ``,"id":"`` (the id a hole), the issuer and the proof up to its value (the
    value a hole), the proof's end, type and validFrom. None when the template has no splice."""
    if not template.enabled:
        return None
    _options, proof_head, proof_tail, head, status, id_tail, tail = template.native_parts()
    if len(status) < 2:
        return None
    try:
        return _frames.check_parts(
            (
                head + status[0],
                *status[1:-1],
                status[-1] + b',"credentialSubject":',
                b',"id":"',
                id_tail + proof_head,
                proof_tail + b"," + tail,
            )
        )
    except ValueError:
        return None


def _chunk_rows(
    job_id: str,
    results: list[Any],
    first_row: int,
    indexes: list[int],
    _count: int,
    now: dt.datetime,
    _new_offset: int,
    lines: tuple[int, list[tuple[int, int]]],
    *,
    frame: tuple[bytes, ...] | None = None,
) -> _Prepared:
    """One signed chunk's good rows by column, in row order, and its errors as ``bulk_errors``
    rows (`_Prepared`). With ``frame``, the documents are cut along it (`frames.split_block`)
    when every one of them fits it; else (or without) they stay whole."""
    rows: list[int] = []
    ids: list[str] = []
    raws: list[memoryview] = []  # each document a view of its block (no copy)
    cut: list[bytes | None] | None = [] if frame is not None else None
    blob: list[bytes] = []
    error_rows: list[tuple[int, str, str]] = []
    for f_rows, f_ids, f_blob, f_lengths, f_hashes, f_errors in results:
        rows += f_rows
        ids += f_ids
        if cut is not None and frame is not None:
            holes = _frames.split_block(frame, f_blob, f_lengths)
            if None in holes:  # a whole document in the chunk: the chunk is stored unframed
                cut = None
            else:
                cut += holes
        blob.append(f_hashes)
        error_rows += f_errors
    if cut is None:
        for result in results:
            raws += split_views(result[2], result[3])
    hashes_blob = b"".join(blob)
    hashes = [hashes_blob[i : i + 32] for i in range(0, len(hashes_blob), 32)]
    first_line, starts = lines
    errors = [
        {
            "job_id": job_id,
            "row": row,
            "line": line_of(row - first_row, first_line, starts),
            "field": field,
            "message": msg,
        }
        for row, field, msg in error_rows
    ]
    return _Prepared(
        ids,
        hashes,
        hashes_blob,
        raws if cut is None else cut,  # type: ignore[arg-type]  # no None left in cut
        [indexes[r - first_row] for r in rows],
        rows,
        errors,
        now,
        None if cut is None else frame,
    )


class PhaseTimes:
    """Where the bulk runner's thread spends a job, phase by phase: wall and CPU seconds (this
    thread's) summed over the chunks stored. ``wait`` is waiting for the signing processes'
    results (idle: the runner is ahead of them), the others are the runner's own work:
    ``rows`` (the chunk's rows assembled), ``merkle`` (its tree and paths), ``insert`` (the
    SQL inserts), ``commit`` (SQLite writing the transaction, and a checkpoint when the WAL is
    past its backstop). The bench prints them (`bench/issuer_bulk.py`)."""

    PHASES = ("wait", "rows", "merkle", "insert", "commit")

    __slots__ = ("_cpu", "_wall", "chunks", "seconds")

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {name: [0.0, 0.0] for name in self.PHASES}
        self.chunks = 0
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        """Start the clock of the next phase."""
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def lap(self, phase: str) -> None:
        """Add the time since `start` or the last lap to ``phase``; the next phase starts now."""
        wall, cpu = time.perf_counter(), time.thread_time()
        spent = self.seconds[phase]
        spent[0] += wall - self._wall
        spent[1] += cpu - self._cpu
        self._wall, self._cpu = wall, cpu


class BulkRunner:
    """Processes queued and interrupted jobs, one chunk per transaction.

    Started (`start`), it keeps a warm `SigningPool` (``signing``) from start-up to `stop`;
    `run_pending` or `run_job` called on a runner whose pool is not running start a pool for
    the job and stop it after. Jobs with at most ``inline_rows`` rows left are signed in the
    runner's thread.
    """

    def __init__(
        self,
        service: IssuerService,
        *,
        processes: int | None = None,
        inline_rows: int = INLINE_ROWS,
    ) -> None:
        self.service = service
        n = processes if processes is not None else service.settings.bulk_processes
        self.processes = n or (os.cpu_count() or 1)
        self.inline_rows = inline_rows
        self.signing = SigningPool(self.processes)
        self.chunk_rows = service.settings.bulk_chunk_rows
        self.chunk_bytes = CHUNK_BYTES
        #: where the runner's thread spent the chunks it stored (all jobs since it was made)
        self.phases = PhaseTimes()
        #: most chunks stored in one transaction (1: one each, the reference)
        self.group_chunks = GROUP_CHUNKS
        #: a chunk's documents stored as their holes along its frame (`ChunkFrames`; False:
        #: whole, as before migration 0011, the reference the tests compare with)
        self.frame_documents = True
        #: chunks of fewer rows are stored whole (`FRAME_MIN_ROWS`)
        self.frame_min_rows = FRAME_MIN_ROWS
        self._stop = threading.Event()
        self.wakeup = threading.Event()
        #: how long the idle loop waits when nothing wakes it (`IDLE_WAIT_S`)
        self.idle_wait_s = IDLE_WAIT_S
        self._thread: threading.Thread | None = None
        self._listener: tuple[socket.socket, threading.Thread] | None = None
        self.oid4vci = build_oid4vci(service)

    def start(self) -> None:
        """Run in a daemon thread (and listen for jobs queued by other processes)."""
        self._listen()
        self._thread = threading.Thread(target=self._loop, name="bulk-runner", daemon=True)
        self._thread.start()

    @property
    def thread_id(self) -> int | None:
        """The operating system's id of the runner's thread (None before `start`): the thread
        whose CPU priority ``worker_nice`` lowers."""
        return None if self._thread is None else self._thread.native_id

    def _listen(self) -> None:
        """Bind the data folder's wake-up address (`wake_address`) and set ``wakeup`` at each
        datagram, from a daemon thread. Another runner on the same folder holding it, or a
        system without it: jobs are found every ``idle_wait_s`` instead (logged)."""
        address = wake_address(self.service.settings.data_dir)
        if address is None:
            return
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        except OSError:
            _logger.warning(
                "no wake-up socket for the bulk runner: it looks for jobs every %s s",
                self.idle_wait_s,
            )
            return
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            _logger.warning(
                "the bulk runner's wake-up address is taken (another runner on this data "
                "folder?): it looks for jobs every %s s",
                self.idle_wait_s,
                extra={"error": str(exc)},
            )
            return
        thread = threading.Thread(target=self._listen_loop, args=(sock,), name="bulk-wake")
        thread.daemon = True
        self._listener = (sock, thread)
        thread.start()

    def _listen_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                sock.recv(64)
            except OSError:
                return
            self.wakeup.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current chunk, then stop the signing processes."""
        self._stop.set()
        self.wakeup.set()
        if self._listener is not None:
            sock, thread = self._listener
            self._listener = None
            notify_runner(self.service.settings.data_dir)  # ends its wait for a datagram
            thread.join(timeout)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.signing.shutdown()

    def warm_up(self) -> bool:
        """Build a signing template of each kind here (what a job signed in this thread builds
        first) and run the database statements of a job once, in a transaction rolled back:
        a made-up job of the first institution (its rows, batch, error and progress), so
        that the first job after start-up finds them compiled (SQLAlchemy caches each
        statement's SQL; the ORM configures its loaders on first use), as the signing
        processes are warm before it arrives. Measured on a 1,000-row job: ~50 ms of the
        runner thread's CPU, more than the whole job once warm. Returns whether it ran (not
        before an institution exists: the batch and job rows refer to one); a failure is only
        logged."""
        service = self.service
        try:
            # what a job signed in this thread (`inline_rows`) builds first: a template of
            # each kind (its schema validators compiled), with a throwaway key
            identity = _cred.IssuerIdentity(
                "did:web:warm-up.invalid", "Warm-up", "https://warm-up.invalid/status"
            )
            signer = _cred.Signer(os.urandom(32), identity.did)
            for kind in _cred.KINDS:
                _bulkcred.BulkTemplate(kind, identity=identity, signer=signer, now=utcnow())
            with service.write_lock, service.sessions() as session:
                try:
                    return self._warm_statements(session)
                finally:
                    session.rollback()
        except Exception:
            _logger.exception("warming up the bulk runner's statements failed")
            return False

    def warm_institutions(self, limit: int = WARM_INSTITUTIONS) -> list[int]:
        """What a first job of each of up to ``limit`` institutions that may issue would do
        before its first row is signed, done now: its signing key decrypted into the service's
        cache (`IssuerService.signer_for`) and its first block of status-list indexes reserved
        (`StatusIndexes.reserve`). Memory then holds what it holds after each one's first job,
        no more. Run by the started runner's thread after `warm_up`, so the service is ready
        without waiting for it. Returns the institutions warmed; a failure is only logged
        (that institution's first job does it then)."""
        service = self.service
        try:
            with service.sessions() as session:
                ids = institution_store.with_issue_rights(session, limit)
        except Exception:
            _logger.exception("listing the institutions to warm up failed")
            return []
        warmed: list[int] = []
        for institution_id in ids:
            if self._stop.is_set():
                break
            try:
                service.signer_for(institution_id)
                service.status_indexes.reserve(institution_id)
            except Exception:
                _logger.exception(
                    "warming up an institution's signing key failed",
                    extra={"institution": institution_id},
                )
                continue
            warmed.append(institution_id)
        return warmed

    def _warm_statements(self, session: Any) -> bool:
        institution_id = institution_store.any_institution_id(session)
        if institution_id is None:
            return False
        bulk_store.unfinished_ids(session)
        session.get(BulkJob, "")  # what `run_job` and `_store_chunks` look up, by key
        session.get(InstitutionRow, 0)
        _uploader_stopped(session, institution_id, "warm-up", 0)  # run_job's, at each chunk
        job_id = "warm-up-" + secrets.token_hex(8)
        now = utcnow()
        job = BulkJob(
            id=job_id,
            institution_id=institution_id,
            kind=next(iter(_cred.KINDS)),
            fmt="jsonl",
            path="",
            state="queued",
            total_rows=1,
            offers=False,
            api_key_id=None,
        )
        session.add(job)
        session.flush()
        job.state = "running"  # run_job's start
        session.flush()
        batch = AnchorBatch(
            institution_id=institution_id,
            root=secrets.token_bytes(32),
            leaf_count=1,
            state="built",
            oldest_leaf_at=now,
            leaves=bytes(32),
        )
        session.add(batch)
        session.flush()
        bulk_store.add_errors(
            session, [{"job_id": job_id, "row": 1, "line": 1, "field": "", "message": "warm-up"}]
        )
        insert_credentials(
            session.connection(),
            institution_id=institution_id,
            kind=job.kind,
            batch_id=batch.id,
            job_id=job_id,
            now=now,
            # every statement a chunk's insert runs is compiled now, on this connection (the
            # one `ROWS_PER_STATEMENT` rows carry, then those of the powers of two below it)
            rows=[
                (f"urn:uuid:warm-up-{i}", bytes(32), b"{}", i, i, i + 1)
                for i in range(2 * bulk_store.ROWS_PER_STATEMENT - 1)
            ],
        )
        bulk_store.add_progress(session, job_id, new_offset=1, count=1, good=1, failed=0)
        job.state, job.finished_at = "done", now  # the last chunk's
        session.flush()
        return True

    def _loop(self) -> None:
        lower_thread_priority(self.service.settings.worker_nice)  # background: HTTP goes first
        try:
            # started from this thread, the forkserver and its signing processes inherit its
            # lower priority; warm before the first job arrives
            self.signing.start()
        except Exception:
            _logger.exception("starting the signing processes failed (retried with a job)")
        self.warm_up()
        self.warm_institutions()
        try:
            self.remove_ended_uploads()
        except Exception:
            _logger.exception("removing ended bulk uploads failed")
        while not self._stop.is_set():
            try:
                busy = self.run_pending()
            except Exception:
                _logger.exception("bulk runner pass failed")
                busy = False
            if not busy:
                self.wakeup.wait(self.idle_wait_s)
                self.wakeup.clear()
                if not self._stop.is_set() and not self.wakeup.is_set():
                    try:  # a signing process that died while idle is replaced now
                        self.signing.heal()
                    except Exception:
                        _logger.exception("checking the signing processes failed")

    def run_pending(self) -> bool:
        """Run every unfinished job to its end (or until stopped); returns whether any ran."""
        with self.service.sessions() as session:
            ids = bulk_store.unfinished_ids(session)
        for job_id in ids:
            try:
                self._run_job_resuming(job_id)
            except (OSError, ValueError, NotAccredited, Forbidden, Conflict) as exc:
                # the upload is gone, unreadable or altered; or the institution may no longer
                # issue the job's type, or has no signing key the ledger holds valid
                # (`run_job`): that job fails, the others still run
                _logger.error("bulk job failed", extra={"job": job_id, "error": str(exc)})
                with self.service.session() as session:
                    job = session.get(BulkJob, job_id)
                    assert job is not None
                    job.state, job.error, job.finished_at = "failed", str(exc), utcnow()
                _remove_upload(job.path)
        return bool(ids)

    def _run_job_resuming(self, job_id: str) -> None:
        """`run_job`, resumed from its last committed chunk when a signing process dies under
        it (the chunks in flight are signed again by a new pool: nothing of them was stored),
        at most `POOL_RETRIES` times; then a ValueError naming what happened."""
        for attempt in range(POOL_RETRIES + 1):
            try:
                self.run_job(job_id)
                return
            except BrokenProcessPool as exc:
                _logger.warning(
                    "a signing process died during a bulk job: resuming it",
                    extra={"job": job_id, "attempt": attempt + 1, "error": str(exc)},
                )
        raise ValueError(
            f"the signing processes died {POOL_RETRIES + 1} times while signing this job; "
            "expected rows a signing process can sign"
        )

    def remove_ended_uploads(self) -> int:
        """Delete the uploads of jobs that ended (done or failed) and are still on disk (the
        service stopped between a job's end and its upload's removal); returns how many."""
        with self.service.sessions() as session:
            paths = bulk_store.ended_upload_paths(session)
        return sum(_remove_upload(path) for path in paths)

    def run_job(self, job_id: str, *, max_chunks: int | None = None) -> None:
        """Issue a job from its cursor to its end (``max_chunks`` stops early, for tests)."""
        service = self.service
        with service.session() as session:
            job = session.get(BulkJob, job_id)
            assert job is not None
            if job.state in ("done", "failed"):
                return
            offers = job.offers
            inst = session.get(InstitutionRow, job.institution_id)
            assert inst is not None
            # judged again now, as `POST /credentials` judges each request: a type withdrawn
            # or a suspension on the ledger since the upload fails the job, nothing signed
            refuse_unaccredited(inst.slug, inst.credential_types.split(","), job.kind, None)
            service.ledger_states.refuse_if_inactive(
                ConnectionReads(session.connection()), inst.slug, inst.chain_issuer_id
            )
            api_key_id = job.api_key_id
            stopped = _uploader_stopped(session, inst.id, api_key_id)
            if stopped is not None:
                raise Forbidden(stopped)
            job.state = "running"
            identity = service.identity_for(inst)
            fmt, kind, path, offset, rows_done, total_rows = (
                job.fmt,
                job.kind,
                job.path,
                job.byte_offset,
                job.rows_done,
                job.total_rows,
            )
            institution_id = inst.id
            did = inst.did
            # what it is accredited for now: a degree row at a level it lacks is refused
            accredited = tuple(t for t in inst.credential_types.split(",") if t)
            slug = inst.slug
        if offers:
            self._run_offer_job(job_id, institution_id, fmt, kind, path, offset, rows_done)
            return
        key_row_id, signer = service.signer_for(institution_id)
        job_context = (signer.key.seed, did, identity, kind, accredited, slug)
        # A small job signs here; a larger one in the runner's warm pool, or (a runner not
        # started: CLI ``worker --once``, tests) in a pool started for this job alone
        own_pool: SigningPool | None = None
        signing: SigningPool | InlineSigner
        if total_rows is not None and total_rows - rows_done <= self.inline_rows:
            signing = InlineSigner()
        elif self.signing.running:
            signing = self.signing
        else:
            signing = own_pool = SigningPool(self.processes)
        with (
            contextlib.ExitStack() as stack,
            open(path, "rb") as handle,
        ):
            if own_pool is not None:
                stack.callback(own_pool.shutdown)
            pool = JobSigner(signing, job_context)
            frames = ChunkFrames(job_context)
            header = None
            if fmt == "csv":
                first = read_record(handle, "csv").decode("utf-8-sig").rstrip("\r\n")
                header = next(csv.reader([first]))
                if offset == 0:
                    offset = handle.tell()
            next_line = _lines_before(handle, offset) + 1  # the line at the cursor
            chunks = 0
            # Chunks submitted to the signing processes and not stored yet, oldest first. While
            # this thread stores the oldest (SQLite, Merkle tree; with those after it already
            # signed, `GROUP_CHUNKS` at most), the next `SIGN_AHEAD` are signing: with one only,
            # the signing processes could finish it and wait for this thread, leaving a core
            # idle; with two they always have work queued.
            in_flight: collections.deque[tuple[Any, ...]] = collections.deque()
            at_end = finished = False
            while not self._stop.is_set():
                while not at_end and len(in_flight) < SIGN_AHEAD + self.group_chunks:
                    chunk = read_chunk(handle, fmt, self.chunk_rows, self.chunk_bytes)
                    if not chunk.read_any:
                        at_end = True
                        break
                    # each chunk, before it is signed: the operator may have revoked the
                    # uploading key meanwhile (checked once the chunk is read: the read that
                    # finds the end of the file signs nothing, and needs no check)
                    with service.sessions() as session:
                        stopped = _uploader_stopped(session, institution_id, api_key_id, key_row_id)
                    if stopped is not None:
                        for submitted in in_flight:  # signed, never stored
                            for future in submitted[0]:
                                future.cancel()
                        raise Forbidden(stopped)
                    in_flight.append(
                        self._submit_block(
                            institution_id,
                            pool,
                            fmt,
                            header,
                            rows_done + 1,  # rows are numbered from 1, as the user counts them
                            chunk.records,
                            handle.tell(),
                            (next_line, chunk.starts),
                        )
                    )
                    rows_done += len(chunk.records)
                    next_line += chunk.lines
                if not in_flight:
                    break
                most = self.group_chunks if max_chunks is None else max_chunks - chunks
                stored, finished = self._store_chunks(
                    job_id,
                    institution_id,
                    in_flight,
                    min(most, self.group_chunks),
                    at_end,
                    frames if self.frame_documents else None,
                )
                chunks += stored
                if max_chunks is not None and chunks >= max_chunks and not finished:
                    for submitted in in_flight:
                        for future in submitted[0]:
                            future.cancel()
                    return
            if self._stop.is_set() and not finished:
                return
        if not finished:  # a file without rows: ended here (else with its last chunk)
            with service.session() as session:
                job = session.get(BulkJob, job_id)
                assert job is not None
                job.state = "done"
                job.finished_at = utcnow()
        _remove_upload(path)  # results and errors are in the database (issue 12)
        _logger.info("bulk job done", extra={"job": job_id})

    def _run_offer_job(
        self,
        job_id: str,
        institution_id: int,
        fmt: str,
        kind: str,
        path: str,
        offset: int,
        rows_done: int,
    ) -> None:
        """An ``offers`` job: one OpenID4VCI offer per row, chunk by chunk (each chunk's
        offers, refused rows and the cursor in one transaction), validated one by one as
        ``POST /credential-offers`` validates (`usecases.oid4vci.Oid4vci.bulk_offers`)."""
        service = self.service
        with service.sessions() as session:
            job = session.get(BulkJob, job_id)
            api_key_id = (job.api_key_id if job is not None else None) or ""
        with open(path, "rb") as handle:
            header = None
            if fmt == "csv":
                first = read_record(handle, "csv").decode("utf-8-sig").rstrip("\r\n")
                header = next(csv.reader([first]))
                if offset == 0:
                    offset = handle.tell()
            next_line = _lines_before(handle, offset) + 1
            while not self._stop.is_set():
                chunk = read_chunk(handle, fmt, self.chunk_rows, self.chunk_bytes)
                if not chunk.read_any:
                    break
                first_row = rows_done + 1
                rows: list[tuple[int, dict[str, Any] | str]] = []
                for k, record in enumerate(chunk.records):
                    try:
                        rows.append((first_row + k, row_to_request(fmt, record, header)))
                    except ValueError as exc:
                        rows.append((first_row + k, str(exc)))
                offers, refused = self.oid4vci.bulk_offers(
                    job_id=job_id,
                    institution_id=institution_id,
                    api_key_id=api_key_id,
                    kind=kind,
                    rows=rows,
                )
                errors = [
                    {
                        "job_id": job_id,
                        "row": row,
                        "line": line_of(row - first_row, next_line, chunk.starts),
                        "field": field,
                        "message": csv_missing_hint(header, field, msg),
                    }
                    for row, field, msg in refused
                ]
                with service.session() as session:
                    offer_store.add_offers(session, offers)
                    if errors:
                        bulk_store.add_errors(session, errors)
                    bulk_store.add_progress(
                        session,
                        job_id,
                        new_offset=handle.tell(),
                        count=len(chunk.records),
                        good=len(offers),
                        failed=len(errors),
                    )
                rows_done += len(chunk.records)
                next_line += chunk.lines
        if self._stop.is_set():
            return
        with service.session() as session:
            job = session.get(BulkJob, job_id)
            assert job is not None
            job.state = "done"
            job.finished_at = utcnow()
        _remove_upload(path)
        _logger.info("bulk offer job done", extra={"job": job_id})

    def _submit_block(
        self,
        institution_id: int,
        pool: JobSigner,
        fmt: str,
        header: list[str] | None,
        first_row: int,
        records: list[bytes],
        new_offset: int,
        lines: tuple[int, list[tuple[int, int]]],
    ) -> tuple[Any, ...]:
        indexes = self.service.allocate_status_indexes(institution_id, len(records))
        now = utcnow()
        parts = max(1, min(self.processes * 2, len(records) // 256 or 1))
        if parts > self.processes:  # a multiple of the processes: none signs a part more
            parts -= parts % self.processes
        size = -(-len(records) // parts) if records else 1
        futures = [
            pool.sign(
                fmt,
                header,
                first_row + i,
                records[i : i + size],
                indexes[i : i + size],
                now,
            )
            for i in range(0, len(records), size)
        ]
        return futures, first_row, indexes, len(records), now, new_offset, lines

    def _store_chunks(
        self,
        job_id: str,
        institution_id: int,
        in_flight: collections.deque[tuple[Any, ...]],
        most: int,
        at_end: bool = False,
        frames: ChunkFrames | None = None,
    ) -> tuple[int, bool]:
        """Commit the oldest chunk of ``in_flight`` (waiting for its signing), and with it the
        chunks right after it already signed, ``most`` in all, in one transaction: each chunk's
        credentials in their own Merkle batch (state ``built``, so bulk credentials need no
        second pass to be batched), their errors, the cursor after the last. Returns how many
        chunks were stored (taken off ``in_flight``) and whether the job ended with them:
        ``at_end`` (the file is read to its end) and none left in flight, when the job's state
        ``done`` is committed in the same transaction (one commit a job less: a 1,000-row job
        is one chunk). With ``frames`` (`ChunkFrames`), a chunk of at least
        ``frame_min_rows`` rows whose documents all fit its frame stores the frame once (a
        `DocumentFrame`, in the same transaction) and each row only its holes
        (`credential.frames`, migration 0011): about half the bytes a row.

        Why several: a commit writes every page the transaction changed, and a chunk's random
        credential ids and hashes land on most leaf pages of their two unique indexes, which
        grow with the table (~90 MB at 1,000,000 credentials). Per chunk stored, that was the
        cost that grew with size (the WAL written, then copied back by the checkpoint); when the
        signing processes are ahead of this thread (the only case where chunks wait here
        signed), two chunks share those page writes. ``most`` = 1 is the reference: one chunk
        per transaction, as before (tests/issuer/test_bulk.py compares the two).
        """
        phases = self.phases
        phases.start()
        group = [in_flight.popleft()]
        # consecutive row ranges, in order (waited for with the collector on)
        results = [[future.result() for future in group[0][0]]]
        while len(group) < most and in_flight and all(future.done() for future in in_flight[0][0]):
            group.append(in_flight.popleft())
            results.append([future.result() for future in group[-1][0]])
        phases.lap("wait")
        # The rows built from here on (tuples of bytes, str and int) hold no reference cycles and
        # are freed once stored; the cyclic collector would traverse them ~25 times a chunk
        # while they live (young collections every 700 allocations, ~0.3 us a row in the bench)
        with _collector_paused():
            service = self.service
            prepared = [
                _chunk_rows(
                    job_id,
                    result,
                    *chunk[1:7],  # `_submit_block`'s: first row, indexes, count, now, offset, lines
                    frame=(
                        frames.parts(chunk[4])
                        if frames is not None and chunk[3] >= self.frame_min_rows
                        else None
                    ),
                )
                for result, chunk in zip(results, group, strict=True)
            ]
            good = sum(len(p.ids) for p in prepared)
            failed = sum(len(p.errors) for p in prepared)
            with service.session() as session:
                job = session.get(BulkJob, job_id)
                assert job is not None
                kind = job.kind
                for ids, hashes, leaves, raws, indexes, rows, errors, now, frame in prepared:
                    if errors:
                        bulk_store.add_errors(session, errors)
                    if not ids:
                        continue
                    phases.lap("rows")
                    root = _merkle.tree_root(leaves)  # C; MerkleTree's root (its twin)
                    phases.lap("merkle")
                    # the batch keeps its leaves (32 bytes a row, one value) and the rows no
                    # audit path (416 bytes a row at 8,192 leaves): readers derive it from the
                    # leaves (`usecases.credentials.AuditPaths`, migration 0007)
                    batch = AnchorBatch(
                        institution_id=institution_id,
                        root=root,
                        leaf_count=len(ids),
                        state="built",
                        oldest_leaf_at=now,
                        leaves=leaves,
                    )
                    session.add(batch)
                    frame_row = None
                    if frame is not None:  # the chunk's documents are their holes: its frame
                        frame_row = DocumentFrame(parts=_frames.pack(frame), created_at=now)
                        session.add(frame_row)
                    session.flush()
                    insert_credentials(
                        session.connection(),
                        institution_id=institution_id,
                        kind=kind,
                        batch_id=batch.id,
                        job_id=job_id,
                        now=now,
                        rows=zip(ids, hashes, raws, indexes, range(len(ids)), rows, strict=True),
                        frame_id=None if frame_row is None else frame_row.id,
                    )
                    phases.lap("insert")
                bulk_store.add_progress(
                    session,
                    job_id,
                    new_offset=group[-1][5],
                    count=sum(chunk[3] for chunk in group),
                    good=good,
                    failed=failed,
                )
                finished = at_end and not in_flight
                if finished:
                    job.state = "done"
                    job.finished_at = utcnow()
                phases.lap("insert")
            phases.lap("commit")
            phases.chunks += len(group)
            service.metrics.issued.labels("bulk").inc(good)
            if good:
                wake = getattr(service, "anchor_wakeup", None)
                if wake is not None:
                    wake.set()
        return len(group), finished
