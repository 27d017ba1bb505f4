"""RFC 8785 JSON Canonicalization Scheme (JCS).

`canonicalize(obj) -> bytes` returns the canonical UTF-8 form of a JSON value (dict, list,
str, int, float, bool, None; tuples count as arrays):

* object members sorted by the UTF-16 code units of their names, no whitespace;
* strings escaped minimally (``\\b \\t \\n \\f \\r \\" \\\\`` and ``\\u00xx`` for other controls);
* numbers as ECMAScript ``Number.prototype.toString``; integers outside the IEEE-754 safe range
  ``±(2**53 - 1)``, NaN and infinities are refused with `CanonicalizationError`.

The reference path is the `rfc8785` library (`canonicalize_reference`). The fast path stays
hand-written because the bench shows it matters: orjson with sorted keys is ~14x faster than
``rfc8785.dumps`` on a signed credential (bench/credential.py, "JCS" rows), and it is what
signing and hashing run. It produces the same bytes as JCS except in three cases, and each of
them is detected on the output, after which the reference path is used:

1. floats (orjson writes ``100.0``, ``1e+16``; JCS ``100``, ``10000000000000000``) and NaN /
   infinity (orjson writes ``null``): outside its strings, orjson's compact output holds only
   ``{}[],:``, integer digits and ``-``, the literals ``true``/``false``/``null`` and float
   tokens, and every float token holds a ``.`` or a digit followed by ``e``. The string contents
   are cut out exactly (after removing the escapes ``\\\\`` and ``\\"``, every ``"`` delimits a
   string, so the even pieces of a split on ``"`` are the text outside strings); an ``n``, a
   ``.`` or a digit followed by ``e``/``E`` in what is left means a null or a float. Text
   inside strings never takes the slow path (a ``urn:uuid:1e…`` or ``v1.json`` is fine).
   A cheaper pre-check comes first: a number or null token outside strings always follows
   ``":`` or ``[`` / ``,``, so output where no ``":``, ``[`` or ``,`` is followed by a digit,
   ``-`` or ``n`` holds none (typical credentials: every value a string) and is exact as is
   (three regular expressions, each starting with a literal that the regex engine scans for);
2. key order: UTF-8 byte order (orjson) equals UTF-16 order (JCS) unless a string holds a
   character >= U+E000, whose UTF-8 lead byte is >= 0xEE: any such byte takes the slow path;
3. types orjson knows and JSON does not (datetime, dataclass, subclasses) are passed through to
   an error, which takes the slow path (which refuses the non-JSON types and writes a str, int
   or float subclass as its JSON value).

Property tests compare both paths with the `rfc8785` reference implementation.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import rfc8785

from .errors import CanonicalizationError

__all__ = ["MAX_SAFE_INTEGER", "canonicalize", "canonicalize_reference", "utf16_key"]

MAX_SAFE_INTEGER = 2**53 - 1
# Nesting limit of arrays and objects: orjson stops at 255 levels; `canonicalize` then refuses
# deeper values with a clear error (the reference path refuses what exhausts the stack).
MAX_DEPTH = 255

ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# Code points >= U+E000 have UTF-8 lead bytes 0xEE-0xF4: key order may differ from UTF-16 order.
_HIGH_BYTE = re.compile(rb"[\xee-\xff]")
# The pre-check: a number or null token outside strings starts with a digit, '-' or 'n' and
# always follows '":' (an object member) or '[' / ',' (an array element); when none of these
# three patterns occurs, the output holds no number or null token at all. (Each pattern starts
# with a literal, which the regex engine scans for in C: three such scans cost less than one
# translation of the output and two substring searches in it.)
MEMBER_VALUE = re.compile(rb'":[-0-9n]').search
FIRST_ELEMENT = re.compile(rb"\[[-0-9n]").search
NEXT_ELEMENT = re.compile(rb",[-0-9n]").search
# bytes.translate table for the text outside strings: digits -> '0', 'e'/'E' -> 'e', the rest
# unchanged, so an exponent reads "0e".
_STRUCTURE_MAP = bytes(
    ord("0") if c in b"0123456789" else ord("e") if c in b"eE" else c for c in range(256)
)
_orjson_dumps = orjson.dumps
_rfc8785_dumps = rfc8785.dumps


def fast_path_exact(out: bytes) -> bool:
    """True when orjson's output ``out`` is provably the JCS form (see the module docstring).

    False for a null or float token outside strings, or any byte >= 0xEE; the contents of
    strings are cut out exactly, so no string value ever sends a document to the slow path.
    """
    if not out.isascii() and _HIGH_BYTE.search(out) is not None:
        return False
    if (
        MEMBER_VALUE(out) is None and NEXT_ELEMENT(out) is None and FIRST_ELEMENT(out) is None
    ):  # most credentials: strings only
        return True
    if b"\\" in out:
        # Inside a string a backslash always starts a two-character escape, and the only
        # escape whose second character is a backslash is \\ itself: removing backslash pairs
        # left to right (as a JSON parser reads them), then the escaped quotes \", leaves
        # exactly the quotes that delimit strings.
        out = out.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(out.split(b'"')[::2])
    return not (b"n" in outside or b"." in outside or b"0e" in outside.translate(_STRUCTURE_MAP))


def canonicalize(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        out = _orjson_dumps(obj, option=ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        if "Recursion limit" in str(exc) and _deeper_than(obj, MAX_DEPTH):
            raise CanonicalizationError(
                f"expected JSON nested at most {MAX_DEPTH} levels deep"
            ) from None
        return canonicalize_reference(obj)
    first = out[:1]
    if (first == b"{" or first == b"[") and fast_path_exact(out):
        return out
    return canonicalize_reference(obj)


def canonicalize_reference(obj: Any) -> bytes:
    """The reference serializer, the `rfc8785` library (no fast path); same result as
    `canonicalize`, its errors translated to `CanonicalizationError`."""
    try:
        return _rfc8785_dumps(obj)
    except rfc8785.IntegerDomainError as exc:
        raise CanonicalizationError(
            f"integer {str(exc).split()[0]} is outside the I-JSON safe range ±(2**53 - 1); "
            "encode it as a string"
        ) from exc
    except rfc8785.FloatDomainError as exc:
        raise CanonicalizationError(
            f"expected a finite number, found {str(exc).split()[0]} (NaN and infinities are not "
            "JSON)"
        ) from exc
    except rfc8785.CanonicalizationError as exc:
        text = str(exc)
        if "keys must be strings" in text:
            message = "expected string object keys"
        elif "non-UTF-8" in text:
            message = "a string holds a lone surrogate (not valid Unicode): expected UTF-8 text"
        else:
            message = f"expected a JSON value (dict, list, str, int, float, bool, None): {text}"
        raise CanonicalizationError(message) from exc
    except RecursionError:
        raise CanonicalizationError(
            f"expected JSON nested at most {MAX_DEPTH} levels deep"
        ) from None


def _deeper_than(obj: Any, limit: int) -> bool:
    """True when arrays and objects nest more than ``limit`` levels (an iterative walk)."""
    stack = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if type(node) in (dict, list, tuple):
            if depth >= limit:
                return True
            stack.extend((v, depth + 1) for v in (node.values() if type(node) is dict else node))
    return False


def utf16_key(key: str) -> bytes:
    """The sort key of an object member name in RFC 8785: its UTF-16 code units."""
    return key.encode("utf-16-be", "surrogatepass")
