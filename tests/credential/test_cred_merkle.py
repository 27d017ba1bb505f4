"""RFC 9162 Merkle tree, inclusion proofs and their verification."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential.errors import MerkleProofError
from talentproof.credential.merkle import (
    InclusionMemo,
    InclusionProof,
    MerkleTree,
    credential_hash,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_inclusion,
)


def _h(i: int) -> bytes:
    return hashlib.sha256(b"credential %d" % i).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 MTH, written from the recursive definition (independent oracle)."""
    n = len(leaves)
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)  # largest power of two smaller than n
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


def test_known_answer_small_trees() -> None:
    a, b, c = _h(0), _h(1), _h(2)
    la, lb, lc = (hashlib.sha256(b"\x00" + x).digest() for x in (a, b, c))
    assert MerkleTree([a]).root == la
    assert MerkleTree([a, b]).root == hashlib.sha256(b"\x01" + la + lb).digest()
    assert MerkleTree([a, b, c]).root == node_hash(node_hash(la, lb), lc)
    assert leaf_hash(a) == la


@pytest.mark.parametrize("n", [*range(1, 40), 63, 64, 65, 100, 127, 129, 1000, 1025])
def test_tree_matches_rfc9162_definition(n: int) -> None:
    leaves = [_h(i) for i in range(n)]
    tree = MerkleTree(leaves)
    assert tree.root == _mth(leaves)
    assert tree.size == n
    proofs = tree.proofs()
    assert len(proofs) == n
    checked = range(n) if n <= 130 else sorted({*range(0, n, 97), n - 2, n - 1})
    for i in checked:  # the recursive oracle is slow: sample the big trees
        assert list(proofs[i].path) == _path(i, leaves)
    for i in range(n):
        assert proofs[i] == tree.proof(i) == InclusionProof(i, n, proofs[i].path)
        verify_inclusion(leaves[i], proofs[i], tree.root)


