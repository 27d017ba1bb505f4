"""API keys of an institution (operator only): create, list, revoke, rotate."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ...outcome import created, done
from ...service import IssuerService, fingerprint
from ..deps import CallerDep, IdempotentWriteDep, ServiceDep
from ..responses import respond
from ..schemas import ApiKeyRequest

router = APIRouter(tags=["operator"])


@router.post(
    "/operator/institutions/{slug}/api-keys",
    status_code=201,
    summary="Create an API key with scopes issue / revoke / read",
)
def create_api_key(
    slug: str,
    body: ApiKeyRequest,
    caller: CallerDep,
    service: ServiceDep,
    write: IdempotentWriteDep,
) -> Response:
    service.require_operator(caller)
    fp = fingerprint("api-key", slug, body.model_dump())
    return respond(
        write(
            fp,
            lambda s: created(service.create_api_key(s, slug, scopes=body.scopes, name=body.name)),
        )
    )


@router.get("/operator/institutions/{slug}/api-keys", summary="List API keys")
def list_api_keys(slug: str, caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    service.require_operator(caller)
    return service.list_api_keys(slug)


def _api_key_route(action: str, change: Any, shape: Any) -> Any:
    def route(
        slug: str, key_id: str, caller: CallerDep, service: ServiceDep, write: IdempotentWriteDep
    ) -> Response:
        service.require_operator(caller)
        fp = fingerprint(f"{action}-key", slug, key_id)
        return respond(write(fp, lambda s: shape(change(service, s, slug, key_id))))

    route.__name__ = f"{action}_api_key"
    return route


# a rotation answers as a creation (the new key), a revocation as done
for _action, _change, _shape, _summary, _description in (
    (
        "revoke",
        IssuerService.revoke_api_key,
        done,
        "Revoke an API key",
        "For a key believed stolen (a rotated key may be revoked too): every status change it "
        'asked that is not sent yet is dropped (`failed`, `error` "not sent: ...").',
    ),
    (
        "rotate",
        IssuerService.rotate_api_key,
        created,
        "Rotate an API key (same scopes; the old key stops working)",
        "Retires the key in the normal course: the revocations and suspensions it asked that "
        "are not sent yet are still sent; its queued reinstatements are dropped (`failed`, "
        '`error` "not sent: ..." naming the rotation).',
    ),
):
    router.post(
        f"/operator/institutions/{{slug}}/api-keys/{{key_id}}/{_action}",
        summary=_summary,
        description=_description,
    )(_api_key_route(_action, _change, _shape))
