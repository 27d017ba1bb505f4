"""Request bodies of the issuer's API (pydantic models, with OpenAPI examples)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

_SUBJECT_EXAMPLE: dict[str, JsonValue] = {
    "id": "did:example:holder-1",
    "name": "Chan Tai Man",
    "degree": {
        "type": "MasterDegree",
        "name": "MSc Financial Technology",
        "level": "master",
        "field": "Financial Technology",
    },
}


class IssueRequest(BaseModel):
    """One credential to issue: its type and subject (validated against the type's schema)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "DegreeCredential",
                    "credentialSubject": _SUBJECT_EXAMPLE,
                    "validFrom": "2026-07-01T00:00:00Z",
                }
            ]
        },
    )

    type: str = Field(description="DegreeCredential, EmploymentCredential or OpenBadgeCredential")
    credentialSubject: dict[str, Any]
    validFrom: str | None = None
    validUntil: str | None = None
    name: str | None = None
    description: str | None = None


class ReasonRequest(BaseModel):
    """Why a credential's status changes (recorded; required, non-blank: 422 naming
    ``reason`` otherwise)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "issued in error"}]})
    reason: str = Field(default="", max_length=2000, description="required, non-blank")


class StatusChangeRequest(BaseModel):
    """A batch revocation, suspension or reinstatement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "revoke",
                    "credential_ids": ["urn:uuid:0b6f..."],
                    "reason": "degree rescinded",
                }
            ]
        }
    )
    action: Literal["revoke", "suspend", "reinstate"]
    credential_ids: list[str] = Field(min_length=1, max_length=10_000)
    reason: str = Field(default="", max_length=2000, description="required, non-blank")


class OnboardRequest(BaseModel):
    """An institution to onboard (registered on chain unless ``chain_issuer_id`` links one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "University of Hong Kong",
                    "slug": "hku",
                    "credential_types": ["DegreeCredential", "OpenBadgeCredential"],
                }
            ]
        }
    )
    name: str = Field(min_length=1, max_length=256)
    slug: str = Field(max_length=64)
    credential_types: list[str] = Field(
        max_length=16,
        description="Accredited types: DegreeCredential (every degree level), "
        "EmploymentCredential, OpenBadgeCredential, or a degree level alone "
        "(DegreeCredential#level=associate, ...#level=bachelor, ...#level=master, "
        "...#level=doctorate)",
    )
    chain_issuer_id: int | None = Field(
        default=None,
        ge=1,
        le=2**32 - 1,
        description="Link an issuer already registered on chain: its DID and name must be this "
        "institution's (the name up to case, punctuation and spacing; 409 naming both otherwise)",
    )
    did: str | None = Field(
        default=None,
        max_length=512,
        description="The institution's own did:web (e.g. did:web:osl.com); default: the "
        "did:web derived from this service's public URL and the slug",
    )


class ApiKeyRequest(BaseModel):
    """A new API key's scopes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scopes": ["read"], "name": "audit"}]}
    )
    scopes: list[str] = Field(max_length=8)
    name: str = Field(default="", max_length=128)


class CredentialTypesRequest(BaseModel):
    """Accredited types to grant or withdraw (sent to the chain by a governor)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"grant": ["OpenBadgeCredential"], "withdraw": []}]}
    )
    grant: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Types to grant: a type, or a degree level alone (DegreeCredential#level=master)",
    )
    withdraw: list[str] = Field(default_factory=list, max_length=16)


class InstitutionStatusRequest(BaseModel):
    """Suspend or reactivate an institution's access."""

    status: Literal["active", "suspended"]
