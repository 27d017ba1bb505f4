"""The JSON Schemas of the TalentProof credential kinds (shipped as package data).

Each credential references its schema from ``credentialSchema`` by the schema's stable ``$id``
(``https://talentproof.org/schemas/<kind>-v1.json``); verifiers use the copy shipped here and
never fetch it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..errors import SchemaValidationError
from ..types import DEGREE, EMPLOYMENT, KINDS, OPEN_BADGE

__all__ = ["SCHEMA_FILES", "SCHEMA_IDS", "load_schema", "schema_id"]

SCHEMA_FILES: dict[str, str] = {
    DEGREE: "degree-credential-v1.json",
    EMPLOYMENT: "employment-credential-v1.json",
    OPEN_BADGE: "open-badge-credential-v1.json",
}
SCHEMA_BASE = "https://talentproof.org/schemas/"
SCHEMA_IDS: dict[str, str] = {kind: SCHEMA_BASE + name for kind, name in SCHEMA_FILES.items()}


def schema_id(kind: str) -> str:
    """The stable https id of a kind's schema (the ``credentialSchema.id`` value)."""
    if kind not in SCHEMA_IDS:
        raise SchemaValidationError("type", f"one of {list(KINDS)}", kind)
    return SCHEMA_IDS[kind]


@cache
def _load(kind: str) -> str:
    return resources.files(__name__).joinpath(SCHEMA_FILES[kind]).read_text(encoding="utf-8")


def load_schema(kind: str) -> dict[str, Any]:
    """A fresh copy of the JSON Schema (draft 2020-12) of a credential kind."""
    schema_id(kind)
    schema: dict[str, Any] = json.loads(_load(kind))
    return schema
