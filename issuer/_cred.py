"""Thin adapter from the issuer to `talentproof.credential`: issuance (`credential.issuance`,
the one API of single, idempotent and bulk issuance), hashing, Merkle trees, anchor proofs, QR
codes and key publication.

Everything the issuer needs from the credential package goes through here, so the service and the
bulk worker processes share one definition of "issue one credential".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentproof.credential import anchor as _anchor
from talentproof.credential import integrity as _integrity
from talentproof.credential import keys as _keys
from talentproof.credential import merkle as _merkle
from talentproof.credential import qr as _qr
from talentproof.credential import validation as _validation
from talentproof.credential.errors import (
    CanonicalizationError,
    CredentialError,
    SchemaValidationError,
)
from talentproof.credential.issuance import (
    KINDS,
    FactError,
    IssuerIdentity,
    Signer,
    bind_subject,
    check_facts,
    issue_credential,
    issue_plain,
    new_credential_id,
    new_seed,
)
from talentproof.credential.text import same_name

__all__ = [
    "KINDS",
    "CanonicalizationError",
    "CredentialError",
    "FactError",
    "IssuerIdentity",
    "SchemaValidationError",
    "Signer",
    "anchored_document",
    "bind_subject",
    "check_facts",
    "credential_hash",
    "did_document",
    "issue_document",
    "issue_many",
    "merkle_tree",
    "new_credential_id",
    "new_seed",
    "qr_payload",
    "qr_png",
    "qr_svg",
    "same_name",
    "sign_plain",
    "warm_up",
]

#: One credential: `credential.issuance.issue_credential` (single and idempotent issuance).
issue_document = issue_credential
#: A batch by the plain path: `credential.issuance.issue_plain` (bulk uses `issue_credentials`).
issue_many = issue_plain


def warm_up() -> None:
    """Compile every kind's schema validator now (at start-up) rather than on the first request
    that needs it."""
    for kind in KINDS:
        _validation.compiled_validator(kind)


def credential_hash(document: dict[str, Any]) -> bytes:
    """The credential's 32-byte identity (architecture.md)."""
    return _merkle.credential_hash(document)


def merkle_tree(hashes: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """(root, inclusion path of each leaf) of an RFC 9162 tree over the credential hashes."""
    tree = _merkle.MerkleTree(hashes)
    return tree.root, [list(p.path) for p in tree.proofs()]


def anchored_document(
    document: dict[str, Any],
    *,
    chain_id: int,
    registry: str,
    root: bytes,
    leaf_index: int,
    tree_size: int,
    path: list[bytes],
) -> dict[str, Any]:
    """The holder's form: the signed credential plus its TalentProofAnchor proof."""
    proof = _anchor.AnchorProof(
        chain_id=chain_id,
        registry=registry,
        merkle_root=root,
        leaf_index=leaf_index,
        tree_size=tree_size,
        path=tuple(path),
    )
    return _anchor.attach_anchor(document, proof)


def qr_payload(anchored: dict[str, Any]) -> str:
    """The compact QR payload of an anchored credential."""
    return _qr.encode_payload(anchored)


def qr_png(anchored: dict[str, Any]) -> bytes:
    """The QR code as PNG bytes."""
    return _qr.render_png(qr_payload(anchored))


def qr_svg(anchored: dict[str, Any]) -> str:
    """The QR code as an SVG document."""
    return _qr.render_svg(qr_payload(anchored))


def did_document(did: str, methods: list[tuple[str, str | None, bool]]) -> dict[str, Any]:
    """The did:web document publishing the institution's verification methods.

    ``methods``: (publicKeyMultibase, expires or None, asserts) for each key to list. Each key's
    fragment is its publicKeyMultibase, as in the credentials' verificationMethod; only the keys
    that assert are referenced from ``assertionMethod`` and ``authentication``; ``expires`` (an
    XML dateTimeStamp) is the Controlled Identifiers property of that name.
    """
    doc = _keys.did_web_document(
        did, {mb: _keys.Ed25519PublicKey.from_multibase(mb) for mb, _e, _a in methods}
    )
    for vm, (_mb, expires, _asserts) in zip(doc["verificationMethod"], methods, strict=True):
        if expires is not None:
            vm["expires"] = expires
    asserting = [vm["id"] for vm, m in zip(doc["verificationMethod"], methods, strict=True) if m[2]]
    doc["assertionMethod"] = asserting
    doc["authentication"] = list(asserting)
    return doc


def sign_plain(document: dict[str, Any], signer: Signer, *, now: dt.datetime) -> dict[str, Any]:
    """Sign a document that is not one of the credential kinds (the status list credential)."""
    created = now.astimezone(dt.UTC).replace(microsecond=0)
    return _integrity.sign(
        document, signer.key, verification_method=signer.verification_method, created=created
    )
