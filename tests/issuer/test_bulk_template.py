"""The bulk template issues exactly what the generic path issues, and CSV records are found
exactly as the ``csv`` module reads them.

* `_bulkcred.BulkTemplate.issue_one` splices pre-canonicalized constant members with the row's
  members: for generated requests of every kind its bytes are those of `_cred.issue_document`
  with the same credential id (Ed25519 is deterministic), i.e. RFC 8785 (checked with the
  ``rfc8785`` reference too), and it never accepts a request the generic path refuses.
* `BulkTemplate.issue_rows` gives the same outcome per row (accepted, or refused with the same
  field and message) as `_cred.issue_many` row by row; a row that cannot be canonicalized
  (which fails a whole `issue_many` batch) is that row's error, not the chunk's failure.
* `bulk.read_record` splits CSV text written by ``csv.writer`` (quotes, commas, newlines,
  CRLF inside fields) into the records ``csv.reader`` reads, each starting at the byte offset
  the resume cursor stores.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity, merkle
from talentproof.credential.errors import CredentialError
from talentproof.credential.examples import PERSON
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer import _bulkcred, _bulkworker, _cred, bulk

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
OTHER = Ed25519SigningKey.from_seed(bytes(range(1, 33))).public_key.did_key
IDENTITY = _cred.IssuerIdentity(
    "did:web:uni.example%3A8443:institutions:uni",
    "Uni of Tests",
    "https://uni.example:8443/institutions/uni/status",
)
SIGNER = _cred.Signer(b"\x09" * 32, IDENTITY.did)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, 654321, tzinfo=dt.UTC)


def _person() -> dict[str, Any]:
    """The sample person's subject fields (a fresh copy)."""
    return orjson.loads(orjson.dumps(PERSON))


def _degree(text: str) -> dict[str, Any]:
    return {
        "id": HOLDER,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": text,
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
        **_person(),
    }


def _employment(text: str) -> dict[str, Any]:
    return {
        "id": HOLDER,
        "employment": {
            "type": "Employment",
            "employer": {"name": "Uni of Tests", "registrationId": "HK-1"},
            "role": text,
            "seniority": "senior",
            "startDate": "2021-01-04",
            "responsibilities": ["custody\nsettlement", text],
            "domains": ["digital assets"],
        },
        **_person(),
    }


def _badge(text: str) -> dict[str, Any]:
    return {
        "id": HOLDER,
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "urn:uuid:0f3c2a4e-1111-4222-8333-444455556666",
            "type": ["Achievement"],
            "name": text,
            "description": "Smart-contract security",
            "criteria": {"narrative": "Passed the assessment"},
            "achievementType": "Certificate",
        },
        **_person(),
    }


SUBJECTS = {
    "DegreeCredential": _degree,
    "EmploymentCredential": _employment,
    "OpenBadgeCredential": _badge,
}
TEMPLATES = {
    kind: _bulkcred.BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW)
    for kind in _cred.KINDS
}

