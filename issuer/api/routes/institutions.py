"""Institutions (operator only): onboard, list, read, suspend or reactivate, grant or withdraw
credential types, rotate the signing key."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ...outcome import created, done
from ...service import fingerprint
from ..deps import CallerDep, IdempotentWriteDep, ServiceDep
from ..responses import respond
from ..schemas import CredentialTypesRequest, InstitutionStatusRequest, OnboardRequest

router = APIRouter(tags=["operator"])


@router.post(
    "/operator/institutions",
    status_code=201,
    summary="Onboard an institution: key, chain account, on-chain registration, first API key",
)
def onboard(
    body: OnboardRequest, caller: CallerDep, service: ServiceDep, write: IdempotentWriteDep
) -> Response:
    service.require_operator(caller)
    fp = fingerprint("onboard", body.model_dump())
    return respond(
        write(
            fp,
            lambda s: created(
                service.onboard_institution(
                    s,
                    name=body.name,
                    slug=body.slug,
                    credential_types=body.credential_types,
                    chain_issuer_id=body.chain_issuer_id,
                    did=body.did,
                ),
                f"/operator/institutions/{body.slug}",
            ),
        )
    )


@router.get("/operator/institutions", summary="List institutions")
def list_institutions(caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    service.require_operator(caller)
    return service.list_institutions()


@router.get("/operator/institutions/{slug}", summary="One institution")
def get_institution(slug: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    service.require_operator(caller)
    return service.get_institution(slug)


@router.post(
    "/operator/institutions/{slug}/status",
    summary="Suspend or reactivate an institution's API access",
)
def institution_status(
    slug: str,
    body: InstitutionStatusRequest,
    caller: CallerDep,
    service: ServiceDep,
    write: IdempotentWriteDep,
) -> Response:
    service.require_operator(caller)
    fp = fingerprint("inst-status", slug, body.status)
    return respond(write(fp, lambda s: done(service.set_institution_status(s, slug, body.status))))


@router.post(
    "/operator/institutions/{slug}/credential-types",
    summary="Grant or withdraw accredited credential types (on chain, then here)",
)
def credential_types(
    slug: str,
    body: CredentialTypesRequest,
    caller: CallerDep,
    service: ServiceDep,
    write: IdempotentWriteDep,
) -> Response:
    service.require_operator(caller)
    fp = fingerprint("types", slug, body.model_dump())
    return respond(
        write(
            fp,
            lambda s: done(
                service.change_credential_types(s, slug, grant=body.grant, withdraw=body.withdraw)
            ),
        )
    )


@router.post(
    "/operator/institutions/{slug}/signing-keys/rotate",
    summary="Rotate the signing key (new key registered on chain through the ledger)",
)
def rotate_signing_key(
    slug: str, caller: CallerDep, service: ServiceDep, write: IdempotentWriteDep
) -> Response:
    service.require_operator(caller)
    fp = fingerprint("rotate-signing", slug)
    return respond(write(fp, lambda s: done(service.rotate_signing_key(s, slug))))
