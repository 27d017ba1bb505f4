"""CSV column tricks in a bulk upload, by an institution's ``issue`` key, on the real issuer service
and Anvil (tests/issuer's fixtures).

A CSV header names subject fields by dotted paths; the same field can be named twice
(``degree.level`` and ``credentialSubject.degree.level``), indexed (``degree.level[0]``), or an
object replaced by a text (``degree.institution``). A training centre accredited for associate and
bachelor degrees only tries, through such columns, to get a degree signed at another level or in
another institution's name. Every row must be refused or signed as the institution itself at a
level it holds: never a doctorate, never another institution named in the degree. (JSONL rows and
single requests are covered by test_issuer_degree_levels.py and tests/issuer/test_trusted_verdicts.py.)
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.bulk import BulkRunner
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    PERSON_CSV_HEADER,
    PERSON_CSV_ROW,
    bearer,
    holder_did,
    onboard,
)

pytestmark = pytest.mark.integration

LEVELS = ["DegreeCredential#level=associate", "DegreeCredential#level=bachelor"]
NAME = "University of Testing"
OTHER = "Harbour University"

#: (extra columns, their cells): each row also has the subject's id, person, type, field, date
TRICKS: list[tuple[str, str]] = [
    ("degree.level,credentialSubject.degree.level", "bachelor,doctorate"),
    ("credentialSubject.degree.level,degree.level", "doctorate,bachelor"),
    ("degree.level,degree.level", "bachelor,doctorate"),
    ("degree.level[0]", "doctorate"),
    ("degree.level,degree.level[0]", "bachelor,doctorate"),
    ("degree.level,degree.institution.name", f"bachelor,{OTHER}"),
    ("degree.level,credentialSubject.degree.institution.name", f"bachelor,{OTHER}"),
    ("degree.level,degree.institution.name,degree.institution.name", f"bachelor,{NAME},{OTHER}"),
    ("degree.level,degree.institution.name[0]", f"bachelor,{OTHER}"),
    ("degree.level,degree.institution", f"bachelor,{OTHER}"),
    ("degree.level,degree.institution.id", "bachelor,did:web:harbour.edu"),
    ("degree.level,degree.institution.id[0]", "bachelor,did:web:harbour.edu"),
    ("degree.level,credentialSubject.degree", "bachelor,doctorate"),
    ("degree,degree.level", "doctorate,bachelor"),
]


def _upload(client: TestClient, token: str, extra: str, cells: str) -> str:
    header = f"id,{PERSON_CSV_HEADER},degree.type,degree.fieldOfStudy,degree.awardDate,{extra}\n"
    row = f"{holder_did(3)},{PERSON_CSV_ROW},Degree,Finance,2026-06-30,{cells}\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.csv", (header + row).encode(), "text/csv")},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _lines(client: TestClient, token: str, url: str) -> list[dict[str, Any]]:
    r = client.get(url, headers=bearer(token))
    assert r.status_code == 200, r.text
    return [orjson.loads(line) for line in r.text.splitlines()]


def test_attack_csv_columns_never_sign_another_level_or_institution(
    client: TestClient, service: Any
) -> None:
    centre = onboard(client, types=LEVELS, name=NAME)
    token = centre["api_key"]["token"]
    jobs = [(extra, _upload(client, token, extra, cells)) for extra, cells in TRICKS]
    BulkRunner(service, processes=1).run_pending()
    signed = []
    for extra, job in jobs:
        status = _lines(client, token, f"/bulk-jobs/{job}")[0]
        assert status["state"] == "done" and status["rows_done"] == 1, (extra, status)
        for result in _lines(client, token, f"/bulk-jobs/{job}/results"):
            degree = result["credential"]["credentialSubject"]["degree"]
            signed.append(extra)
            assert degree["level"] in ("associate", "bachelor"), (extra, degree)
            assert degree["institution"] == {"id": centre["did"], "name": NAME}, (extra, degree)
        if status["failed"]:
            (error,) = _lines(client, token, f"/bulk-jobs/{job}/errors")
            assert error["row"] == 1 and error["message"], (extra, error)
    # only the row whose last word is the centre's own bachelor degree is signed (a field named
    # twice takes its last column, as a JSON object its last member)
    assert signed == ["credentialSubject.degree.level,degree.level"], signed
