"""OpenID4VP 1.0 with DCQL on the verifier service (docs/openid4vc.md, "Presentation").

- ``POST /oid4vp/requests`` ``{profession, applicationDate?, idNumber?}``: the officer's
  request: 201 ``{id, authorizationRequest, requestUri, qr, expiresAt}``; the
  ``openid4vp://`` URI carries ``client_id`` and ``request_uri`` (by reference);
- ``GET /oid4vp/requests/{ref}/request.jwt``: the request object, a JWT signed EdDSA with the
  verifier's key (``typ`` ``oauth-authz-req+jwt``, ``kid`` its did:key DID URL; ``client_id``
  ``decentralized_identifier:<did:key>``), its DCQL query built from the profession
  (`talentproof.verifier.dcql`);
- ``POST /oid4vp/responses/{ref}``: the wallet's ``direct_post`` (``vp_token``, ``state``);
- ``GET /oid4vp/requests/{id}`` (the officer's page polls it): ``state`` pending, answered or
  expired, the ``outcome`` and the ``report``; ``GET /oid4vp/requests/{id}/qr.png``.

``id`` is the officer's handle (it reads the verdict) and ``ref`` the wallet's (in the QR
code): `talentproof.verifier.oid4vp_store`.

Holder binding: every presentation of the ``vp_token`` must verify with ``challenge`` = the
request's ``nonce`` and ``domain`` = ``client_id``, be signed by its holder, hold only
credentials about that holder, and all presentations must share one holder. Then the
credentials are verified as one application for the request's profession by the engine and
outcome of ``/api/v1/applications/evaluate`` (check 10 binds them to the nonce and
``client_id`` again). Refused with 400 ``{error: "invalid_request", error_description}`` and
noted on the request for the officer's page: a response whose ``state`` or nonce is another
request's, to an expired or already answered request (a replay), by another key than the
credentials' subject. The request-object and response endpoints answer CORS for any origin,
without credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from talentproof.credential import presentation as c_presentation
from talentproof.credential.errors import (
    ChallengeMismatch,
    CredentialError,
    DomainMismatch,
    HolderMismatch,
)
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.qr import render_png
from talentproof.ratelimit import client_address
from talentproof.verifier.dcql import dcql_query
from talentproof.verifier.engine import parse_json
from talentproof.verifier.errors import InputError, VerifierError
from talentproof.verifier.inputs import item_from_json
from talentproof.verifier.oid4vp_store import (
    ANSWERED,
    EXPIRED,
    PresentationRequest,
    RequestsFull,
    RequestStore,
)
from talentproof.verifier.receipt import sign_receipt
from talentproof.verifier.requirements import Domain

if TYPE_CHECKING:
    from talentproof.verifier.shared_store import DbRequestStore

router = APIRouter(prefix="/oid4vp", tags=["OpenID4VP"])

CLIENT_ID_PREFIX = "decentralized_identifier:"
SELF_ISSUED = "https://self-issued.me/v2"
REQUEST_OBJECT_TYPE = "application/oauth-authz-req+jwt"
CORS = {"Access-Control-Allow-Origin": "*"}
MAX_REFUSAL_CHARS = 300
"""The longest note a refused response leaves for the officer's page (it quotes the sender)."""
CORS_PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "600",
}
CLIENT_METADATA = {
    "client_name": "TalentProof verifier",
    "vp_formats_supported": {
        "ldp_vc": {
            "proof_type_values": ["DataIntegrityProof"],
            "cryptosuite_values": ["eddsa-jcs-2022"],
        }
    },
}


@dataclass
class Oid4vpState:
    """The verifier's key (its client identifier) and its open requests."""

    key: Ed25519SigningKey
    store: RequestStore | DbRequestStore
    public_url: str | None = None

    @property
    def client_id(self) -> str:
        """``decentralized_identifier:<the verifier's did:key>``."""
        return CLIENT_ID_PREFIX + self.key.public_key.did_key


