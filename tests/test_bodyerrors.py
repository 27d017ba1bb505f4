"""`talentproof.bodyerrors.explain_body_error`, the one explanation of a refused JSON body that
the issuer's and the verifier's VC API routes give (their own tests check the routes): each kind
of pydantic error, on a real model, said with the member, what was expected and no input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from talentproof.bodyerrors import BodyError, explain_body_error, json_type


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    status: str


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credentialId: str
    credentialStatus: list[Entry]


EXPECTED = {"credentialId": "a string id", "credentialStatus.status": "revoked or suspended"}


def _explain(body: Any) -> BodyError:
    with pytest.raises(ValidationError) as info:
        Request.model_validate(body)
    errors = [{**e, "loc": ("body", *e["loc"])} for e in info.value.errors()]
    return explain_body_error(Request, errors, EXPECTED)


def test_each_kind_of_refusal_names_the_member_and_what_was_expected() -> None:
    shape = "a JSON object {credentialId, credentialStatus}"
    entry = {"type": "T", "status": "revoked"}
    assert _explain({"credentialStatus": [entry]}) == BodyError(
        "member", "credentialId", "credentialId: missing: expected a string id"
    )
    assert _explain({"credentialId": 7, "credentialStatus": [entry]}) == BodyError(
        "member", "credentialId", "credentialId: expected a string id, got a number"
    )
    extra = {"credentialId": "x", "credentialStatus": [{**entry, "secret": "s3cr3t"}]}
    said = _explain(extra)
    assert said == BodyError(
        "member",
        "credentialStatus.0.secret",
        "credentialStatus.0.secret: not a member this endpoint takes (it takes "
        "credentialStatus.0.type, credentialStatus.0.status)",
    )
    assert "s3cr3t" not in said.sentence
    missing = _explain({"credentialId": "x", "credentialStatus": [{"type": "T"}]})
    assert missing.sentence == "credentialStatus.0.status: missing: expected revoked or suspended"
    whole = [{"type": "model_type", "loc": ("body",), "input": [1]}]
    assert explain_body_error(Request, whole, EXPECTED) == BodyError(
        "body", "", f"the body is an array: expected {shape}"
    )
    empty = [{"type": "missing", "loc": ("body",), "input": None}]
    assert explain_body_error(Request, empty, EXPECTED).sentence == (
        f"the body is empty: expected {shape}"
    )
    broken = [{"type": "json_invalid", "loc": ("body", 1), "ctx": {"error": "Expecting value"}}]
    assert explain_body_error(Request, broken, EXPECTED) == BodyError(
        "json", "", f"the body is not JSON (Expecting value): expected {shape}"
    )
    assert [json_type(v) for v in (True, 1.5, None, {}, [], "s")] == [
        "a boolean",
        "a number",
        "null",
        "an object",
        "an array",
        "a string",
    ]
