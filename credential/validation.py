"""The one schema validator of credentials: the kind's JSON Schema plus the VC 2.0 rules.

`validate_credential(doc, today=...)` is what the builders, the issuer (single, idempotent and
bulk) and the verifier call. Its implementation is each kind's shipped schema (draft 2020-12)
compiled once with jsonschema-rs (`compiled_validator`; `compile_schema` for the bulk template's
sub-schemas). A document the compiled validator rejects is explained by the reference twin,
`jsonschema` (kept because its `best_match` error tree names the exact field and expectation
that `SchemaValidationError` reports; jsonschema-rs gives no such ranking).

The rule: a document passes only if the compiled validator accepts it. Its refusal stands even
when the reference finds nothing to name (then its own first error is reported): the two once
disagreed, and a refusal by either was overruled by the other's acceptance (2026-12-07: Python's
``re`` reads ``$`` as matching before a final ``"\\n"``, so ``"HK\\n"`` passed as a country). An
acceptance is not asked of the reference too: it costs 1-2 ms a credential against 12-56 us,
and the compiled validator is the one that reads patterns as JSON Schema says (ECMA-262).
The reference reads them so as well (`ecma_regex`, the one translation of a schema pattern
into Python), and `reference_validate_credential`, the twin alone, must give the same answer:
tests/credential/test_cred_validation.py on every mutation of the examples,
test_schema_pattern_line_ends.py on line ends and the characters whose classes differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from functools import cache, lru_cache
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as _JsonSchemaError
from jsonschema.exceptions import best_match

from .claims import fact_problems
from .errors import MISSING, CredentialError, ImpossibleFact, SchemaValidationError
from .integrity import parse_datetime
from .keys import Ed25519PublicKey
from .schema_forms import (
    FORM_ANNOTATIONS,
    array_form,
    enum_values,
    object_members,
    size_bound,
    string_form,
)
from .schemas import load_schema
from .types import CREDENTIALS_V2, KINDS, PRESENTATION, credential_kind, require_one_kind

__all__ = [
    "check_vc_structure",
    "compile_schema",
    "compiled_validator",
    "ecma_regex",
    "is_holder_did",
    "join_field",
    "lone_surrogate_at",
    "native_form",
    "reference_validate_credential",
    "refuse_lone_surrogates",
    "validate_credential",
    "validate_presentation",
    "value_at",
]

_JSON_TYPES = {"string": 1, "object": 2, "array": 3}


@cache
def compiled_validator(kind: str) -> Any:
    """The kind's schema compiled once with jsonschema-rs (a ``Draft202012Validator``)."""
    return jsonschema_rs.Draft202012Validator(load_schema(kind))


_COMPILED: dict[bytes, Any] = {}


def compile_schema(schema: Mapping[str, Any]) -> Any:
    """A jsonschema-rs validator of a (sub-)schema, compiled once per process."""
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    validator = _COMPILED.get(key)
    if validator is None:
        validator = _COMPILED[key] = jsonschema_rs.Draft202012Validator(dict(schema))
    return validator


#: ECMA-262's WhiteSpace and LineTerminator characters: what ``\\s`` matches in a JSON Schema
#: pattern (Python's ``\\s`` adds U+001C-U+001F and U+0085, and lacks U+FEFF).
_ECMA_SPACE = (
    "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
#: What ECMA-262's class escapes match (ASCII digits and word characters; Python's are Unicode).
_ECMA_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE}
#: Escapes that mean the same character in ECMA-262 and Python (``\\uXXXX`` and ``\\xHH`` are
#: read with their digits; any other letter is refused rather than guessed).
_SAME_ESCAPES = set("\\^$.|?*+()[]{}/-tnrvf0")


