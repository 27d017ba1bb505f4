"""Publication (no authentication): the institutions' did:web documents and status lists."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..deps import ServiceDep
from ..responses import ORJSONResponse

router = APIRouter(tags=["publication"])


@router.get(
    "/institutions/{slug}/did.json",
    summary="The institution's did:web document (its signing keys)",
)
def did_json(slug: str, service: ServiceDep) -> dict[str, Any]:
    return service.did_document(slug)


@router.get(
    "/institutions/{slug}/status/{purpose}",
    summary="Bitstring Status List credential (revocation or suspension), from chain state",
)
def status_list(slug: str, purpose: str, service: ServiceDep) -> Response:
    result = service.status_list(slug, purpose)
    return ORJSONResponse(
        result["credential"],
        headers={
            "X-TalentProof-Ledger-State": result["ledgerState"],
            "Cache-Control": "max-age=60",
        },
    )
