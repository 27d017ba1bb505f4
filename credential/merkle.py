"""Credential hashes and the RFC 9162 (Certificate Transparency v2) Merkle tree.

* ``credential_hash(signed) = SHA-256(JCS(signed credential without anchor proof))``;
* leaf node ``SHA-256(0x00 || credential_hash)``, inner node ``SHA-256(0x01 || left || right)``;
* tree shape of RFC 9162 section 2.1.1 (the left subtree holds the largest power of two below
  ``n`` leaves; no duplicated last leaf), inclusion proofs of section 2.1.3 (audit path from the
  leaf's sibling upwards) and their verification (section 2.1.3.2).

Building bottom-up by pairing adjacent nodes and promoting an unpaired last node unchanged gives
exactly the RFC 9162 tree; `MerkleTree.proofs` uses that to produce every proof of a batch with
column operations (a million leaves in a few seconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat
from typing import Any, NamedTuple

from ._util import gc_paused as _gc_paused
from .errors import MerkleProofError
from .jcs import canonicalize

__all__ = [
    "InclusionMemo",
    "InclusionProof",
    "MerkleTree",
    "credential_hash",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "root_from_inclusion_reference",
    "tree_root",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
MAX_TREE_SIZE = 2**32 - 1  # the contract records leafCount as uint32
_sha256 = hashlib.sha256

native_root: Callable[[bytes, int, int, Any], bytes | None] | None
try:  # the C twin of `root_from_inclusion` (credential/native.c, built by the install)
    from .native import merkle_root as native_root
except ImportError:  # pragma: no cover - a tree whose C extension was not built
    native_root = None

native_tree_root: Callable[[Any], bytes | None] | None
try:  # the C twin of `MerkleTree(...).root` (credential/native_merkle.c, built by the install)
    from .native_merkle import tree_root as native_tree_root
except ImportError:  # pragma: no cover - a tree whose C extension was not built
    native_tree_root = None


def credential_hash(signed_credential: Mapping[str, Any]) -> bytes:
    """SHA-256 of the JCS form of a signed credential that carries no anchor proof.

    Raises `MerkleProofError` when the document still carries a ``TalentProofAnchor`` entry:
    split it off first (`talentproof.credential.anchor.split_anchor`).
    """
    proof = signed_credential.get("proof")
    if isinstance(proof, list) and any(
        isinstance(p, Mapping) and p.get("type") == "TalentProofAnchor" for p in proof
    ):
        raise MerkleProofError(
            "credential_hash: expected a credential without its anchor proof, found a "
            "TalentProofAnchor entry (use anchor.split_anchor first)"
        )
    return _sha256(canonicalize(signed_credential)).digest()


def leaf_hash(credential_hash: bytes) -> bytes:
    """RFC 9162 leaf hash ``SHA-256(0x00 || credential_hash)``."""
    _check_hash(credential_hash, "credential hash")
    return _sha256(LEAF_PREFIX + credential_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 inner node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _check_hash(value: Any, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        found = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise MerkleProofError(f"{what}: expected {HASH_SIZE} bytes, found {found}")


def tree_root(hashes: bytes) -> bytes:
    """The root of the tree over the 32-byte credential hashes joined in ``hashes`` (in order):
    ``MerkleTree`` of them, ``.root``, without keeping its levels. Through
    ``native_merkle.tree_root`` (C, ~0.15 us a leaf against ~0.85 for the levels built here:
    the bulk runner builds one tree a chunk for its root alone); its Python twin
    `tree_root_reference` answers whatever the C declines (not exact bytes, not a whole
    non-zero number of hashes, more than `MAX_TREE_SIZE`) and raises its errors.
    tests/credential/test_native_merkle_tree.py compares the two."""
    if native_tree_root is not None:
        root = native_tree_root(hashes)
        if root is not None:
            return root
    return tree_root_reference(hashes)


def tree_root_reference(hashes: bytes) -> bytes:
    """`tree_root` in Python: `MerkleTree` over the hashes cut from ``hashes``, its root.
    Raises `MerkleProofError` for anything but bytes of a whole, non-zero number of hashes."""
    if not isinstance(hashes, bytes) or not hashes or len(hashes) % HASH_SIZE:
        found = f"{len(hashes)} bytes" if isinstance(hashes, bytes) else type(hashes).__name__
        raise MerkleProofError(
            f"joined credential hashes: expected bytes of a non-zero multiple of {HASH_SIZE}, "
            f"found {found}"
        )
    return MerkleTree([hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)]).root


class InclusionProof(NamedTuple):
    """An RFC 9162 inclusion proof: the leaf's index, the tree size, the audit path (bottom-up)."""

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]


