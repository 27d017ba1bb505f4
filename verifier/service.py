"""The verifier service (FastAPI) and its web page.

Endpoints (OpenAPI at ``/docs``):

- ``POST /api/v1/challenges``: a single-use challenge for a bound presentation;
- ``POST /api/v1/verify``: verify QR text payloads or JSON credentials/presentations (one
  application), optionally against a talent-list profession;
- ``POST /api/v1/verify/image``: the same for uploaded QR images (PNG/JPEG);
- ``GET /api/v1/professions``: the professions of the loaded policy;
- ``POST /credentials/verify``, ``POST /presentations/verify``: the W3C VC API
  (`talentproof.verifier.vc_api`);
- ``/oid4vp/...``: OpenID4VP 1.0 with DCQL, a wallet's presentation (`talentproof.verifier.oid4vp`);
- ``GET /healthz``; ``GET /readyz`` (the chain, and which configured JSON-RPC endpoints are
  down); the web page at ``/``.

None needs authentication, so challenges and verification are rate-limited per client address
and the open challenges are capped (`talentproof.verifier.limits`, `.challenges`; 429 with
``Retry-After``). The one exception a deployment may choose: with
``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE`` set, the W3C VC API's two routes need a bearer token
(`talentproof.verifier.vc_api_tokens`), declared in the OpenAPI document; the page and
``/api/v1`` stay public (the officer at a counter has no token to give), and ``/readyz`` says
which (``vcApi.authentication``).

Reports are those of :class:`~talentproof.verifier.engine.ApplicationReport`: ``outcome``
(``code`` VALID_MEETS, VALID_NOT_MET, VALID, INVALID or NOT_VERIFIABLE, ``label``, ``reason``)
is the one verdict the page shows at the top, ``person`` the applicant's name and date of
birth; with a receipt key configured each response also carries a signed receipt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Body, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonValue

from talentproof.apidocs import install_docs
from talentproof.bodyerrors import explain_body_error
from talentproof.ratelimit import client_address
from talentproof.verifier.challenges import ChallengesFull, ChallengeStore
from talentproof.verifier.engine import Item, Limits, Verifier
from talentproof.verifier.errors import InputError, InputTooLarge, TrustConfigError, VerifierError
from talentproof.verifier.inputs import item_from_image, item_from_json, item_from_text
from talentproof.verifier.jsonbody import StrictJsonRoute
from talentproof.verifier.limits import ClientLimits
from talentproof.verifier.oid4vp import oid4vp_state
from talentproof.verifier.oid4vp import router as oid4vp_router
from talentproof.verifier.policy import Policy, load_policy
from talentproof.verifier.receipt import load_key, sign_receipt
from talentproof.verifier.requirements import Domain, MinConfirmations, Requirement
from talentproof.verifier.settings import ServiceSettings
from talentproof.verifier.vc_api import router as vc_api_router
from talentproof.verifier.vc_api_tokens import GUARDED, OPEN

if TYPE_CHECKING:
    from talentproof.verifier.shared_store import DbChallengeStore

# --------------------------------------------------------------------------- API schemas

_EXAMPLE_PAYLOAD = "TP1:6BFOXN*TS0BI$ZDFRH..."

# An application needs at least one credential: said in the OpenAPI document, so that clients
# (and schemathesis) know an empty request is refused.
_AT_LEAST_ONE: list[JsonValue] = [
    {"required": ["payloads"], "properties": {"payloads": {"minItems": 1}}},
    {"required": ["documents"], "properties": {"documents": {"minItems": 1}}},
]


def _date_text(value: Any) -> Any:
    """Only a YYYY-MM-DD text is a date here (pydantic would also read a number as a UNIX time)."""
    if (
        value is not None
        and not isinstance(value, date)
        and not (
            isinstance(value, str)
            and len(value) == 10
            and value[4] == value[7] == "-"
            and (value[:4] + value[5:7] + value[8:]).isdigit()
            and value.isascii()
        )
    ):
        raise ValueError("expected a date as YYYY-MM-DD text")
    return value


class VerifyRequest(BaseModel):
    """One application: QR text payloads and/or credential or presentation JSON documents.

    At most 16 credentials in all (a presentation counts the credentials it holds): a larger
    application is refused with 422.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": _AT_LEAST_ONE,
            "examples": [
                {
                    "payloads": [_EXAMPLE_PAYLOAD],
                    "profession": "hk-dlt-expert",
                    "asOf": "2026-11-01",
                },
                {
                    "documents": [
                        {
                            "@context": ["https://www.w3.org/ns/credentials/v2"],
                            "type": ["VerifiableCredential", "DegreeCredential"],
                            "...": "...",
                        }
                    ]
                },
                {"payloads": [_EXAMPLE_PAYLOAD], "challenge": "Qm9yZGVyLWNvbnRyb2wtMQ"},
            ],
        },
    )

    payloads: list[str] = Field(
        default_factory=list, description="QR text payloads as scanned.", max_length=16
    )
    documents: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Credential or presentation JSON documents.",
        max_length=16,
    )
    profession: str | None = Field(None, description="Talent-list profession id to evaluate.")
    asOf: Annotated[date | None, BeforeValidator(_date_text)] = Field(
        None,
        description="Judge validity and revocation as of this date (YYYY-MM-DD: 00:00 UTC that "
        "day; today's date, UTC or the service's time zone's, means now); default now.",
    )
    applicationDate: Annotated[date | None, BeforeValidator(_date_text)] = Field(
        None,
        description="Judge the facts (degree awarded, employment held, training completed) as of this "
        "date (YYYY-MM-DD); default the as-of date.",
    )
    idNumber: str | None = Field(
        None,
        max_length=64,
        description="The travel document's number, compared with the credentials' commitment.",
    )
    idSalt: str | None = Field(
        None,
        max_length=128,
        description="The holder's identity-document salt, when no presentation carries it (used only with idNumber).",
    )
    challenge: str | None = Field(
        None, description="A challenge from POST /api/v1/challenges: requires a bound presentation."
    )


