"""Bulk issuance: an uploaded JSONL or CSV file becomes an asynchronous, resumable job.

Upload (``create_job``) streams the file into ``<data_dir>/bulk/`` and counts its rows (at most
``bulk_max_rows``, 1,000,000 by default). ``BulkRunner`` then issues it chunk by chunk: each chunk
is validated and signed (in worker processes), and its credentials, its per-row errors and the
job's cursor (byte offset and row count) are committed in one transaction. A restart resumes
after the last committed chunk, so no row is issued twice and none is skipped. Bad rows are
recorded with the field and the reason, and never fail the good ones.

Row formats:

* JSONL: one JSON object per line, either an issue request (``credentialSubject`` plus optional
  ``validFrom``, ``validUntil``, ``name``, ``description``) or the subject object itself.
* CSV: a header row; columns are subject fields with dotted paths (``degree.name``); the columns
  ``validFrom``, ``validUntil``, ``name`` and ``description`` go to the credential. Empty cells
  are omitted. Fields spanning several lines are not supported.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import func, select, update

from . import _cred
from .auth import Principal
from .db import AnchorBatch, BulkError, BulkJob, Credential, Institution, utcnow
from .errors import InvalidRequest, NotAccredited, NotFound
from .service import IssuerService, Outcome, fingerprint

_logger = logging.getLogger(__name__)

_CRED_FIELDS = ("validFrom", "validUntil", "name", "description")


# -- parsing ----------------------------------------------------------------------------------


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ValueError(f"column {dotted!r} conflicts with column {part!r}")  # noqa: TRY004
        target = nxt
    target[parts[-1]] = value


def row_to_request(fmt: str, line: bytes, header: list[str] | None) -> dict[str, Any]:
    """One data row as an issue request; raises ValueError naming what is wrong."""
    if fmt == "jsonl":
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON object, found invalid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, found {type(obj).__name__}")
        if "credentialSubject" in obj:
            return obj
        return {"credentialSubject": obj}
    assert header is not None
    values = next(csv.reader([line.decode("utf-8")]))
    if len(values) != len(header):
        raise ValueError(f"expected {len(header)} columns, found {len(values)}")
    request: dict[str, Any] = {"credentialSubject": {}}
    for name, value in zip(header, values, strict=True):
        if value == "":
            continue
        if name in _CRED_FIELDS:
            request[name] = value
        else:
            _set_path(request["credentialSubject"], name, value)
    return request


# -- signing in worker processes ----------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(seed: bytes, did: str, identity: _cred.IssuerIdentity, kind: str) -> None:
    _WORKER.update(signer=_cred.Signer(seed, did), identity=identity, kind=kind)


def _sign_rows(
    fmt: str, header: list[str] | None, rows: list[tuple[int, bytes, int]], now: dt.datetime
) -> list[tuple[int, str | None, bytes, bytes, str, str]]:
    """Parse and issue (row, raw line, status index) in a worker process."""
    parsed: list[tuple[int, dict[str, Any] | Exception, int]] = []
    for row_no, line, index in rows:
        try:
            parsed.append((row_no, row_to_request(fmt, line, header), index))
        except (ValueError, UnicodeDecodeError) as exc:
            parsed.append((row_no, exc, index))
    return _cred.issue_many(
        _WORKER["kind"], parsed, identity=_WORKER["identity"], signer=_WORKER["signer"], now=now
    )


# -- jobs --------------------------------------------------------------------------------------


def _job_dir(service: IssuerService) -> Path:
    path = service.settings.data_dir / "bulk"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_job(
    service: IssuerService,
    caller: Principal,
    upload: BinaryIO,
    filename: str,
    kind: str,
    fmt: str | None,
    idempotency_key: str | None,
) -> Outcome:
    """Store an upload and queue its job (202 with the job's links)."""
    institution_id = service.require(caller, "issue")
    if kind not in _cred.KINDS:
        raise InvalidRequest(f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type")
    with service.sessions() as session:
        inst = session.get(Institution, institution_id)
        assert inst is not None
        if kind not in inst.credential_types.split(","):
            raise NotAccredited(f"institution {inst.slug!r} is not accredited to issue {kind}")
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
    digest = hashlib.sha256()
    rows = 0
    limit = service.settings.bulk_max_rows + (1 if fmt == "csv" else 0)
    with open(path, "wb") as out:
        for line in upload:
            digest.update(line)
            if line.strip():
                rows += 1
                if rows > limit:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise InvalidRequest(
                        f"a bulk file holds at most {service.settings.bulk_max_rows} rows",
                        field="file",
                    )
            out.write(line if line.endswith(b"\n") else line + b"\n")
    if fmt == "csv":
        rows = max(rows - 1, 0)
    if rows == 0:
        path.unlink(missing_ok=True)
        raise InvalidRequest("the file holds no data rows", field="file")
    fp = fingerprint("bulk", kind, fmt, digest.hexdigest())

    def _create(session: Any) -> Outcome:
        session.add(
            BulkJob(
                id=job_id,
                institution_id=institution_id,
                kind=kind,
                fmt=fmt,
                path=str(path),
                state="queued",
                total_rows=rows,
            )
        )
        return Outcome(
            202,
            {
                "id": job_id,
                "state": "queued",
                "total_rows": rows,
                "links": {
                    "self": f"/bulk-jobs/{job_id}",
                    "results": f"/bulk-jobs/{job_id}/results",
                    "errors": f"/bulk-jobs/{job_id}/errors",
                },
            },
            {"Location": f"/bulk-jobs/{job_id}"},
        )

    outcome = service.idempotent(caller, idempotency_key, fp, _create)
    if outcome.body.get("id") != job_id:
        path.unlink(missing_ok=True)  # a replay: the first upload's job stands
    else:
        _logger.info("bulk job queued", extra={"job": job_id, "rows": rows})
    return outcome


def _own_job(service: IssuerService, caller: Principal, job_id: str) -> BulkJob:
    institution_id = service.require(caller, "read")
    with service.sessions() as session:
        job = session.get(BulkJob, job_id)
        if job is None or job.institution_id != institution_id:
            raise NotFound(f"no bulk job {job_id!r}")
        return job


def job_status(service: IssuerService, caller: Principal, job_id: str) -> dict[str, Any]:
    """Progress: rows done of total, succeeded, failed, anchored, state."""
    job = _own_job(service, caller, job_id)
    with service.sessions() as session:
        anchored = (
            session.scalar(
                select(func.count())
                .select_from(Credential)
                .join(AnchorBatch, Credential.batch_id == AnchorBatch.id)
                .where(Credential.bulk_job_id == job_id, AnchorBatch.state == "anchored")
            )
            or 0
        )
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
        "error": job.error,
        "links": {
            "results": f"/bulk-jobs/{job_id}/results",
            "errors": f"/bulk-jobs/{job_id}/errors",
        },
    }


def iter_results(
    service: IssuerService, caller: Principal, job_id: str, *, qr: bool = True, page: int = 2000
) -> Iterator[bytes]:
    """JSONL lines ``{"row", "id", "status", "credential", "qrPayload"}`` in row order.

    Access is checked at once (before a streaming response starts), the rows are read lazily.
    """
    _own_job(service, caller, job_id)
    return _results(service, job_id, qr=qr, page=page)


def _results(service: IssuerService, job_id: str, *, qr: bool, page: int) -> Iterator[bytes]:
    after = -1
    batches: dict[int, AnchorBatch] = {}
    while True:
        with service.sessions() as session:
            rows = list(
                session.scalars(
                    select(Credential)
                    .where(Credential.bulk_job_id == job_id, Credential.bulk_row > after)
                    .order_by(Credential.bulk_row)
                    .limit(page)
                )
            )
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
    """JSONL lines ``{"row", "field", "message"}`` of rejected rows (access checked at once)."""
    _own_job(service, caller, job_id)
    return _errors(service, job_id)


def _errors(service: IssuerService, job_id: str) -> Iterator[bytes]:
    with service.sessions() as session:
        for err in session.scalars(
            select(BulkError).where(BulkError.job_id == job_id).order_by(BulkError.row)
        ):
            yield orjson.dumps({"row": err.row, "field": err.field, "message": err.message}) + b"\n"


# -- bulk insert --------------------------------------------------------------------------------

_INSERT_COLUMNS = (
    "id",
    "credential_hash",
    "document",
    "status_index",
    "leaf_index",
    "proof_path",
    "bulk_row",
    "institution_id",
    "kind",
    "batch_id",
    "bulk_job_id",
    "suspended",
    "created_at",
)


def insert_credentials(
    connection: Any,
    *,
    institution_id: int,
    kind: str,
    batch_id: int,
    job_id: str,
    now: dt.datetime,
    rows: list[tuple[str, bytes, bytes, int, int, bytes, int]],
) -> None:
    """Insert one chunk's credentials with a single driver-level ``executemany``.

    ``rows`` are (id, credential hash, document JSON, status index, leaf index, proof path, bulk
    row). The columns every row shares (institution, kind, batch, job, suspended, created_at) are
    converted once with the dialect's own bind processors, so the stored values are exactly what
    the ORM would have written, without SQLAlchemy's per-row parameter processing (which cost
    more than the insert itself).
    """
    dialect = connection.dialect
    table = Credential.__table__
    shared: list[Any] = []
    for name, value in (
        ("institution_id", institution_id),
        ("kind", kind),
        ("batch_id", batch_id),
        ("bulk_job_id", job_id),
        ("suspended", False),
        ("created_at", now),
    ):
        process = table.c[name].type._cached_bind_processor(dialect)
        shared.append(process(value) if process is not None else value)
    tail = tuple(shared)
    style = dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in _INSERT_COLUMNS)
    else:  # pragma: no cover - the two supported drivers use qmark (sqlite3) or %s (psycopg)
        raise RuntimeError(f"unsupported DBAPI paramstyle {style!r}")
    sql = f"INSERT INTO {table.name} ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})"
    connection.exec_driver_sql(sql, [r + tail for r in rows])


