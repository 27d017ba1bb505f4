"""The C writer of check 3's canonical cut (`credential/native.c`) against its references.

``native.jcs_cuts(document, proof)`` answers ``(F, x, y, a, b, c, d)`` or None. Whenever it
answers, the three texts must be the rfc8785 library's (`jcs.canonicalize_reference`) JCS of the
document, of the document without ``proof`` and of the proof without ``proofValue``, and equal to
what the Python twin (`integrity.canonical_cuts_reference`) answers when that answers too. Where
it cannot be sure (floats, big integers, keys >= U+E000, lone surrogates, subclasses, tuples,
deep nesting, a proof that is not the document's), it must answer None: the twin decides.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity, native  # (native: a missing build fails here)
from talentproof.credential.errors import CredentialError
from talentproof.credential.jcs import canonicalize_reference
from talentproof.credential.keys import Ed25519SigningKey

from ._cred_support import JCS_VALUES, make_degree

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key


def test_the_extension_is_built() -> None:
    """`pip install -e .` (make setup) builds it; without it every credential takes the twin."""
    import talentproof.credential.native as built

    assert integrity.native_cuts is built.jcs_cuts
    assert integrity.native_digests is built.jcs_digests


def _references(
    doc: dict[str, Any],
) -> tuple[bytes, bytes, bytes] | None:
    """The three texts by the rfc8785 library, or None when it refuses the document."""
    proof = doc["proof"]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    try:
        return (
            canonicalize_reference(doc),
            canonicalize_reference(unsecured),
            canonicalize_reference(options),
        )
    except CredentialError:
        return None


def _check(doc: dict[str, Any]) -> tuple[bytes, int, int, int, int, int, int] | None:
    """Native against the references and the twin; returns the native answer."""
    before = copy.deepcopy(doc)
    got = native.jcs_cuts(doc, doc.get("proof"))
    assert doc == before  # never changes its argument
    twin = integrity.canonical_cuts_reference(doc, doc.get("proof"))
    digests = native.jcs_digests(doc, doc.get("proof"))
    if got is None:
        assert digests is None
        return None
    full, x, y, a, b, c, d = got
    sha = hashlib.sha256  # check 3's hashes of the cut (integrity.verify_and_hash)
    assert digests == (
        sha(full[a:b] + full[c:d]).digest() + sha(full[:x] + full[y:]).digest(),
        sha(full).digest(),
    )
    ref = _references(doc)
    assert ref is not None, "answered for a document the reference refuses"
    assert full == ref[0]
    assert full[:x] + full[y:] == ref[1]
    assert full[a:b] + full[c:d] == ref[2]
    if twin is not None:
        assert got == twin
    assert (
        integrity.split_canonical(doc, doc["proof"])
        == (  # (what check 3 takes)
            full[a:b] + full[c:d],
            full[:x] + full[y:],
            full,
        )
    )
    return got


def _signed() -> dict[str, Any]:
    doc = make_degree(HOLDER)
    doc["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2026-11-21T23:40:00Z",
        "verificationMethod": "did:key:z6Mk#z6Mk",
        "proofPurpose": "assertionMethod",
        "@context": doc.get("@context"),
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk",
    }
    return doc


def test_a_typical_credential_is_written_here() -> None:
    assert _check(_signed()) is not None


def test_member_order_does_not_matter() -> None:
    doc = _signed()
    shuffled = dict(reversed(list(doc.items())))
    shuffled["proof"] = dict(reversed(list(doc["proof"].items())))
    a, b = _check(doc), _check(shuffled)
    assert a is not None and a == b


@pytest.mark.parametrize("value", JCS_VALUES)
def test_values_written_exactly(value: Any) -> None:
    for where in ("credentialSubject", "proof"):
        doc = _signed()
        doc[where]["extra"] = value
        assert _check(doc) is not None, (where, value)


class _Str(str):
    pass


class _Int(int):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        1.0,
        -0.0,
        1e16,
        2**53,
        -(2**53),
        10**30,
        "lone \ud800 surrogate",
        (1, 2),
        _Str("x"),
        _Int(3),
        _Dict(a=1),
        OrderedDict(a=1),
        b"bytes",
        {1: "int key"},
        {"\ue000": "key >= U+E000"},
        {"\U0001f600": "supplementary key"},
        {"k\ud800": "lone surrogate in a key"},
    ],
)
def test_what_it_does_not_write_goes_to_the_twin(value: Any) -> None:
    for where in ("credentialSubject", "proof"):
        doc = _signed()
        doc[where]["extra"] = value
        assert native.jcs_cuts(doc, doc["proof"]) is None, (where, value)
        _check(doc)  # (and the twin or the reference decide, as before)


def test_nesting_deeper_than_its_limit_goes_to_the_twin() -> None:
    doc = _signed()
    deep: Any = "leaf"
    for _ in range(300):
        deep = [deep]
    doc["credentialSubject"]["deep"] = deep
    assert native.jcs_cuts(doc, doc["proof"]) is None
    shallow: Any = "leaf"
    for _ in range(150):
        shallow = {"a": shallow}
    doc["credentialSubject"]["deep"] = shallow
    assert _check(doc) is not None


def test_the_proof_must_be_the_documents_own() -> None:
    doc = _signed()
    assert native.jcs_cuts(doc, dict(doc["proof"])) is None  # an equal copy is not it
    assert native.jcs_cuts(doc, None) is None
    assert native.jcs_cuts([doc], doc["proof"]) is None
    listed = _signed()
    listed["proof"] = [listed["proof"]]
    assert native.jcs_cuts(listed, listed["proof"]) is None
    assert native.jcs_cuts(listed, listed["proof"][0]) is None
    no_value = _signed()
    del no_value["proof"]["proofValue"]
    assert native.jcs_cuts(no_value, no_value["proof"]) is None
    for bad in (None, 5, ["z"], {"z": 1}, _Str("z")):
        odd = _signed()
        odd["proof"]["proofValue"] = bad
        assert native.jcs_cuts(odd, odd["proof"]) is None


def test_proof_and_proof_value_anywhere_else_are_plain_members() -> None:
    doc = _signed()
    doc["credentialSubject"]["proof"] = {"proofValue": "zNested", "type": "x"}
    doc["proofs"] = {"proofValue": "z"}
    doc["proof"]["nested"] = {"proofValue": "zInner", "proof": {}}
    doc["alias"] = doc["proof"]  # the same dict again, elsewhere
    assert _check(doc) is not None


@pytest.mark.parametrize(
    "keys",
    [
        [],  # proof the only member
        ["a"],  # proof last
        ["zzz"],  # proof first
        ["a", "zzz"],
        ["proof ", "proof0", "proofs", "proo", "Proof", "proofé"],
    ],
)
def test_the_proof_member_at_every_place(keys: list[str]) -> None:
    for value_keys in ([], ["a"], ["zzz"], ["a", "zzz"], ["proofValue0", "proofValu"]):
        doc: dict[str, Any] = {k: k for k in keys}
        doc["proof"] = dict.fromkeys(value_keys, 1)
        doc["proof"]["proofValue"] = "z" + "1" * 10
        assert _check(doc) is not None, (keys, value_keys)


_RAW_TEXTS = [
    # key order, white space and escapes of the file do not matter: JCS of the parsed value
    b'{"proof":{"proofValue":"zA","type":"T"},"b":1,"a":"x"}',
    b'{ "a" : "x" ,\n "b" : 1 , "proof" : { "type" : "T" , "proofValue" : "zA" } }',
    b'{"\\u0061":"\\u0078","b":1,"proof":{"proofValue":"z\\u0041","type":"T"}}',
    b'{"a":"\\ud83d\\ude00 \\u00e9 \\u2028 \\/ \\b\\f\\n\\r\\t \\u0000 \\u001f","proof":{"proofValue":"z"}}',
    # numbers: integers are written here, anything else by the reference
    b'{"n":[0,-0,1,-1,9007199254740991,-9007199254740991],"proof":{"proofValue":"z"}}',
    b'{"n":[1.0,1e2,1E-7,-0.0,0.1,123456789.5],"proof":{"proofValue":"z"}}',
    b'{"n":9007199254740992,"proof":{"proofValue":"z"}}',
    b'{"n":1e400,"proof":{"proofValue":"z"}}',
    # extra members, in the document and in the proof
    b'{"proof":{"proofValue":"z","zz":{"proofValue":"y"},"@context":["a",{"b":null}]},"zz":[]}',
    b'{"proof":{"proofValue":"z"},"\\u00e9":1,"\\ue000":2,"\\ud83d\\ude00":3}',
]


@pytest.mark.parametrize("raw", _RAW_TEXTS)
def test_documents_read_from_text(raw: bytes) -> None:
    doc = json.loads(raw)
    got = _check(doc)
    assert (
        got is not None
        or any(
            isinstance(v, float) or (isinstance(v, int) and abs(v) > 2**53 - 1)
            for v in (doc.get("n") if isinstance(doc.get("n"), list) else [doc.get("n")])
        )
        or any(k >= "\ue000" for k in doc)
    )


def test_duplicated_keys_never_reach_it() -> None:
    """A text with a duplicated key is refused when it is read (check 1), before any cut."""
    from talentproof.verifier.engine import parse_json
    from talentproof.verifier.errors import InputError

    with pytest.raises(InputError, match="duplicate key"):
        parse_json(b'{"proof":{"proofValue":"z"},"a":1,"a":2}', what="c", limit=1 << 16)


_NAMES = ["proof", "proofValue", "proo", "proof0", "proofs", "a", "zz", "", "é", "\ue000", "\x1f"]
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=6), _json, max_size=6),
    st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=6), _json, max_size=5),
    st.text(max_size=20),
)
def test_generated_documents(doc: dict[str, Any], proof: dict[str, Any], value: str) -> None:
    proof["proofValue"] = value
    doc["proof"] = proof
    _check(doc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_generated_strings_and_keys(text: str, key: str) -> None:
    doc = _signed()
    doc["credentialSubject"][key] = text
    doc["proof"]["proofValue"] = text
    got = _check(doc)
    if got is None:  # only a key >= U+E000 or a lone surrogate keeps it from answering
        assert any(c >= "\ue000" or "\ud800" <= c <= "\udfff" for c in key) or any(
            "\ud800" <= c <= "\udfff" for c in text
        )