def _described(field: str) -> str | None:
    """The description of a `VerifyRequest` field: the image upload's form fields say the same."""
    return VerifyRequest.model_fields[field].description


class ApplicationRequest(VerifyRequest):
    """An application to evaluate: its credentials and the profession (required)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": _AT_LEAST_ONE,
            "examples": [
                {
                    "payloads": [_EXAMPLE_PAYLOAD, _EXAMPLE_PAYLOAD],
                    "profession": "hk-dlt-expert",
                    "asOf": "2026-11-01",
                }
            ],
        },
    )

    profession: str = Field(..., description="Talent-list profession id, e.g. hk-dlt-expert.")


class ChallengeResponse(BaseModel):
    """A single-use challenge for a bound presentation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "challenge": "Qm9yZGVyLWNvbnRyb2wtMQ",
                    "domain": "verifier.example.hk",
                    "expiresIn": 300,
                }
            ]
        }
    )

    challenge: str
    domain: str
    expiresIn: float


class ValidationIssue(BaseModel):
    """One field error of a request that does not match the API schema (FastAPI's form)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """Why a request was refused: ``detail``, a sentence naming what was expected; for a JSON
    body that does not match the API schema also ``errors``, its field errors (machine-readable,
    the input never echoed). Another route's schema refusal may still be FastAPI's list."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "profession: expected one of hk-dlt-expert, hk-fintech-professional, found 'astronaut'"
                },
                {
                    "detail": 'the body looks like a credential, not an application: expected {"documents": '
                    '[credential, ...]} or {"payloads": ["TP1:...", ...]} (members: payloads, documents, ...)',
                    "errors": [
                        {
                            "loc": ["body", "@context"],
                            "msg": "Extra inputs are not permitted",
                            "type": "extra_forbidden",
                        }
                    ],
                },
            ]
        }
    )

    detail: str | list[ValidationIssue]
    errors: list[ValidationIssue] | None = Field(
        None, description="The field errors of a body that does not match the schema."
    )


#: What an application body is, said when one is refused.
_APPLICATION_SHAPE = '{"documents": [credential, ...]} or {"payloads": ["TP1:...", ...]}'
#: Members only a credential or a presentation has at its top level.
_DOCUMENT_MEMBERS = frozenset(
    {"@context", "proof", "credentialSubject", "verifiableCredential", "issuer", "holder"}
)