# text that exercises JCS: escapes, quotes, backslashes, non-BMP, code points >= U+E000 (key
# order), JSON-looking text, and the empty string (schema: minLength 1)
_text = st.one_of(
    st.text(min_size=0, max_size=12),
    st.sampled_from(
        [
            "Fintech",
            'a"b\\c',
            "\u2028\x00\x1f",
            "\ue000\uffff",
            "1e5",
            "null",
            "x" * 501,
            "😀 Ünï",
            "",
        ]
    ),
)
_stamp = st.one_of(
    st.just(None),
    st.sampled_from(
        [
            "2026-01-01T00:00:00Z",
            "2027-01-01T00:00:00+08:00",
            "2025-13-01T00:00:00Z",
            "2026-01-01",
            "",
            "2020-02-29T23:59:59.5Z",
        ]
    ),
    st.integers(0, 5),
)


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(_cred.KINDS))
    subject = SUBJECTS[kind](draw(_text))
    mutation = draw(
        st.sampled_from(
            [
                "none",
                "none",
                "extra",
                "drop",
                "holder",
                "level",
                "highkey",
                "number",
                "party",
                "facts",
            ]
        )
    )
    inner = next(v for k, v in subject.items() if isinstance(v, dict))
    if mutation == "extra":
        subject["unexpected"] = draw(_text)
    elif mutation == "drop":
        inner.pop(sorted(inner)[draw(st.integers(0, len(inner) - 1))])
    elif mutation == "holder":
        subject["id"] = draw(st.sampled_from([OTHER + "#x", "did:key:z6Mkbad", OTHER, 7]))
    elif mutation == "level":
        inner["type"] = draw(_text)
    elif mutation == "highkey":
        inner["\ue001" + draw(_text)] = "v"
    elif mutation == "party":  # the institution named in the subject: bound to the issuer
        party = inner.get("institution") or inner.get("employer")
        if isinstance(party, dict):
            change = draw(
                st.sampled_from(["other-name", "same-name", "no-name", "own-id", "other-id"])
            )
            if change == "other-name":
                party["name"] = draw(st.sampled_from(["OSL", "Uni of Testing", "Uni of Tests!x"]))
            elif change == "same-name":
                party["name"] = draw(
                    st.sampled_from(["UNI of tests", " uni-of-tests. ", "Uni of Tests"])
                )
            elif change == "no-name":
                party.pop("name", None)
            elif change == "own-id":
                party["id"] = IDENTITY.did
            else:
                party["id"] = draw(st.sampled_from(["did:web:osl.com", "https://uni.example/"]))
    elif mutation == "facts":  # impossible or future dates
        date_key = next((k for k in ("awardDate", "startDate") if k in inner), None)
        if date_key is not None:
            inner[date_key] = draw(
                st.sampled_from(
                    ["2023-02-30", "2026-05-05", "2099-01-01", "2026-05-04", "2019-02-29"]
                )
            )
            if date_key == "startDate" and draw(st.booleans()):
                inner["endDate"] = draw(st.sampled_from(["2020-12-31", "2021-01-04", "2027-01-01"]))
    elif mutation == "number":
        # numbers JSON can carry back: integers outside +-(2**53 - 1) are refused when signing;
        # an integral float beyond them would be written as such an integer (not tested here)
        inner["n"] = draw(
            st.one_of(
                st.integers(), st.floats(-(2.0**53), 2.0**53, exclude_min=True, exclude_max=True)
            )
        )
    request: dict[str, Any] = {"credentialSubject": subject}
    for key, strategy in (
        ("validFrom", _stamp),
        ("validUntil", _stamp),
        ("name", _text),
        ("description", _text),
    ):
        value = draw(st.one_of(st.just(None), strategy))
        if value is not None:
            request[key] = value
    return kind, request


def _generic(kind: str, request: dict[str, Any], index: int, cid: str) -> bytes | None:
    try:
        return _cred.issue_document(
            kind,
            request,
            identity=IDENTITY,
            signer=SIGNER,
            status_index=index,
            now=NOW,
            credential_id=cid,
        )[1]
    except CredentialError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests(), st.integers(0, 2**40))
def test_template_bytes_are_the_generic_bytes(case: tuple[str, dict[str, Any]], index: int) -> None:
    kind, request = case
    template = TEMPLATES[kind]
    assert template.enabled
    cid = _cred.new_credential_id()
    fast = template.issue_one(request, index, credential_id=cid)
    slow = _generic(kind, request, index, cid)
    if fast is None:
        return  # the caller issues it through the generic path
    assert slow is not None, "the template accepted a request the generic path refuses"
    got_id, raw, digest = fast
    assert got_id == cid and raw == slow
    doc = orjson.loads(raw)
    # numbers read as doubles, as JCS sees them (an integral 2**53 written by a float is fine)
    assert raw == rfc8785.dumps(json.loads(raw, parse_int=float))
    assert digest == merkle.credential_hash(doc)
    integrity.verify(doc, public_key=SIGNER.key.public_key)


def test_template_takes_the_plain_rows_itself() -> None:
    """The fast path really is used (not silently always falling back)."""
    for kind, make in SUBJECTS.items():
        template = TEMPLATES[kind]
        plain = {"credentialSubject": make("Plain text")}
        assert template.issue_one(plain, 3) is not None
        dated = {
            **plain,
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2030-01-01T00:00:00Z",
            "name": "A name",
            "description": "A description",
        }
        assert template.issue_one(dated, 4) is not None
    assert TEMPLATES["DegreeCredential"].issue_one({"credentialSubject": [1]}, 1) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_requests(), min_size=1, max_size=8), st.sampled_from(_cred.KINDS))
