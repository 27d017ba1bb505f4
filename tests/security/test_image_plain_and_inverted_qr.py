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

import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.inputs import item_from_image
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


def _gray(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L")


def _page(*images: Image.Image) -> bytes:
    page = Image.new("L", (sum(i.width for i in images) + 20, max(i.height for i in images)), 255)
    x = 0
    for image in images:
        page.paste(image, (x, 0))
        x += image.width + 20
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("plain-inverted-qr")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    uni = vchain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    valid = issue(vchain, uni, DEGREE, s)
    revoked = issue(vchain, uni, DEGREE, s)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    pv = _gray(render_png(encode_payload(valid)))
    pr = _gray(render_png(encode_payload(revoked)))
    pictures = {
        "valid-and-inverted-revoked.png": _page(pv, ImageOps.invert(pr)),
        "inverted-revoked-and-valid.png": _page(ImageOps.invert(pr), pv),
        # light on dark at low contrast (dim): still read, still two codes
        "valid-and-dim-inverted-revoked.png": _page(
            pv, pr.point(lambda v: 130 if v < 128 else 120)
        ),
        "valid-and-inverted-valid.png": _page(pv, ImageOps.invert(pv)),  # one credential
    }
    for name, data in pictures.items():
        (d / name).write_bytes(data)
    app_ = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))
    with TestClient(app_) as client:
        yield {"dir": d, "record": str(record), "chain": vchain, "client": client}


def _cli(env, *args):
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *map(str, args)]
    )


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
    r = _cli(env, env["dir"] / name, "--json")
    assert r.exit_code == 3, r.output
    outcome = json.loads(r.output)["outcome"]
    assert outcome["code"] == "NOT_VERIFIABLE" and "2 TalentProof QR codes" in outcome["reason"]
    files = [("files", (name, data, "image/png"))]
    body = env["client"].post("/api/v1/verify/image", files=files).json()
    assert body["outcome"]["code"] == "NOT_VERIFIABLE", body["outcome"]


def test_the_same_code_shown_plain_and_inverted_is_one_credential(env):
    r = _cli(env, env["dir"] / "valid-and-inverted-valid.png", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["outcome"]["code"] == "VALID"
