"""Publication (no authentication): the institutions' did:web documents and status lists."""

from fastapi import APIRouter
from fastapi.responses import Response

from ..deps import ServiceDep
from ..responses import ORJSONResponse

router = APIRouter(tags=["publication"])


@router.get(
    "/institutions/{slug}/did.json",
    summary="The institution's did:web document: its signing keys as the registry holds them "
    "(a key governance revoked is not listed, one whose window ended asserts nothing)",
    responses={503: {"description": "The ledger has been unreachable too long to vouch for keys"}},
)
def did_json(slug: str, service: ServiceDep) -> Response:
    doc, source = service.publication.did_document_and_source(slug)
    return ORJSONResponse(
        doc, headers={"X-TalentProof-Ledger-State": source, "Cache-Control": "max-age=2"}
    )


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
