"""An issuance request holding a value JCS cannot write is refused with 422, never a 500 (the
issuer's routes, through the real service).

The Open Badges subject admits properties of the issuer's own, so the schema lets any JSON value
through there; RFC 8785 (JCS), which the signature and the credential hash are computed over,
has no form for an integer beyond +-(2**53 - 1), for infinity (``1e400``) or NaN. Signing raised
``CanonicalizationError`` out of the route: ``POST /credentials``, the VC API's
``/credentials/issue`` and ``POST /credential-offers`` answered 500 to an institution's request.
They now answer 422 naming the value.
"""

from __future__ import annotations

import json

import pytest

from .issuer_helpers import bearer, onboard
from .test_vc_api import vc_badge

JSON = {"content-type": "application/json"}
UNSIGNABLE = ["9007199254740993", "-9007199254740993", "1e400", "NaN", "Infinity"]


def _names_the_value(body: str, value: str) -> None:
    """The refusal says the credential cannot be signed and names the value's problem."""
    assert "cannot be signed" in body, body[:300]
    if value.lstrip("-").isdigit():
        assert value in body and "safe range" in body, body[:300]
    else:
        assert "expected a finite number" in body, body[:300]


def _with(text: str, value: str) -> str:
    return text.replace('"achievement": {', '"extra": ' + value + ', "achievement": {', 1)


@pytest.fixture
def badge_inst(client):  # type: ignore[no-untyped-def]
    return onboard(client, types=["OpenBadgeCredential"])


@pytest.mark.parametrize("value", UNSIGNABLE)
def test_post_credentials_refuses_an_unsignable_value(client, badge_inst, value) -> None:  # type: ignore[no-untyped-def]
    subject = vc_badge(badge_inst["did"])["credentialSubject"]
    text = _with(json.dumps({"type": "OpenBadgeCredential", "credentialSubject": subject}), value)
    r = client.post(
        "/credentials", headers={**bearer(badge_inst["api_key"]["token"]), **JSON}, content=text
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    _names_the_value(r.text, value)


@pytest.mark.parametrize("value", UNSIGNABLE)
def test_vc_api_issue_refuses_an_unsignable_value(client, badge_inst, value) -> None:  # type: ignore[no-untyped-def]
    credential = _with(json.dumps(vc_badge(badge_inst["did"])), value)
    r = client.post(
        "/credentials/issue",
        headers={**bearer(badge_inst["api_key"]["token"]), **JSON},
        content='{"credential": ' + credential + ', "options": {}}',
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    _names_the_value(r.text, value)


@pytest.mark.parametrize("value", UNSIGNABLE[:2])
def test_credential_offers_refuse_an_unsignable_value(client, badge_inst, value) -> None:  # type: ignore[no-untyped-def]
    subject = dict(vc_badge(badge_inst["did"])["credentialSubject"])
    subject.pop("id", None)
    text = _with(json.dumps({"type": "OpenBadgeCredential", "credentialSubject": subject}), value)
    r = client.post(
        "/credential-offers",
        headers={**bearer(badge_inst["api_key"]["token"]), **JSON},
        content=text,
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    _names_the_value(r.text, value)
