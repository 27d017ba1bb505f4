"""Bulk verification of a folder: both cores, batched chain reads, a progress bar and a summary.

Each file is verified on its own (one credential or presentation per file). The folder is split
into chunks handled by worker processes; in each chunk the offline checks (1-4) run first, then
the chain reads of the whole chunk go to the node as JSON-RPC batches, every read pinned to one
block number chosen at the start, so the whole folder is judged against one chain state.

One file is one input and gets one verdict, the very one ``talentproof verify FILE`` gives it
(``engine.Verifier.prepare_item`` and ``conclude``, the same code): a presentation's credentials
are verified with its holder proof and the same-applicant check, an unreadable file is
NOT_VERIFIABLE, a text that is no TalentProof payload INVALID (issue 12).

Exit code of a folder, summarising those verdicts: 1 if any file is INVALID, else 3 if any is
NOT_VERIFIABLE (unreadable, or the chain could not be read), else 0 (every file VALID); 3 too
when the chain cannot be read at the start, 2 for a folder holding no file to verify.
"""

from __future__ import annotations

import functools
import gc
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from talentproof.credential.anchor import checked_anchor
from talentproof.credential.integrity import parse_datetime
from talentproof.credential.keys import (
    DID_KEY_CACHE,
    resolve_verification_method,
    sodium_address,
)
from talentproof.credential.text import printable
from talentproof.credential.types import KINDS
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.verifier import checks, fastschema
from talentproof.verifier.engine import ChainReader, Prepared, Verifier, record_chain_skip
from talentproof.verifier.errors import InputTooLarge
from talentproof.verifier.inputs import (
    PICTURE_SUFFIXES,
    SUFFIXES,
    folder_paths,
    folder_skipped,
    item_from_bytes,
    item_from_path,
    read_file,
)
from talentproof.verifier.report import (
    CheckResult,
    CredentialReport,
    Outcome,
    Status,
    Verdict,
    outcome_of,
    verdict_of,
)
from talentproof.verifier.requirements import MinConfirmations

#: Credentials per chain batch (and per stage-by-stage pass of checks 1-4). Why 128, not 256: a
#: worker holds two chunks' documents at once (one being checked, one waiting for its chain
#: read); at 128 they stay in the cores' own caches far more: workers 131 against 140 us of CPU
#: a credential (4 alternating rounds of a 10,000-file folder, each round lower at 128; 64: 134
#: us, and Anvil 11-12 against 8 us for the more, smaller calls). bench/results.md, 2026-12-07.
CHUNK = 128
TASK = 4 * CHUNK  # files per worker task (its chunks are pipelined)
#: A folder's compact result of a lone credential that is VALID told with less work
#: (``Verifier.valid_alone``: checks 5-10 through the memos, nothing rendered) and sent from a
#: worker to the parent as its source alone (:func:`_work_lean`), the parent writing its result
#: (:func:`_expand`); False: every file's result made and sent whole, as before (the benchmark
#: compares both in one run; tests/verifier/test_folder_lean_results.py the outputs).
LEAN = True
#: Overlap each chunk's chain reads with the next chunk's offline checks (False: one after the
#: other, as before; the benchmark compares both in one run).
PIPELINE = True
#: Freeze the parent's objects (``gc.freeze``) while the worker processes are forked and run, so
#: that a worker's cyclic collector never walks, and so never copies, the memory pages it shares
#: with the parent (False: as before; the benchmark compares both in one run).
FREEZE = True
#: Checks 1, 3 and 4 of a plain anchored credential in one C call
#: (``credential/native_verify.c``'s ``offline``, through :func:`prepare_files`) when it answers;
#: False: every file through ``Verifier.prepare_items`` (its twin; the benchmark compares both).
NATIVE = True
#: With :data:`NATIVE`, a folder file's bytes are parsed and checks 1, 3 and 4 done in the same
#: one C call (``native_verify.from_bytes``, through :func:`file_item`) when it answers; False:
#: every file through ``inputs.item_from_path`` first (its twin; the benchmark compares both).
NATIVE_BYTES = True


def read_many(
    reader: ChainReader,
    queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]],
    as_of: int,
    block: int,
) -> list[Any]:
    """Verification-view reads of many credentials at one pinned block, as JSON-RPC batches."""
    if not queries:
        return []
    return reader.verify_credentials(queries, as_of, block)


