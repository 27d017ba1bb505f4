"""W3C Bitstring Status List v1.0 encoding (pure helpers).

Bit ``i`` is in byte ``i // 8`` under mask ``0x80 >> (i % 8)`` (index 0 is the left-most bit);
the list is GZIP-compressed and multibase base64url-encoded (prefix ``u``, no padding), and
holds at least 131,072 entries as the specification requires.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable

MIN_BITS = 131_072


def list_length(highest_index: int) -> int:
    """Bits needed for indexes up to ``highest_index``: at least 131,072, in whole 16 KiB blocks."""
    needed = max(highest_index + 1, 1)
    blocks = -(-needed // MIN_BITS)
    return blocks * MIN_BITS


def encode_bitstring(set_indexes: Iterable[int], length_bits: int) -> str:
    """The ``encodedList`` value with the given indexes set."""
    if length_bits % 8:
        raise ValueError(f"length_bits must be a multiple of 8, got {length_bits}")
    bits = bytearray(length_bits // 8)
    for index in set_indexes:
        if not 0 <= index < length_bits:
            raise ValueError(f"status index {index} outside [0, {length_bits})")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_bitstring(encoded: str) -> bytes:
    """The uncompressed bitstring of an ``encodedList`` value."""
    if not encoded.startswith("u"):
        raise ValueError(
            f"encodedList must start with the multibase prefix 'u', got {encoded[:1]!r}"
        )
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def bit_is_set(bitstring: bytes, index: int) -> bool:
    """Whether status ``index`` is set in an uncompressed bitstring."""
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))