class MerkleTree:
    """An RFC 9162 Merkle tree over credential hashes (1 to 2**32 - 1 leaves)."""

    __slots__ = ("_levels",)

    def __init__(self, credential_hashes: Sequence[bytes]) -> None:
        """Build the tree; every level is kept so proofs need no recomputation."""
        n = len(credential_hashes)
        if n == 0:
            raise MerkleProofError("a Merkle tree needs at least one leaf, found 0")
        if n > MAX_TREE_SIZE:
            raise MerkleProofError(f"tree size: expected at most {MAX_TREE_SIZE}, found {n}")
        for i, h in enumerate(credential_hashes):
            if type(h) is not bytes or len(h) != HASH_SIZE:
                _check_hash(h, f"credential hash {i}")
        sha = _sha256
        with _gc_paused():
            level = [sha(LEAF_PREFIX + h).digest() for h in credential_hashes]
            levels = [level]
            while len(level) > 1:
                it = iter(level)
                nxt = [sha(NODE_PREFIX + a + b).digest() for a, b in zip(it, it, strict=False)]
                if len(level) & 1:
                    nxt.append(level[-1])
                levels.append(nxt)
                level = nxt
        self._levels = levels

    @property
    def root(self) -> bytes:
        """The 32-byte root (what ``anchorRoot`` records)."""
        return self._levels[-1][0]

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def proof(self, leaf_index: int) -> InclusionProof:
        """The inclusion proof of one leaf."""
        n = self.size
        if not isinstance(leaf_index, int) or not 0 <= leaf_index < n:
            raise MerkleProofError(f"leaf index: expected 0 <= index < {n}, found {leaf_index!r}")
        path = []
        i = leaf_index
        for level in self._levels[:-1]:
            sib = i ^ 1
            if sib < len(level):
                path.append(level[sib])
            i >>= 1
        return InclusionProof(leaf_index, n, tuple(path))

    def joined_paths(self) -> list[bytes]:
        """Every leaf's audit path as one bytes value (its hashes concatenated), in leaf order.

        ``joined_paths()[i] == b"".join(proof(i).path)``: the form a database column stores,
        without building `InclusionProof` tuples first.
        """
        with _gc_paused():
            if self.size == 1:
                return [b""]
            columns, _ = self._sibling_columns(b"")  # b"": a promoted node contributes nothing
            return list(map(b"".join, zip(*columns, strict=True)))

    def proofs(self) -> list[InclusionProof]:
        """Every leaf's inclusion proof, in leaf order (column-wise construction)."""
        with _gc_paused():
            return self._proofs()

    def _sibling_columns(self, missing: bytes | None) -> tuple[list[list[Any]], int]:
        """Per tree level, every leaf's sibling hash at that level (``missing`` where its node
        was promoted without a sibling), and the first leaf that has such a gap somewhere."""
        n = self.size
        columns: list[list[Any]] = []
        ragged_from = n
        for depth, level in enumerate(self._levels[:-1]):
            m = len(level)
            even = m - (m & 1)
            swapped: list[Any] = [missing] * m
            swapped[0:even:2] = level[1:even:2]
            swapped[1:even:2] = level[0:even:2]
            if m & 1:
                ragged_from = min(ragged_from, (m - 1) << depth)
            width = 1 << depth
            if width == 1:
                column = swapped
            else:
                column = list(chain.from_iterable(map(repeat, swapped, repeat(width, m))))
                del column[n:]
            columns.append(column)
        return columns, ragged_from

    def _proofs(self) -> list[InclusionProof]:
        n = self.size
        if n == 1:
            return [InclusionProof(0, 1, ())]
        columns, ragged_from = self._sibling_columns(None)
        paths = list(zip(*columns, strict=True))
        if ragged_from < n:
            paths[ragged_from:] = [tuple(filter(None, p)) for p in paths[ragged_from:]]
        new = tuple.__new__
        return list(map(new, repeat(InclusionProof, n), zip(range(n), repeat(n), paths)))


