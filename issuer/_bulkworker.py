"""The signing processes of bulk jobs: parse raw records, issue them with a `BulkTemplate`.

Kept apart from `bulk` (which needs the database and the service) so that a signing process
imports only the credential code; the bulk runner preloads this module in its forkserver.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import functools
import os
import re
from typing import Any

import orjson

from talentproof.credential.errors import CredentialError
from talentproof.credential.types import accredited_levels, degree_level, level_refusal

from . import _bulkcred, _cred

__all__ = [
    "JobContext",
    "csv_missing_hint",
    "holds_a_key",
    "init_worker",
    "row_to_request",
    "sign_block",
    "sign_job_block",
    "split_block",
    "split_views",
    "warm_up",
    "worker_pid",
]

_CRED_FIELDS = ("validFrom", "validUntil", "name", "description")
_SUBJECT_PREFIX = "credentialSubject."


_INDEXED = re.compile(r"(.+)\[([0-9]{1,3})\]")


_Column = tuple[str, bool, tuple[tuple[str, bool], ...], str, "tuple[str, int] | None"]


@functools.lru_cache(maxsize=64)
def _csv_plan(header: tuple[str, ...]) -> tuple[_Column, ...]:
    """Each column of a CSV header, parsed once per header: (name, whether it is a credential
    field, the intermediate parts of its dotted path each with whether it carries an index
    (which only the last part may), the last part, and the last part's (name, index) if it
    has one)."""
    plan: list[_Column] = []
    for name in header:
        # ``credentialSubject.name`` is the subject's ``name`` (``name`` alone: the credential's)
        explicit = name.startswith(_SUBJECT_PREFIX)
        parts = name.removeprefix(_SUBJECT_PREFIX).split(".")
        inner = tuple((part, _INDEXED.fullmatch(part) is not None) for part in parts[:-1])
        indexed = _INDEXED.fullmatch(parts[-1])
        item = None if indexed is None else (indexed.group(1), int(indexed.group(2)))
        plan.append((name, not explicit and name in _CRED_FIELDS, inner, parts[-1], item))
    return tuple(plan)


#: How many of a CSV's columns an error lists (a row's error is stored per row: a header of
#: hundreds of columns is cut, saying how many more there are).
_HINT_COLUMNS = 40


def csv_missing_hint(header: list[str] | None, field: str, message: str) -> str:
    """``message`` for a row of a CSV job whose subject field ``field`` is missing, followed by
    the columns the CSV has and the one that fills that field (``credentialSubject.name`` for
    the subject's ``name``: ``name`` alone is the credential's); any other message unchanged."""
    if (
        header is None
        or not field.startswith(_SUBJECT_PREFIX)
        or not ("(required property)" in message or message.endswith("is missing"))
    ):
        return message
    path = field.removeprefix(_SUBJECT_PREFIX)
    column = field if path in _CRED_FIELDS else path
    if column in header or field in header:
        return f"{message}; its column {column} is empty in this row"
    shown = ", ".join(header[:_HINT_COLUMNS])
    if len(header) > _HINT_COLUMNS:
        shown += f", ... ({len(header) - _HINT_COLUMNS} more)"
    hint = f"{message}; the CSV has no column {column} (its columns: {shown})"
    if path in _CRED_FIELDS and path in header:
        hint += f"; `{path}` alone is the credential's {path}, not the subject's"
    return hint


def _close_arrays(arrays: dict[tuple[int, str], tuple[dict[str, Any], dict[int, Any]]]) -> None:
    for (_parent_id, name), (parent, items) in arrays.items():
        parent[name] = [items[i] for i in sorted(items)]


def _csv_values(text: str) -> list[str]:
    """The fields of one CSV record, as ``csv.reader`` (default dialect) reads them: a record
    without quotes, line breaks or NUL is split at its commas (what the reader does with it),
    any other goes through the reader. (The split is a shortcut, not a second parser: it skips
    building a reader per row on the bulk path; tests compare it with ``csv.reader``.)"""
    if '"' in text or "\r" in text or "\n" in text or "\0" in text or not text:
        return next(csv.reader([text]), [])
    return text.split(",")


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
    values = _csv_values(line.decode("utf-8"))
    if len(values) != len(header):
        raise ValueError(f"expected {len(header)} columns, found {len(values)}")
    subject: dict[str, Any] = {}
    request: dict[str, Any] = {"credentialSubject": subject}
    # ``a.b.c`` sets objects, ``a.b.items[2]`` the third item of an array: indexed cells are
    # collected in ``arrays`` and become lists in index order (`_close_arrays`)
    arrays: dict[tuple[int, str], tuple[dict[str, Any], dict[int, Any]]] = {}
    for (dotted, credential_field, inner, last, item), value in zip(
        _csv_plan(tuple(header)), values, strict=True
    ):
        if value == "":
            continue
        if credential_field:
            request[dotted] = value
            continue
        target = subject
        for part, indexed_part in inner:
            nxt = target.setdefault(part, {})
            if indexed_part or not isinstance(nxt, dict):
                raise ValueError(f"column {dotted!r} conflicts with column {part!r}")
            target = nxt
        if item is None:
            if arrays and (id(target), last) in arrays:
                raise ValueError(f"column {dotted!r} conflicts with an indexed column {last}[...]")
            target[last] = value
            continue
        name, index = item
        if name in target and (id(target), name) not in arrays:
            raise ValueError(f"column {dotted!r} conflicts with column {name!r}")
        target[name] = None  # placeholder, replaced by the list
        arrays.setdefault((id(target), name), (target, {}))[1][index] = value
    if arrays:
        _close_arrays(arrays)
    return request


_WORKER: dict[str, Any] = {}


def init_worker(
    seed: bytes,
    did: str,
    identity: _cred.IssuerIdentity,
    kind: str,
    accredited: tuple[str, ...] | None = None,
    slug: str = "",
) -> None:
    """Process initializer: the job's signing key, issuer identity and credential kind; with
    ``accredited`` (the institution's accreditation names), each row of a kind it holds only
    for some levels is refused unless its degree's level is one of them."""
    levels = None if accredited is None else accredited_levels(accredited, kind)
    _WORKER.update(
        signer=_cred.Signer(seed, did),
        identity=identity,
        kind=kind,
        levels=levels,
        accredited=accredited,
        who=f"institution {slug!r}",
    )


#: What signing a job's rows needs (`init_worker`'s arguments: seed, DID, identity, kind,
#: accreditation names, slug): sent with each block, so one warm pool of signing processes
#: (`_bulkpool.SigningPool`) serves every job of every institution, and the bulk runner's own
#: thread signs a small job with the same call (`_bulkpool.InlineSigner`).
JobContext = tuple[bytes, str, _cred.IssuerIdentity, str, tuple[str, ...] | None, str]


def sign_job_block(
    job: JobContext,
    fmt: str,
    header: list[str] | None,
    first_row: int,
    records: list[bytes],
    indexes: list[int],
    now: dt.datetime,
) -> tuple[list[int], list[str], bytes, list[int], bytes, list[tuple[int, str, str]]]:
    """`sign_block` for the job ``job``: this process's job state (`init_worker`) is set up
    again, template included, only when the job differs from the last one it signed for."""
    if _WORKER.get("job") != job:
        _WORKER.clear()  # the template belongs to the previous job's identity and key
        init_worker(*job)
        _WORKER["job"] = job
    return sign_block(fmt, header, first_row, records, indexes, now)


def holds_a_key() -> bool:
    """Whether this process holds a job's state (its signing key among it) now."""
    return "signer" in _WORKER or "job" in _WORKER


def worker_pid() -> int:
    """This process's id: a signing pool's liveness check."""
    return os.getpid()


def _institution_name(subject: dict[str, Any], fallback: str) -> str:
    """The institution an example subject names as its issuer (degree, employer), else
    ``fallback`` (the example's issuer name)."""
    for claim, field in (("degree", "institution"), ("employment", "employer")):
        named = subject.get(claim, {}).get(field, {}).get("name")
        if named:
            return str(named)
    return fallback


def warm_up() -> tuple[int, str]:
    """Sign two example rows of every credential kind with a throwaway key, then forget them:
    the code paths, caches and lazy imports a first block would pay for are loaded before a
    job arrives. Returns this process's id and what went wrong ("" if nothing: a failed
    warm-up leaves the process as usable as a cold one)."""
    # only a signing process warms up: the service's own processes never load the examples
    from talentproof.credential.examples import BUILDERS  # noqa: PLC0415
    from talentproof.credential.keys import Ed25519SigningKey  # noqa: PLC0415

    problem = ""
    try:
        holder = Ed25519SigningKey.from_seed(b"\x01" * 32).public_key.did_key
        now = dt.datetime.now(dt.UTC)
        for kind, build in BUILDERS.items():
            doc = build(holder)
            issuer = doc["issuer"]  # a DID, or an object with its DID and name
            did = issuer if isinstance(issuer, str) else issuer["id"]
            fallback = "" if isinstance(issuer, str) else issuer["name"]
            name = _institution_name(doc["credentialSubject"], fallback)
            identity = _cred.IssuerIdentity(did, name, "https://warm-up.invalid/status")
            job: JobContext = (os.urandom(32), did, identity, kind, None, "warm-up")
            row = orjson.dumps({"credentialSubject": doc["credentialSubject"]})
            _rows, _ids, _raw, _lengths, _hashes, errors = sign_job_block(
                job, "jsonl", None, 1, [row, row], [0, 1], now
            )
            if errors:
                problem = f"{kind}: {errors[0]}"
    except Exception as exc:  # reported by the pool; the process still signs as a cold one
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        _WORKER.clear()
    return os.getpid(), problem


#: How much lower (Linux nice) than the thread that starts them the signing processes run.
SIGNING_NICE = 5


def yield_to_runner(step: int = SIGNING_NICE) -> None:
    """Process initializer of the signing processes: run ``step`` nice levels below the priority
    they inherit (the bulk runner's thread's, via the forkserver it started).

    Why: the runner's thread is the pipeline's one serial stage (it stores what they sign, one
    chunk after the other) while the signing processes are interchangeable. At equal priority
    the scheduler shares the two cores among the three evenly, so the runner gets about two
    thirds of a core while it has work, and once it falls behind, the signing processes (which
    sign at most `bulk.SIGN_AHEAD` chunks ahead) wait for it. Below it, the runner takes a core
    whenever it has work and the signing processes use the cycles it leaves (figures in
    bench/results.md, "issuer_bulk: issue 17.2 and 17.3").

    Then `keep_freed_memory`: the blocks a signing process allocates and frees reuse its pages.
    """
    try:
        os.nice(step)
    except OSError:  # a sandbox without setpriority: the inherited priority
        pass
    keep_freed_memory()


#: glibc's ``mallopt`` parameters (<malloc.h>)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

#: Largest block glibc then serves from its heap (its own upper limit on 64-bit systems).
HEAP_BLOCK_MAX = 32 << 20

#: Freed memory a signing process keeps for its next blocks instead of returning it.
KEEP_FREED = 256 << 20


def keep_freed_memory(keep: int = KEEP_FREED) -> bool:
    """Make glibc's malloc serve blocks of up to `HEAP_BLOCK_MAX` from its heap and keep up to
    ``keep`` bytes of freed heap for the next ones instead of returning them to the system;
    whether it applied (False without glibc's ``mallopt``: the allocator's defaults stay).

    Why: each block a signing process signs allocates a few MiB at once (its documents joined,
    the pickle of its result), which glibc maps fresh (``mmap``) and unmaps when freed, or
    trims off its heap: every block then faults in ~1,000 new zeroed pages, and pages of fresh
    memory are slow on this kind of VM. Measured with the signing pool alone (2 processes,
    65,536 bench rows, 4 pairs alternating, load 6-7): the signing processes' system CPU 2.6-4.0
    us a credential without, 1.1-1.5 us with (bench/results.md, 2026-12-07). A signing
    process's memory then stays at its peak (one job's few blocks) while it lives.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has it as a no-op; macOS has none)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (_M_MMAP_THRESHOLD, HEAP_BLOCK_MAX),
            (_M_TRIM_THRESHOLD, keep),
            (_M_TOP_PAD, 16 << 20),
        )
    )


def _level_refused(request: dict[str, Any]) -> str | None:
    """Why the row's degree level is not accredited (None: it is, or the whole kind is)."""
    levels = _WORKER.get("levels")
    if levels is None:
        return None
    subject = request.get("credentialSubject")
    if degree_level(subject) in levels:
        return None
    return level_refusal(_WORKER["accredited"], _WORKER["kind"], subject, _WORKER["who"])


def _level_bytes() -> tuple[bytes, ...] | None:
    """The accredited levels (`_level_refused`) as `BulkTemplate.issue_record` takes them."""
    levels = _WORKER.get("levels")
    if levels is None:
        return None
    try:
        return tuple(level.encode() for level in levels)
    except UnicodeEncodeError:  # (no such level name; the Python path judges every row)
        return ()


def _template(now: dt.datetime) -> _bulkcred.BulkTemplate:
    template = _WORKER.get("template")
    # proofs carry ``created`` to the second: chunks within one second share a template
    if template is None or template.created != now.astimezone(dt.UTC).replace(microsecond=0):
        template = _WORKER["template"] = _bulkcred.BulkTemplate(
            _WORKER["kind"], identity=_WORKER["identity"], signer=_WORKER["signer"], now=now
        )
    return template


def sign_block(
    fmt: str,
    header: list[str] | None,
    first_row: int,
    records: list[bytes],
    indexes: list[int],
    now: dt.datetime,
) -> tuple[list[int], list[str], bytes, list[int], bytes, list[tuple[int, str, str]]]:
    """Parse and issue consecutive rows ``first_row...`` (raw records, status indexes) in a
    worker process.

    Returns the good rows as (row numbers, ids, their JCS bytes concatenated, the length of
    each, their 32-byte hashes concatenated) and the errors as (row, field, message), both in
    row order: a few large values cross the process boundary instead of thousands of small
    ones. Each row goes through `BulkTemplate.issue_one` in this loop; the rows it cannot vouch
    for go through `BulkTemplate.issue_rows`' generic path together (same outcomes as
    `issue_rows`, tested).
    """
    # Own loop, not `issue_credentials` (same outcomes, tested): that adds ~2.5 us CPU/credential.
    template = _template(now)
    issue_one = template.issue_one
    ids = _bulkcred.new_credential_ids(len(records))
    rows: list[int] = []
    out_ids: list[str] = []
    raws: list[bytes] = []
    hashes: list[bytes] = []
    errors: list[tuple[int, str, str]] = []
    rest: list[tuple[int, Any, int]] = []
    jsonl = fmt == "jsonl"
    check_level = _WORKER.get("levels") is not None  # a kind accredited only for some levels
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    # a subject-only JSONL record checked and signed from its bytes in C; None: the loop below
    issue_record = template.issue_record if jsonl and template.native_recognizer else None
    levels = _level_bytes()
    for k, record in enumerate(records):
        row = first_row + k
        if issue_record is not None:
            done = issue_record(record, indexes[k], ids[k], levels)
            if done is not None:
                rows.append(row)
                out_ids.append(done[0])
                raws.append(done[1])
                hashes.append(done[2])
                continue
        if jsonl:  # `row_to_request`, written out for the common case
            try:
                request = loads(record)
            except decode_error as exc:
                errors.append((row, "", f"expected a JSON object, found invalid JSON ({exc})"))
                continue
            if type(request) is not dict:
                errors.append((row, "", f"expected a JSON object, found {type(request).__name__}"))
                continue
            if "credentialSubject" not in request:  # the subject alone
                request = {"credentialSubject": request}
        else:
            try:
                request = row_to_request(fmt, record, header)
            except (ValueError, UnicodeDecodeError, csv.Error) as exc:
                errors.append((row, "", str(exc)))
                continue
        if check_level:
            refused = _level_refused(request)
            if refused is not None:
                errors.append((row, "credentialSubject.degree.level", refused))
                continue
        try:
            done = issue_one(request, indexes[k], ids[k], owned=True)  # parsed here, ours
        except (CredentialError, ValueError, TypeError, orjson.JSONEncodeError):
            done = None
        if done is None:
            rest.append((row, request, indexes[k]))
            continue
        rows.append(row)
        out_ids.append(done[0])
        raws.append(done[1])
        hashes.append(done[2])
    if rest:  # the generic path: its outcomes merged in row order
        merged = list(zip(rows, out_ids, raws, hashes, strict=True))
        for row, cid, raw, digest, field, message in template.issue_plain_rows(rest):
            if cid is None:
                errors.append((row, field, csv_missing_hint(header, field, message)))
            else:
                merged.append((row, cid, raw, digest))
        merged.sort(key=lambda item: item[0])
        errors.sort(key=lambda item: item[0])
        rows = [m[0] for m in merged]
        out_ids = [m[1] for m in merged]
        raws = [m[2] for m in merged]
        hashes = [m[3] for m in merged]
    return rows, out_ids, b"".join(raws), list(map(len, raws)), b"".join(hashes), errors


def split_block(blob: bytes, lengths: list[int]) -> list[bytes]:
    """The values `sign_block` concatenated, cut apart again."""
    out: list[bytes] = []
    start = 0
    append = out.append
    for n in lengths:
        end = start + n
        append(blob[start:end])
        start = end
    return out


def split_views(blob: bytes, lengths: list[int]) -> list[memoryview]:
    """`split_block`'s values as views of ``blob`` (no copy; the drivers bind any buffer as a
    BLOB/bytea). Why: a bulk chunk's documents are only inserted, and copying each (~2 KB)
    out of its block cost ~0.3 us a row in the runner's thread."""
    view = memoryview(blob)
    out: list[memoryview] = []
    start = 0
    append = out.append
    for n in lengths:
        end = start + n
        append(view[start:end])
        start = end
    return out