@lru_cache(maxsize=256)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A schema ``pattern`` (an ECMA-262 regular expression, no flags) as a Python regex that
    matches the same texts when applied with ``search``, as JSON Schema applies it.

    Where the two differ, Python is told ECMA's meaning: ``$`` is the very end of the text
    (``\\Z``; Python's ``$`` also matches before a final ``"\\n"``), ``\\d``, ``\\w`` and ``\\s``
    ECMA's (ASCII digits and word characters; its white space). What this translation does not
    know (``\\b``, ``\\p{..}``, named groups, a negated class escape inside a class, ...)
    raises ValueError naming it, and so does ``.``, which jsonschema-rs reads otherwise than
    ECMA-262 (U+2028 and ``\\r``): a schema using one fails to load rather than being read in
    two ways."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError(f"pattern {pattern!r} ends with a lone backslash")
            e = pattern[i + 1]
            if e in "uUx":
                width = 4 if e == "u" else 2
                digits = pattern[i + 2 : i + 2 + width]
                if e == "U" or len(digits) != width or not re.fullmatch("[0-9A-Fa-f]+", digits):
                    raise ValueError(f"pattern {pattern!r}: escape at {i} is not \\uXXXX or \\xHH")
                out.append(f"\\{e}{digits}")
                i += 2 + width
                continue
            if e.lower() in _ECMA_CLASSES:
                chars = _ECMA_CLASSES[e.lower()]
                if e.islower():
                    out.append(chars if in_class else f"[{chars}]")
                elif in_class:
                    raise ValueError(f"pattern {pattern!r}: \\{e} inside a class is not supported")
                else:
                    out.append(f"[^{chars}]")
            elif e in _SAME_ESCAPES:
                out.append("\\" + e)
            else:
                raise ValueError(f"pattern {pattern!r}: the escape \\{e} is not supported")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append(c)
            elif c == "[":
                out.append("\\[")  # literal in ECMA; Python may read "[[" as a nested set
            else:
                out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":  # ECMA's "[]",
                # "[^]": nothing, any character; Python reads "]" as a member
                raise ValueError(f"pattern {pattern!r}: an empty class is not supported")
        elif c == "$":
            out.append(r"\Z")
        elif c == ".":
            # ECMA's "." is any character but \n, \r, U+2028 and U+2029; jsonschema-rs reads it
            # as Rust's (any but \n): refused, so the two validators cannot differ on it
            raise ValueError(f"pattern {pattern!r}: '.' (write the class meant) is not supported")
        elif c == "(" and pattern[i + 1 : i + 2] == "?":
            head = pattern[i : i + 3]
            if head not in ("(?:", "(?=", "(?!"):
                raise ValueError(f"pattern {pattern!r}: the group {head!r}.. is not supported")
            out.append(c)
        else:
            out.append(c)
        i += 1
    if in_class:
        raise ValueError(f"pattern {pattern!r}: an unclosed class")
    return re.compile("".join(out))


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    """The reference validator's ``pattern`` keyword, read as ECMA-262 (`ecma_regex`)."""
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield _JsonSchemaError(f"{instance!r} does not match {pattern!r}")


#: `jsonschema`'s draft 2020-12 validator with schema patterns read as JSON Schema says.
_ReferenceValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _ecma_pattern}
)


@cache
def _reference(kind: str) -> Any:
    schema = load_schema(kind)
    for pattern in _patterns(schema):  # translated once, at load: one it cannot read raises
        ecma_regex(pattern)
    return _ReferenceValidator(schema)


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


@lru_cache(maxsize=4096)
def is_holder_did(value: str) -> bool:
    """True when ``value`` is an Ed25519 did:key without a fragment (a pure function of the
    string: cached, holders recur across a bulk job, a folder and an application)."""
    try:
        Ed25519PublicKey.from_did_key(value)
    except CredentialError:
        return False
    return "#" not in value


