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
