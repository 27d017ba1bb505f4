"""The shared rules of the two schema compilers (credential/schema_forms.py): what one declines,
the other declines too, and a pattern that is not a known pattern's text is never "no pattern".
Before the rules were shared, `native_form` read ``"pattern": null`` as no pattern (a schema
jsonschema-rs refuses to compile) and `native_schema` raised TypeError on a list pattern."""

from __future__ import annotations

import jsonschema_rs
import pytest

from talentproof.credential.issuance.template import native_schema
from talentproof.credential.schema_forms import DATETIME_PATTERN, NATIVE_PATTERNS, P_DATETIME
from talentproof.credential.validation import native_form


@pytest.mark.parametrize("pattern", [None, ["^a$"], 1, "^a$", {}])
def test_both_compilers_decline_a_pattern_they_do_not_match(pattern: object) -> None:
    schema = {"type": "string", "pattern": pattern}
    assert native_form(schema) is None
    assert native_schema(schema) is None


def test_a_null_pattern_is_no_schema_at_all() -> None:
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validator_for({"type": "string", "pattern": None})


@pytest.mark.parametrize("code", sorted(NATIVE_PATTERNS.values()))
def test_both_compilers_give_a_known_pattern_its_code(code: int) -> None:
    pattern = next(p for p, c in NATIVE_PATTERNS.items() if c == code)
    schema = {"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 9}
    assert native_form(schema) == native_schema(schema) == (1, 1, 9, code)


def test_only_the_verifier_takes_the_datetime_pattern() -> None:
    schema = {"type": "string", "pattern": DATETIME_PATTERN}
    assert native_form(schema) == (1, 0, -1, P_DATETIME)
    assert native_schema(schema) is None


@pytest.mark.parametrize("bound", [-2, 1.0, True, None, "1"])
def test_both_compilers_decline_a_size_that_is_not_an_int_of_at_least_minus_one(
    bound: object,
) -> None:
    for key, schema in (
        ("minLength", {"type": "string"}),
        ("maxLength", {"type": "string"}),
        ("minItems", {"type": "array", "items": {"type": "string"}}),
        ("maxItems", {"type": "array", "items": {"type": "string"}}),
    ):
        assert native_form({**schema, key: bound}) is None
        assert native_schema({**schema, key: bound}) is None