_DTS = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):"
    r"[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def check_vc_structure(doc: Any, base_type: str) -> None:
    """VC 2.0 rules shared by credentials and presentations (context, type, validity window)."""
    if not isinstance(doc, Mapping):
        raise SchemaValidationError("", "a JSON object", type(doc).__name__)
    ctx = doc.get("@context")
    if not isinstance(ctx, list) or not ctx:
        raise SchemaValidationError("@context", f"a list starting with {CREDENTIALS_V2!r}", ctx)
    if ctx[0] != CREDENTIALS_V2:
        raise SchemaValidationError("@context[0]", repr(CREDENTIALS_V2), ctx[0])
    types = doc.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or base_type not in types:
        raise SchemaValidationError("type", f"a list including {base_type!r}", doc.get("type"))
    times = {}
    for key in ("validFrom", "validUntil"):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _DTS.fullmatch(value):
            raise SchemaValidationError(
                key, "an XML Schema dateTimeStamp such as 2026-01-01T00:00:00Z", value
            )
        try:  # the pattern admits 2030-02-30, 24:00:00 and five-digit years: no instant
            times[key] = parse_datetime(value)
        except ValueError:
            raise SchemaValidationError(
                key,
                "a real date and time such as 2026-01-01T00:00:00Z (a calendar date, hours "
                "00-23, a four-digit year)",
                value,
            ) from None
    if len(times) == 2 and times["validFrom"] > times["validUntil"]:
        vf, vu = doc["validFrom"], doc["validUntil"]
        raise SchemaValidationError("validUntil", f"a time not before validFrom ({vf})", vu)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def validate_credential(doc: Any, *, today: date | None = None) -> str:
    """Validate a (signed or unsigned, possibly anchored) credential; return its kind.

    Checks the VC 2.0 structure, then the kind's JSON Schema, then that ``credentialSchema``
    names that schema and ``credentialSubject.id`` is a well-formed Ed25519 did:key, then that
    ``type`` names no other type than ``VerifiableCredential`` and the kind
    (`types.require_one_kind`). With
    ``today``, also that its facts are possible (`claims.fact_problems`: calendar dates, none
    after ``today``, in order); the first problem raises `ImpossibleFact` (a
    `SchemaValidationError`) naming the field. The builders pass ``valid_from``'s date.
    """
    if today is None and NATIVE_FORM is not None:
        # the C twin (credential/native_verify.c ``form_kind``) answers only when it shows the
        # checks below accept the document, the holder's did:key aside; None: they decide
        kind = NATIVE_FORM(doc)
        if kind is not None and is_holder_did(doc["credentialSubject"]["id"]):
            return require_one_kind(doc, kind)
    return require_one_kind(doc, _validate(doc, today, fast=True))


def reference_validate_credential(doc: Any, *, today: date | None = None) -> str:
    """`validate_credential` with the reference validator (`jsonschema`) alone: the twin the
    differential tests compare the compiled path with."""
    return require_one_kind(doc, _validate(doc, today, fast=False))


def native_form(schema: Any, depth: int = 0) -> tuple[Any, ...] | None:
    """A JSON Schema compiled for `native_verify.form_kind` (its forms are described in
    credential/native_verify.c), or None when it uses anything the C does not check as
    jsonschema-rs does: closed and open objects (``required`` names beyond ``properties`` only
    in an open one), strings with min/maxLength and a pattern of `schema_forms.NATIVE_PATTERNS`
    or the dateTimeStamp one, enums/consts of strings, arrays with min/maxItems and ``items``,
    arrays of strings with ``prefixItems`` consts and a ``contains`` const, ``oneOf`` of branches of
    distinct single JSON types; annotations aside, any other keyword (``anyOf``, ``format``,
    ``minimum``, a type list elsewhere, ``$ref``...) is None. The leaf rules, the sizes and the
    pattern codes are `schema_forms`' (shared with `issuance.template.native_schema`); the form
    format, ``oneOf``, ``prefixItems`` and the open objects are this reader's."""
    if depth > 16 or not isinstance(schema, dict):
        return None
    keys = set(schema) - FORM_ANNOTATIONS
    if "oneOf" in keys:
        branches = schema["oneOf"]
        if keys != {"oneOf"} or not isinstance(branches, list) or not branches:
            return None
        slots: list[Any] = [None, None, None]
        for branch in branches:
            kind = branch.get("type") if isinstance(branch, dict) else None
            slot = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
            form = native_form(branch, depth + 1)
            if slot is None or slots[slot - 1] is not None or form is None:
                return None  # (two branches of one type could both match: not oneOf's "one")
            slots[slot - 1] = form
        return (5, *slots)
    if "enum" in keys or "const" in keys:
        values = enum_values(schema, keys)
        return None if values is None else (2, tuple(values))
    kind = schema.get("type")
    if kind == "string":
        return string_form(schema, keys, datetime=True)
    if kind == "array" and ("prefixItems" in keys or "contains" in keys):
        if keys - {"type", "minItems", "prefixItems", "items", "contains"}:
            return None
        low = size_bound(schema, "minItems", 0)
        prefix = schema.get("prefixItems", [])
        items, contains = schema.get("items"), schema.get("contains")
        if low is None or not isinstance(prefix, list):
            return None
        if not all(isinstance(p, dict) and set(p) == {"const"} for p in prefix):
            return None
        consts = [p["const"] for p in prefix]
        if not all(type(c) is str for c in consts):
            return None
        if items not in ({"type": "string"}, {"type": ["string", "object"]}):
            return None  # (the C takes strings alone, which both accept)
        if contains is not None and not (
            isinstance(contains, dict)
            and set(contains) == {"const"}
            and type(contains["const"]) is str
        ):
            return None
        return (4, low, tuple(consts), None if contains is None else contains["const"])
    if kind == "array":
        return array_form(schema, keys, lambda items: native_form(items, depth + 1))
    members = object_members(schema, keys) if kind == "object" else None
    if members is None:
        return None
    props, required, closed = members
    names = list(props) + [k for k in dict.fromkeys(required) if k not in props]
    if closed and len(names) != len(props):
        return None  # (a required member no property allows: nothing is valid)
    if len(names) > 62:
        return None
    forms = []
    for name in names:
        form = native_form(props[name], depth + 1) if name in props else (6,)
        if form is None:
            return None
        forms.append(form)
    mask = sum(1 << i for i, k in enumerate(names) if k in required)
    return (0, tuple(names), tuple(forms), mask, 1 if closed else 0)


