"""Pure parts: key sealing, API key format, status list encoding, did:web names."""

from __future__ import annotations

import pytest

from talentproof.issuer import auth
from talentproof.issuer.errors import KeyDecryptionError, Unauthenticated
from talentproof.issuer.service import did_web
from talentproof.issuer.statuslist import (
    MIN_BITS,
    bit_is_set,
    decode_bitstring,
    encode_bitstring,
    list_length,
)
from talentproof.issuer.vault import KeyVault


def test_sealed_secret_opens_only_with_its_passphrase_and_context() -> None:
    salt = bytes(16)
    vault = KeyVault("right passphrase", salt)
    sealed = vault.seal(b"\x01" * 32, context="signing-key:1")
    assert b"\x01" * 32 not in sealed
    assert vault.open(sealed, context="signing-key:1") == b"\x01" * 32
    with pytest.raises(KeyDecryptionError):
        vault.open(sealed, context="signing-key:2")
    with pytest.raises(KeyDecryptionError):
        KeyVault("wrong passphrase", salt).open(sealed, context="signing-key:1")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyDecryptionError):
        vault.open(tampered, context="signing-key:1")


def test_api_key_token_parses_and_matches_only_its_hash() -> None:
    new = auth.new_api_key()
    key_id, secret = auth.parse_token(new.token)
    assert key_id == new.key_id
    assert auth.secret_matches(secret, new.secret_hash)
    assert not auth.secret_matches(secret + "x", new.secret_hash)
    with pytest.raises(Unauthenticated, match="tpk_<id>_<secret>"):
        auth.parse_token("Bearer-something")


def test_bitstring_status_list_bit_order_and_minimum_size() -> None:
    assert list_length(0) == MIN_BITS
    assert list_length(MIN_BITS) == 2 * MIN_BITS
    encoded = encode_bitstring([0, 9, MIN_BITS - 1], MIN_BITS)
    assert encoded.startswith("u")
    raw = decode_bitstring(encoded)
    assert len(raw) == MIN_BITS // 8
    assert raw[0] == 0x80 and raw[1] == 0x40  # index 0 is the left-most bit
    assert bit_is_set(raw, MIN_BITS - 1) and not bit_is_set(raw, 1)
    with pytest.raises(ValueError, match="outside"):
        encode_bitstring([MIN_BITS], MIN_BITS)


def test_did_web_percent_encodes_the_port() -> None:
    assert did_web("http://localhost:8000", "hku") == "did:web:localhost%3A8000:institutions:hku"
    assert did_web("https://issuer.example/api", "x") == "did:web:issuer.example:api:institutions:x"


def test_did_web_names_a_host_never_an_ip() -> None:
    # did:web forbids IP hosts: a loopback development URL is written localhost, others refused
    assert did_web("http://127.0.0.1:8000", "hku") == "did:web:localhost%3A8000:institutions:hku"
    assert did_web("http://[::1]:8000", "hku") == "did:web:localhost%3A8000:institutions:hku"
    assert did_web("https://Issuer.Example", "x") == "did:web:issuer.example:institutions:x"
    for url in ("http://192.0.2.7:8000", "https://[2001:db8::1]"):
        with pytest.raises(ValueError, match="DNS host name"):
            did_web(url, "hku")
