"""`split_anchor` (C path decoding, merkleRoot cache, the two-entry proof set) against its
reference twin `split_anchor_reference`: the same answer or the same error, on valid and on
malformed or tampered anchors."""

from __future__ import annotations

import copy
import hashlib
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import anchor
from talentproof.credential.anchor import split_anchor, split_anchor_reference
from talentproof.credential.errors import AnchorFormatError

from ._cred_support import anchor_in_batch


class _Str(str):
    """A str subclass (JSON never yields one; the reference refuses it in a path)."""


def _outcome(fn: Any, doc: Any) -> tuple[str, Any]:
    try:
        plain, proof = fn(doc)
    except Exception as exc:  # (the error is what is compared)
        return ("error", (type(exc), str(exc)))
    fields = None
    if proof is not None:
        fields = tuple((f, getattr(proof, f)) for f in anchor.AnchorProof.__slots__)
        fields += (("types", tuple(type(p) for p in proof.path)),)
    return ("ok", (plain, list(plain), type(plain.get("proof")), fields))


def _copy(doc: Any) -> Any:
    try:
        return copy.deepcopy(doc)
    except TypeError:  # (a MappingProxyType: split_anchor leaves its argument as is)
        return doc


def _same(doc: Any) -> tuple[str, Any]:
    """Assert the fast and the reference split agree on ``doc`` (twice: the root cache warm)."""
    ref = _outcome(split_anchor_reference, _copy(doc))
    assert _outcome(split_anchor, _copy(doc)) == ref
    assert _outcome(split_anchor, doc) == ref
    return ref


