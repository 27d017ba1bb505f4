"""Helpers of the wallet tests: signed credentials of the three kinds, anchored in a batch."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from talentproof.credential import anchor, integrity, merkle
from talentproof.credential.examples import WHEN, badge, degree, employment
from talentproof.credential.keys import Ed25519SigningKey

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ISSUER_KEY = Ed25519SigningKey.from_seed(hashlib.sha256(b"wallet test issuer").digest())
BUILDERS = {"degree": degree, "employment": employment, "training": badge}


def issue(
    kind: str, holder: str, *, anchored: bool = True, when: datetime = WHEN, **overrides: Any
) -> dict[str, Any]:
    """A credential of ``kind`` about ``holder``, signed by a did:web issuer key (TalentProof's
    ``did:web:...#z6Mk...`` convention) and, when ``anchored``, leaf 3 of a batch of 8."""
    doc = BUILDERS[kind](holder, **overrides)
    issuer = doc["issuer"]["id"] if isinstance(doc["issuer"], dict) else doc["issuer"]
    signed = integrity.sign(
        doc,
        ISSUER_KEY,
        verification_method=f"{issuer}#{ISSUER_KEY.public_key.multibase}",
        created=when,
    )
    if not anchored:
        return signed
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(8)]
    hashes[3] = merkle.credential_hash(signed)
    tree = merkle.MerkleTree(hashes)
    proof = anchor.AnchorProof.from_inclusion(
        tree.proof(3), chain_id=31337, registry=REGISTRY, merkle_root=tree.root
    )
    return anchor.attach_anchor(signed, proof)
