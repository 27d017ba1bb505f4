"""One picture holding two TalentProof QR codes (real Anvil).

The attack: the applicant hands over one picture (a printed page, a screenshot) showing two
credential QR codes side by side, a valid degree and a revoked one. The reader stopped at the
first TalentProof code it found and verified that one alone: the application came back VALID,
the officer believing the page was checked, the revoked credential never looked at (and which
code was read depended on where it sat in the picture). A picture must hold one credential or
presentation QR code: one with more is not verifiable, saying so, in the CLI, the service and
the web page's upload route.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.inputs import item_from_image
from tests.qr_pictures import gray, side_by_side, valid_and_revoked_degrees, verifier_on, verify_cli

pytestmark = pytest.mark.integration


def _inverted(png: bytes) -> bytes:
    """Light modules on a dark ground: the plain scan reads nothing, only the thorough one."""
    from PIL import ImageOps

    out = io.BytesIO()
    ImageOps.invert(Image.open(io.BytesIO(png)).convert("L")).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("two-qr")
    valid, revoked = valid_and_revoked_degrees(vchain)
    pv, pr = render_png(encode_payload(valid)), render_png(encode_payload(revoked))
    pictures = {
        "valid-then-revoked.png": side_by_side(gray(pv), gray(pr)),
        "revoked-then-valid.png": side_by_side(gray(pr), gray(pv)),
        "inverted-valid-then-revoked.png": _inverted(side_by_side(gray(pv), gray(pr))),
        "valid-twice.png": side_by_side(gray(pv), gray(pv)),  # the same code twice: one credential
        "valid.png": pv,
    }
    with verifier_on(vchain, d, pictures) as env_:
        yield env_


@pytest.mark.parametrize(
    "name",
    ["valid-then-revoked.png", "revoked-then-valid.png", "inverted-valid-then-revoked.png"],
)
def test_two_codes_in_one_picture_are_never_read_as_one(env, name):
    item = item_from_image((env["dir"] / name).read_bytes(), name)
    assert item.document is None and "2 TalentProof QR codes" in (item.error or ""), item.error
    r = verify_cli(env, env["dir"] / name, "--json")
    assert r.exit_code == 3, r.output
    outcome = json.loads(r.output)["outcome"]
    assert outcome["code"] == "NOT_VERIFIABLE" and "2 TalentProof QR codes" in outcome["reason"]
    files = [("files", (name, (env["dir"] / name).read_bytes(), "image/png"))]
    body = env["client"].post("/api/v1/verify/image", files=files).json()
    assert body["outcome"]["code"] == "NOT_VERIFIABLE", body["outcome"]


def test_a_picture_with_one_code_and_one_code_shown_twice_are_read(env):
    inverted = env["dir"] / "inverted-valid.png"
    inverted.write_bytes(_inverted((env["dir"] / "valid.png").read_bytes()))
    for name in ("valid.png", "valid-twice.png", inverted.name):
        r = verify_cli(env, env["dir"] / name, "--json")
        assert r.exit_code == 0, (name, r.output)
        assert json.loads(r.output)["outcome"]["code"] == "VALID"


def test_in_a_folder_the_picture_is_not_verifiable_beside_the_valid_one(env, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("valid.png", "valid-then-revoked.png"):
        (folder / name).write_bytes((env["dir"] / name).read_bytes())
    r = verify_cli(env, folder, "--json")
    assert r.exit_code == 3, r.output
    codes = {x["source"]: x["outcome"]["code"] for x in json.loads(r.output)["results"]}
    assert codes == {"valid.png": "VALID", "valid-then-revoked.png": "NOT_VERIFIABLE"}
