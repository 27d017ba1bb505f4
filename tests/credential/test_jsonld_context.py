"""Every kind of document the credential package makes is complete JSON-LD with only the
contexts it names, all served from the shipped files (credential/contexts): PyLD expands it
with no dropped term and no relative IRI (safe mode) and canonicalizes it (URDNA2015 /
RDFC-1.0) with every claim in the N-Quads.

Documents: the three kinds unsigned, signed (eddsa-jcs-2022) and anchored (the
``TalentProofAnchor`` entry in the proof set), and a holder's presentation of the anchored three
with the identity-document salt. The issuer's documents (status lists, DID documents, the API's
credentials) are tests/interop/test_issuer_jsonld.py.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from talentproof.credential import contexts, presentation, validation
from talentproof.credential.examples import ID_SALT
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.types import TALENTPROOF_CONTEXT
from tests.interop.jsonld_support import (
    JsonLdFailure,
    canonicalize,
    expand_safely,
    missing_from_nquads,
)

from ._cred_support import BUILDERS, WHEN, sign

KINDS = sorted(BUILDERS)


def _assert_complete(doc: dict[str, Any]) -> None:
    expand_safely(doc)
    nquads = canonicalize(doc)
    missing = missing_from_nquads(doc, nquads)
    assert not missing, f"claims lost in RDF: {missing}"


@pytest.mark.parametrize("kind", KINDS)
def test_unsigned_credential_is_complete_json_ld(kind: str, holder_key: Ed25519SigningKey) -> None:
    _assert_complete(BUILDERS[kind](holder_key.public_key.did_key))


@pytest.mark.parametrize("kind", KINDS)
def test_signed_credential_is_complete_json_ld(
    kind: str, holder_key: Ed25519SigningKey, issuer_key: Ed25519SigningKey
) -> None:
    _assert_complete(sign(BUILDERS[kind](holder_key.public_key.did_key), issuer_key))


@pytest.mark.parametrize("kind", KINDS)
def test_anchored_credential_is_complete_json_ld(
    kind: str, anchored: dict[str, dict[str, Any]]
) -> None:
    doc = anchored[kind]
    assert any(p.get("type") == "TalentProofAnchor" for p in doc["proof"])
    _assert_complete(doc)


def test_presentation_is_complete_json_ld(
    anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    vp = presentation.create_presentation(
        [anchored[k] for k in KINDS],
        holder_key,
        challenge="c-123",
        domain="verifier.example",
        created=WHEN + timedelta(days=1),
        identity_document_salt=ID_SALT,
    )
    _assert_complete(vp)


def test_anchor_terms_expand_to_the_vocabulary(anchored: dict[str, dict[str, Any]]) -> None:
    nquads = canonicalize(anchored["DegreeCredential"])
    for term in ("chainId", "merkleRoot", "leafIndex", "path", "registry", "treeSize"):
        assert f"<https://talentproof.org/vocab#{term}>" in nquads
    assert "<https://talentproof.org/vocab#TalentProofAnchor>" in nquads
    assert '"31337"^^<http://www.w3.org/2001/XMLSchema#integer>' in nquads


def test_person_fields_are_typed(anchored: dict[str, dict[str, Any]]) -> None:
    for kind in KINDS:
        nquads = canonicalize(anchored[kind])
        assert '"1990-04-01"^^<http://www.w3.org/2001/XMLSchema#date>' in nquads, kind
        assert "<https://talentproof.org/vocab#commitment>" in nquads, kind


def test_an_undefined_term_is_caught(holder_key: Ed25519SigningKey) -> None:
    doc = BUILDERS["DegreeCredential"](holder_key.public_key.did_key)
    doc["credentialSubject"]["degree"]["nickname"] = "x"
    with pytest.raises(JsonLdFailure, match="nickname"):
        expand_safely(doc)
    doc = BUILDERS["DegreeCredential"](holder_key.public_key.did_key)
    doc["type"] = ["VerifiableCredential", "NoSuchCredential"]
    with pytest.raises(JsonLdFailure, match="relative type IRI 'NoSuchCredential'"):
        expand_safely(doc)


def test_the_loader_refuses_any_other_url() -> None:
    with pytest.raises(contexts.UnknownContext, match="never fetched"):
        contexts.load_context("https://example.org/context.jsonld")
    with pytest.raises(JsonLdFailure):
        expand_safely({"@context": "https://example.org/ctx", "name": "x"})


def test_the_shipped_context_is_the_one_credentials_name() -> None:
    assert contexts.TALENTPROOF_V1 == TALENTPROOF_CONTEXT
    ctx = contexts.load_context(TALENTPROOF_CONTEXT)["@context"]
    assert ctx["@protected"] is True
    # the served bytes are the file's, parsed the same
    assert json.loads(contexts.context_bytes(TALENTPROOF_CONTEXT)) == {"@context": ctx}
    for url in contexts.CONTEXT_FILES:
        assert "@context" in contexts.load_context(url), url


#: SHA-256 of talentproof-v1.jsonld as released (f3d2724): credentials signed since name it
RELEASED_V1_SHA256 = "24a4ed38039b44472d206040072880eac52fc3dab13e2fdccbaa91894eb5db46"


def test_the_released_context_is_immutable() -> None:
    """v1 is released: its bytes never change (what the issuer serves as ``immutable`` for a
    year, and what every credential naming it was read with). A change of meaning is a new file
    and URL (talentproof-v2.jsonld, ``https://talentproof.org/contexts/v2``)."""
    assert contexts.CONTEXT_FILES[TALENTPROOF_CONTEXT] == "talentproof-v1.jsonld"
    digest = hashlib.sha256(contexts.context_bytes(TALENTPROOF_CONTEXT)).hexdigest()
    assert digest == RELEASED_V1_SHA256, (
        "talentproof-v1.jsonld changed after its release: restore it, and put new terms in a "
        "new versioned context (talentproof-v2.jsonld at https://talentproof.org/contexts/v2)"
    )


def _status(index: int) -> list[dict[str, Any]]:
    base = "https://issuer.example.org/institutions/hku/status"
    return [
        {
            "id": f"{base}/{p}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": p,
            "statusListIndex": str(index),
            "statusListCredential": f"{base}/{p}",
        }
        for p in ("revocation", "suspension")
    ]


def test_every_optional_field_is_defined(holder_key: Ed25519SigningKey) -> None:
    did = holder_key.public_key.did_key
    until = WHEN + timedelta(days=3650)
    common = {"valid_until": until, "status": _status(7)}
    degree = BUILDERS["DegreeCredential"](
        did, institution={"name": "HKU", "id": "did:web:hku.hk"}, **common
    )
    employment = BUILDERS["EmploymentCredential"](did, **common)
    employment["credentialSubject"]["employment"]["employer"].update(
        {"id": "did:web:hsbc.com.hk", "jurisdiction": "HK"}
    )
    validation.validate_credential(employment)  # the schema allows what the builder omits
    badge = BUILDERS["OpenBadgeCredential"](
        did,
        criteria={"id": "https://hkust.edu.hk/badges/dlt-101/criteria", "narrative": "All modules"},
        alignment=[
            {
                "targetName": "Blockchain",
                "targetUrl": "https://sfia-online.org/en/skillcode/9/BLCH",
                "targetDescription": "Blockchain skills",
                "targetFramework": "SFIA 9",
                "targetCode": "BLCH",
                "targetType": "CFItem",
            }
        ],
        result_descriptions=[
            {
                "id": "urn:uuid:91b0b1c4-0f5c-4c1a-9f47-0d7a1b7e4a01",
                "name": "Grade",
                "resultType": "LetterGrade",
            }
        ],
        results=[
            {
                "resultDescription": "urn:uuid:91b0b1c4-0f5c-4c1a-9f47-0d7a1b7e4a01",
                "value": "A",
                "status": "Completed",
            }
        ],
        **common,
    )
    for doc in (degree, employment, badge):
        _assert_complete(doc)
