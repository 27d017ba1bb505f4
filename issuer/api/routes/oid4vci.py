"""OpenID4VCI 1.0, pre-authorized code flow (docs/openid4vc.md): each institution is its own
Credential Issuer and Authorization Server, ``{public_url}/institutions/{slug}``.

- ``GET /.well-known/openid-credential-issuer/institutions/{slug}``, ``GET
  /.well-known/oauth-authorization-server/institutions/{slug}``: the metadata;
- ``POST /credential-offers`` (institution API key): an offer of the claims of a ``POST
  /credentials`` body without ``credentialSubject.id``; ``GET /credential-offers/{id}/qr.png``;
  ``POST /credential-offers/{id}/withdraw`` (one offer not yet redeemed);
- ``GET {ci}/credential-offers/{id}``, ``POST {ci}/token``, ``POST {ci}/nonce``, ``POST
  {ci}/credential`` (202 ``{transaction_id, interval}``: issued through the same handler and
  group commit as ``POST /credentials``), ``POST {ci}/deferred_credential``.

The wallet's endpoints answer CORS for any origin, without credentials (`Oid4vciCors`), and
refuse with the protocol's ``{"error", "error_description"}`` (`usecases.oid4vci.OAuthError`,
rendered by `api.errors`).
"""

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ... import auth
from ...errors import IssuerError
from ...service import IssuerService
from ...usecases.oid4vci import (
    PRE_AUTHORIZED_GRANT,
    OAuthError,
    Oid4vci,
    build_oid4vci,
    is_access_token,
)
from ..deps import CallerDep
from ..issuance import issue_credential
from ..responses import ORJSONResponse, respond
from ..schemas import IssueRequest

__all__ = ["Oid4vciCors", "build_oid4vci", "limits_authenticate", "router"]

router = APIRouter(tags=["OpenID4VCI"])

NO_STORE = {"Cache-Control": "no-store"}


def limits_authenticate(
    service: IssuerService, oid4vci: Oid4vci
) -> Callable[[str], auth.Principal]:
    """Who a bearer token is, for the request limits: an API key, or an OpenID4VCI access
    token (one bucket per offer; an unknown one counts as a failed authentication)."""

    def authenticate(token: str) -> auth.Principal:
        if is_access_token(token):
            return oid4vci.token_principal(token)
        return service.authenticate(token)

    return authenticate


async def get_oid4vci(request: Request) -> Oid4vci:
    """The application's OpenID4VCI use cases (``app.state.oid4vci``)."""
    return request.app.state.oid4vci  # type: ignore[no-any-return]


Oid4vciDep = Annotated[Oid4vci, Depends(get_oid4vci)]

#: The paths a wallet on another origin calls (the browser wallet also reads the institution's
#: did:web document and status lists, public documents, to check the credentials it holds).
CORS_PATHS = re.compile(
    r"^/(?:\.well-known/(?:openid-credential-issuer|oauth-authorization-server)/institutions/"
    r"[^/]+|institutions/[^/]+/(?:token|nonce|credential|deferred_credential"
    r"|credential-offers/[^/]+|did\.json|status/[^/]+))/?$"
)


class Oid4vciCors:
    """CORS for the wallet's endpoints (`CORS_PATHS`): any origin, no credentials (bearer
    tokens, never cookies); every other path is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "DPoP"],
            expose_headers=["WWW-Authenticate", "Retry-After", "Location"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and CORS_PATHS.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class CredentialOfferRequest(IssueRequest):
    """The claims of an offer: a ``POST /credentials`` body without ``credentialSubject.id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "DegreeCredential",
                    "credentialSubject": {
                        "name": "CHAN Tai Man",
                        "birthDate": "1990-04-01",
                        "identityDocument": {
                            "documentType": "HKID",
                            "issuingCountry": "HK",
                            "commitment": "hmac-sha256:598LiBI1TG-j48KAKyYjrfiof6zgBK1jLVDQnDysOdQ",
                        },
                        "degree": {
                            "type": "Degree",
                            "level": "master",
                            "fieldOfStudy": "Financial Technology",
                            "awardDate": "2026-06-30",
                        },
                    },
                }
            ]
        },
    )


