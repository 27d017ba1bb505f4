"""JSON text read one way: an object giving a key twice is refused, naming the key.

RFC 8259 leaves a duplicate member's meaning to the reader: Python's ``json`` and orjson keep
the last value, other parsers the first, so one text is two documents. Every reader of a
credential, presentation or receipt the holder or the verifier is handed refuses it instead:
the verifier's inputs (`verifier.engine.parse_json`: files, payload texts, request bodies, the
OpenID4VP token), a QR payload's content (`credential.qr.payload`), the holder's ``present``
and ``receipt check``. `no_duplicate_keys` is the one rule (an ``object_pairs_hook``);
`loads` reads a text with it (the reference parse).

The fast read is here too, its one owner: `loads_fast` answers orjson's parse when `vouches`
proves it equal to `loads`'s (the C guard ``credential.native.json_guard``, or its Python twin
`vouches_python` on a build without the C extension), else `SLOW_PATH` (the caller then runs
`loads`, which also words any error). `verifier.engine.parse_json` and the QR payload's content
(`credential.qr.payload`) read through it; tests/verifier/test_json_guard.py compares it with
`loads` on generated and hostile texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from .errors import CredentialError

native_json_guard: Callable[[bytes, Any], bool] | None
try:  # (the C twin of vouches_python, built by the install; bench/verifier_perf.py sets it None)
    from .native import json_guard as native_json_guard
except ImportError:  # pragma: no cover - a tree whose C extension was not built
    native_json_guard = None

__all__ = [
    "SLOW_PATH",
    "DuplicateKeyError",
    "loads",
    "loads_fast",
    "no_duplicate_keys",
    "vouches",
    "vouches_python",
]

#: What `loads_fast` answers when it cannot prove orjson's parse equals `loads`'s.
SLOW_PATH: Any = object()

# bytes -> b"9" for ASCII digits, b" " otherwise: a run of 19 digits anywhere may be an integer
# orjson would turn into a float (beyond 64 bits), where json keeps it exact.
_DIGITS = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"9" * 19
#: A JSON string (of a text orjson parsed: its strings end at the first unescaped quote).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class DuplicateKeyError(CredentialError, ValueError):
    """A JSON object gives ``key`` twice (its message starts ``duplicate key``); a
    ``ValueError`` too, as the other answers of a text that cannot be read."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s ``object_pairs_hook`` refusing a key given twice (`DuplicateKeyError`)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKeyError(k)
            seen.add(k)
    return out


def loads(text: str | bytes) -> Any:
    """``json.loads`` refusing a key given twice: raises `DuplicateKeyError` naming it, or
    ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``) for text that is not JSON,
    ``RecursionError`` for one nested too deeply."""
    return json.loads(text, object_pairs_hook=no_duplicate_keys)


def loads_fast(raw: bytes) -> Any:
    """`loads`'s fast strategy: orjson's parse of ``raw`` when `vouches` proves it equal to
    `loads`'s (same values, same types), else `SLOW_PATH`: the caller then runs `loads`, which
    also words any error (this never raises for a text orjson or the guard declines).

    The C guard makes the proof in one pass over the text and one walk of the parsed value:
    ~1.5 us against ~5 us of `vouches_python` for a 3 kB credential (bench/verifier_perf.py).
    """
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:  # (NaN, lone surrogates, a BOM, UTF-16, not JSON, ...)
        return SLOW_PATH
    return doc if vouches(raw, doc) else SLOW_PATH


def vouches(raw: bytes, doc: Any) -> bool:
    """Whether ``doc`` = ``orjson.loads(raw)`` is provably what `loads` reads from ``raw``:
    ``credential.native.json_guard`` when built (it also declines nesting beyond 200 levels),
    else `vouches_python`. False means "not proven", never "different"."""
    guard = native_json_guard
    if guard is None:
        return vouches_python(raw, doc)
    return guard(raw, doc)


def vouches_python(raw: bytes, doc: Any) -> bool:
    """`vouches` in Python (the C guard's twin).

    Duplicate keys: in valid JSON every ':' outside strings separates one object member, and a
    ':' inside a string is literal unless escaped as ``\\u003a``; orjson writes each member's ':'
    once and never escapes ':'. So the text and its re-serialised tree hold the same number of
    ':' exactly when no member was dropped as a duplicate. Escaped colons and possible integers
    beyond 64 bits (a run of 19 digits outside strings) are not vouched for.
    """
    # Why the backslash test first: one memchr pass instead of two substring searches (~2 us
    # of a 2.5 kB credential); a text without any backslash holds no escaped colon.
    if b"\\" in raw and (b"\\u003a" in raw or b"\\u003A" in raw):
        return False
    # (a run outside strings; the strings are blanked only when a run is there at all)
    if _LONG_RUN in raw.translate(_DIGITS) and (
        _LONG_RUN in _STRING.sub(b'""', raw).translate(_DIGITS)
    ):
        return False
    try:
        return orjson.dumps(doc).count(b":") == raw.count(b":")
    except orjson.JSONEncodeError:  # e.g. nested beyond orjson's limits
        return False