def test_issue_rows_has_the_outcomes_of_issue_many(
    cases: list[tuple[str, dict[str, Any]]], kind: str
) -> None:
    rows: list[tuple[int, Any, int]] = [
        (i, request, 100 + i) for i, (_k, request) in enumerate(cases)
    ]
    rows.append((len(rows), ValueError("expected a JSON object, found list"), 999))
    slow: list[Any] = []
    for row in rows:  # the generic path row by row (a row it cannot canonicalize raises)
        try:
            slow += _cred.issue_many(kind, [row], identity=IDENTITY, signer=SIGNER, now=NOW)
        except CredentialError as exc:
            slow.append((row[0], None, b"", b"", "", str(exc)))
    fast = TEMPLATES[kind].issue_rows(rows)
    assert [r[0] for r in fast] == [r[0] for r in slow] == list(range(len(rows)))
    for f, s in zip(fast, slow, strict=True):
        assert (f[1] is None) == (s[1] is None)
        assert f[4:] == s[4:]  # error field and message
        if f[1] is not None:
            doc_f, doc_s = orjson.loads(f[2]), orjson.loads(s[2])
            assert doc_f["id"] == f[1]
            for doc in (doc_f, doc_s):
                doc.pop("id")
                doc["proof"].pop("proofValue")
            assert doc_f == doc_s


def test_sign_block_has_the_outcomes_of_issue_rows() -> None:
    """The worker's loop (JSONL parsing and `issue_one` written out, the rest generic) gives
    each row the outcome `issue_rows` gives it, in row order, numbered from ``first_row``."""
    good = {"credentialSubject": _degree("Good")}
    dated = {**good, "validFrom": "2026-01-01T00:00:00Z", "name": "Named"}
    bad_level = orjson.loads(orjson.dumps(good))
    bad_level["credentialSubject"]["degree"]["level"] = "nursery"
    no_holder = {"credentialSubject": {"degree": _degree("x")["degree"]}}
    # the institution bound in the parsed row itself (`issue_one`'s ``owned``): refused rows
    # untouched, a bound row that fails later reported as the plain path reports it
    other_name, other_id, unnamed = (orjson.loads(orjson.dumps(good)) for _ in range(3))
    other_name["credentialSubject"]["degree"]["institution"]["name"] = "Another University"
    other_id["credentialSubject"]["degree"]["institution"]["id"] = "did:web:other.example"
    unnamed["credentialSubject"]["degree"]["institution"] = {}
    bound_bad = orjson.loads(orjson.dumps(bad_level))
    bound_bad["credentialSubject"]["degree"].pop("institution")
    requests: list[Any] = [
        good,
        b"{not json",
        dated,
        [1, 2],
        bad_level,
        _degree("bare subject"),
        no_holder,
        good,
        "text",
        other_name,
        other_id,
        unnamed,
        bound_bad,
    ]
    records = [r if isinstance(r, bytes) else orjson.dumps(r) for r in requests]
    _bulkworker.init_worker(SIGNER.key.seed, IDENTITY.did, IDENTITY, "DegreeCredential")
    rows, ids, blob, lengths, hashes, errors = _bulkworker.sign_block(
        "jsonl", None, 101, records, [7 + i for i in range(len(records))], NOW
    )
    parsed: list[tuple[int, Any, int]] = []
    for i, record in enumerate(records):
        try:
            parsed.append((101 + i, _bulkworker.row_to_request("jsonl", record, None), 7 + i))
        except ValueError as exc:
            parsed.append((101 + i, ValueError(str(exc)), 7 + i))
    expected = TEMPLATES["DegreeCredential"].issue_rows(parsed)
    assert rows == [r[0] for r in expected if r[1] is not None] == [101, 103, 106, 108, 112]
    assert errors == [(r[0], r[4], r[5]) for r in expected if r[1] is None]
    assert [e[0] for e in errors] == [102, 104, 105, 107, 109, 110, 111, 113]
    assert errors[2][1] == errors[7][1] == "credentialSubject.degree.level"
    assert errors[5][1] == "credentialSubject.degree.institution.name"
    assert errors[6][1] == "credentialSubject.degree.institution.id"
    raws = _bulkworker.split_block(blob, lengths)
    for k, (row, raw) in enumerate(zip(rows, raws, strict=True)):
        doc = orjson.loads(raw)
        assert doc["id"] == ids[k] and hashes[32 * k : 32 * k + 32] == merkle.credential_hash(doc)
        assert doc["credentialStatus"][0]["statusListIndex"] == str(7 + row - 101)
        integrity.verify(doc, public_key=SIGNER.key.public_key)
        want = orjson.loads(next(r[2] for r in expected if r[0] == row))
        for d in (doc, want):
            d.pop("id")
            d["proof"].pop("proofValue")
        assert doc == want


