"""A small picture declaring a huge size is refused before it is decoded (no key needed; the
verifier's image path and the service's upload route).

The attack: a PNG of one colour compresses to almost nothing whatever its size. 21 kB declaring
9,000 x 9,000 pixels (81 million; Pillow refuses only beyond 178 million) cost the verifier about
4.4 s of CPU and 1.1 GB of memory to decode, convert and search for a QR code (13,000 x 13,000,
37 kB: 11 s, 2.3 GB), within the 16 MiB image limit: a handful of uploads to the officer's page
exhausted the service's memory. A picture larger than a photo of a QR code needs
(`credential.qr.image.MAX_PIXELS`, 50 million pixels: a 48 or 50 megapixel phone photo) is now
refused from its header, naming its size, before any pixel is decoded.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageFile

from talentproof.credential.qr import encode_payload, render_png
from talentproof.credential.qr.image import MAX_PIXELS
from talentproof.verifier.inputs import item_from_image
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration


def _blank_png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (width, height), 1).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = _blank_png(9_000, 9_000)
    assert len(data) < 64 * 1024  # 81 million pixels in a few kB
    return data


@pytest.fixture
def loads(monkeypatch) -> list[tuple[int, int]]:
    """The size of every picture Pillow decodes from now on (its load is watched, called
    through, not replaced)."""
    seen: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def watched_load(self: ImageFile.ImageFile) -> object:
        seen.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", watched_load)
    return seen


def test_a_huge_declared_size_is_refused_before_decoding(bomb, loads):
    """Refused from the header: Pillow's decoder never runs on it (no time bound, which a
    loaded machine would break)."""
    item = item_from_image(bomb, "bomb.png")
    assert item.document is None
    assert "9000x9000" in (item.error or "") and "pixels" in (item.error or ""), item.error
    assert (9_000, 9_000) not in loads, loads  # nothing of the bomb decoded


def test_the_watch_sees_a_decode(loads):
    """The control of the watch above: a picture within the limit is decoded through it."""
    item_from_image(_blank_png(300, 200), "blank.png")
    assert (300, 200) in loads, loads


def test_a_picture_at_the_limit_is_still_read(vchain):
    """The control: a QR code drawn in a picture of (almost) the largest size taken is read."""
    doc = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    code = Image.open(io.BytesIO(render_png(encode_payload(doc), scale=8)))
    side = int(MAX_PIXELS**0.5) - 1
    canvas = Image.new("L", (side, side), 255)
    canvas.paste(code, (100, 100))
    buf = io.BytesIO()
    canvas.save(buf, "PNG", optimize=True)
    item = item_from_image(buf.getvalue(), "large.png")
    assert item.document is not None, item.error


def test_service_upload_answers_not_verifiable_naming_the_size(vchain, tmp_path, bomb):
    with vchain.service_client(vchain.save_deployment(tmp_path)) as client:
        r = client.post("/api/v1/verify/image", files={"files": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["outcome"]["code"] == "NOT_VERIFIABLE", body["outcome"]
    assert "pixels" in json.dumps(body), body["outcome"]
