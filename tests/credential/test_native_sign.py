"""The signing side's C twin (`credential/native_sign.c`) against its Python twin.

``native_sign.issue_subject(tpl, subject, index, cid)`` writes what
`BulkTemplate.issue_subject_reference` writes once `issue_one`'s checks pass: the spliced
document (the subject's JCS among the template's constant members), signed over hashData, the
proof spliced in, and the credential hash. Whenever it answers, its bytes must be those the
Python twin (a template built with ``native=False``) writes from the rfc8785 reference's JCS
of the subject; where it cannot be sure (floats, big integers, keys >= U+E000, lone
surrogates, subclasses, tuples, deep nesting, an index or id it does not write), it must
answer None, and the twin decides. ``native_sign.signed`` must equal
`BulkTemplate.signed_reference` for any prefix and tail, and its base58btc `_base58.b58encode`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import OrderedDict
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity, merkle
from talentproof.credential._base58 import b58encode
from talentproof.credential.errors import CredentialError
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import (
    KINDS,
    BulkTemplate,
    IssuerIdentity,
    Signer,
    new_credential_ids,
)
from talentproof.credential.issuance import template as template_module
from talentproof.credential.jcs import canonicalize_reference
from talentproof.credential.keys import Ed25519SigningKey

from ._cred_support import JCS_VALUES

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = IssuerIdentity("did:web:uni.example", "Uni of Tests", "https://uni.example/status")
SIGNER = Signer(b"\x07" * 32, IDENTITY.did)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
FAST = {k: BulkTemplate(k, identity=IDENTITY, signer=SIGNER, now=NOW) for k in KINDS}
TWIN = {k: BulkTemplate(k, identity=IDENTITY, signer=SIGNER, now=NOW, native=False) for k in KINDS}
CID = "urn:uuid:0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"

native = template_module.NATIVE_SIGN


def test_the_extension_is_built_and_used() -> None:
    """`pip install -e .` (make setup) builds it; without it every row takes the twin."""
    import talentproof.credential.native_sign as built

    assert native is built
    for kind in KINDS:
        assert FAST[kind].native_template is not None
        assert TWIN[kind].native_template is None


def _twin_bytes(kind: str, subject: Any, index: int, cid: str) -> tuple[str, bytes, bytes] | None:
    """A subject-only row's bytes by the Python twin (`issue_subject_reference`), the
    subject's JCS by the rfc8785 reference; None when the reference refuses the subject."""
    try:
        subject_bytes = canonicalize_reference(subject)
    except CredentialError:
        return None
    return TWIN[kind].issue_subject_reference(subject_bytes, index, cid)


def _check(kind: str, subject: Any, index: int = 7, cid: str = CID) -> tuple[str, bytes, bytes]:
    """The C answer equals the twin's and is a credential that verifies; returns it."""
    before = copy.deepcopy(subject)
    got = native.issue_subject(FAST[kind].native_template, subject, index, cid)
    assert subject == before  # never changes its argument
    assert got is not None, "declined a subject it writes"
    assert got == _twin_bytes(kind, subject, index, cid)
    got_id, raw, digest = got
    doc = json.loads(raw)
    assert got_id == cid and doc["id"] == cid and doc["credentialSubject"] == subject
    assert raw == rfc8785.dumps(doc)
    assert digest == merkle.credential_hash(doc)
    integrity.verify(doc, public_key=SIGNER.key.public_key)
    return got


def test_a_typical_subject_is_written_here() -> None:
    subject = {
        "id": HOLDER,
        **PERSON,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Fintech",
            "institution": {"id": IDENTITY.did, "name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
    }
    for kind in KINDS:
        _check(kind, subject)


@pytest.mark.parametrize(
    "value", [*JCS_VALUES, {"\ud7ff": 1, "\u00ff": 2, "\u0100": 3, "~": 4, "\x1f": 5}]
)
def test_values_written_exactly(value: Any) -> None:
    _check("DegreeCredential", {"id": HOLDER, "v": value, "w": [value], "x": {"y": value}})


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        1.0,
        float("nan"),
        2**53,
        -(2**53),
        2**64,
        "lone \ud800 surrogate",
        ("a", "tuple"),
        OrderedDict(a=1),  # a dict subclass
        {"\ue000": 1},  # keys >= U+E000: UTF-16 order may differ from UTF-8's
        {"\U0001f600": 1, "\uffff": 2},
        {1: "a key that is not a str"},
        type("S", (str,), {})("a str subclass"),
        type("I", (int,), {})(3),
        b"bytes",
        object(),
    ],
)
def test_declined_values_answer_none_and_the_twin_decides(value: Any) -> None:
    subject = {"id": HOLDER, "v": value}
    assert native.issue_subject(FAST["DegreeCredential"].native_template, subject, 7, CID) is None
    assert (
        native.issue_subject(FAST["DegreeCredential"].native_template, {"l": [value]}, 7, CID)
        is None
    )


def test_deep_nesting_is_declined() -> None:
    deep: Any = "x"
    for _ in range(250):
        deep = [deep]
    assert (
        native.issue_subject(FAST["DegreeCredential"].native_template, {"d": deep}, 7, CID) is None
    )
    shallow: Any = "x"
    for _ in range(150):
        shallow = {"k": shallow}
    _check("DegreeCredential", {"d": shallow})