def _load_native_forms() -> Any:
    """``native_verify.form_kind`` with every shipped kind's schema that compiles
    (`native_form`), or None (an unbuilt tree): `validate_credential` then takes its Python
    path alone."""
    try:
        from . import native_verify  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an unbuilt tree
        return None
    forms = {}
    for kind in KINDS:
        form = native_form(load_schema(kind))
        if form is not None and form[0] == 0:
            forms[kind] = form
    native_verify.set_forms(forms)
    return native_verify.form_kind


#: `native_verify.form_kind`, `validate_credential`'s C twin for the plain form (None: off).
NATIVE_FORM: Any = _load_native_forms()


def _validate(doc: Any, today: date | None, *, fast: bool) -> str:
    check_vc_structure(doc, "VerifiableCredential")
    refuse_lone_surrogates(doc)
    kind = credential_kind(doc)
    if not (fast and compiled_validator(kind).is_valid(doc)):
        # a refusal is explained by the reference; it stands even when the reference finds
        # nothing (module docstring: both must accept)
        error = best_match(_reference(kind).iter_errors(doc), key=_relevance)
        if error is not None:
            raise _from_jsonschema(error)
        if fast:
            raise _from_compiled(kind, doc)
    subject_id = doc["credentialSubject"]["id"]
    if not is_holder_did(subject_id):
        raise SchemaValidationError(
            "credentialSubject.id", "the holder's Ed25519 did:key", subject_id
        )
    name = doc["credentialSubject"].get("name")
    if isinstance(name, str) and _CONTROL.search(name):  # a JSON Schema "$" allows one "\n"
        raise SchemaValidationError(
            "credentialSubject.name", "a name without control characters or line breaks", name
        )
    if today is not None:
        problems = fact_problems(doc, today)
        if problems:
            raise ImpossibleFact(
                problems[0].field, problems[0].message, value_at(doc, problems[0].field)
            )
    return kind


_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_lone_surrogates(doc: Any) -> None:
    """Raise `SchemaValidationError` naming the field when a text (a value or a key) of ``doc``
    holds a lone surrogate (``"\\ud800"`` in JSON): no character, so no JCS form to sign or
    hash; the schema validator does not see it in a field it checks by length only.

    Why orjson first: it serializes a credential in ~1 us and refuses any surrogate; only when
    it refuses (a surrogate, or what it cannot write, e.g. an integer beyond 64 bits) are the
    texts walked, to name the field or find that none holds one."""
    try:
        orjson.dumps(doc)
        return
    except (orjson.JSONEncodeError, TypeError):
        pass
    found = lone_surrogate_at(doc)
    if found is not None:
        field, text = found
        raise SchemaValidationError(
            field, "text of Unicode characters (a lone surrogate such as \\ud800 is none)", text
        )


def lone_surrogate_at(doc: Any) -> tuple[str, str] | None:
    """(field path, text) of the first text of ``doc`` (a value or a key, walked in order)
    holding a lone surrogate, or None: JSON text may write one, but it is no character."""
    return _surrogate_at(doc, "")


