"""Old import path of the issuer's HTTP API, kept for callers: the API lives in `issuer.api`
(`api.main.create_app`, the routers in `api/routes/`, the dependencies in `api.deps`)."""

from .api.main import create_app, worker_process_app
from .api.responses import ORJSONResponse
from .api.schemas import (
    ApiKeyRequest,
    CredentialTypesRequest,
    InstitutionStatusRequest,
    IssueRequest,
    OnboardRequest,
    ReasonRequest,
    StatusChangeRequest,
)

__all__ = [
    "ApiKeyRequest",
    "CredentialTypesRequest",
    "InstitutionStatusRequest",
    "IssueRequest",
    "ORJSONResponse",
    "OnboardRequest",
    "ReasonRequest",
    "StatusChangeRequest",
    "create_app",
    "worker_process_app",
]
