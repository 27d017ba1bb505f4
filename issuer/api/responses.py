"""Response classes and the rendering of a use case's `Outcome` as an HTTP answer."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from ..outcome import Outcome


class ORJSONResponse(JSONResponse):
    """JSON responses rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def respond(outcome: Outcome) -> Response:
    """``outcome`` (status, body, headers of a write) as a JSON response."""
    return ORJSONResponse(outcome.body, status_code=outcome.status_code, headers=outcome.headers)


def ok(body: dict[str, Any]) -> Outcome:
    """A write's answer: 200 with ``body``."""
    return Outcome(200, body, {})


def created(body: dict[str, Any], location: str | None = None) -> Outcome:
    """A write's answer: 201 with ``body`` (and the new resource's ``Location``)."""
    return Outcome(201, body, {"Location": location} if location else {})


def status_change(body: dict[str, Any]) -> Outcome:
    """A status change's answer: 200 once applied (with its transaction), else 202 (queued);
    ``Location`` its poll link."""
    return Outcome(200 if body["state"] == "applied" else 202, body, {"Location": body["poll"]})
