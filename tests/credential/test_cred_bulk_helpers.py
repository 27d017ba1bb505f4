"""Helpers for callers that build canonical forms themselves (the issuer's bulk template):
`integrity.options_digest` / `integrity.proof_value` give `sign`'s proofValue, and
`MerkleTree.joined_paths` gives every inclusion proof's path, concatenated."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys

import pytest

from talentproof.credential import integrity, jcs, merkle
from talentproof.credential.keys import Ed25519SigningKey

KEY = Ed25519SigningKey.from_seed(bytes(range(32)))
CREATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_proof_value_over_hash_data_is_the_signed_proof_value() -> None:
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x", "n": "\u2028é"}
    vm = "did:web:uni.example#" + KEY.public_key.multibase
    signed = integrity.sign(doc, KEY, verification_method=vm, created=CREATED)
    options = integrity.signing_proof(
        verification_method=vm, created=CREATED, context=doc["@context"]
    )
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


def _reference_signed(doc: dict, key_seed: bytes, vm: str) -> dict:
    """sign's result computed the plain way: rfc8785 canonical forms, cryptography's Ed25519,
    the `base58` package's encoding (no fast path, no inlined step of `_sign_many`)."""
    import base58
    import rfc8785
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    options = integrity.signing_proof(
        verification_method=vm, created=CREATED, context=doc.get("@context")
    )
    data = (
        hashlib.sha256(rfc8785.dumps(options)).digest()
        + hashlib.sha256(rfc8785.dumps(doc)).digest()
    )
    signature = Ed25519PrivateKey.from_private_bytes(key_seed).sign(data)
    return {**doc, "proof": {**options, "proofValue": "z" + base58.b58encode(signature).decode()}}


def test_sign_many_equals_the_plain_path_on_every_branch() -> None:
    """`_sign_many` inlines the fast-path check, libsodium's call and the base-58 encoding;
    the result must be the plain computation's for: typical documents, documents whose
    canonical form needs the reference serializer (floats, null, keys >= U+E000, numbers in
    arrays), several @contexts, and signatures starting with a zero byte (a leading "1")."""
    seed = hashlib.sha256(b"plain path").digest()
    key = Ed25519SigningKey.from_seed(seed)
    vm = "did:web:uni.example#" + key.public_key.multibase
    ctx = ["https://www.w3.org/ns/credentials/v2"]
    docs: list[dict] = [
        {"@context": ctx, "id": "urn:a", "n": 3, "list": ["x", 1, -2]},
        {"@context": ctx, "id": "urn:b", "f": 1.5, "g": 1e21, "z": None},
        {"@context": ctx + ["https://example.org/v1"], "id": "urn:c", "k\ue000": "v", "é": "x"},
        {"id": "urn:no-context", "nested": {"a": [None, True, 0.1]}},
        {"@context": ctx, "s": 'quote " and \\ and \u2028', "t": "2026-01-01T00:00:00Z"},
    ]
    leading_zero = None
    for i in range(5000):  # about one signature in 256 starts with a zero byte
        doc = {"@context": ctx, "id": f"urn:zero:{i}"}
        if integrity.sign(doc, key, verification_method=vm, created=CREATED)["proof"][
            "proofValue"
        ].startswith("z1"):
            leading_zero = doc
            break
    assert leading_zero is not None
    docs.append(leading_zero)
    signed = integrity.sign_many(docs, key, verification_method=vm, created=CREATED)
    assert signed == [_reference_signed(d, seed, vm) for d in docs]
    for d in signed:
        integrity.verify(d)


def test_sign_many_across_chunks_equals_the_plain_path() -> None:
    """More documents than one phase chunk holds (two full chunks and a partial one), with
    @contexts and fast/slow canonical forms changing across chunk boundaries."""
    from talentproof.credential.errors import ProofError

    seed = hashlib.sha256(b"chunks").digest()
    key = Ed25519SigningKey.from_seed(seed)
    vm = "did:web:uni.example#" + key.public_key.multibase
    contexts = [
        ["https://www.w3.org/ns/credentials/v2"],
        ["https://www.w3.org/ns/credentials/v2", "https://example.org/v1"],
    ]
    count = 2 * integrity.SIGN_CHUNK + 37
    docs = [
        {
            "@context": contexts[(i // 100) % 2],
            "id": f"urn:doc:{i}",
            **({"score": i / 7} if i % 97 == 0 else {}),
        }
        for i in range(count)
    ]
    signed = integrity.sign_many(iter(docs), key, verification_method=vm, created=CREATED)
    assert len(signed) == count
    assert signed == [_reference_signed(d, seed, vm) for d in docs]
    bad = [dict(d) for d in docs]
    bad[integrity.SIGN_CHUNK + 3]["proof"] = {}
    with pytest.raises(ProofError, match=f"document {integrity.SIGN_CHUNK + 3} already"):
        integrity.sign_many(bad, key, verification_method=vm, created=CREATED)
    with pytest.raises(TypeError, match=f"document {count - 1}: expected a JSON object"):
        integrity.sign_many(
            [*docs[:-1], ["not", "an", "object"]], key, verification_method=vm, created=CREATED
        )


def test_sign_many_without_the_direct_libsodium_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback through PyNaCl's public `crypto_sign` gives the same signed documents."""
    seed = hashlib.sha256(b"fallback").digest()
    key = Ed25519SigningKey.from_seed(seed)
    vm = "did:web:uni.example#" + key.public_key.multibase
    docs = [
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": f"urn:f:{i}"}
        for i in range(40)
    ]
    direct = integrity.sign_many(docs, key, verification_method=vm, created=CREATED)
    monkeypatch.setitem(sys.modules, "nacl._sodium", None)  # the binding is not there
    assert integrity.sign_many(docs, key, verification_method=vm, created=CREATED) == direct
    assert direct == [_reference_signed(d, seed, vm) for d in docs]