def _surrogate_at(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (path, value) if _SURROGATE.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            # the path names a key by its text, the surrogate escaped (the error is printed and
            # sent as JSON, which cannot hold it either)
            where = join_field(path, _SURROGATE.sub(_escaped, str(key)))
            if isinstance(key, str) and _SURROGATE.search(key):
                return where, key
            found = _surrogate_at(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _surrogate_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def value_at(doc: Any, field: str) -> Any:
    """The value at a dotted field path (``a.b[0].c``), or `MISSING`."""
    value = doc
    for part in re.split(r"\.|(?=\[)", field):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else MISSING
        else:
            value = value.get(part, MISSING) if isinstance(value, Mapping) else MISSING
    return value


def validate_presentation(doc: Any) -> None:
    """VC 2.0 structural rules of a presentation (credentials are objects, holder present)."""
    check_vc_structure(doc, PRESENTATION)
    vcs = doc.get("verifiableCredential")
    if vcs is None:
        return
    if isinstance(vcs, Mapping):
        vcs = [vcs]
    if not isinstance(vcs, list):
        raise SchemaValidationError("verifiableCredential", "a list of credential objects", vcs)
    for i, vc in enumerate(vcs):
        if not isinstance(vc, Mapping):
            raise SchemaValidationError(
                f"verifiableCredential[{i}]", "a credential object (not a string or URL)", vc
            )


def _relevance(error: _JsonSchemaError) -> tuple[int, int]:
    # prefer deep errors (they name the exact field) and non-combinator errors
    return (-len(error.path), 0 if error.validator in ("oneOf", "anyOf") else 1)


def _from_jsonschema(error: _JsonSchemaError) -> SchemaValidationError:
    path = _dotted(error.absolute_path)
    v = error.validator
    # types-jsonschema types these `... | Unset`: they are set on every error a validator raises
    arg: Any = error.validator_value
    schema: Any = error.schema
    found: Any = error.instance
    if v == "required":
        missing = next((k for k in arg if isinstance(found, Mapping) and k not in found), "?")
        return SchemaValidationError(
            join_field(path, missing), "a value (required property)", MISSING
        )
    if v == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(k for k in found if k not in allowed) if isinstance(found, Mapping) else []
        key = extra[0] if extra else "?"
        return SchemaValidationError(
            join_field(path, key),
            f"no such property (allowed: {', '.join(allowed)})",
            found.get(key) if extra else None,
        )
    if v == "enum":
        expected = f"one of {list(arg)}"
    elif v == "const":
        expected = repr(arg)
    elif v == "type":
        expected = f"a JSON {arg}" if isinstance(arg, str) else f"one of JSON types {arg}"
    elif v in ("pattern", "format", "anyOf", "oneOf", "minProperties"):
        expected = schema.get("description") or f"a value matching {arg!r}"
    elif v == "minLength":
        expected = "a non-empty text" if arg == 1 else f"a text of at least {arg} characters"
    elif v == "maxLength":
        expected = f"a text of at most {arg} characters"
    elif v == "minItems":
        expected = f"a list of at least {arg} item(s)"
    elif v == "maxItems":
        expected = f"a list of at most {arg} items"
    elif v == "contains":
        expected = f"a list containing {arg.get('const', arg)!r}"
    else:
        expected = f"{v} {arg!r}"
    return SchemaValidationError(path, expected, found)


def _from_compiled(kind: str, doc: Any) -> SchemaValidationError:
    """The compiled validator's first error on ``doc`` (which it refuses), as the reference's
    errors are reported: the field, and the schema's description of what it expects."""
    error = next(iter(compiled_validator(kind).iter_errors(doc)), None)
    if error is None:  # not reached: called only when `is_valid` said no
        return SchemaValidationError("", f"a valid {kind}", doc)
    node: Any = load_schema(kind)
    for part in list(error.schema_path)[:-1]:
        node = node[part] if isinstance(node, (Mapping, list)) else None
    described = node.get("description") if isinstance(node, Mapping) else None
    return SchemaValidationError(
        _dotted(error.instance_path), described or error.message, error.instance
    )


def _dotted(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def join_field(path: str, key: str) -> str:
    """``path.key`` (``key`` alone at the root)."""
    return f"{path}.{key}" if path else key
