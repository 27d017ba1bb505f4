"""JSON request bodies of the verifier service read as strictly as every other input.

Check 1 refuses a document with a duplicate key: a parser that keeps the first value and one
that keeps the last would read two different documents (a ``"level": "doctorate"`` written
before the signed ``"level": "bachelor"``). The CLI, the QR payloads and the OpenID4VP
``vp_token`` read JSON with `engine.parse_json`, which refuses duplicates; FastAPI reads a JSON
body with ``json.loads``, which keeps the last value. `StrictJsonRoute` makes a route's JSON body
go through `parse_json` too: a duplicate key anywhere in the body is FastAPI's ``json_invalid``
error (422 ``detail`` on ``/api/v1``, 400 ``PARSING_ERROR`` on the VC API), naming the key.
Any other body is read, and refused, exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from talentproof.verifier.engine import parse_json
from talentproof.verifier.errors import InputError


class StrictJsonRequest(Request):
    """A request whose ``json()`` refuses duplicate keys (`json.JSONDecodeError`)."""

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            body = await self.body()
            try:
                data = parse_json(body, what="the body", limit=len(body))
            except InputError as exc:
                cause = exc.__cause__
                if _duplicate(cause):
                    doc = body.decode("utf-8", "replace")
                    raise json.JSONDecodeError(str(cause), doc, 0) from exc
                data = await super().json()  # any other fault: refused as it always was
            self._strict_json = data
        return self._strict_json


def _duplicate(cause: BaseException | None) -> bool:
    """Whether `parse_json` refused a duplicate key (its hook's ``ValueError``)."""
    return (
        isinstance(cause, ValueError)
        and not isinstance(cause, json.JSONDecodeError)
        and str(cause).startswith("duplicate key")
    )


class StrictJsonRoute(APIRoute):
    """An API route whose JSON body is read by `StrictJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler


__all__ = ["StrictJsonRequest", "StrictJsonRoute"]
