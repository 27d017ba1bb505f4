"""The W3C VC API (VCALM) verifier endpoints, over the one verification engine.

- ``POST /credentials/verify``: ``{verifiableCredential, options}``;
- ``POST /presentations/verify``: ``{verifiablePresentation, options: {challenge, domain}}``.

Both run the documents through the path ``POST /api/v1/verify`` takes (`inputs.item_from_json`,
the service's `engine.Verifier` built by ``Verifier.from_deployment``, its challenge store) and
translate the product's one outcome (`report.outcome_of`) into a ``VerificationResult``
``{verified, checks, warnings, errors}``:

- VALID: 200, ``verified`` true, ``errors`` empty;
- INVALID: 400, ``verified`` false. A credential that is not anchored yet (issued, pending its
  batch) is INVALID for the product (check 4 fails: "carries no anchor proof"), so it answers 400 with
  ``merkle-inclusion`` in ``errors``: a verifier never says verified for what the product's own
  verdict does not call valid; ask again once the issuer has anchored it;
- NOT_VERIFIABLE: 503 (with ``Retry-After``) when the ledger could not be read (a check ended
  in ``error``), else 400 (an input that could not be read).

``checks`` names every check that passed (for every credential of a presentation), ``errors``
each failed check (``"<name>: <why>"``, with the credential's place in a presentation),
``warnings`` each skipped one (why it did not run). Check names: parse, schema, proof,
merkle-inclusion, anchor, issuer-accreditation, signing-key, status, expiration,
holder-binding (presentations), same-applicant (several credentials).

A request that is not a VC API verify request (a body that is not JSON or not an object,
``verifiableCredential`` / ``verifiablePresentation`` missing or not an object, a member or option
these endpoints do not take, an option of the wrong type) is refused before any check with 400
and a ``VerificationResult`` whose one error names the member and what was expected, the same
sentence as a VC Data Model ProblemDetails in ``problemDetails`` (``PARSING_ERROR`` for a body
that is not JSON, else ``MALFORMED_VALUE_ERROR``): `VcApiRoute`, on these two routes only (the
service's own ``/api/v1`` routes keep their 422 ``{"detail"}``).

Authentication: none by default (the routes are public, as the page and ``/api/v1`` are, under
the verification rate limit). With ``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE`` set
(`talentproof.verifier.vc_api_tokens`), each request needs ``Authorization: Bearer <token>``, a
token whose hash is in the file, checked before the body is read: a missing or wrong token is
refused 401 with ``WWW-Authenticate: Bearer`` (RFC 6750; ``error="invalid_token"`` for a token
that is not one of the verifier's) and a `VcApiTokenRequired` body, nothing verified, the one error
also as a ProblemDetails.

A presentation is bound when ``options.challenge`` is given: it must be a challenge this
verifier issued (``POST /api/v1/challenges``, single use) and ``options.domain``, when given,
this verifier's domain. Without a challenge the holder's proof is still verified, and a warning
says the presentation is not bound (it may be a replayed copy); an ``options.domain`` is then
still compared with the domain the holder's proof names (one made for another verifier is
refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from talentproof.bodyerrors import explain_body_error
from talentproof.credential.errors import CredentialError
from talentproof.credential.integrity import select_proof
from talentproof.verifier.engine import ApplicationReport
from talentproof.verifier.inputs import item_from_json
from talentproof.verifier.jsonbody import StrictJsonRoute
from talentproof.verifier.report import CheckId, CheckResult, Outcome, Status, Verdict

#: The VC API name of each check.
CHECK_NAMES: dict[CheckId, str] = {
    CheckId.PARSE: "parse",
    CheckId.SCHEMA: "schema",
    CheckId.SIGNATURE: "proof",
    CheckId.INCLUSION: "merkle-inclusion",
    CheckId.ANCHOR: "anchor",
    CheckId.ISSUER: "issuer-accreditation",
    CheckId.KEY: "signing-key",
    CheckId.STATUS: "status",
    CheckId.VALIDITY: "expiration",
    CheckId.BINDING: "holder-binding",
    CheckId.SAME_APPLICANT: "same-applicant",
    CheckId.IDENTITY_DOCUMENT: "identity-document",
}

_UNBOUND = (
    "holder-binding: no options.challenge was given: the holder's proof verified, but the "
    "presentation is not bound to this verification (it may be a replayed copy); get a "
    "challenge from POST /api/v1/challenges"
)


class VerifyCredentialOptions(BaseModel):
    """Options of a credential verification. ``checks`` is accepted for compatibility and
    changes nothing: every check runs."""

    model_config = ConfigDict(extra="forbid")
    checks: list[str] | None = Field(None, max_length=32, description="ignored: every check runs")


class VerifyPresentationOptions(VerifyCredentialOptions):
    """Options of a presentation verification: the challenge this verifier issued and its
    domain."""

    challenge: str | None = Field(
        None, max_length=256, description="A challenge from POST /api/v1/challenges"
    )
    domain: str | None = Field(
        None, max_length=256, description="This verifier's domain (the challenge answer's)"
    )


class VerifyCredentialRequest(BaseModel):
    """VCALM VerifyCredentialRequest."""

    model_config = ConfigDict(extra="forbid")
    verifiableCredential: dict[str, Any]
    options: VerifyCredentialOptions = Field(default_factory=VerifyCredentialOptions)


class VerifyPresentationRequest(BaseModel):
    """VCALM VerifyPresentationRequest."""

    model_config = ConfigDict(extra="forbid")
    verifiablePresentation: dict[str, Any]
    options: VerifyPresentationOptions = Field(default_factory=VerifyPresentationOptions)


class ProblemDetails(BaseModel):
    """A VC Data Model problem (``type`` its URL, ``title`` its code, ``detail`` the sentence)."""

    type: str
    title: str
    detail: str


class MalformedRequest(BaseModel):
    """400 for a request that is not a VC API verify request: nothing was verified; the one
    error names the member and what was expected, also as ProblemDetails."""

    verified: bool = False
    checks: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    errors: list[str]
    problemDetails: list[ProblemDetails]


class VcApiTokenRequired(MalformedRequest):
    """401 for a request without one of this verifier's VC API tokens (only when the service has
    tokens configured): nothing was verified; the one error says what to send, also as
    ProblemDetails (``about:blank``, ``Unauthorized``: RFC 9457's problem of the status itself)."""


class RequestProblem(BaseModel):
    """Why a request was refused before any verification (the service's ``{"detail": ...}``:
    a sentence, or FastAPI's list of field errors)."""

    detail: str | list[dict[str, Any]]


class VerificationResult(BaseModel):
    """VCALM VerificationResult: ``verified`` only when the product's verdict is VALID."""

    verified: bool
    checks: list[str]
    warnings: list[str]
    errors: list[str]


#: VC Data Model 2.0 problem types (section "Problem Details").
PARSING_ERROR = "https://www.w3.org/TR/vc-data-model#PARSING_ERROR"
MALFORMED_VALUE_ERROR = "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"

#: What each member of a verify request is, said when it is missing or malformed.
_EXPECTED = {
    "verifiableCredential": "the credential to verify, a JSON object",
    "verifiablePresentation": "the presentation to verify, a JSON object",
    "options": "a JSON object of options",
    "options.checks": "a list of check names (accepted, ignored: every check runs)",
    "options.challenge": "a string, a challenge from POST /api/v1/challenges",
    "options.domain": "a string, this verifier's domain (the challenge answer's)",
}


def _document_kind(model: type[BaseModel], body: Any) -> str | None:
    """The kind of document ("credential", "presentation") a request body is, when it is one
    posted without the VC API's wrapper member, else None. Only its shape is looked at: nothing of it is verified."""
    if not isinstance(body, dict) or body.keys() & model.model_fields.keys():
        return None
    if not ({"@context", "proof", "credentialSubject"} & body.keys()):
        return None
    types = body.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if "VerifiablePresentation" in types or "verifiableCredential" in body:
        return "presentation"
    return "credential"


def _wrapper_hint(model: type[BaseModel], kind: str) -> str:
    """What to send instead of a bare ``kind`` posted to the route taking ``model``."""
    member = next(iter(model.model_fields))  # verifiableCredential / verifiablePresentation
    wrapper = {"credential": "verifiableCredential", "presentation": "verifiablePresentation"}[kind]
    shape = f'{{"{wrapper}": <the {kind}>}}'
    if wrapper == member:
        return f"; the body looks like a {kind}: send it wrapped, {shape}"
    route = "POST /credentials/verify" if kind == "credential" else "POST /presentations/verify"
    return f"; the body looks like a {kind}: send it to {route} wrapped, {shape}"


def malformed_problem(
    model: type[BaseModel],
    errors: Sequence[Mapping[str, Any]],
    content_type: str,
    body: Any = None,
) -> tuple[str, str]:
    """``(problem type, sentence)`` of the first validation error of a ``model`` request body:
    the member, what is wrong, what was expected (never the offending input itself;
    `talentproof.bodyerrors.explain_body_error`, as the issuer's VC API says it); a body sent
    as another media type than JSON is told to be sent as JSON; a bare credential or
    presentation (``body``, the parsed request) is told which wrapper to send it in."""
    explained = explain_body_error(model, errors, _EXPECTED)
    kind = _document_kind(model, body)
    if kind is not None and explained.where == "member":
        return MALFORMED_VALUE_ERROR, explained.sentence + _wrapper_hint(model, kind)
    if explained.where == "json":
        return PARSING_ERROR, explained.sentence
    if explained.where == "body":
        media = content_type.partition(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            shape = f"a JSON object {{{', '.join(model.model_fields)}}}"
            return MALFORMED_VALUE_ERROR, (
                f"the body was sent as {media[:100]}: send {shape} with "
                "Content-Type: application/json"
            )
    return MALFORMED_VALUE_ERROR, explained.sentence


def malformed_answer(problem: str, sentence: str) -> JSONResponse:
    """The 400 `MalformedRequest` of a request refused before any check."""
    body = MalformedRequest(
        errors=[sentence],
        problemDetails=[
            ProblemDetails(type=problem, title=problem.rpartition("#")[2], detail=sentence)
        ],
    )
    return JSONResponse(body.model_dump(), status_code=400)


#: The realm of the VC API's bearer challenge.
REALM = "talentproof-verifier VC API"
_SEND_TOKEN = (
    "send 'Authorization: Bearer <token>' with a VC API token of this verifier (its operator "
    "issues them)"
)


def _bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme case-insensitive,
    RFC 7235); None when the header is absent or of another scheme."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and _ else None


def unauthenticated(request: Request) -> JSONResponse | None:
    """The 401 answer of a request to a VC API route without one of the service's VC API tokens;
    None when it carries one, or when the service has none configured (the VC API is open)."""
    tokens = _state(request).settings.vc_api_tokens
    if tokens is None:
        return None
    header = request.headers.get("authorization")
    token = _bearer_token(header)
    if token is None:
        sentence = f"authorization: this verifier's VC API needs a token: {_SEND_TOKEN}"
        challenge = f'Bearer realm="{REALM}"'
    elif tokens.accepts(token):
        return None
    else:
        sentence = (
            f"authorization: the bearer token is not a VC API token of this verifier: {_SEND_TOKEN}"
        )
        challenge = f'Bearer realm="{REALM}", error="invalid_token"'
    body = VcApiTokenRequired(
        errors=[sentence],
        problemDetails=[ProblemDetails(type="about:blank", title="Unauthorized", detail=sentence)],
    )
    return JSONResponse(
        body.model_dump(),
        status_code=401,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )


class VcApiRoute(StrictJsonRoute):
    """A VC API verify route: with VC API tokens configured, a request without one is refused
    401 (`unauthenticated`) before its body is read; a request body FastAPI's validation refuses
    (not JSON, a duplicate key (`StrictJsonRoute`), a member missing or of the wrong type) is
    answered 400 `MalformedRequest` here, instead of the service's 422 ``{"detail"}``, which the
    product's own routes keep."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        annotation = self.body_field.field_info.annotation if self.body_field else None
        model: type[BaseModel] = BaseModel
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation

        async def vc_api_handler(request: Request) -> Response:
            refused = unauthenticated(request)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except RequestValidationError as exc:
                content_type = request.headers.get("content-type", "")
                return malformed_answer(
                    *malformed_problem(model, exc.errors(), content_type, exc.body)
                )
            except HTTPException as exc:  # FastAPI's "error parsing the body" (e.g. not UTF-8)
                if exc.status_code != 400:
                    raise
                shape = f"a JSON object {{{', '.join(model.model_fields)}}}"
                return malformed_answer(
                    PARSING_ERROR, f"the body could not be read ({exc.detail}): expected {shape}"
                )

        return vc_api_handler


router = APIRouter(tags=["VC API"], route_class=VcApiRoute)

_DID = "did:web:issuer.example.org:institutions:hku"
_VC_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://talentproof.org/contexts/v1"],
    "id": "urn:uuid:c1f3a0de-7d0e-4b9c-9a43-2f1f4e0d3a11",
    "type": ["VerifiableCredential", "DegreeCredential"],
    "issuer": {"id": _DID, "name": "The University of Hong Kong"},
    "validFrom": "2026-07-01T00:00:00Z",
    "credentialSubject": {"id": "did:key:z6Mk...", "degree": {"...": "..."}},
    "proof": [
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "verificationMethod": f"{_DID}#z6Mk...",
            "proofPurpose": "assertionMethod",
            "proofValue": "z58D...",
        },
        {"type": "TalentProofAnchor", "proofPurpose": "assertionMethod", "...": "..."},
    ],
}
_CREDENTIAL_EXAMPLES: dict[str, Any] = {
    "anchored-degree": {
        "summary": "An anchored degree credential (as the holder received it)",
        "value": {"verifiableCredential": _VC_EXAMPLE, "options": {}},
    }
}
_PRESENTATION_EXAMPLES: dict[str, Any] = {
    "bound": {
        "summary": "A presentation bound to a challenge from POST /api/v1/challenges",
        "value": {
            "verifiablePresentation": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiablePresentation"],
                "holder": "did:key:z6Mk...",
                "verifiableCredential": [_VC_EXAMPLE],
                "proof": {
                    "type": "DataIntegrityProof",
                    "cryptosuite": "eddsa-jcs-2022",
                    "verificationMethod": "did:key:z6Mk...#z6Mk...",
                    "proofPurpose": "authentication",
                    "challenge": "Qm9yZGVyLWNvbnRyb2wtMQ",
                    "domain": "verifier.example.hk",
                    "proofValue": "z3dY...",
                },
            },
            "options": {"challenge": "Qm9yZGVyLWNvbnRyb2wtMQ", "domain": "verifier.example.hk"},
        },
    }
}
_VERIFIED: dict[str, Any] = {
    "verified": True,
    "checks": [
        "parse",
        "schema",
        "proof",
        "merkle-inclusion",
        "anchor",
        "issuer-accreditation",
        "signing-key",
        "status",
        "expiration",
    ],
    "warnings": [],
    "errors": [],
}
_NOT_VERIFIED = {
    "verified": False,
    "checks": ["parse", "schema", "proof", "merkle-inclusion", "anchor", "expiration"],
    "warnings": [],
    "errors": ["status: Revoked by the issuer on 2026-10-01 ..."],
}


_MALFORMED_SENTENCE = (
    "verifiableCredential: missing: expected the credential to verify, a JSON object"
)
_MALFORMED = MalformedRequest(
    errors=[_MALFORMED_SENTENCE],
    problemDetails=[
        ProblemDetails(
            type=MALFORMED_VALUE_ERROR, title="MALFORMED_VALUE_ERROR", detail=_MALFORMED_SENTENCE
        )
    ],
).model_dump()


def _responses(verified: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "model": VerificationResult,
            "description": "Verified: the product's verdict is VALID",
            "content": {"application/json": {"example": verified}},
        },
        400: {
            "model": VerificationResult | MalformedRequest,
            "description": "Does not verify (INVALID, or an input that could not be read; a "
            "credential not anchored yet fails merkle-inclusion): a VerificationResult whose "
            "`errors` names each failed check. Or not a VC API request (a body that is not "
            "JSON, a member missing, of the wrong type or not taken): nothing verified, the "
            "one error names the member and what was expected, also in `problemDetails`",
            "content": {
                "application/json": {
                    "examples": {
                        "not-verified": {"summary": "Does not verify", "value": _NOT_VERIFIED},
                        "malformed": {
                            "summary": "Not a VC API request",
                            "value": _MALFORMED,
                        },
                    }
                }
            },
        },
        413: {"model": RequestProblem, "description": "The request body is too large"},
        429: {
            "model": RequestProblem,
            "description": "Too many verifications from this client address (Retry-After)",
        },
        401: {
            "model": VcApiTokenRequired,
            "description": "No VC API token, or not one of this verifier's (only when the "
            "service has VC API tokens configured: TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE); "
            "nothing verified; WWW-Authenticate: Bearer",
        },
        503: {
            "model": VerificationResult,
            "description": "Not verifiable now: the ledger could not be read (Retry-After)",
        },
        # declared so that FastAPI lists no 422: a malformed request is a 400 MalformedRequest
        "default": {"model": RequestProblem, "description": "Any other error (`detail`)"},
    }


def _state(request: Request) -> Any:
    return request.app.state.verifier_state


def _name(check: CheckResult) -> str:
    return CHECK_NAMES[check.id]


def vc_api_result(report: ApplicationReport, *, presentation: bool) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, VerificationResult)`` of an application report (module docstring)."""
    outcome = report.outcome.outcome
    verified = outcome is Outcome.VALID and report.verdict is Verdict.VALID
    several = len(report.credentials) > 1
    passed: dict[CheckId, bool] = {}
    errors: list[str] = []
    warnings: list[str] = []
    unavailable = False

    def note(check: CheckResult, where: str) -> None:
        nonlocal unavailable
        if check.id is CheckId.BINDING and not presentation:
            return  # a bare credential asks for no binding
        ok = check.status is Status.PASS
        passed[check.id] = passed.get(check.id, True) and ok
        if check.status in (Status.FAIL, Status.ERROR):
            errors.append(f"{_name(check)}{where}: {check.message}")
            unavailable = unavailable or check.status is Status.ERROR
        elif check.status is Status.SKIPPED:
            text = (
                _UNBOUND
                if check.id is CheckId.BINDING
                else f"{_name(check)}{where}: not run: {check.message}"
            )
            if text not in warnings:
                warnings.append(text)

    for r in report.credentials:
        where = f" ({r.source})" if presentation and several else ""
        for check in r.checks:
            note(check, where)
    for check in report.checks:
        note(check, "")
    checks = [CHECK_NAMES[cid] for cid in CheckId if passed.get(cid)]
    if verified:
        return 200, {"verified": True, "checks": checks, "warnings": warnings, "errors": []}
    if not errors:  # never "not verified" without saying why
        errors.append(report.outcome.reason)
    status = 503 if outcome is Outcome.NOT_VERIFIABLE and unavailable else 400
    return status, {"verified": False, "checks": checks, "warnings": warnings, "errors": errors}


def _answer(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _refused(error: str) -> JSONResponse:
    """400: a document this endpoint does not verify, before any check ran."""
    return _answer(400, {"verified": False, "checks": [], "warnings": [], "errors": [error]})


def _proof_domain(doc: dict[str, Any]) -> Any:
    """The domain the presentation's holder proof names (None: none, or no single proof)."""
    try:
        return select_proof(doc).get("domain")
    except CredentialError:
        return None


def _types(doc: dict[str, Any]) -> list[Any]:
    types = doc.get("type")
    return [types] if isinstance(types, str) else types if isinstance(types, list) else []


@router.post(
    "/credentials/verify",
    summary="W3C VC API: verify a credential",
    response_model=VerificationResult,
    responses=_responses(_VERIFIED),
)
def verify_credential(
    body: Annotated[VerifyCredentialRequest, Body(openapi_examples=_CREDENTIAL_EXAMPLES)],
    request: Request,
) -> JSONResponse:
    """Verify one credential (every check: proof, anchor, accreditation, status, validity)."""
    state = _state(request)
    doc = body.verifiableCredential
    if "VerifiablePresentation" in _types(doc):
        return _refused("parse: a VerifiablePresentation; verify it at POST /presentations/verify")
    item = item_from_json(json.dumps(doc), "credential", state.limits)
    report = state.verifier.verify_application([item])
    return _answer(*vc_api_result(report, presentation=False))


@router.post(
    "/presentations/verify",
    summary="W3C VC API: verify a presentation (bound with options.challenge and domain)",
    response_model=VerificationResult,
    responses=_responses({**_VERIFIED, "checks": [*_VERIFIED["checks"], "holder-binding"]}),
)
def verify_presentation(
    body: Annotated[VerifyPresentationRequest, Body(openapi_examples=_PRESENTATION_EXAMPLES)],
    request: Request,
) -> JSONResponse:
    """Verify a presentation: the holder's proof (bound to ``options.challenge``, a challenge
    this verifier issued, and its domain) and every credential it holds."""
    state = _state(request)
    doc = body.verifiablePresentation
    if "VerifiablePresentation" not in _types(doc):
        return _refused(
            "parse: not a VerifiablePresentation (its type must include it); verify a "
            "credential at POST /credentials/verify"
        )
    options = body.options
    domain = state.verifier.domain
    if options.domain is not None and options.domain != domain:
        return _refused(
            f"holder-binding: options.domain {options.domain!r} is not this verifier's domain "
            f"{domain!r} (the domain of its challenges)"
        )
    challenge = options.challenge
    if options.domain is not None and challenge is None:
        # Without a challenge the engine checks the holder's proof but asks for no binding, so
        # it compares no domain: the one the relying party names is compared here, with the
        # proof's (which the engine then verifies, domain included, as the holder signed it).
        found = _proof_domain(doc)
        if not (found == domain or (isinstance(found, list) and domain in found)):
            return _refused(
                f"holder-binding: the presentation was made for the domain {found!r}, not "
                f"options.domain {domain!r}"
            )
    problem = state.challenges.consume(challenge) if challenge is not None else None
    item = item_from_json(json.dumps(doc), "presentation", state.limits)
    report = state.verifier.verify_application(
        [item], challenge=challenge, challenge_problem=problem
    )
    return _answer(*vc_api_result(report, presentation=True))


__all__ = [
    "CHECK_NAMES",
    "MALFORMED_VALUE_ERROR",
    "PARSING_ERROR",
    "REALM",
    "MalformedRequest",
    "ProblemDetails",
    "RequestProblem",
    "VcApiRoute",
    "VcApiTokenRequired",
    "VerificationResult",
    "VerifyCredentialRequest",
    "VerifyPresentationRequest",
    "malformed_answer",
    "malformed_problem",
    "router",
    "unauthenticated",
    "vc_api_result",
]