def test_template_refuses_a_schema_it_cannot_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema with top-level keywords beyond properties/required/additionalProperties could
    tie properties together: the template then issues nothing itself (everything generic)."""
    from talentproof.credential.schemas import load_schema

    schema = dict(load_schema("DegreeCredential"))
    schema["dependentRequired"] = {"validUntil": ["name"]}
    from talentproof.credential.issuance import template as issuance_template

    monkeypatch.setattr(issuance_template, "load_schema", lambda kind: schema)
    template = _bulkcred.BulkTemplate("DegreeCredential", identity=IDENTITY, signer=SIGNER, now=NOW)
    assert not template.enabled
    out = template.issue_rows([(0, {"credentialSubject": _degree("x")}, 1)])
    assert out[0][1] is not None  # still issued, by the generic path


# -- CSV records ----------------------------------------------------------------------------------

_cell = st.one_of(
    st.text(st.sampled_from(list("ab ,\"\n\r\t'xé")), max_size=8),
    st.sampled_from(['"', '""', '"a"b', 'a"b', "line1\nline2", "crlf\r\nend", ",", ""]),
)


def _records(data: bytes) -> list[tuple[int, bytes]]:
    handle = io.BytesIO(data)
    out = []
    while True:
        start = handle.tell()
        record = bulk.read_record(handle, "csv")
        if not record:
            return out
        out.append((start, record))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=6),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_csv_records_are_the_rows_csv_reads(rows: list[list[str]], quoting: int, end: str) -> None:
    # csv.writer quotes a field holding a character of its line terminator; a bare "\r" in a
    # field written with "\n" line ends is left unquoted and csv.reader cannot read it back
    assume(end == "\r\n" or not any("\r" in cell for row in rows for cell in row))
    text = io.StringIO()
    csv.writer(text, quoting=quoting, lineterminator=end).writerows(rows)
    data = text.getvalue().encode()
    records = _records(data)
    assert len(records) == len(rows)
    for (start, record), row in zip(records, rows, strict=True):
        assert data[start:].startswith(record)  # a record starts where the cursor points
        parsed = next(csv.reader([record.decode().rstrip("\r\n")]))
        # csv.writer writes a lone empty field as "" so it reads back as ['']
        assert parsed == row or (row == [""] and parsed == [])
    assert sum(len(r) for _s, r in records) == len(data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(st.sampled_from(list("ab ,\"\n\r\t'xé\0;")), max_size=6), min_size=1, max_size=5
    ),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_csv_fields_are_the_ones_csv_reads(cells: list[str], quoting: int) -> None:
    """The worker splits a record without quotes at its commas: the fields ``csv.reader``
    reads, whatever the record (a row's request holds each non-empty field under its column;
    a row with another number of fields is refused)."""
    text = io.StringIO()
    csv.writer(text, quoting=quoting, lineterminator="").writerow(cells)
    for record in (text.getvalue(), ",".join(cells)):  # written by csv, and raw
        try:
            fields = next(csv.reader([record]), [])
        except csv.Error as exc:
            expected: Any = type(exc)
            header = [f"c{i}" for i in range(len(cells))]
        else:
            header = [f"c{i}" for i in range(len(fields))]
            expected = {c: v for c, v in zip(header, fields, strict=True) if v != ""}
        try:
            got: Any = bulk.row_to_request("csv", record.encode(), header)["credentialSubject"]
        except csv.Error as exc:
            got = type(exc)
        assert got == expected


def test_csv_quote_rules_match_the_csv_module() -> None:
    """A quote opens a field only at its start; elsewhere it is an ordinary character."""
    data = b'id,note\nx,5" screen\ny,"two\nlines"\nz,"a ""quoted"" word"\n'
    records = [r for _s, r in _records(data)]
    assert records == [
        b"id,note\n",
        b'x,5" screen\n',
        b'y,"two\nlines"\n',
        b'z,"a ""quoted"" word"\n',
    ]
    assert [next(csv.reader([r.decode()])) for r in records[1:]] == [
        ["x", '5" screen'],
        ["y", "two\nlines"],
        ["z", 'a "quoted" word'],
    ]


def test_unclosed_quote_and_oversized_record_are_refused() -> None:
    with pytest.raises(ValueError, match="not closed"):
        _records(b'a,b\n1,"open\n2,3\n')
    with pytest.raises(ValueError, match="longer than"):
        _records(b'a,"' + b"x\n" * (bulk.MAX_RECORD_BYTES // 2 + 1) + b'"\n')


def test_csv_columns_with_indexes_build_arrays() -> None:
    header = [
        "id",
        "employment.domains[1]",
        "employment.domains[0]",
        "employment.role",
        "employment.responsibilities[0]",
        "employment.responsibilities[1]",
        "validFrom",
    ]
    request = _bulkworker.row_to_request(
        "csv", b'did:key:z,b,a,Engineer,"custody\nsettlement",,2026-01-01T00:00:00Z', header
    )
    assert request == {
        "credentialSubject": {
            "id": "did:key:z",
            "employment": {
                "domains": ["a", "b"],
                "role": "Engineer",
                "responsibilities": ["custody\nsettlement"],
            },
        },
        "validFrom": "2026-01-01T00:00:00Z",
    }
    for bad in (["a.b", "a[0]"], ["a[0]", "a"], ["a[0].b", "c"]):
        with pytest.raises(ValueError, match="conflicts"):
            _bulkworker.row_to_request("csv", b"1,2", bad)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(_cell, min_size=1, max_size=3), min_size=0, max_size=8),
    st.lists(st.sampled_from(["", "  ", "\r"]), max_size=3),
    st.integers(1, 4),
    st.sampled_from(["csv", "jsonl"]),
)
def test_read_chunk_takes_the_records_read_record_takes(
    rows: list[list[str]], blanks: list[str], limit: int, fmt: str
) -> None:
    assume(not any("\r" in cell for row in rows for cell in row))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    lines = text.getvalue().splitlines(keepends=True)
    for i, blank in enumerate(blanks):  # blank lines between records are no rows
        lines.insert(min(i * 2, len(lines)), blank + "\n")
    data = "".join(lines).encode()
    if fmt == "jsonl":
        data = data.replace(b'"', b"'")  # one record per line
    expected = [(start, r.rstrip(b"\r\n")) for start, r in _records_of(data, fmt)]
    # each record's first line, counted from 1 as an editor shows the file
    expected_lines = [data[:start].count(b"\n") + 1 for start, r in expected if r.strip()]
    handle = io.BytesIO(data)
    taken: list[bytes] = []
    lines: list[int] = []
    next_line = 1
    while True:
        chunk = bulk.read_chunk(handle, fmt, limit)
        assert len(chunk.records) <= limit
        if not chunk.read_any:
            break
        lines += [bulk.line_of(k, next_line, chunk.starts) for k in range(len(chunk.records))]
        taken += chunk.records
        next_line += chunk.lines
        # the line count follows the cursor, which is where the next non-blank record (or
        # blank lines before it) starts
        assert next_line == data[: handle.tell()].count(b"\n") + 1
        rest = [start for start, r in expected if r.strip()][len(taken) :]
        if rest:
            assert handle.tell() <= rest[0]
    assert taken == [r for _s, r in expected if r.strip()]
    assert lines == expected_lines
    assert handle.tell() == len(data)


def test_line_of_a_record_counts_blank_lines_and_quoted_line_breaks() -> None:
    data = b'id,note\n\nx,"two\nlines"\ny,one\n\n\nz,"three\r\nline\nbreaks"\nw,last\n'
    handle = io.BytesIO(data)
    bulk.read_record(handle, "csv")  # the header, line 1
    chunk = bulk.read_chunk(handle, "csv", 10)
    assert chunk.records[0].startswith(b"x,") and chunk.records[3] == b"w,last"
    assert [bulk.line_of(k, 2, chunk.starts) for k in range(4)] == [3, 5, 8, 11]
    assert chunk.lines == 10 and handle.tell() == len(data)


def _records_of(data: bytes, fmt: str) -> list[tuple[int, bytes]]:
    handle = io.BytesIO(data)
    out = []
    while True:
        start = handle.tell()
        record = bulk.read_record(handle, fmt)
        if not record:
            return out
        out.append((start, record))


def test_new_credential_ids_are_v7_uuids_in_increasing_order() -> None:
    import uuid

    ids = _bulkcred.new_credential_ids(6000)
    assert len(set(ids)) == 6000 and ids == sorted(ids)
    for text in ids:
        parsed = uuid.UUID(text.removeprefix("urn:uuid:"))
        assert text == "urn:uuid:" + str(parsed)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert {text[28] for text in ids} == set("89ab")


def test_a_row_that_cannot_be_canonicalized_fails_alone() -> None:
    badge = _badge("Security")
    badge["achievement"]["score"] = 2**60  # open part of the Open Badge schema: valid JSON,
    rows = [
        (0, {"credentialSubject": _badge("A")}, 1),
        (1, {"credentialSubject": badge}, 2),
        (2, {"credentialSubject": _badge("B")}, 3),
    ]  # but beyond JCS's integers
    with pytest.raises(CredentialError):
        _cred.issue_many("OpenBadgeCredential", rows, identity=IDENTITY, signer=SIGNER, now=NOW)
    out = TEMPLATES["OpenBadgeCredential"].issue_rows(rows)
    assert [(r[0], r[1] is not None) for r in out] == [(0, True), (1, False), (2, True)]
    assert "2**53" in out[1][5]