def _read_chunk(
    verifier: Verifier, prepared: Sequence[Prepared], as_of_chain: int, block: int
) -> tuple[dict[int, Any], str | None]:
    """The chain reads of one chunk: verdicts by ``id(prepared)``, or the one-line read error."""
    need = [p for p in prepared if p.reads_chain]
    if not need:
        return {}, None
    try:
        verifier.node_chain_id()
        answers = read_many(verifier.reader, [p.query for p in need], as_of_chain, block)  # type: ignore[misc]
        last = None
        for v in answers:  # the chain each was read on (one pinned block: asked once)
            if v is not last:
                verifier.chain_id_of(v)
                verifier.same_block(v)  # the very block of the earlier chunks, not a fork's
                last = v
    except LedgerError as exc:
        text = str(exc).strip().splitlines()
        return {}, f"{type(exc).__name__}: {text[0] if text else ''}"
    return {id(p): v for p, v in zip(need, answers, strict=True)}, None


def _finish_chunk(
    verifier: Verifier,
    prepared: Sequence[Prepared],
    read: tuple[dict[int, Any], str | None],
    as_of: datetime,
    compact: bool = False,
) -> list[Any]:
    """Reports of a chunk, or with ``compact`` their summaries (the same checks, no report)."""
    verdicts, error = read
    if compact:
        out: list[Any] = []
        for p in prepared:
            verdict, problem = verifier.finish_summary(
                p,
                verdicts.get(id(p)),
                as_of=as_of,
                chain_error=error if p.reads_chain else None,
            )
            out.append(_summary(p.source, verdict, problem))
        return out
    return [
        verifier.finish(
            p, verdicts.get(id(p)), as_of=as_of, chain_error=error if p.reads_chain else None
        )
        for p in prepared
    ]


def verify_prepared(
    verifier: Verifier,
    prepared: Sequence[Prepared],
    *,
    as_of: datetime,
    as_of_chain: int,
    block: int,
) -> list[CredentialReport]:
    """Checks 5-10 for prepared credentials, with their chain reads batched."""
    return _finish_chunk(
        verifier, prepared, _read_chunk(verifier, prepared, as_of_chain, block), as_of
    )


def verify_items_bulk(
    verifier: Verifier,
    items: Iterable[Any],
    *,
    as_of: datetime | date | None = None,
    block: int | None = None,
    compact: bool = False,
) -> list[Any]:
    """Verify many single credentials (one per item) against one pinned block (in-process).

    Pipelined: while the node answers the batched reads of one chunk (on a helper thread, whose
    wait releases the GIL), the offline checks of the next chunk run here. Every credential still
    gets every check; the reports come back in item order. ``compact``: their :func:`summary`
    instead (source, verdict, first problem), without building the reports.
    """
    as_of_dt, as_of_chain = checks.as_of_instant(as_of, verifier.clock)
    if block is None:
        block = verifier.reader.block_number()
    reports: list[Any] = []
    if not PIPELINE:
        for chunk_items in _batched(items, CHUNK):
            chunk = verifier.prepare_many(
                [(item.source, item.document, item.error, False) for item in chunk_items]
            )
            read = _read_chunk(verifier, chunk, as_of_chain, block)
            reports.extend(_finish_chunk(verifier, chunk, read, as_of_dt, compact))
        return reports
    pending: tuple[list[Prepared], Future[tuple[dict[int, Any], str | None]]] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="tp-chain-read") as pool:
        for chunk_items in _batched(items, CHUNK):
            chunk = verifier.prepare_many(
                [(item.source, item.document, item.error, False) for item in chunk_items]
            )
            future = pool.submit(_read_chunk, verifier, chunk, as_of_chain, block)
            if pending is not None:
                reports.extend(
                    _finish_chunk(verifier, pending[0], pending[1].result(), as_of_dt, compact)
                )
            pending = (chunk, future)
        if pending is not None:
            reports.extend(
                _finish_chunk(verifier, pending[0], pending[1].result(), as_of_dt, compact)
            )
        pool.submit(verifier.reader.close).result()  # the helper thread's connection
    return reports


