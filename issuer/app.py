"""The issuer's HTTP API (FastAPI). Routes translate HTTP to :class:`IssuerService` calls.

Authentication: ``Authorization: Bearer tpk_<id>_<secret>`` (institution or operator key).
Errors are JSON ``{"error": code, "message": ..., "field": ...}`` with the status of the
`IssuerError` leaf; write endpoints honour ``Idempotency-Key``.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from .auth import Principal
from .errors import IssuerError, UnsupportedMediaType
from .service import IssuerService, Outcome, fingerprint

_logger = logging.getLogger(__name__)


class ORJSONResponse(JSONResponse):
    """JSON responses rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# -- request schemas (with OpenAPI examples) -------------------------------------------------

_SUBJECT_EXAMPLE = {
    "id": "did:example:holder-1",
    "name": "Chan Tai Man",
    "degree": {
        "type": "MasterDegree",
        "name": "MSc Financial Technology",
        "level": "master",
        "field": "Financial Technology",
    },
}


class IssueRequest(BaseModel):
    """One credential to issue: its type and subject (validated against the type's schema)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "DegreeCredential",
                    "credentialSubject": _SUBJECT_EXAMPLE,
                    "validFrom": "2026-07-01T00:00:00Z",
                }
            ]
        },
    )

    type: str = Field(description="DegreeCredential, EmploymentCredential or OpenBadgeCredential")
    credentialSubject: dict[str, Any]
    validFrom: str | None = None
    validUntil: str | None = None
    name: str | None = None
    description: str | None = None


class ReasonRequest(BaseModel):
    """Why a credential's status changes (recorded; required, non-blank: 422 naming
    ``reason`` otherwise)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "issued in error"}]})
    reason: str = Field(default="", max_length=2000, description="required, non-blank")


class StatusChangeRequest(BaseModel):
    """A batch revocation, suspension or reinstatement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "revoke",
                    "credential_ids": ["urn:uuid:0b6f..."],
                    "reason": "degree rescinded",
                }
            ]
        }
    )
    action: Literal["revoke", "suspend", "reinstate"]
    credential_ids: list[str] = Field(min_length=1, max_length=10_000)
    reason: str = Field(default="", max_length=2000, description="required, non-blank")


class OnboardRequest(BaseModel):
    """An institution to onboard (registered on chain unless ``chain_issuer_id`` links one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "University of Hong Kong",
                    "slug": "hku",
                    "credential_types": ["DegreeCredential", "OpenBadgeCredential"],
                }
            ]
        }
    )
    name: str = Field(min_length=1, max_length=256)
    slug: str = Field(max_length=64)
    credential_types: list[str] = Field(max_length=16)
    chain_issuer_id: int | None = Field(default=None, ge=1, le=2**32 - 1)
    did: str | None = Field(
        default=None,
        max_length=512,
        description="The institution's own did:web (e.g. did:web:osl.com); default: the "
        "did:web derived from this service's public URL and the slug",
    )


class ApiKeyRequest(BaseModel):
    """A new API key's scopes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scopes": ["read"], "name": "audit"}]}
    )
    scopes: list[str] = Field(max_length=8)
    name: str = Field(default="", max_length=128)


class CredentialTypesRequest(BaseModel):
    """Accredited types to grant or withdraw (sent to the chain by a governor)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"grant": ["OpenBadgeCredential"], "withdraw": []}]}
    )
    grant: list[str] = Field(default_factory=list, max_length=16)
    withdraw: list[str] = Field(default_factory=list, max_length=16)


class InstitutionStatusRequest(BaseModel):
    """Suspend or reactivate an institution's access."""

    status: Literal["active", "suspended"]


# -- issuance: group commit and the fast path ------------------------------------------------------


