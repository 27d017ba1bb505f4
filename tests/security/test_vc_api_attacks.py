"""The verifier service's JSON endpoints never say verified / VALID for what the engine's own
reading refuses (real Anvil): the W3C VC API (``/credentials/verify``,
``/presentations/verify``) and ``/api/v1/verify`` / ``/api/v1/applications/evaluate``.

- Duplicate keys. Check 1 refuses a document with a duplicate key (a JSON parser that keeps the
  first value and one that keeps the last would read two documents). The CLI and QR paths read
  JSON with that rule; the service's JSON bodies were read by FastAPI's parser, which keeps the
  last value: a signed credential with ``"level": "doctorate"`` added before its real
  ``"level": "bachelor"`` verified, and a relying party reading the first value would see a
  doctorate the issuer never signed.
- A credential of a type its issuer is not accredited for, and one whose issuer DID names
  another accredited institution, are not verified by the VC API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.presentation import create_presentation
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("vcapi-attacks") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(
        ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record), domain="verifier.example.hk")
    )
    with TestClient(app) as client:
        yield {"client": client, "chain": vchain}


def doubled_level(credential: dict) -> str:
    """The credential's JSON text with ``"level": "doctorate"`` before its signed level."""
    text = json.dumps(credential)
    signed = '"level": "bachelor"'
    assert text.count(signed) == 1
    return text.replace(signed, '"level": "doctorate", ' + signed)


def post_json(c: TestClient, path: str, body: str):  # type: ignore[no-untyped-def]
    return c.post(path, content=body.encode(), headers={"Content-Type": "application/json"})


def test_attack_duplicate_key_credential_is_never_verified(setup):
    c, chain = setup["client"], setup["chain"]
    cred = issue(
        chain, chain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    # the credential as it is verifies (so what follows is about the duplicate only)
    honest = post_json(c, "/credentials/verify", json.dumps({"verifiableCredential": cred}))
    assert honest.status_code == 200 and honest.json()["verified"] is True, honest.text
    text = doubled_level(cred)
    r = post_json(c, "/credentials/verify", '{"verifiableCredential": ' + text + "}")
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False and "duplicate key 'level'" in body["errors"][0], body
    for path in ("/api/v1/verify", "/api/v1/applications/evaluate"):
        extra = ', "profession": "hk-dlt-expert"' if "evaluate" in path else ""
        r = post_json(c, path, '{"documents": [' + text + "]" + extra + "}")
        assert r.status_code == 422, (path, r.text)
        assert "duplicate key 'level'" in json.dumps(r.json()), (path, r.json())


def test_attack_duplicate_key_presentation_is_never_verified(setup):
    c, chain = setup["client"], setup["chain"]
    key = holder()
    cred = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, key.public_key.did_key)
    challenge = c.post("/api/v1/challenges").json()
    vp = create_presentation(
        [cred],
        key,
        challenge=challenge["challenge"],
        domain=challenge["domain"],
        created=datetime.now(UTC).replace(microsecond=0),
    )
    text = doubled_level(vp)
    body = (
        '{"verifiablePresentation": '
        + text
        + ', "options": {"challenge": '
        + json.dumps(challenge["challenge"])
        + "}}"
    )
    r = post_json(c, "/presentations/verify", body)
    assert r.status_code == 400 and r.json()["verified"] is False, r.text


def test_attack_unaccredited_type_or_another_institutions_did_is_not_verified(setup):
    """The university's key (degrees only) signs and anchors an employment; and a credential
    naming HSBC's DID as its issuer, signed with the university's key: neither is verified."""
    c, chain = setup["client"], setup["chain"]
    uni = chain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    employment = issue(chain, uni, EMPLOYMENT, s, employer=uni.name)
    r = post_json(c, "/credentials/verify", json.dumps({"verifiableCredential": employment}))
    assert r.status_code == 400 and r.json()["verified"] is False, r.text
    assert any(e.startswith("issuer-accreditation") for e in r.json()["errors"]), r.json()
    hsbc = chain.issuers["HSBC"]
    posing = issue(chain, uni, EMPLOYMENT, s, employer=hsbc.name, tweak=None)
    posing_as = json.loads(json.dumps(posing).replace(uni.did, hsbc.did))
    r = post_json(c, "/credentials/verify", json.dumps({"verifiableCredential": posing_as}))
    assert r.status_code == 400 and r.json()["verified"] is False, r.text
