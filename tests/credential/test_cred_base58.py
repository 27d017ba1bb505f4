"""Base58-btc: the GMP and pure-Python encoders and decoders against `base58` (the reference)."""

from __future__ import annotations

import os

import base58
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from talentproof.credential import _base58
from talentproof.credential.keys import Ed25519SigningKey, RawEd25519Signer

_64 = st.binary(min_size=64, max_size=64) | st.integers(0, 64).flatmap(
    lambda zeros: st.binary(min_size=64 - zeros, max_size=64 - zeros).map(
        lambda tail: bytes(zeros) + tail
    )
)


def test_signing_and_verifying_paths_use_gmp() -> None:
    assert _base58.b58encode_64 is _base58.encode_64_gmp
    assert _base58.b58decode is _base58.decode_gmp


@settings(max_examples=300, deadline=None)
@given(_64)
@example(bytes(64))
@example(bytes(63) + b"\x01")
@example(b"\xff" * 64)
def test_64_byte_encoders_match_reference(data: bytes) -> None:
    expected = base58.b58encode(data).decode()
    assert _base58.encode_64_gmp(data) == expected
    assert _base58.encode_64_reference(data) == expected
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
    assert _base58.decode_gmp(text) == _base58.decode_reference(text) == data


_ALPHABET_TEXT = st.text(alphabet=_base58.ALPHABET, max_size=120)


@settings(max_examples=300, deadline=None)
@given(_ALPHABET_TEXT)
@example("")
@example("1")
@example("111")
@example("11z")
@example("1e1")  # GMP digits "0b1": a "0b" prefix is never passed on (leading zeros cut)
def test_decoders_agree_on_any_alphabet_text(text: str) -> None:
    """Any text of the alphabet (not only encoder output): GMP path == lane path == reference."""
    expected = base58.b58decode(text)
    assert _base58.decode_gmp(text) == expected
    assert _base58.decode_reference(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
@example(" 1")  # GMP alone skips spaces, "_" and a sign: the alphabet check comes first
@example("1_1")
@example("+1")
@example("-1")
@example("2\n")
def test_decoders_refuse_the_same_text(text: str) -> None:
    outcomes = []
    for decode in (_base58.decode_gmp, _base58.decode_reference):
        try:
            outcomes.append(decode(text))
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    if any(c not in _base58.ALPHABET for c in text):
        assert "not in the base58-btc alphabet" in str(outcomes[0])


@pytest.mark.parametrize("decode", [_base58.decode_gmp, _base58.decode_reference])
@pytest.mark.parametrize(
    "text", ["0", "O", "I", "l", "z+", "é", "\ud800", "1 1", " 1", "1_1", "+1", "-1"]
)
def test_decode_refuses_characters_outside_the_alphabet(decode, text: str) -> None:
    with pytest.raises(ValueError, match="not in the base58-btc alphabet"):
        decode(text)


@pytest.mark.parametrize("decode", [_base58.decode_gmp, _base58.decode_reference])
def test_decode_refuses_non_text(decode) -> None:
    with pytest.raises(ValueError, match="expected base58-btc text"):
        decode(b"abc")


def test_signature_text_and_raw_signer_are_the_reference_ones() -> None:
    """The bulk template's signer (`keys.RawEd25519Signer`) and signature text
    (`b58encode_64_ascii`) give what the signing key and `b58encode` give."""
    key = Ed25519SigningKey.from_seed(b"\x09" * 32)
    raw = RawEd25519Signer(key)
    for message in (bytes(64), bytes(range(64)), os.urandom(64)):
        assert raw.sign(message) == key.sign(message)
    for signature in (
        bytes(64),
        b"\0\0\x01" + bytes(61),
        b"\xff" * 64,
        os.urandom(64),
        b"\0" + os.urandom(63),
    ):
        assert _base58.b58encode_64_ascii(signature) == _base58.b58encode(signature).encode()
    with pytest.raises(ValueError, match="64-byte"):
        raw.sign(b"short")
