"""The verifier's compiled schema check never accepts what the credential package rejects."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from talentproof.credential import examples, model
from talentproof.credential.errors import SchemaValidationError
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier import fastschema

HOLDER = Ed25519SigningKey.from_seed(b"\x01" * 32).public_key.did_key
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PERSON_ARGS = {"subject_name": examples.PERSON_NAME, "birth_date": examples.BIRTH_DATE,
               "identity_document": examples.IDENTITY_DOCUMENT}


def samples() -> list[dict[str, Any]]:
    return [
        model.degree_credential("did:web:hku.hk", HOLDER, "master", "Computer Science", "HKU", "2015-06-30",
                                "First class", **PERSON_ARGS, id="urn:uuid:1", valid_from=NOW, valid_until=NOW.replace(year=2030)),
        model.employment_credential("did:web:hsbc.com", HOLDER, **PERSON_ARGS, employer_name="HSBC", employer_registration_id="HK1",
                                    role="Engineer", seniority="senior", start_date="2015-01-01", end_date="2020-01-01",
                                    responsibilities=["Ledgers"], domains=["blockchain in financial services"],
                                    id="urn:uuid:2", valid_from=NOW),
        model.open_badge_credential({"id": "did:web:hkib.org", "name": "HKIB"}, HOLDER, **PERSON_ARGS,
                                    achievement_id="https://x/a",
                                    name="DLT", description="d", criteria="c",
                                    alignment=[{"targetName": "t", "targetUrl": "https://x/t", "targetCode": "C"}],
                                    results=[{"value": "A"}], id="urn:uuid:3", valid_from=NOW),
    ]


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from paths(v, (*prefix, i))


REPLACEMENTS = [None, 7, 1.5, True, "", "x", [], {}, ["x"], {"a": 1}, "not a uri", "did:key:z6Mkbad",
                "urn:a\x1cb", "urn:a\x85b", 1.0, 10**20]


def mutations(doc: dict) -> Iterator[dict]:
    for path in list(paths(doc)):
        parent_path, key = path[:-1], path[-1]
        for value in [*REPLACEMENTS, "__delete__"]:
            m = copy.deepcopy(doc)
            parent = m
            for p in parent_path:
                parent = parent[p]
            if value == "__delete__":
                del parent[key]
            else:
                parent[key] = value
            yield m
    for path in [(), *[p for p in paths(doc)]]:
        m = copy.deepcopy(doc)
        node = m
        for p in path:
            node = node[p]
        if isinstance(node, dict):
            node["unexpectedExtra"] = "x"
            yield m
        elif isinstance(node, list):
            node.append("extra")
            yield m


def official_accepts(doc) -> bool:
    try:
        model.validate_credential(doc)
        return True
    except SchemaValidationError:
        return False


@pytest.mark.parametrize("path", ["jsonschema-rs", "fastjsonschema"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_fast_path_never_accepts_what_the_official_validator_rejects(index, path, monkeypatch):
    doc = samples()[index]
    kind = doc["type"][-1]
    if path == "jsonschema-rs":  # the first fast path alone
        assert fastschema._rs_validator(kind).is_valid(doc)  # it is in use and accepts
        monkeypatch.setattr(fastschema, "_compiled", lambda kind: None)
    else:  # the second fast path alone
        assert fastschema._compiled(kind) is not None
        monkeypatch.setattr(fastschema, "_rs_validator", lambda kind: None)
    calls: list[Any] = []
    official = model.validate_credential
    monkeypatch.setattr(fastschema.c_model, "validate_credential", lambda d: calls.append(d) or official(d))
    assert fastschema.validate_credential(doc) == doc["type"][-1]
    checked = rejected = 0
    for m in mutations(doc):
        checked += 1
        try:
            kind = fastschema.validate_credential(m)
        except SchemaValidationError:
            rejected += 1
            assert not official_accepts(m)
            continue
        assert official_accepts(m), m
        assert kind == m["type"][-1]
    assert checked > 300 and rejected > 100
    before = len(calls)
    assert fastschema.validate_credential(doc) == kind
    assert len(calls) == before  # the valid credential was accepted by the fast path alone


def test_rejection_carries_the_official_error():
    doc = samples()[0]
    doc["credentialSubject"]["degree"]["level"] = "kindergarten"
    with pytest.raises(SchemaValidationError) as exc:
        fastschema.validate_credential(doc)
    assert exc.value.field == "credentialSubject.degree.level"
