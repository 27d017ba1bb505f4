"""``credential.native.merkle_root`` (check 4's Merkle root in C) against RFC 9162's loop.

Whenever it answers, its root must be `merkle.root_from_inclusion_reference`'s; for anything it
does not take exactly (malformed proofs, other types) it answers None and `InclusionMemo.root`
decides with the Python twin, raising the same errors as before.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import (
    merkle,
    native,  # built by the install: a missing build fails here
)
from talentproof.credential.errors import CredentialError
from talentproof.credential.merkle import InclusionMemo, InclusionProof, MerkleTree


def test_the_memo_uses_it() -> None:
    import talentproof.credential.native as built

    assert merkle.native_root is built.merkle_root


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(n)]


def _reference(h: Any, proof: InclusionProof) -> tuple[str, Any]:
    try:
        return "ok", merkle.root_from_inclusion_reference(h, proof)
    except (CredentialError, TypeError, ValueError) as exc:
        return "error", type(exc).__name__


def _check(h: Any, index: Any, size: Any, path: Any) -> bytes | None:
    got = native.merkle_root(h, index, size, path)
    proof = InclusionProof(index, size, path)
    kind, want = _reference(h, proof)
    if got is not None:
        assert kind == "ok" and got == want, (index, size)
    memo = InclusionMemo()
    try:
        memo_answer: tuple[str, Any] = ("ok", memo.root(h, proof))
    except (CredentialError, TypeError, ValueError) as exc:
        memo_answer = ("error", type(exc).__name__)
    assert memo_answer == (kind, want)  # the memo (C first) answers as the RFC's loop
    return got


@pytest.mark.parametrize("size", [*range(1, 40), 64, 65, 127, 128, 129, 1000])
def test_every_leaf_of_real_trees(size: int) -> None:
    leaves = _leaves(size, size)
    tree = MerkleTree(leaves)
    for proof in tree.proofs():
        got = _check(leaves[proof.leaf_index], proof.leaf_index, proof.tree_size, proof.path)
        assert got == tree.root
        assert _check(leaves[proof.leaf_index], proof.leaf_index, size, list(proof.path))


class _Bytes(bytes):
    pass


class _Int(int):
    pass


def test_what_it_does_not_take_goes_to_the_twin() -> None:
    leaves = _leaves(10)
    tree = MerkleTree(leaves)
    p = tree.proofs()[3]
    h = leaves[3]
    cases: list[tuple[Any, Any, Any, Any]] = [
        (h, p.leaf_index, p.tree_size, p.path[:-1]),  # too short
        (h, p.leaf_index, p.tree_size, (*p.path, p.path[0])),  # too long
        (h, p.leaf_index + 1, p.tree_size, p.path),  # another leaf's place: a wrong root
        (h, 10, 10, p.path),  # index out of range
        (h, -1, 10, p.path),
        (h, 0, 0, ()),
        (h, 0, 2**32, p.path),
        (h, 2**64, 2**65, p.path),
        (h, True, 10, p.path),  # bool is no leaf index here
        (h, _Int(3), 10, p.path),
        (h, 3.0, 10, p.path),
        (h, 3, 10.0, p.path),
        (h[:31], 3, 10, p.path),
        (_Bytes(h), 3, 10, p.path),
        (bytearray(h), 3, 10, p.path),
        (h, 3, 10, (*p.path[:-1], p.path[-1][:31])),
        (h, 3, 10, (*p.path[:-1], _Bytes(p.path[-1]))),
        (h, 3, 10, (*p.path[:-1], "00" * 32)),
        (h, 3, 10, iter(p.path)),
        (h, 3, 10, None),
    ]
    for h_, i, n, path in cases:
        got = native.merkle_root(h_, i, n, path)
        if (h_, i, n) == (h, p.leaf_index + 1, p.tree_size):
            assert got is not None and got != tree.root  # well-formed, leads elsewhere
        else:
            assert got is None, (i, n)
        if not isinstance(path, type(iter(()))):
            _check(h_, i, n, path)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300), st.data())
def test_generated_proofs_and_forgeries(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size, size * 7)
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.proofs()[index]
    path = list(proof.path)
    if path and data.draw(st.booleans()):  # flip a byte of one path hash
        k = data.draw(st.integers(0, len(path) - 1))
        path[k] = bytes([path[k][0] ^ 1]) + path[k][1:]
    claimed = data.draw(st.sampled_from([index, max(0, index - 1), min(size - 1, index + 1)]))
    claimed_size = data.draw(st.sampled_from([size, size + 1, max(1, size - 1)]))
    got = _check(leaves[index], claimed, claimed_size, tuple(path))
    if got is not None and (claimed, claimed_size, tuple(path)) == (
        index,
        size,
        tuple(proof.path),
    ):
        assert got == tree.root