@pytest.mark.parametrize(
    ("subject", "index", "cid"),
    [
        ([], 7, CID),  # not a dict
        (OrderedDict(id=HOLDER), 7, CID),
        ({"id": HOLDER}, -1, CID),  # an index it does not write
        ({"id": HOLDER}, True, CID),
        ({"id": HOLDER}, 2**63, CID),
        ({"id": HOLDER}, 7.0, CID),
        ({"id": HOLDER}, "7", CID),
        ({"id": HOLDER}, 7, b"urn:uuid:bytes"),  # an id it does not write
        ({"id": HOLDER}, 7, "urn:uuid:\udc00"),
        ({"id": HOLDER}, 7, type("S", (str,), {})(CID)),
    ],
)
def test_declined_rows_answer_none(subject: Any, index: Any, cid: Any) -> None:
    assert (
        native.issue_subject(FAST["DegreeCredential"].native_template, subject, index, cid) is None
    )


def test_ids_and_indexes_written_as_the_twin_writes_them() -> None:
    for index in (0, 1, 9, 10, 2**31, 2**53, 2**63 - 1):
        for cid in (CID, "", "urn:uuid:é中\U0001f600", 'a"quote'):  # (the twin writes it raw)
            got = native.issue_subject(
                FAST["DegreeCredential"].native_template, {"id": HOLDER}, index, cid
            )
            assert got is not None and got == _twin_bytes(
                "DegreeCredential", {"id": HOLDER}, index, cid
            )


def test_bad_templates_are_refused_naming_what_was_expected() -> None:
    good = FAST["DegreeCredential"]
    assert SIGNER.key.sodium_secret == SIGNER.key.seed + SIGNER.key.public_key.raw
    args = [SIGNER.key.sodium_secret, *good.native_parts()]
    assert native.template(*args) is not None  # the arguments the template itself passes
    with pytest.raises(ValueError, match="64-byte"):
        native.template(b"short", *args[1:])
    with pytest.raises(TypeError, match="proof_head: expected bytes"):
        native.template(*args[:2], "text", *args[3:])
    with pytest.raises(TypeError, match="status_parts"):
        native.template(*args[:5], [b"a", b"b"], *args[6:])
    with pytest.raises(ValueError):  # not a template capsule
        native.issue_subject(object(), {}, 7, CID)
    with pytest.raises(TypeError, match="address"):
        native.set_crypto_sign("0x1234")
    with pytest.raises(ValueError, match="non-zero"):
        native.set_crypto_sign(0)


# -- generated subjects, hostile strings among them --------------------------------------------

_HOSTILE = st.sampled_from(
    [
        "",
        '"',
        "\\",
        "\\u0000",
        "\x00",
        "\x1f\x7f",
        "\b\f\n\r\t",
        "\u2028\u2029",
        "\ud7ff\ue000\uffff",
        "\U0001f600\U00010000\U0010ffff",
        "é",
        "e\u0301",
        "</script>",
        "\ud800",  # a lone surrogate (declined)
    ]
)
_TEXT = st.one_of(st.text(max_size=12), _HOSTILE, st.text(st.characters(), max_size=6))
_KEY = st.one_of(
    st.text(max_size=6), _HOSTILE, st.text(st.characters(max_codepoint=0xFFFF), max_size=3)
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53 - 1), 2**53 - 1),
    st.integers(),  # beyond 2**53 too (declined)
    st.floats(),  # (declined)
    _TEXT,
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(KINDS)),
    st.dictionaries(_KEY, _JSON, max_size=6),
    st.integers(0, 2**63 - 1),
)
def test_generated_subjects_are_the_twins_bytes_or_declined(
    kind: str, subject: dict[str, Any], index: int
) -> None:
    cid = new_credential_ids(1)[0]
    before = copy.deepcopy(subject)
    got = native.issue_subject(FAST[kind].native_template, subject, index, cid)
    assert subject == before or subject != subject  # (nan is not equal to itself)
    if got is None:  # declined: only what this writer may not write exactly
        assert _declined_reason(subject), f"declined a subject it writes: {subject!r}"
        return
    assert got == _twin_bytes(kind, subject, index, cid)
    assert got[2] == merkle.credential_hash(json.loads(got[1]))


def _declined_reason(value: Any) -> bool:
    """Whether ``value`` holds something the C writer declines."""
    if isinstance(value, float) or (isinstance(value, int) and not -(2**53) < value < 2**53):
        return True
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return any(_declined_reason(v) for v in value)
    if isinstance(value, dict):
        return any(
            _declined_reason(k) or any(ord(c) >= 0xE000 for c in k) or _declined_reason(v)
            for k, v in value.items()
        )
    return False


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=300))
def test_signed_is_the_twins(prefix: bytes, tail: bytes) -> None:
    fast, twin = FAST["EmploymentCredential"], TWIN["EmploymentCredential"]
    assert native.signed(fast.native_template, CID, prefix, tail) == twin.signed_reference(
        CID, prefix, tail
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(min_size=64, max_size=64), st.integers(0, 64)))
def test_base58_is_the_reference(case: bytes | int) -> None:
    data = case if isinstance(case, bytes) else bytes(case) + b"\xff" * (64 - case)
    assert native.b58encode_64(data).decode() == b58encode(data)


def test_a_row_declined_here_is_issued_by_the_twin_with_the_same_outcome() -> None:
    """Through `issue_one`: a subject the C writer declines still gets the twin's answer."""
    subject = {
        "id": HOLDER,
        **PERSON,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Fin\ud800tech",  # a lone surrogate: C declines, the twin refuses
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
    }
    request = {"credentialSubject": subject}
    fast = FAST["DegreeCredential"].issue_one(copy.deepcopy(request), 3, CID)
    twin = TWIN["DegreeCredential"].issue_one(copy.deepcopy(request), 3, CID)
    assert fast == twin
    subject["degree"]["fieldOfStudy"] = "Fin\U0001f600tech"  # non-BMP: written here
    fast = FAST["DegreeCredential"].issue_one(copy.deepcopy(request), 3, CID)
    assert fast is not None
    assert fast == TWIN["DegreeCredential"].issue_one(copy.deepcopy(request), 3, CID)