def application_problem(model: type[BaseModel], errors: Sequence[Any], body: Any) -> dict[str, Any]:
    """The 422 body of an application (`VerifyRequest`) that does not match the schema:
    ``detail`` one sentence naming what is wrong and the body expected (a bare credential or
    presentation posted as the body is told to wrap it), ``errors`` the field errors (loc, msg,
    type; never the input)."""
    members = ", ".join(model.model_fields)
    issues = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors[:32]
    ]
    if (
        isinstance(body, dict)
        and _DOCUMENT_MEMBERS & body.keys()
        and not body.keys() & model.model_fields.keys()
    ):
        kind = (
            "presentation" if "verifiableCredential" in body or "holder" in body else "credential"
        )
        detail = (
            f"the body looks like a {kind}, not an application: expected {_APPLICATION_SHAPE} "
            f"(members: {members}); put the {kind} in documents"
        )
    else:
        explained = explain_body_error(model, errors, {}, None)
        if explained.where == "body":  # empty, or not an object
            what = explained.sentence.partition(": expected")[0]
            detail = f"{what}: expected {_APPLICATION_SHAPE} (members: {members})"
        elif "not a member" in explained.sentence:  # it names the members already
            detail = f"{explained.sentence}; expected {_APPLICATION_SHAPE}"
        else:
            detail = f"{explained.sentence}; expected {_APPLICATION_SHAPE} (members: {members})"
    return {"detail": detail, "errors": issues}


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The request body could not be read."},
    422: {
        "model": Problem,
        "description": "The request is not something the verifier can take; `detail` says what was expected.",
    },
    413: {
        "model": Problem,
        "description": "The request body is larger than the service takes (TALENTPROOF_VERIFIER_MAX_BODY_BYTES).",
    },
    429: {
        "model": Problem,
        "description": "Too many requests from this client address; retry after `Retry-After` seconds.",
    },
}
_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": Problem,
        "description": "Too many new challenges from this client address, or the verifier holds its "
        "maximum of open challenges; retry after `Retry-After` seconds.",
    },
}


class ProfessionInfo(BaseModel):
    """A profession of the loaded policy."""

    id: str
    name: str
    description: str
    criteria: list[dict[str, str]]


# --------------------------------------------------------------------------- app


@dataclass
class _State:
    settings: ServiceSettings
    verifier: Verifier
    policy: Policy
    challenges: ChallengeStore | DbChallengeStore
    receipt_key: Any = None
    limits: Limits = field(default_factory=Limits)


def _default_verifier(settings: ServiceSettings) -> Verifier:
    own: list[Requirement] = [
        MinConfirmations(settings.min_confirmations),
        *([Domain(settings.domain)] if settings.domain else []),
    ]
    try:
        return Verifier.from_deployment(
            settings.trust, settings.rpc_url, *own, max_head_age=settings.max_head_age_s
        )
    except InputError as exc:  # a bad RPC URL: the service's configuration, not the input
        raise TrustConfigError(f"rpc url: {str(exc).removeprefix('--rpc: ')}") from None


