"""The issuer refuses a degree at a level its institution is not accredited for (real Anvil,
the issuer's API): ``POST /credentials`` (also with an Idempotency-Key), OpenID4VCI offers,
the VC API's ``POST /credentials/issue``, bulk jobs (each row: signed credentials and offers).

The attack: a training centre accredited for associate and bachelor degrees only (its on-chain
type ids ``DegreeCredential#level=associate`` and ``...#level=bachelor``) asks the issuer to sign
a doctorate. The issuer must refuse it as it refuses a type the institution is not accredited
for, naming the levels it may award, and sign its bachelor degrees as before.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest

from talentproof.issuer.bulk import BulkRunner
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration

LEVELS = ["DegreeCredential#level=associate", "DegreeCredential#level=bachelor"]
REFUSED = "only at the levels associate, bachelor, not the level 'doctorate'"


def _at(level: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(body or degree_request())
    out["credentialSubject"]["degree"]["level"] = level
    return out


@pytest.fixture
def centre(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    inst = onboard(client, types=LEVELS)  # named as degree_request names the institution
    assert inst["credential_types"] == LEVELS, inst
    return inst


def test_post_credentials_refuses_a_doctorate_and_signs_a_bachelor(client, centre) -> None:
    token = centre["api_key"]["token"]
    r = client.post("/credentials", headers=bearer(token), json=_at("doctorate"))
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["error"] == "not_accredited" and REFUSED in body["message"], body
    assert body["field"] == "credentialSubject.degree.level"
    # with an idempotency key: refused too, and nothing stored under the key
    r = client.post(
        "/credentials",
        headers=bearer(token, **{"Idempotency-Key": "lvl-1"}),
        json=_at("doctorate"),
    )
    assert r.status_code == 403 and REFUSED in r.json()["message"], r.text
    ok = client.post(
        "/credentials", headers=bearer(token, **{"Idempotency-Key": "lvl-1"}), json=_at("bachelor")
    )
    assert ok.status_code in (201, 202), ok.text
    assert client.get("/credentials", headers=bearer(token)).json()["items"].__len__() == 1
    # a level missing from the request is named as such
    no_level = _at("bachelor")
    del no_level["credentialSubject"]["degree"]["level"]
    r = client.post("/credentials", headers=bearer(token), json=no_level)
    assert r.status_code == 403 and "not a credential without a level" in r.json()["message"]
    # a kind it holds no level of: refused as before
    emp = client.post(
        "/credentials",
        headers=bearer(token),
        json={**degree_request(), "type": "EmploymentCredential"},
    )
    assert emp.status_code == 403 and "not accredited to issue EmploymentCredential" in emp.text


def test_whole_type_institution_signs_every_level(client) -> None:
    uni = onboard(client, types=["DegreeCredential"])
    r = client.post("/credentials", headers=bearer(uni["api_key"]["token"]), json=_at("doctorate"))
    assert r.status_code in (201, 202), r.text


def test_offers_refuse_a_doctorate(client, centre) -> None:
    token = centre["api_key"]["token"]
    offer = _at("doctorate")
    del offer["credentialSubject"]["id"]
    r = client.post("/credential-offers", headers=bearer(token), json=offer)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "not_accredited" and REFUSED in r.json()["message"]
    good = _at("bachelor", offer)
    assert client.post("/credential-offers", headers=bearer(token), json=good).status_code == 201
    meta = client.get(f"/.well-known/openid-credential-issuer/institutions/{centre['slug']}")
    assert meta.status_code == 200, meta.text
    assert list(meta.json()["credential_configurations_supported"]) == ["DegreeCredential_ldp_vc"]


def test_vc_api_issue_refuses_a_doctorate(client, centre) -> None:
    request = _at("doctorate")
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://talentproof.org/contexts/v1",
        ],
        "type": ["VerifiableCredential", "DegreeCredential"],
        "issuer": centre["did"],
        "credentialSubject": request["credentialSubject"],
    }
    token = centre["api_key"]["token"]
    r = client.post(
        "/credentials/issue", headers=bearer(token), json={"credential": credential, "options": {}}
    )
    assert r.status_code == 422, r.text
    assert REFUSED in r.text and "credential.credentialSubject.degree.level" in r.text
    credential["credentialSubject"] = _at("bachelor")["credentialSubject"]
    ok = client.post(
        "/credentials/issue", headers=bearer(token), json={"credential": credential, "options": {}}
    )
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("offers", [False, True])
def test_bulk_rows_at_a_level_not_accredited_are_refused(client, service, centre, offers) -> None:
    token = centre["api_key"]["token"]
    rows = []
    for i, level in enumerate(["bachelor", "doctorate", "associate", "master"]):
        subject = degree_request(f"Field {i}", seed_byte=i + 1)["credentialSubject"]
        subject["degree"]["level"] = level
        if offers:
            del subject["id"]
        rows.append(orjson.dumps(subject))
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.jsonl", b"\n".join(rows) + b"\n", "application/octet-stream")},
        data={"type": "DegreeCredential", **({"offers": "true"} if offers else {})},
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job}", headers=bearer(token)).json()
    assert (status["state"], status["succeeded"], status["failed"]) == ("done", 2, 2), status
    errors = [
        json.loads(line)
        for line in client.get(f"/bulk-jobs/{job}/errors", headers=bearer(token)).text.splitlines()
    ]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "credentialSubject.degree.level"),
        (4, "credentialSubject.degree.level"),
    ], errors
    assert (
        "only at the levels associate, bachelor, not the level 'doctorate'" in errors[0]["message"]
    )
    assert "not the level 'master'" in errors[1]["message"]


def test_bulk_upload_of_a_kind_without_any_level_is_refused(client, centre) -> None:
    r = client.post(
        "/bulk-jobs",
        headers=bearer(centre["api_key"]["token"]),
        files={"file": ("rows.jsonl", b"{}\n", "application/octet-stream")},
        data={"type": "EmploymentCredential"},
    )
    assert r.status_code == 403 and r.json()["error"] == "not_accredited", r.text


def test_operator_grants_and_withdraws_levels(client, centre) -> None:
    slug = centre["slug"]
    token = centre["api_key"]["token"]
    path = f"/operator/institutions/{slug}/credential-types"
    r = client.post(
        path, headers=operator_headers(), json={"grant": ["DegreeCredential#level=doctorate"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["credential_types"] == [*LEVELS, "DegreeCredential#level=doctorate"]
    ok = client.post("/credentials", headers=bearer(token), json=_at("doctorate"))
    assert ok.status_code in (201, 202), ok.text
    r = client.post(
        path, headers=operator_headers(), json={"withdraw": ["DegreeCredential#level=bachelor"]}
    )
    assert r.status_code == 200 and r.json()["credential_types"] == [
        "DegreeCredential#level=associate",
        "DegreeCredential#level=doctorate",
    ], r.text
    refused = client.post("/credentials", headers=bearer(token), json=_at("bachelor"))
    assert refused.status_code == 403, refused.text
    assert "only at the levels associate, doctorate" in refused.json()["message"]
    bad = client.post(
        path, headers=operator_headers(), json={"grant": ["DegreeCredential#level=phd"]}
    )
    assert bad.status_code == 422 and "degree level 'phd'" in bad.json()["message"], bad.text


def test_onboard_cli_needs_the_degree_levels_said() -> None:
    """``talentproof issuer onboard --type DegreeCredential`` without ``--levels``: a usage error
    before anything is registered (a training centre is not given doctorates by omission)."""
    from typer.testing import CliRunner

    from talentproof.issuer.cli import issuer_app

    args = ["onboard", "--name", "Centre", "--slug", "centre", "--type", "DegreeCredential"]
    r = CliRunner().invoke(issuer_app, args)
    assert r.exit_code == 2, r.output
    assert "say which levels it may award with --levels" in r.output
    r = CliRunner().invoke(issuer_app, [*args, "--levels", "associate,phd"])
    assert r.exit_code == 2 and "degree level 'phd': expected one of associate" in r.output
