"""Red team on check 2 in C (credential/native_verify.c ``form_kind``, `validation.NATIVE_FORM`)
against the reference: `reference_validate_credential` (the `jsonschema` package with schema
patterns read as ECMA-262, the VC 2.0 rules, `types.require_one_kind`).

The rule under attack: the C answers a kind only when it can show the reference accepts the
document; any doubt is None. A kind answered for a document the reference refuses would make an
invalid credential pass check 2 (a false VALID). tests/credential/test_native_schema_form.py
compares the C with `validate_credential`'s own Python path (jsonschema-rs); here every answer is
compared with the reference itself, on documents written to find where the two may read a text,
a number or a tree otherwise: lengths counted in code points, UTF-16 units or bytes (astral
characters, combining marks, ZWJ sequences) at every bound; line ends, separators, NUL and
controls before, inside and after every ``^...$`` pattern; numbers, booleans and nulls where
texts go (1, 1.0, -0.0, 2**64, True); enum values in other cases; subclasses of str, dict, list
and int (one whose ``__eq__`` says yes to anything); non-text keys; other kinds' bodies under a
kind's type; deep and large trees; and generated mutations (hypothesis) of issued degrees,
employments and badges. `_judge` also asks `validate_credential` (the C first) to agree with the
reference wherever the C answers and the holder is an Ed25519 did:key.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import validation
from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519SigningKey
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, build, holder, sign
from tests.doc_paths import get_at, paths, set_at, without


def test_the_c_form_is_built() -> None:
    """The attacks below compare the C with the reference: without the C (not built) they
    would pass vacuously, so a tree without it fails here, never skips."""
    assert validation.NATIVE_FORM is not None, "credential/native_verify.c form_kind is not built"


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DID = "did:web:uni.example"
ISSUER_KEY = Ed25519SigningKey.from_seed(bytes(range(1, 33)))


def _bases() -> list[dict[str, Any]]:
    """Signed credentials as the issuer writes them (the proof an object, as check 2 sees one):
    each kind plain, and with validUntil, the issuer as an object, a status entry, a name and a
    description."""
    out = []
    for kind in (DEGREE, EMPLOYMENT, BADGE):
        extra: dict[str, Any] = {"start": "2012-01-01"} if kind == EMPLOYMENT else {}
        plain = build(kind, DID, holder().public_key.did_key, **extra)
        rich = build(
            kind,
            DID,
            holder().public_key.did_key,
            valid_from=NOW - timedelta(days=3),
            valid_until=NOW + timedelta(days=300),
            **extra,
        )
        rich["issuer"] = {"id": DID, "name": "The University"}
        rich["credentialStatus"] = [
            {
                "id": "https://uni.example/status/revocation#7",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": "https://uni.example/status/revocation",
            }
        ]
        rich["name"] = "A credential"
        rich["description"] = "Its description: 陳大文 é"
        out += [sign(plain, ISSUER_KEY), sign(rich, ISSUER_KEY)]
    return out


BASES = _bases()
#: (the degrees and employments: the kinds the C has a form for)
FORMED = [b for b in BASES if b["type"][-1] != BADGE]


def _reference(doc: Any) -> str | None:
    """The reference's kind, or None when it refuses (any exception is a refusal)."""
    try:
        return str(validation.reference_validate_credential(doc))
    except (CredentialError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _validate(doc: Any) -> str | None:
    try:
        return validation.validate_credential(doc)
    except (CredentialError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _judge(doc: Any) -> str | None:
    """The C's answer; when it answers, the reference answers the same kind (the holder's
    did:key aside, which the C leaves to `is_holder_did`), and so does `validate_credential`."""
    kind = validation.NATIVE_FORM(doc)
    if kind is None:
        return None
    subject_id = doc["credentialSubject"]["id"]
    if validation.is_holder_did(subject_id):
        reference = _reference(doc)
        assert reference == kind, ("the C answered", kind, "the reference", reference, doc)
        assert _validate(doc) == kind, doc
    else:  # (a did:key of the pattern's form that is no Ed25519 key: refused beside the C)
        assert _validate(doc) is None and _reference(doc) is None, doc
    return str(kind)


class Text(str):
    pass


class YesText(str):
    """A text equal to anything (a C comparing with ``==`` semantics would be fooled)."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class Obj(dict):  # type: ignore[type-arg]
    pass


class Seq(list):  # type: ignore[type-arg]
    pass


class Num(int):
    pass


#: Characters that regex dialects, JSON Schema validators and Python read differently: line
#: ends ($ before a final \n in Python's re), separators, NUL, C0/C1 controls, the BOM, the
#: Mongolian vowel separator (white space before Unicode 6.3), zero widths, combining marks,
#: bidi controls, astral characters and lone surrogates.
CHARS = [
    "\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\x00", "\x0b", "\x0c", "\t", "\x1c",
    "\x1f", "\x7f", "\x80", "\x9f", "\u00a0", "\ufeff", "\u180e", "\u200b", "\u200d", "\u2066",
    "\u061c", "\u3000", " ", "\u0301", "\U0001f600", "\U00020000", "\U0010ffff", "\uffff",
    "\ufffe", "\ud800", "\udc00", "\ud83d\ude00",
]  # fmt: skip
#: What goes where a text or a tree was: every JSON type, numbers of every spelling Python
#: keeps apart (1 and 1.0 and True compare equal), big integers, empty containers.
NOT_TEXTS: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, -0.0, 1e0, 2**63, 2**64, 2**70, -(2**63),
    float("nan"), float("inf"), Num(1), "", [], {}, [[]], [{}], {"": ""},
]  # fmt: skip


def _variants(value: Any) -> list[Any]:
    out: list[Any] = list(NOT_TEXTS)
    if isinstance(value, str):
        for c in CHARS:
            out += [value + c, c + value, value[:1] + c + value[1:], c]
        out += [Text(value), YesText("zz"), value.upper(), value.lower(), value * 2, value[:-1]]
        out.append(value.encode().decode("latin-1"))  # (its UTF-8 bytes read as Latin-1)
    if isinstance(value, list):
        out += [Seq(value), tuple(value), [value], value[:-1], value[1:], value * 2]
        out += [[*value, 1], [*value, None], [*value, []], [*value, {}], [*value, Text("x")]]
        out += [[*value, "\ud800"], list(reversed(value))]
    if isinstance(value, dict):
        out += [Obj(value), {**value, 1: "x"}, {**value, (1,): "x"}, {**value, b"k": "x"}]
        out += [{**value, "extra": "x"}, {**value, Text("extra"): "x"}, {**value, "x\ud800": "x"}]
        out += [{**value, "extra": 1}, {**value, "extra": None}, {**value, "extra": {"a": ["b"]}}]
        for key in value:  # the member's key a subclass; its value null
            out.append({(Text(k) if k == key else k): v for k, v in value.items()})
            out.append({**value, key: None})
    return out


def test_the_c_answers_for_what_the_issuer_writes() -> None:
    """(So the comparisons below are not vacuous: the C answers for issued credentials.)"""
    for doc in FORMED:
        assert _judge(doc) == doc["type"][-1]
    for doc in BASES:
        if doc["type"][-1] == BADGE:
            assert validation.NATIVE_FORM(doc) is None  # (no form for the Open Badges schema)


def test_every_member_removed_retyped_or_hostile() -> None:
    judged = answered = 0
    for base in BASES:
        for path in list(paths(base))[1:]:
            docs = [without(base, path)]
            docs += [set_at(base, path, v) for v in _variants(get_at(base, path))]
            for doc in docs:
                judged += 1
                answered += _judge(doc) is not None
    assert judged > 20000 and answered > 3000, (judged, answered)


#: Units of one, two and more code points (and UTF-16 units, and UTF-8 bytes).
UNITS = ["x", "é", "e\u0301", "\U0001f600", "\U0001f468\u200d\U0001f469", "陳", "\U00020000"]
BOUNDS = (1, 2, 43, 44, 55, 56, 200, 201, 500, 501, 4000, 4001)


def test_lengths_in_code_points_at_every_bound() -> None:
    """minLength/maxLength count code points (JSON Schema, jsonschema, jsonschema-rs); a C
    counting UTF-16 units or bytes would answer for 201 astral characters or refuse 200."""
    answered = 0
    for base in FORMED:
        for path in list(paths(base))[1:]:
            value = get_at(base, path)
            if not isinstance(value, str):
                continue
            for n in BOUNDS:
                for unit in UNITS:
                    for text in {(unit * n)[:n], unit * n}:
                        answered += _judge(set_at(base, path, text)) is not None
                        answered += _judge(set_at(base, path, value + text)) is not None
    assert answered > 500, answered


@pytest.mark.parametrize("base", FORMED, ids=lambda d: d["type"][-1])
def test_the_bounds_themselves(base: dict[str, Any]) -> None:
    """The subject's name (1-200) and the credential's name (1-500) at their bounds, in astral
    characters (2 UTF-16 units, 4 UTF-8 bytes each) and combining sequences."""
    kind = base["type"][-1]
    for path, high in ((("credentialSubject", "name"), 200), (("name",), 500)):
        for unit in ("\U0001f600", "\U00020000", "陳"):
            assert _judge(set_at(base, path, unit * high)) == kind
            over = set_at(base, path, unit * (high + 1))
            assert validation.NATIVE_FORM(over) is None and _reference(over) is None
        combined = ("Chan" + "\u0301" * (high - 4))[:high]
        assert _judge(set_at(base, path, combined)) == kind
        assert validation.NATIVE_FORM(set_at(base, path, combined + "a")) is None


PATTERNED = [
    ("id",),
    ("issuer",),
    ("validFrom",),
    ("credentialSubject", "id"),
    ("credentialSubject", "name"),
    ("credentialSubject", "birthDate"),
    ("credentialSubject", "identityDocument", "issuingCountry"),
    ("credentialSubject", "identityDocument", "commitment"),
    ("credentialSubject", "identityDocument", "documentType"),
    ("credentialSchema", "id"),
]


@pytest.mark.parametrize("path", PATTERNED, ids=".".join)
def test_line_ends_and_separators_around_anchored_patterns(path: tuple[str, ...]) -> None:
    """Every character of CHARS (and the pair \\r\\n) before, inside, after and instead of the
    last character of each ^...$ pattern's (or enum's, const's) value."""
    for base in FORMED:
        where, value = path, get_at(base, path)
        if not isinstance(value, str):  # (the issuer given as an object: its id)
            where, value = (*path, "id"), value["id"]
        for c in CHARS:
            for text in (value + c, c + value, value[:1] + c + value[1:], value[:-1] + c):
                doc = set_at(base, where, text)
                _judge(doc)
                assert _validate(doc) == _reference(doc), doc
            for text in (value + c + "\n", value + "\n" + c):
                doc = set_at(base, where, text)
                assert validation.NATIVE_FORM(doc) is None, doc


#: Every code point below U+3100 and a few beyond (astral, separators, the BOM, non-characters).
CODE_POINTS = [
    *range(0x3100),
    0x3000, 0x303F, 0xD7FF, 0xE000, 0xFDD0, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF,
    0x10000, 0x1F600, 0xE0001, 0xE0020, 0xF0000, 0x10FFFF,
]  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        ("credentialSubject", "name"),
        ("id",),
        ("credentialSubject", "identityDocument", "issuingCountry"),
    ],
    ids=".".join,
)
def test_each_code_point_first_and_last(path: tuple[str, ...]) -> None:
    """The name pattern's first and last characters may not be ECMA-262 white space, and the URI
    pattern's tail holds no space or invisible separator: each code point of CODE_POINTS first
    and last in the subject's name, and last in the credential's id (an ECMA ``\\s`` the C
    missed, or a separator class read otherwise, would be an answer the reference refuses)."""
    base = FORMED[0]
    value = get_at(base, path)
    for cp in CODE_POINTS:
        c = chr(cp)
        _judge(set_at(base, path, value + c))
        _judge(set_at(base, path, c + value))


