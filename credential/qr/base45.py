"""Base45 (RFC 9285, as the EU DCC uses it): bytes <-> text in the QR alphanumeric set.

Hand-written: the ``base45`` package on PyPI is unmaintained and this is 40 lines of RFC 9285
with the payload's own errors (`GarbagePayload`, `TruncatedPayload`).
"""

from __future__ import annotations

from ..errors import GarbagePayload, TruncatedPayload

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45 = ALPHABET
_B45_INDEX = {c: i for i, c in enumerate(_B45)}


def b45encode(data: bytes) -> str:
    """RFC 9285 Base45."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out.append(_B45[c] + _B45[d] + _B45[e])
    if len(data) & 1:
        d, c = divmod(data[-1], 45)
        out.append(_B45[c] + _B45[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45; raises `GarbagePayload` / `TruncatedPayload`."""
    try:
        values = [_B45_INDEX[c] for c in text]
    except KeyError as exc:
        raise GarbagePayload(f"character {exc.args[0]!r} is not in the Base45 alphabet") from None
    if len(values) % 3 == 1:
        raise TruncatedPayload(
            f"Base45 text of {len(text)} characters is cut short (length mod 3 must be 0 or 2)"
        )
    out = bytearray()
    for i in range(0, len(values) - 2, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if n > 0xFFFF:
            raise GarbagePayload(f"Base45 triplet at {i} encodes {n}, more than two bytes")
        out += n.to_bytes(2, "big")
    if len(values) % 3 == 2:
        n = values[-2] + values[-1] * 45
        if n > 0xFF:
            raise TruncatedPayload(
                "Base45 text ends inside a 3-character group (the text is cut short)"
            )
        out.append(n)
    return bytes(out)