def oid4vp_state(
    key: Ed25519SigningKey | None,
    *,
    ttl: float,
    max_open: int,
    per_client: int,
    public_url: str | None = None,
    database_url: str | None = None,
    claim_s: float = 60.0,
) -> Oid4vpState:
    """The state the router reads (``app.state.oid4vp``). ``key`` is the service's own key
    (``verifier-key.json``); without one a key is made for this process (its client_id then
    changes with every start; replicas share one key). The requests are kept in this
    process's memory, or with ``database_url`` in a database the replicas share
    (`shared_store.DbRequestStore`; ``claim_s``: when a claim whose replica died lapses)."""
    store: RequestStore | DbRequestStore
    if database_url is None:
        store = RequestStore(ttl, max_open=max_open, per_client=per_client)
    else:
        from talentproof.verifier.shared_store import (  # noqa: PLC0415 (replicas only)
            DbRequestStore,
            shared_engine,
        )

        store = DbRequestStore(
            shared_engine(database_url),
            ttl,
            max_open=max_open,
            per_client=per_client,
            claim_s=claim_s,
        )
    return Oid4vpState(
        key=key or Ed25519SigningKey.generate(),
        store=store,
        public_url=public_url.rstrip("/") if public_url else None,
    )


# --------------------------------------------------------------------------- schemas


def _date_text(value: Any) -> Any:
    """Only a YYYY-MM-DD text is a date here (not a number read as a UNIX time)."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10 and value.isascii():
        try:
            date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ValueError("expected a date as YYYY-MM-DD text")


class CreateRequest(BaseModel):
    """The officer's request: which profession the applicant's wallet is asked for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"profession": "hk-dlt-expert", "idNumber": "A123456(7)"}]},
    )

    profession: str = Field(..., description="Talent-list profession id, e.g. hk-dlt-expert.")
    applicationDate: Annotated[date | None, BeforeValidator(_date_text)] = Field(
        None, description="Judge the facts as of this date (YYYY-MM-DD); default the as-of date."
    )
    idNumber: str | None = Field(
        None,
        max_length=64,
        description="The travel document's number, compared with the commitment.",
    )


class RequestCreated(BaseModel):
    """A new request: show ``authorizationRequest`` (or the ``qr`` image) to the applicant and
    poll ``GET /oid4vp/requests/{id}``."""

    id: str
    authorizationRequest: str
    requestUri: str
    qr: str
    expiresAt: str


class Refusal(BaseModel):
    """A wallet response that was refused."""

    at: str
    error: str
    error_description: str


class RequestStatus(BaseModel):
    """Where a request stands: ``pending`` (no response taken yet), ``answered`` (``outcome``
    and ``report`` as ``/api/v1/applications/evaluate`` answers them) or ``expired``."""

    id: str
    state: str
    profession: str
    expiresAt: str
    authorizationRequest: str
    qr: str
    outcome: dict[str, Any] | None
    report: dict[str, Any] | None
    refusals: list[Refusal]


class OAuthErrorBody(BaseModel):
    """An OpenID4VP / OAuth 2.0 error response's body (the OpenAPI model; the issuer's exception is
    `issuer.usecases.oid4vci.OAuthError`)."""

    error: str
    error_description: str


class Detail(BaseModel):
    """Why a request was refused: a sentence, or FastAPI's list of field errors."""

    detail: str | list[dict[str, Any]]


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "No such request (unknown, or forgotten since)."}
}


# --------------------------------------------------------------------------- helpers


def _oid(request: Request) -> Oid4vpState:
    state: Oid4vpState = request.app.state.oid4vp
    return state


def _service(request: Request) -> Any:
    return request.app.state.verifier_state


def _base(request: Request, st: Oid4vpState) -> str:
    """The base of the URIs a wallet is given: the configured public URL, else the address the
    service was reached at as the server knows it, never the ``Host`` header (anyone may ask for
    a request: a forged Host made the verifier sign a response_uri on the asker's host, where an
    applicant's wallet then sent its credentials and salt). Only without a server address (a
    Unix socket, where a proxy in front must set the public URL) is the Host header read."""
    if st.public_url:
        return st.public_url
    server = request.scope.get("server")
    scheme = request.url.scheme
    if server and server[1] is not None:
        host, port = str(server[0]), int(server[1])
        host = f"[{host}]" if ":" in host else host
        default = {"http": 80, "https": 443}.get(scheme)
        return f"{scheme}://{host}" + ("" if port == default else f":{port}")
    return str(request.base_url).rstrip("/")


