"""A guardrail for the C row recognizer (credential/native_sign.c, ``recognizer``): it signs a
subject-only bulk record only when it can show that the Python path would sign the same bytes,
so it repeats a few of that path's rules in C. The subject's schema is compiled from the schema
itself at run time (`template.native_schema`), but the rules below are written out in C. When one
of them changes, the C must change with it, or it keeps signing rows that Python now refuses; the
differential tests (tests/issuer/test_bulk_native_sign_records.py) catch that only for the cases
they cover. This test pins each rule's source text: it fails on any edit, naming the C to review,
and the pinned digest is updated in the same commit as the C."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (the file, the function) -> (its source's SHA-256 prefix, the C that repeats it)
MIRRORED: dict[tuple[str, str], tuple[str, str]] = {
    ("credential/issuance/plain.py", "bind_subject"): (
        "e395aca180461579",
        "native_sign.c `bind` (the party: the issuer's DID and exactly its registered name)",
    ),
    ("credential/claims.py", "subject_facts_ok"): (
        "f07239dcd6c7635e",
        "native_sign.c `facts_ok` (EARLIEST_BIRTH, today, start and end)",
    ),
    ("credential/validation.py", "is_holder_did"): (
        "8c31c566ccb01c44",
        "native_sign.c `holder_ok` and pattern P_HOLDER",
    ),
    ("credential/types.py", "degree_level"): (
        "124153e073591994",
        "native_sign.c's level path (template.native_recognizer's (b'degree', b'level'))",
    ),
    ("issuer/_bulkworker.py", "_level_refused"): (
        "29a58e5888b832a1",
        "native_sign.c `issue_record`'s accredited levels",
    ),
}


def _source(path: str, name: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            segment = ast.get_source_segment(text, node)
            assert segment is not None
            return segment
    raise AssertionError(f"{path} no longer defines {name}: review the C that repeats it")


@pytest.mark.parametrize(("path", "name"), sorted(MIRRORED))
def test_rules_the_c_recognizer_repeats_are_unchanged(path: str, name: str) -> None:
    pinned, where = MIRRORED[(path, name)]
    digest = hashlib.sha256(_source(path, name).encode()).hexdigest()[:16]
    assert digest == pinned, (
        f"{path}:{name} changed: review {where} so that the C row recognizer answers None for "
        "every row the new rule refuses, add the case to "
        f"tests/issuer/test_bulk_native_sign_records.py, then pin {digest} here"
    )
