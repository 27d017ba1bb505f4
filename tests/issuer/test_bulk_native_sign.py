"""A signing process's block, with the C twin (credential/native_sign.c) and without it.

`_bulkworker.sign_job_block` signs each row through `BulkTemplate.issue_one`, whose byte work
runs in C when the extension is built (`template.NATIVE_SIGN`) and in Python otherwise. For the
same rows, ids and time, both must give the same block byte for byte (rows, ids, documents,
lengths, hashes, errors): JSONL and CSV rows, hostile texts the schema accepts among them, and
rows the C path declines or the checks refuse. tests/credential/test_native_sign.py compares
the C functions themselves with their twin.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import template as template_module
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer import _bulkcred, _bulkworker, _cred

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = _cred.IssuerIdentity("did:web:uni.example", "Uni of Tests", "https://uni.example/s")
SEED = b"\x05" * 32
JOB = (SEED, IDENTITY.did, IDENTITY, "DegreeCredential", ("DegreeCredential",), "tests")
OTHER_JOB = (b"\x06" * 32, *JOB[1:])
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)


def _row(field: str, name: str = PERSON["name"]) -> dict[str, Any]:
    return {
        "id": HOLDER,
        **PERSON,
        "name": name,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": field,
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
    }


class _Counted:
    """The real C module, counting the rows it signs (to see which path ran): the subjects
    it writes (`issue_subject`) and the JSONL records it signs from their bytes
    (`issue_record`; tests/issuer/test_bulk_native_sign_records.py tests that path)."""

    def __init__(self, module: Any) -> None:
        self.module, self.calls = module, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def issue_subject(self, *args: Any) -> Any:
        self.calls += 1
        return self.module.issue_subject(*args)

    def issue_record(self, *args: Any) -> Any:  # (a JSONL record from its bytes: it signed)
        done = self.module.issue_record(*args)
        self.calls += done is not None
        return done


def _both(
    monkeypatch: pytest.MonkeyPatch, fmt: str, header: list[str] | None, records: list[bytes]
) -> tuple[Any, Any]:
    ids = _bulkcred.new_credential_ids(len(records))
    monkeypatch.setattr(_bulkcred, "new_credential_ids", lambda n: ids[:n])
    indexes = list(range(40, 40 + len(records)))
    counted = _Counted(template_module.NATIVE_SIGN)
    out = []
    try:
        for module in (counted, None):
            monkeypatch.setattr(template_module, "NATIVE_SIGN", module)
            # another job first: the next call builds its template again (with or without C)
            _bulkworker.sign_job_block(OTHER_JOB, "jsonl", None, 1, [], [], NOW)
            out.append(_bulkworker.sign_job_block(JOB, fmt, header, 1, records, indexes, NOW))
            if module is counted:
                assert counted.calls == len(out[0][0])  # every row signed went through C
    finally:
        _bulkworker.warm_up()  # (which forgets the job's state: other tests start clean)
    return out[0], out[1]


_FIELD = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(
        ['q"uote', "back\\slash", "tab\tnl\n", "\x00\x1f", "é中\U0001f600", "\u2028", "\ud800"]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_FIELD, st.sampled_from(["ok", "bad level", "not json"])), max_size=12))
def test_jsonl_blocks_are_the_twins(rows: list[tuple[str, str]]) -> None:
    records = []
    for field, what in rows:
        subject = _row(field)
        if what == "bad level":
            subject["degree"]["level"] = "nursery"
        if what == "not json":
            records.append(b'{"id": ' + field.encode("utf-8", "replace"))
            continue
        records.append(json.dumps(subject).encode())  # (a lone surrogate escaped)
    with pytest.MonkeyPatch.context() as patch:
        fast, twin = _both(patch, "jsonl", None, records)
    assert fast == twin


def test_csv_block_is_the_twins_and_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    header = [
        "id",
        "credentialSubject.name",
        "birthDate",
        "identityDocument.documentType",
        "identityDocument.issuingCountry",
        "identityDocument.commitment",
        "degree.type",
        "degree.level",
        "degree.fieldOfStudy",
        "degree.institution.name",
        "degree.awardDate",
    ]
    doc = PERSON["identityDocument"]
    cells = [HOLDER, "CHAN Tai Man", PERSON["birthDate"], *doc.values(), "Degree"]
    records = [
        ",".join([*cells, level, f"Fintech {i} é\U0001f600", "Uni of Tests", "2025-06-30"]).encode()
        for i, level in enumerate(["master", "bachelor", "nursery", "doctorate"])
    ]
    records.append(b'"unclosed')
    fast, twin = _both(monkeypatch, "csv", header, records)
    assert fast == twin
    rows, _ids, blob, lengths, _hashes, errors = fast
    assert rows == [1, 2, 4] and [e[0] for e in errors] == [3, 5]
    key = Ed25519SigningKey.from_seed(SEED).public_key
    for raw in _bulkworker.split_block(blob, lengths):
        integrity.verify(orjson.loads(raw), public_key=key)
