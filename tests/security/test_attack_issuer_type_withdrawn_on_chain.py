"""Attack: governance withdraws an institution's accreditation on the ledger (the governance
CLI, `withdrawCredentialType`), which the issuer service's table never hears of; the
institution's API key goes on issuing that type.

Before: the service judged accreditation by its own table only, so it signed, stored and
anchored every degree asked for after the withdrawal, on every route (`POST /credentials`, the
VC API, credential offers, bulk uploads): credentials in the institution's name that the ledger
says it may no longer issue (check 6 then fails them: INVALID, never VALID; the holder is handed
a credential that does not verify). Now the ledger watch closes, in the service's table, every
listed type whose grant the registry no longer holds open, and every route refuses it as it
refuses a type the operator withdrew.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    BACKGROUND_WAIT_S,
    bearer,
    degree_request,
    onboard,
    operator_headers,
    until,
)
from tests.issuer.test_oid4vci import offer_request
from tests.issuer.test_operator_withdraw_follows_the_chain import _governance
from tests.issuer.test_vc_api import vc_degree

pytestmark = pytest.mark.integration


def test_attack_issuing_a_type_governance_withdrew_on_the_ledger(
    client: TestClient, issuer_chain: Any
) -> None:
    inst = onboard(client)  # DegreeCredential and EmploymentCredential, granted on chain
    token, did = inst["api_key"]["token"], inst["did"]
    headers = bearer(token)
    assert client.post("/credentials", headers=headers, json=degree_request()).status_code == 202
    _governance(issuer_chain).withdraw_credential_type(inst["chain_issuer_id"], "DegreeCredential")

    def refused() -> bool:
        r = client.post("/credentials", headers=headers, json=degree_request())
        return r.status_code == 403

    assert until(refused, BACKGROUND_WAIT_S), (
        "POST /credentials still signs a degree the ledger withdrew"
    )
    r = client.post("/credentials", headers=headers, json=degree_request())
    assert r.status_code == 403 and "DegreeCredential" in r.json()["message"], r.text
    r = client.post(
        "/credentials/issue", headers=headers, json={"credential": vc_degree(did), "options": {}}
    )
    assert r.status_code == 422 and r.json()["field"] == "credential.type", r.text
    r = client.post("/credential-offers", headers=headers, json=offer_request())
    assert r.status_code == 403, r.text
    r = client.post(
        "/bulk-jobs",
        headers=headers,
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", b"{}\n", "application/octet-stream")},
    )
    assert r.status_code == 403, r.text
    # the operator's view lists what the ledger still holds open
    r = client.get(f"/operator/institutions/{inst['slug']}", headers=operator_headers())
    assert r.json()["credential_types"] == ["EmploymentCredential"], r.text
