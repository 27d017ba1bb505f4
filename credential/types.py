"""The credential kinds TalentProof issues (the last entry of a VC ``type``).

The on-chain type id of a kind is ``keccak256(name)`` (computed by the ledger package).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SchemaValidationError

__all__ = [
    "CREDENTIALS_V2",
    "DEGREE",
    "EMPLOYMENT",
    "KINDS",
    "OB3_CONTEXT",
    "OPEN_BADGE",
    "PRESENTATION",
    "TALENTPROOF_CONTEXT",
    "credential_kind",
]

DEGREE = "DegreeCredential"
EMPLOYMENT = "EmploymentCredential"
OPEN_BADGE = "OpenBadgeCredential"
KINDS: tuple[str, ...] = (DEGREE, EMPLOYMENT, OPEN_BADGE)
PRESENTATION = "VerifiablePresentation"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"  # the VC 2.0 base context
TALENTPROOF_CONTEXT = "https://talentproof.org/contexts/v1"  # degrees and employment
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"  # Open Badges 3.0


def credential_kind(doc: Mapping[str, Any]) -> str:
    """The TalentProof kind of a credential: the last entry of ``type``, which must be a kind."""
    if not isinstance(doc, Mapping):
        raise SchemaValidationError("", "a credential object", type(doc).__name__)
    types = doc.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise SchemaValidationError("type", "a list including 'VerifiableCredential'", types)
    last: str = types[-1]
    if last not in KINDS:
        raise SchemaValidationError("type", f"last entry one of {list(KINDS)}", last)
    return last
