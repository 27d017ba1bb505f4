"""An issuance request holding a lone surrogate escape is refused with 422 naming the field,
never a 500 (the issuer's routes, through the real service).

JSON text may write ``"\\ud800"``, a UTF-16 surrogate with no pair: no character, which RFC 8785
(JCS) cannot canonicalize. The request parsers (pydantic's, FastAPI's) take it as a character,
the schema validator let it through in a field it checks by length only (``fieldOfStudy``), and
signing raised ``CanonicalizationError`` out of the route: ``POST /credentials`` and the VC API's
``/credentials/issue`` answered 500 to an institution's request. `validate_credential` now
refuses a lone surrogate anywhere in the credential, naming the field, as it refuses any other
malformed value.
"""

from __future__ import annotations

import json

import pytest

from .issuer_helpers import bearer, degree_request, onboard
from .test_vc_api import vc_degree

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff"])
def test_post_credentials_refuses_a_lone_surrogate(client, escape) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    text = json.dumps(degree_request()).replace(
        '"fieldOfStudy": "', f'"fieldOfStudy": "{escape}', 1
    )
    r = client.post(
        "/credentials", headers={**bearer(inst["api_key"]["token"]), **JSON}, content=text
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "fieldOfStudy" in r.text and "surrogate" in r.text, r.text[:300]


def test_vc_api_issue_refuses_a_lone_surrogate(client) -> None:  # type: ignore[no-untyped-def]
    inst = onboard(client)
    credential = json.dumps(vc_degree(inst["did"])).replace(
        '"fieldOfStudy": "', '"fieldOfStudy": "\\ud800', 1
    )
    r = client.post(
        "/credentials/issue",
        headers={**bearer(inst["api_key"]["token"]), **JSON},
        content='{"credential": ' + credential + ', "options": {}}',
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "surrogate" in r.text, r.text[:300]


def test_a_lone_surrogate_in_a_key_is_named_escaped(client) -> None:  # type: ignore[no-untyped-def]
    """The field path names the key: its surrogate is written escaped (the answer is JSON)."""
    inst = onboard(client)
    text = json.dumps(degree_request()).replace('"degree": {', '"degree": {"x\\ud800": 1, ', 1)
    r = client.post(
        "/credentials", headers={**bearer(inst["api_key"]["token"]), **JSON}, content=text
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json()["field"] == "credentialSubject.degree.x\\ud800", r.json()