def _urls(base: str, req: PresentationRequest, client_id: str) -> tuple[str, str, str]:
    """(request_uri, the openid4vp:// authorization request, the QR image's URL)."""
    request_uri = f"{base}/oid4vp/requests/{req.ref}/request.jwt"
    auth = (
        f"openid4vp://?client_id={quote(client_id, safe='')}"
        f"&request_uri={quote(request_uri, safe='')}"
    )
    return request_uri, auth, f"{base}/oid4vp/requests/{req.id}/qr.png"


def request_object(
    st: Oid4vpState, req: PresentationRequest, base: str, query: dict[str, Any]
) -> str:
    """The signed request object (JWT) of ``req``."""
    now = int(datetime.now(UTC).timestamp())
    # no "iss": OpenID4VP needs none, and a did-signed request object's iss would have to be
    # the bare DID, not the client_id (the @openid4vc/openid4vp library refuses the mismatch)
    payload = {
        "aud": SELF_ISSUED,
        "iat": now,
        "exp": int(req.expires_at.timestamp()),
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": f"{base}/oid4vp/responses/{req.ref}",
        "client_id": st.client_id,
        "nonce": req.nonce,
        "state": req.state,
        "dcql_query": query,
        "client_metadata": CLIENT_METADATA,
    }
    key = Ed25519PrivateKey.from_private_bytes(st.key.seed)
    headers = {"typ": "oauth-authz-req+jwt", "kid": st.key.public_key.verification_method}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


def _oauth_error(description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=status,
        headers={**CORS, "Cache-Control": "no-store"},
    )


def _not_found(what: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"no such {what}: unknown, or forgotten since it expired"},
        status_code=404,
        headers=CORS,
    )


