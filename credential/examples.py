"""Example credentials of each kind, for tests, benchmarks and documentation.

One sample applicant's degree (HKU), employment (HSBC) and training badge (HKUST), unsigned,
built through `model`. Each builder takes the holder's DID and keyword overrides of any argument
of its `model` builder (``id``, ``valid_from``, ``status``, ``level``, ``subject_name``...).

The sample person is CHAN Tai Man, born 1990-04-01, holder of HKID ``A123456(7)`` (issued in
HK); with the fixed example salt `ID_SALT` the credentials carry `IDENTITY_DOCUMENT`, whose
commitment matches `ID_NUMBER`:

>>> from talentproof.credential import person
>>> person.identity_document_matches(IDENTITY_DOCUMENT, ID_NUMBER, ID_SALT)
True

>>> from talentproof.credential import examples, keys
>>> holder = keys.Ed25519SigningKey.from_seed(bytes(32)).public_key.did_key
>>> examples.degree(holder, level="doctorate")["credentialSubject"]["degree"]["level"]
'doctorate'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import model
from .person import commit_identity_document

__all__ = [
    "BIRTH_DATE",
    "BUILDERS",
    "IDENTITY_DOCUMENT",
    "ID_COUNTRY",
    "ID_NUMBER",
    "ID_SALT",
    "ID_TYPE",
    "PERSON",
    "PERSON_NAME",
    "WHEN",
    "badge",
    "degree",
    "employment",
]

WHEN = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
"""The examples' ``validFrom`` (and a fixed clock for signing them)."""

PERSON_NAME = "CHAN Tai Man"
"""The sample applicant's name as on their travel document."""
BIRTH_DATE = "1990-04-01"
"""The sample applicant's date of birth."""
ID_TYPE, ID_COUNTRY, ID_NUMBER = "HKID", "HK", "A123456(7)"
"""The sample applicant's identity document (the number is never in a credential)."""
ID_SALT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
"""The sample holder's salt: bytes 0, 1, ..., 31 in base64url (a real one is `person.new_salt`)."""
IDENTITY_DOCUMENT: dict[str, str] = {
    "documentType": ID_TYPE,
    "issuingCountry": ID_COUNTRY,
    "commitment": commit_identity_document(ID_TYPE, ID_COUNTRY, ID_NUMBER, ID_SALT),
}
"""The sample applicant's ``identityDocument`` (``hmac-sha256:598LiBI1...``)."""
PERSON: dict[str, Any] = {
    "name": PERSON_NAME,
    "birthDate": BIRTH_DATE,
    "identityDocument": IDENTITY_DOCUMENT,
}
"""The sample person's subject fields, as they appear in ``credentialSubject``."""

_PERSON_ARGS: dict[str, Any] = {
    "subject_name": PERSON_NAME,
    "birth_date": BIRTH_DATE,
    "identity_document": IDENTITY_DOCUMENT,
}


_DEGREE: dict[str, Any] = {
    **_PERSON_ARGS,
    "issuer": "did:web:hku.hk",
    "level": "master",
    "field_of_study": "Computer Science",
    "institution": "The University of Hong Kong",
    "award_date": "2020-06-30",
    "honours": "Distinction",
    "id": "urn:uuid:0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
    "valid_from": WHEN,
}
_EMPLOYMENT: dict[str, Any] = {
    **_PERSON_ARGS,
    "issuer": {"id": "did:web:hsbc.com.hk", "name": "HSBC"},
    "employer_name": "The Hongkong and Shanghai Banking Corporation Limited",
    "employer_registration_id": "CR-0000263",
    "role": "Senior blockchain engineer",
    "seniority": "senior",
    "start_date": "2019-01-01",
    "end_date": "2025-12-31",
    "responsibilities": (
        "Designed tokenised deposit settlement smart contracts",
        "Led a team of five engineers on a permissioned ledger",
    ),
    "domains": ("blockchain in financial services", "distributed ledger technology"),
    "id": "urn:uuid:1f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
    "valid_from": WHEN,
}
_BADGE: dict[str, Any] = {
    **_PERSON_ARGS,
    "issuer": {"id": "did:web:hkust.edu.hk", "name": "HKUST"},
    "achievement_id": "https://hkust.edu.hk/badges/dlt-101",
    "name": "Distributed Ledger Fundamentals",
    "description": "Forty-hour professional training in distributed ledger technology for "
    "financial services.",
    "criteria": "Completed all modules and passed the final assessment",
    "alignment": (
        {
            "targetName": "Blockchain",
            "targetUrl": "https://sfia-online.org/en/skillcode/9/BLCH",
            "targetFramework": "SFIA 9",
            "targetCode": "BLCH",
        },
    ),
    "results": ({"value": "Distinction"},),
    "id": "urn:uuid:2f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
    "valid_from": WHEN,
}


def degree(holder_did: str, **overrides: Any) -> dict[str, Any]:
    """A master's degree in Computer Science from HKU."""
    return model.degree_credential(subject_id=holder_did, **{**_DEGREE, **overrides})


def employment(holder_did: str, **overrides: Any) -> dict[str, Any]:
    """Six years as a senior blockchain engineer at HSBC."""
    return model.employment_credential(subject_id=holder_did, **{**_EMPLOYMENT, **overrides})


def badge(holder_did: str, **overrides: Any) -> dict[str, Any]:
    """An Open Badge for HKUST's forty-hour distributed ledger course."""
    return model.open_badge_credential(subject_id=holder_did, **{**_BADGE, **overrides})


BUILDERS = {
    "DegreeCredential": degree,
    "EmploymentCredential": employment,
    "OpenBadgeCredential": badge,
}
"""The builders by credential type."""
