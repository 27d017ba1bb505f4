"""The one issuance API: `issue_credentials` (template splice) has the plain path's outcomes.

For rows of every kind (valid, and refused for several reasons) `issue_credentials` gives each
row the outcome `issue_plain` gives it (accepted, or refused with the same field and message),
and an accepted row's bytes are, for the same credential id, those of `issue_credential`
(Ed25519 is deterministic). tests/issuer/test_bulk_template.py runs the same comparison on
generated requests (Hypothesis).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import orjson
import pytest

from talentproof.credential import integrity, merkle
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import (
    KINDS,
    BulkTemplate,
    IssuerIdentity,
    Signer,
    issue_credential,
    issue_credentials,
    issue_plain,
    new_credential_ids,
)
from talentproof.credential.keys import Ed25519SigningKey

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = IssuerIdentity("did:web:uni.example", "Uni of Tests", "https://uni.example/status")
SIGNER = Signer(b"\x09" * 32, IDENTITY.did)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)

SUBJECTS: dict[str, dict[str, Any]] = {
    "DegreeCredential": {
        "id": HOLDER,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Fintech",
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
        **PERSON,
    },
    "EmploymentCredential": {
        "id": HOLDER,
        "employment": {
            "type": "Employment",
            "employer": {"name": "Uni of Tests", "registrationId": "HK-1"},
            "role": "Engineer",
            "seniority": "senior",
            "startDate": "2021-01-04",
            "responsibilities": ["custody"],
            "domains": ["digital assets"],
        },
        **PERSON,
    },
    "OpenBadgeCredential": {
        "id": HOLDER,
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "urn:uuid:0f3c2a4e-1111-4222-8333-444455556666",
            "type": ["Achievement"],
            "name": "Security",
            "description": "Smart-contract security",
            "criteria": {"narrative": "Passed"},
            "achievementType": "Certificate",
        },
        **PERSON,
    },
}


def rows(kind: str) -> list[tuple[int, Any, int]]:
    good = {"credentialSubject": copy.deepcopy(SUBJECTS[kind])}
    extra = copy.deepcopy(good)
    extra["credentialSubject"]["unexpected"] = "x"
    holder = copy.deepcopy(good)
    holder["credentialSubject"]["id"] = "did:key:z6Mkbad"
    windowed = {
        **copy.deepcopy(good),
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2030-01-01T00:00:00Z",
        "name": "N",
        "description": "\u2028 d",
    }
    backwards = {
        **copy.deepcopy(good),
        "validFrom": "2027-01-01T00:00:00Z",
        "validUntil": "2026-01-01T00:00:00Z",
    }
    return [
        (0, good, 5),
        (1, extra, 6),
        (2, holder, 7),
        (3, ValueError("bad JSON"), 8),
        (4, windowed, 9),
        (5, backwards, 10),
        (6, {"credentialSubject": 7}, 11),
    ]


def outcomes(results: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [
        (row, cid is not None, field, message) for row, cid, _raw, _h, field, message in results
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_issue_credentials_has_the_outcomes_of_the_plain_path(kind: str) -> None:
    fast = issue_credentials(kind, rows(kind), identity=IDENTITY, signer=SIGNER, now=NOW)
    plain = issue_plain(kind, rows(kind), identity=IDENTITY, signer=SIGNER, now=NOW)
    assert outcomes(fast) == outcomes(plain)
    accepted = sum(ok for _r, ok, _f, _m in outcomes(fast))
    assert 2 <= accepted <= 3  # good and windowed (and, in an open badge, the extra property)
    for _row, cid, raw, digest, _f, _m in fast:
        if cid is not None:
            doc = orjson.loads(raw)
            assert digest == merkle.credential_hash(doc)
            integrity.verify(doc, public_key=SIGNER.key.public_key)


@pytest.mark.parametrize("kind", KINDS)
def test_template_bytes_are_the_plain_bytes(kind: str) -> None:
    template = BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW)
    assert template.enabled
    for (_row, request, index), cid in zip(rows(kind), new_credential_ids(7), strict=True):
        if isinstance(request, Exception):
            continue
        fast = template.issue_one(request, index, cid)
        if fast is None:
            continue  # the plain path issues or refuses it (compared above)
        signed, raw, digest = issue_credential(
            kind,
            request,
            identity=IDENTITY,
            signer=SIGNER,
            status_index=index,
            now=NOW,
            credential_id=cid,
        )
        assert fast == (cid, raw, digest) and signed["id"] == cid
