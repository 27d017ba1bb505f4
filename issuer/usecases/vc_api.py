"""The W3C VC API (VCALM) in the issuer's own terms: a VC API request is translated into the
request of the existing use case, never issued or changed by a second path.

- ``POST /credentials/issue``: `issue_request_of` turns the unsigned VC 2.0 credential into the
  ``POST /credentials`` request (`api.schemas.IssueRequest`: type, credentialSubject, validFrom,
  validUntil, name, description), after checking what that request cannot say: the ``issuer``
  is the caller's institution, the ``@context`` and ``type`` are those the issuer writes for the
  kind, and nothing the issuer sets itself (``id``, ``credentialStatus``, ``credentialSchema``,
  ``proof``) is given. Issuance itself (accreditation, schema, facts, signing, idempotency,
  anchoring) is `usecases.issuance.Issuance`'s, through the same group commit; the route says
  its refusals with their VC API field (a type not accredited: 422 ``credential.type``).
- ``POST /credentials/status``: `status_action_of` turns ``credentialStatus: [{type, status}]``
  into the action of `usecases.status_changes.StatusChanges.change`.

Every refusal is an `InvalidRequest` whose ``field`` is the path in the VC API body
(``credential.issuer``, ``credential.credentialSubject.degree.level``, ``options.credentialId``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from talentproof.credential.issuance import CONTEXTS, KINDS
from talentproof.credential.types import OPEN_BADGE, unvouched_issuer_members

from .. import auth
from ..caches import IssuerCaches
from ..errors import InvalidRequest
from ..store import ConnectionReads
from .common import require
from .institutions import IssuingInstitution, institution_info

#: The members of an unsigned credential the issuer takes from the caller.
CALLER_MEMBERS = (
    "@context",
    "type",
    "issuer",
    "credentialSubject",
    "validFrom",
    "validUntil",
    "name",
    "description",
)
#: Members the issuer writes itself: a credential giving one is refused, naming it.
ISSUER_MEMBERS = {
    "id": "the issuer assigns the credential's id (a urn:uuid); omit credential.id",
    "credentialStatus": "the issuer assigns the status list entries; omit credentialStatus",
    "credentialSchema": "the issuer names the kind's schema itself; omit credentialSchema",
    "proof": "the credential to issue must be unsigned; omit proof",
    "issuanceDate": "VC Data Model 2.0: use validFrom (issuanceDate is VC 1.1)",
    "expirationDate": "VC Data Model 2.0: use validUntil (expirationDate is VC 1.1)",
}
#: ``credentialStatus[].status`` -> the status-change action.
STATUS_ACTIONS = {"revoked": "revoke", "suspended": "suspend", "reinstated": "reinstate"}
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"


def issuing_institution(
    engine: Engine, caches: IssuerCaches, principal: auth.Principal
) -> IssuingInstitution:
    """The caller's institution (scope ``issue`` required: `Forbidden` otherwise)."""
    institution_id = require(principal, "issue")
    with engine.connect() as conn:
        return institution_info(caches, ConnectionReads(conn), institution_id)


def _kind_of(credential: Mapping[str, Any]) -> str:
    types = credential.get("type")
    expected = f'["VerifiableCredential", one of {list(KINDS)}]'
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise InvalidRequest(f"credential.type must be {expected}", field="credential.type")
    kinds: list[str] = [t for t in types if t != "VerifiableCredential"]
    if "VerifiableCredential" not in types or len(types) != 2 or len(kinds) != 1:
        raise InvalidRequest(
            f"credential.type must be {expected}, got {types!r}", field="credential.type"
        )
    if kinds[0] not in KINDS:
        raise InvalidRequest(
            f"credential.type: this issuer issues {list(KINDS)}, got {kinds[0]!r}",
            field="credential.type",
        )
    return kinds[0]


