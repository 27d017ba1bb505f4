"""The W3C VC API (VCALM) issuer endpoints, over the existing use cases:

- ``POST /credentials/issue``: ``{credential, options}`` -> 201 ``{verifiableCredential}``, issued
  by the same handler and group commit as ``POST /credentials`` (`api.issuance.issue_credential`,
  `schemas.IssueRequest`): the same accreditation, schema and fact checks, signing, anchoring and
  ``Idempotency-Key``; ``Location`` is the credential resource.
- ``POST /credentials/status``: ``{credentialId, credentialStatus: [{type, status}], reason}``
  -> the status change of ``POST /credentials/{id}/revoke|suspend|reinstate`` (200 applied,
  202 queued).

Authentication is the institution's API key as a bearer token. A refusal is the issuer's error
body ``{"error", "message", "field"}`` with ``field`` the path in the VC API body; a body that is
not a VC API request (not JSON, a member missing, of the wrong type or not taken) is refused the
same way, 422 naming the member and what was expected (`VcApiIssuerRoute`; a body not sent as JSON
keeps the issuer's 415).
"""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from talentproof.bodyerrors import explain_body_error

from ...errors import InvalidRequest, NotAccredited
from ...outcome import Kind, WriteOutcome
from ...outcome import status_change as status_change_answer
from ...service import fingerprint
from ...usecases.vc_api import issue_request_of, issuing_institution, status_action_of
from ..deps import CallerDep, IdempotencyKey, IdempotentWriteDep, ServiceDep
from ..issuance import issue_credential
from ..responses import respond
from ..schemas import IssueRequest

#: What each member of a VC API request is, said when it is missing or malformed.
_EXPECTED = {
    "credential": "the unsigned credential to issue, a JSON object",
    "options": "a JSON object (this issuer takes no options: {})",
    "credentialId": "the id of one of your institution's credentials (urn:uuid:...), a string",
    "credentialStatus": "a list of one entry {type: BitstringStatusListEntry, status: revoked, "
    "suspended or reinstated}",
    "credentialStatus.type": "the string BitstringStatusListEntry",
    "credentialStatus.status": "revoked, suspended or reinstated",
    "reason": "a non-blank string, recorded with the change",
}


def malformed_request(
    model: type[BaseModel], errors: Sequence[Mapping[str, Any]]
) -> InvalidRequest:
    """The refusal of the first validation error of a ``model`` body: the member (``field``),
    what is wrong and what was expected (never the offending input itself;
    `talentproof.bodyerrors.explain_body_error`, as the verifier's VC API says it)."""
    explained = explain_body_error(model, errors, _EXPECTED)
    return InvalidRequest(explained.sentence, field=explained.field)


