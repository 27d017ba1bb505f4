"""The one schema validator: the compiled path (jsonschema-rs) gives the reference's answer
(jsonschema) on every mutation of the three example credentials (differential test)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from talentproof.credential import examples, model, validation
from talentproof.credential.errors import SchemaValidationError
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier import fastschema

HOLDER = Ed25519SigningKey.from_seed(b"\x01" * 32).public_key.did_key
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PERSON_ARGS = {
    "subject_name": examples.PERSON_NAME,
    "birth_date": examples.BIRTH_DATE,
    "identity_document": examples.IDENTITY_DOCUMENT,
}


def samples() -> list[dict[str, Any]]:
    return [
        model.degree_credential(
            "did:web:hku.hk",
            HOLDER,
            "master",
            "Computer Science",
            "HKU",
            "2015-06-30",
            "First class",
            **PERSON_ARGS,
            id="urn:uuid:1",
            valid_from=NOW,
            valid_until=NOW.replace(year=2030),
        ),
        model.employment_credential(
            "did:web:hsbc.com",
            HOLDER,
            **PERSON_ARGS,
            employer_name="HSBC",
            employer_registration_id="HK1",
            role="Engineer",
            seniority="senior",
            start_date="2015-01-01",
            end_date="2020-01-01",
            responsibilities=["Ledgers"],
            domains=["blockchain in financial services"],
            id="urn:uuid:2",
            valid_from=NOW,
        ),
        model.open_badge_credential(
            {"id": "did:web:hkib.org", "name": "HKIB"},
            HOLDER,
            **PERSON_ARGS,
            achievement_id="https://x/a",
            name="DLT",
            description="d",
            criteria="c",
            alignment=[{"targetName": "t", "targetUrl": "https://x/t", "targetCode": "C"}],
            results=[{"value": "A"}],
            id="urn:uuid:3",
            valid_from=NOW,
        ),
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


REPLACEMENTS = [
    None,
    7,
    1.5,
    True,
    "",
    "x",
    [],
    {},
    ["x"],
    {"a": 1},
    "not a uri",
    "did:key:z6Mkbad",
    "urn:a\x1cb",
    "urn:a\x85b",
    1.0,
    10**20,
]


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
    for path in [(), *paths(doc)]:
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


def outcome(check, doc) -> tuple[str, str]:
    try:
        return "accepted", check(doc)
    except SchemaValidationError as exc:
        return "rejected", str(exc)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_compiled_path_gives_the_reference_answer_on_every_mutation(index):
    doc = samples()[index]
    kind = doc["type"][-1]
    assert validation.compiled_validator(kind).is_valid(doc)  # the compiled path is in use
    assert validation.validate_credential(doc) == kind
    checked = rejected = 0
    for m in mutations(doc):
        checked += 1
        fast = outcome(validation.validate_credential, m)
        assert fast == outcome(validation.reference_validate_credential, m), m
        rejected += fast[0] == "rejected"
    assert checked > 300 and rejected > 100


def test_the_builders_model_and_verifier_share_the_validator():
    assert model.validate_credential is validation.validate_credential
    assert fastschema.validate_credential is validation.validate_credential


def test_rejection_carries_the_reference_error():
    doc = samples()[0]
    doc["credentialSubject"]["degree"]["level"] = "kindergarten"
    with pytest.raises(SchemaValidationError) as exc:
        validation.validate_credential(doc)
    assert exc.value.field == "credentialSubject.degree.level"


def test_compile_schema_compiles_a_sub_schema_once():
    schema = {"type": "object", "required": ["a"]}
    assert validation.compile_schema(schema) is validation.compile_schema(dict(schema))
    assert validation.compile_schema(schema).is_valid({"a": 1})
    assert not validation.compile_schema(schema).is_valid({})
