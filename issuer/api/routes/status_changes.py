"""Status changes: revoke, suspend or reinstate one credential or many (queued, applied on
chain), and read a change's state."""

from typing import Any

from fastapi import APIRouter
from fastapi import Path as FastApiPath
from fastapi.responses import Response

from ...outcome import status_change as status_change_answer
from ...service import fingerprint
from ..deps import CallerDep, IdempotentWriteDep, ServiceDep
from ..responses import respond
from ..schemas import ReasonRequest, StatusChangeRequest

router = APIRouter(tags=["revocation"])

_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied on chain within the short wait (txHash given)"},
    202: {
        "description": "Accepted and queued durably; applied in order by the worker (poll "
        "the status change, or GET /credentials/{id}/anchor)"
    },
    403: {"description": "Reinstatement by an institution suspended or removed on the ledger"},
    409: {"description": "Credential already revoked / suspended / not suspended"},
    422: {"description": "Missing or blank reason (field: reason)"},
}


def _status_route(action: str) -> Any:
    def change(
        credential_id: str,
        body: ReasonRequest,
        caller: CallerDep,
        service: ServiceDep,
        write: IdempotentWriteDep,
    ) -> Response:
        fp = fingerprint(action, credential_id, body.reason)
        return respond(
            write(
                fp,
                lambda _s: status_change_answer(
                    service.change_status(caller, action, [credential_id], body.reason)
                ),
                external=True,
            )
        )

    change.__name__ = f"{action}_credential"
    return change


for _action in ("revoke", "suspend", "reinstate"):
    router.post(
        f"/credentials/{{credential_id}}/{_action}",
        summary=f"{_action.capitalize()} one credential (queued, applied on chain), with a reason",
        responses=_STATUS_RESPONSES,
    )(_status_route(_action))


@router.get(
    "/credentials/status-changes/{change_id}",
    summary="A queued or applied status change: state pending, sent, applied or failed, tx",
)
def status_change(
    caller: CallerDep, service: ServiceDep, change_id: int = FastApiPath(ge=1, le=2**63 - 1)
) -> dict[str, Any]:
    return service.get_status_change(caller, change_id)


@router.post(
    "/credentials/status-changes",
    summary="Revoke, suspend or reinstate many credentials in one transaction",
    responses=_STATUS_RESPONSES,
)
def status_changes(
    body: StatusChangeRequest, caller: CallerDep, service: ServiceDep, write: IdempotentWriteDep
) -> Response:
    fp = fingerprint("status-changes", body.model_dump())
    return respond(
        write(
            fp,
            lambda _s: status_change_answer(
                service.change_status(caller, body.action, body.credential_ids, body.reason)
            ),
            external=True,
        )
    )
