"""Errors rendered as HTTP answers, in one place.

Every error a use case raises is an `issuer.errors.IssuerError` leaf, whose class line states its
error code; its HTTP status is chosen here, by type (`HTTP_STATUS`, `http_status`), and
`error_answer` is the one place that turns it into an answer
(``{"error": code, "message": ..., "field": ...}``, with ``Retry-After`` where a retry may help),
for the routes, the ``POST /credentials`` fast path and the request limits (`api.limits`) alike.
FastAPI's request validation errors and an oversized body are rendered here too.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from ..errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    IssuerError,
    LedgerUnavailable,
    NotAccredited,
    NotFound,
    NotReady,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from ..usecases.oid4vci import InvalidToken, OAuthError
from .responses import ORJSONResponse

#: The HTTP status of each domain error type; a type not listed takes its nearest listed base's
#: (`InstitutionSuspended` a `Forbidden`: 403; `IdempotencyKeyReused` a `Conflict`: 409; any
#: other `IssuerError`: 500).
HTTP_STATUS: dict[type[IssuerError], int] = {
    IssuerError: 500,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    UnsupportedMediaType: 415,
    InvalidRequest: 422,
    NotAccredited: 403,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    LedgerUnavailable: 503,
    NotReady: 503,
    OAuthError: 400,
    InvalidToken: 401,
}


def http_status(error: IssuerError | type[IssuerError]) -> int:
    """The HTTP status of a domain error (or error type): `HTTP_STATUS` of its nearest listed
    class."""
    cls = error if isinstance(error, type) else type(error)
    for klass in cls.__mro__:
        status = HTTP_STATUS.get(klass)
        if status is not None:
            return status
    return 500


def error_answer(exc: IssuerError) -> tuple[int, dict[str, str], dict[str, Any]]:
    """``(status, headers, JSON body)`` of a domain error: its status (`http_status`), its code
    (from its class line), message and field; ``Retry-After`` its own delay, or 5 s for a service unavailable.

    An OpenID4VCI / OAuth refusal (`OAuthError`) is the protocol's ``{"error",
    "error_description"}``, not stored (``Cache-Control: no-store``), with ``WWW-Authenticate``
    for a bad access token (RFC 6750). A failed readiness check (`NotReady`) is the readiness
    answer's own form, ``{"status": "unavailable", "database": ...}``, without Retry-After."""
    if isinstance(exc, NotReady):
        return http_status(exc), {}, {"status": "unavailable", "database": exc.message}
    if isinstance(exc, OAuthError):
        oauth_headers = {"Cache-Control": "no-store"}
        if isinstance(exc, InvalidToken):
            oauth_headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return (
            http_status(exc),
            oauth_headers,
            {"error": exc.error, "error_description": exc.message},
        )
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    if getattr(exc, "field", None):
        body["field"] = exc.field  # type: ignore[attr-defined]
    status = http_status(exc)
    headers = {"Retry-After": "5"} if status == 503 else {}
    if getattr(exc, "retry_after", None):
        headers = {"Retry-After": str(exc.retry_after)}  # type: ignore[attr-defined]
    return status, headers, body


def render_issuer_error(exc: IssuerError) -> Response:
    """The JSON response of a domain error (`error_answer`)."""
    status, headers, body = error_answer(exc)
    return ORJSONResponse(body, status_code=status, headers=headers or None)


def render_validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A request FastAPI's validation refused: 422 naming the first field (415 for a body that
    is not sent as JSON)."""
    body_errors = [e for e in exc.errors() if tuple(e.get("loc", ())) == ("body",)]
    if body_errors:  # the body as a whole is not a JSON object (fields come with a path)
        content_type = request.headers.get("content-type", "")
        media = content_type.partition(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            # e.g. `curl -d` without `-H`: a form body, never read as JSON
            return render_issuer_error(
                UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json "
                    f"(got Content-Type: {content_type[:100]})"
                )
            )
        missing = body_errors[0].get("type") == "missing"
        return ORJSONResponse(
            {
                "error": "invalid_request",
                "message": "send the body as a JSON object with Content-Type: "
                "application/json ("
                + ("the body is empty" if missing else "the body is not a JSON object")
                + ")",
                "field": "",
                "details": [
                    {"type": str(e.get("type", "")), "loc": ["body"], "msg": str(e.get("msg"))}
                    for e in body_errors
                ],
            },
            status_code=422,
        )
    json_errors = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if json_errors:  # FastAPI's loc is ("body", character offset): not a field
        error = json_errors[0]
        offset = error.get("loc", ("body", "?"))[-1]
        reason = (error.get("ctx") or {}).get("error", error.get("msg", "invalid"))
        return ORJSONResponse(
            {
                "error": "invalid_request",
                "message": f"the body is not valid JSON (at character {offset}: {reason}); "
                "expected a JSON object with Content-Type: application/json",
                "field": "",
                "details": [{"type": "json_invalid", "loc": ["body"], "msg": str(reason)}],
            },
            status_code=422,
        )
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    expected = _expected(request, tuple(first.get("loc", ())))
    return ORJSONResponse(
        {
            "error": "invalid_request",
            "message": f"{field or 'request'}: {first.get('msg', 'invalid')}"
            + (f" (expected: {expected})" if expected else ""),
            "field": field,
            # the offending input is not echoed back: it may be huge, unserializable (ints
            # past 64 bits) or personal data
            "details": [
                {
                    "type": str(e.get("type", "")),
                    "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                    "msg": str(e.get("msg", "")),
                }
                for e in exc.errors()
            ],
        },
        status_code=422,
    )


def _expected(request: Request, loc: tuple[Any, ...]) -> str | None:
    """What a body field takes, for a refusal naming it: the description of a top-level field of
    the route's body model (``POST /credentials``' ``type``: "DegreeCredential,
    EmploymentCredential or OpenBadgeCredential"), else None. The fast path hands a body the
    model refuses to this route, so both answer with it."""
    if len(loc) != 2 or loc[0] != "body" or not isinstance(loc[1], str):
        return None
    body_field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    fields = getattr(model, "model_fields", None)
    if not isinstance(model, type) or not isinstance(fields, dict) or loc[1] not in fields:
        return None
    description = fields[loc[1]].description
    return description or None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of this module on ``app``."""
    # import cycle: limits renders its errors through this module
    from .limits import BodyOverflow, overflow_response  # noqa: PLC0415 (import cycle)

    @app.exception_handler(BodyOverflow)
    async def _body_overflow(_request: Request, exc: BodyOverflow) -> Response:
        status, headers, body = overflow_response(exc)
        return Response(body, status_code=status, headers=headers)

    @app.exception_handler(IssuerError)
    async def _issuer_error(_request: Request, exc: IssuerError) -> Response:
        return render_issuer_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return render_validation_error(request, exc)
