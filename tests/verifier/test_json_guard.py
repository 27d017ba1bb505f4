"""`jsonread.loads_fast` (orjson + the C guard ``credential.native.json_guard``, the fast read
`verifier.engine.parse_json` and the QR payload's content use) against its Python twin
(orjson + `jsonread.vouches_python`) and the reference parse `jsonread.loads`, on generated and
hand-made hostile JSON texts: duplicated keys (also spelt with escapes), escaped colons, colons
in keys and values, integers beyond 64 bits, -0, floats, unicode escapes, lone surrogates, a
byte-order mark, nesting.

The property that matters: whenever the fast path answers, its value is the reference's, of the
same types; where it cannot be sure it answers ``SLOW_PATH`` (the reference then decides).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import (
    jsonread,
    native,  # built by the install: a missing build fails here
)
from talentproof.verifier import engine

SLOW_PATH = jsonread.SLOW_PATH


def test_the_guard_is_the_one_every_fast_read_uses() -> None:
    import talentproof.credential.native as built

    assert jsonread.native_json_guard is built.json_guard
    # one owner: neither reader keeps a guard of its own
    from talentproof.credential.qr import payload

    for module in (engine, payload):
        assert not hasattr(module, "native_json_guard")
        assert not hasattr(module, "json_guard")
        assert not hasattr(module, "parse_json_fast_python")


def _reference(raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", jsonread.loads(raw)
    except (ValueError, RecursionError):
        return "refused", None


def _twin(raw: bytes) -> Any:
    """`jsonread.loads_fast` as it runs without the C extension."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return SLOW_PATH
    return doc if jsonread.vouches_python(raw, doc) else SLOW_PATH


def _check(raw: bytes) -> Any:
    fast = jsonread.loads_fast(raw)
    twin = _twin(raw)
    if fast is not SLOW_PATH:
        kind, want = _reference(raw)
        assert kind == "ok", raw
        assert repr(fast) == repr(want), raw  # same values, same types (NaN-safe)
        assert twin is not SLOW_PATH, raw  # the twin would have answered too
        assert repr(twin) == repr(fast)
    elif twin is not SLOW_PATH:
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
        (b'{"s": "1234567890123456789"}', True),  # (in a string: text, not an integer)
        (b'{"p": ["0x0123456789012345678901234567890123456789abcdef"]}', True),  # a hash's hex
        (b'{"s": "\\"1234567890123456789\\"", "t": 1}', True),  # escaped quotes around digits
        (b'{"s": "x\\\\", "n": 1234567890123456789}', False),  # an escaped backslash ends it
        (b'{"s": "\\"", "n": 1234567890123456789}', False),
        (b'{"1234567890123456789": 1, "n": 12345678901234567890}', False),  # a key's digits
        (b"[1234567890123456789]", False),
        (b'{"s": "a", "n": -1234567890123456789}', False),
        (b'{"n": 1.1234567890123456789}', False),  # (a fraction's digits: as before)
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
        (b'{"z": -0, "y": [-0, 0, -0.0]}', True),  # -0 an int (0), -0.0 a float
        (b'{"a": "\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t"}', True),  # every escape
        (b'{"a": 1, "b": {"a": 1}}', True),  # (the same key in another object)
        (b'{"a": 1, "a\\u0000": 2}', True),  # (a different key)
        (b'{"\\ud83d\\ude00": 1, "\xf0\x9f\x98\x80": 2}', False),  # an escaped pair
        (b'{"s": "\\udc00\\ud800"}', False),  # a reversed pair: two lone surrogates
        (b"\xff\xfe{\x00}\x00", False),  # UTF-16 with its mark
        (b'{"n": 99999999999999999999999999999e-5}', False),
    ],
)
def test_cases(raw: bytes, answers: bool) -> None:
    got = _check(raw)
    assert (got is not SLOW_PATH) is answers


_HOSTILE = [
    b'{"s": "x\\\\", "n": 18446744073709551616}',
    b'{"s": "\\"", "n": 18446744073709551617, "t": "0123456789012345678901"}',
    b'{"a": 1, "a": 2}',
    b'{"a": 1, "\\u0061": 2}',
    b'{"a\\u003a": 1, "a:": 2}',
    b'{"n": 18446744073709551616, "m": -0, "f": -0.0}',
    b'{"s": "\\ud800"}',
    b'{"s": "\\udc00\\ud800"}',
    b"\xef\xbb\xbf{}",
    b'{"x": NaN, "y": Infinity}',
    b'{"f": 1e400}',
    b'{"bad": }',
    b"[" * 210 + b"]" * 210,
    b"[" * 5000 + b"]" * 5000,
    b'{"a": "x:y", "b": [1, 2.5, null]}',
]


@pytest.mark.parametrize("raw", _HOSTILE)
def test_parse_json_answers_the_same_without_the_c_guard(raw: bytes, monkeypatch) -> None:
    """`engine.parse_json` through `jsonread.loads_fast` gives the same value or the same
    message with the C guard and with its Python twin (a build without the extension)."""

    def answer() -> list[tuple[str, str]]:
        out = []
        for data in (raw, raw.decode("utf-8", "surrogatepass")):  # (bytes and str)
            try:
                out.append(("ok", repr(engine.parse_json(data, what="t", limit=1 << 20))))
            except engine.InputError as exc:
                out.append(("error", str(exc)))
        return out

    with_c = answer()
    monkeypatch.setattr(jsonread, "native_json_guard", None)
    assert answer() == with_c


def test_nesting() -> None:
    for depth in (1, 50, 199, 201, 254, 255, 300, 1100):
        for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
            got = _check(raw)
            if depth <= 199 or depth >= 255:  # (in between: the guard's limit, 200 levels)
                assert (got is not SLOW_PATH) is (depth <= 199)


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
