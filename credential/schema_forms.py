"""The one owner of what the C recognizers' schema compilers share: the known string patterns and
their codes (credential/native_patterns.h), the size bounds, and the keyword acceptance rules of
the leaf forms (strings, enums/consts of strings, arrays of a bounded size) and of an object's
members.

Two compilers turn a JSON Schema into the nested tuples a C recognizer reads, and keep their own
tuple formats because their readers differ: `validation.native_form` for
``native_verify.form_kind`` (check 2 on a parsed credential: open and closed objects, ``oneOf``,
``prefixItems``, the dateTimeStamp pattern; str keys in schema order) and
`issuance.template.native_schema` for ``native_sign.recognizer`` (a bulk JSONL record from its
bytes: closed objects alone, bytes keys in JCS order, no dateTimeStamp). Each leaf rule here
answers None for a schema the C does not check exactly as jsonschema-rs does; the compiler then
answers None and the Python path decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "ANNOTATIONS",
    "ARRAY_KEYS",
    "DATETIME_PATTERN",
    "FORM_ANNOTATIONS",
    "NATIVE_PATTERNS",
    "OBJECT_KEYS",
    "P_DATETIME",
    "array_form",
    "enum_values",
    "object_members",
    "pattern_code",
    "size_bound",
    "string_form",
]

#: The JSON Schema string patterns the C recognizers match (credential/native_patterns.h
#: ``pattern_ok``), by their exact text, with their codes: a schema with any other pattern gets
#: no recognizer.
NATIVE_PATTERNS: dict[str, int] = {
    r"^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$": 1,
    r"^[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
    r"([^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*"
    r"[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069])?$": 2,
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$": 3,
    r"^[A-Z]{2}$": 4,
    r"^hmac-sha256:[A-Za-z0-9_-]{43}$": 5,
    r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029"
    r"\u202f\u205f\u3000\ufeff]+$": 6,
}
#: The schemas' XML Schema dateTimeStamp pattern: native_verify.c checks its strict form
#: YYYY-MM-DDTHH:MM:SSZ (native_patterns.h ``P_DATETIME``) and declines any other text;
#: native_sign.c does not take it.
DATETIME_PATTERN = (
    r"^-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):"
    r"[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]"
    r"|14:00))$"
)
P_DATETIME = 7

#: The keywords that change no answer, set aside at every depth (`native_schema`).
ANNOTATIONS = frozenset({"description", "title", "$comment"})
#: `native_form`'s: the whole credential schema's, with its ``$schema`` and ``$id``.
FORM_ANNOTATIONS = ANNOTATIONS | {"$schema", "$id"}
_STRING_KEYS = frozenset({"type", "minLength", "maxLength", "pattern"})
ARRAY_KEYS = frozenset({"type", "items", "minItems", "maxItems"})
OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})


def size_bound(schema: dict[str, Any], key: str, default: int) -> int | None:
    """``schema[key]`` (min/maxLength, min/maxItems) as the C reads it (-1: none), or None when
    it is not an int of at least -1."""
    value = schema.get(key, default)
    return value if type(value) is int and value >= -1 else None


def pattern_code(schema: dict[str, Any], *, datetime: bool) -> int:
    """The code of the schema's ``pattern`` (0: none; ``P_DATETIME`` only when ``datetime``),
    or -1 for a pattern the C does not match (any value not a known pattern's text, null too)."""
    if "pattern" not in schema:
        return 0
    pattern = schema["pattern"]
    if not isinstance(pattern, str):
        return -1
    if datetime and pattern == DATETIME_PATTERN:
        return P_DATETIME
    return NATIVE_PATTERNS.get(pattern, -1)


def string_form(
    schema: dict[str, Any], keys: set[str], *, datetime: bool
) -> tuple[int, int, int, int] | None:
    """``(1, min, max, pattern)`` for a ``type: string`` schema whose other keywords (``keys``,
    the annotations aside) are min/maxLength and a known pattern; else None."""
    if not keys <= _STRING_KEYS:
        return None
    low, high = size_bound(schema, "minLength", 0), size_bound(schema, "maxLength", -1)
    code = pattern_code(schema, datetime=datetime)
    if low is None or high is None or code < 0:
        return None
    return (1, low, high, code)


def enum_values(schema: dict[str, Any], keys: set[str]) -> list[str] | None:
    """The texts of an ``enum`` or a ``const`` (with at most ``type: string`` beside it), or
    None when anything else is there or a value is not a str."""
    if keys - {"enum", "const", "type"} or ("enum" in keys and "const" in keys):
        return None
    values = schema["enum"] if "enum" in keys else [schema["const"]]
    if schema.get("type", "string") != "string" or not isinstance(values, list) or not values:
        return None
    if not all(type(v) is str for v in values):
        return None
    return values


def array_form(
    schema: dict[str, Any], keys: set[str], items_form: Callable[[Any], Any]
) -> tuple[Any, ...] | None:
    """``(3, min, max, items)`` for a ``type: array`` schema of ``items`` (compiled by
    ``items_form``) with min/maxItems alone beside it; else None."""
    if not keys <= ARRAY_KEYS or "items" not in schema:
        return None
    low, high = size_bound(schema, "minItems", 0), size_bound(schema, "maxItems", -1)
    if low is None or high is None:
        return None
    items = items_form(schema["items"])
    return None if items is None else (3, low, high, items)


def object_members(
    schema: dict[str, Any], keys: set[str]
) -> tuple[dict[str, Any], list[str], bool] | None:
    """``(properties, required, closed)`` of a ``type: object`` schema with only properties,
    required and a boolean additionalProperties (closed: false), every name a str; else None."""
    if keys - OBJECT_KEYS:
        return None
    props, required = schema.get("properties", {}), schema.get("required", [])
    closed = schema.get("additionalProperties", True)
    if closed not in (True, False) or not isinstance(props, dict) or not isinstance(required, list):
        return None
    if not all(type(k) is str for k in required) or not all(type(k) is str for k in props):
        return None
    return props, required, closed is False
