"""Issuing credentials: build, validate (`credential.validation`) and sign, for one subject or
many. The one issuance API of the issuer's single, idempotent and bulk paths.

- `issue_credential(kind, request, identity=, signer=, status_index=, now=)`: one credential,
  returned as (signed document, its RFC 8785 bytes, credential hash);
- `issue_credentials(kind, rows, identity=, signer=, now=)`: many, each row's outcome (id, bytes
  and hash, or the field and message of its error) in row order. Its fast path is the template
  splice (`BulkTemplate`, in `template`): pre-canonicalized constant members, per-row schema
  checks, one signature per row; a row the template cannot vouch for goes through the plain path
  (`issue_plain`, in `plain`), so the template changes the cost, never the outcome
  (tests/credential/test_cred_issuance.py is the differential test).

Example::

    identity = IssuerIdentity("did:web:uni.example", "Uni", "https://uni.example/status")
    signer = Signer(seed, identity.did)
    signed, raw, digest = issue_credential(
        DEGREE, {"credentialSubject": subject}, identity=identity, signer=signer,
        status_index=7, now=datetime.now(UTC))
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .plain import (
    CONTEXTS,
    KINDS,
    CredentialIds,
    FactError,
    IssuerIdentity,
    Result,
    Signer,
    bind_subject,
    build_credential,
    check_facts,
    credential_document,
    issue_credential,
    issue_plain,
    new_credential_id,
    new_credential_ids,
    new_seed,
    status_entries,
)
from .template import BulkTemplate

__all__ = [
    "CONTEXTS",
    "KINDS",
    "BulkTemplate",
    "CredentialIds",
    "FactError",
    "IssuerIdentity",
    "Result",
    "Signer",
    "bind_subject",
    "build_credential",
    "check_facts",
    "credential_document",
    "issue_credential",
    "issue_credentials",
    "issue_plain",
    "new_credential_id",
    "new_credential_ids",
    "new_seed",
    "status_entries",
]


def issue_credentials(
    kind: str,
    rows: list[tuple[int, Any, int]],
    *,
    identity: IssuerIdentity,
    signer: Signer,
    now: dt.datetime,
    template: BulkTemplate | None = None,
) -> list[Result]:
    """Issue many: (row, request or parse error, status index) -> (row, credential id or None,
    JCS bytes, hash, error field, error message), sorted by row; a bad row never fails the
    others. ``template``: a `BulkTemplate` of the same kind, identity, signer and second to
    reuse (built here otherwise)."""
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    if (
        template is None
        or (template.kind, template.created, template.identity) != (kind, created, identity)
        or template.signer is not signer
    ):
        template = BulkTemplate(kind, identity=identity, signer=signer, now=now)
    return template.issue_rows(rows)
