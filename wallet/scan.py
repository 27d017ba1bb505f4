"""Reading an offer's or a verifier's QR code from an image (a photo or a screenshot).

The same reader as `talentproof.credential.qr.decode_image` (`credential.qr.read_codes`:
zxing-cpp over grayscale, contrast-stretched, colour and upscaled copies; two binarizers),
looking for a URI of the expected scheme instead of a TP payload.
"""

from __future__ import annotations

from talentproof.credential.errors import NoQRCodeFound
from talentproof.credential.qr.image import is_payload_text, read_codes

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
        codes = read_codes(
            image_bytes, lambda text: text.startswith(f"{scheme}://"), stop_at_first=True
        )
    except NoQRCodeFound as exc:  # not a readable image
        raise BadUri(f"expected an image of a QR code with an {scheme}:// URI: {exc}") from exc
    if len(codes.wanted) > 1:
        raise BadUri(
            f"expected one QR code with an {scheme}:// URI; the image holds "
            f"{len(codes.wanted)} different ones: photograph only the one you mean to answer"
        )
    if codes.wanted:
        return codes.wanted[0]
    if codes.others:
        other = codes.others[0]
        raise BadUri(
            f"expected a QR code with an {scheme}:// URI; the image holds {other[:40]!r}"
            + ("..." if len(other) > 40 else "")
            + _what_to_do_with(other)
        )
    raise BadUri(f"expected a QR code with an {scheme}:// URI; the image holds no readable QR code")


def _what_to_do_with(text: str) -> str:
    """For a QR code of one of the other kinds a holder meets, what it is and which command
    takes it (a credential's own code, an officer's request, an institution's offer)."""
    if is_payload_text(text):
        return (
            ": that is a credential's own QR code (TP1:), the one a verifier reads "
            "(`talentproof verify`), not an institution's offer or an officer's request"
        )
    if text.startswith("openid4vp://"):
        return ": that is an officer's request: answer it with `talentproof wallet present --image`"
    if text.startswith("openid-credential-offer://"):
        return (
            ": that is an institution's credential offer: take it with `talentproof wallet "
            "accept --image FILE --tx-code CODE` (and --issuer, the institution's address, for "
            "its first offer)"
        )
    return ""