# `_light_outcome(...).to_json()` of a valid credential alone (no failed or errored check, no
# application check, no profession): the same for every one, its reason names no source
_valid_outcome: dict[str, Any] = {}


def _light_outcome(report: CredentialReport) -> Any:
    """The outcome of a one-credential application (what ``ApplicationReport.outcome`` gives
    for it: no application check, no profession), without building the application report."""
    return outcome_of(_OneCredential((report,)))


_VALID = Verdict.VALID.value


class _Lone(dict[str, Any]):
    """The compact result of a lone VALID credential told by ``Verifier.valid_alone`` (equal to
    the one :func:`_file_result` makes otherwise): a worker sends its source alone."""

    __slots__ = ()


def _expand(part: tuple[dict[str, Any] | None, list[Any]]) -> list[dict[str, Any]]:
    """A task's results as :func:`_work` gives them, from :func:`_work_lean`'s."""
    outcome, results = part
    if outcome is None:
        return results
    return [
        {"source": r, "verdict": _VALID, "problem": None, "outcome": dict(outcome)}
        if type(r) is str
        else r
        for r in results
    ]


@dataclass(frozen=True, slots=True)
class _OneCredential:
    credentials: tuple[CredentialReport, ...]
    checks: tuple[CheckResult, ...] = ()
    profession: Any = None


def _file_result(
    verifier: Verifier,
    source: str,
    prepared: Sequence[Prepared],
    read: tuple[dict[int, Any], str | None],
    as_of: datetime,
    as_of_chain: int,
    compact: bool,
) -> dict[str, Any]:
    """One file's result: its application report as JSON (``source`` added), or with
    ``compact`` its summary (source, verdict, first problem) and its outcome."""
    verdicts, error = read
    if compact and len(prepared) == 1:  # the common case, without the application report
        p = prepared[0]
        if (
            LEAN
            and _valid_outcome
            and error is None
            and verifier.valid_alone(p, verdicts.get(id(p)), as_of, int(as_of.timestamp()))
        ):
            return _Lone(source=source, verdict=_VALID, problem=None, outcome=dict(_valid_outcome))
        chain_error = error if p.reads_chain else None
        verdict, problem = verifier.finish_summary(
            p, verdicts.get(id(p)), as_of=as_of, chain_error=chain_error
        )
        out = _summary(source, verdict, problem)
        if verdict is Verdict.VALID and _valid_outcome:  # the same for every valid lone one
            out["outcome"] = dict(_valid_outcome)
            return out
        checks, _, _ = verifier.finish_checks(
            p, verdicts.get(id(p)), as_of=as_of, chain_error=chain_error
        )
        outcome = _light_outcome(CredentialReport(p.source, checks)).to_json()
        if verdict is Verdict.VALID:
            _valid_outcome.update(outcome)
        out["outcome"] = outcome
        return out
    reports = [
        verifier.finish(
            p, verdicts.get(id(p)), as_of=as_of, chain_error=error if p.reads_chain else None
        )
        for p in prepared
    ]
    chain = next((r.chain for r in reports if r.chain is not None), None)
    app = verifier.conclude(reports, chain, as_of_dt=as_of, as_of_chain=as_of_chain)
    if not compact:
        return {"source": source, **app.to_json()}
    out = summary(source, [c for r in reports for c in r.checks] + list(app.checks))
    out["verdict"] = app.verdict.value
    out["outcome"] = app.outcome.to_json()
    return out


