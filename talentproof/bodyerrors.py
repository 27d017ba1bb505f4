"""What is wrong with a JSON request body that FastAPI's validation refused, in one sentence.

The issuer's and the verifier's W3C VC API routes (`talentproof.issuer.api.routes.vc_api`,
`talentproof.verifier.vc_api`) both answer a malformed body by naming the member, what is wrong
with it and what was expected, never echoing the offending input; each wraps the sentence in its
own error body (the issuer's ``{"error", "message", "field"}``, the verifier's
``MalformedRequest``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["BodyError", "explain_body_error", "json_type", "model_members"]


def json_type(value: Any) -> str:
    """What kind of JSON value ``value`` is, as a sentence says it (``an object``, ``null``)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


def model_members(model: Any, path: Sequence[str]) -> list[str]:
    """The members (dotted from the top, ``path`` first, list indexes and all) that the object
    at ``path`` of a ``model`` body takes: a ``list[Entry]`` member's object is an ``Entry``;
    [] when the member at ``path`` is no pydantic model."""
    from pydantic import BaseModel  # noqa: PLC0415 (pydantic: only when a body is refused)

    for name in path:
        if name.isdigit():
            continue
        annotation: Any = model.model_fields[name].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]  # list[Entry] -> Entry
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return []
        model = inner
    prefix = "".join(f"{p}." for p in path)
    return [prefix + name for name in model.model_fields]


def _line_column(body: str | bytes | None, loc: Sequence[Any]) -> str:
    """ " at line L, column C" of a JSON syntax error at character ``loc[1]`` of ``body`` (as
    ``json.JSONDecodeError`` counts them), or "" when either is unknown."""
    pos = loc[1] if len(loc) > 1 else None
    if body is None or type(pos) is not int or pos < 0:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if pos > len(text):
        return ""
    line = text.count("\n", 0, pos) + 1
    return f" at line {line}, column {pos - text.rfind(chr(10), 0, pos)}"


@dataclass(frozen=True, slots=True)
class BodyError:
    """One refused body, explained: ``where`` is ``json`` (not JSON at all), ``body`` (the body
    as a whole: empty, or not an object) or ``member``; ``field`` the member's dotted path
    (list indexes kept; "" for the body); ``sentence`` what is wrong and what was expected."""

    where: Literal["json", "body", "member"]
    field: str
    sentence: str


def explain_body_error(
    model: Any,
    errors: Sequence[Mapping[str, Any]],
    expected: Mapping[str, str],
    body: str | bytes | None = None,
) -> BodyError:
    """The first of pydantic's ``errors`` (FastAPI's ``RequestValidationError.errors()``) of a
    ``model`` body, explained; ``expected`` says what each member is (dotted path without list
    indexes -> "a JSON object of options"), said when it is missing or malformed. ``body`` (the
    text FastAPI could not read: ``RequestValidationError.body``) lets a JSON syntax error name
    its line and column."""
    error = errors[0] if errors else {}
    loc = [str(p) for p in error.get("loc", ())][1:]  # after "body"
    kind = str(error.get("type", ""))
    shape = f"a JSON object {{{', '.join(model.model_fields)}}}"
    if kind == "json_invalid":
        why = str(error.get("ctx", {}).get("error", "a syntax error"))
        where = _line_column(body, error.get("loc", ())) if not why.startswith("duplicate") else ""
        return BodyError("json", "", f"the body is not JSON ({why}{where}): expected {shape}")
    if not loc:
        what = "empty" if kind == "missing" else json_type(error.get("input"))
        return BodyError("body", "", f"the body is {what}: expected {shape}")
    field = ".".join(loc)
    if kind == "extra_forbidden":
        takes = ", ".join(model_members(model, loc[:-1]))
        return BodyError(
            "member", field, f"{field}: not a member this endpoint takes (it takes {takes})"
        )
    said = expected.get(".".join(p for p in loc if not p.isdigit()))
    if kind == "missing":
        return BodyError("member", field, f"{field}: missing: expected {said or 'a value'}")
    why = f"expected {said}" if said else str(error.get("msg", "invalid"))
    return BodyError("member", field, f"{field}: {why}, got {json_type(error.get('input'))}")