class VcApiIssuerRoute(APIRoute):
    """A VC API route: a body FastAPI's validation refuses is an `InvalidRequest` naming the
    member and what was expected (`malformed_request`); a body not sent as JSON keeps the
    issuer's 415 (`api.errors`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        annotation = self.body_field.field_info.annotation if self.body_field else None
        model: type[BaseModel] = BaseModel
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation

        async def vc_api_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                media = request.headers.get("content-type", "").partition(";")[0].strip()
                if media and media != "application/json" and not media.endswith("+json"):
                    raise  # the issuer's 415: send the body as JSON
                raise malformed_request(model, exc.errors()) from None

        return vc_api_handler


router = APIRouter(tags=["VC API"], route_class=VcApiIssuerRoute)

_DID = "did:web:issuer.example.org:institutions:hku"
_HOLDER = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
_PERSON = {
    "name": "CHAN Tai Man",
    "birthDate": "1990-04-01",
    "identityDocument": {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": "hmac-sha256:598LiBI1TG-j48KAKyYjrfiof6zgBK1jLVDQnDysOdQ",
    },
}
_DEGREE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://talentproof.org/contexts/v1"],
    "type": ["VerifiableCredential", "DegreeCredential"],
    "issuer": _DID,
    "validFrom": "2026-07-01T00:00:00Z",
    "credentialSubject": {
        "id": _HOLDER,
        **_PERSON,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Financial Technology",
            "awardDate": "2026-06-30",
        },
    },
}
_PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-jcs-2022",
    "created": "2026-07-01T00:00:00Z",
    "verificationMethod": f"{_DID}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "proofPurpose": "assertionMethod",
    "@context": _DEGREE["@context"],
    "proofValue": "z58DAdFfa9SkqZMVPxAQp...",
}


class IssueCredentialRequest(BaseModel):
    """VCALM IssueCredentialRequest: an unsigned VC 2.0 credential of a kind the institution is
    accredited for (``issuer`` its DID), and options (none are supported: an option is refused
    rather than ignored)."""

    model_config = ConfigDict(extra="forbid")
    credential: dict[str, Any] = Field(
        description="The unsigned credential: @context and type of the kind, issuer (the "
        "institution's DID), credentialSubject, optional validFrom, validUntil, name, "
        "description. The issuer adds id, credentialStatus, credentialSchema and the proof."
    )
    options: dict[str, Any] = Field(default_factory=dict)


class IssueCredentialSuccess(BaseModel):
    """VCALM IssueCredentialSuccess: the signed credential (pending its anchor; the anchored
    form, with its TalentProofAnchor proof, at ``GET /credentials/{id}`` once anchored)."""

    verifiableCredential: dict[str, Any]


class CredentialStatusUpdate(BaseModel):
    """One entry of ``credentialStatus``: the entry type the credentials carry and the new
    status."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="BitstringStatusListEntry")
    status: str = Field(description="revoked, suspended or reinstated")


class UpdateCredentialStatus(BaseModel):
    """VCALM UpdateCredentialStatus, with the reason TalentProof records for every change."""

    model_config = ConfigDict(extra="forbid")
    credentialId: str = Field(max_length=512)
    credentialStatus: list[CredentialStatusUpdate] = Field(max_length=8)
    reason: str = Field(
        default="",
        max_length=2000,
        description="TalentProof extension, required (non-blank): recorded with the change",
    )


_ISSUE_EXAMPLES: dict[str, Any] = {
    "degree": {
        "summary": "A degree (the institution's DID as issuer)",
        "value": {"credential": _DEGREE, "options": {}},
    },
    "open-badge": {
        "summary": "An Open Badge 3.0 achievement",
        "value": {
            "credential": {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                    "https://talentproof.org/contexts/v1",
                ],
                "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "issuer": {"id": _DID, "type": ["Profile"]},
                "credentialSubject": {
                    "id": _HOLDER,
                    "type": ["AchievementSubject"],
                    **_PERSON,
                    "achievement": {
                        "id": "https://hku.hk/achievements/blockchain-101",
                        "type": ["Achievement"],
                        "name": "Blockchain in Finance",
                        "description": "Completed the course.",
                        "criteria": {"narrative": "Passed the final examination."},
                        "achievementType": "Certificate",
                    },
                },
            },
            "options": {},
        },
    },
}

_ISSUE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "model": IssueCredentialSuccess,
        "description": "Signed and stored, queued for anchoring; Location: the credential",
        "content": {
            "application/json": {
                "example": {
                    "verifiableCredential": {
                        **_DEGREE,
                        "id": "urn:uuid:c1f3a0de-7d0e-4b9c-9a43-2f1f4e0d3a11",
                        "issuer": {"id": _DID, "name": "The University of Hong Kong"},
                        "proof": _PROOF,
                    }
                }
            }
        },
    },
    401: {"description": "No or an unknown API key"},
    403: {"description": "The key lacks 'issue', or the institution is suspended or removed"},
    409: {"description": "Idempotency-Key reused with another request"},
    422: {
        "description": "Not signed: the issuer is not the caller's institution, a type it is "
        "not accredited for, a member the issuer sets itself, or a schema or fact violation; "
        "`field` names the member (e.g. credential.issuer, credential.type, "
        "credential.credentialSubject.degree.level)",
        "content": {
            "application/json": {
                "example": {
                    "error": "invalid_request",
                    "message": "credential.issuer must be the caller's institution ...",
                    "field": "credential.issuer",
                }
            }
        },
    },
}