def _binding_problem(
    vp_token: str, req: PresentationRequest, client_id: str, query_ids: list[str], limits: Any
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """The presentations of a ``vp_token`` (labelled) and None, or why the response is refused."""
    try:
        token = parse_json(
            vp_token,
            what="vp_token",
            limit=limits.max_credentials * limits.max_document_bytes,
        )
    except InputError as exc:
        return [], str(exc)
    if not isinstance(token, dict) or not token:
        return [], "vp_token: expected a JSON object keyed by the request's credential query ids"
    found: list[tuple[str, dict[str, Any]]] = []
    for qid, values in token.items():
        if qid not in query_ids:
            return [], (
                f"vp_token: {qid!r} is not a credential query of this request "
                f"(expected {', '.join(query_ids)})"
            )
        if not isinstance(values, list) or not values:
            return [], f"vp_token.{qid}: expected an array of presentations"
        for i, vp in enumerate(values):
            if isinstance(vp, str):  # read as strictly as the token (duplicate keys refused)
                try:
                    vp = parse_json(
                        vp,
                        what=f"vp_token.{qid}[{i}]",
                        limit=limits.max_credentials * limits.max_document_bytes,
                    )
                except InputError as exc:
                    return [], str(exc)
            if not isinstance(vp, dict):
                return [], f"vp_token.{qid}[{i}]: expected a presentation (a JSON object)"
            found.append((f"{qid} {i + 1}", vp))
    if len(found) > limits.max_credentials:
        return [], f"vp_token: {len(found)} presentations; the limit is {limits.max_credentials}"
    holders: set[str] = set()
    for label, vp in found:
        try:
            c_presentation.verify_presentation(vp, challenge=req.nonce, domain=client_id)
        except ChallengeMismatch:
            return [], (
                f"presentation {label}: its challenge is not this request's nonce "
                "(a response to another request)"
            )
        except DomainMismatch:
            return (
                [],
                f"presentation {label}: its domain is not this verifier's client_id {client_id}",
            )
        except HolderMismatch as exc:
            return [], (
                f"presentation {label}: presented by another key than the credentials' subject "
                f"({exc})"
            )
        except (CredentialError, ValueError) as exc:
            return [], f"presentation {label}: the holder's proof does not verify ({exc})"
        holders.add(str(vp.get("holder")))
    if len(holders) > 1:
        return [], (
            "the presentations are signed by different holder keys "
            f"({', '.join(sorted(holders))}): one holder answers a request"
        )
    return found, None


def _status_body(st: Oid4vpState, req: PresentationRequest, base: str) -> dict[str, Any]:
    status = st.store.status(req)
    _, auth, qr = _urls(base, req, st.client_id)
    report = req.report if status == ANSWERED else None
    return {
        "id": req.id,
        "state": status if status in (ANSWERED, EXPIRED) else "pending",
        "profession": req.profession,
        "expiresAt": req.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "authorizationRequest": auth,
        "qr": qr,
        "outcome": report.get("outcome") if report else None,
        "report": report,
        "refusals": list(req.refusals),
    }


# --------------------------------------------------------------------------- routes


@router.post(
    "/requests",
    status_code=201,
    response_model=RequestCreated,
    summary="OpenID4VP: create a presentation request for a profession",
    responses={
        400: {"model": Detail, "description": "The request body could not be read."},
        413: {"model": Detail, "description": "The request body is too large."},
        422: {"model": Detail, "description": "An unknown profession or a malformed body."},
        429: {"model": Detail, "description": "Too many requests (Retry-After)."},
    },
)
def create_request(body: Annotated[CreateRequest, Body()], request: Request) -> Any:
    """A request for the credentials ``profession`` needs (a DCQL query from its criteria),
    signed by the verifier, by reference; poll ``GET /oid4vp/requests/{id}`` for the verdict."""
    st, svc = _oid(request), _service(request)
    profession = svc.policy.profession(body.profession)  # UnknownProfession: 422
    try:
        req = st.store.create(
            client_address(request.scope, svc.settings.limits.trusted_proxies),
            profession.id,
            body.applicationDate,
            body.idNumber,
        )
    except RequestsFull as exc:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
        )
    base = _base(request, st)
    st.store.set_request_object(req, request_object(st, req, base, dcql_query(profession)))
    request_uri, auth, qr = _urls(base, req, st.client_id)
    return JSONResponse(
        {
            "id": req.id,
            "authorizationRequest": auth,
            "requestUri": request_uri,
            "qr": qr,
            "expiresAt": req.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        status_code=201,
    )


@router.get(
    "/requests/{ref}/request.jwt",
    summary="OpenID4VP: the signed request object (by reference)",
    response_class=Response,
    responses={
        200: {"content": {REQUEST_OBJECT_TYPE: {"schema": {"type": "string"}}}},
        **_NOT_FOUND,
    },
)
def get_request_object(ref: str, request: Request) -> Response:
    """The request object the ``request_uri`` names (CORS: any origin)."""
    req = _oid(request).store.by_ref(ref)
    if req is None:
        return _not_found("request")
    return Response(
        req.request_object,
        media_type=REQUEST_OBJECT_TYPE,
        headers={**CORS, "Cache-Control": "no-store"},
    )


@router.get(
    "/requests/{id}",
    response_model=RequestStatus,
    summary="OpenID4VP: where a request stands (the officer's page polls it)",
    responses=_NOT_FOUND,
)
def get_request(id: str, request: Request) -> Any:
    """``pending``, ``answered`` (with the outcome and report) or ``expired``; refusals."""
    st = _oid(request)
    req = st.store.get(id)
    if req is None:
        return _not_found("request")
    return JSONResponse(
        _status_body(st, req, _base(request, st)), headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/requests/{id}/qr.png",
    summary="OpenID4VP: the request's QR code",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_NOT_FOUND},
)
def get_request_qr(id: str, request: Request) -> Response:
    """The ``openid4vp://`` authorization request as a QR image, for a wallet to scan."""
    st = _oid(request)
    req = st.store.get(id)
    if req is None:
        return _not_found("request")
    _, auth, _ = _urls(_base(request, st), req, st.client_id)
    return Response(render_png(auth), media_type="image/png")


