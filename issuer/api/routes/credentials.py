"""Credentials: issue one (``POST /credentials``, also answered by the fast path in
`api.issuance`), list them, read one, its anchor status and its QR code."""

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..deps import CallerDep, IdempotencyKey, ServiceDep
from ..issuance import issue_credential
from ..responses import respond
from ..schemas import IssueRequest

router = APIRouter(tags=["credentials"])


@router.post(
    "/credentials",
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
    payload: IssueRequest,
    caller: CallerDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    # Well-formed requests are answered by `IssueFastPath` before they get here, through the
    # same handler; this route answers the rest (and documents the endpoint).
    groups = request.app.state.issue_groups
    return respond(await issue_credential(groups, caller, idempotency_key, payload))


@router.get("/credentials", summary="List the institution's credentials")
def list_credentials(
    caller: CallerDep,
    service: ServiceDep,
    limit: int = Query(100, ge=1, le=1000),
    after: int = Query(0, ge=0, le=2**63 - 1, description="seq cursor (next_after)"),
) -> dict[str, Any]:
    return service.list_credentials(caller, limit=limit, after=after)


@router.get(
    "/credentials/{credential_id}",
    summary="The credential JSON (with its anchor proof once anchored)",
)
def get_credential(credential_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    return service.get_credential(caller, credential_id)


@router.get(
    "/credentials/{credential_id}/anchor",
    summary="Anchor status: pending_anchor or anchored, batch, tx; revoked and suspended as "
    "the registry holds them (whoever acted; ledgerStatus.source says when it is the local mirror)",
)
def anchor_status(credential_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    return service.anchor_status(caller, credential_id)


@router.get(
    "/credentials/{credential_id}/qr.png",
    response_class=Response,
    summary="QR code (PNG) of the anchored credential",
)
def qr_png(credential_id: str, caller: CallerDep, service: ServiceDep) -> Response:
    return Response(service.qr(caller, credential_id, "png"), media_type="image/png")


@router.get(
    "/credentials/{credential_id}/qr.svg",
    response_class=Response,
    summary="QR code (SVG) of the anchored credential",
)
def qr_svg(credential_id: str, caller: CallerDep, service: ServiceDep) -> Response:
    return Response(service.qr(caller, credential_id, "svg"), media_type="image/svg+xml")
