"""Base58-btc: the GMP and pure-Python encoders and the lane-joining decoder against `base58`."""

from __future__ import annotations

import base58
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from talentproof.credential import _base58

_64 = st.binary(min_size=64, max_size=64) | st.integers(0, 64).flatmap(
    lambda zeros: st.binary(min_size=64 - zeros, max_size=64 - zeros).map(
        lambda tail: bytes(zeros) + tail))


def test_signing_path_uses_gmp() -> None:
    assert _base58.b58encode_64 is _base58._b58encode_64_gmp


@settings(max_examples=300, deadline=None)
@given(_64)
@example(bytes(64))
@example(bytes(63) + b"\x01")
@example(b"\xff" * 64)
def test_64_byte_encoders_match_reference(data: bytes) -> None:
    expected = base58.b58encode(data).decode()
    assert _base58._b58encode_64_gmp(data) == expected
    assert _base58._b58encode_64_py(data) == expected
    assert _base58.b58encode(data) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
@example(b"")
@example(b"\x00")
@example(bytes(5) + b"\x01" * 250)  # more than 256 digits: decoded in chunks
def test_decode_round_trips_and_matches_reference(data: bytes) -> None:
    text = base58.b58encode(data).decode()
    assert _base58.b58encode(data) == text
    assert _base58.b58decode(text) == data == base58.b58decode(text)


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "z+", "é", "\ud800", "1 1"])
def test_decode_refuses_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(ValueError, match="not in the base58-btc alphabet"):
        _base58.b58decode(text)


def test_decode_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="expected base58-btc text"):
        _base58.b58decode(b"abc")  # type: ignore[arg-type]
