"""Bulk jobs: upload JSONL or CSV of up to 1,000,000 subjects, follow the job, stream its
results and rejected rows."""

import asyncio
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ... import bulk
from ...errors import InvalidRequest
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


WAIT_REREAD_S = 0.025
"""How often a long-poll re-reads the job's state (one short session each time: no pooled
connection is held while it sleeps; the runner may be another process)."""


def _wait_seconds(wait: str | None, limit: float) -> float:
    """``wait`` as seconds, 0 when absent; 422 naming the range when it is not a number from 0 to
    ``limit``."""
    if wait is None:
        return 0.0
    try:
        seconds = float(wait)
    except ValueError:
        seconds = math.nan
    if not 0.0 <= seconds <= limit:  # NaN too
        raise InvalidRequest(
            f"wait: expected a number of seconds from 0 to {limit:g}, got {wait!r}", field="wait"
        )
    return seconds


@router.get(
    "/bulk-jobs/{job_id}",
    summary="Progress of a bulk job; with ?wait=<s>, answered once it ends (long-poll)",
    description="The job's state (`queued`, `running`, then `done` or `failed`), rows done of "
    "total, succeeded, failed, anchored. With `wait=<seconds>` the answer comes as soon as the "
    "job is `done` or `failed`, or when `wait` seconds have passed (then with its progress, the "
    "same body): no client-side poll interval. `wait` is from 0 (the plain poll) to "
    "`TALENTPROOF_ISSUER_BULK_WAIT_MAX_S` (30 s by default); outside that range, or not a "
    "number, 422. An unknown job, or another institution's, is 404 at once.",
)
async def bulk_status(
    request: Request,
    job_id: str,
    caller: CallerDep,
    service: ServiceDep,
    wait: Annotated[
        str | None,
        Query(description="seconds to wait for the job to end, 0 to BULK_WAIT_MAX_S (30)"),
    ] = None,
) -> dict[str, Any]:
    seconds = _wait_seconds(wait, service.settings.bulk_wait_max_s)
    status = await run_in_threadpool(bulk.job_status, service, caller, job_id)  # 404 here
    if seconds <= 0 or status["state"] in bulk.ENDED_STATES:
        return status
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(WAIT_REREAD_S, left))
        if await request.is_disconnected():
            break
        state = await run_in_threadpool(bulk.job_state, service, job_id)
        if state is None or state in bulk.ENDED_STATES:
            break
    return await run_in_threadpool(bulk.job_status, service, caller, job_id)


@router.get(
    "/bulk-jobs/{job_id}/results",
    response_class=StreamingResponse,
    summary="JSONL of issued rows: row, id, credential (anchored form when anchored), QR payload",
    description="Scope `read`; an offers job's results (each offer's URI and transaction code, "
    "with which anyone can redeem it) need scope `issue`.",
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