_DATES = [
    f"{y}-{m:02d}-{d:02d}T{h}Z"
    for y in ("0000", "0001", "0999", "1900", "2000", "2024", "2100", "2026", "9999")
    for m in (0, 1, 2, 4, 12, 13)
    for d in (0, 1, 28, 29, 30, 31, 32)
    for h in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60")
]


@pytest.mark.parametrize("base", FORMED, ids=lambda d: d["type"][-1])
def test_validity_dates_every_calendar_edge(base: dict[str, Any]) -> None:
    """validFrom and validUntil: the C reads only YYYY-MM-DDTHH:MM:SSZ naming a real instant, in
    order; the reference's pattern and `integrity.parse_datetime` decide the rest."""
    answered = 0
    for vf in _DATES:
        answered += _judge(set_at(base, ("validFrom",), vf)) is not None
    for vu in _DATES[::7]:
        for vf in ("2024-02-29T00:00:00Z", "2100-02-28T23:59:59Z", vu):
            doc = set_at(base, ("validFrom",), vf)
            doc["validUntil"] = vu
            answered += _judge(doc) is not None
    assert answered > 100, answered


def test_other_kinds_bodies_under_a_kinds_type() -> None:
    """A badge's, a degree's or an employment's body typed as each other kind, and each type
    list holding another kind beside (d9dcf5c, b200421): never answered but as the reference
    does."""
    for body in BASES:
        for kind in (DEGREE, EMPLOYMENT, BADGE):
            for types in (
                ["VerifiableCredential", kind],
                ["VerifiableCredential", body["type"][-1], kind],
                ["VerifiableCredential", kind, kind],
                [kind, "VerifiableCredential"],
                ["VerifiableCredential", Text(kind)],
                [Text("VerifiableCredential"), kind],
            ):
                _judge({**body, "type": types})
        subject = body["credentialSubject"]
        for member in ("degree", "employment", "achievement"):
            for other in BASES:
                if member in other["credentialSubject"]:
                    value = other["credentialSubject"][member]
                    _judge({**body, "credentialSubject": {**subject, member: value}})