class _IssueGroups:
    """``POST /credentials`` requests of one event-loop step issued together
    (`IssuerService.issue_group`: one commit for all, as a database's group commit).

    A request joins the open group and awaits its answer; the group is issued by a callback
    queued behind the steps that are ready now, so every request whose step runs in this round
    joins it (at most ``max_group``; the rest start the next group). Under load the requests of
    all the connections in flight share one transaction, one writer-lock hold and one commit,
    instead of one each; alone, a request is issued in the same step it arrived.
    """

    def __init__(self, service: IssuerService, max_group: int = 64) -> None:
        self.service = service
        self.max_group = max_group
        self._open: list[tuple[Any, str | None, dict[str, Any], asyncio.Future[Any]]] = []
        self._scheduled = False

    def issue(
        self, caller: Any, key: str | None, request: dict[str, Any]
    ) -> asyncio.Future[Outcome]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Outcome] = loop.create_future()
        self._open.append((caller, key, request, answer))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._issue_open)
        return answer

    def _issue_open(self) -> None:
        group, self._open = self._open[: self.max_group], self._open[self.max_group :]
        if self._open:
            asyncio.get_running_loop().call_soon(self._issue_open)
        else:
            self._scheduled = False
        try:
            results: list[Any] = self.service.issue_group(
                [(caller, key, request) for caller, key, request, _ in group]
            )
        except Exception as exc:  # noqa: BLE001  (the database failed: the whole group fails)
            results = [exc] * len(group)
        for (_caller, _key, _request, answer), result in zip(group, results, strict=True):
            if answer.done():
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)


_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")


class _IssueFastPath:
    """``POST /credentials`` answered without FastAPI's per-request machinery (dependency
    resolution, request and response objects: about a third of the CPU of an issuance).

    Only the common, well-formed case is taken here: a JSON body that `IssueRequest` accepts and
    an ``Authorization: Bearer`` header. Anything else (no or another kind of credentials, another
    content type, a body the schema refuses) is handed, body and all, to the FastAPI route, which
    answers exactly as it always has. Both paths issue through the same group commit
    (`_IssueGroups`, `IssuerService.issue_group`) and render its errors with the same handler;
    the route stays in the OpenAPI document. It sits inside `RequestLimits` (body size, and
    the rate limits by API key id or client address that every route gets).
    """

    def __init__(
        self,
        app: Any,
        *,
        service: IssuerService,
        groups: _IssueGroups,
        render_error: Any,
    ) -> None:
        self.app = app
        self.service = service
        self.groups = groups
        self.render_error = render_error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/credentials":
            await self.app(scope, receive, send)
            return
        authorization = idempotency_key = content_type = None
        for name, value in scope["headers"]:  # the first of repeated headers, as Starlette
            if name == b"authorization":
                authorization = authorization if authorization is not None else value
            elif name == b"idempotency-key":
                idempotency_key = idempotency_key if idempotency_key is not None else value
            elif name == b"content-type":
                content_type = content_type if content_type is not None else value
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        request: dict[str, Any] | None = None
        token = b""
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            token = authorization[7:].strip()
        if token and content_type is not None and content_type.lower() in _JSON_TYPES:
            try:
                request = IssueRequest.model_validate_json(body).model_dump(exclude_none=True)
            except ValueError:  # pydantic's ValidationError: the route names the field
                request = None
        if request is None:
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        service = self.service
        try:
            caller = service.authenticate(token.decode("latin-1"))
            outcome = await self.groups.issue(
                caller,
                idempotency_key.decode("latin-1") if idempotency_key is not None else None,
                request,
            )
        except IssuerError as exc:
            response = self.render_error(exc)
            await response(scope, receive, send)
            return
        payload = orjson.dumps(outcome.body)
        headers = [
            (b"content-length", str(len(payload)).encode()),
            (b"content-type", b"application/json"),
        ]
        headers.extend(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in outcome.headers.items()
        )
        await send(
            {"type": "http.response.start", "status": outcome.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})


# -- app ---------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="API key: tpk_<id>_<secret>")


