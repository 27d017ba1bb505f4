"""The anchor proof: where a credential's hash sits in an anchored Merkle batch.

After anchoring, a credential's ``proof`` becomes a proof set whose second entry is::

    {"type": "TalentProofAnchor", "proofPurpose": "assertionMethod", "chainId": 31337,
     "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "merkleRoot": "0x…",
     "leafIndex": 5, "treeSize": 4096, "path": ["0x…", …]}

`attach_anchor` and `split_anchor` convert between the two forms; the credential hash is always
computed on the form without the anchor (docs/architecture.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AnchorFormatError
from .merkle import HASH_SIZE, MAX_TREE_SIZE, InclusionProof, root_from_inclusion, verify_inclusion

native_hashes: Callable[[Any], tuple[bytes, ...] | None] | None
try:  # the C twin of `_hashes_from_hex_reference` (credential/native.c, built by the install)
    from .native import hex_hashes as native_hashes
except ImportError:  # pragma: no cover - a tree whose C extension was not built
    native_hashes = None

__all__ = [
    "ANCHOR_TYPE",
    "AnchorProof",
    "attach_anchor",
    "checked_anchor",
    "hash_from_hex",
    "split_anchor",
    "split_anchor_reference",
]

ANCHOR_TYPE = "TalentProofAnchor"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ANCHOR_KEYS = frozenset(
    {"type", "proofPurpose", "chainId", "registry", "merkleRoot", "leafIndex", "treeSize", "path"}
)


@dataclass(frozen=True, slots=True)
class AnchorProof:
    """Chain binding (chain id, registry) plus the Merkle inclusion proof of one credential."""

    chain_id: int
    registry: str
    merkle_root: bytes
    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_binding(self.chain_id, self.registry)
        if not isinstance(self.merkle_root, bytes) or len(self.merkle_root) != HASH_SIZE:
            raise AnchorFormatError(
                f"merkleRoot: expected 32 bytes, found {self.merkle_root!r:.80}"
            )
        _check_position(self.tree_size, self.leaf_index)
        if not isinstance(self.path, tuple) or not _all_hashes(self.path):
            raise AnchorFormatError("path: expected a tuple of 32-byte hashes")
        if len(self.path) > 32:
            raise AnchorFormatError(f"path: expected at most 32 hashes, found {len(self.path)}")

    @classmethod
    def from_inclusion(
        cls, proof: InclusionProof, *, chain_id: int, registry: str, merkle_root: bytes
    ) -> AnchorProof:
        """Build from a `MerkleTree` inclusion proof and the chain binding."""
        return cls(
            chain_id, registry, merkle_root, proof.leaf_index, proof.tree_size, tuple(proof.path)
        )

    @property
    def inclusion(self) -> InclusionProof:
        """The Merkle part as an `InclusionProof`."""
        return InclusionProof(self.leaf_index, self.tree_size, self.path)

    def root_for(self, credential_hash: bytes) -> bytes:
        """The root the path leads to from ``credential_hash`` (compare with the chain's)."""
        return root_from_inclusion(credential_hash, self.inclusion)

    def verify(self, credential_hash: bytes) -> None:
        """Check that the path leads from ``credential_hash`` to this proof's ``merkle_root``."""
        verify_inclusion(credential_hash, self.inclusion, self.merkle_root)

    def to_json(self) -> dict[str, Any]:
        """The ``TalentProofAnchor`` proof entry."""
        return {
            "type": ANCHOR_TYPE,
            "proofPurpose": "assertionMethod",
            "chainId": self.chain_id,
            "registry": self.registry,
            "merkleRoot": "0x" + self.merkle_root.hex(),
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "path": ["0x" + p.hex() for p in self.path],
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> AnchorProof:
        """Parse a ``TalentProofAnchor`` proof entry."""
        return _parse_entry(cls, entry, True)


_new = object.__new__
_set = object.__setattr__  # (AnchorProof is frozen: its own __setattr__ refuses)
_VALID_REGISTRIES: dict[str, bool] = {}  # registry text -> matches _ADDRESS (a pure function)
_ROOTS: dict[str, bytes] = {}  # merkleRoot text -> its 32 bytes (a batch's credentials share one)


def _parse_entry(cls: type[AnchorProof], entry: Mapping[str, Any], fast: bool) -> AnchorProof:
    """`AnchorProof.from_json`; ``fast``: decode the root through `_ROOTS` and the path with
    `_hashes_from_hex` (C), else as the reference does (the same answer, the same errors)."""
    if type(entry) is not dict and not isinstance(entry, Mapping):
        raise AnchorFormatError(f"anchor proof: expected an object, found {type(entry).__name__}")
    if entry.get("type") != ANCHOR_TYPE:
        raise AnchorFormatError(
            f"anchor proof type: expected {ANCHOR_TYPE!r}, found {entry.get('type')!r}"
        )
    exact = entry.keys() == _ANCHOR_KEYS  # the usual case: no key missing, none extra
    missing = (
        ()
        if exact
        else [
            k
            for k in ("chainId", "registry", "merkleRoot", "leafIndex", "treeSize", "path")
            if k not in entry
        ]
    )
    if missing:
        raise AnchorFormatError(f"anchor proof: missing {', '.join(missing)}")
    # The entry is neither signed nor hashed: refuse anything but its one exact form, so no
    # unverified field (a purpose, an extra claim) can ride along in a "valid" credential.
    if entry.get("proofPurpose") != "assertionMethod":
        raise AnchorFormatError(
            f"anchor proof proofPurpose: expected 'assertionMethod', found "
            f"{entry.get('proofPurpose')!r:.80}"
        )
    extra = () if exact else sorted(str(k) for k in entry if k not in _ANCHOR_KEYS)
    if extra:
        raise AnchorFormatError(
            f"anchor proof: expected only the keys {', '.join(sorted(_ANCHOR_KEYS))}, found "
            f"{', '.join(extra)[:80]}"
        )
    path = entry["path"]
    if not isinstance(path, list):
        raise AnchorFormatError(f"path: expected a list of 0x hashes, found {path!r:.80}")
    chain_id, registry = entry["chainId"], entry["registry"]
    leaf_index, tree_size = entry["leafIndex"], entry["treeSize"]
    # The checks of cls(...) in its order (arguments first, then __post_init__); the root
    # and the path are 32-byte hashes by construction, so they are not checked again.
    root_text = entry["merkleRoot"]
    cached = fast and type(root_text) is str
    merkle_root = _ROOTS.get(root_text) if cached else None
    if merkle_root is None:
        merkle_root = hash_from_hex(root_text, "merkleRoot")
        if cached:  # (only a valid root reaches this: it raises else)
            if len(_ROOTS) >= 256:
                _ROOTS.clear()
            _ROOTS[root_text] = merkle_root
    hashes = _hashes_from_hex(path) if fast else _hashes_from_hex_reference(path)
    _check_binding(chain_id, registry)
    _check_position(tree_size, leaf_index)
    if len(hashes) > 32:
        raise AnchorFormatError(f"path: expected at most 32 hashes, found {len(hashes)}")
    if cls is not AnchorProof:  # pragma: no cover - a subclass gets its own __init__
        return cls(chain_id, registry, merkle_root, leaf_index, tree_size, hashes)
    return checked_anchor(chain_id, registry, merkle_root, leaf_index, tree_size, hashes)


def checked_anchor(
    chain_id: int,
    registry: str,
    merkle_root: bytes,
    leaf_index: int,
    tree_size: int,
    path: tuple[bytes, ...],
) -> AnchorProof:
    """An `AnchorProof` of values its caller has already checked as ``AnchorProof(...)`` would
    (``split_anchor``'s parser; the folder's C path, credential/native_verify.c), made without
    running those checks again. Anything not checked goes through ``AnchorProof(...)``."""
    made = _new(AnchorProof)
    _set(made, "chain_id", chain_id)
    _set(made, "registry", registry)
    _set(made, "merkle_root", merkle_root)
    _set(made, "leaf_index", leaf_index)
    _set(made, "tree_size", tree_size)
    _set(made, "path", path)
    return made


def _check_binding(chain_id: Any, registry: Any) -> None:
    """`AnchorProof.__post_init__`'s checks of the chain binding."""
    not_int = type(chain_id) is not int and (
        not isinstance(chain_id, int) or isinstance(chain_id, bool)
    )  # (True is an int)
    if not_int or not 0 < chain_id < 2**64:
        raise AnchorFormatError(f"chainId: expected a positive integer, found {chain_id!r}")
    if type(registry) is not str or registry not in _VALID_REGISTRIES:
        if not isinstance(registry, str) or not _ADDRESS.fullmatch(registry):
            raise AnchorFormatError(
                f"registry: expected a 0x-prefixed 20-byte address, found {registry!r}"
            )
        if type(registry) is str and len(_VALID_REGISTRIES) < 64:
            _VALID_REGISTRIES[registry] = True


def _check_position(tree_size: Any, leaf_index: Any) -> None:
    """`AnchorProof.__post_init__`'s checks of the Merkle position."""
    if not isinstance(tree_size, int) or not 1 <= tree_size <= MAX_TREE_SIZE:
        raise AnchorFormatError(f"treeSize: expected 1..{MAX_TREE_SIZE}, found {tree_size!r}")
    if not isinstance(leaf_index, int) or not 0 <= leaf_index < tree_size:
        raise AnchorFormatError(
            f"leafIndex: expected 0 <= index < {tree_size}, found {leaf_index!r}"
        )


def _all_hashes(items: tuple[Any, ...]) -> bool:
    """Every item is a 32-byte ``bytes`` (checked with C-level set operations)."""
    return not items or (set(map(type, items)) == {bytes} and set(map(len, items)) == {HASH_SIZE})


def _hashes_from_hex(path: list[Any]) -> tuple[bytes, ...]:
    """`_hashes_from_hex_reference` with the exact, valid case in C (`native.hex_hashes`, which
    answers None for anything else: the reference then gives the answer or the precise error)."""
    if native_hashes is not None:
        out = native_hashes(path)
        if out is not None:
            return out
    return _hashes_from_hex_reference(path)


def _hashes_from_hex_reference(path: list[Any]) -> tuple[bytes, ...]:
    """The path's ``0x`` hashes as bytes (one ``bytes.fromhex`` per entry, no per-entry checks).

    Fast path, exact: with every entry a 66-character ASCII ``str`` starting ``0x``, each
    64-character body decodes with ``fromhex`` to exactly 32 bytes only when it is 64 hex digits
    (``fromhex`` takes two adjacent hex digits per byte and skips whitespace; anything else in a
    body raises or yields fewer bytes). Otherwise each entry is checked alone for a precise error.
    """
    count = len(path)
    if count and set(map(type, path)) == {str} and set(map(len, path)) == {66}:
        joined = "".join(path)
        if joined[0::66] == "0" * count and joined[1::66] == "x" * count and joined.isascii():
            try:
                out = tuple(map(bytes.fromhex, [p[2:] for p in path]))
            except ValueError:
                out = ()
            if set(map(len, out)) == {HASH_SIZE}:
                return out
    return tuple([hash_from_hex(p, f"path[{i}]") for i, p in enumerate(path)])


def hash_from_hex(value: Any, what: str) -> bytes:
    """A 32-byte hash from its anchor-proof text (``0x`` + 64 hex digits); AnchorFormatError
    naming ``what`` otherwise."""
    if type(value) is str and len(value) == 66 and value[:2] == "0x" and value.isascii():
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = b""
        if len(raw) == HASH_SIZE:  # (fromhex skips spaces: a shorter result is refused here)
            return raw
    raise AnchorFormatError(f"{what}: expected 0x + 64 hex digits, found {value!r:.80}")


def attach_anchor(signed: Mapping[str, Any], anchor: AnchorProof) -> dict[str, Any]:
    """The anchored form: ``proof`` becomes ``[signature proof, anchor entry]``."""
    if not isinstance(anchor, AnchorProof):
        raise TypeError(f"anchor: expected AnchorProof, found {type(anchor).__name__}")
    proof = signed.get("proof")
    if proof is None:
        raise AnchorFormatError("attach_anchor: the credential carries no signature proof")
    entries = list(proof) if isinstance(proof, list) else [proof]
    if any(isinstance(e, Mapping) and e.get("type") == ANCHOR_TYPE for e in entries):
        raise AnchorFormatError("attach_anchor: the credential already carries an anchor proof")
    out = dict(signed)
    out["proof"] = [*entries, anchor.to_json()]
    return out


def split_anchor(doc: Mapping[str, Any]) -> tuple[dict[str, Any], AnchorProof | None]:
    """``(credential without anchor, anchor or None)``; the inverse of `attach_anchor`."""
    return _split(doc, True)


def split_anchor_reference(doc: Mapping[str, Any]) -> tuple[dict[str, Any], AnchorProof | None]:
    """`split_anchor`'s reference twin (pure Python, no cache): the same answer, the same errors."""
    return _split(doc, False)


def _split(doc: Mapping[str, Any], fast: bool) -> tuple[dict[str, Any], AnchorProof | None]:
    """`split_anchor` (``fast``) or its reference twin."""
    if type(doc) is not dict and not isinstance(doc, Mapping):
        raise AnchorFormatError(f"expected a credential object, found {type(doc).__name__}")
    out = dict(doc)
    proof = doc.get("proof")
    if not isinstance(proof, list):
        return out, None
    if fast and len(proof) == 2:  # the usual form: [signature proof, anchor entry], both dicts
        first, second = proof
        if (
            type(first) is dict
            and type(second) is dict
            and second.get("type") == ANCHOR_TYPE
            and not first.get("type") == ANCHOR_TYPE  # noqa: SIM201 (the reference's test, negated)
        ):
            out["proof"] = first
            return out, _parse_entry(AnchorProof, second, True)
    anchors: list[Any] = []
    rest: list[Any] = []
    for e in proof:
        is_anchor = (type(e) is dict or isinstance(e, Mapping)) and e.get("type") == ANCHOR_TYPE
        (anchors if is_anchor else rest).append(e)
    if not anchors:
        return out, None
    if len(anchors) > 1:
        raise AnchorFormatError(f"expected at most one anchor proof, found {len(anchors)}")
    if len(rest) == 1:
        out["proof"] = rest[0]
    elif rest:
        out["proof"] = rest
    else:
        del out["proof"]
    return out, _parse_entry(AnchorProof, anchors[0], fast)
