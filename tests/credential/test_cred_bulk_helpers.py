"""Helpers for callers that build canonical forms themselves (the issuer's bulk template):
`integrity.options_digest` / `integrity.proof_value` give `sign`'s proofValue, and
`MerkleTree.joined_paths` gives every inclusion proof's path, concatenated."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from talentproof.credential import integrity, jcs, merkle
from talentproof.credential.keys import Ed25519SigningKey

KEY = Ed25519SigningKey.from_seed(bytes(range(32)))
CREATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_proof_value_over_hash_data_is_the_signed_proof_value() -> None:
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x", "n": "\u2028é"}
    vm = "did:web:uni.example#" + KEY.public_key.multibase
    signed = integrity.sign(doc, KEY, verification_method=vm, created=CREATED)
    options = integrity.signing_proof(verification_method=vm, created=CREATED,
                                      context=doc["@context"])
    hash_data = integrity.options_digest(options) + hashlib.sha256(jcs.canonicalize(doc)).digest()
    assert hash_data == integrity.hash_data(doc, options)
    assert integrity.proof_value(KEY, hash_data) == signed["proof"]["proofValue"]
    assert integrity.options_digest({**options, "proofValue": "zIgnored"}) == hash_data[:32]
    with pytest.raises(ValueError, match="64 bytes"):
        integrity.proof_value(KEY, hash_data[:32])


def test_joined_paths_are_the_inclusion_proof_paths() -> None:
    for n in range(1, 40):
        hashes = [hashlib.sha256(bytes([n, i])).digest() for i in range(n)]
        tree = merkle.MerkleTree(hashes)
        assert tree.joined_paths() == [b"".join(p.path) for p in tree.proofs()]


def test_signing_key_signatures_are_cryptographys_byte_for_byte() -> None:
    """Signing goes through libsodium when PyNaCl is present: Ed25519 (RFC 8032) is
    deterministic, so every signature must equal cryptography's and verify with it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=200, deadline=None)
    @given(st.binary(min_size=32, max_size=32), st.binary(max_size=300))
    def check(seed: bytes, message: bytes) -> None:
        key = Ed25519SigningKey.from_seed(seed)
        reference = Ed25519PrivateKey.from_private_bytes(seed)
        signature = key.sign(message)
        assert signature == reference.sign(message)
        reference.public_key().verify(signature, message)

    check()
