"""A JSONL record checked and signed from its bytes in C (`BulkTemplate.issue_record`,
credential/native_sign.c ``issue_record``) against its Python twin (orjson, `issue_one`).

The C recognizer answers only for a subject-only record it can show the Python path signs with
the very same bytes; everything else is None and the twin decides. So for any block of records,
`_bulkworker.sign_job_block` with the C path and without it (the template built with
``NATIVE_SIGN`` None) must give the same result byte for byte: rows, ids, documents, lengths,
hashes, and every refused row's error (field and words). The records here are generated from
the subject schemas: valid ones (degree and employment, unicode, escapes, both record forms),
each schema constraint violated one at a time, wrong types, extra members, duplicate keys,
hostile bytes (BOM, invalid UTF-8, lone surrogates, raw controls, trailing text), impossible
dates, other institutions, holders that are not Ed25519 keys, levels not accredited. Each test
also asserts how many records the C path signed itself, so a recognizer declining everything
fails.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import plain
from talentproof.credential.issuance import template as template_module
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.schemas import load_schema
from talentproof.issuer import _bulkcred, _bulkworker, _cred

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = _cred.IssuerIdentity("did:web:uni.example", "Uni of Tests", "https://uni.example/s")
SEED = b"\x07" * 32
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
DEGREE, EMPLOYMENT = "DegreeCredential", "EmploymentCredential"
OTHER_JOB = (b"\x08" * 32, IDENTITY.did, IDENTITY, DEGREE, (DEGREE,), "other")
_SPARE_IDS = [f"urn:uuid:00000000-0000-7000-8000-{i:012d}" for i in range(4096)]


def _job(kind: str, accredited: tuple[str, ...] | None = None) -> _bulkworker.JobContext:
    return (SEED, IDENTITY.did, IDENTITY, kind, accredited or (kind,), "tests")


def degree_subject() -> dict[str, Any]:
    return {
        "id": HOLDER,
        **copy.deepcopy(PERSON),
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Financial Technology",
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
    }


def employment_subject() -> dict[str, Any]:
    return {
        "id": HOLDER,
        **copy.deepcopy(PERSON),
        "employment": {
            "type": "Employment",
            "employer": {"name": "Uni of Tests", "registrationId": "BR 1234"},
            "role": "Analyst",
            "seniority": "senior",
            "startDate": "2019-03-01",
            "endDate": "2024-02-29",
            "responsibilities": ["Risk models", "Reports"],
            "domains": ["Finance"],
        },
    }


SUBJECTS = {DEGREE: degree_subject, EMPLOYMENT: employment_subject}


class _Counted:
    """The real C module, counting the records it signed itself."""

    def __init__(self, module: Any) -> None:
        self.module, self.here = module, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def issue_record(self, *args: Any) -> Any:
        done = self.module.issue_record(*args)
        self.here += done is not None
        return done


def _both(
    patch: pytest.MonkeyPatch, job: _bulkworker.JobContext, records: list[bytes]
) -> tuple[Any, Any, int]:
    """(the block with the C path, the block without it, the records C signed itself)."""
    ids = _bulkcred.new_credential_ids(len(records))
    patch.setattr(_bulkcred, "new_credential_ids", lambda n: ids[:n])
    indexes = list(range(100, 100 + len(records)))
    counted = _Counted(template_module.NATIVE_SIGN)
    out = []
    try:
        for module in (counted, None):
            with pytest.MonkeyPatch.context() as inner:
                # the rows the generic path signs take ids of their own: the same in both runs
                more = iter(_SPARE_IDS)
                inner.setattr(plain, "new_credential_id", lambda more=more: next(more))
                inner.setattr(template_module, "NATIVE_SIGN", module)
                # another job first: the next block builds its template again (C or not)
                _bulkworker.sign_job_block(OTHER_JOB, "jsonl", None, 1, [], [], NOW)
                out.append(_bulkworker.sign_job_block(job, "jsonl", None, 1, records, indexes, NOW))
    finally:
        _bulkworker.warm_up()  # (which forgets the job's state: other tests start clean)
    return out[0], out[1], counted.here


def _assert_twins(
    patch: pytest.MonkeyPatch, job: _bulkworker.JobContext, records: list[bytes]
) -> tuple[Any, int]:
    fast, twin, signed = _both(patch, job, records)
    assert fast[0] == twin[0], "the same rows signed"
    assert fast[5] == twin[5], "the same rows refused, with the same errors"
    assert fast == twin, "byte for byte"
    return fast, signed


def test_the_recognizer_is_built_for_degree_and_employment() -> None:
    assert template_module.NATIVE_SIGN is not None, "credential/native_sign.c is not built"
    for kind in (DEGREE, EMPLOYMENT):
        template = _bulkcred.BulkTemplate(
            kind, identity=IDENTITY, signer=_cred.Signer(SEED, IDENTITY.did), now=NOW
        )
        assert template.native_recognizer is not None


@pytest.mark.parametrize("kind", [DEGREE, EMPLOYMENT])
def test_valid_records_are_signed_here_and_verify(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = SUBJECTS[kind]()
    records = [
        orjson.dumps(subject),
        orjson.dumps({"credentialSubject": subject}),
        json.dumps(subject, ensure_ascii=True, indent=1).encode(),
        b" \t" + orjson.dumps(subject) + b"\r\n",
    ]
    fast, signed = _assert_twins(monkeypatch, _job(kind), records)
    assert signed == len(records) and fast[5] == []
    key = Ed25519SigningKey.from_seed(SEED).public_key
    for raw in _bulkworker.split_block(fast[2], fast[3]):
        doc = orjson.loads(raw)
        integrity.verify(doc, public_key=key)
        party = doc["credentialSubject"][kind.removesuffix("Credential").lower()]
        bound = party.get("institution") or party.get("employer")
        assert bound == {**bound, "id": IDENTITY.did, "name": IDENTITY.name}


# -- the schema's constraints, violated one at a time -----------------------------------------

_WRONG_TYPES: list[Any] = [1, 1.5, -0.0, None, True, False, [], {}, "", ["x"], {"a": "b"}]


def _paths(value: Any, schema: dict[str, Any], path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """(path, the value there or a marker for an absent member, its schema) of every member the
    schema names (present or not), depth first."""
    yield path, value, schema
    if schema.get("type") == "object" and isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            yield from _paths(value.get(key, _ABSENT), sub, (*path, key))
    if schema.get("type") == "array" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, schema["items"], (*path, i))


_ABSENT = object()


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for step in path[:-1]:
        target = target[step]
    if value is _ABSENT:
        if isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


def _violations(schema: dict[str, Any]) -> Iterator[Any]:
    """Values that break ``schema`` one constraint at a time (and some that keep it)."""
    yield from _WRONG_TYPES
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        yield values[0] + " "
        yield values[0].upper()
        yield values[0][:-1]
    if schema.get("type") == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if low:
            yield "x" * (low - 1)
        if high:
            yield "x" * (high + 1)
            yield "é" * high  # at the limit in code points, beyond it in bytes
            yield "\U0001f600" * (high + 1)
        if "pattern" in schema:
            yield "x"
            yield "2025-02-30"
            yield "did:key:z6Mk" + "1" * 44
            yield "hmac-sha256:" + "A" * 42
            yield "hmac-sha256:" + "A" * 43 + "\n"
            yield "HKK"
            yield "hk"
            yield " CHAN"
            yield "CHAN "
            yield "CHAN\u00a0"
            yield "\u3000CHAN"
            yield "CH\x85AN"
            yield "CH\u2028AN"
            yield "did:web:uni example"
            yield "1did:web:x"
    if schema.get("type") == "array":
        yield []
        yield ["x"] * (schema.get("maxItems", 30) + 1)
        yield ["x", 1]
        yield [""]
    if schema.get("type") == "object":
        yield {}


def _records_breaking(kind: str) -> Iterator[bytes]:
    subject = SUBJECTS[kind]()
    schema = load_schema(kind)["properties"]["credentialSubject"]
    for path, value, sub in list(_paths(subject, schema)):
        if path:
            yield orjson.dumps(_set(subject, path, _ABSENT))
        if isinstance(value, dict) or (value is _ABSENT and sub.get("type") == "object"):
            base = {} if value is _ABSENT else value
            yield orjson.dumps(_set(subject, path, {**base, "extra": "x"}))
        for bad in _violations(sub):
            yield orjson.dumps(_set(subject, path, bad))


@pytest.mark.parametrize("kind", [DEGREE, EMPLOYMENT])
def test_each_constraint_broken_is_refused_by_the_twin_alone(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [orjson.dumps(SUBJECTS[kind]()), *_records_breaking(kind)]
    assert len(records) > 150
    fast, signed = _assert_twins(monkeypatch, _job(kind), records)
    refused = {row for row, _field, _message in fast[5]}
    assert len(refused) > 100  # most of them are refused, by the twin, in its words
    assert signed >= 1 and signed <= len(fast[0])


# -- hostile bytes ----------------------------------------------------------------------------


def _hostile(kind: str) -> Iterator[tuple[bytes, bool]]:
    """(record, whether the C path must sign it itself)."""
    subject = SUBJECTS[kind]()
    text = orjson.dumps(subject)
    outer = "degree" if kind == DEGREE else "employment"
    party = "institution" if kind == DEGREE else "employer"
    field = "fieldOfStudy" if kind == DEGREE else "role"

    def with_field(value: str) -> dict[str, Any]:
        return _set(subject, (outer, field), value)

    def with_name(value: str) -> dict[str, Any]:
        return _set(subject, ("name",), value)

    # signed here: texts the schema accepts, written plainly or escaped
    for value in (
        "é中\U0001f600",
        'q"uote',
        "back\\slash",
        "tab\tnl\n\r\x08\x0c",
        "\x00\x1f\x7f",
        "\u2028\u2029",
        "\ufeff",
        "\U0010ffff",
        "/slash/",
        "x" * 500,
        "\U0001f600" * 500,  # 500 code points (1,000 UTF-16 units): at the limit
        "é" * 500,
    ):
        yield orjson.dumps(with_field(value)), True
        yield json.dumps(with_field(value), ensure_ascii=True).encode(), True
    for value in ("陳大文", "Ünal Öz", "O'Brien-Smith", "CHAN\tTai", "A", "x" * 200, "🙂" * 200):
        yield orjson.dumps(with_name(value)), "\t" not in value
    yield text.replace(b'"name"', b'"n\\u0061me"', 1), True  # an escaped key
    yield text.replace(b"Financial", b"Fin\\/ancial"), kind == DEGREE
    yield json.dumps(subject, separators=(" , ", " : ")).encode(), True
    yield orjson.dumps(_set(subject, (outer, party, "id"), IDENTITY.did)), True
    # the Python path decides (signs or refuses): each must come out as the twin's
    yield b"\xef\xbb\xbf" + text, False  # BOM
    yield text + b"x", False
    yield text + b"{}", False
    yield text[:-1], False
    yield b"", False
    yield b"[]", False
    yield b'"text"', False
    yield b"{}", False
    yield b'{"credentialSubject": ' + text + b', "name": "A degree"}', False
    yield b'{"credentialSubject": ' + text + b', "credentialSubject": ' + text + b"}", False
    yield b'{"credentialSubject": "x"}', False
    yield b'{"credentialSubject": {}}', False
    yield b'{"name":"X",' + text[1:], False  # a duplicate key (orjson keeps the last)
    yield text[:-1] + b',"name":"Other Person"}', False
    yield text.replace(b'"master"', b'"master","level":"bachelor"'), False
    yield text.replace(b"Financial", b"Fin\xc3ancial"), False  # invalid UTF-8
    yield text.replace(b"Financial", b"Fin\xc0\xafancial"), False  # overlong
    yield text.replace(b"Financial", b"Fin\xed\xa0\x80ancial"), False  # an encoded surrogate
    yield text.replace(b"Financial", b"Fin\xf4\x90\x80\x80ancial"), False  # > U+10FFFF
    yield text.replace(b"Financial", b"Fin\\ud800ancial"), False  # lone surrogates
    yield text.replace(b"Financial", b"Fin\\udc00ancial"), False
    yield text.replace(b"Financial", b"Fin\\ud83d\\u0041ancial"), False
    yield text.replace(b"Financial", b"Fin\\ud83d\\ude00ancial"), True
    yield text.replace(b"Financial", b"Fin\\xancial"), False
    yield text.replace(b"Financial", b"Fin\\u00Gancial"), False
    yield text.replace(b"Financial", b"Fin\x01ancial"), False  # a raw control
    yield text.replace(b"Financial", b"Fin\nancial"), False
    yield text.replace(b'"Uni of Tests"', b'"UNI OF TESTS"'), False  # same_name: Python signs
    yield text.replace(b'"Uni of Tests"', b'"Uni of Tests "'), False
    yield text.replace(b'"Uni of Tests"', b'"Other University"'), False
    yield orjson.dumps(_set(subject, (outer, party, "id"), "did:web:other.example")), False
    yield orjson.dumps(_set(subject, (outer, party), None)), False
    yield orjson.dumps(_set(subject, (outer, party), _ABSENT)), kind == DEGREE
    yield orjson.dumps(_set(subject, (outer,), _ABSENT)), False
    yield orjson.dumps({**subject, "extra": {"deep": [[[[[[["x"]]]]]]]}}), False
    yield orjson.dumps(_set(subject, ("id",), HOLDER + "#" + HOLDER[8:])), False
    yield orjson.dumps(_set(subject, ("id",), "did:key:z6Mk" + "z" * 44)), False
    yield orjson.dumps(_set(subject, ("id",), "did:key:z6Mk" + "2" * 44)), False
    yield orjson.dumps(_set(subject, ("id",), "did:key:z6LS" + HOLDER[12:])), False
    yield orjson.dumps(_set(subject, ("id",), HOLDER[:-1] + "0")), False
    for date in (
        "2025-02-29",
        "2024-02-29",
        "1900-02-29",
        "2000-02-29",
        "0000-01-01",
        "2026-05-04",
        "2026-05-05",
        "2099-01-01",
        "1899-12-31",
        "1900-01-01",
        "1990-04-01",
        "1990-04-02",
        "2025-13-01",
        "2025-04-31",
        "2025-1-01",
    ):
        yield orjson.dumps(_set(subject, ("birthDate",), date)), False
        start = "awardDate" if kind == DEGREE else "startDate"
        yield orjson.dumps(_set(subject, (outer, start), date)), False
        if kind == EMPLOYMENT:
            yield orjson.dumps(_set(subject, (outer, "endDate"), date)), False
            yield orjson.dumps(_set(subject, (outer, "endDate"), _ABSENT)), True
    yield b"1" * 100, False
    yield b'{"id": ' * 40 + b"1" + b"}" * 40, False
    yield b"  " + text + b"\n\n", True


@pytest.mark.parametrize("kind", [DEGREE, EMPLOYMENT])
def test_hostile_records_come_out_as_the_twins(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = list(_hostile(kind))
    records = [record for record, _ in cases]
    _fast, signed = _assert_twins(monkeypatch, _job(kind), records)
    must = sum(here for _, here in cases)
    assert signed >= must  # (some left to Python may be signed here too: dates that are fine)
    for record, here in cases:  # one at a time: the C path signs each that it must
        if here:
            template = _bulkcred.BulkTemplate(
                kind, identity=IDENTITY, signer=_cred.Signer(SEED, IDENTITY.did), now=NOW
            )
            assert template.issue_record(record, 1, "urn:uuid:x") is not None, record


@pytest.mark.parametrize(
    "accredited",
    [
        ("DegreeCredential#level=master",),
        ("DegreeCredential#level=bachelor", "DegreeCredential#level=doctorate"),
        ("DegreeCredential#level=master", "DegreeCredential"),
    ],
)
def test_levels_not_accredited_are_refused_by_the_twin(
    accredited: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    records = []
    for level in ("associate", "bachelor", "master", "doctorate", "Master", "nursery"):
        records.append(orjson.dumps(_set(degree_subject(), ("degree", "level"), level)))
    records.append(orjson.dumps(_set(degree_subject(), ("degree", "level"), _ABSENT)))
    fast, signed = _assert_twins(monkeypatch, _job(DEGREE, accredited), records)
    assert signed == len(fast[0]) and signed >= 1
    refused = [row for row, _field, message in fast[5] if "accredited" in message]
    assert len(refused) == (0 if DEGREE in accredited else 7 - len(accredited))


def test_employment_rows_of_a_degree_scoped_issuer_are_the_twins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (levels () for a kind without levels: the Python path lets every row through)
    job = _job(EMPLOYMENT, ("EmploymentCredential#level=master",))
    records = [orjson.dumps(employment_subject())] * 3
    fast, _signed = _assert_twins(monkeypatch, job, records)
    assert fast[0] == [1, 2, 3]


# -- generated ----------------------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "x", "é", "\u2028", "\x00", "\ufeff", "\U0001f600", "\ud800"]),
)
_VALUE = st.recursive(
    st.one_of(_TEXT, st.integers(-3, 3), st.none(), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _records(draw: st.DrawFn, kind: str) -> bytes:
    subject = SUBJECTS[kind]()
    schema = load_schema(kind)["properties"]["credentialSubject"]
    paths = [p for p, _v, _s in _paths(subject, schema) if p]
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(paths))
        try:
            subject = _set(subject, path, draw(st.one_of(_VALUE, st.just(_ABSENT))))
        except (KeyError, IndexError, TypeError):
            pass
    how = draw(st.sampled_from(["orjson", "ascii", "wrapped", "spaced"]))
    if how == "orjson":
        try:
            return orjson.dumps(subject)
        except TypeError:  # a lone surrogate: written escaped below
            how = "ascii"
    if how == "wrapped":
        return json.dumps({"credentialSubject": subject}).encode()
    if how == "spaced":
        return json.dumps(subject, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(subject).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(DEGREE), min_size=1, max_size=12), st.binary(max_size=40))
def test_generated_degree_records_are_the_twins(records: list[bytes], noise: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _assert_twins(patch, _job(DEGREE), [*records, noise, orjson.dumps(degree_subject())])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(EMPLOYMENT), min_size=1, max_size=12))
def test_generated_employment_records_are_the_twins(records: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _assert_twins(patch, _job(EMPLOYMENT), records)


def test_the_native_schema_declines_what_it_cannot_check() -> None:
    native_schema = template_module.native_schema
    assert native_schema({"type": "string", "pattern": "^a$"}) is None
    assert native_schema({"type": "string", "format": "date"}) is None
    assert native_schema({"type": "number"}) is None
    assert native_schema({"type": ["string", "null"]}) is None
    assert native_schema({"type": "object", "properties": {}}) is None  # open
    assert native_schema({"enum": ["a", 1]}) is None
    assert (
        native_schema({"type": "array", "items": {"type": "string"}, "uniqueItems": True}) is None
    )
    assert native_schema({"type": "array", "prefixItems": [], "items": {"type": "string"}}) is None
    closed = {"type": "object", "additionalProperties": False, "required": ["b", "a"]}
    assert native_schema({**closed, "properties": {"b": {"const": "x"}}}) is None  # a missing
    assert native_schema(
        {**closed, "properties": {"b": {"const": "x"}, "a": {"type": "string", "maxLength": 3}}}
    ) == (0, (b"a", b"b"), ((1, 0, 3, 0), (2, (b"x",))), 0b11)
    with pytest.raises(ValueError, match="expected a compiled schema node"):
        template_module.NATIVE_SIGN.recognizer(
            (0, (b"a",), ((9, 0),), 1), None, (b"d", b"a", b""), 20260101, b"id", (b"d", b"l")
        )


def test_no_recognizer_where_the_subject_schema_admits_another_kinds_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The C recognizer checks a record against the subject's schema only; it does not look for
    another kind's claim member (`types.KIND_CLAIMS`, refused by `types.require_one_kind`), which
    a closed degree or employment subject cannot hold. Should a subject schema admit one (here a
    degree schema widened to name ``employment``), no recognizer is built and such a record goes
    to the Python path, which refuses it (as the template's `_foreign_claims` does for a badge):
    the C must not sign a degree holding an employment."""
    real = template_module.load_schema

    def widened(kind: str) -> dict[str, Any]:
        schema = copy.deepcopy(real(kind))
        if kind == DEGREE:
            subject = schema["properties"]["credentialSubject"]
            subject["properties"]["employment"] = {"type": "string", "maxLength": 100}
        return schema

    monkeypatch.setattr(template_module, "load_schema", widened)
    template = _bulkcred.BulkTemplate(
        DEGREE, identity=IDENTITY, signer=_cred.Signer(SEED, IDENTITY.did), now=NOW
    )
    subject = {**degree_subject(), "employment": "ten years at HSBC"}
    assert template.issue_record(orjson.dumps(subject), 1, "urn:uuid:x") is None
    assert template.issue_one({"credentialSubject": subject}, 1, "urn:uuid:x") is None


def test_the_template_looks_for_another_kinds_claim_a_pattern_admits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The template's rows look for another kind's claim member wherever the subject schema may
    admit it, not only where ``additionalProperties`` is not false: a closed degree subject
    whose ``patternProperties`` match ``employment`` admits one too, and the template must not
    sign a degree holding an employment (the plain path's `types.require_one_kind` refuses it)."""
    real = template_module.load_schema

    def widened(kind: str) -> dict[str, Any]:
        schema = copy.deepcopy(real(kind))
        if kind == DEGREE:
            subject = schema["properties"]["credentialSubject"]
            subject["patternProperties"] = {"^emp": {"type": "string", "maxLength": 100}}
        return schema

    monkeypatch.setattr(template_module, "load_schema", widened)
    template = _bulkcred.BulkTemplate(
        DEGREE, identity=IDENTITY, signer=_cred.Signer(SEED, IDENTITY.did), now=NOW
    )
    subject = {**degree_subject(), "employment": "ten years at HSBC"}
    assert template.issue_one({"credentialSubject": subject}, 1, "urn:uuid:x") is None
    assert template.issue_one({"credentialSubject": degree_subject()}, 1, "urn:uuid:y") is not None
