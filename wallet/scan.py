"""Reading an offer's or a verifier's QR code from an image (a photo or a screenshot).

The same reader as `talentproof.credential.qr.decode_image` (zxing-cpp over
`talentproof.credential.qr.image.image_attempts`: grayscale, contrast-stretched, colour,
upscaled; two binarizers), looking for a URI of the expected scheme instead of a TP payload.
"""

from __future__ import annotations

import io
import struct
import zlib

import zxingcpp
from PIL import Image, UnidentifiedImageError

from talentproof.credential.qr.image import image_attempts

from .errors import BadUri

__all__ = ["decode_uri"]


def decode_uri(image_bytes: bytes, scheme: str) -> str:
    """The text of the one QR code in the image that starts with ``scheme://``.

    Raises `BadUri` saying what the image held instead (no readable QR code, QR codes of
    something else, not an image) or that it holds several different codes of that scheme:
    the first one zxing finds is wherever it sits, and a second code beside the officer's or
    the institution's (an attacker's sticker) must not be answered in silence. Every code of
    the first reading that finds one of the scheme is compared (the same code twice is one)."""
    try:
        image = Image.open(io.BytesIO(image_bytes))
        image.load()
    # Pillow reports a corrupt file with any of these (as credential.qr.image.decode_image)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        struct.error,
        zlib.error,
    ) as exc:
        raise BadUri(
            f"expected an image of a QR code with a {scheme}:// URI: not a readable image ({exc})"
        ) from exc
    others: list[str] = []
    for candidate in image_attempts(image):
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            results = zxingcpp.read_barcodes(
                candidate,
                formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]  # zxing-cpp's stubs want BarcodeFormats; one format is taken
                binarizer=binarizer,
            )
            found = list(
                dict.fromkeys(r.text for r in results if r.text.startswith(f"{scheme}://"))
            )
            if len(found) > 1:
                raise BadUri(
                    f"expected one QR code with a {scheme}:// URI; the image holds "
                    f"{len(found)} different ones: photograph only the one you mean to answer"
                )
            if found:
                return found[0]
            others.extend(r.text for r in results)
    if others:
        raise BadUri(
            f"expected a QR code with a {scheme}:// URI; the image holds {others[0][:40]!r}"
            + ("..." if len(others[0]) > 40 else "")
        )
    raise BadUri(f"expected a QR code with a {scheme}:// URI; the image holds no readable QR code")