def root_from_inclusion(credential_hash: bytes, proof: InclusionProof) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2).

    Raises `MerkleProofError` when the proof is malformed for its tree size (too long, too
    short, index out of range).

    The RFC's loop decides, level by level, on which side the next path hash goes; the decisions
    depend only on the index and the tree size, so they are made up front: with ``last = size - 1``,
    the first ``inner = bit_length(index ^ last)`` hashes are siblings inside the subtree where
    the leaf's and the last leaf's paths part (on the right when the index's bit is 0), and
    the ``popcount(index >> inner)`` hashes after them are roots of complete subtrees to the
    left (the right border). Same results and errors as the RFC loop
    (`root_from_inclusion_reference`, property-tested against it).
    """
    index, _, path, inner = _checked_proof(credential_hash, proof)
    sha, prefix = _sha256, NODE_PREFIX
    r = sha(LEAF_PREFIX + credential_hash).digest()
    bits = index
    for p in path[:inner]:
        r = sha(prefix + p + r).digest() if bits & 1 else sha(prefix + r + p).digest()
        bits >>= 1
    for p in path[inner:]:
        r = sha(prefix + p + r).digest()
    return r


def _checked_proof(credential_hash: bytes, proof: InclusionProof) -> tuple[int, int, Any, int]:
    """(leaf index, tree size, path, ``inner``) of a proof whose hash, size, index and path
    length are checked (see `root_from_inclusion`)."""
    index, size, path = _proof_fields(credential_hash, proof)
    if path and (set(map(type, path)) != {bytes} or set(map(len, path)) != {HASH_SIZE}):
        for k, p in enumerate(path):
            _check_hash(p, f"path[{k}]")
    inner = (index ^ (size - 1)).bit_length()
    needed = inner + (index >> inner).bit_count()
    if len(path) != needed:
        if len(path) > needed:
            raise MerkleProofError(
                f"inclusion proof: path has {len(path)} hashes, more than a tree of {size} needs"
            )
        raise MerkleProofError(
            f"inclusion proof: path has {len(path)} hashes, too few for leaf {index} of {size}"
        )
    return index, size, path, inner


class InclusionMemo:
    """`root_from_inclusion` for many proofs of the same trees, each inner node hashed once.

    Why: the credentials of one batch share the upper part of their paths; verifying a folder
    of them leaf by leaf hashes the same inner nodes again and again (a 10,000-leaf batch: 14
    hashes per credential, about 2 new ones). After the ``k``-th hash of a proof the rest of the
    computation is a function of (that node, ``k``, ``index >> k``, the tree size, the rest of
    the path) alone: the memo keeps, for each node it hashed, the root that rest led to, and a
    later proof reaching an equal node with an equal rest of its path takes that root. Same
    roots and errors as `root_from_inclusion` (its checks run first; tests/credential compare
    both on generated trees, forged proofs included). Bounded: cleared at `MAX` nodes (a
    folder's credentials come batch by batch: recent nodes are the ones met again, and a small
    table stays in the processor's cache).
    """

    MAX = 4096

    def __init__(self) -> None:
        #: node key -> (root, the path that node was on, where the rest of that path starts)
        self._nodes: dict[tuple[bytes, int, int, int], tuple[bytes, tuple[bytes, ...], int]] = {}

    def root(self, credential_hash: bytes, proof: InclusionProof) -> bytes:
        """`root_from_inclusion(credential_hash, proof)`.

        Through ``native.merkle_root`` (`root_from_inclusion` in C: ~1.5 us for a 14-hash
        path, against ~5 us here with the memo) whenever it answers; the memo below when it
        does not (anything but exact bytes and ints, a malformed proof: the errors are raised
        here). tests/credential/test_native_merkle.py compares it with the RFC's loop.
        """
        if native_root is not None:
            answer = native_root(credential_hash, proof.leaf_index, proof.tree_size, proof.path)
            if answer is not None:
                return answer
        index, size, path, inner = _checked_proof(credential_hash, proof)
        path = tuple(path)
        sha, prefix, nodes = _sha256, NODE_PREFIX, self._nodes
        r = sha(LEAF_PREFIX + credential_hash).digest()
        made: list[tuple[bytes, int, int, int]] = []
        for k, p in enumerate(path):
            # the side as in `root_from_inclusion`: inside the subtree by the index's bit,
            # then left siblings only (the right border)
            r = (
                sha(prefix + r + p).digest()
                if k < inner and not index >> k & 1
                else sha(prefix + p + r).digest()
            )
            key = (r, k + 1, index >> (k + 1), size)
            found = nodes.get(key)
            if found is not None and found[1][found[2] :] == path[k + 1 :]:
                r = found[0]
                break
            made.append(key)
        if len(nodes) + len(made) > self.MAX:
            nodes.clear()
        for key in made:
            nodes[key] = (r, path, key[1])
        return r


def _proof_fields(credential_hash: bytes, proof: InclusionProof) -> tuple[int, int, Any]:
    """(leaf index, tree size, path) of ``proof`` once the hash, size and index are checked."""
    _check_hash(credential_hash, "credential hash")
    index, size, path = proof.leaf_index, proof.tree_size, proof.path
    if not isinstance(size, int) or not 1 <= size <= MAX_TREE_SIZE:
        raise MerkleProofError(f"tree size: expected 1..{MAX_TREE_SIZE}, found {size!r}")
    if not isinstance(index, int) or not 0 <= index < size:
        raise MerkleProofError(f"leaf index: expected 0 <= index < {size}, found {index!r}")
    return index, size, path


def root_from_inclusion_reference(credential_hash: bytes, proof: InclusionProof) -> bytes:
    """`root_from_inclusion` as RFC 9162 section 2.1.3.2 writes it: its reference twin (the
    differential tests compare the two)."""
    index, size, path = _proof_fields(credential_hash, proof)
    for k, p in enumerate(path):
        _check_hash(p, f"path[{k}]")
    fn, sn = index, size - 1
    r = _sha256(LEAF_PREFIX + credential_hash).digest()
    for p in path:
        if sn == 0:
            raise MerkleProofError(
                f"inclusion proof: path has {len(path)} hashes, more than a tree of {size} needs"
            )
        if fn & 1 or fn == sn:
            r = _sha256(NODE_PREFIX + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError(
            f"inclusion proof: path has {len(path)} hashes, too few for leaf {index} of {size}"
        )
    return r


def verify_inclusion(
    credential_hash: bytes, proof: InclusionProof, root: bytes, memo: InclusionMemo | None = None
) -> None:
    """Check that ``credential_hash`` is leaf ``proof.leaf_index`` of the tree with ``root``
    (through ``memo`` when given: many proofs of the same trees)."""
    _check_hash(root, "root")
    computed = (
        root_from_inclusion(credential_hash, proof)
        if memo is None
        else memo.root(credential_hash, proof)
    )
    if computed != root:
        raise MerkleProofError(
            f"inclusion proof leads to root {computed.hex()}, expected {root.hex()}"
        )