def test_deep_and_large_trees() -> None:
    """A tree deeper than the C walks (it declines, no crash), and large open members (the C
    answers; so does the reference)."""
    base = FORMED[0]
    kind = base["type"][-1]
    for depth in (20, 22, 23, 24, 25, 26, 200, 5000):
        nested: Any = {"type": "x"}
        for _ in range(depth):
            nested = {"type": "x", "a": [nested]}
        _judge({**base, "evidence": nested})
    many = [{"type": "Evidence", "id": f"urn:x:{i}", "n": "陳" * 5} for i in range(20000)]
    assert _judge({**base, "evidence": many}) == kind
    assert _judge({**base, "evidence": [*many, {"id": "urn:x"}]}) is None  # (no type)
    wide = {f"k{i}\u2028\x00": ["\U0001f600"] * 3 for i in range(20000)}
    assert _judge({**base, "issuer": {"id": DID, **wide}}) == kind


TEXT = st.lists(
    st.sampled_from(
        [*"aZ09 -_:./#+@T", *CHARS, "陳", "HK", "did:key:z6Mk", "https:", "2026-", "bachelor"]
    ),
    max_size=10,
).map("".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "id", "name", "x", "\u2028", ""]) | TEXT, inner, max_size=3
        )
    ),
    max_leaves=8,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_mutations_of_issued_credentials(data: st.DataObject) -> None:
    """Up to three edits of an issued credential: a text cut, grown or spliced with TEXT; a
    value replaced by generated JSON or by another member's value; a member removed or added."""
    doc = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        members = list(paths(doc))[1:]
        path = data.draw(st.sampled_from(members))
        parent, value = get_at(doc, path[:-1]), get_at(doc, path)
        op = data.draw(st.sampled_from(["splice", "cut", "replace", "copy", "drop", "add"]))
        if op == "splice" and isinstance(value, str):
            i = data.draw(st.integers(0, len(value)))
            parent[path[-1]] = value[:i] + data.draw(TEXT) + value[i:]
        elif op == "cut" and isinstance(value, str) and value:
            i = data.draw(st.integers(0, len(value) - 1))
            parent[path[-1]] = value[:i] + value[i + 1 :]
        elif op == "replace":
            parent[path[-1]] = data.draw(JSON)
        elif op == "copy":
            parent[path[-1]] = copy.deepcopy(get_at(doc, data.draw(st.sampled_from(members))))
        elif op == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == "add" and isinstance(value, dict):
            key = data.draw(st.sampled_from(["degree", "employment", "type", "extra", "proof"]))
            value[key] = data.draw(JSON)
    _judge(doc)
    # and where the C declines, `validate_credential` (jsonschema-rs) answers as the reference
    assert _validate(doc) == _reference(doc), doc