def _body(media: str, schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its body itself (so that a malformed one
    is refused with the protocol's error, not FastAPI's)."""
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {**schema, "examples": [example]}}},
        }
    }


_TOKEN_BODY = _body(
    "application/x-www-form-urlencoded",
    {
        "type": "object",
        "required": ["grant_type", "pre-authorized_code", "tx_code"],
        "properties": {
            "grant_type": {"type": "string", "enum": [PRE_AUTHORIZED_GRANT]},
            "pre-authorized_code": {"type": "string"},
            "tx_code": {"type": "string", "pattern": "^[0-9]{6}$"},
        },
    },
    {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": "...", "tx_code": "493536"},
)
_CREDENTIAL_BODY = _body(
    "application/json",
    {
        "type": "object",
        "required": ["credential_configuration_id", "proofs"],
        "properties": {
            "credential_configuration_id": {"type": "string"},
            "proofs": {
                "type": "object",
                "required": ["jwt"],
                "properties": {
                    "jwt": {"type": "array", "items": {"type": "string"}, "maxItems": 1}
                },
            },
        },
    },
    {
        "credential_configuration_id": "DegreeCredential_ldp_vc",
        "proofs": {"jwt": ["eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCIsLi4ufQ..."]},
    },
)
_DEFERRED_BODY = _body(
    "application/json",
    {
        "type": "object",
        "required": ["transaction_id"],
        "properties": {"transaction_id": {"type": "string"}},
    },
    {"transaction_id": "8xLOxBtZp8"},
)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise OAuthError("invalid_credential_request", "the body must be JSON") from exc


@router.get(
    "/.well-known/openid-credential-issuer/institutions/{slug}",
    summary="OpenID4VCI Credential Issuer Metadata of an institution",
)
def credential_issuer_metadata(slug: str, oid4vci: Oid4vciDep) -> dict[str, Any]:
    return oid4vci.issuer_metadata(slug)


@router.get(
    "/.well-known/oauth-authorization-server/institutions/{slug}",
    summary="OAuth 2.0 Authorization Server Metadata (RFC 8414) of an institution",
)
def authorization_server_metadata(slug: str, oid4vci: Oid4vciDep) -> dict[str, Any]:
    return oid4vci.authorization_server_metadata(slug)


@router.post(
    "/credential-offers",
    status_code=201,
    summary="Offer a credential to a wallet (OpenID4VCI, pre-authorized code)",
    responses={
        201: {"description": "The offer URI, its 6-digit transaction code (shown once), expiry"},
        403: {"description": "Key lacks 'issue', type not accredited, institution suspended"},
        422: {"description": "Schema violation naming the field (credentialSubject.id given)"},
    },
)
def create_credential_offer(
    payload: CredentialOfferRequest, caller: CallerDep, oid4vci: Oid4vciDep
) -> Response:
    response = respond(oid4vci.create_offer(caller, payload.model_dump(exclude_none=True)))
    response.headers.update(NO_STORE)
    return response


@router.post(
    "/credential-offers/{offer_id}/withdraw",
    summary="Withdraw one credential offer not yet redeemed",
    responses={
        200: {"description": "{id, status: withdrawn}: its codes redeem nothing from now on"},
        403: {"description": "Key lacks 'issue'"},
        404: {"description": "No such offer of the caller's institution"},
        409: {"description": "Already redeemed by a wallet: revoke its credential instead"},
    },
)
def withdraw_credential_offer(offer_id: str, caller: CallerDep, oid4vci: Oid4vciDep) -> Response:
    return ORJSONResponse(oid4vci.withdraw_offer(caller, offer_id), headers=NO_STORE)


@router.get(
    "/credential-offers/{offer_id}/qr.png",
    response_class=Response,
    summary="The offer URI as a QR code (PNG)",
)
def credential_offer_qr(offer_id: str, oid4vci: Oid4vciDep) -> Response:
    return Response(oid4vci.offer_qr_png(offer_id), media_type="image/png", headers=NO_STORE)


@router.get(
    "/institutions/{slug}/credential-offers/{offer_id}",
    summary="The Credential Offer object (by reference from the offer URI)",
)
def credential_offer(slug: str, offer_id: str, oid4vci: Oid4vciDep) -> Response:
    return ORJSONResponse(oid4vci.offer_object(slug, offer_id), headers=NO_STORE)


@router.post(
    "/institutions/{slug}/token",
    summary="Token endpoint: pre-authorized code and transaction code for an access token",
    responses={400: {"description": "RFC 6749 error: invalid_grant, invalid_request..."}},
    openapi_extra=_TOKEN_BODY,
)
async def token(slug: str, request: Request, oid4vci: Oid4vciDep) -> Response:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the token request as a form")
    try:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise OAuthError("invalid_request", "the form is not UTF-8") from exc
    answer = await run_in_threadpool(oid4vci.token, slug, form)
    return ORJSONResponse(answer, headers=NO_STORE)


@router.post("/institutions/{slug}/nonce", summary="A c_nonce for the key proof (single use)")
async def nonce(slug: str, oid4vci: Oid4vciDep) -> Response:
    await run_in_threadpool(oid4vci.issuer_metadata, slug)  # an unknown institution: 404
    value = await run_in_threadpool(oid4vci.nonce)
    return ORJSONResponse({"c_nonce": value}, headers=NO_STORE)


@router.post(
    "/institutions/{slug}/credential",
    status_code=202,
    summary="Credential endpoint: issue for the proved key; deferred until anchored",
    responses={
        202: {"description": "{transaction_id, interval}: fetch at the deferred endpoint"},
        400: {"description": "invalid_proof, invalid_nonce, unknown_credential_configuration"},
        401: {"description": "invalid_token"},
    },
    openapi_extra=_CREDENTIAL_BODY,
)
async def credential(slug: str, request: Request, oid4vci: Oid4vciDep) -> Response:
    body = await _json_body(request)
    pending = await run_in_threadpool(oid4vci.begin_credential, slug, _bearer(request), body)
    try:
        outcome = await issue_credential(
            request.app.state.issue_groups,
            pending.principal,
            pending.idempotency_key,
            IssueRequest.model_validate(pending.request),
        )
    except IssuerError as exc:
        raise oid4vci.refused(exc) from exc
    answer = await run_in_threadpool(oid4vci.finish_credential, pending, outcome)
    return ORJSONResponse(answer, status_code=202, headers=NO_STORE)


@router.post(
    "/institutions/{slug}/deferred_credential",
    summary="Deferred credential endpoint: the anchored credential once anchored",
    responses={
        200: {"description": "{credentials: [{credential}]}: the anchored credential"},
        202: {"description": "{transaction_id, interval}: not anchored yet"},
    },
    openapi_extra=_DEFERRED_BODY,
)
async def deferred_credential(slug: str, request: Request, oid4vci: Oid4vciDep) -> Response:
    body = await _json_body(request)
    ready, answer = await run_in_threadpool(oid4vci.deferred, slug, _bearer(request), body)
    return ORJSONResponse(answer, status_code=200 if ready else 202, headers=NO_STORE)
