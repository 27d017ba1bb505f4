"""Bulk issuance helpers of the issuer: the credential package's bulk issuance API
(`credential.issuance.issue_credentials`, its template splice `BulkTemplate`, `new_credential_ids`)
and the Merkle batch of a chunk as the store keeps it.
"""

from __future__ import annotations

from talentproof.credential import merkle as _merkle
from talentproof.credential.issuance import BulkTemplate, issue_credentials, new_credential_ids

__all__ = ["BulkTemplate", "issue_credentials", "merkle_batch", "new_credential_ids"]


def merkle_batch(hashes: list[bytes]) -> tuple[bytes, list[bytes]]:
    """(root, each leaf's audit path as one bytes value) of an RFC 9162 tree over the hashes:
    `_cred.merkle_tree` with each path already joined, as the ``proof_path`` column stores it."""
    tree = _merkle.MerkleTree(hashes)
    return tree.root, tree.joined_paths()