def verify_files_bulk(
    verifier: Verifier,
    items: Iterable[Any],
    *,
    as_of: datetime | date | None = None,
    block: int | None = None,
    compact: bool = False,
) -> list[dict[str, Any]]:
    """Verify many inputs, each one application on its own (a folder's files), against one
    pinned block: one result per item, its verdict the one ``verify_application([item])``
    gives (a presentation's credentials with its holder proof and check 11 included). The
    chain reads of about :data:`CHUNK` credentials at a time are batched and pipelined as in
    :func:`verify_items_bulk`. Results: the application report as JSON with ``source``, or with
    ``compact`` the file's summary (``source``, ``verdict``, ``problem``) and ``outcome``."""
    as_of_dt, as_of_chain = checks.as_of_instant(as_of, verifier.clock)
    if block is None:
        block = verifier.reader.block_number()

    def capped(item: Any, ps: list[Prepared]) -> list[Prepared]:
        cap = verifier.limits.max_credentials
        if len(ps) > cap:  # what one application takes (`verify FILE` refuses it as a usage error)
            return [
                verifier.prepare(
                    item.source,
                    None,
                    str(InputTooLarge("presentation", len(ps), cap, "credentials")),
                )
            ]
        return ps

    def groups_of(chunk_items: list[Any]) -> list[tuple[str, list[Prepared]]]:
        # checks 1-4 of the chunk stage by stage (`prepare_files`: `Verifier.prepare_items`, the
        # same results as `prepare_item` of each, or the C path for what it recognises)
        return [
            (item.source, capped(item, ps))
            for item, ps in zip(chunk_items, prepare_files(verifier, chunk_items), strict=True)
        ]

    def read(groups: list[tuple[str, list[Prepared]]]) -> tuple[dict[int, Any], str | None]:
        return _read_chunk(verifier, [p for _, ps in groups for p in ps], as_of_chain, block)

    def finish(
        groups: list[tuple[str, list[Prepared]]], answers: tuple[dict[int, Any], str | None]
    ) -> list[dict[str, Any]]:
        return [
            _file_result(verifier, src, ps, answers, as_of_dt, as_of_chain, compact)
            for src, ps in groups
        ]

    results: list[dict[str, Any]] = []
    if not PIPELINE:
        for chunk_items in _batched(items, CHUNK):
            groups = groups_of(chunk_items)
            results.extend(finish(groups, read(groups)))
        return results
    pending: (
        tuple[list[tuple[str, list[Prepared]]], Future[tuple[dict[int, Any], str | None]]] | None
    ) = None
    with ThreadPoolExecutor(1, thread_name_prefix="tp-chain-read") as pool:
        for chunk_items in _batched(items, CHUNK):
            groups = groups_of(chunk_items)
            future = pool.submit(read, groups)
            if pending is not None:
                results.extend(finish(pending[0], pending[1].result()))
            pending = (groups, future)
        if pending is not None:
            results.extend(finish(pending[0], pending[1].result()))
        pool.submit(verifier.reader.close).result()  # the helper thread's connection
    return results


# --------------------------------------------------------------------------- checks 1-4 in C


def prepare_files(verifier: Verifier, items: Sequence[Any]) -> list[list[Prepared]]:
    """``verifier.prepare_items(items)`` (checks 1-4 of each input), with checks 1, 3 and 4 of
    a plain anchored credential in one C call when :data:`NATIVE` is on.

    Why: those three checks in Python make and drop a dozen objects per credential around their
    C calls (the anchor split, the proof's fields, the key, the hashes, the Merkle path: ~20 us
    a credential in a folder's workers); ``native_verify.offline`` does them on the parsed
    document and answers only when all three pass on exactly the form the issuer writes
    (credential/native_verify.c). Whatever it does not answer for (a presentation, a failing
    check, any other form, a ``created`` text the Python check would refuse) goes through
    ``prepare_items``, unchanged. The findings of an answered credential are the very ones
    ``prepare_items`` makes (the same builders: ``checks.parsed``, ``checks.schema``,
    ``checks.signature_valid``, ``checks.included``, ``engine.record_chain_skip``);
    tests/verifier/test_native_verify.py compares both on issued credentials and mutations.
    """
    offline = native_offline() if NATIVE else None
    if offline is None:
        return verifier.prepare_items(items)
    answered: list[tuple[int, str, tuple[Any, ...]]] = []
    rest: list[Any] = []
    where: list[int] = []
    for i, item in enumerate(items):
        if type(item) is CheckedFile:  # (read by file_item: checks 1, 3, 4 passed in C already)
            answered.append((i, item.source, item.found))
            continue
        doc = item.document
        found = None
        if doc is not None and item.error is None and not item.not_talentproof:
            found = offline(doc)
            if found is not None and not created_accepted(found[_CREATED]):
                found = None
        if found is None:
            rest.append(item)
            where.append(i)
        else:
            answered.append((i, item.source, found))
    out: list[list[Prepared]] = [[] for _ in items]
    for i, ps in zip(where, verifier.prepare_items(rest) if rest else [], strict=True):
        out[i] = ps
    for (i, _, _), p in zip(answered, _prepare_answered(verifier, answered), strict=True):
        out[i] = [p]
    return out