class BulkRunner:
    """Processes queued and interrupted jobs, one chunk per transaction."""

    def __init__(self, service: IssuerService, *, processes: int | None = None) -> None:
        self.service = service
        n = processes if processes is not None else service.settings.bulk_processes
        self.processes = n or (os.cpu_count() or 1)
        self.chunk_rows = service.settings.bulk_chunk_rows
        self._stop = threading.Event()
        self.wakeup = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="bulk-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current chunk."""
        self._stop.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_pending()
            except Exception:
                _logger.exception("bulk runner pass failed")
                busy = False
            if not busy:
                self.wakeup.wait(1.0)
                self.wakeup.clear()

    def run_pending(self) -> bool:
        """Run every unfinished job to its end (or until stopped); returns whether any ran."""
        with self.service.sessions() as session:
            ids = list(
                session.scalars(
                    select(BulkJob.id)
                    .where(BulkJob.state.in_(("queued", "running")))
                    .order_by(BulkJob.created_at)
                )
            )
        for job_id in ids:
            try:
                self.run_job(job_id)
            except OSError as exc:  # the upload is gone or unreadable: the job cannot go on
                _logger.error("bulk job failed", extra={"job": job_id, "error": str(exc)})
                with self.service.session() as session:
                    job = session.get(BulkJob, job_id)
                    assert job is not None
                    job.state, job.error, job.finished_at = "failed", str(exc), utcnow()
        return bool(ids)

    def run_job(self, job_id: str, *, max_chunks: int | None = None) -> None:
        """Issue a job from its cursor to its end (``max_chunks`` stops early, for tests)."""
        service = self.service
        with service.session() as session:
            job = session.get(BulkJob, job_id)
            assert job is not None
            if job.state in ("done", "failed"):
                return
            job.state = "running"
            inst = session.get(Institution, job.institution_id)
            assert inst is not None
            identity = service.identity_for(inst)
            fmt, kind, path, offset, rows_done = (
                job.fmt,
                job.kind,
                job.path,
                job.byte_offset,
                job.rows_done,
            )
            institution_id = inst.id
            did = inst.did
        _key_row_id, signer = service.signer_for(institution_id)
        seed = signer.key.seed
        ctx = multiprocessing.get_context("forkserver")
        with (
            cf.ProcessPoolExecutor(
                self.processes,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(seed, did, identity, kind),
            ) as pool,
            open(path, "rb") as handle,
        ):
            header = None
            if fmt == "csv":
                header = next(csv.reader([handle.readline().decode("utf-8-sig").rstrip("\r\n")]))
                if offset == 0:
                    offset = handle.tell()
            handle.seek(offset)
            chunks = 0
            in_flight: tuple[Any, ...] | None = None  # signing of chunk k overlaps storing k-1
            while not self._stop.is_set():
                lines: list[bytes] = []
                while len(lines) < self.chunk_rows:
                    line = handle.readline()
                    if not line:
                        break
                    lines.append(line)
                submitted = None
                if lines:
                    data = [
                        (rows_done + i, ln.rstrip(b"\r\n"))
                        for i, ln in enumerate(ln for ln in lines if ln.strip())
                    ]
                    rows_done += len(data)
                    submitted = self._submit_chunk(
                        institution_id, pool, fmt, header, data, handle.tell()
                    )
                if in_flight is not None:
                    self._store_chunk(job_id, institution_id, *in_flight)
                    chunks += 1
                    if max_chunks is not None and chunks >= max_chunks:
                        for future in (submitted or ((),))[0]:
                            future.cancel()
                        return
                in_flight = submitted
                if in_flight is None:
                    break
            if self._stop.is_set():
                return
        with service.session() as session:
            job = session.get(BulkJob, job_id)
            assert job is not None
            job.state = "done"
            job.finished_at = utcnow()
        _logger.info("bulk job done", extra={"job": job_id})

    def _submit_chunk(
        self,
        institution_id: int,
        pool: cf.ProcessPoolExecutor,
        fmt: str,
        header: list[str] | None,
        data: list[tuple[int, bytes]],
        new_offset: int,
    ) -> tuple[Any, ...]:
        indexes = self.service.allocate_status_indexes(institution_id, len(data))
        rows = [(row, line, idx) for (row, line), idx in zip(data, indexes, strict=True)]
        now = utcnow()
        parts = max(1, min(self.processes * 2, len(rows) // 64 or 1))
        size = -(-len(rows) // parts)
        futures = [
            pool.submit(_sign_rows, fmt, header, rows[i : i + size], now)
            for i in range(0, len(rows), size)
        ]
        return futures, rows, now, new_offset

    def _store_chunk(
        self,
        job_id: str,
        institution_id: int,
        futures: list[Any],
        rows: list[tuple[int, bytes, int]],
        now: dt.datetime,
        new_offset: int,
    ) -> None:
        """Commit one chunk: its credentials already in a Merkle batch, its errors, the cursor.

        The chunk's good rows form one anchoring batch (state ``built``) in the same
        transaction, so bulk credentials need no second pass to be batched.
        """
        service = self.service
        results = [r for f in futures for r in f.result()]
        index_of = {row: idx for row, _l, idx in rows}
        good = [
            (row, cid, raw, digest, index_of[row])
            for (row, cid, raw, digest, _f, _m) in results
            if cid is not None
        ]
        errors = [
            {"job_id": job_id, "row": row, "field": field, "message": msg}
            for (row, cid, _raw, _digest, field, msg) in results
            if cid is None
        ]
        with service.session() as session:
            job = session.get(BulkJob, job_id)
            assert job is not None
            kind = job.kind
            if good:
                root, paths = _cred.merkle_tree([g[3] for g in good])
                batch = AnchorBatch(
                    institution_id=institution_id,
                    root=root,
                    leaf_count=len(good),
                    state="built",
                    oldest_leaf_at=now,
                )
                session.add(batch)
                session.flush()
                insert_credentials(
                    session.connection(),
                    institution_id=institution_id,
                    kind=kind,
                    batch_id=batch.id,
                    job_id=job_id,
                    now=now,
                    rows=[
                        (cid, digest, raw, idx, leaf, b"".join(paths[leaf]), row)
                        for leaf, (row, cid, raw, digest, idx) in enumerate(good)
                    ],
                )
            if errors:
                session.connection().execute(BulkError.__table__.insert(), errors)
            session.execute(
                update(BulkJob)
                .where(BulkJob.id == job_id)
                .values(
                    byte_offset=new_offset,
                    rows_done=BulkJob.rows_done + len(rows),
                    succeeded=BulkJob.succeeded + len(good),
                    failed=BulkJob.failed + len(errors),
                )
            )
        service.metrics.issued.labels("bulk").inc(len(good))
        if good:
            wake = getattr(service, "anchor_wakeup", None)
            if wake is not None:
                wake.set()
