"""Example credentials of each kind, for tests, benchmarks and documentation.

One sample applicant's degree (HKU), employment (HSBC) and training badge (HKUST), unsigned,
built through `model`. Each builder takes the holder's DID and keyword overrides of any argument
of its `model` builder (``id``, ``valid_from``, ``status``, ``level``...).

>>> from talentproof.credential import examples, keys
>>> holder = keys.Ed25519SigningKey.from_seed(bytes(32)).public_key.did_key
>>> examples.degree(holder, level="doctorate")["credentialSubject"]["degree"]["level"]
'doctorate'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import model

__all__ = ["BUILDERS", "WHEN", "badge", "degree", "employment"]

WHEN = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
"""The examples' ``validFrom`` (and a fixed clock for signing them)."""


_DEGREE: dict[str, Any] = {
    "issuer": "did:web:hku.hk", "level": "master", "field_of_study": "Computer Science",
    "institution": "The University of Hong Kong", "award_date": "2020-06-30",
    "honours": "Distinction", "id": "urn:uuid:0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
    "valid_from": WHEN,
}
_EMPLOYMENT: dict[str, Any] = {
    "issuer": {"id": "did:web:hsbc.com.hk", "name": "HSBC"},
    "employer_name": "The Hongkong and Shanghai Banking Corporation Limited",
    "employer_registration_id": "CR-0000263", "role": "Senior blockchain engineer",
    "seniority": "senior", "start_date": "2019-01-01", "end_date": "2025-12-31",
    "responsibilities": ("Designed tokenised deposit settlement smart contracts",
                         "Led a team of five engineers on a permissioned ledger"),
    "domains": ("blockchain in financial services", "distributed ledger technology"),
    "id": "urn:uuid:1f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", "valid_from": WHEN,
}
_BADGE: dict[str, Any] = {
    "issuer": {"id": "did:web:hkust.edu.hk", "name": "HKUST"},
    "achievement_id": "https://hkust.edu.hk/badges/dlt-101",
    "name": "Distributed Ledger Fundamentals",
    "description": "Forty-hour professional training in distributed ledger technology for "
                   "financial services.",
    "criteria": "Completed all modules and passed the final assessment",
    "alignment": ({"targetName": "Blockchain",
                   "targetUrl": "https://sfia-online.org/en/skillcode/9/BLCH",
                   "targetFramework": "SFIA 9", "targetCode": "BLCH"},),
    "results": ({"value": "Distinction"},),
    "id": "urn:uuid:2f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", "valid_from": WHEN,
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


BUILDERS = {"DegreeCredential": degree, "EmploymentCredential": employment,
            "OpenBadgeCredential": badge}
"""The builders by credential type."""
