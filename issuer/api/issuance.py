"""``POST /credentials``: its one handler, the group commit it issues through, and the fast
path that answers well-formed requests without FastAPI's per-request machinery.

One request contract: the route (`routes.credentials.issue`) and the fast path (`IssueFastPath`)
validate the body with the same model (`schemas.IssueRequest`), authenticate with the same
function (`deps.authenticate`), issue through the same handler (`issue_credential`) and render
errors with the same function (`errors.render_issuer_error`).
"""

import asyncio
from typing import Any

import orjson

from ..auth import Principal
from ..errors import IssuerError
from ..outcome import WriteOutcome
from ..service import IssuerService
from .deps import authenticate
from .errors import render_issuer_error
from .responses import STATUS, headers_of
from .schemas import IssueRequest


async def issue_credential(
    groups: "IssueGroups", caller: Principal, idempotency_key: str | None, payload: IssueRequest
) -> WriteOutcome:
    """Issue one credential (signed, persisted, queued for anchoring) through the group commit;
    the handler of both the route and the fast path. The ledger is never called here."""
    return await groups.issue(caller, idempotency_key, payload.model_dump(exclude_none=True))


class IssueGroups:
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
    ) -> asyncio.Future[WriteOutcome]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[WriteOutcome] = loop.create_future()
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
        except Exception as exc:  # the database failed: the whole group fails
            results = [exc] * len(group)
        for (_caller, _key, _request, answer), result in zip(group, results, strict=True):
            if answer.done():
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)


_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")


class IssueFastPath:
    """``POST /credentials`` answered without FastAPI's per-request machinery (dependency
    resolution, request and response objects: about a third of the CPU of an issuance).

    Only the common, well-formed case is taken here: a JSON body that `IssueRequest` accepts and
    an ``Authorization: Bearer`` header. Anything else (no or another kind of credentials, another
    content type, a body the schema refuses) is handed, body and all, to the FastAPI route, which
    answers exactly as it always has. Both paths issue through the same group commit
    (`IssueGroups`, `IssuerService.issue_group`) and render its errors with the same handler;
    the route stays in the OpenAPI document. It sits inside `RequestLimits` (body size, and
    the rate limits by API key id or client address that every route gets).
    """

    def __init__(
        self,
        app: Any,
        *,
        service: IssuerService,
        groups: IssueGroups,
        render_error: Any = None,
    ) -> None:
        self.app = app
        self.service = service
        self.groups = groups
        self.render_error = render_error or render_issuer_error

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
        request: IssueRequest | None = None
        token = b""
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            token = authorization[7:].strip()
        if token and content_type is not None and content_type.lower() in _JSON_TYPES:
            try:
                request = IssueRequest.model_validate_json(body)
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
            caller = authenticate(service, token.decode("latin-1"))
            outcome = await issue_credential(
                self.groups,
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
            for name, value in headers_of(outcome).items()
        )
        await send(
            {"type": "http.response.start", "status": STATUS[outcome.kind], "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})
