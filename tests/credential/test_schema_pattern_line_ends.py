"""Check 2 reads every schema ``pattern`` as the ECMA-262 regex JSON Schema says it is.

The attack (red team, 2026-12-07): a credential's patterns are anchored with ``$``. In ECMA-262
(no multiline flag) ``$`` matches only at the very end of the text; Python's ``re`` lets it match
before a final ``"\\n"`` too, and the reference validator (``jsonschema``) applied patterns with
``re.search``. jsonschema-rs (the compiled path) refused ``"HK\\n"`` as an issuing country, the
reference accepted it, and check 2 passed when either accepted: an accredited key could sign a
credential id, an issuer DID, a country or a commitment ending in a line break, and the issuer
signed such input. Likewise ``\\d`` (any Unicode digit in Python, 0-9 in ECMA-262) and ``\\s``
(Python's whitespace is not ECMA's: U+FEFF, U+0085).

What must hold, for every pattern of every shipped schema anchored with ``$`` (enumerated from
the schemas, so a new one is covered): a value that matches, followed by ``"\\n"`` or ``"\\r\\n"``,
or with a line break inside, fails check 2 naming the field, on the verifier's check and the
issuer's validator alike; the compiled and the reference validators give the same answer on
such values (the differential), and the issuer's own forms still pass.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from talentproof.credential import validation
from talentproof.credential.errors import SchemaValidationError
from talentproof.credential.examples import BUILDERS
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.schemas import SCHEMA_FILES, load_schema
from talentproof.credential.types import DEGREE, EMPLOYMENT, OPEN_BADGE
from talentproof.verifier import checks

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
TODAY = date(2026, 12, 7)


def anchored_patterns(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(instance path with ``[]`` for any index, pattern) of every ``$``-anchored pattern."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$"):
            yield where, pattern
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield from anchored_patterns(sub, f"{where}.{name}" if where else name)
            elif key == "items":
                yield from anchored_patterns(value, f"{where}[]")
            elif key in ("oneOf", "anyOf", "allOf") and isinstance(value, list):
                for sub in value:
                    yield from anchored_patterns(sub, where)


LOCATIONS = sorted(
    {(kind, where, p) for kind in SCHEMA_FILES for where, p in anchored_patterns(load_schema(kind))}
)


def variants(kind: str) -> list[dict[str, Any]]:
    """The example credential of ``kind``, and forms of it holding every optional member a
    pattern checks (a status entry, a list of them, an issuer object or string, ...)."""
    base = BUILDERS[kind](HOLDER)
    rich = copy.deepcopy(base)
    rich["validUntil"] = "2030-01-01T00:00:00Z"
    rich["credentialStatus"] = {
        "id": "https://status.example/1#5",
        "type": "BitstringStatusListEntry",
    }
    listed = copy.deepcopy(base)
    listed["credentialStatus"] = [{"id": "urn:status:1", "type": "BitstringStatusListEntry"}]
    out = [base, rich, listed]
    subject = rich["credentialSubject"]
    if kind == DEGREE:
        other = copy.deepcopy(base)
        other["issuer"] = {"id": "did:web:hku.hk", "name": "HKU"}
        other["credentialSubject"]["degree"]["institution"]["id"] = "did:web:hku.hk"
        out.append(other)
    elif kind == EMPLOYMENT:
        subject["employment"]["employer"]["id"] = "did:web:hsbc.com.hk"
        other = copy.deepcopy(base)
        other["issuer"] = "did:web:hsbc.com.hk"
        out.append(other)
    elif kind == OPEN_BADGE:
        rich["issuer"]["url"] = "https://hkust.edu.hk"
        achievement = subject["achievement"]
        achievement["criteria"]["id"] = "https://hkust.edu.hk/criteria/1"
        achievement["resultDescription"] = [
            {"id": "urn:rd:1", "type": ["ResultDescription"], "name": "Grade", "resultType": "t"}
        ]
        subject["result"][0]["resultDescription"] = "urn:rd:1"
        subject["result"][0]["achievedLevel"] = "urn:level:distinction"
        other = copy.deepcopy(base)
        other["credentialSubject"]["achievement"]["achievementType"] = "ext:Microcredential"
        out.append(other)
    for doc in out:
        assert validation.validate_credential(doc) == kind, doc
    return out


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    elif isinstance(node, str):
        yield path


def shape(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += "[]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


def line_break_forms(value: str) -> list[str]:
    """``value`` with a line break after it or inside it."""
    middle = max(1, len(value) // 2)
    return [
        value + "\n",
        value + "\r\n",
        value + "\r",
        value + "\u2028",
        value[:middle] + "\n" + value[middle:],
    ]


def cases() -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any], str]]:
    """(kind, leaf path, document, pattern) of every leaf an anchored pattern checks."""
    by_shape = {(kind, where): p for kind, where, p in LOCATIONS}
    for kind in SCHEMA_FILES:
        for doc in variants(kind):
            for path in leaves(doc):
                pattern = by_shape.get((kind, shape(path)))
                if pattern is not None:
                    yield kind, path, doc, pattern


CASES = list(cases())


def test_every_anchored_pattern_of_every_schema_is_exercised() -> None:
    assert len(LOCATIONS) > 40
    covered = {(kind, shape(path)) for kind, path, _, _ in CASES}
    missing = {(kind, where) for kind, where, _ in LOCATIONS} - covered
    assert not missing, missing


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_a_line_break_at_or_inside_an_anchored_value_fails_check_2(kind: str) -> None:
    wrong = []
    checked = 0
    for k, path, doc, _ in CASES:
        if k != kind:
            continue
        value = get(doc, path)
        for bad in line_break_forms(value):
            checked += 1
            m = copy.deepcopy(doc)
            put(m, path, bad)
            field = dotted(path)
            finding, got_kind = checks.schema(m, TODAY)
            if finding.status.name != "FAIL" or got_kind is not None:
                wrong.append(("check 2", field, bad, finding.status.name))
            elif not field.startswith(str(finding.facts.get("field", "\0"))):
                wrong.append(("check 2 field", field, bad, finding.facts))
            for name, validate in (
                ("issuer validator", validation.validate_credential),
                ("reference", validation.reference_validate_credential),
            ):
                try:
                    validate(m)
                except SchemaValidationError as exc:
                    if not exc.field or not field.startswith(exc.field):
                        wrong.append((name, field, bad, exc.field))
                else:
                    wrong.append((name, field, bad, "accepted"))
    assert checked > 40
    assert not wrong, json.dumps(wrong[:40], indent=1) + f"\n{len(wrong)} wrong"


#: Characters on which Python's ``re`` and ECMA-262 read ``$``, ``\\d``, ``\\s``, ``\\w`` and
#: ``.`` differently.
EDGES = ["\n", "\r\n", "\ufeff", "\x85", "\u0661", "\u00a0", "\u2028", "\x1c", "\u3000", "\u200b"]


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_compiled_and_reference_agree_on_line_ends_and_unicode_classes(kind: str) -> None:
    """The differential: both validators give the same answer (accepted, or the same error) on
    every string leaf of every variant with each edge character before, after or inside it."""
    wrong = []
    for doc in variants(kind):
        for path in leaves(doc):
            if path[:1] in (("type",), ("@context",)):
                continue
            value = get(doc, path)
            for edge in EDGES:
                for bad in (value + edge, edge + value, value[:1] + edge + value[1:]):
                    m = copy.deepcopy(doc)
                    put(m, path, bad)
                    fast = _outcome(validation.validate_credential, m)
                    ref = _outcome(validation.reference_validate_credential, m)
                    if fast != ref:
                        wrong.append((dotted(path), bad, fast, ref))
    assert not wrong, json.dumps(wrong[:30], indent=1) + f"\n{len(wrong)} differ"


def _outcome(validate: Any, doc: dict[str, Any]) -> str:
    try:
        return f"accepted {validate(doc)}"
    except SchemaValidationError as exc:
        return f"refused {exc.field}"


def test_the_issuers_own_forms_still_pass() -> None:
    for kind in SCHEMA_FILES:
        for doc in variants(kind):
            finding, got = checks.schema(doc, TODAY)
            assert finding.status.name == "PASS" and got == kind, finding


#: Patterns beyond the shipped ones using each construct `validation.ecma_regex` translates.
MORE_PATTERNS = [
    r"^\d+$",
    r"^\w+$",
    r"^\s*x\s*$",
    r"^\S+$",
    r"^[^\s]+$",
    r"^\D\W$",
    r"^[\d\w]$",
    r"^a(?:b|c)?$",
    r"^(?!x)[a-z]{2}$",
    r"x$|^y",
    r"^\x41\u0042$",
    r"^[[]$",
]
TEXTS = ["", "x", "y", "ab", "ac", "AB", "a b", "1", "12", "_", "[", *EDGES]


def test_ecma_regex_matches_as_jsonschema_rs_does() -> None:
    """The translation of every shipped pattern and of each construct it knows finds the texts
    the compiled validator (ECMA-262) finds, on texts built from the edge characters."""
    shipped = sorted({p for _, _, p in LOCATIONS})
    texts = [*TEXTS]
    for a in TEXTS[:12]:
        for e in EDGES:
            texts += [a + e, e + a, a[:1] + e + a[1:]]
    wrong = []
    for pattern in [*shipped, *MORE_PATTERNS]:
        compiled = validation.compile_schema({"type": "string", "pattern": pattern})
        for text in [*texts, *_shipped_values(pattern)]:
            for t in (text, text + "\n", text + "\r\n"):
                ours = validation.ecma_regex(pattern).search(t) is not None
                if ours != compiled.is_valid(t):
                    wrong.append((pattern, t, ours))
    assert not wrong, wrong[:20]


def _shipped_values(pattern: str) -> Iterator[str]:
    for _, path, doc, p in CASES:
        if p == pattern:
            yield get(doc, path)


@pytest.mark.parametrize(
    "pattern", [r"\bx", r"\p{L}", r"(?<n>x)", r"[\S]", r"(a)\1", "[]", "[^]", "x\\", "[a", "^.$"]
)
def test_ecma_regex_refuses_what_it_cannot_translate(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        validation.ecma_regex(pattern)
