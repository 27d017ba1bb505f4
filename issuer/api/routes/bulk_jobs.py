"""Bulk jobs: upload JSONL or CSV of up to 1,000,000 subjects, follow the job, stream its
results and rejected rows."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ... import bulk
from ..deps import CallerDep, IdempotencyKey, ServiceDep
from ..responses import respond

router = APIRouter(tags=["bulk"])


@router.post(
    "/bulk-jobs",
    status_code=202,
    summary="Upload JSONL or CSV of up to 1,000,000 subjects; issued asynchronously",
)
async def create_bulk(
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="JSONL (one issue request per line) or CSV")],
    type: Annotated[str, Form(description="credential type of every row")],
    format: Annotated[Literal["jsonl", "csv"] | None, Form()] = None,
    offers: Annotated[
        bool,
        Form(
            description="OpenID4VCI: one credential offer per row (rows without "
            "credentialSubject.id); each result carries credentialOfferUri and txCode"
        ),
    ] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    # an institution the ledger shows suspended or removed is refused before its upload is
    # stored, as single issuance is (a cached read, no ledger call)
    await run_in_threadpool(service.check_may_issue, caller)
    outcome = await run_in_threadpool(
        bulk.create_job,
        service,
        caller,
        file.file,
        file.filename or "",
        type,
        format,
        idempotency_key,
        offers,
    )
    runner = request.app.state.__dict__.get("bulk")
    if runner is not None:
        runner.wakeup.set()
    return respond(outcome)


@router.get("/bulk-jobs/{job_id}", summary="Progress of a bulk job")
def bulk_status(job_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    return bulk.job_status(service, caller, job_id)


@router.get(
    "/bulk-jobs/{job_id}/results",
    response_class=StreamingResponse,
    summary="JSONL of issued rows: row, id, credential (anchored form when anchored), QR payload",
)
def bulk_results(
    job_id: str,
    caller: CallerDep,
    service: ServiceDep,
    qr: bool = Query(True, description="include the QR payload of anchored rows"),
) -> StreamingResponse:
    return StreamingResponse(
        bulk.iter_results(service, caller, job_id, qr=qr), media_type="application/x-ndjson"
    )


@router.get(
    "/bulk-jobs/{job_id}/errors",
    response_class=StreamingResponse,
    summary="JSONL of rejected rows: row (data rows from 1), line (where it starts), field, message",
)
def bulk_errors(job_id: str, caller: CallerDep, service: ServiceDep) -> StreamingResponse:
    return StreamingResponse(
        bulk.iter_errors(service, caller, job_id), media_type="application/x-ndjson"
    )
