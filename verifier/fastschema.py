"""Check 2 (structure and schema): the credential package's one validator.

The compiled fast path this module held now lives in `talentproof.credential.validation` (the
issuer and the builders use it too); this name is kept for the verifier's callers.
"""

from __future__ import annotations

from talentproof.credential.validation import (
    compiled_validator,
    is_holder_did,
    validate_credential,
)

__all__ = ["compiled_validator", "is_holder_did", "validate_credential"]
