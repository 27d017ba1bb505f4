"""A compiled fast path for check 2 (structure and schema), judged by the credential package.

``talentproof.credential.model.validate_credential`` validates with ``jsonschema``, which costs
more than the signature check itself. First, each kind's shipped JSON Schema (draft 2020-12) is
compiled once with ``jsonschema-rs`` (Rust, the same draft, formats not asserted as in the
official validator; its anchored patterns are, if anything, stricter than Python's ``re``: ``$``
never matches before a final newline); a credential it accepts whose holder did:key decodes is
accepted (what the issuer service does before signing). Failing that, the schema is
translated exactly to draft 7 (``prefixItems`` -> array-form ``items``, ``items`` beside it ->
``additionalItems``; the schemas use no ``$ref``) and compiled once with ``fastjsonschema``.

The fast path only ever *accepts*: when the compiled validator (or any step here) finds a
problem, the credential package's own ``validate_credential`` runs and its answer (an accepted
kind, or the precise ``SchemaValidationError``) is the result. A schema using a keyword this
translation does not know is never compiled: its kind always goes to the official validator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import Any

from talentproof.credential import model as c_model
from talentproof.credential.keys import Ed25519PublicKey
from talentproof.credential.schemas import load_schema
from talentproof.credential.types import credential_kind

_SCHEMA_LIST = ("oneOf", "anyOf", "allOf")
_SCHEMA_ONE = ("contains", "not")
_PLAIN = {
    "type", "required", "pattern", "minLength", "maxLength", "const", "enum", "minItems",
    "maxItems", "minProperties", "maxProperties", "description", "title", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "uniqueItems", "default", "examples", "format",
}


class _Untranslatable(Exception):
    pass


def to_draft7(schema: Any) -> Any:
    """The draft-7 form of a draft 2020-12 schema (raises _Untranslatable on unknown keywords)."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping):
        raise _Untranslatable(f"schema node {schema!r:.40}")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$schema", "$id"):
            continue
        if key in _PLAIN:
            out[key] = value
        elif key == "properties":
            out[key] = {name: to_draft7(s) for name, s in value.items()}
        elif key == "additionalProperties":
            out[key] = to_draft7(value)
        elif key in _SCHEMA_LIST:
            out[key] = [to_draft7(s) for s in value]
        elif key in _SCHEMA_ONE:
            out[key] = to_draft7(value)
        elif key == "prefixItems":
            out["items"] = [to_draft7(s) for s in value]
            if "items" in schema:
                out["additionalItems"] = to_draft7(schema["items"])
        elif key == "items":
            if "prefixItems" not in schema:
                if isinstance(value, list):  # array-form items is not 2020-12
                    raise _Untranslatable("array-form items")
                out["items"] = to_draft7(value)
        else:
            raise _Untranslatable(key)
    return out


@cache
def _compiled(kind: str) -> Callable[[Any], Any] | None:
    try:
        import fastjsonschema

        schema = {"$schema": "http://json-schema.org/draft-07/schema#", **to_draft7(load_schema(kind))}
        return fastjsonschema.compile(schema)
    except (_Untranslatable, ImportError, Exception):  # noqa: BLE001 - any doubt: official path
        return None


@cache
def _rs_validator(kind: str) -> Any:
    """The kind's schema compiled with jsonschema-rs (None if unavailable)."""
    try:
        from talentproof.credential.schemas import compiled_validator

        return compiled_validator(kind)
    except Exception:  # noqa: BLE001 - any doubt: the other paths decide
        return None


@lru_cache(maxsize=4096)
def _did_key_ok(did: str) -> bool:
    """True when ``did`` decodes as an Ed25519 did:key (a pure function of the string: cached,
    holders recur across a folder and within an application)."""
    try:
        Ed25519PublicKey.from_did_key(did)
    except Exception:  # noqa: BLE001 - any problem: let the official validator explain it
        return False
    return True


def _holder_ok(subject: Any) -> bool:
    if not isinstance(subject, Mapping):
        return False
    sid = subject.get("id")
    if not isinstance(sid, str) or "#" in sid:
        return False
    return _did_key_ok(sid)


def validate_credential(doc: Any) -> str:
    """The credential's kind, or the credential package's SchemaValidationError."""
    try:
        c_model.check_vc_structure(doc, "VerifiableCredential")
        kind = credential_kind(doc)
        rs = _rs_validator(kind)
        if rs is not None and rs.is_valid(doc) and _holder_ok(doc.get("credentialSubject")):
            return kind
        check = _compiled(kind)
        if check is not None:
            check(doc)
            if _holder_ok(doc.get("credentialSubject")):
                return kind
    except Exception:  # noqa: BLE001, S110 - the official validator decides and explains
        pass
    return c_model.validate_credential(doc)
