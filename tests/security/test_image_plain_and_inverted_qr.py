"""One picture holding a code the plain scan reads and a second one only an inverted scan reads
(real Anvil).

The attack (residual of f18def5 / c1ddb94): a valid degree's QR code printed dark on light
beside a revoked one's printed light on dark. The plain scan (grayscale as given, no inversion)
read the valid code alone, so the thorough decoder (which would have tried the inverted
picture) never ran: the picture was VALID, the revoked credential never looked at. Two different
codes in one picture are NOT_VERIFIABLE however each is printed; the same code shown twice,
once inverted, is one credential.
"""

from __future__ import annotations

import json

import pytest
from PIL import ImageOps

from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.inputs import item_from_image
from tests.qr_pictures import gray, side_by_side, valid_and_revoked_degrees, verifier_on, verify_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("plain-inverted-qr")
    valid, revoked = valid_and_revoked_degrees(vchain)
    pv = gray(render_png(encode_payload(valid)))
    pr = gray(render_png(encode_payload(revoked)))
    pictures = {
        "valid-and-inverted-revoked.png": side_by_side(pv, ImageOps.invert(pr), gap=20),
        "inverted-revoked-and-valid.png": side_by_side(ImageOps.invert(pr), pv, gap=20),
        # light on dark at low contrast (dim): still read, still two codes
        "valid-and-dim-inverted-revoked.png": side_by_side(
            pv, pr.point(lambda v: 130 if v < 128 else 120), gap=20
        ),
        # the same code twice: one credential
        "valid-and-inverted-valid.png": side_by_side(pv, ImageOps.invert(pv), gap=20),
    }
    with verifier_on(vchain, d, pictures) as env_:
        yield env_


@pytest.mark.parametrize(
    "name",
    [
        "valid-and-inverted-revoked.png",
        "inverted-revoked-and-valid.png",
        "valid-and-dim-inverted-revoked.png",
    ],
)
def test_a_plain_code_beside_an_inverted_one_is_not_read_as_the_plain_one(env, name):
    data = (env["dir"] / name).read_bytes()
    item = item_from_image(data, name)
    assert item.document is None and "2 TalentProof QR codes" in (item.error or ""), item.error
    r = verify_cli(env, env["dir"] / name, "--json")
    assert r.exit_code == 3, r.output
    outcome = json.loads(r.output)["outcome"]
    assert outcome["code"] == "NOT_VERIFIABLE" and "2 TalentProof QR codes" in outcome["reason"]
    files = [("files", (name, data, "image/png"))]
    body = env["client"].post("/api/v1/verify/image", files=files).json()
    assert body["outcome"]["code"] == "NOT_VERIFIABLE", body["outcome"]


def test_the_same_code_shown_plain_and_inverted_is_one_credential(env):
    r = verify_cli(env, env["dir"] / "valid-and-inverted-valid.png", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["outcome"]["code"] == "VALID"
