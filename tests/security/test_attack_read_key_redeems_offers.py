"""A ``read`` key does not get an offers job's transaction codes (real issuer service, Anvil).

A bulk job with ``offers=true`` makes one OpenID4VCI offer per row; its results give each offer's
URI and transaction code, which the institution sends to its holders. The results were readable
with scope ``read``: a key meant to read (an auditor's, a dashboard's) fetched every code, redeemed
the offers with its own wallet key and held the students' credentials, bound to its key and in
their names (the students' offers spent). Reading those results now needs scope ``issue``, as
making the offers does; the job's progress and errors stay readable with ``read``.
"""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.bulk import BulkRunner
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration


def test_attack_read_key_reads_no_transaction_codes(client: TestClient, service) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    r = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["read"], "name": "dashboard"},
    )
    assert r.status_code == 201, r.text
    reader = r.json()["token"]
    subject = degree_request()["credentialSubject"]
    subject.pop("id")
    content = b"".join(orjson.dumps(subject) + b"\n" for _ in range(2))
    plain = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", orjson.dumps(degree_request()) + b"\n")},
    ).json()["id"]
    offers = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential", "offers": "true"},
        files={"file": ("rows.jsonl", content)},
    ).json()["id"]
    BulkRunner(service, processes=1).run_pending()
    refused = client.get(f"/bulk-jobs/{offers}/results", headers=bearer(reader))
    assert refused.status_code == 403 and "issue" in refused.json()["message"], refused.text
    assert "txCode" not in refused.text
    # the institution's issue key reads them; the read key still reads the job's progress and
    # errors, and the results of a job of signed credentials
    codes = client.get(f"/bulk-jobs/{offers}/results", headers=bearer(token))
    assert codes.status_code == 200 and codes.text.count("txCode") == 2, codes.text
    for url in (
        f"/bulk-jobs/{offers}",
        f"/bulk-jobs/{offers}/errors",
        f"/bulk-jobs/{plain}/results",
    ):
        assert client.get(url, headers=bearer(reader)).status_code == 200, url
