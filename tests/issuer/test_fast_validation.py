"""The compiled-schema path never accepts what the reference validator refuses.

`credential.validation.validate_credential` (what the issuer runs) checks a document with
jsonschema-rs first and only asks the reference (`reference_validate_credential`, jsonschema)
when that rejects it. Where the two regex engines disagree
(`\\s` once matched different characters in each), the fast path would be fail-open; this test
mutates every string leaf of a valid credential of each kind with characters on which engines
commonly differ and requires the fast path to refuse whatever the reference refuses.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.validation import reference_validate_credential as validate_credential
from talentproof.credential.validation import validate_credential as fast_validate

from ..credential._cred_support import BUILDERS

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32)))

TRICKY = [
    "",
    " ",
    "a b",
    "urn:a\x1cb",
    "urn:a\x85b",
    "urn:a\xa0b",
    "urn:a\u2003b",
    "urn:a\u3000b",
    "urn:a\ufeffb",
    "urn:a\tb",
    "urn:a\nb",
    "x\x00y",
    "Ünïcødé",
    "\U0001f600",
    "2026-13-01",
    "2026-01-01T00:00:00",
    "2026-01-01T25:00:00Z",
    "did:key:z6Mk",
    "not-a-uri",
]


def _string_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _string_paths(value, (*path, index))
    elif isinstance(node, str):
        yield path


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def _accepts(check: Any, doc: dict[str, Any]) -> bool:
    try:
        check(doc)
    except CredentialError:
        return False
    return True


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_fast_path_refuses_everything_the_reference_refuses(kind: str) -> None:
    base = BUILDERS[kind](HOLDER.public_key.did_key)
    assert _accepts(fast_validate, base) and _accepts(validate_credential, base)
    paths = [p for p in _string_paths(base) if p[:1] != ("type",)]
    assert len(paths) > 10
    refused_by_reference = 0
    for path in paths:
        for value in TRICKY:
            doc = copy.deepcopy(base)
            _set(doc, path, value)
            reference = _accepts(validate_credential, doc)
            refused_by_reference += not reference
            if not reference:
                assert not _accepts(fast_validate, doc), (path, value)
    assert refused_by_reference > len(paths)  # the mutations do exercise refusals