def test_batch_of_4096_has_12_hash_paths() -> None:
    tree = MerkleTree([_h(i) for i in range(4096)])
    assert {len(p.path) for p in tree.proofs()} == {12}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_leaf_proves_and_any_flipped_bit_fails(n: int, data: st.DataObject) -> None:
    leaves = [_h(i) for i in range(n)]
    tree = MerkleTree(leaves)
    proofs = tree.proofs()
    for i in range(n):
        verify_inclusion(leaves[i], proofs[i], tree.root)
    i = data.draw(st.integers(0, n - 1))
    proof = proofs[i]
    bit = data.draw(st.integers(0, 255))

    def flip(value: bytes) -> bytes:
        out = bytearray(value)
        out[bit // 8] ^= 1 << (bit % 8)
        return bytes(out)

    with pytest.raises(MerkleProofError):
        verify_inclusion(flip(leaves[i]), proof, tree.root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaves[i], proof, flip(tree.root))
    if proof.path:
        k = data.draw(st.integers(0, len(proof.path) - 1))
        path = list(proof.path)
        path[k] = flip(path[k])
        with pytest.raises(MerkleProofError):
            verify_inclusion(leaves[i], proof._replace(path=tuple(path)), tree.root)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
        with pytest.raises(MerkleProofError):
            verify_inclusion(leaves[i], proof._replace(leaf_index=other), tree.root)


def test_malformed_proofs_are_refused() -> None:
    leaves = [_h(i) for i in range(10)]
    tree = MerkleTree(leaves)
    proof = tree.proof(3)
    with pytest.raises(MerkleProofError, match="more than"):
        root_from_inclusion(leaves[3], proof._replace(path=(*proof.path, _h(99))))
    with pytest.raises(MerkleProofError, match="too few"):
        root_from_inclusion(leaves[3], proof._replace(path=proof.path[:-1]))
    with pytest.raises(MerkleProofError, match="leaf index"):
        root_from_inclusion(leaves[3], proof._replace(leaf_index=10))
    with pytest.raises(MerkleProofError, match="tree size"):
        root_from_inclusion(leaves[3], proof._replace(tree_size=0))
    with pytest.raises(MerkleProofError, match="32 bytes"):
        root_from_inclusion(leaves[3][:31], proof)
    with pytest.raises(MerkleProofError, match="path"):
        root_from_inclusion(leaves[3], proof._replace(path=(b"short",)))
    with pytest.raises(MerkleProofError, match="expected"):
        verify_inclusion(leaves[3], proof, tree.proof(4).path[0])


def test_tree_input_errors() -> None:
    with pytest.raises(MerkleProofError, match="at least one"):
        MerkleTree([])
    with pytest.raises(MerkleProofError, match="credential hash 1"):
        MerkleTree([_h(0), b"x" * 31])
    with pytest.raises(MerkleProofError, match="leaf index"):
        MerkleTree([_h(0)]).proof(1)


def test_credential_hash_is_sha256_of_jcs() -> None:
    doc = {"b": 1, "a": "é", "proof": {"type": "DataIntegrityProof"}}
    assert (
        credential_hash(doc)
        == hashlib.sha256('{"a":"é","b":1,"proof":{"type":"DataIntegrityProof"}}'.encode()).digest()
    )


def test_credential_hash_refuses_anchored_form() -> None:
    doc = {"proof": [{"type": "DataIntegrityProof"}, {"type": "TalentProofAnchor"}]}
    with pytest.raises(MerkleProofError, match="split_anchor"):
        credential_hash(doc)


def _outcome(fn, credential_hash: bytes, proof: InclusionProof) -> object:
    try:
        return fn(credential_hash, proof)
    except MerkleProofError as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_root_from_inclusion_matches_the_rfc_loop(data: st.DataObject) -> None:
    """The up-front decomposition (inner + border levels) gives the RFC 9162 loop's root or
    error for every index, size and path length: real proofs, and proofs cut, extended, moved
    to another index or another tree size."""
    from talentproof.credential.merkle import root_from_inclusion_reference

    n = data.draw(st.integers(1, 300))
    leaves = [_h(i) for i in range(n)]
    tree = MerkleTree(leaves)
    i = data.draw(st.integers(0, n - 1))
    proof = tree.proof(i)
    assert (
        root_from_inclusion(leaves[i], proof)
        == root_from_inclusion_reference(leaves[i], proof)
        == tree.root
    )
    extra = tuple(_h(1000 + k) for k in range(data.draw(st.integers(0, 3))))
    cut = data.draw(st.integers(0, len(proof.path)))
    variant = InclusionProof(
        data.draw(st.integers(0, 2 * n)),
        data.draw(st.integers(1, 2 * n + 1)),
        proof.path[:cut] + extra,
    )
    assert _outcome(root_from_inclusion, leaves[i], variant) == _outcome(
        root_from_inclusion_reference, leaves[i], variant
    )


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1000, 2**32 - 1])
def test_root_from_inclusion_matches_the_rfc_loop_at_every_length(size: int) -> None:
    from talentproof.credential.merkle import root_from_inclusion_reference

    for index in sorted({i for i in (0, 1, size // 2, size - 2, size - 1) if 0 <= i < size}):
        for length in range(34):
            proof = InclusionProof(index, size, tuple(_h(k) for k in range(length)))
            assert _outcome(root_from_inclusion, _h(7), proof) == _outcome(
                root_from_inclusion_reference, _h(7), proof
            )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_inclusion_memo_gives_the_root_from_inclusion_answer(data: st.DataObject) -> None:
    """`InclusionMemo.root` (inner nodes hashed once across proofs) gives `root_from_inclusion`'s
    root or error for every proof of a sequence sharing one memo: real proofs of two trees in
    any order and repeated, and proofs with a flipped leaf or path hash, cut, extended, moved
    to another index or tree size (whose nodes then sit in the memo beside the real ones)."""
    memo = InclusionMemo()
    trees = []
    for t in range(2):
        n = data.draw(st.integers(1, 120))
        leaves = [_h(1000 * t + i) for i in range(n)]
        trees.append((leaves, MerkleTree(leaves)))
    for _ in range(data.draw(st.integers(1, 60))):
        leaves, tree = trees[data.draw(st.integers(0, 1))]
        n = len(leaves)
        i = data.draw(st.integers(0, n - 1))
        leaf, proof = leaves[i], tree.proof(i)
        how = data.draw(st.sampled_from(["real", "leaf", "path", "cut", "index", "size"]))
        if how == "leaf":
            leaf = _h(-1 - i)
        elif how == "path" and proof.path:
            k = data.draw(st.integers(0, len(proof.path) - 1))
            proof = proof._replace(path=(*proof.path[:k], _h(-7), *proof.path[k + 1 :]))
        elif how == "cut":
            cut = data.draw(st.integers(0, len(proof.path)))
            extra = tuple(_h(2000 + k) for k in range(data.draw(st.integers(0, 2))))
            proof = proof._replace(path=proof.path[:cut] + extra)
        elif how == "index":
            proof = proof._replace(leaf_index=data.draw(st.integers(0, 2 * n)))
        elif how == "size":
            proof = proof._replace(tree_size=data.draw(st.integers(1, 2 * n + 1)))
        assert _outcome(memo.root, leaf, proof) == _outcome(root_from_inclusion, leaf, proof)
        if how == "real":
            assert memo.root(leaf, proof) == tree.root
            verify_inclusion(leaf, proof, tree.root, memo)
        else:
            try:
                want: object = root_from_inclusion(leaf, proof) == tree.root
            except MerkleProofError:
                want = MerkleProofError
            if want is not True:
                with pytest.raises(MerkleProofError):
                    verify_inclusion(leaf, proof, tree.root, memo)


def test_inclusion_memo_takes_a_stored_root_only_for_the_same_rest_of_path() -> None:
    """Two proofs reaching the same node at the same place but going on with other hashes get
    their own roots (the memo compares the rest of the path), and a memo over its bound starts
    again."""
    leaves = [_h(i) for i in range(8)]
    tree = MerkleTree(leaves)
    memo = InclusionMemo()
    proof = tree.proof(0)
    assert memo.root(leaves[0], proof) == tree.root
    other = proof._replace(path=(*proof.path[:2], _h(99)))
    assert memo.root(leaves[0], other) == root_from_inclusion(leaves[0], other) != tree.root
    assert memo.root(leaves[1], tree.proof(1)) == tree.root
    memo.MAX = 2
    assert memo.root(leaves[5], tree.proof(5)) == tree.root