def _strip_line_end(value: Any) -> Any:
    if isinstance(value, str):
        return value[:-1] if value.endswith("\n") else value
    if isinstance(value, dict):
        return {k: _strip_line_end(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_line_end(v) for v in value]
    return value


def _as_texts(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _as_texts(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_texts(v) for v in value]
    return value if type(value) is str else str(value)


_C = validation.NATIVE_FORM  # (the C itself, which the mutants below call)

#: Twins that lie as a C could: Python's ``$`` (a final "\n" ignored), JSON types not told apart
#: (1, True, null read as texts), additionalProperties not read (unknown top-level members
#: dropped), lengths counted in UTF-16 units (astral characters counted once, so too-long texts
#: of them pass).
MUTANTS: dict[str, Any] = {
    "dollar-before-final-newline": lambda doc: _C(_strip_line_end(doc)),
    "types-read-as-texts": lambda doc: _C(_as_texts(doc)),
    "open-top-level": lambda doc: (
        _C({k: v for k, v in doc.items() if k in FORMED[1]}) if isinstance(doc, dict) else None
    ),
    "utf16-halved": lambda doc: (
        _C(set_at(doc, ("credentialSubject", "name"), doc["credentialSubject"]["name"][::2]))
        if isinstance(doc, dict)
        and isinstance(doc.get("credentialSubject"), dict)
        and isinstance(doc["credentialSubject"].get("name"), str)
        else _C(doc)
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_judge_catches_a_lying_twin(mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """(These tests can fail: each lying twin put in the C's place is caught by `_judge` on the
    documents above.)"""
    monkeypatch.setattr(validation, "NATIVE_FORM", MUTANTS[mutant])
    caught = 0
    for base in FORMED:
        docs = [set_at(base, ("credentialSubject", "name"), "\U0001f600" * 201)]
        docs += [{**base, "extra": "x"}]
        for path in list(paths(base))[1:]:
            value = get_at(base, path)
            if isinstance(value, str):
                docs += [set_at(base, path, v) for v in (value + "\n", 1, True, None, 1.0)]
        for doc in docs:
            try:
                _judge(doc)
            except AssertionError:
                caught += 1
    assert caught > 0, mutant