_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["vp_token", "state"],
                    "properties": {
                        "vp_token": {
                            "type": "string",
                            "description": "JSON: presentations by credential query id",
                        },
                        "state": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/responses/{ref}",
    summary="OpenID4VP: the wallet's response (direct_post)",
    openapi_extra=_FORM,
    responses={
        200: {"description": "Accepted: the verdict goes to the officer's page."},
        400: {"model": OAuthErrorBody, "description": "Refused (said on the officer's page too)."},
        404: {"model": OAuthErrorBody, "description": "No such request."},
        413: {"model": Detail, "description": "The request body is too large."},
        429: {"model": Detail, "description": "Too many verifications (Retry-After)."},
    },
)
async def post_response(ref: str, request: Request) -> Response:
    """Check the holder binding, then verify the credentials as one application."""
    st, svc = _oid(request), _service(request)
    req = st.store.by_ref(ref)
    if req is None:
        return _oauth_error("no such request: unknown, or forgotten since it expired", 404)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(
            "expected a direct_post response: an application/x-www-form-urlencoded form "
            "with vp_token and state"
        )
    try:
        form = await request.form()
    except Exception as exc:  # a body the form parser cannot read
        return _oauth_error(f"the form could not be read ({type(exc).__name__})")

    def refuse(why: str) -> Response:
        # the reason may quote the sender (the wallet's error text, a proof's members): what
        # it leaves on the officer's page and in the store is bounded
        if len(why) > MAX_REFUSAL_CHARS:
            why = why[: MAX_REFUSAL_CHARS - 1] + "…"
        st.store.refuse(req, why)
        return _oauth_error(why)

    state, vp_token = form.get("state"), form.get("vp_token")
    if state != req.state:
        return refuse("the response's state is not this request's: a response to another request")
    status = st.store.status(req)
    if status == EXPIRED:
        return refuse("this request has expired: ask the officer for a new one")
    if status != "pending":
        return refuse("this request was already answered: a response is taken once (a replay)")
    if not isinstance(vp_token, str) or not vp_token:
        error = form.get("error")
        if isinstance(error, str) and error:
            return refuse(f"the wallet answered {error}: {form.get('error_description') or ''}")
        return refuse("vp_token is missing")
    profession = svc.policy.profession(req.profession)
    query_ids = [q["id"] for q in dcql_query(profession)["credentials"]]
    presentations, problem = _binding_problem(vp_token, req, st.client_id, query_ids, svc.limits)
    if problem is not None:
        return refuse(problem)
    problem = st.store.claim(req)
    if problem is not None:
        return refuse(problem)
    try:
        report = await run_in_threadpool(_verify, svc, req, st.client_id, presentations)
    except VerifierError as exc:
        st.store.release(req)
        return refuse(str(exc))
    except BaseException:
        st.store.release(req)
        raise
    if not st.store.answer(req, report):  # a slow replica's lapsed claim, taken by another
        return refuse(
            "this request was answered by another response while this one was verified "
            "(a response is taken once)"
        )
    return JSONResponse({}, headers={**CORS, "Cache-Control": "no-store"})


def _verify(
    svc: Any, req: PresentationRequest, client_id: str, presentations: list[tuple[str, Any]]
) -> dict[str, Any]:
    """The application's report, as ``/api/v1/applications/evaluate`` makes it."""
    items = [item_from_json(json.dumps(vp), label, svc.limits) for label, vp in presentations]
    report = svc.verifier.verify_application(
        items,
        Domain(client_id),
        challenge=req.nonce,
        policy=svc.policy,
        profession=req.profession,
        application_date=req.application_date,
        id_number=req.id_number,
    )
    out: dict[str, Any] = report.to_json()
    if svc.receipt_key is not None:
        out["receipt"] = sign_receipt(report, svc.receipt_key, trust=svc.verifier.trust)
    return out


@router.options("/requests/{ref}/request.jwt", include_in_schema=False)
@router.options("/responses/{ref}", include_in_schema=False)
def preflight(ref: str) -> Response:
    """CORS preflight: any origin, no credentials."""
    return Response(status_code=204, headers=CORS_PREFLIGHT)


__all__ = [
    "CLIENT_ID_PREFIX",
    "MAX_REFUSAL_CHARS",
    "Oid4vpState",
    "oid4vp_state",
    "request_object",
    "router",
]
