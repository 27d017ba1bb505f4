"""QR symbols: the capacity check, rendering (segno) and reading a payload text back from an
image (zxing-cpp over Pillow).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from ..errors import NoQRCodeFound, PayloadTooLargeForQR

__all__ = [
    "ALNUM_CAPACITY_M",
    "DEFAULT_ERROR",
    "check_fits",
    "decode_image",
    "image_attempts",
    "qr_version",
    "render_png",
    "render_svg",
]

DEFAULT_ERROR = "m"

# Alphanumeric-mode capacity (characters) of QR versions 1..40 at error correction M
# (ISO/IEC 18004 table 7); a test checks it against segno.
ALNUM_CAPACITY_M = (
    20,
    38,
    61,
    90,
    122,
    154,
    178,
    221,
    262,
    311,
    366,
    419,
    483,
    528,
    600,
    656,
    734,
    816,
    909,
    970,
    1035,
    1134,
    1248,
    1326,
    1451,
    1542,
    1637,
    1732,
    1839,
    1994,
    2113,
    2238,
    2369,
    2506,
    2632,
    2780,
    2894,
    3054,
    3220,
    3391,
)


def check_fits(text: str, *, max_version: int = 40, error: str = DEFAULT_ERROR) -> None:
    """Raise `PayloadTooLargeForQR` unless ``text`` fits one QR code <= ``max_version`` at M."""
    if error.lower() != "m":
        qr_version(text, error=error, max_version=max_version)
        return
    if not 1 <= max_version <= 40:
        raise ValueError(f"max_version: expected 1..40, found {max_version}")
    capacity = ALNUM_CAPACITY_M[max_version - 1]
    if len(text) > capacity:
        raise PayloadTooLargeForQR(
            len(text) - capacity,
            capacity_chars=capacity,
            length_chars=len(text),
            max_version=max_version,
            error=error,
        )


def _make(text: str, error: str) -> Any:
    import segno  # noqa: PLC0415 (image rendering: heavy, loaded on first use)

    try:
        return segno.make_qr(text, error=error, boost_error=False)
    except segno.DataOverflowError as exc:
        raise PayloadTooLargeForQR(
            max(len(text) - ALNUM_CAPACITY_M[-1], 1),
            capacity_chars=ALNUM_CAPACITY_M[-1],
            length_chars=len(text),
            max_version=40,
            error=error,
        ) from exc


def qr_version(text: str, *, error: str = DEFAULT_ERROR, max_version: int = 40) -> int:
    """The QR version (1..40) segno picks for ``text`` at the given error correction."""
    check_fits(text, max_version=max_version) if error.lower() == "m" else None
    version: int = _make(text, error).version
    if version > max_version:
        raise PayloadTooLargeForQR(
            1, capacity_chars=0, length_chars=len(text), max_version=max_version, error=error
        )
    return version


def render_png(text: str, *, scale: int = 4, border: int = 4, error: str = DEFAULT_ERROR) -> bytes:
    """A PNG image of the QR code (``scale`` pixels per module, ``border`` quiet modules)."""
    buf = io.BytesIO()
    _make(text, error).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def render_svg(text: str, *, scale: int = 4, border: int = 4, error: str = DEFAULT_ERROR) -> str:
    """An SVG image of the QR code."""
    buf = io.BytesIO()
    _make(text, error).save(buf, kind="svg", scale=scale, border=border, xmldecl=False)
    return buf.getvalue().decode("utf-8")


def image_attempts(image: Any) -> Iterator[Any]:
    """Candidate pictures for the QR reader, cheapest first, each built only when asked for.

    1. grayscale as given (a clean screenshot is read here: one conversion, no resampling);
    2. grayscale, contrast-stretched (dim photos of screens);
    3. the colour picture as given (the reader's own luminance weights);
    4. for small pictures (< 1200 px), the contrast-stretched copy upscaled 2x (tiny modules).
    """
    from PIL import Image, ImageOps  # noqa: PLC0415 (image decoding: heavy, first use)

    gray = image.convert("L")
    yield gray
    stretched = ImageOps.autocontrast(gray, cutoff=1)
    yield stretched
    yield image.convert("RGB")
    if max(stretched.size) < 1200:
        yield stretched.resize(
            (stretched.width * 2, stretched.height * 2), Image.Resampling.LANCZOS
        )


def decode_image(image_bytes: bytes) -> str:
    """The first TalentProof payload text found in an image (PNG, JPEG, …; photo or screenshot).

    Tries the cheapest reading first (grayscale as given) and only then, lazily, a
    contrast-stretched copy, the colour picture and (for small images) an upscaled copy, each
    with two binarizers. Raises `NoQRCodeFound` when no QR code starting with ``TP`` is readable.
    """
    import zxingcpp  # noqa: PLC0415 (image decoding: heavy, first use)
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (image decoding: heavy)

    if not isinstance(image_bytes, bytes | bytearray | memoryview):
        raise NoQRCodeFound(f"expected image bytes, found {type(image_bytes).__name__}")
    try:
        image = Image.open(io.BytesIO(image_bytes))
        image.load()
    # Pillow's plugins report a corrupt file with any of these (SyntaxError: "broken PNG file",
    # struct.error / EOFError: short chunks) and a huge declared size with DecompressionBombError
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
        raise NoQRCodeFound(f"not a readable image: {exc}") from exc
    seen_other = False
    for candidate in image_attempts(image):
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            results = zxingcpp.read_barcodes(
                candidate,
                formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]  # zxing-cpp's stubs want BarcodeFormats; one format is taken
                binarizer=binarizer,
            )
            for result in results:
                if result.text.startswith("TP") and ":" in result.text[:8]:
                    return result.text
                seen_other = True
    if seen_other:
        raise NoQRCodeFound("the image holds QR codes, but none is a TalentProof payload")
    raise NoQRCodeFound("the image holds no readable QR code")
