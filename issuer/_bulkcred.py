"""Bulk issuance helpers of the issuer: the credential package's bulk issuance API
(`credential.issuance.issue_credentials`, its template splice `BulkTemplate`, `new_credential_ids`).
"""

from __future__ import annotations

from talentproof.credential.issuance import BulkTemplate, issue_credentials, new_credential_ids

__all__ = ["BulkTemplate", "issue_credentials", "new_credential_ids"]