def _document_professions(app: FastAPI, ids: list[str]) -> None:
    """Make the OpenAPI document say exactly what the service accepts: the loaded policy's
    profession ids (an ``enum`` on every ``profession`` field), and multipart form fields that
    are optional by being absent (a form cannot carry a JSON null)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            form = name.startswith("Body_")  # a multipart form: no null, an absent field instead
            if form:
                for key, prop in schema.get("properties", {}).items():
                    choices = [c for c in prop.get("anyOf", ()) if c.get("type") != "null"]
                    if len(choices) == 1:
                        schema["properties"][key] = {
                            **{k: v for k, v in prop.items() if k != "anyOf"},
                            **choices[0],
                        }
            prop = schema.get("properties", {}).get("profession")
            if prop is None:
                continue
            # the page's form sends an empty field for "no profession"
            allowed = [*ids, ""] if form else list(ids)
            for choice in prop.get("anyOf", [prop]):
                if choice.get("type") == "string":
                    choice["enum"] = allowed
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


#: The VC API's routes (`talentproof.verifier.vc_api`), the only ones a token may guard.
VC_API_PATHS = ("/credentials/verify", "/presentations/verify")
#: The OpenAPI name of the VC API's bearer scheme.
VC_API_SCHEME = "VcApiToken"


def _document_vc_api_access(app: FastAPI, guarded: bool) -> None:
    """Make the OpenAPI document say how the VC API is reached: with tokens configured
    (``guarded``), the bearer scheme `VC_API_SCHEME` on its two routes (and their 401); open,
    neither (no 401 is ever answered)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc = build()
        components = doc.setdefault("components", {})
        schemes = components.setdefault("securitySchemes", {})
        for path in VC_API_PATHS:
            op = doc["paths"][path]["post"]
            if guarded:
                op["security"] = [{VC_API_SCHEME: []}]
            else:
                op["responses"].pop("401", None)
        if guarded:
            schemes[VC_API_SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A VC API token of this verifier (tpv_...; its operator mints "
                "them with `talentproof verifier token`). Only the W3C VC API's routes take "
                "one; the page and /api/v1 are public.",
            }
        else:
            components.get("schemas", {}).pop("VcApiTokenRequired", None)
        if not schemes:
            components.pop("securitySchemes")
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _static_dir() -> Path:
    return Path(str(resources.files("talentproof.verifier").joinpath("static")))


def _challenge_store(settings: ServiceSettings) -> ChallengeStore | DbChallengeStore:
    """In this process's memory, or in the shared database (``database_url``: several
    replicas, `shared_store`)."""
    if settings.database_url is None:
        return ChallengeStore(
            settings.challenge_ttl,
            max_open=settings.limits.challenges_max,
            per_client=settings.limits.challenges_per_client,
        )
    from talentproof.verifier.shared_store import (  # noqa: PLC0415 (SQLAlchemy: replicas only)
        DbChallengeStore,
        shared_engine,
    )

    return DbChallengeStore(
        shared_engine(settings.database_url),
        settings.challenge_ttl,
        max_open=settings.limits.challenges_max,
        per_client=settings.limits.challenges_per_client,
    )


def create_app(
    settings: ServiceSettings | None = None, *, verifier: Verifier | None = None
) -> FastAPI:
    """The verifier service. ``verifier`` overrides the one built from ``settings``."""
    settings = settings or ServiceSettings()
    state = _State(
        settings=settings,
        verifier=verifier or _default_verifier(settings),
        policy=load_policy(settings.policy),
        challenges=_challenge_store(settings),
    )
    if settings.receipt_key is not None:
        state.receipt_key = load_key(settings.receipt_key)

    app = FastAPI(
        title="TalentProof verifier",
        version="1",
        description="Verify ledger-anchored credentials and evaluate Talent List professions.",
        docs_url=None,  # served from this service, not a CDN: apidocs.install_docs
        redoc_url=None,
    )
    install_docs(app)
    app.state.verifier_state = state
    app.router.route_class = StrictJsonRoute  # JSON bodies: duplicate keys refused (check 1)
    app.add_middleware(ClientLimits, limits=settings.limits)  # per client address (issue 12)
    _document_professions(app, sorted(state.policy.professions))
    _document_vc_api_access(app, settings.vc_api_tokens is not None)

    @app.exception_handler(VerifierError)
    async def _verifier_error(_request: Any, exc: VerifierError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _not_json(request: Request, exc: RequestValidationError) -> Response:
        """A JSON body that is not JSON (truncated, a stray byte, a duplicate key) is refused in
        the service's own shape, ``{"detail": sentence}``, naming where it breaks (line and
        column) and the body expected, never echoing it; any other refusal is FastAPI's."""
        errors = exc.errors()
        route = request.scope.get("route")
        field = getattr(route, "body_field", None)
        model = getattr(getattr(field, "field_info", None), "annotation", None)
        if (
            errors
            and errors[0].get("type") == "json_invalid"
            and isinstance(model, type)
            and issubclass(model, BaseModel)
        ):
            explained = explain_body_error(model, errors, {}, exc.body)
            return JSONResponse(status_code=422, content={"detail": explained.sentence})
        if errors and isinstance(model, type) and issubclass(model, VerifyRequest):
            return JSONResponse(
                status_code=422, content=application_problem(model, errors, exc.body)
            )
        return await request_validation_exception_handler(request, exc)

    def run(
        items: list[Item],
        profession: str | None,
        as_of: date | None,
        challenge: str | None,
        application_date: date | None = None,
        id_number: str | None = None,
        id_salt: str | None = None,
        surface: str = "api",
    ) -> dict[str, Any]:
        if not items:
            raise HTTPException(422, "expected at least one payload, document or image")
        if profession is not None:
            state.policy.profession(profession)
        problem = state.challenges.consume(challenge) if challenge else None
        report = state.verifier.verify_application(
            items,
            as_of=as_of,
            challenge=challenge,
            policy=state.policy,
            profession=profession,
            challenge_problem=problem,
            application_date=application_date,
            id_number=id_number,
            id_salt=id_salt,
            surface=surface,
        )
        out = report.to_json()
        if state.receipt_key is not None:
            out["receipt"] = sign_receipt(report, state.receipt_key, trust=state.verifier.trust)
        return out

    def run_request(request: VerifyRequest) -> dict[str, Any]:
        """`run` over a JSON request's QR text payloads and JSON documents."""
        items = [
            item_from_text(t, f"payload {i + 1}", state.limits)
            for i, t in enumerate(request.payloads)
        ]
        for i, d in enumerate(request.documents):
            items.append(item_from_json(json.dumps(d), f"document {i + 1}", state.limits))
        return run(
            items,
            request.profession,
            request.asOf,
            request.challenge,
            request.applicationDate,
            request.idNumber,
            request.idSalt,
        )

    @app.post(
        "/api/v1/challenges",
        response_model=ChallengeResponse,
        tags=["verify"],
        responses=_LIMITED,
        summary="A single-use challenge for a presentation bound to this verifier",
    )
    def new_challenge(request: Request) -> Any:
        """Issue a single-use challenge; the holder binds a presentation to it."""
        try:
            value, ttl = state.challenges.issue(
                client_address(request.scope, settings.limits.trusted_proxies)
            )
        except ChallengesFull as exc:
            return JSONResponse(
                {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
            )
        return ChallengeResponse(challenge=value, domain=state.verifier.domain, expiresIn=ttl)

    @app.post(
        "/api/v1/verify",
        tags=["verify"],
        responses=_PROBLEMS,
        summary="Verify one application: QR text payloads and/or credential JSON documents",
    )
    def verify(request: Annotated[VerifyRequest, Body()]) -> dict[str, Any]:
        """Verify one application given as QR text payloads and/or JSON documents."""
        return run_request(request)

    @app.post(
        "/api/v1/applications/evaluate",
        tags=["policy"],
        responses=_PROBLEMS,
        summary="Verify one application and evaluate it against a Talent List profession",
    )
    def evaluate(request: Annotated[ApplicationRequest, Body()]) -> dict[str, Any]:
        """Verify one application and evaluate it against a talent-list profession."""
        return run_request(request)

    @app.post(
        "/api/v1/verify/image",
        tags=["verify"],
        responses=_PROBLEMS,
        summary="Verify one application given as QR code pictures (PNG or JPEG)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "anyOf": [
                                {"required": ["files"], "properties": {"files": {"minItems": 1}}},
                                {
                                    "required": ["payloads"],
                                    "properties": {"payloads": {"minItems": 1}},
                                },
                            ]
                        }
                    }
                },
            }
        },
    )
    async def verify_image(
        files: Annotated[
            list[UploadFile] | None,
            File(description="QR images (PNG or JPEG), one per credential or presentation."),
        ] = None,
        payloads: Annotated[
            list[str] | None, Form(description="QR text payloads scanned by the page's camera.")
        ] = None,
        profession: Annotated[str | None, Form(description=_described("profession"))] = None,
        asOf: Annotated[date | None, Form(description=_described("asOf"))] = None,
        applicationDate: Annotated[
            date | None, Form(description=_described("applicationDate"))
        ] = None,
        idNumber: Annotated[
            str | None, Form(max_length=64, description=_described("idNumber"))
        ] = None,
        idSalt: Annotated[
            str | None, Form(max_length=128, description=_described("idSalt"))
        ] = None,
        challenge: Annotated[str | None, Form(description=_described("challenge"))] = None,
        surface: Annotated[
            Literal["api", "page"],
            Form(
                description="Who reads the report: 'page' (this service's own web page) fits "
                "the advice of a check to what the page offers (check 12 without a salt: "
                "request the wallet's presentation); 'api' (default) names the API's fields."
            ),
        ] = "api",
    ) -> dict[str, Any]:
        """Verify one application given as uploaded QR images."""
        # Each image or payload holds at least one credential: more than an application takes is
        # refused whole (422, as /api/v1/verify does), before any image is read. Never verify
        # the first ones only: a revoked or forged credential after them would go unseen.
        given = len(files or ()) + len(payloads or ())
        if given > state.limits.max_credentials:
            raise InputTooLarge("application", given, state.limits.max_credentials, "credentials")
        items = []
        for f in files or ():
            data = await f.read(state.limits.max_image_bytes + 1)
            items.append(item_from_image(data, f.filename or "image", state.limits))
        for i, t in enumerate(payloads or ()):
            items.append(item_from_text(t, f"scanned QR {i + 1}", state.limits))
        return run(
            items,
            profession or None,
            asOf,
            challenge or None,
            applicationDate,
            idNumber or None,
            idSalt or None,
            surface,
        )

    @app.get(
        "/api/v1/professions",
        response_model=list[ProfessionInfo],
        tags=["policy"],
        summary="The Talent List professions an application can be evaluated against",
    )
    def professions() -> list[ProfessionInfo]:
        """The talent-list professions the loaded policy defines."""
        return [
            ProfessionInfo(
                id=p.id,
                name=p.name,
                description=p.description,
                criteria=[{"id": c.id, "title": c.title} for c in p.criteria],
            )
            for p in state.policy.professions.values()
        ]

    app.include_router(vc_api_router)  # the W3C VC API: /credentials/verify, /presentations/verify
    # OpenID4VP 1.0 (docs/openid4vc.md): the wallet's presentation, client_id the service's key
    app.state.oid4vp = oid4vp_state(
        state.receipt_key,
        ttl=settings.oid4vp_request_ttl,
        max_open=settings.limits.oid4vp_requests_max,
        per_client=settings.limits.oid4vp_requests_per_client,
        public_url=settings.public_url,
        database_url=settings.database_url,
        claim_s=settings.oid4vp_claim_s,
    )
    app.include_router(oid4vp_router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness, and whether the chain answers."""
        try:
            chain_id = int(state.verifier.reader.chain_id())
            return {"status": "ok", "chainId": chain_id, "registry": state.verifier.trust.registry}
        except Exception as exc:
            return {"status": "degraded", "chain": f"unavailable: {type(exc).__name__}"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """Readiness: whether the chain answers, through which JSON-RPC endpoint, and which of
        the configured endpoints are down (several: reads fail over between them). 503 when
        none answers."""
        from talentproof.ledger.errors import LedgerError  # noqa: PLC0415 (with the reader)

        reader = state.verifier.reader
        endpoints = getattr(reader, "endpoints", None)
        try:
            chain_id: int | None = int(reader.chain_id())
            available, detail = True, "ok"
        except LedgerError as exc:
            chain_id, available, detail = None, False, str(exc)
        found: list[dict[str, Any]]
        if endpoints is not None:
            # probe those no read settled in the last 2 s, each within the endpoints' timeout
            found = [e.to_json() for e in endpoints.check(max_age=2.0)]
        else:
            found = [{"url": getattr(reader, "rpc_url", None), "up": available, "current": True,
                      "detail": None if available else detail}]  # fmt: skip
        down = [e["url"] for e in found if not e["up"]]
        body = {
            "status": "unavailable" if not available else "degraded" if down else "ready",
            "chain": {
                "available": available,
                "detail": detail,
                "chainId": chain_id,
                "registry": state.verifier.trust.registry,
                "endpointsDown": down,
                "endpoints": found,
                "failovers": 0 if endpoints is None else endpoints.failovers,
            },
            # how the VC API is reached (never the tokens, their number or file)
            "vcApi": {"authentication": OPEN if settings.vc_api_tokens is None else GUARDED},
        }
        return JSONResponse(body, status_code=200 if available else 503)

    static = _static_dir()
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static / "index.html")

    return app
