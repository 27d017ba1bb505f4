"""Check 2 in C (credential/native_verify.c ``form_kind``, `validation.NATIVE_FORM`) against its
Python twin: `validate_credential`'s own path (jsonschema-rs and the VC 2.0 rules), and the
reference (`reference_validate_credential`, `jsonschema`).

The C answers a kind or None, never "invalid": what must hold is that whenever it answers, the
Python path accepts the same document with the same kind (a wrong answer would make an invalid
credential pass check 2), and that it does answer for the credentials the issuer writes (a
recognizer declining everything would pass the first test and save nothing). Inputs: issued
degrees and employments in several forms, every member removed, every value retyped or given a
hostile text (line breaks after ``$``-anchored patterns, lone surrogates, controls, Unicode
spaces, long texts), members added, lists changed, subclasses, impossible and other-form dates,
and generated texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import validation
from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519SigningKey
from tests.chainkit import DEGREE, EMPLOYMENT, build, holder, sign
from tests.doc_paths import get_at, paths, set_at, without


def test_the_c_form_is_built() -> None:
    """`make test` builds the C extension: a tree without it fails here rather than skipping
    the comparisons below (each of which would then compare the Python path with itself)."""
    assert validation.NATIVE_FORM is not None, "credential/native_verify.c form_kind is not built"


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DID = "did:web:uni.example"
ISSUER_KEY = Ed25519SigningKey.from_seed(bytes(range(32)))


def _status(index: int) -> list[dict[str, str]]:
    base = "https://uni.example/status"
    return [
        {
            "id": f"{base}/{purpose}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": f"{base}/{purpose}",
        }
        for purpose in ("revocation", "suspension")
    ]


def _bases() -> list[dict[str, Any]]:
    """Credentials as the issuer writes them: signed (the proof an object, as check 2 sees a
    folder file's credential), with the issuer as a text or an object, with status entries,
    validUntil, name and description."""
    out = []
    for kind in (DEGREE, EMPLOYMENT):
        extra = {} if kind == DEGREE else {"start": "2012-01-01"}
        plain = build(kind, DID, holder().public_key.did_key, **extra)
        rich = build(
            kind,
            DID,
            holder().public_key.did_key,
            valid_from=NOW - timedelta(days=3),
            valid_until=NOW + timedelta(days=300),
            **extra,
        )
        rich["issuer"] = {"id": DID, "name": "The University"}
        rich["credentialStatus"] = _status(7)
        rich["name"] = "A credential"
        rich["description"] = "Its description, with non-ASCII text: 陳大文 é"
        out += [sign(plain, ISSUER_KEY), sign(rich, ISSUER_KEY)]
    return out


BASES = _bases()


def _python(doc: Any) -> str | None:
    """`validate_credential`'s Python path alone (its C twin off): the kind, or None when it
    refuses."""
    saved, validation.NATIVE_FORM = validation.NATIVE_FORM, None
    try:
        return validation.validate_credential(doc)
    except (CredentialError, ValueError):
        return None
    finally:
        validation.NATIVE_FORM = saved


def _fast(doc: Any) -> str | None:
    """`validate_credential` (the C first): the kind, or None when it refuses."""
    try:
        return validation.validate_credential(doc)
    except (CredentialError, ValueError):
        return None


def _judge(doc: Any) -> str | None:
    """The C's answer, checked against the Python path whenever it answers; and
    `validate_credential` (the C first) answering as its Python path alone does."""
    kind = validation.NATIVE_FORM(doc)
    python = _python(doc)
    if kind is not None:
        assert python == kind, doc
        assert validation.compiled_validator(kind).is_valid(doc), doc
    assert _fast(doc) == python, doc
    return kind


class Sub(str):
    pass


class DictSub(dict):  # type: ignore[type-arg]
    pass


TEXTS = [
    "",
    " ",
    "x",
    "\n",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\x00",
    "\x7f",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\u2029",
    "CHAN Tai \u202enaM",
    "\u202aCHAN\u202c",
    "CHAN \u2066Tai\u2069 Man",
    "CHAN\u2067",
    "CHAN\u0080 Tai",
    "CHAN \u009b2J",
    "\u009f",
    "\ufeff",
    "\u200b",
    "\u3000",
    "x" * 501,
    "x" * 4001,
    "HK",
    "hk",
    "HKG",
    "https://x.example",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#x",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2dod",
    "1990-02-30",
    "1990-13-01",
    "2026-01-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "2026-01-01T23:60:00Z",
    "2026-01-01T00:00:00+00:00",
    "2026-01-01T00:00:00.5Z",
    "2026-01-01t00:00:00z",
    "9999-12-31T23:59:59Z",
    "hmac-sha256:" + "A" * 43,
    "hmac-sha256:" + "A" * 42 + "=",
    "VerifiableCredential",
    "DegreeCredential",
    "EmploymentCredential",
    "OpenBadgeCredential",
    "Degree",
    "bachelor",
    "HKID",
    "JsonSchema",
    "https://www.w3.org/ns/credentials/v2",
]


def _variants(value: Any) -> list[Any]:
    """Other values for a member: other types, hostile texts, the value with a line break or
    a surrogate, lists changed."""
    out: list[Any] = [None, True, 0, 1, -1, 1.5, 2**70, [], {}, ["x"], {"type": "x"}, *TEXTS]
    if isinstance(value, str):
        out += [
            value + "\n",
            value + "\r\n",
            value[:1] + "\n" + value[1:],
            "\n" + value,
            " " + value,
            value + " ",
            value + "\u00a0",
            value + "\ud800",
            value[:-1],
            value + value[-1:],
            value.upper(),
            value.lower(),
            Sub(value),
        ]
    if isinstance(value, list):
        out += [value[:-1], value[1:], value + value[-1:], list(reversed(value)), value * 2]
        out += [[*value, 1], [*value, None], [*value, {"type": "x"}]]
    if isinstance(value, dict):
        out += [
            DictSub(value),
            {**value, "extra": "x"},
            {**value, "\ud800": "x"},
            {**value, "extra": 1},
            {**value, "extra": {"a": "b"}},
            {**value, "type": ["x"]},
        ]
    return out


def test_it_answers_for_what_the_issuer_writes() -> None:
    for doc in BASES:
        assert _judge(doc) == doc["type"][-1]
        assert validation.validate_credential(doc) == doc["type"][-1]


def test_every_member_removed_retyped_or_hostile() -> None:
    answered = judged = 0
    for base in BASES:
        for path in list(paths(base))[1:]:
            docs = [without(base, path)]
            docs += [set_at(base, path, v) for v in _variants(get_at(base, path))]
            for doc in docs:
                judged += 1
                answered += _judge(doc) is not None
        for path in paths(base):
            value = get_at(base, path)
            if isinstance(value, dict):
                for extra in ({"extra": "x"}, {"\udc00": "x"}, {"": ""}, {"proof": "x"}):
                    judged += 1
                    answered += _judge(set_at(base, path, {**value, **extra})) is not None
    # (most are invalid: a few still are valid, e.g. an optional member removed)
    assert judged > 5000 and answered > 50, (judged, answered)


@pytest.mark.parametrize("base", BASES, ids=lambda d: d["type"][-1])
def test_dates_in_every_order_and_form(base: dict[str, Any]) -> None:
    for vf in ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2025-12-31T23:59:59Z"):
        for vu in (None, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2025-12-31T23:59:59Z"):
            doc = set_at(base, ("validFrom",), vf)
            if vu is not None:
                doc["validUntil"] = vu
            else:
                doc.pop("validUntil", None)
            assert _judge(doc) == _python(doc)


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("credentialSubject", "name"),
        ("credentialSubject", "identityDocument", "issuingCountry"),
        ("credentialSubject", "identityDocument", "commitment"),
        ("credentialSubject", "birthDate"),
        ("credentialSubject", "id"),
        ("validFrom",),
    ],
)
def test_line_breaks_after_anchored_patterns(path: tuple[str, ...]) -> None:
    """tests/security/test_attack_schema_line_breaks.py's values: never answered."""
    for base in BASES:
        value = get_at(base, path)
        for bad in (value + "\n", value + "\r\n", value[:1] + "\n" + value[1:], value + "\u2028"):
            doc = set_at(base, path, bad)
            assert validation.NATIVE_FORM(doc) is None
            with pytest.raises(CredentialError):
                validation.validate_credential(doc)


TRICKY = st.text(
    alphabet=st.sampled_from(
        list("aZ09 -_:./#+@\t\n\r\x00\x1f\x7f\u0085\u00a0\u1680\u2000\u200b\u2028\u2029")
        + list("\u202f\u205f\u3000\ufeff\ud800\udfff陳é")
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(
        [
            ("credentialSubject", "name"),
            ("id",),
            ("name",),
            ("description",),
            ("issuer",),
            ("credentialSubject", "identityDocument", "issuingCountry"),
            ("credentialSubject", "birthDate"),
        ]
    ),
    text=TRICKY,
    keep=st.booleans(),
)
def test_generated_texts(where: tuple[str, ...], text: str, keep: bool) -> None:
    base = BASES[1]
    value = get_at(base, where) if where != ("issuer",) else DID
    doc = set_at(base, where, (value + text) if keep else text)
    _judge(doc)


def test_reference_agrees_where_it_answers() -> None:
    """The reference (jsonschema, patterns read as ECMA-262) accepts what the C answers for."""
    for base in BASES:
        for doc in (base, set_at(base, ("credentialSubject", "name"), "陳大文 Chan")):
            kind = validation.NATIVE_FORM(doc)
            assert kind is not None
            assert validation.reference_validate_credential(doc) == kind


def test_the_holder_is_checked_beside_it() -> None:
    """The C leaves the holder's did:key to `is_holder_did`: a subject id of the pattern's form
    that is no Ed25519 key is refused by `validate_credential` all the same."""
    base = BASES[0]
    doc = set_at(base, ("credentialSubject", "id"), "did:key:z6Mk" + "1" * 44)
    assert validation.NATIVE_FORM(doc) == base["type"][-1]
    with pytest.raises(CredentialError):
        validation.validate_credential(doc)


def test_it_declines_the_documents_it_is_not_for() -> None:
    base = BASES[0]
    assert validation.NATIVE_FORM([base]) is None
    assert validation.NATIVE_FORM(DictSub(base)) is None
    assert validation.NATIVE_FORM({**base, "type": ["VerifiableCredential", "X"]}) is None
    assert validation.NATIVE_FORM({**base, "type": "DegreeCredential"}) is None
    kind = base["type"][-1]
    for types in (
        ["VerifiableCredential", "X", kind],
        ["VerifiableCredential", "EmploymentCredential", "DegreeCredential"],
        ["VerifiableCredential", "DegreeCredential", "EmploymentCredential"],
        ["VerifiableCredential", kind, kind],
        [kind, "VerifiableCredential"],
    ):  # (only ["VerifiableCredential", kind]: no other name beside the kind)
        assert validation.NATIVE_FORM({**base, "type": types}) is None
    assert _judge({**base, "evidence": {"type": "x"}}) == base["type"][-1]  # (valid: open)
    assert validation.NATIVE_FORM({**base, "evidence": {"type": 1}}) is None
    nested: Any = "x"
    for _ in range(40):
        nested = [nested]
    assert validation.NATIVE_FORM({**base, "name": nested}) is None


def _text_forms(doc: dict[str, Any]) -> Iterator[bytes]:
    """A credential's file in other text forms: keys and values spelt with escapes, members
    given twice (the first or the last value differing), a line break escaped at a value's
    end."""
    import json

    text = json.dumps(doc)
    yield text.encode()
    yield json.dumps(doc, ensure_ascii=True, indent=1).encode()
    for key in ("id", "validFrom", "type", "issuingCountry", "name", "birthDate", "commitment"):
        escaped = "".join(f"\\u{ord(c):04x}" for c in key)
        yield text.replace(f'"{key}":', f'"{escaped}":', 1).encode()
        # the member twice: the duplicate guard sends the text to the careful parse
        yield text.replace(f'"{key}": ', f'"{key}": "x", "{key}": ', 1).encode()
        yield text.replace(f'"{key}": "', f'"{key}": "\\n', 1).encode()
    country = doc["credentialSubject"]["identityDocument"]["issuingCountry"]
    yield text.replace(f'"{country}"', f'"{country}\\n"', 1).encode()
    yield text.replace(f'"{country}"', f'"{country}\\u2028"', 1).encode()
    yield text.replace(f'"{country}"', '"\\u0048\\u004b"', 1).encode()
    yield text.replace(f'"{country}"', '"\\ud800K"', 1).encode()


def test_files_in_other_text_forms() -> None:
    """The folder's read (`inputs.item_from_bytes`: orjson with the duplicate guard, or the
    careful parse) then check 2 with and without the C give the same answer."""
    from talentproof.verifier.inputs import item_from_bytes

    answered = 0
    for base in BASES:
        for data in _text_forms(base):
            item = item_from_bytes(data, "c.json")
            if item.document is not None:
                answered += _judge(item.document) is not None
    assert answered >= len(BASES) * 4