def _prepare_answered(
    verifier: Verifier, answered: Sequence[tuple[int, str, tuple[Any, ...]]]
) -> list[Prepared]:
    """The ``Prepared`` of credentials whose checks 1, 3 and 4 passed in C, stage by stage as
    ``Verifier.prepare_many`` makes them (check 2 is its own, in Python)."""
    out: list[Prepared] = []
    for _, source, (doc, chain_id, registry, root, leaf, size, path, *_) in answered:
        # (the values split_anchor would check: checked in C)
        anchor = checked_anchor(chain_id, registry, root, leaf, size, path)
        found = checks.parsed(doc, True)
        out.append(
            Prepared(
                source=source,
                findings=[found],
                credential=doc,
                anchor=anchor,
                kind=found.evidence["kind"],
            )
        )
    schema, clock = checks.schema, verifier.clock
    for p in out:
        found, kind = schema(p.credential, clock().astimezone(UTC).date())  # type: ignore[arg-type]
        if kind is not None:
            p.kind = kind
        p.findings.append(found)
    signature_valid = checks.signature_valid
    for p, (_, _, (*_, key, vm, _created, chash)) in zip(out, answered, strict=True):
        found, signed = signature_valid(key, vm, chash)
        p.signing_key, p.key_id = signed.signing_key, signed.key_id
        p.findings.append(found)
    included = checks.included
    for p, (_, _, (*_, chash)) in zip(out, answered, strict=True):
        p.findings.append(included(p.anchor, chash))
        p.credential_hash = chash
        record_chain_skip(p, p.credential, None)  # type: ignore[arg-type]
    return out


#: ``native_verify.offline``'s answer: (document, chainId, registry, merkleRoot, leafIndex,
#: treeSize, path, key, verificationMethod, created, credential hash) (native_verify.pyi)
_CREATED = 9
_offline_fn: Any = None
_KEYS: dict[str, bytes] = {}  # verification method -> its key's 32 bytes (a pure function)


def native_offline() -> Any:
    """``native_verify.offline``, set up once (None without the C extension or libsodium)."""
    global _offline_fn
    if _offline_fn is None:
        address = sodium_address("crypto_sign_open")
        if address is None:  # pragma: no cover - another PyNaCl
            _offline_fn = False
        else:
            try:
                from talentproof.credential import native, native_verify  # noqa: PLC0415

                native_verify.setup(address, native.jcs_digests, native.merkle_root, raw_key_of)
                _offline_fn = native_verify.offline
            except (ImportError, AttributeError):  # pragma: no cover - a tree without the C
                _offline_fn = False
    return _offline_fn or None


def raw_key_of(vm: str) -> bytes | None:
    """The key a verification method names, as ``integrity._checked_proof`` resolves it with no
    DID documents (``DID_KEY_CACHE``, else ``resolve_verification_method``), or None when it
    does not resolve (the C path then declines: the Python check words the error)."""
    raw = _KEYS.get(vm)
    if raw is None:
        try:
            key = DID_KEY_CACHE.get(vm)
            if key is None:
                key = resolve_verification_method(vm)
            raw = bytes(key.raw)
        except Exception:  # (any refusal: the Python path decides)
            return None
        if len(raw) != 32:
            return None
        if len(_KEYS) < 1024:
            _KEYS[vm] = raw
    return raw


@functools.lru_cache(maxsize=4096)
def created_accepted(text: str) -> bool:
    """Whether ``integrity._checked_proof`` accepts the proof's ``created`` text (it raises
    MalformedProof when ``parse_datetime`` does); a pure function of the text."""
    try:
        parse_datetime(text)
    except Exception:  # (any refusal: the Python path decides)
        return False
    return True


class CheckedFile:
    """A folder file whose bytes ``native_verify.from_bytes`` parsed and whose checks 1, 3 and 4
    it passed: its name and that call's answer (``offline``'s), which :func:`prepare_files`
    takes as its own call of ``offline`` on the parsed document."""

    __slots__ = ("found", "source")

    def __init__(self, source: str, found: tuple[Any, ...]) -> None:
        self.source, self.found = source, found


