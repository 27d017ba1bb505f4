"""`integrity.verify_and_hash` is exactly `verify` + `merkle.credential_hash` (one canonicalization).

The combined function cuts ``JCS(document without proof)`` and ``JCS(proof options)`` out of
``JCS(document)``; these tests compare it with the plain path on many documents, including keys
that sort around ``"proof"`` (and ``"proofValue"``), non-ASCII and escaped keys, nested
``proof`` members, floats, proof sets and altered documents.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import anchor, integrity, merkle
from talentproof.credential.errors import CredentialError
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import Ed25519SigningKey

from ._cred_support import WHEN, make_degree

KEY = Ed25519SigningKey.from_seed(hashlib.sha256(b"verify_and_hash").digest())
VM_WEB = f"did:web:hku.hk#{KEY.public_key.multibase}"
VM_KEY = KEY.public_key.verification_method

# names around "proof" (UTF-16 order), around "proofValue", escaped and non-ASCII ones
_NAMES = [
    "@context",
    "id",
    "type",
    "issuer",
    "name",
    "pro",
    "proo",
    "proof",
    "proof ",
    "proof0",
    "proofA",
    "proofValue",
    "proofs",
    "proog",
    "prooe",
    "proofé",
    "prooф",
    "proof\ue000",
    "proof\U0001f600",
    "\U0001f600",
    "\ue000",
    "zz",
    "",
    'a"b',
    "a\\b",
    "tab\t",
    "é",
    "validFrom",
    "verificationMethod",
    "Proof",
    "PROOF",
    "p",
]
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(['"proof":{}', '},"type":', '"proofValue":"z"', "z6Mk", "é\ue000"])
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_doc = st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=8), _json, max_size=8)


def _plain(doc: dict[str, Any], **kw: Any) -> tuple[Any, Any]:
    """(verify result, credential hash), or (the first error, None): the plain path."""
    try:
        return integrity.verify(doc, **kw), merkle.credential_hash(doc)
    except CredentialError as exc:
        return (type(exc), str(exc)), None


def _combined(doc: dict[str, Any], **kw: Any) -> tuple[Any, Any]:
    try:
        return integrity.verify_and_hash(doc, **kw)
    except CredentialError as exc:
        return (type(exc), str(exc)), None


def _check_parts(doc: dict[str, Any]) -> bool:
    """When the cut path applies, its three texts are the canonical forms; True if it applied."""
    proof = doc.get("proof")
    parts = integrity.split_canonical(doc, proof) if isinstance(proof, dict) else None
    if parts is None:
        return False
    options = dict(proof)
    options.pop("proofValue", None)
    unsecured = dict(doc)
    del unsecured["proof"]
    assert parts == (canonicalize(options), canonicalize(unsecured), canonicalize(doc))
    return True


def _degree() -> dict[str, Any]:
    return make_degree(KEY.public_key.did_key)


def _sign(doc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return integrity.sign(doc, KEY, verification_method=kw.pop("vm", VM_WEB), created=WHEN, **kw)


@settings(max_examples=400, deadline=None)
@given(_doc, st.sampled_from([VM_WEB, VM_KEY]), st.booleans())
def test_same_as_plain_path_on_random_documents(doc: dict[str, Any], vm: str, alter: bool) -> None:
    doc.pop("proof", None)
    try:
        signed = _sign(doc, vm=vm)
    except CredentialError:
        return  # not canonicalizable: nothing to verify
    if alter and len(signed) > 1:
        signed[next(k for k in signed if k != "proof")] = "altered"
    _check_parts(signed)
    assert _combined(signed) == _plain(signed)


@settings(max_examples=200, deadline=None)
@given(_doc, _json, st.sampled_from(_NAMES))
def test_same_as_plain_path_with_extra_proof_members(
    doc: dict[str, Any], value: Any, name: str
) -> None:
    """Proof members of any name and value (around "proofValue"); the signature then fails."""
    doc.pop("proof", None)
    try:
        signed = _sign(doc)
    except CredentialError:
        return
    signed["proof"] = {**signed["proof"], name: value}
    _check_parts(signed)
    assert _combined(signed) == _plain(signed)


@pytest.mark.parametrize("name", _NAMES)
def test_keys_sorting_around_proof(name: str) -> None:
    doc = _degree()
    doc[name] = {"proof": {"x": 1}, "n": [1.5, None, "proof"]} if name != "proof" else "x"
    doc.pop("proof", None)
    signed = _sign(doc)
    assert _check_parts(signed) or '"proof":' in canonicalize(doc).decode()
    assert _combined(signed) == _plain(signed)
    assert _combined(signed, expected_purpose="authentication") == _plain(
        signed, expected_purpose="authentication"
    )


def test_fast_path_applies_to_typical_credentials_and_proof_options() -> None:
    doc = _degree()
    for kw in (
        {},
        {"vm": VM_KEY},
        {"challenge": "c0ffee", "domain": "verify.example"},
        {"domain": ["a.example", "b.example"], "proof_purpose": "authentication"},
    ):
        signed = _sign(dict(doc), **kw)
        assert _check_parts(signed)
        purpose = kw.get("proof_purpose", "assertionMethod")
        assert _combined(signed, expected_purpose=purpose) == _plain(
            signed, expected_purpose=purpose
        )
    only_proof = _sign({})
    assert _check_parts(only_proof)
    assert _combined(only_proof) == _plain(only_proof)


def test_proof_sets_and_anchored_documents_take_the_plain_path() -> None:
    signed = _sign(_degree())
    h = merkle.credential_hash(signed)
    tree = merkle.MerkleTree([h, hashlib.sha256(b"x").digest()])
    anchored = anchor.attach_anchor(
        signed,
        anchor.AnchorProof.from_inclusion(
            tree.proof(0), chain_id=1, registry="0x" + "ab" * 20, merkle_root=tree.root
        ),
    )
    assert _combined(anchored) == _plain(anchored)  # MerkleProofError from credential_hash
    plain, _ = anchor.split_anchor(anchored)
    assert integrity.verify_and_hash(plain)[1] == h
    two = copy.deepcopy(signed)
    two["proof"] = [signed["proof"], signed["proof"]]
    assert _combined(two) == _plain(two)
    one = copy.deepcopy(signed)
    one["proof"] = [signed["proof"]]
    assert _combined(one) == _plain(one)


def test_errors_are_the_plain_errors() -> None:
    signed = _sign(_degree())
    cases = []
    for key, value in (
        ("proofValue", "z" + "1" * 10),
        ("proofValue", "zO0"),
        ("proofValue", 5),
        ("created", "yesterday"),
        ("type", "Other"),
        ("cryptosuite", "x"),
        ("verificationMethod", "did:web:x#nope"),
        ("created", 3),
    ):
        bad = copy.deepcopy(signed)
        bad["proof"][key] = value
        cases.append(bad)
    bad = copy.deepcopy(signed)
    bad["credentialSubject"] = {"x": float("nan")}
    cases.append(bad)
    bad = copy.deepcopy(signed)
    bad["z"] = 2**60
    cases.append(bad)
    for doc in cases:
        try:
            expected: Any = _plain(doc)
        except Exception as exc:
            expected = (type(exc), str(exc))
        try:
            found: Any = _combined(doc)
        except Exception as exc:
            found = (type(exc), str(exc))
        assert found == expected
