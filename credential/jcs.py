"""RFC 8785 JSON Canonicalization Scheme (JCS).

`canonicalize(obj) -> bytes` returns the canonical UTF-8 form of a JSON value (dict, list,
str, int, float, bool, None; tuples count as arrays):

* object members sorted by the UTF-16 code units of their names, no whitespace;
* strings escaped minimally (``\\b \\t \\n \\f \\r \\" \\\\`` and ``\\u00xx`` for other controls);
* numbers as ECMAScript ``Number.prototype.toString``; integers outside the IEEE-754 safe range
  ``±(2**53 - 1)``, NaN and infinities are refused with `CanonicalizationError`.

Fast path: orjson with sorted keys and a strict 53-bit integer limit produces the same bytes as
JCS except in three cases, and each of them is detected on the output, after which the
reference path below is used:

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
   an error, which takes the slow path (which refuses them).

Property tests compare both paths with the `rfc8785` reference implementation.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from .errors import CanonicalizationError

__all__ = ["MAX_SAFE_INTEGER", "canonicalize", "canonicalize_reference", "utf16_key"]

MAX_SAFE_INTEGER = 2**53 - 1
# Nesting limit of arrays and objects: orjson stops at 255 levels; the reference path refuses
# deeper values with a clear error instead of exhausting the interpreter's stack.
MAX_DEPTH = 255

_ORJSON_OPTIONS = (
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
_MEMBER_VALUE = re.compile(rb'":[-0-9n]').search
_FIRST_ELEMENT = re.compile(rb"\[[-0-9n]").search
_NEXT_ELEMENT = re.compile(rb",[-0-9n]").search
# bytes.translate table for the text outside strings: digits -> '0', 'e'/'E' -> 'e', the rest
# unchanged, so an exponent reads "0e".
_STRUCTURE_MAP = bytes(
    ord("0") if c in b"0123456789" else ord("e") if c in b"eE" else c for c in range(256)
)
_orjson_dumps = orjson.dumps


def _fast_path_exact(out: bytes) -> bool:
    """True when orjson's output ``out`` is provably the JCS form (see the module docstring).

    False for a null or float token outside strings, or any byte >= 0xEE; the contents of
    strings are cut out exactly, so no string value ever sends a document to the slow path.
    """
    if not out.isascii() and _HIGH_BYTE.search(out) is not None:
        return False
    if (_MEMBER_VALUE(out) is None and _NEXT_ELEMENT(out) is None
            and _FIRST_ELEMENT(out) is None):  # most credentials: strings only
        return True
    if b"\\" in out:
        # Inside a string a backslash always starts a two-character escape, and the only
        # escape whose second character is a backslash is \\ itself: removing backslash pairs
        # left to right (as a JSON parser reads them), then the escaped quotes \", leaves
        # exactly the quotes that delimit strings.
        out = out.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(out.split(b'"')[::2])
    return not (b"n" in outside or b"." in outside
                or b"0e" in outside.translate(_STRUCTURE_MAP))


def canonicalize(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        out = _orjson_dumps(obj, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return canonicalize_reference(obj)
    first = out[:1]
    if (first == b"{" or first == b"[") and _fast_path_exact(out):
        return out
    return canonicalize_reference(obj)


def canonicalize_reference(obj: Any) -> bytes:
    """The plain-Python JCS serializer (no fast path); same result as `canonicalize`."""
    parts: list[str] = []
    _write(obj, parts, "", 0)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            f"string holds a lone surrogate (not valid Unicode) at position {exc.start}"
        ) from exc


def _write(obj: Any, out: list[str], path: str, depth: int) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif type(obj) is str:
        out.append(json.dumps(obj, ensure_ascii=False))
    elif type(obj) is int:
        if not -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            raise CanonicalizationError(
                f"{path or '<value>'}: integer {obj} is outside the I-JSON safe range "
                f"±(2**53 - 1); encode it as a string"
            )
        out.append(str(obj))
    elif type(obj) is float:
        out.append(_number(obj, path))
    elif type(obj) is dict:
        if depth >= MAX_DEPTH:
            _too_deep(path)
        for key in obj:
            if type(key) is not str:
                raise CanonicalizationError(
                    f"{path or '<object>'}: expected string object keys, found {type(key).__name__}"
                )
        out.append("{")
        first = True
        for key in sorted(obj, key=utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(obj[key], out, f"{path}.{key}" if path else key, depth + 1)
        out.append("}")
    elif type(obj) in (list, tuple):
        if depth >= MAX_DEPTH:
            _too_deep(path)
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _write(item, out, f"{path}[{i}]", depth + 1)
        out.append("]")
    else:
        raise CanonicalizationError(
            f"{path or '<value>'}: expected a JSON value (dict, list, str, int, float, bool, "
            f"None), found {type(obj).__name__}"
        )


def _too_deep(path: str) -> None:
    raise CanonicalizationError(
        f"{path[:60] or '<value>'}...: expected JSON nested at most {MAX_DEPTH} levels deep"
    )


def utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _number(value: float, path: str) -> str:
    """ECMAScript Number::toString of a finite double (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalizationError(
            f"{path or '<value>'}: expected a finite number, found {value!r} (NaN and infinities "
            f"are not JSON)"
        )
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # shortest round-trip digits
    mantissa, _, exp_text = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    # decimal exponent n such that value = 0.digits * 10**n
    n = len(int_part) + (int(exp_text) if exp_text else 0)
    if int_part == "0":
        leading = len(frac_part) - len(frac_part.lstrip("0"))
        n = -leading + (int(exp_text) if exp_text else 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = ("+" if e >= 0 else "-") + str(abs(e))
        body = digits + "e" + exp if k == 1 else digits[0] + "." + digits[1:] + "e" + exp
    return sign + body