_from_bytes_fn: Any = None


def native_from_bytes() -> Any:
    """``native_verify.from_bytes``, once ``offline`` is set up (None without the C)."""
    global _from_bytes_fn
    if _from_bytes_fn is None:
        _from_bytes_fn = False
        if native_offline() is not None:
            from talentproof.credential import native_verify  # noqa: PLC0415

            _from_bytes_fn = getattr(native_verify, "from_bytes", None) or False
    return _from_bytes_fn or None


def file_item(path: str, limits: Any) -> Any:
    """``inputs.item_from_path(path, limits)``, or with :data:`NATIVE` and :data:`NATIVE_BYTES`
    on, for a file whose bytes ``native_verify.from_bytes`` answers for (a plain credential of
    exactly the issuer's text form whose checks 1, 3 and 4 pass), a :class:`CheckedFile`
    holding that answer: the file is read once, parsed and checked in one C call, with no
    ``Item`` nor a second walk of its document. Why: the JSON parse, its guard and the input detection
    (orjson, ``native.json_guard``, ``not_a_document``) cost ~24 us a file in a folder's
    workers, beside ``offline``'s glue (bench/results.md, issue 17.3, verifying side, "the
    per-file path from the file's bytes in C"). Whatever it declines takes
    ``inputs.item_from_bytes`` on the same bytes, as ``item_from_path`` does; a file that cannot
    be read, is too large or has a picture's suffix goes to ``item_from_path`` itself.
    tests/verifier/test_native_file_bytes.py compares both ways on generated and hostile files.
    """
    fn = native_from_bytes() if NATIVE and NATIVE_BYTES else None
    path = os.fspath(path)
    name = os.path.basename(path)
    if fn is None or name.lower().endswith(PICTURE_SUFFIXES):
        return item_from_path(path, limits)
    try:
        _, data = read_file(path, max(limits.max_image_bytes, limits.max_document_bytes))
    except OSError:
        return item_from_path(path, limits)  # (raises InputError as it does)
    if data is None or len(data) > limits.max_document_bytes:
        return item_from_path(path, limits)
    found = fn(data)
    if found is None or not created_accepted(found[_CREATED]):
        return item_from_bytes(data, name, limits)
    return CheckedFile(name, found)


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- worker processes


@dataclass(frozen=True)
class _Job:
    rpc: str
    trust: str
    as_of: datetime | date | None
    block: int
    min_confirmations: int
    full: bool
    max_head_age: float = 0.0
    block_hash: str = ""  # the pinned block's (0x-hex): every read at ``block`` must be at it


_job: _Job | None = None
_verifier: Verifier | None = None


def _init(job: _Job) -> None:
    global _job, _verifier
    _job = job
    _verifier = Verifier.from_deployment(
        job.trust, job.rpc, MinConfirmations(job.min_confirmations), max_head_age=job.max_head_age
    )
    if job.block_hash:  # the parent's block, not the fork the worker's first read is on
        _verifier.pin_block(job.block, job.block_hash)


def _init_worker(job: _Job) -> None:
    """A forked worker's initializer: the collector on again (forked while the parent had it
    paused; each task pauses it for itself), then :func:`_init`."""
    gc.enable()
    _init(job)


def summary(source: str, checks: Sequence[CheckResult]) -> dict[str, Any]:
    """What the folder mode shows of a credential without ``--json``: its source, its verdict
    (``verdict_of`` its checks, as ``CredentialReport.verdict``) and its first failed (or
    errored) check as ``"<number>. <message>"``."""
    verdict = verdict_of(checks)
    problem = None
    if verdict is not Verdict.VALID:  # VALID: no check failed or errored (``verdict_of``)
        problem = next(
            (c for c in checks if c.status is Status.FAIL or c.status is Status.ERROR), None
        )
    return _summary(source, verdict, problem)


def _summary(source: str, verdict: Verdict, problem: CheckResult | None) -> dict[str, Any]:
    return {
        "source": source,
        "verdict": verdict.value,
        "problem": f"{problem.number}. {problem.message}" if problem else None,
    }


