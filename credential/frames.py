"""Documents cut along a frame: the bytes many documents share stored once, each document's own
bytes apart, and the document joined again byte for byte.

A frame is a tuple of two or more non-empty byte strings without a NUL byte (its *parts*); a
document *fits* it when it is the parts in order with something (or nothing) between each two:
it starts with the first part, each next part is found at its leftmost place after the one
before, and it ends with the last part after them. `split` answers the bytes between the parts
(its *holes*) joined by NUL bytes, or None when the document does not fit or a hole holds a
NUL byte; `join` puts the parts back around them. ``join(parts, split(parts, d)) == d`` for every
document ``d`` that `split` answers for, whatever the parts (the document is the parts and the
holes in order, and NUL separates the holes unambiguously): a frame that does not describe the
documents costs only their compaction, never a byte of a document. JSON text holds no raw NUL
byte (RFC 8259 escapes it), so no credential is refused for one.

Why: the bulk runner's documents of one chunk are one template's splice (`BulkTemplate`): ~1 KB
of their ~1.7 KB is the same in each (the contexts, the status entries around their index, the
issuer, the proof's options, the type and validFrom). `issuer.db.DocumentFrame` keeps the frame
once a chunk and each row its holes (~0.6 KB): SQLite writes, checkpoints and syncs about half
the bytes (bench/results.md, "the signed document stored once a chunk, its rows their own
bytes").

`split_block` cuts a block of documents in C (credential/native_frame.c) when built; its
Python twin `split_block_reference` (each document through `split`) answers whatever the C
declines, and raises its errors. tests/credential/test_frames.py compares the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

native_split_block: Callable[[Any, Any, Any], list[bytes | None] | None] | None
try:  # the C twin of `split_block_reference` (credential/native_frame.c, built by the install)
    from .native_frame import split_block as native_split_block
except ImportError:  # pragma: no cover - a tree whose C extension was not built
    native_split_block = None

__all__ = [
    "check_parts",
    "join",
    "pack",
    "split",
    "split_block",
    "split_block_reference",
    "unpack",
]

SEPARATOR = b"\x00"


def check_parts(parts: Sequence[bytes]) -> tuple[bytes, ...]:
    """``parts`` as a frame (a tuple), or ValueError: at least two parts, each non-empty bytes
    without a NUL byte."""
    frame = tuple(parts)
    if len(frame) < 2 or any(type(p) is not bytes or not p or SEPARATOR in p for p in frame):
        raise ValueError("a frame is two or more non-empty byte strings without a NUL byte")
    return frame


def split(parts: tuple[bytes, ...], document: bytes) -> bytes | None:
    """The holes of ``document`` between the frame's ``parts``, joined by NUL bytes; None when
    it does not fit them (see the module) or a hole holds a NUL byte."""
    first, last = parts[0], parts[-1]
    if not document.startswith(first):
        return None
    pos = len(first)
    holes: list[bytes] = []
    find = document.find
    for part in parts[1:-1]:
        at = find(part, pos)
        if at < 0:
            return None
        holes.append(document[pos:at])
        pos = at + len(part)
    end = len(document) - len(last)
    if end < pos or not document.endswith(last):
        return None
    holes.append(document[pos:end])
    if any(SEPARATOR in hole for hole in holes):
        return None
    return SEPARATOR.join(holes)


def join(parts: tuple[bytes, ...], holes: bytes) -> bytes:
    """The document whose holes `split` answered: ``parts`` and ``holes`` interleaved.
    ValueError when ``holes`` are not one fewer than the parts."""
    cut = bytes(holes).split(SEPARATOR)
    if len(cut) != len(parts) - 1:
        raise ValueError(f"expected {len(parts) - 1} holes, found {len(cut)}")
    out = [parts[0]]
    for hole, part in zip(cut, parts[1:], strict=True):
        out += (hole, part)
    return b"".join(out)


def pack(parts: Sequence[bytes]) -> bytes:
    """A frame as one value (its parts joined by NUL bytes), as `issuer.db.DocumentFrame`
    stores it."""
    return SEPARATOR.join(check_parts(parts))


def unpack(packed: bytes) -> tuple[bytes, ...]:
    """The frame `pack` stored."""
    return check_parts(bytes(packed).split(SEPARATOR))


def split_block(parts: tuple[bytes, ...], blob: Any, lengths: list[int]) -> list[bytes | None]:
    """`split` of each document of ``blob`` (the documents joined; ``lengths``: each one's
    length, in order), in C when built (``native_frame.split_block``), else, and whenever the
    C declines, by `split_block_reference`."""
    if native_split_block is not None:
        done: list[bytes | None] | None = native_split_block(parts, blob, lengths)
        if done is not None:
            return done
    return split_block_reference(parts, blob, lengths)


def split_block_reference(
    parts: tuple[bytes, ...], blob: Any, lengths: list[int]
) -> list[bytes | None]:
    """`split_block` in Python: the frame checked (`check_parts`), then each document cut
    from ``blob`` and `split`. ValueError for lengths that are not non-negative ints within the
    blob."""
    frame = check_parts(parts)
    data = bytes(blob)
    out: list[bytes | None] = []
    start = 0
    for n in lengths:
        if type(n) is not int or n < 0 or start + n > len(data):
            raise ValueError("lengths must be non-negative ints within the blob")
        out.append(split(frame, data[start : start + n]))
        start += n
    return out
