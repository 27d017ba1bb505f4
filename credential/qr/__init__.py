"""The QR code of a credential or presentation: ``credential.qr`` re-exports the public API.

- `payload`: the TP1 text format (binary layout, flags, varints, DEFLATE dictionaries,
  EIP-55 registry spelling): `encode_payload`, `decode_payload`;
- `base45`: RFC 9285 Base45 (`b45encode`, `b45decode`);
- `image`: QR symbols: capacity (`check_fits`, `qr_version`), rendering (`render_png`,
  `render_svg`) and reading a photo or screenshot (`decode_image`; every code of a picture:
  `decode_image_all`, `read_codes`).
"""

from __future__ import annotations

from .base45 import b45decode, b45encode
from .image import (
    ALNUM_CAPACITY_M,
    DEFAULT_ERROR,
    QRCodesRead,
    check_fits,
    decode_image,
    decode_image_all,
    is_payload_text,
    open_image,
    qr_version,
    read_codes,
    render_png,
    render_svg,
)
from .payload import (
    DICT_VERSION,
    FORMAT_VERSION,
    KIND_CREDENTIAL,
    KIND_PRESENTATION,
    MAX_JSON_BYTES,
    MAX_RECORDS,
    MAX_TEXT_CHARS,
    PREFIX,
    ZDICT,
    ZDICT_V2,
    ZDICTS,
    decode_payload,
    encode_payload,
    to_checksum_address,
)

__all__ = [
    "ALNUM_CAPACITY_M",
    "DEFAULT_ERROR",
    "DICT_VERSION",
    "FORMAT_VERSION",
    "KIND_CREDENTIAL",
    "KIND_PRESENTATION",
    "MAX_JSON_BYTES",
    "MAX_RECORDS",
    "MAX_TEXT_CHARS",
    "PREFIX",
    "ZDICT",
    "ZDICTS",
    "ZDICT_V2",
    "QRCodesRead",
    "b45decode",
    "b45encode",
    "check_fits",
    "decode_image",
    "decode_image_all",
    "decode_payload",
    "encode_payload",
    "is_payload_text",
    "open_image",
    "qr_version",
    "read_codes",
    "render_png",
    "render_svg",
    "to_checksum_address",
]