def _work(paths: list[str]) -> list[dict[str, Any]]:
    assert _job is not None and _verifier is not None
    limits = _verifier.limits
    # The task's documents and reports stay alive until it ends and hold no reference cycles:
    # the cyclic collector would only rescan them, again and again. Paused for the task.
    paused = gc.isenabled()
    gc.disable()
    try:
        items = (file_item(p, limits) for p in paths)
        # one verdict per file, as `talentproof verify FILE` gives it; summaries straight from
        # the checks unless the full reports are asked
        return verify_files_bulk(
            _verifier, items, as_of=_job.as_of, block=_job.block, compact=not _job.full
        )
    finally:
        if paused:
            gc.enable()


def _work_lean(paths: list[str]) -> tuple[dict[str, Any] | None, list[Any]]:
    """:func:`_work`, a lone VALID credential's result as its source alone: (the outcome of
    such a result, the results); :func:`_expand` makes :func:`_work`'s of it in the parent.
    Why: a dict per file pickled, sent and unpickled in the parent's handler thread."""
    results = _work(paths)
    if not _valid_outcome:
        return None, results
    return dict(_valid_outcome), [r["source"] if type(r) is _Lone else r for r in results]


def _prefork_warmup(verifier: Verifier) -> None:
    """Import and compile, once in the parent, what every forked worker would otherwise do for
    itself: the schema validators of the shipped credential kinds."""
    for kind in KINDS:
        fastschema.compiled_validator(kind)


def _chunks(paths: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(paths), size):
        yield paths[i : i + size]


