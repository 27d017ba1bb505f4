"""Response classes and the one rendering of a use case's result (`outcome.WriteOutcome`) as an HTTP
answer: its status code by kind, ``Location`` and ``Idempotent-Replayed``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from ..outcome import Kind, WriteOutcome

#: The HTTP status of each kind of write result.
STATUS: dict[Kind, int] = {Kind.DONE: 200, Kind.CREATED: 201, Kind.ACCEPTED: 202}


class ORJSONResponse(JSONResponse):
    """JSON responses rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def headers_of(outcome: WriteOutcome) -> dict[str, str]:
    """The extra headers of ``outcome``'s answer: ``Location`` (its link), then
    ``Idempotent-Replayed`` for a recorded answer given to a retry."""
    headers = {"Location": outcome.link} if outcome.link else {}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


def respond(outcome: WriteOutcome) -> Response:
    """``outcome`` (a write's result) as a JSON response."""
    return ORJSONResponse(
        outcome.body, status_code=STATUS[outcome.kind], headers=headers_of(outcome)
    )
