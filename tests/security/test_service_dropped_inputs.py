"""An application larger than the limit must be refused, never judged on part of it (real Anvil).

The attack: the applicant (or whoever hands the officer the QR codes) puts a revoked credential
after sixteen valid ones. ``POST /api/v1/verify`` (JSON) refuses more than 16 credentials with
422; the upload form (``POST /api/v1/verify/image``, the web page's route) took only the first 16
files and the first 16 scanned payloads and verified those: the revoked 17th was dropped without
a word and the application came back VALID_MEETS, the page green. Every route now refuses the
whole application with 422 naming the limit, as the JSON route does.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration

LIMIT = 16  # credentials in one application (engine.Limits.max_credentials)


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("dropped") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))
    s = holder().public_key.did_key
    uni = vchain.issuers["University of Hong Kong"]
    creds = {
        "degree": issue(vchain, uni, DEGREE, s),
        "employment": issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01"),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
        "revoked": issue(vchain, uni, DEGREE, s),
    }
    uni.client.revoke_credential(credential_hash(split_anchor(creds["revoked"])[0]))
    payloads = {k: encode_payload(v) for k, v in creds.items()}
    valid = [payloads["degree"], payloads["employment"], payloads["badge"]]
    valid += [payloads["degree"]] * (LIMIT - len(valid))
    with TestClient(app) as client:
        yield {"client": client, "payloads": payloads, "valid": valid}


def _form(profession: str = "hk-dlt-expert") -> dict[str, str]:
    return {"profession": profession}


def test_sixteen_valid_payloads_meet_the_profession(env):
    """The control: the limit itself is taken, and these sixteen meet the profession."""
    r = env["client"].post("/api/v1/verify/image", data={**_form(), "payloads": env["valid"]})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"]["code"] == "VALID_MEETS", r.json()["outcome"]


def test_json_route_refuses_a_seventeenth_credential(env):
    r = env["client"].post(
        "/api/v1/verify",
        json={
            "payloads": [*env["valid"], env["payloads"]["revoked"]],
            "profession": "hk-dlt-expert",
        },
    )
    assert r.status_code == 422, r.text
    assert "16" in r.text


def test_a_revoked_seventeenth_scanned_payload_is_never_dropped(env):
    r = env["client"].post(
        "/api/v1/verify/image",
        data={**_form(), "payloads": [*env["valid"], env["payloads"]["revoked"]]},
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "16" in r.json()["detail"], r.json()


def test_a_revoked_seventeenth_image_is_never_dropped(env):
    images = [render_png(p) for p in env["valid"]] + [render_png(env["payloads"]["revoked"])]
    files = [("files", (f"qr-{i}.png", png, "image/png")) for i, png in enumerate(images)]
    r = env["client"].post("/api/v1/verify/image", data=_form(), files=files)
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "16" in r.json()["detail"], r.json()


def test_images_and_payloads_together_count_against_one_limit(env):
    """Ten images and seven payloads: seventeen credentials, refused as one application."""
    images = [render_png(p) for p in env["valid"][:10]]
    files = [("files", (f"qr-{i}.png", png, "image/png")) for i, png in enumerate(images)]
    payloads = [*env["valid"][10:], env["payloads"]["revoked"]]
    assert len(files) + len(payloads) == LIMIT + 1
    r = env["client"].post(
        "/api/v1/verify/image", data={**_form(), "payloads": payloads}, files=files
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