def run_folder(
    folder: Path,
    *,
    rpc: str,
    trust: str,
    as_of: datetime | date | None = None,
    min_confirmations: int = 1,
    workers: int = 2,
    full: bool = False,
    progress: Any = None,
    paths: list[str] | None = None,
    max_head_age: float = 0.0,
) -> tuple[list[dict[str, Any]], int, float]:
    """Verify every file of ``folder``; returns (results in file order, block number, seconds).

    ``paths``: the folder's files when the caller has listed them already (``folder_paths``).
    """
    if paths is None:
        paths = folder_paths(folder)
    head = Verifier.from_deployment(
        trust, rpc, MinConfirmations(min_confirmations), max_head_age=max_head_age
    )
    start = time.perf_counter()
    # raises ChainUnavailable when the chain is down or (max_head_age) every head is too old
    block, block_hash = head.fresh_head()
    head.node_chain_id()
    # the as-of resolved once, for every file: today's date means now (`checks.today_means_now`)
    # here, not again by each task, which past midnight UTC would judge its files as of today's
    # 00:00 and read the day's revocations clear (test_attack_folder_as_of_today_at_midnight)
    as_of = checks.today_means_now(as_of, head.clock())
    # the workers read at `block` on the endpoint that served it first (a stale one is down)
    endpoints = getattr(head.reader, "endpoints", None)
    if endpoints is not None:
        rpc = ",".join(sorted(endpoints.urls, key=lambda u: u != endpoints.current))
    job = _Job(rpc, trust, as_of, block, min_confirmations, full, max_head_age, block_hash)
    results: list[dict[str, Any]] = []
    if workers <= 1 or len(paths) <= CHUNK:
        _init(job)
        for chunk in _chunks(paths, TASK):
            results.extend(_work(chunk))
            if progress:
                progress(len(results), len(paths))
    else:
        _prefork_warmup(head)
        ctx = mp.get_context("fork")
        # The results (two dicts per file, no reference cycles) only grow until the folder is
        # done: the cyclic collector would rescan them again and again (~4 us per file in the
        # parent). Paused while they arrive, as in the workers' tasks.
        paused = gc.isenabled()
        gc.disable()
        frozen = FREEZE
        if frozen:
            # Why: a worker's collector, walking the objects inherited from the parent, writes
            # their headers and so copies every page they are on (~0.7 page faults and ~20 us
            # per credential with a parent holding a folder's documents; bench/verifier_perf.py,
            # "gc.freeze" row). Frozen objects are not collected until unfrozen: nothing else.
            gc.freeze()
        try:
            with ctx.Pool(workers, initializer=_init_worker, initargs=(job,)) as pool:
                size = max(CHUNK, min(TASK, -(-len(paths) // (2 * workers)))) if PIPELINE else CHUNK
                parts = (
                    map(_expand, pool.imap(_work_lean, _chunks(paths, size)))
                    if LEAN
                    else pool.imap(_work, _chunks(paths, size))
                )
                for part in parts:
                    results.extend(part)
                    if progress:
                        progress(len(results), len(paths))
        finally:
            if frozen:
                gc.unfreeze()
            if paused:
                gc.enable()
    return results, block, time.perf_counter() - start


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self, stream: Any = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def verify_folder(
    folder: Path,
    *,
    rpc: str,
    trust: str,
    as_of: datetime | date | None,
    as_json: bool,
    min_confirmations: int = 1,
    workers: int = 2,
    max_head_age: float = 0.0,
) -> int:
    """The CLI's folder mode: verify, print per-file lines (or JSON) and a summary; exit code."""
    paths = folder_paths(folder)
    if not paths:
        print(
            f"error: {folder} holds no .json, .png, .jpg, .jpeg, .txt or .qr file", file=sys.stderr
        )
        return 2
    try:
        results, block, seconds = run_folder(
            folder,
            rpc=rpc,
            trust=trust,
            as_of=as_of,
            min_confirmations=min_confirmations,
            workers=max(1, min(workers, os.cpu_count() or 1)),
            full=as_json,
            progress=None if as_json else _Bar(),
            paths=paths,
            max_head_age=max_head_age,
        )
    except ChainUnavailable as exc:
        print(f"error: the chain could not be read: {exc}", file=sys.stderr)
        return 3
    outcomes = {o.value: 0 for o in (Outcome.VALID, Outcome.INVALID, Outcome.NOT_VERIFIABLE)}
    for r in results:
        outcomes[r["outcome"]["code"]] += 1
    # the file counts by verdict (valid, invalid, error = not verifiable), as before
    counts = {
        "valid": outcomes["VALID"],
        "invalid": outcomes["INVALID"],
        "error": outcomes["NOT_VERIFIABLE"],
    }
    skipped = folder_skipped(folder)
    summary = {
        "total": len(results),
        **counts,
        "outcomes": outcomes,
        "blockNumber": block,
        "seconds": round(seconds, 3),
        "perSecond": round(len(results) / seconds, 1) if seconds > 0 else None,
        "skipped": skipped,
    }
    if as_json:
        print(json.dumps({"summary": summary, "results": results}, indent=2, ensure_ascii=False))
    else:
        marks = {"VALID": "✓", "INVALID": "✗", "NOT_VERIFIABLE": "!"}
        lines = []
        for r in results:
            code = r["outcome"]["code"]
            line = f"{marks[code]} {r['source']}"
            if r.get("problem"):
                line += f": {r['problem']}"
            lines.append(printable(f"{line} [{code}]"))
        # one write, not a print a file: the same text (a terminal writes each print at once;
        # 6.4 -> 4.6 us a file line-buffered, 5.1 -> 4.6 block-buffered)
        sys.stdout.write("".join(x + "\n" for x in lines))
        total = summary["total"]
        print(
            f"\n{total} file{'' if total == 1 else 's'} at block {block}: {counts['valid']} "
            f"valid, {counts['invalid']} invalid, {counts['error']} not verifiable "
            f"({summary['perSecond']}/s)"
        )
        if skipped:
            shown = ", ".join(skipped[:5]) + (
                f", and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            )
            print(
                printable(
                    f"not read: {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} "
                    f"({shown}): only this folder's own {', '.join(SUFFIXES)} files are "
                    "verified, not subfolders"
                )
            )
    return folder_exit_code(outcomes)


def folder_exit_code(outcomes: dict[str, int]) -> int:
    """A folder's exit code from its files' verdicts: 1 if any is INVALID (a forgery stays a
    forgery beside an unreadable file, as within one application), else 3 if any is
    NOT_VERIFIABLE, else 0."""
    if outcomes.get("INVALID"):
        return 1
    if outcomes.get("NOT_VERIFIABLE"):
        return 3
    return 0


__all__ = [
    "CheckedFile",
    "file_item",
    "folder_exit_code",
    "prepare_files",
    "read_many",
    "run_folder",
    "summary",
    "verify_files_bulk",
    "verify_folder",
    "verify_items_bulk",
    "verify_prepared",
]
