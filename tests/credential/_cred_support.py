"""Shared helpers of the credential tests (keys, anchoring; the three credential kinds are
`talentproof.credential.examples`)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from talentproof.credential import anchor, integrity, merkle
from talentproof.credential.examples import BUILDERS, WHEN
from talentproof.credential.examples import badge as make_badge
from talentproof.credential.examples import degree as make_degree
from talentproof.credential.examples import employment as make_employment
from talentproof.credential.keys import Ed25519SigningKey

__all__ = [
    "BUILDERS",
    "CHAIN_ID",
    "JCS_VALUES",
    "REGISTRY",
    "WHEN",
    "anchor_in_batch",
    "anchored",
    "holder_key",
    "issuer_key",
    "make_badge",
    "make_degree",
    "make_employment",
    "other_key",
    "sign",
]

#: Values each C writer of JCS (native.c, native_sign.c) must write byte for byte as the
#: reference does: integer edges, literals, escapes, non-ASCII, nesting, key order (UTF-16).
JCS_VALUES: list[Any] = [
    0,
    -1,
    2**53 - 1,
    -(2**53 - 1),
    True,
    False,
    None,
    "",
    'quote " and backslash \\',
    "controls \x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f",
    "non-ASCII é ф 中 \u2028\u2029 \ud7ff \U0001f600 \ue000 \uffff",
    "</script>",
    [],
    {},
    [1, [2, [3, {}]], {"b": 1, "a": [True, None]}],
    {"é": 1, "z": 2, "e": 3, "ф": 4, "": 5, "\x7f": 6, "A": 7, "a\x00": 8, "a": 9},
]

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337


@pytest.fixture(scope="session")
def issuer_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"issuer").digest())


@pytest.fixture(scope="session")
def holder_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"holder").digest())


@pytest.fixture(scope="session")
def other_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"someone else").digest())


def sign(doc: dict[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    return integrity.sign(
        doc, key, verification_method=key.public_key.verification_method, created=WHEN
    )


def anchor_in_batch(signed: dict[str, Any], *, batch: int = 4096, index: int = 5) -> dict[str, Any]:
    """Anchor ``signed`` as leaf ``index`` of a batch of ``batch`` (others: filler hashes)."""
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(batch)]
    hashes[index] = merkle.credential_hash(signed)
    tree = merkle.MerkleTree(hashes)
    proof = anchor.AnchorProof.from_inclusion(
        tree.proof(index), chain_id=CHAIN_ID, registry=REGISTRY, merkle_root=tree.root
    )
    return anchor.attach_anchor(signed, proof)


@pytest.fixture(scope="session")
def anchored(
    issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
) -> dict[str, dict[str, Any]]:
    """One anchored credential of each kind (batch of 4096: a 12-hash path)."""
    did = holder_key.public_key.did_key
    return {kind: anchor_in_batch(sign(build(did), issuer_key)) for kind, build in BUILDERS.items()}
