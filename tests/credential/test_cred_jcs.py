"""RFC 8785 canonical form: both paths byte-identical to the `rfc8785` reference."""

from __future__ import annotations

import math
import struct

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from talentproof.credential.errors import CanonicalizationError
from talentproof.credential.jcs import MAX_SAFE_INTEGER, canonicalize, canonicalize_reference

# keys and strings mixing ASCII, controls, BMP private use / CJK / U+E000..U+FFFF and non-BMP
_chars = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=0x7F),
    st.characters(min_codepoint=0x80, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
_text = st.text(_chars, max_size=8)
_numbers = st.one_of(
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-5, max_value=1e-5, allow_nan=False),
    st.floats(min_value=1e20, max_value=1e22),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _text)


def _json_of(
    scalars: st.SearchStrategy, keys: st.SearchStrategy[str], *, size: int, max_leaves: int
) -> st.SearchStrategy:
    """JSON values: `scalars` nested in arrays and objects (keys from `keys`) of up to `size`."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=size), st.dictionaries(keys, inner, max_size=size)
        ),
        max_leaves=max_leaves,
    )


_json = _json_of(_scalars, _text, size=5, max_leaves=15)
_containers = st.one_of(st.lists(_json, max_size=5), st.dictionaries(_text, _json, max_size=6))


@settings(max_examples=150, deadline=None)
@given(_containers)
def test_canonicalize_matches_rfc8785(value: object) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_reference_path_matches_rfc8785(value: object) -> None:
    assert canonicalize_reference(value) == rfc8785.dumps(value)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_text, st.integers(min_value=-10, max_value=10), min_size=2, max_size=8))
def test_keys_sorted_by_utf16_code_units(value: dict[str, int]) -> None:
    out = canonicalize(value)
    assert out == rfc8785.dumps(value)
    keys = list(__import__("json").loads(out))
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))


def test_non_bmp_key_sorts_before_private_use_key() -> None:
    # U+1F600 is D83D DE00 in UTF-16 and sorts before U+E000; by code point it sorts after.
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonicalize(value) == '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()


@pytest.mark.parametrize(
    "bits,expected",
    [
        ("4340000000000000", "9007199254740992"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("44b52d02c7e14af6", "1e+23"),
        ("41b3de4355555554", "333333333.33333325"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
        ("0000000000000001", "5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("8000000000000000", "0"),
    ],
)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonicalize([value]) == f"[{expected}]".encode()


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64, -(2**70), MAX_SAFE_INTEGER + 1])
def test_integers_beyond_2_53_are_refused(value: int) -> None:
    with pytest.raises(CanonicalizationError, match="safe range"):
        canonicalize({"n": value})
    with pytest.raises(CanonicalizationError, match="safe range"):
        canonicalize_reference([value])


def test_largest_safe_integers_are_kept() -> None:
    assert canonicalize([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(value: float) -> None:
    with pytest.raises(CanonicalizationError, match="finite"):
        canonicalize({"x": [value]})


@pytest.mark.parametrize("value", [{1: "a"}, {"d": object()}, {"s": {1, 2}}, {"b": b"x"}])
def test_non_json_values_are_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError, match="expected"):
        canonicalize(value)


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(CanonicalizationError, match="surrogate"):
        canonicalize({"k": "\ud800"})


def test_escapes_and_whitespace() -> None:
    value = {"b": '\u0000\b\t\n\f\r"\\\u001f\u007f\u2028é', "a": [True, False, None, 1.5]}
    assert (
        canonicalize(value)
        == (
            '{"a":[true,false,null,1.5],"b":"\\u0000\\b\\t\\n\\f\\r\\"\\\\\\u001f\u007f\u2028é"}'
        ).encode()
    )


_fast_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xD7FF), max_size=10)
_fast_json = _json_of(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
        _fast_text,
    ),
    _fast_text,
    size=5,
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_fast_text, _fast_json, max_size=6))
def test_orjson_fast_path_is_taken_and_identical(value: dict[str, object]) -> None:
    import orjson

    from talentproof.credential import jcs

    fast = orjson.dumps(value, option=jcs.ORJSON_OPTIONS)
    # inputs whose *strings* happen to look like ',1e' or ':null' take the slow path; skip them
    assume(jcs.fast_path_exact(fast))
    assert canonicalize(value) == fast == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value,fast",
    [
        ({"a": 1.5}, False),
        ({"a": [1, -2.0]}, False),
        ({"a": None}, False),
        ({"a": [None]}, False),
        ({"a": 1e16}, False),
        ({"v": "context-3.0.3.json", "n": 12}, True),
        ({"id": "urn:uuid:0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"}, True),
        ({"s": "null"}, True),
        ({"s": "\ue000"}, False),
        ({"s": "日本"}, True),
        # string contents never take the slow path, however number-like (exact string cut-out)
        ({"s": "x,1.5"}, True),
        ({"id": "urn:uuid:1e5f0c3d-4b5a-4978-8796-a5b4c3d2e1f0"}, True),
        ({"t": "2026-11-21T23:40:00.5Z", "u": "[1e9,null]"}, True),
        ({"s": 'x":1.5,"y":null'}, True),
        ({"s": "x\\", "n": 1.5}, False),
        ({"s": 'x\\"', "n": [1, None]}, False),
        ({"s": 'q\\"', "n": 7}, True),
        ({"a": [True, False, -3]}, True),
        ({"a": [1e-7]}, False),
    ],
)
def test_fast_path_detection(value: dict[str, object], fast: bool) -> None:
    import orjson

    from talentproof.credential import jcs

    assert jcs.fast_path_exact(orjson.dumps(value, option=jcs.ORJSON_OPTIONS)) is fast
    assert canonicalize(value) == rfc8785.dumps(value)


def _has_float_or_null(value: object) -> bool:
    if value is None or type(value) is float:
        return True
    if isinstance(value, dict):
        return any(_has_float_or_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float_or_null(v) for v in value)
    return False


# strings full of JSON-looking text: quotes, backslashes, digits, '.', 'e', 'n', ':', ',', '['
_tricky_text = st.text(st.sampled_from('"\\:,[]{}.eEn0123456789-+ ux') | _chars, max_size=10)
_tricky_json = _json_of(
    st.one_of(st.none(), st.booleans(), _numbers, _tricky_text), _tricky_text, size=4, max_leaves=12
)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(_tricky_text, _tricky_json, max_size=5))
def test_fast_path_taken_exactly_when_no_float_null_or_high_byte(value: dict[str, object]) -> None:
    import orjson

    from talentproof.credential import jcs

    try:
        fast = orjson.dumps(value, option=jcs.ORJSON_OPTIONS)
    except orjson.JSONEncodeError:  # lone surrogates: the reference path refuses them
        return
    high = any(b >= 0xEE for b in fast)
    assert jcs.fast_path_exact(fast) is (not high and not _has_float_or_null(value))
    assert canonicalize(value) == rfc8785.dumps(value)


def test_nesting_deeper_than_the_limit_is_refused_not_a_recursion_error() -> None:
    from talentproof.credential.jcs import MAX_DEPTH

    value: object = 1.5  # a float: the reference path is the one that runs
    for _ in range(MAX_DEPTH):
        value = [value]
    assert canonicalize(value) == rfc8785.dumps(value)
    for _ in range(5000):
        value = [value]
    with pytest.raises(CanonicalizationError, match="nested at most"):
        canonicalize({"deep": value})


# The pre-check as first written (one translation, two substring searches): the regular
# expressions that replaced it must give the same answer on any bytes.
_VALUE_START_MAP = bytes(
    ord("v") if c in b"0123456789-n" else ord("[") if c in b"[," else c if c in b'":' else ord(" ")
    for c in range(256)
)


def _no_value_token_reference(out: bytes) -> bool:
    starts = out.translate(_VALUE_START_MAP)
    return b'":v' not in starts and b"[v" not in starts


def _no_value_token(out: bytes) -> bool:
    from talentproof.credential import jcs

    return (
        jcs.MEMBER_VALUE(out) is None
        and jcs.NEXT_ELEMENT(out) is None
        and jcs.FIRST_ELEMENT(out) is None
    )


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=40)
    | st.text(st.sampled_from('":[],{}0123456789-nxe. '), max_size=40).map(str.encode)
)
def test_value_token_precheck_matches_the_translate_version(out: bytes) -> None:
    assert _no_value_token(out) is _no_value_token_reference(out)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_tricky_text, _tricky_json, max_size=5))
def test_value_token_precheck_on_orjson_output(value: dict[str, object]) -> None:
    import orjson

    from talentproof.credential import jcs

    try:
        out = orjson.dumps(value, option=jcs.ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return
    assert _no_value_token(out) is _no_value_token_reference(out)
