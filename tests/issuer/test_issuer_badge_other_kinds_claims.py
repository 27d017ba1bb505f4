"""The issuer refuses to sign an Open Badge that carries another kind's claim (``degree`` or
``employment`` in its subject), with 422 naming the member, on every issuance route (the real
service).

The Open Badges subject admits other members, so a training centre accredited for badges only
could have the issuer sign a badge holding a doctorate from a university or years at a bank; the
verifier now refuses such a badge at check 2 (`types.require_one_kind`,
tests/security/test_badge_claiming_a_degree.py), and the issuer, which validates what it signs
with the same function, never signs one.
"""

from __future__ import annotations

import orjson
import pytest

from .issuer_helpers import bearer, onboard, post_bulk_job
from .test_vc_api import vc_badge

OTHER_CLAIMS = {
    "degree": {
        "level": "doctorate",
        "fieldOfStudy": "Computer Science",
        "institution": {"name": "The University of Hong Kong"},
        "awardDate": "2015-06-30",
    },
    "employment": {
        "employer": {"name": "HSBC", "id": "did:web:hsbc.com", "registrationId": "HK-1"},
        "startDate": "2010-01-01",
    },
}


@pytest.fixture
def badge_inst(client):  # type: ignore[no-untyped-def]
    return onboard(client, types=["OpenBadgeCredential"])


def _refused(r, member: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert f"credentialSubject.{member}" in r.text, r.text[:300]


@pytest.mark.parametrize("member", sorted(OTHER_CLAIMS))
def test_post_credentials_refuses_a_badge_with_another_kinds_claim(
    client, badge_inst, member
) -> None:  # type: ignore[no-untyped-def]
    subject = {**vc_badge(badge_inst["did"])["credentialSubject"], member: OTHER_CLAIMS[member]}
    r = client.post(
        "/credentials",
        headers=bearer(badge_inst["api_key"]["token"]),
        json={"type": "OpenBadgeCredential", "credentialSubject": subject},
    )
    _refused(r, member)


@pytest.mark.parametrize("member", sorted(OTHER_CLAIMS))
def test_vc_api_issue_refuses_a_badge_with_another_kinds_claim(client, badge_inst, member) -> None:  # type: ignore[no-untyped-def]
    credential = vc_badge(badge_inst["did"])
    credential["credentialSubject"] = {
        **credential["credentialSubject"],
        member: OTHER_CLAIMS[member],
    }
    r = client.post(
        "/credentials/issue",
        headers=bearer(badge_inst["api_key"]["token"]),
        json={"credential": credential, "options": {}},
    )
    _refused(r, member)


def test_credential_offers_refuse_a_badge_with_another_kinds_claim(client, badge_inst) -> None:  # type: ignore[no-untyped-def]
    subject = dict(vc_badge(badge_inst["did"])["credentialSubject"])
    subject.pop("id", None)
    subject["degree"] = OTHER_CLAIMS["degree"]
    r = client.post(
        "/credential-offers",
        headers=bearer(badge_inst["api_key"]["token"]),
        json={"type": "OpenBadgeCredential", "credentialSubject": subject},
    )
    _refused(r, "degree")


def test_control_the_badge_alone_is_signed(client, badge_inst) -> None:  # type: ignore[no-untyped-def]
    subject = vc_badge(badge_inst["did"])["credentialSubject"]
    r = client.post(
        "/credentials",
        headers=bearer(badge_inst["api_key"]["token"]),
        json={"type": "OpenBadgeCredential", "credentialSubject": subject},
    )
    assert r.status_code == 202, r.text[:300]  # accepted, anchoring pending


@pytest.mark.parametrize("member", sorted(OTHER_CLAIMS))
def test_bulk_job_refuses_a_badge_row_with_another_kinds_claim(
    client, service, badge_inst, member
) -> None:  # type: ignore[no-untyped-def]
    """A bulk job's badge row holding a degree (or an employment) is that row's error naming the
    member, beside a plain badge row that is issued: the bulk path's template signed it before
    (the job ended 2 succeeded, 0 failed) while POST /credentials refused the same subject."""
    from talentproof.issuer.bulk import BulkRunner

    token = badge_inst["api_key"]["token"]
    subject = vc_badge(badge_inst["did"])["credentialSubject"]
    job_id = post_bulk_job(
        client, token, [subject, {**subject, member: OTHER_CLAIMS[member]}], "OpenBadgeCredential"
    )
    BulkRunner(service, processes=1).run_pending()
    job = client.get(f"/bulk-jobs/{job_id}", headers=bearer(token)).json()
    assert (job["state"], job["succeeded"], job["failed"]) == ("done", 1, 1), job
    errors = [
        orjson.loads(line)
        for line in client.get(f"/bulk-jobs/{job_id}/errors", headers=bearer(token)).content.split(
            b"\n"
        )
        if line.strip()
    ]
    assert [(e["row"], e["field"]) for e in errors] == [(2, f"credentialSubject.{member}")], errors