def _check_issuer(kind: str, issuer: Any, inst: IssuingInstitution) -> None:
    if isinstance(issuer, str):
        issuer = {"id": issuer}
    if not isinstance(issuer, Mapping):
        raise InvalidRequest(
            f"credential.issuer must be the institution's DID {inst.did!r} (or an object with "
            "that id)",
            field="credential.issuer",
        )
    if issuer.get("id") != inst.did:
        raise InvalidRequest(
            f"credential.issuer must be the caller's institution {inst.did!r}, got "
            f"{issuer.get('id')!r}: an API key issues only for its own institution",
            field="credential.issuer",
        )
    if "name" in issuer and issuer["name"] != inst.name:
        raise InvalidRequest(
            f"credential.issuer.name must be the institution's registered name "
            f"{inst.name!r} (or be omitted), got {issuer['name']!r}",
            field="credential.issuer.name",
        )
    profile = dict(issuer)
    if kind == OPEN_BADGE and profile.get("type") == "Profile":
        profile["type"] = ["Profile"]  # (the issuer writes the list)
    for key in unvouched_issuer_members(kind, profile):
        # what the verifier's check 6 refuses: a site, a logo, an address, ... the registry
        # never recorded (a display of the verified profile would show whatever was given)
        raise InvalidRequest(
            f"credential.issuer.{key}: the registry vouches only for the institution's DID and "
            f"registered name and cannot vouch for {key!r}; the issuer writes its own profile "
            "(id, name" + (", type ['Profile']" if kind == OPEN_BADGE else "") + "): omit it",
            field=f"credential.issuer.{key}",
        )


def issue_request_of(
    credential: Mapping[str, Any], options: Mapping[str, Any], inst: IssuingInstitution
) -> dict[str, Any]:
    """The ``POST /credentials`` request (`api.schemas.IssueRequest` fields) that issues the
    VC API ``credential`` for ``inst``; raises `InvalidRequest` naming the VC API field."""
    for key in options:
        raise InvalidRequest(
            f"options.{key}: not supported by this issuer (it takes no issuance options)",
            field=f"options.{key}",
        )
    for key in credential:
        if key in ISSUER_MEMBERS:
            raise InvalidRequest(
                f"credential.{key}: {ISSUER_MEMBERS[key]}", field=f"credential.{key}"
            )
        if key not in CALLER_MEMBERS:
            raise InvalidRequest(
                f"credential.{key}: not a member this issuer takes (it takes {list(CALLER_MEMBERS)})",
                field=f"credential.{key}",
            )
    kind = _kind_of(credential)
    if credential.get("@context") != CONTEXTS[kind]:
        raise InvalidRequest(
            f"credential.@context of a {kind} must be {CONTEXTS[kind]!r}, got "
            f"{credential.get('@context')!r}",
            field="credential.@context",
        )
    _check_issuer(kind, credential.get("issuer"), inst)
    request: dict[str, Any] = {"type": kind}
    for key in ("credentialSubject", "validFrom", "validUntil", "name", "description"):
        if key in credential:
            request[key] = credential[key]
    return request


def status_action_of(entries: list[Mapping[str, Any]]) -> str:
    """The status-change action (revoke, suspend, reinstate) of ``credentialStatus``."""
    if len(entries) != 1:
        raise InvalidRequest(
            "credentialStatus must hold exactly one entry {type, status}", field="credentialStatus"
        )
    entry = entries[0]
    if entry.get("type") != STATUS_ENTRY_TYPE:
        raise InvalidRequest(
            f"credentialStatus.0.type must be {STATUS_ENTRY_TYPE!r}, got {entry.get('type')!r}",
            field="credentialStatus.0.type",
        )
    status = entry.get("status")
    if status not in STATUS_ACTIONS:
        raise InvalidRequest(
            f"credentialStatus.0.status must be one of {list(STATUS_ACTIONS)}, got {status!r}",
            field="credentialStatus.0.status",
        )
    return STATUS_ACTIONS[status]


__all__ = [
    "CALLER_MEMBERS",
    "ISSUER_MEMBERS",
    "STATUS_ACTIONS",
    "STATUS_ENTRY_TYPE",
    "issue_request_of",
    "issuing_institution",
    "status_action_of",
]
