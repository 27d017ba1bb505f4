"""An issuance request whose pattern-checked value ends in (or holds) a line break is refused
with 422 naming the field (the issuer's routes, through the real service).

The issuer validates with the verifier's schemas and validator (`validate_credential`). Its
reference twin read ``$`` as Python does (matching before a final ``"\\n"``) and a refusal of
the compiled validator was overruled by the twin's acceptance, so the issuer signed an issuing
country ``"HK\\n"`` or a commitment ending in ``"\\n"`` (red team, 2026-12-07).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from .issuer_helpers import bearer, degree_request, onboard
from .test_vc_api import vc_degree

FIELDS = [
    ("credentialSubject", "identityDocument", "issuingCountry"),
    ("credentialSubject", "identityDocument", "commitment"),
    ("credentialSubject", "birthDate"),
    ("credentialSubject", "degree", "awardDate"),
]
FORMS = [lambda v: v + "\n", lambda v: v + "\r\n", lambda v: v[:1] + "\n" + v[1:]]


def _with(doc: dict[str, Any], path: tuple[str, ...], form: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = form(parent[path[-1]])
    return out


@pytest.mark.parametrize("path", FIELDS, ids=".".join)
def test_post_credentials_refuses_a_line_break_in_a_pattern_checked_value(client, path) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    headers = bearer(inst["api_key"]["token"])
    for form in FORMS:
        r = client.post("/credentials", headers=headers, json=_with(degree_request(), path, form))
        assert r.status_code == 422, (r.status_code, r.text[:300])
        assert r.json()["field"] == ".".join(path), r.json()


def test_vc_api_issue_refuses_a_line_break_in_a_pattern_checked_value(client) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    headers = bearer(inst["api_key"]["token"])
    cases = [
        (vc_degree(inst["did"]), ("credentialSubject", "identityDocument", "issuingCountry")),
        (vc_degree(inst["did"]), ("credentialSubject", "identityDocument", "commitment")),
    ]
    for credential, path in cases:
        for form in FORMS:
            r = client.post(
                "/credentials/issue",
                headers=headers,
                json={"credential": _with(credential, path, form), "options": {}},
            )
            assert r.status_code == 422, (r.status_code, r.text[:300])
            assert ".".join(path) in r.text, r.text[:300]


def test_the_same_requests_without_a_line_break_are_issued(client) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    headers = bearer(inst["api_key"]["token"])
    r = client.post("/credentials", headers=headers, json=degree_request())
    assert r.status_code in (200, 201, 202), (r.status_code, r.text[:300])
    r = client.post(
        "/credentials/issue",
        headers=headers,
        json={"credential": vc_degree(inst["did"]), "options": {}},
    )
    assert r.status_code in (200, 201), (r.status_code, r.text[:300])


def test_a_bulk_job_refuses_the_rows_with_a_line_break(client, service) -> None:  # type: ignore[no-untyped-def]
    """JSONL rows: the template's compiled row check refuses them and the plain path, which
    then decides, refused nothing; each such row now fails naming the field, the others sign."""
    from talentproof.issuer.bulk import BulkRunner

    from .issuer_helpers import degree_subjects, post_bulk_job

    token = onboard(client)["api_key"]["token"]
    subjects = [copy.deepcopy(s) for s in degree_subjects(4)]  # (they share objects)
    subjects[1]["identityDocument"]["issuingCountry"] = "HK\n"
    subjects[2]["identityDocument"]["commitment"] += "\r\n"
    job = post_bulk_job(client, token, subjects)
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job}", headers=bearer(token)).json()
    text = client.get(f"/bulk-jobs/{job}/errors", headers=bearer(token)).text
    assert (status["succeeded"], status["failed"]) == (2, 2), text[:1500]
    errors = [json.loads(line) for line in text.splitlines()]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "credentialSubject.identityDocument.issuingCountry"),
        (3, "credentialSubject.identityDocument.commitment"),
    ], errors
