"""`engine.parse_json_fast` (orjson + the C guard ``credential.native.json_guard``) against its
Python twin `engine.parse_json_fast_python` and the reference parse (``json.loads`` refusing
duplicated keys), on generated JSON texts: duplicated keys (also spelt with escapes), escaped
colons, colons in keys and values, integers beyond 64 bits, floats, unicode escapes, nesting.

The property that matters: whenever the fast path answers, its value is the reference's, of the
same types; where it cannot be sure it answers ``SLOW_PATH`` (the reference then decides).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import native  # built by the install: a missing build fails here
from talentproof.verifier import engine


def test_the_guard_is_the_one_parse_json_uses() -> None:
    import talentproof.credential.native as built

    assert engine.native_json_guard is built.json_guard


def _reference(raw: bytes) -> tuple[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            raise ValueError("duplicate key")
        return out

    try:
        return "ok", json.loads(raw, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError):
        return "refused", None


def _check(raw: bytes) -> Any:
    fast = engine.parse_json_fast(raw)
    twin = engine.parse_json_fast_python(raw)
    if fast is not engine.SLOW_PATH:
        kind, want = _reference(raw)
        assert kind == "ok", raw
        assert repr(fast) == repr(want), raw  # same values, same types (NaN-safe)
        assert twin is not engine.SLOW_PATH, raw  # the twin would have answered too
        assert repr(twin) == repr(fast)
    elif twin is not engine.SLOW_PATH:
        # only nesting the C guard does not vouch for (deeper than its limit) may differ
        assert raw.count(b"[") + raw.count(b"{") > 200, raw
    return fast


@pytest.mark.parametrize(
    ("raw", "answers"),
    [
        (b'{"a": "x:y", "b": {"c": ["d:e", {"f": 1}]}}', True),
        (b'{"a": 1, "a": 2}', False),
        (b'{"a": 1, "\\u0061": 2}', False),  # the same key, spelt with an escape
        (b'{"a": {"b": "1:2", "b": "3"}}', False),
        (b'{"a": [{"k": 1}, {"k": 2, "k": 3}]}', False),
        (b'{"a\\u003a": 1, "a:": 2}', False),  # an escaped colon: never vouched for
        (b'{"a\\u003A": 1}', False),
        (b'{"a\\\\u003a": 1}', False),  # (an escaped backslash before u003a: still refused)
        (b'{"a\\u0041\\n": 1, "b:": "\\t:", "\\u00e9:": ":"}', True),
        (b'{"n": 1234567890123456789}', False),  # 19 digits: may be beyond 64 bits
        (b'{"n": 123456789012345678}', True),  # 18 digits
        (b'{"s": "1234567890123456789"}', False),  # (in a string too: the twin's rule)
        (b'{"n": 18446744073709551616}', False),
        (b'{"f": 2.5, "g": 0.1, "h": -0.0, "i": 1E2, "j": 1.5e-7}', True),
        (b'{"f": 1e400}', False),  # (orjson refuses it: the reference reads inf)
        (b'{"x": NaN}', False),
        (b'{"s": "\\ud800"}', False),  # a lone surrogate: orjson refuses it
        (b'{"s": "\\ud83d\\ude00 \xf0\x9f\x98\x80 \xc3\xa9 \xe4\xb8\xad"}', True),
        (b'{"bad": }', False),
        (b'[1, 2, {}, [], [[]], {"x": null, "y": true, "z": false}]', True),
        (b'"a string : with colons"', True),
        (b"17", True),
        (b"\xef\xbb\xbf{}", False),  # a byte-order mark
        (b'{"a":1}  ', True),
        (b'{"a":1} x', False),
        (b'{"":1,"":2}', False),
    ],
)
def test_cases(raw: bytes, answers: bool) -> None:
    got = _check(raw)
    assert (got is not engine.SLOW_PATH) is answers


def test_nesting() -> None:
    for depth in (1, 50, 199, 201, 254, 255, 300, 1100):
        for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
            got = _check(raw)
            if depth <= 199 or depth >= 255:  # (in between: the guard's limit, 200 levels)
                assert (got is not engine.SLOW_PATH) is (depth <= 199)


def test_a_document_that_is_not_what_orjson_makes_is_refused() -> None:
    assert native.json_guard(b"[1]", [(1,)]) is False
    assert native.json_guard(b'{"a":1}', {"a": object()}) is False
    assert native.json_guard(b'{"a":1}', {1: 1}) is False
    assert native.json_guard(b'{"a":1}', {"a": 1}) is True
    assert native.json_guard(b'{"a":1,"b":2}', {"a": 1}) is False  # a member dropped


_KEYS = ["a", "b", ":", "a:", "\u00e9", "\u4e2d", "\U0001f600", ""]


def _key_text(key: str, escaped: bool) -> str:
    if escaped:
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in key) + '"'
    return json.dumps(key, ensure_ascii=False)


_scalar = (
    st.integers(-(2**70), 2**70).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(["true", "false", "null", "1e400", "-0", "0.0", "1E+2"])
    | st.text(max_size=8).map(lambda s: json.dumps(s, ensure_ascii=False))
    | st.text(max_size=8).map(json.dumps)  # \\uXXXX escapes, lone surrogates included
    | st.sampled_from(['"a:b"', '"\\u003a"', '"\\u003A"', '"x\\\\u003a"', '"::"'])
)


def _object(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    member = st.tuples(st.sampled_from(_KEYS), st.booleans(), inner)
    return st.lists(member, max_size=4).map(
        lambda ms: "{" + ", ".join(f"{_key_text(k, e)}: {v}" for k, e, v in ms) + "}"
    )


_text = st.recursive(
    _scalar,
    lambda inner: _object(inner) | st.lists(inner, max_size=3).map(lambda xs: f"[{','.join(xs)}]"),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(_text)
def test_generated_texts(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))