def create_app(
    service: IssuerService,
    *,
    run_worker: bool | None = None,
    freeze_gc: bool = False,
    watch_ledger: bool = True,
) -> FastAPI:
    """The FastAPI application over ``service``; the anchoring and bulk workers run inside it
    unless ``run_worker`` is false (default: the settings' ``run_worker``).

    ``watch_ledger``: run the service's ledger status watch (`chain.IssuerStateWatch`), which
    records the institutions' ledger status for issuance to refuse suspended ones; false in the
    HTTP processes of ``serve --workers N``, whose supervisor runs the one watch.

    ``freeze_gc`` (what ``talentproof issuer serve`` sets): at start-up, warm the service up,
    freeze the heap out of the garbage collector's reach and record its pauses
    (`observability.freeze_after_warm_up`, `observability.GC_PAUSES`).
    """
    from .anchoring import AnchorWorker
    from .bulk import BulkRunner

    start_workers = service.settings.run_worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = AnchorWorker(service)
        bulk = BulkRunner(service)
        _app.state.worker = worker
        _app.state.bulk = bulk
        if freeze_gc:
            from .observability import GC_PAUSES, freeze_after_warm_up

            service.warm_up()
            freeze_after_warm_up()
            GC_PAUSES.install()
        if watch_ledger:
            service.ledger_watch.ensure_running()  # institutions' ledger status, for issuance
        if start_workers:
            worker.start()
            bulk.start()
        try:
            yield
        finally:
            if start_workers:
                bulk.stop()
                worker.stop()

    app = FastAPI(
        title="TalentProof issuer",
        version="0.1.0",
        description=__doc__,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.service = service
    from .limits import BodyOverflow, LimitSettings, RequestLimits, overflow_response

    def render_issuer_error(exc: IssuerError) -> Response:
        body: dict[str, Any] = {"error": exc.code, "message": exc.message}
        if getattr(exc, "field", None):
            body["field"] = exc.field  # type: ignore[attr-defined]
        headers = {"Retry-After": "5"} if exc.status_code == 503 else None
        if getattr(exc, "retry_after", None):
            headers = {"Retry-After": str(exc.retry_after)}  # type: ignore[attr-defined]
        return ORJSONResponse(body, status_code=exc.status_code, headers=headers)

    # inner first: the fast path runs inside the request limits
    groups = _IssueGroups(service)
    app.state.issue_groups = groups
    app.add_middleware(
        _IssueFastPath, service=service, groups=groups, render_error=render_issuer_error
    )
    # rate limits by principal (API key id once authenticated, else client address): one rule
    # in front of both paths of POST /credentials and every route
    app.add_middleware(
        RequestLimits,
        limits=LimitSettings.from_settings(service.settings),
        authenticate=service.authenticate,
    )

    @app.exception_handler(BodyOverflow)
    async def _body_overflow(_request: Request, exc: BodyOverflow) -> Response:
        status, headers, body = overflow_response(exc)
        return Response(body, status_code=status, headers=headers)

    @app.exception_handler(IssuerError)
    async def _issuer_error(_request: Request, exc: IssuerError) -> Response:
        return render_issuer_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
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
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return ORJSONResponse(
            {
                "error": "invalid_request",
                "message": f"{field or 'request'}: {first.get('msg', 'invalid')}",
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

    async def principal(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # cached for a few seconds, so it runs on the event loop without a thread hop
        return service.authenticate(creds.credentials if creds else None)

    Caller = Annotated[Principal, Depends(principal)]
    IdemKey = Annotated[
        str | None,
        Header(
            alias="Idempotency-Key", description="Retries with the same key never repeat the write."
        ),
    ]

    def respond(outcome: Outcome) -> Response:
        return ORJSONResponse(
            outcome.body, status_code=outcome.status_code, headers=outcome.headers
        )

    # -- health ---------------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database, ledger, anchoring backlog",
        responses={
            200: {
                "content": {
                    "application/json": {
                        "example": {
                            "status": "degraded",
                            "database": "ok",
                            "chain": {"available": False, "detail": "ledger unreachable"},
                            "anchoring": {
                                "pending_credentials": 12,
                                "unconfirmed_batches": 0,
                                "note": "issuance is accepted and queued",
                            },
                        }
                    }
                }
            }
        },
    )
    def readyz() -> Response:
        try:
            body = service.readiness()
        except SQLAlchemyError as exc:  # database down
            return ORJSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
        return ORJSONResponse(body, status_code=200)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        from .observability import exposition

        return Response(exposition(service.metrics), media_type=CONTENT_TYPE_LATEST)

    # -- publication ----------------------------------------------------------------------------
    @app.get(
        "/institutions/{slug}/did.json",
        tags=["publication"],
        summary="The institution's did:web document (its signing keys)",
    )
    def did_json(slug: str) -> dict[str, Any]:
        return service.did_document(slug)

    @app.get(
        "/institutions/{slug}/status/{purpose}",
        tags=["publication"],
        summary="Bitstring Status List credential (revocation or suspension), from chain state",
    )
    def status_list(slug: str, purpose: str) -> Response:
        result = service.status_list(slug, purpose)
        return ORJSONResponse(
            result["credential"],
            headers={
                "X-TalentProof-Ledger-State": result["ledgerState"],
                "Cache-Control": "max-age=60",
            },
        )

    # -- issuance ---------------------------------------------------------------------------------
    @app.post(
        "/credentials",
        tags=["credentials"],
        status_code=202,
        summary="Issue one credential (signed, persisted, queued for anchoring)",
        responses={
            202: {"description": "Accepted: pending anchor; poll the anchor link"},
            403: {
                "description": "Key lacks 'issue', type not accredited, or the institution is "
                "suspended (here: institution_suspended) or removed on the ledger"
            },
            422: {"description": "Schema violation naming the field"},
        },
    )
    async def issue(
        payload: IssueRequest, caller: Caller, idempotency_key: IdemKey = None
    ) -> Response:
        # Well-formed requests are answered by `_IssueFastPath` before they get here; this
        # route answers the rest (and documents the endpoint), through the same group commit.
        # The ledger is never called here.
        body = payload.model_dump(exclude_none=True)
        return respond(await groups.issue(caller, idempotency_key, body))

    @app.get("/credentials", tags=["credentials"], summary="List the institution's credentials")
    def list_credentials(
        caller: Caller,
        limit: int = Query(100, ge=1, le=1000),
        after: int = Query(0, ge=0, le=2**63 - 1, description="seq cursor (next_after)"),
    ) -> dict[str, Any]:
        return service.list_credentials(caller, limit=limit, after=after)

    @app.get(
        "/credentials/{credential_id}",
        tags=["credentials"],
        summary="The credential JSON (with its anchor proof once anchored)",
    )
    def get_credential(credential_id: str, caller: Caller) -> dict[str, Any]:
        return service.get_credential(caller, credential_id)

    @app.get(
        "/credentials/{credential_id}/anchor",
        tags=["credentials"],
        summary="Anchor status: pending_anchor or anchored, batch, tx, revocation",
    )
    def anchor_status(credential_id: str, caller: Caller) -> dict[str, Any]:
        return service.anchor_status(caller, credential_id)

    @app.get(
        "/credentials/{credential_id}/qr.png",
        tags=["credentials"],
        response_class=Response,
        summary="QR code (PNG) of the anchored credential",
    )
    def qr_png(credential_id: str, caller: Caller) -> Response:
        return Response(service.qr(caller, credential_id, "png"), media_type="image/png")

    @app.get(
        "/credentials/{credential_id}/qr.svg",
        tags=["credentials"],
        response_class=Response,
        summary="QR code (SVG) of the anchored credential",
    )
    def qr_svg(credential_id: str, caller: Caller) -> Response:
        return Response(service.qr(caller, credential_id, "svg"), media_type="image/svg+xml")

    def _status_route(action: str) -> Any:
        def change(
            credential_id: str, body: ReasonRequest, caller: Caller, idempotency_key: IdemKey = None
        ) -> Response:
            fp = fingerprint(action, credential_id, body.reason)
            return respond(
                service.idempotent(
                    caller,
                    idempotency_key,
                    fp,
                    lambda _s: service.change_status(caller, action, [credential_id], body.reason),
                    external=True,
                )
            )

        change.__name__ = f"{action}_credential"
        return change

    _status_responses: dict[int | str, dict[str, Any]] = {
        200: {"description": "Applied on chain within the short wait (txHash given)"},
        202: {
            "description": "Accepted and queued durably; applied in order by the worker (poll "
            "the status change, or GET /credentials/{id}/anchor)"
        },
        403: {"description": "Reinstatement by an institution suspended or removed on the ledger"},
        409: {"description": "Credential already revoked / suspended / not suspended"},
        422: {"description": "Missing or blank reason (field: reason)"},
    }
    for _action in ("revoke", "suspend", "reinstate"):
        app.post(
            f"/credentials/{{credential_id}}/{_action}",
            tags=["revocation"],
            summary=f"{_action.capitalize()} one credential (queued, applied on chain), with a "
            "reason",
            responses=_status_responses,
        )(_status_route(_action))

    @app.get(
        "/credentials/status-changes/{change_id}",
        tags=["revocation"],
        summary="A queued or applied status change: state pending, sent, applied or failed, tx",
    )
    def status_change(
        caller: Caller, change_id: int = FastApiPath(ge=1, le=2**63 - 1)
    ) -> dict[str, Any]:
        return service.get_status_change(caller, change_id)

    @app.post(
        "/credentials/status-changes",
        tags=["revocation"],
        summary="Revoke, suspend or reinstate many credentials in one transaction",
        responses=_status_responses,
    )
    def status_changes(
        body: StatusChangeRequest, caller: Caller, idempotency_key: IdemKey = None
    ) -> Response:
        fp = fingerprint("status-changes", body.model_dump())
        return respond(
            service.idempotent(
                caller,
                idempotency_key,
                fp,
                lambda _s: service.change_status(
                    caller, body.action, body.credential_ids, body.reason
                ),
                external=True,
            )
        )

    # -- bulk -----------------------------------------------------------------------------------
    @app.post(
        "/bulk-jobs",
        tags=["bulk"],
        status_code=202,
        summary="Upload JSONL or CSV of up to 1,000,000 subjects; issued asynchronously",
    )
    async def create_bulk(
        caller: Caller,
        file: Annotated[UploadFile, File(description="JSONL (one issue request per line) or CSV")],
        type: Annotated[str, Form(description="credential type of every row")],
        format: Annotated[Literal["jsonl", "csv"] | None, Form()] = None,
        idempotency_key: IdemKey = None,
    ) -> Response:
        from starlette.concurrency import run_in_threadpool

        from .bulk import create_job

        # an institution the ledger shows suspended or removed is refused before its upload is
        # stored, as single issuance is (a cached read, no ledger call)
        await run_in_threadpool(service.check_may_issue, caller)
        outcome = await run_in_threadpool(
            create_job,
            service,
            caller,
            file.file,
            file.filename or "",
            type,
            format,
            idempotency_key,
        )
        request_bulk = app.state.__dict__.get("bulk")
        if request_bulk is not None:
            request_bulk.wakeup.set()
        return respond(outcome)

    @app.get("/bulk-jobs/{job_id}", tags=["bulk"], summary="Progress of a bulk job")
    def bulk_status(job_id: str, caller: Caller) -> dict[str, Any]:
        from .bulk import job_status

        return job_status(service, caller, job_id)

    @app.get(
        "/bulk-jobs/{job_id}/results",
        tags=["bulk"],
        response_class=StreamingResponse,
        summary="JSONL of issued rows: row, id, credential (anchored form when anchored), QR payload",
    )
    def bulk_results(
        job_id: str,
        caller: Caller,
        qr: bool = Query(True, description="include the QR payload of anchored rows"),
    ) -> StreamingResponse:
        from .bulk import iter_results

        return StreamingResponse(
            iter_results(service, caller, job_id, qr=qr), media_type="application/x-ndjson"
        )

    @app.get(
        "/bulk-jobs/{job_id}/errors",
        tags=["bulk"],
        response_class=StreamingResponse,
        summary="JSONL of rejected rows: row (data rows from 1), line (where it starts), field, message",
    )
    def bulk_errors(job_id: str, caller: Caller) -> StreamingResponse:
        from .bulk import iter_errors

        return StreamingResponse(
            iter_errors(service, caller, job_id), media_type="application/x-ndjson"
        )

    # -- operator ---------------------------------------------------------------------------------
    @app.post(
        "/operator/institutions",
        tags=["operator"],
        status_code=201,
        summary="Onboard an institution: key, chain account, on-chain registration, first API key",
    )
    def onboard(body: OnboardRequest, caller: Caller, idempotency_key: IdemKey = None) -> Response:
        service.require_operator(caller)
        fp = fingerprint("onboard", body.model_dump())
        return respond(
            service.idempotent(
                caller,
                idempotency_key,
                fp,
                lambda s: service.onboard_institution(
                    s,
                    name=body.name,
                    slug=body.slug,
                    credential_types=body.credential_types,
                    chain_issuer_id=body.chain_issuer_id,
                    did=body.did,
                ),
            )
        )

    @app.get("/operator/institutions", tags=["operator"], summary="List institutions")
    def list_institutions(caller: Caller) -> list[dict[str, Any]]:
        service.require_operator(caller)
        return service.list_institutions()

    @app.get("/operator/institutions/{slug}", tags=["operator"], summary="One institution")
    def get_institution(slug: str, caller: Caller) -> dict[str, Any]:
        service.require_operator(caller)
        return service.get_institution(slug)

    @app.post(
        "/operator/institutions/{slug}/status",
        tags=["operator"],
        summary="Suspend or reactivate an institution's API access",
    )
    def institution_status(
        slug: str, body: InstitutionStatusRequest, caller: Caller, idempotency_key: IdemKey = None
    ) -> Response:
        service.require_operator(caller)
        fp = fingerprint("inst-status", slug, body.status)
        return respond(
            service.idempotent(
                caller,
                idempotency_key,
                fp,
                lambda s: service.set_institution_status(s, slug, body.status),
            )
        )

    @app.post(
        "/operator/institutions/{slug}/credential-types",
        tags=["operator"],
        summary="Grant or withdraw accredited credential types (on chain, then here)",
    )
    def credential_types(
        slug: str, body: CredentialTypesRequest, caller: Caller, idempotency_key: IdemKey = None
    ) -> Response:
        service.require_operator(caller)
        fp = fingerprint("types", slug, body.model_dump())
        return respond(
            service.idempotent(
                caller,
                idempotency_key,
                fp,
                lambda s: service.change_credential_types(
                    s, slug, grant=body.grant, withdraw=body.withdraw
                ),
            )
        )

    @app.post(
        "/operator/institutions/{slug}/signing-keys/rotate",
        tags=["operator"],
        summary="Rotate the signing key (new key registered on chain through the ledger)",
    )
    def rotate_signing_key(slug: str, caller: Caller, idempotency_key: IdemKey = None) -> Response:
        service.require_operator(caller)
        fp = fingerprint("rotate-signing", slug)
        return respond(
            service.idempotent(
                caller, idempotency_key, fp, lambda s: service.rotate_signing_key(s, slug)
            )
        )

    @app.post(
        "/operator/institutions/{slug}/api-keys",
        tags=["operator"],
        status_code=201,
        summary="Create an API key with scopes issue / revoke / read",
    )
    def create_api_key(
        slug: str, body: ApiKeyRequest, caller: Caller, idempotency_key: IdemKey = None
    ) -> Response:
        service.require_operator(caller)
        fp = fingerprint("api-key", slug, body.model_dump())
        return respond(
            service.idempotent(
                caller,
                idempotency_key,
                fp,
                lambda s: service.create_api_key(s, slug, scopes=body.scopes, name=body.name),
            )
        )

    @app.get("/operator/institutions/{slug}/api-keys", tags=["operator"], summary="List API keys")
    def list_api_keys(slug: str, caller: Caller) -> list[dict[str, Any]]:
        service.require_operator(caller)
        return service.list_api_keys(slug)

    def _api_key_route(action: str, change: Callable[[Any, str, str], Any]) -> Any:
        def route(
            slug: str, key_id: str, caller: Caller, idempotency_key: IdemKey = None
        ) -> Response:
            service.require_operator(caller)
            fp = fingerprint(f"{action}-key", slug, key_id)
            return respond(
                service.idempotent(caller, idempotency_key, fp, lambda s: change(s, slug, key_id))
            )

        route.__name__ = f"{action}_api_key"
        return route

    for _action, _change, _summary in (
        ("revoke", service.revoke_api_key, "Revoke an API key"),
        (
            "rotate",
            service.rotate_api_key,
            "Rotate an API key (same scopes; the old key stops working)",
        ),
    ):
        app.post(
            f"/operator/institutions/{{slug}}/api-keys/{{key_id}}/{_action}",
            tags=["operator"],
            summary=_summary,
        )(_api_key_route(_action, _change))

    return app


def worker_process_app() -> FastAPI:
    """The app of one HTTP process of ``talentproof issuer serve --workers N`` (a uvicorn
    factory): its own service from the same environment, without the anchoring and bulk
    workers (the supervising process runs them) and without migrations (already run)."""
    from .observability import configure_logging
    from .settings import IssuerSettings

    _die_with_parent()
    settings = IssuerSettings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(
        IssuerService(settings, run_migrations=False),
        run_worker=False,
        freeze_gc=True,
        watch_ledger=False,  # the supervisor watches the ledger for all the processes
    )


def _die_with_parent() -> None:
    """Linux: kill this HTTP process when its supervising `serve` process dies, even by SIGKILL:
    killing `serve` kills all of it, as when it was one process, and no orphan keeps the port.
    (A normal stop, SIGINT or SIGTERM, lets uvicorn's supervisor stop its processes gracefully
    first.)"""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