_STATUS_EXAMPLES: dict[str, Any] = {
    "revoke": {
        "summary": "Revoke a credential",
        "value": {
            "credentialId": "urn:uuid:c1f3a0de-7d0e-4b9c-9a43-2f1f4e0d3a11",
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "revoked"}],
            "reason": "degree rescinded",
        },
    },
    "suspend": {
        "summary": "Suspend a credential",
        "value": {
            "credentialId": "urn:uuid:c1f3a0de-7d0e-4b9c-9a43-2f1f4e0d3a11",
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "suspended"}],
            "reason": "under investigation",
        },
    },
    "reinstate": {
        "summary": "Lift a suspension",
        "value": {
            "credentialId": "urn:uuid:c1f3a0de-7d0e-4b9c-9a43-2f1f4e0d3a11",
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "reinstated"}],
            "reason": "investigation closed",
        },
    },
}

_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied on chain within the short wait (txHash given)"},
    202: {"description": "Accepted and queued durably; applied in order (poll the change)"},
    403: {"description": "Key lacks 'revoke'; reinstatement by a suspended institution"},
    404: {"description": "No such credential of the caller's institution"},
    409: {"description": "Credential already revoked / suspended / not suspended"},
    422: {"description": "Unknown status or entry type, or a missing reason; `field` names it"},
}


def _vc_api_field(exc: InvalidRequest) -> InvalidRequest:
    """A use case's refusal with its field as a path in the VC API body (``credential.``)."""
    field = exc.field
    if field and field != "Idempotency-Key" and not field.startswith(("credential.", "options.")):
        return InvalidRequest(exc.message, field=f"credential.{field}")
    return exc


@router.post(
    "/credentials/issue",
    status_code=201,
    summary="W3C VC API: issue (sign) one credential",
    response_model=IssueCredentialSuccess,
    responses=_ISSUE_RESPONSES,
)
async def issue_vc(
    body: Annotated[IssueCredentialRequest, Body(openapi_examples=_ISSUE_EXAMPLES)],
    caller: CallerDep,
    service: ServiceDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    inst = issuing_institution(service.engine, service.caches, caller)
    fields = issue_request_of(body.credential, body.options, inst)
    try:
        payload = IssueRequest.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "credential." + ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidRequest(f"{field}: {first.get('msg', 'invalid')}", field=field) from None
    try:
        outcome = await issue_credential(
            request.app.state.issue_groups, caller, idempotency_key, payload
        )
    except InvalidRequest as exc:
        raise _vc_api_field(exc) from exc
    except NotAccredited as exc:  # the VC API refuses a body it will not sign with 400/422
        raise InvalidRequest(exc.message, field=f"credential.{exc.field or 'type'}") from exc
    # the use case's answer (also a replayed one) holds the signed credential
    signed = outcome.body["credential"]
    return respond(
        WriteOutcome(
            Kind.CREATED,
            {"verifiableCredential": signed},
            f"/credentials/{signed['id']}",
            outcome.replayed,
        )
    )


@router.post(
    "/credentials/status",
    summary="W3C VC API: revoke, suspend or reinstate one credential (queued, applied on chain)",
    responses=_STATUS_RESPONSES,
)
def update_status_vc(
    body: Annotated[UpdateCredentialStatus, Body(openapi_examples=_STATUS_EXAMPLES)],
    caller: CallerDep,
    service: ServiceDep,
    write: IdempotentWriteDep,
) -> Response:
    action = status_action_of([entry.model_dump() for entry in body.credentialStatus])
    # the fingerprint of POST /credentials/{id}/<action>: the same change, the same request
    fp = fingerprint(action, body.credentialId, body.reason)
    return respond(
        write(
            fp,
            lambda _s: status_change_answer(
                service.change_status(caller, action, [body.credentialId], body.reason)
            ),
            external=True,
        )
    )
