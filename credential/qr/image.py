"""QR symbols: the capacity check, rendering (segno) and reading a payload text back from an
image (zxing-cpp over Pillow).
"""

from __future__ import annotations

import codecs
import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import NoQRCodeFound, PayloadTooLargeForQR

__all__ = [
    "ALNUM_CAPACITY_M",
    "DEFAULT_ERROR",
    "MAX_PIXELS",
    "QRCodesRead",
    "check_fits",
    "decode_image",
    "decode_image_all",
    "image_attempts",
    "is_payload_text",
    "open_image",
    "qr_version",
    "read_codes",
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


def is_payload_text(text: str) -> bool:
    """Whether a QR code's text starts as a TalentProof payload does (``TP<version>:``)."""
    return text.startswith("TP") and ":" in text[:8]


#: The largest picture decoded (width x height), checked from its header before any pixel is:
#: a picture of one colour compresses to almost nothing whatever its size (a 21 kB PNG of
#: 9,000 x 9,000 pixels cost ~4.4 s of CPU and 1.1 GB to decode and search; Pillow refuses only
#: beyond 178 million). 50 million: a 48 or 50 megapixel phone photo.
MAX_PIXELS = 50_000_000


def _what_it_is(head: bytes) -> str:
    """What a file that Pillow cannot identify looks like, from its first bytes, in words an
    officer can act on (Pillow's own message names a BytesIO object and its address)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "a JSON document, not a picture"
    if text.startswith(b"%PDF-"):
        return "a PDF document, not a picture"
    try:  # incremental: a character cut at the end of ``head`` is not an error
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "in an unknown format, not a picture"
    if all(c >= 0x20 or c in b"\t\r\n" for c in head):
        return "text, not a picture"
    return "in an unknown format, not a picture"


def open_image(image_bytes: bytes) -> Any:
    """The picture ``image_bytes`` holds (PNG, JPEG, …), loaded; `NoQRCodeFound` saying why
    when it holds none (not bytes, not an image, corrupt, a decompression bomb)."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (image decoding: heavy)

    if not isinstance(image_bytes, bytes | bytearray | memoryview):
        raise NoQRCodeFound(f"expected image bytes, found {type(image_bytes).__name__}")
    try:
        image = Image.open(io.BytesIO(image_bytes))
        width, height = image.size  # from the header: nothing decoded yet
        if width * height > MAX_PIXELS:
            raise NoQRCodeFound(
                f"not a readable image: {width}x{height} pixels, more than the "
                f"{MAX_PIXELS:,} a photo of a QR code needs (a 48 or 50 megapixel camera)"
            )
        image.load()
    except UnidentifiedImageError:  # not a picture at all: say what it is
        raise NoQRCodeFound(
            f"not a readable image: the file is {_what_it_is(bytes(image_bytes[:64]))}; expected "
            "a PNG or JPEG picture of the QR code"
        ) from None
    # Pillow's plugins report a corrupt file with any of these (SyntaxError: "broken PNG file",
    # struct.error / EOFError: short chunks) and a huge declared size with DecompressionBombError
    except (
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        struct.error,
        zlib.error,
    ) as exc:
        raise NoQRCodeFound(f"not a readable image: {exc}") from exc
    return image


@dataclass(frozen=True, slots=True)
class QRCodesRead:
    """The distinct texts of the QR codes `read_codes` found in a picture, in the order read:
    ``wanted`` those the caller's test took, ``others`` the rest."""

    wanted: tuple[str, ...]
    others: tuple[str, ...]


def read_codes(
    image_bytes: bytes, wanted: Callable[[str], bool], *, stop_at_first: bool = False
) -> QRCodesRead:
    """Every distinct QR code text that the readings of the picture find (each of
    `image_attempts`' candidates, cheapest first, with two binarizers), split by ``wanted``.

    This is where a picture holding several codes of one kind is seen: a caller that answers one
    code refuses ``len(wanted) > 1`` (the verifier: two credentials, one of them maybe revoked;
    the wallet: an attacker's sticker beside the officer's code). The same code read twice, or
    shown twice, is one. ``stop_at_first``: stop after the first reading that finds a wanted
    code (every code of that reading is compared); else every reading runs (a code only a
    later reading sees, light on dark or dim, is counted too). Raises `NoQRCodeFound` when the
    bytes are not a readable image (`open_image`)."""
    import zxingcpp  # noqa: PLC0415 (image decoding: heavy, first use)

    image = open_image(image_bytes)
    found: dict[str, None] = {}
    others: dict[str, None] = {}
    for candidate in image_attempts(image):
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            for result in zxingcpp.read_barcodes(
                candidate,
                formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]  # zxing-cpp's stubs want BarcodeFormats; one format is taken
                binarizer=binarizer,
            ):
                text = str(result.text)
                (found if wanted(text) else others)[text] = None
            if stop_at_first and found:
                return QRCodesRead(tuple(found), tuple(others))
    return QRCodesRead(tuple(found), tuple(others))


#: The wallet protocols' QR codes a verifier may be handed instead of a credential's: named by
#: their scheme alone (never their text, which is not ours to show).
_WALLET_LINKS = {
    "openid-credential-offer://": "an institution's credential offer (openid-credential-offer://)",
    "openid4vp://": "a verifier's request (openid4vp://)",
}


def _payloads(image_bytes: bytes, *, stop_at_first: bool) -> tuple[str, ...]:
    codes = read_codes(image_bytes, is_payload_text, stop_at_first=stop_at_first)
    if codes.wanted:
        return codes.wanted
    if codes.others:
        links = sorted(
            {what for t in codes.others for s, what in _WALLET_LINKS.items() if t.startswith(s)}
        )
        raise NoQRCodeFound(
            "the image holds QR codes, but none is a TalentProof payload"
            + (
                f": it holds {' and '.join(links)}, for the applicant's wallet, not a credential"
                if links
                else ""
            )
        )
    raise NoQRCodeFound("the image holds no readable QR code")


def decode_image(image_bytes: bytes) -> str:
    """The first TalentProof payload text found in an image (PNG, JPEG, …; photo or screenshot).

    Tries the cheapest reading first (grayscale as given) and only then, lazily, a
    contrast-stretched copy, the colour picture and (for small images) an upscaled copy, each
    with two binarizers (`read_codes`, stopping at the first reading that finds one). Raises
    `NoQRCodeFound` when no QR code starting with ``TP`` is readable. A caller that must not
    answer one code of several reads `decode_image_all`."""
    return _payloads(image_bytes, stop_at_first=True)[0]


def decode_image_all(image_bytes: bytes) -> tuple[str, ...]:
    """Every distinct TalentProof payload text any reading of the image finds (`read_codes`,
    every reading), in the order read; `NoQRCodeFound` as `decode_image` when there is none."""
    return _payloads(image_bytes, stop_at_first=False)
