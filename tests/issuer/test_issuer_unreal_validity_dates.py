"""The issuer refuses a validity date the calendar does not have with 422 naming the field, on
each route that takes one (POST /credentials, the VC API's /credentials/issue).

The dateTimeStamp pattern admits 2030-02-30, 24:00:00 and five-digit years; the credential
package's structure check compared ``validFrom`` with ``validUntil`` by parsing both and raised
``ValueError`` for such a text (tests/security/test_unreal_validity_dates.py: the verifier side).
"""

from __future__ import annotations

import pytest

from .issuer_helpers import bearer, degree_request, onboard
from .test_vc_api import vc_degree

UNREAL = ["2030-02-30T00:00:00Z", "2030-01-01T24:00:00Z", "10000-01-01T00:00:00Z"]


@pytest.mark.parametrize("value", UNREAL)
def test_post_credentials_refuses_an_unreal_valid_until(client, value) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    r = client.post(
        "/credentials",
        headers=bearer(inst["api_key"]["token"]),
        json={**degree_request(), "validUntil": value},
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "validUntil" in r.text, r.text[:300]


@pytest.mark.parametrize("value", UNREAL)
def test_vc_api_issue_refuses_an_unreal_valid_until(client, value) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    credential = {**vc_degree(inst["did"]), "validUntil": value}
    r = client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"]),
        json={"credential": credential, "options": {}},
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "validUntil" in r.text, r.text[:300]
