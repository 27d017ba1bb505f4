"""``credential.native_merkle.tree_root`` (the bulk runner's batch root in C) against its twin.

Whenever it answers, its root must be `MerkleTree(...).root` over the same hashes; for anything it
does not take exactly (not bytes, a partial hash, no hash) it answers None and `merkle.tree_root`
decides with `merkle.tree_root_reference`, raising the reference's errors.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import (
    merkle,
    native_merkle,  # built by the install: a missing build fails here
)
from talentproof.credential.errors import MerkleProofError
from talentproof.credential.merkle import MerkleTree


def test_tree_root_uses_it() -> None:
    assert merkle.native_tree_root is native_merkle.tree_root


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(n)]


@pytest.mark.parametrize(
    "size", [*range(1, 70), 127, 128, 129, 255, 256, 257, 1000, 4097, 8191, 8192, 8193]
)
def test_real_trees(size: int) -> None:
    leaves = _leaves(size, size)
    want = MerkleTree(leaves).root
    joined = b"".join(leaves)
    assert native_merkle.tree_root(joined) == want
    assert merkle.tree_root(joined) == want == merkle.tree_root_reference(joined)


def test_the_rfc_9162_vectors_by_hand() -> None:
    """Three leaves: root = node(node(leaf a, leaf b), leaf c), the last leaf promoted."""
    a, b, c = _leaves(3, 7)
    want = merkle.node_hash(
        merkle.node_hash(merkle.leaf_hash(a), merkle.leaf_hash(b)), merkle.leaf_hash(c)
    )
    assert native_merkle.tree_root(a + b + c) == want
    assert native_merkle.tree_root(a) == merkle.leaf_hash(a)
    # order matters: swapping two leaves is another root
    assert native_merkle.tree_root(b + a + c) != want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=300))
def test_generated_trees(leaves: list[bytes]) -> None:
    assert native_merkle.tree_root(b"".join(leaves)) == MerkleTree(leaves).root


class _Bytes(bytes):
    pass


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"\x00" * 31,
        b"\x00" * 33,
        b"\x00" * 65,
        bytearray(32),
        memoryview(b"\x00" * 32),
        _Bytes(b"\x00" * 32),
        "0" * 32,
        None,
        32,
        [b"\x00" * 32],
    ],
)
def test_declined_inputs_go_to_the_reference(value: Any) -> None:
    """The C declines what is not exact bytes of whole hashes; `tree_root` then answers as the
    reference does: its root for a bytes subclass, its error for the rest."""
    assert native_merkle.tree_root(value) is None
    try:
        want: tuple[str, Any] = ("ok", merkle.tree_root_reference(value))
    except MerkleProofError as exc:
        want = ("error", str(exc))
    try:
        got: tuple[str, Any] = ("ok", merkle.tree_root(value))
    except MerkleProofError as exc:
        got = ("error", str(exc))
    assert got == want
    if isinstance(value, bytes) and len(value) == 32:
        assert got == ("ok", MerkleTree([bytes(value)]).root)
    elif not isinstance(value, bytes) or not value or len(value) % 32:
        assert got[0] == "error"
        assert "expected" in got[1]