@pytest.fixture(scope="module")
def doc(anchored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return anchored["DegreeCredential"]


def _with(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    entry = out["proof"][1]
    for key, value in changes.items():
        if value is _DROP:
            del entry[key]
        else:
            entry[key] = value
    return out


class _Drop:
    """The member removed (its repr is stable: pytest-xdist's workers must name the same ids)."""

    def __repr__(self) -> str:
        return "<dropped>"


_DROP = _Drop()
_H = "0x" + "ab" * 32


def test_valid_anchors_of_every_path_length(doc: dict[str, Any]) -> None:
    signed, _ = split_anchor_reference(doc)
    for batch, index in [(1, 0), (2, 1), (5, 4), (7, 3), (4096, 5), (4096, 4095), (70000, 65537)]:
        kind, _ = _same(anchor_in_batch(signed, batch=batch, index=index))
        assert kind == "ok"
    for kind_doc in [
        doc,
        _with(doc, path=[p.upper().replace("0X", "0x") for p in doc["proof"][1]["path"]]),
    ]:
        assert _same(kind_doc)[0] == "ok"


@pytest.mark.parametrize(
    "change",
    [
        {"path": [_H] * 33},  # more than 32 hashes
        {"path": [_H] * 40},
        {"path": []},
        {"path": [_H]},
        {"path": [_H] * 32},
        {"path": ["0x" + "g" + "a" * 63]},
        {"path": ["0X" + "a" * 64]},
        {"path": ["1x" + "a" * 64]},
        {"path": ["0x" + "a" * 63]},
        {"path": ["0x" + "a" * 65]},
        {"path": ["0x" + "a" * 63, "a0x" + "a" * 64]},  # 65 + 67 characters
        {"path": ["0x" + " " + "a" * 63]},
        {"path": ["0x" + "a" * 62 + "  "]},
        {"path": ["0x" + "a" * 62 + " a"]},
        {"path": ["0x" + "a" * 63 + "\u0663"]},  # an Arabic-Indic digit
        {"path": ["0x" + "\u00e9" * 64]},
        {"path": ["0x" + "a" * 64 + "\x00"]},
        {"path": [_H, 7]},
        {"path": [_H, None]},
        {"path": [_H, bytes(32)]},
        {"path": [_H, ["0x" + "a" * 64]]},
        {"path": [_Str(_H)]},
        {"path": tuple([_H] * 12)},
        {"path": {"0": _H}},
        {"path": _H},
        {"path": None},
        {"merkleRoot": "0x" + "A" * 64},
        {"merkleRoot": "0x" + "a" * 63},
        {"merkleRoot": "0x" + "a" * 62 + "  "},
        {"merkleRoot": _Str("0x" + "a" * 64)},
        {"merkleRoot": 12},
        {"merkleRoot": ["0x" + "a" * 64]},
        {"merkleRoot": _DROP},
        {"chainId": True},
        {"chainId": 0},
        {"chainId": 2**64},
        {"chainId": "31337"},
        {"chainId": 31337.0},
        {"registry": "0x5fbdb2315678afecb367f032d93f642f64180aa"},
        {"registry": 5},
        {"registry": _Str("0x5FbDB2315678afecb367f032d93F642f64180aa3")},
        {"leafIndex": 4096},
        {"leafIndex": -1},
        {"leafIndex": "5"},
        {"leafIndex": True},
        {"treeSize": 0},
        {"treeSize": 2**32},
        {"treeSize": None},
        {"treeSize": 4096, "leafIndex": 4095},
        {"proofPurpose": "authentication"},
        {"proofPurpose": _DROP},
        {"type": "TalentProofAnchor2"},
        {"extra": 1},
        {"path": _DROP},
        {"chainId": _DROP, "registry": _DROP},
        {"path": ["0x" + "a" * 64, "0x" + "g" * 64], "chainId": 0},  # two faults: the first wins
        {"merkleRoot": "0x" + "z" * 64, "path": [1]},
    ],
    ids=repr,
)
def test_malformed_entries(doc: dict[str, Any], change: dict[str, Any]) -> None:
    _same(_with(doc, **change))


def test_proof_set_forms(doc: dict[str, Any]) -> None:
    sig, entry = doc["proof"]
    base = {k: v for k, v in doc.items() if k != "proof"}
    other = {**sig, "proofValue": "z" + "1" * 80}
    forms: list[Any] = [
        None,
        sig,
        entry,
        [],
        [sig],
        [entry],
        [sig, entry],
        [entry, sig],
        [sig, other, entry],
        [sig, entry, entry],  # two anchors
        [entry, dict(entry)],
        [sig, "text"],
        ["text", entry],
        [None, entry],
        [sig, MappingProxyType(entry)],
        [MappingProxyType(sig), entry],
        [{**sig, "type": "TalentProofAnchor"}, entry],  # two anchor-typed entries
        [sig, {**entry, "type": "Other"}],
        [sig, [entry]],
        "text",
        7,
    ]
    for form in forms:
        _same({**base, "proof": form})
    _same(base)  # no proof at all
    for not_a_doc in [None, [doc], "text", 7, MappingProxyType(doc)]:
        _same(not_a_doc)


def test_root_cache_keeps_the_reference_answer(doc: dict[str, Any]) -> None:
    root = doc["proof"][1]["merkleRoot"]
    assert _same(doc)[0] == "ok"  # the root is cached now
    for bad in [root.upper(), root[:-1], root + "0", " " + root[1:], _Str(root)]:
        assert _same(_with(doc, merkleRoot=bad))[0] == "error"
    # A root unlike any cached one, then a wrong path under the same root.
    fresh = "0x" + hashlib.sha256(b"fresh root").hexdigest()
    assert _same(_with(doc, merkleRoot=fresh))[0] == "ok"
    assert _same(_with(doc, merkleRoot=fresh, path=[1]))[0] == "error"
    for i in range(300):  # past the cache's bound (cleared when full)
        _same(_with(doc, merkleRoot="0x" + hashlib.sha256(b"%d" % i).hexdigest()))
    with pytest.raises(AnchorFormatError, match="merkleRoot"):
        split_anchor(_with(doc, merkleRoot=root[:-1] + "g"))


_CHARS = st.sampled_from(list("0123456789abcdefABCDEFxXg \t\n\x00\u0663\u00e9-"))


@settings(max_examples=400, deadline=None)
@given(
    where=st.sampled_from(["path", "merkleRoot"]),
    entry=st.integers(0, 11),
    at=st.integers(0, 67),
    char=_CHARS,
    mode=st.sampled_from(["replace", "insert", "delete"]),
)
def test_tampered_hex_text(
    doc: dict[str, Any], where: str, entry: int, at: int, char: str, mode: str
) -> None:
    out = copy.deepcopy(doc)
    holder = out["proof"][1]
    if where == "path":
        holder, key = holder["path"], entry
    else:
        key = "merkleRoot"
    text = holder[key]
    at = min(at, len(text) - (mode != "insert"))
    if mode == "replace":
        text = text[:at] + char + text[at + 1 :]
    elif mode == "insert":
        text = text[:at] + char + text[at:]
    else:
        text = text[:at] + text[at + 1 :]
    holder[key] = text
    _same(out)


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(
        st.one_of(
            st.just(_H),
            st.text(alphabet="0123456789abcdefx ", min_size=64, max_size=68),
            st.integers(),
            st.none(),
        ),
        max_size=35,
    )
)
def test_arbitrary_paths(doc: dict[str, Any], path: list[Any]) -> None:
    _same(_with(doc, path=path))
