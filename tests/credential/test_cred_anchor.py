"""The TalentProofAnchor proof entry (docs/architecture.md) and its conversions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity, merkle
from talentproof.credential.anchor import AnchorProof, attach_anchor, split_anchor
from talentproof.credential.errors import AnchorFormatError

from ._cred_support import CHAIN_ID, REGISTRY


def test_anchored_form_matches_architecture(anchored: dict[str, dict[str, Any]]) -> None:
    doc = anchored["DegreeCredential"]
    assert isinstance(doc["proof"], list) and len(doc["proof"]) == 2
    entry = doc["proof"][1]
    assert list(entry) == [
        "type",
        "proofPurpose",
        "chainId",
        "registry",
        "merkleRoot",
        "leafIndex",
        "treeSize",
        "path",
    ]
    assert entry["type"] == "TalentProofAnchor"
    assert entry["proofPurpose"] == "assertionMethod"
    assert entry["chainId"] == CHAIN_ID and entry["registry"] == REGISTRY
    assert entry["leafIndex"] == 5 and entry["treeSize"] == 4096
    assert len(entry["path"]) == 12
    assert all(p.startswith("0x") and len(p) == 66 for p in [entry["merkleRoot"], *entry["path"]])


def test_split_then_verify(anchored: dict[str, dict[str, Any]]) -> None:
    for doc in anchored.values():
        signed, proof = split_anchor(doc)
        assert proof is not None
        assert isinstance(signed["proof"], dict)
        integrity.verify(signed)
        integrity.verify(doc)  # the anchor entry does not disturb the signature
        proof.verify(merkle.credential_hash(signed))
        assert proof.root_for(merkle.credential_hash(signed)) == proof.merkle_root
        assert attach_anchor(signed, proof) == doc
        assert AnchorProof.from_json(proof.to_json()) == proof


def test_split_without_anchor_is_identity(anchored: dict[str, dict[str, Any]]) -> None:
    signed, _proof = split_anchor(anchored["DegreeCredential"])
    again, none = split_anchor(signed)
    assert none is None and again == signed


def test_tampered_credential_fails_inclusion(anchored: dict[str, dict[str, Any]]) -> None:
    signed, proof = split_anchor(anchored["EmploymentCredential"])
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["employment"]["seniority"] = "executive"
    assert proof is not None
    with pytest.raises(merkle.MerkleProofError):
        proof.verify(merkle.credential_hash(tampered))


def test_attach_refuses_twice_and_unsigned(anchored: dict[str, dict[str, Any]]) -> None:
    doc = anchored["DegreeCredential"]
    _, proof = split_anchor(doc)
    assert proof is not None
    with pytest.raises(AnchorFormatError, match="already"):
        attach_anchor(doc, proof)
    with pytest.raises(AnchorFormatError, match="no signature"):
        attach_anchor({"id": "x"}, proof)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("chainId", 0, "chainId"),
        ("chainId", "1", "chainId"),
        ("registry", "0x1234", "registry"),
        ("merkleRoot", "0x" + "zz" * 32, "merkleRoot"),
        ("leafIndex", 4096, "leafIndex"),
        ("treeSize", 0, "treeSize"),
        ("path", ["0x12"], "path"),
        ("path", "0x", "path"),
    ],
)
def test_malformed_anchor_entries(
    anchored: dict[str, dict[str, Any]], field: str, value: Any, match: str
) -> None:
    entry = {**anchored["DegreeCredential"]["proof"][1], field: value}
    with pytest.raises(AnchorFormatError, match=match):
        AnchorProof.from_json(entry)


def test_missing_anchor_fields(anchored: dict[str, dict[str, Any]]) -> None:
    entry = dict(anchored["DegreeCredential"]["proof"][1])
    del entry["merkleRoot"]
    with pytest.raises(AnchorFormatError, match="missing merkleRoot"):
        AnchorProof.from_json(entry)


def _from_json_plain(entry: dict[str, Any]) -> AnchorProof:
    """`AnchorProof.from_json` before its fast construction: the dataclass constructor checks
    every field (the entry-level checks, type / keys / purpose, are the same code)."""
    from talentproof.credential.anchor import hash_from_hex

    return AnchorProof(
        chain_id=entry["chainId"],
        registry=entry["registry"],
        merkle_root=hash_from_hex(entry["merkleRoot"], "merkleRoot"),
        leaf_index=entry["leafIndex"],
        tree_size=entry["treeSize"],
        path=tuple(hash_from_hex(p, f"path[{i}]") for i, p in enumerate(entry["path"])),
    )


def _outcome(fn: Any, entry: dict[str, Any]) -> Any:
    try:
        made = fn(entry)
    except AnchorFormatError as exc:
        return ("error", str(exc))
    assert type(made) is AnchorProof
    return made


_HASH_HEX = "0x" + "ab" * 32
_field_values = {
    "chainId": st.sampled_from([1, 31337, 0, -1, 2**64, 2**64 - 1, True, 1.0, "1", None]),
    "registry": st.sampled_from(
        [REGISTRY, REGISTRY.lower(), REGISTRY[:-1], "0x" + "g" * 40, 1, None, REGISTRY + " "]
    ),
    "merkleRoot": st.sampled_from(
        [_HASH_HEX, _HASH_HEX[:-2], "0X" + "ab" * 32, "0x" + "ab" * 31 + " a", 5, "0x" + "zz" * 32]
    ),
    "leafIndex": st.sampled_from([0, 5, 4095, 4096, -1, True, 2.0, "5"]),
    "treeSize": st.sampled_from([1, 4096, 0, 2**32 - 1, 2**32, False, "4096"]),
    "path": st.lists(
        st.sampled_from(
            [_HASH_HEX, "0x" + "CD" * 32, _HASH_HEX[:-2], 7, "0x" + "ab" * 31 + "\u0661\u0662"]
        ),
        max_size=34,
    ),
}


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries(_field_values))
def test_from_json_matches_the_checked_constructor(fields: dict[str, Any]) -> None:
    """Field for field, result for result (or the same error) as the checking constructor."""
    entry = {"type": "TalentProofAnchor", "proofPurpose": "assertionMethod", **fields}
    assert _outcome(AnchorProof.from_json, entry) == _outcome(_from_json_plain, entry)
