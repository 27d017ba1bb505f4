"""VC 2.0 model, the three credential kinds, their JSON Schemas and validation errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from talentproof.credential import model, schemas, types
from talentproof.credential.errors import SchemaValidationError
from talentproof.credential.keys import Ed25519SigningKey

from ._cred_support import BUILDERS, WHEN, make_badge, make_degree, make_employment

SCHEMA_DIR = Path(model.__file__).parent / "schemas"


@pytest.fixture(scope="module")
def did() -> str:
    return Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key


@pytest.mark.parametrize("kind", types.KINDS)
def test_builders_produce_valid_credentials(kind: str, did: str) -> None:
    doc = BUILDERS[kind](did)
    assert model.validate_credential(doc) == kind == types.credential_kind(doc)
    assert doc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert doc["type"] == ["VerifiableCredential", kind]
    assert doc["credentialSubject"]["id"] == did
    assert doc["credentialSchema"] == {"id": schemas.schema_id(kind), "type": "JsonSchema"}
    assert doc["validFrom"] == "2026-11-21T23:40:00Z"
    credential = model.Credential.from_json(doc)
    assert credential.valid_from == WHEN
    assert credential.to_json() == doc


@pytest.mark.parametrize("kind", types.KINDS)
def test_schema_files_are_published_and_valid(kind: str) -> None:
    schema = schemas.load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == schemas.SCHEMA_IDS[kind]
    assert schema["$id"].startswith("https://")
    on_disk = json.loads((SCHEMA_DIR / schemas.SCHEMA_FILES[kind]).read_text())
    assert on_disk == schema


def test_degree_fields(did: str) -> None:
    degree = make_degree(did)["credentialSubject"]["degree"]
    assert degree == {
        "type": "Degree",
        "level": "master",
        "fieldOfStudy": "Computer Science",
        "institution": {"name": "The University of Hong Kong"},
        "awardDate": "2020-06-30",
        "honours": "Distinction",
    }


def test_employment_fields(did: str) -> None:
    job = make_employment(did)["credentialSubject"]["employment"]
    assert job["employer"] == {
        "name": "The Hongkong and Shanghai Banking Corporation Limited",
        "registrationId": "CR-0000263",
    }
    assert job["seniority"] == "senior" and job["startDate"] == "2019-01-01"
    assert "blockchain in financial services" in job["domains"]


def test_open_badge_is_ob3_shaped(did: str) -> None:
    doc = make_badge(did)
    assert doc["@context"][1] == model.OB3_CONTEXT
    assert doc["issuer"]["type"] == ["Profile"] and doc["issuer"]["name"] == "HKUST"
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Certificate"
    assert achievement["criteria"] == {
        "narrative": "Completed all modules and passed the final assessment"
    }
    assert achievement["alignment"][0]["targetFramework"] == "SFIA 9"
    assert subject["result"] == [{"type": ["Result"], "value": "Distinction"}]


def _mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parts = path.split(".")
    target = out
    for p in parts[:-1]:
        target = target[int(p)] if isinstance(target, list) else target[p]
    if value is _DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    "kind,path,value,field,expected",
    [
        (
            "DegreeCredential",
            "credentialSubject.degree.level",
            "phd",
            "credentialSubject.degree.level",
            "one of ['associate', 'bachelor', 'master', 'doctorate']",
        ),
        (
            "DegreeCredential",
            "credentialSubject.degree.awardDate",
            _DELETE,
            "credentialSubject.degree.awardDate",
            "required",
        ),
        (
            "DegreeCredential",
            "credentialSubject.degree.awardDate",
            "30/06/2020",
            "credentialSubject.degree.awardDate",
            "YYYY-MM-DD",
        ),
        (
            "DegreeCredential",
            "credentialSubject.degree.fieldOfStudy",
            "",
            "credentialSubject.degree.fieldOfStudy",
            "non-empty",
        ),
        (
            "DegreeCredential",
            "credentialSubject.id",
            "did:web:someone.example",
            "credentialSubject.id",
            "did:key",
        ),
        (
            "DegreeCredential",
            "credentialSubject.gpa",
            3.9,
            "credentialSubject.gpa",
            "no such property",
        ),
        ("DegreeCredential", "validFrom", "2026-01-01", "validFrom", "dateTimeStamp"),
        (
            "DegreeCredential",
            "credentialSchema.id",
            "https://evil.example/s.json",
            "credentialSchema.id",
            "degree-credential-v1.json",
        ),
        (
            "EmploymentCredential",
            "credentialSubject.employment.seniority",
            "boss",
            "credentialSubject.employment.seniority",
            "one of",
        ),
        (
            "EmploymentCredential",
            "credentialSubject.employment.employer.registrationId",
            _DELETE,
            "credentialSubject.employment.employer.registrationId",
            "required",
        ),
        (
            "EmploymentCredential",
            "credentialSubject.employment.domains",
            [],
            "credentialSubject.employment.domains",
            "at least 1",
        ),
        (
            "EmploymentCredential",
            "credentialSubject.employment.role",
            7,
            "credentialSubject.employment.role",
            "string",
        ),
        (
            "OpenBadgeCredential",
            "credentialSubject.achievement.achievementType",
            "Trophy",
            "credentialSubject.achievement.achievementType",
            "achievementType",
        ),
        (
            "OpenBadgeCredential",
            "credentialSubject.achievement.criteria",
            {},
            "credentialSubject.achievement.criteria",
            "criteria",
        ),
        (
            "OpenBadgeCredential",
            "credentialSubject.type",
            ["Person"],
            "credentialSubject.type",
            "AchievementSubject",
        ),
        ("OpenBadgeCredential", "issuer.name", _DELETE, "issuer.name", "required"),
        ("OpenBadgeCredential", "name", _DELETE, "name", "required"),
    ],
)
def test_validation_errors_name_field_expected_found(
    did: str, kind: str, path: str, value: Any, field: str, expected: str
) -> None:
    doc = _mutate(BUILDERS[kind](did), path, value)
    with pytest.raises(SchemaValidationError) as info:
        model.validate_credential(doc)
    err = info.value
    assert err.field == field
    assert expected in err.expected
    if value is not _DELETE:
        assert err.found == value
    assert field in str(err) and "expected" in str(err) and "found" in str(err)


def test_vc2_structural_rules(did: str) -> None:
    doc = make_degree(did)
    with pytest.raises(SchemaValidationError, match=r"@context\[0\]"):
        model.validate_credential({**doc, "@context": list(reversed(doc["@context"]))})
    with pytest.raises(SchemaValidationError, match="VerifiableCredential"):
        model.validate_credential({**doc, "type": ["DegreeCredential"]})
    with pytest.raises(SchemaValidationError, match="not before validFrom"):
        model.validate_credential({**doc, "validUntil": "2020-01-01T00:00:00Z"})
    with pytest.raises(SchemaValidationError, match="type"):
        model.validate_credential({**doc, "type": ["VerifiableCredential", "AlumniCredential"]})
    with pytest.raises(SchemaValidationError):
        model.validate_credential("not a credential")


def test_subject_must_be_an_ed25519_did_key(did: str) -> None:
    doc = make_degree(did)
    bad = "did:key:z6Mk" + "1" * 44  # matches the pattern but is not a valid key encoding
    with pytest.raises(SchemaValidationError, match=r"credentialSubject\.id"):
        model.validate_credential(_mutate(doc, "credentialSubject.id", bad))


def test_builder_errors_name_the_field(did: str) -> None:
    with pytest.raises(SchemaValidationError) as info:
        make_degree(did, level="phd")
    assert info.value.field == "credentialSubject.degree.level"
    assert info.value.found == "phd"
    with pytest.raises(SchemaValidationError) as info:
        make_degree("did:web:not-a-holder.example")
    assert info.value.field == "credentialSubject.id"


def test_validity_window_and_status(did: str) -> None:
    from datetime import UTC, datetime

    status = [
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://hku.hk/status/revocation",
        }
    ]
    doc = make_degree(did, valid_until=datetime(2030, 1, 1, tzinfo=UTC), status=status)
    assert doc["validUntil"] == "2030-01-01T00:00:00Z"
    assert doc["credentialStatus"] == status
    assert model.validate_credential(doc) == types.DEGREE
    with pytest.raises(SchemaValidationError, match="validUntil"):
        make_degree(did, valid_until=datetime(2020, 1, 1, tzinfo=UTC))


def test_models_are_immutable(did: str) -> None:
    credential = model.Credential.from_json(make_degree(did))
    with pytest.raises(ValidationError):
        credential.id = "urn:uuid:other"  # type: ignore[misc]
    subject = model.DegreeSubject.model_validate(make_degree(did)["credentialSubject"])
    assert subject.degree.level == "master"
    with pytest.raises(ValidationError):
        subject.degree.level = "doctorate"  # type: ignore[misc]


def test_presentation_model(did: str) -> None:
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did,
        "verifiableCredential": [make_degree(did)],
    }
    parsed = model.Presentation.from_json(vp)
    assert parsed.holder == did and len(parsed.verifiable_credential) == 1
    with pytest.raises(SchemaValidationError, match="not a string"):
        model.validate_presentation({**vp, "verifiableCredential": ["https://x.example/vc"]})
