"""Shared helpers of the credential tests (keys, the three credential kinds, anchoring)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from talentproof.credential import anchor, integrity, merkle, model
from talentproof.credential.keys import Ed25519SigningKey

WHEN = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337


@pytest.fixture(scope="session")
def issuer_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"issuer").digest())


@pytest.fixture(scope="session")
def holder_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"holder").digest())


@pytest.fixture(scope="session")
def other_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"someone else").digest())


def make_degree(holder_did: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        issuer="did:web:hku.hk", subject_id=holder_did, level="master",
        field_of_study="Computer Science", institution="The University of Hong Kong",
        award_date="2020-06-30", honours="Distinction",
        id="urn:uuid:0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", valid_from=WHEN,
    )
    args.update(overrides)
    return model.degree_credential(**args)


def make_employment(holder_did: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        employer_name="The Hongkong and Shanghai Banking Corporation Limited",
        employer_registration_id="CR-0000263", role="Senior blockchain engineer",
        seniority="senior", start_date="2019-01-01", end_date="2025-12-31",
        responsibilities=["Designed tokenised deposit settlement smart contracts",
                          "Led a team of five engineers on a permissioned ledger"],
        domains=["blockchain in financial services", "distributed ledger technology"],
        id="urn:uuid:1f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", valid_from=WHEN,
    )
    args.update(overrides)
    return model.employment_credential({"id": "did:web:hsbc.com.hk", "name": "HSBC"},
                                       holder_did, **args)


def make_badge(holder_did: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        achievement_id="https://hkust.edu.hk/badges/dlt-101",
        name="Distributed Ledger Fundamentals",
        description="Forty-hour professional training in distributed ledger technology for "
                    "financial services.",
        criteria="Completed all modules and passed the final assessment",
        alignment=[{"targetName": "Blockchain",
                    "targetUrl": "https://sfia-online.org/en/skillcode/9/BLCH",
                    "targetFramework": "SFIA 9", "targetCode": "BLCH"}],
        results=[{"value": "Distinction"}],
        id="urn:uuid:2f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", valid_from=WHEN,
    )
    args.update(overrides)
    return model.open_badge_credential({"id": "did:web:hkust.edu.hk", "name": "HKUST"},
                                       holder_did, **args)


BUILDERS = {"DegreeCredential": make_degree, "EmploymentCredential": make_employment,
            "OpenBadgeCredential": make_badge}


def sign(doc: dict[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    return integrity.sign(doc, key, verification_method=key.public_key.verification_method,
                          created=WHEN)


def anchor_in_batch(signed: dict[str, Any], *, batch: int = 4096, index: int = 5
                    ) -> dict[str, Any]:
    """Anchor ``signed`` as leaf ``index`` of a batch of ``batch`` (others: filler hashes)."""
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(batch)]
    hashes[index] = merkle.credential_hash(signed)
    tree = merkle.MerkleTree(hashes)
    proof = anchor.AnchorProof.from_inclusion(tree.proof(index), chain_id=CHAIN_ID,
                                              registry=REGISTRY, merkle_root=tree.root)
    return anchor.attach_anchor(signed, proof)


@pytest.fixture(scope="session")
def anchored(issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
             ) -> dict[str, dict[str, Any]]:
    """One anchored credential of each kind (batch of 4096: a 12-hash path)."""
    did = holder_key.public_key.did_key
    return {kind: anchor_in_batch(sign(build(did), issuer_key)) for kind, build in BUILDERS.items()}
