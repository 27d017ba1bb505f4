"""Operations: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ...observability import exposition
from ..deps import ServiceDep
from ..responses import ORJSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
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
def readyz(service: ServiceDep) -> Response:
    # the database down: `NotReady`, answered 503 by `api.errors`
    return ORJSONResponse(service.readiness(), status_code=200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(service: ServiceDep) -> Response:
    return Response(exposition(service.metrics), media_type=CONTENT_TYPE_LATEST)
