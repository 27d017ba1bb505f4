"""``GET /``: what a new user opening the issuer in a browser finds (the service, its version and
where to go next), instead of a 404."""

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["operations"])

QUICK_START = (
    "README.md, 'The two commands' (make run, then .venv/bin/talentproof demo) and "
    "'API quick reference'; every call behind an API key takes "
    "'Authorization: Bearer <API key>' (tpk_<id>_<secret>, printed by make run)"
)


@router.get("/", summary="The service, its version and where to start")
def home(request: Request) -> dict[str, Any]:
    app = request.app
    return {
        "service": app.title,
        "version": app.version,
        "links": {
            "docs": "/docs",  # Swagger UI, served offline (talentproof.apidocs)
            "openapi": app.openapi_url,
            "readiness": "/readyz",
            "health": "/healthz",
        },
        "quickStart": QUICK_START,
    }
