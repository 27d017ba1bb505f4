"""The signing processes of bulk jobs: parse raw records, issue them with a `BulkTemplate`.

Kept apart from `bulk` (which needs the database and the service) so that a signing process
imports only the credential code; the bulk runner preloads this module in its forkserver.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from typing import Any

import orjson

from . import _bulkcred, _cred

__all__ = ["init_worker", "row_to_request", "sign_block", "split_block"]

_CRED_FIELDS = ("validFrom", "validUntil", "name", "description")


_INDEXED = re.compile(r"(.+)\[([0-9]{1,3})\]")


def _set_path(
    target: dict[str, Any],
    dotted: str,
    value: Any,
    arrays: dict[tuple[int, str], tuple[dict[str, Any], dict[int, Any]]],
) -> None:
    """Set ``a.b.c`` (objects) or ``a.b.items[2]`` (the third item of an array) in ``target``.

    Indexed cells are collected in ``arrays`` and become lists in index order (`_close_arrays`);
    only the last part of a path may carry an index.
    """
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict) or _INDEXED.fullmatch(part):
            raise ValueError(f"column {dotted!r} conflicts with column {part!r}")
        target = nxt
    last = parts[-1]
    indexed = _INDEXED.fullmatch(last)
    if indexed is None:
        if (id(target), last) in arrays:
            raise ValueError(f"column {dotted!r} conflicts with an indexed column {last}[...]")
        target[last] = value
        return
    name, index = indexed.group(1), int(indexed.group(2))
    if name in target and (id(target), name) not in arrays:
        raise ValueError(f"column {dotted!r} conflicts with column {name!r}")
    target[name] = None  # placeholder, replaced by the list
    arrays.setdefault((id(target), name), (target, {}))[1][index] = value


def _close_arrays(arrays: dict[tuple[int, str], tuple[dict[str, Any], dict[int, Any]]]) -> None:
    for (_parent_id, name), (parent, items) in arrays.items():
        parent[name] = [items[i] for i in sorted(items)]


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
    arrays: dict[tuple[int, str], tuple[dict[str, Any], dict[int, Any]]] = {}
    for name, value in zip(header, values, strict=True):
        if value == "":
            continue
        if name in _CRED_FIELDS:
            request[name] = value
        else:
            _set_path(request["credentialSubject"], name, value, arrays)
    _close_arrays(arrays)
    return request


_WORKER: dict[str, Any] = {}


def init_worker(seed: bytes, did: str, identity: _cred.IssuerIdentity, kind: str) -> None:
    """Process initializer: the job's signing key, issuer identity and credential kind."""
    _WORKER.update(signer=_cred.Signer(seed, did), identity=identity, kind=kind)


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
    each, their 32-byte hashes concatenated) and the errors as (row, field, message): a few
    large values cross the process boundary instead of thousands of small ones.
    """
    parsed: list[tuple[int, Any, int]] = []
    append = parsed.append
    for k, record in enumerate(records):
        try:
            append((first_row + k, row_to_request(fmt, record, header), indexes[k]))
        except (ValueError, UnicodeDecodeError, csv.Error) as exc:
            append((first_row + k, ValueError(str(exc)), indexes[k]))
    rows: list[int] = []
    ids: list[str] = []
    raws: list[bytes] = []
    hashes: list[bytes] = []
    errors: list[tuple[int, str, str]] = []
    for row, cid, raw, digest, field, message in _template(now).issue_rows(parsed):
        if cid is None:
            errors.append((row, field, message))
        else:
            rows.append(row)
            ids.append(cid)
            raws.append(raw)
            hashes.append(digest)
    return rows, ids, b"".join(raws), list(map(len, raws)), b"".join(hashes), errors


def split_block(blob: bytes, lengths: list[int]) -> list[bytes]:
    """The values `sign_block` concatenated, cut apart again."""
    out = []
    start = 0
    append = out.append
    for n in lengths:
        end = start + n
        append(blob[start:end])
        start = end
    return out
