"""TalentProof credentials as the holder receives them, verified by an independent
implementation: Digital Bazaar's ``@digitalbazaar/vc`` 7.3.0 with
``@digitalbazaar/eddsa-jcs-2022-cryptosuite`` 1.0.0 (Node, offline, tests/interop/js/verify.mjs).

The facts these tests pin (issue 14, point 2; where the anchor evidence lives is decided
elsewhere):

* a credential whose ``proof`` is one object verifies; so does one whose ``proof`` is the set
  [eddsa-jcs-2022 DataIntegrityProof, TalentProofAnchor], in either order: the library verifies
  the proofs that match its suite and purpose and ignores the anchor entry;
* so it does not see the anchor: an altered anchor entry still verifies (the TalentProof
  verifier's check), and the anchor entry alone is "Did not verify any proofs; insufficient
  proofs matched the acceptable suite(s) and required purpose(s).";
* with eddsa-jcs-2022 the library loads no JSON-LD context: only the verification method and
  the issuer's DID document (JSON-LD completeness is tests/credential/test_jsonld_context.py).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta
from typing import Any

import pytest

from talentproof.credential import examples, integrity, keys, presentation, qr
from talentproof.credential.keys import Ed25519SigningKey
from tests.credential._cred_support import anchor_in_batch

from .node_vc import messages, verify_with_vc

DID = "did:web:localhost%3A8000:institutions:hku"
NO_PROOF_MATCHED = (
    "Did not verify any proofs; insufficient proofs matched the acceptable suite(s) and "
    "required purpose(s)."
)


@pytest.fixture(scope="module")
def issuer() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"issuer").digest())


@pytest.fixture(scope="module")
def holder() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_seed(hashlib.sha256(b"holder").digest())


@pytest.fixture(scope="module")
def did_document(issuer: Ed25519SigningKey) -> dict[str, Any]:
    return keys.did_web_document(DID, {issuer.public_key.multibase: issuer.public_key})


def _signed(kind: str, issuer: Ed25519SigningKey, holder: Ed25519SigningKey) -> dict[str, Any]:
    build = examples.BUILDERS[kind]
    party = {"id": DID, "name": "The University of Hong Kong"}
    doc = build(holder.public_key.did_key, issuer=party if kind == "OpenBadgeCredential" else DID)
    return integrity.sign(
        doc,
        issuer,
        verification_method=f"{DID}#{issuer.public_key.multibase}",
        created=examples.WHEN,
    )


@pytest.fixture(scope="module")
def signed(issuer: Ed25519SigningKey, holder: Ed25519SigningKey) -> dict[str, dict[str, Any]]:
    return {kind: _signed(kind, issuer, holder) for kind in examples.BUILDERS}


@pytest.fixture(scope="module")
def anchored(signed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kind: anchor_in_batch(doc) for kind, doc in signed.items()}


def test_a_signed_degree_with_proof_as_one_object_verifies(
    signed: dict[str, dict[str, Any]], did_document: dict[str, Any]
) -> None:
    doc = signed["DegreeCredential"]
    assert isinstance(doc["proof"], dict)
    result = verify_with_vc(doc, [did_document])
    assert result["verified"], result
    # eddsa-jcs-2022: no context is loaded, only the method and the issuer's DID document
    assert result["requested"] == [doc["proof"]["verificationMethod"], DID]


@pytest.mark.parametrize("kind", sorted(examples.BUILDERS))
def test_an_anchored_credential_with_the_anchor_in_the_proof_set_verifies(
    kind: str, anchored: dict[str, dict[str, Any]], did_document: dict[str, Any]
) -> None:
    doc = anchored[kind]
    assert [p["type"] for p in doc["proof"]] == ["DataIntegrityProof", "TalentProofAnchor"]
    assert verify_with_vc(doc, [did_document])["verified"]
    reordered = copy.deepcopy(doc)
    reordered["proof"].reverse()
    assert verify_with_vc(reordered, [did_document])["verified"]


def test_the_library_ignores_the_anchor_entry(
    anchored: dict[str, dict[str, Any]], did_document: dict[str, Any]
) -> None:
    doc = anchored["DegreeCredential"]
    without = copy.deepcopy(doc)
    without["proof"] = [p for p in doc["proof"] if p["type"] != "TalentProofAnchor"]
    assert verify_with_vc(without, [did_document])["verified"]
    altered = copy.deepcopy(doc)
    altered["proof"][1]["merkleRoot"] = "0x" + "ab" * 32
    assert verify_with_vc(altered, [did_document])["verified"]  # TalentProof's check, not its
    alone = copy.deepcopy(doc)
    alone["proof"] = doc["proof"][1]
    result = verify_with_vc(alone, [did_document])
    assert not result["verified"] and NO_PROOF_MATCHED in messages(result)


def test_an_altered_claim_fails(
    anchored: dict[str, dict[str, Any]], did_document: dict[str, Any]
) -> None:
    doc = copy.deepcopy(anchored["DegreeCredential"])
    doc["credentialSubject"]["degree"]["level"] = "doctorate"
    result = verify_with_vc(doc, [did_document])
    assert not result["verified"] and "Invalid signature." in messages(result)


def test_a_key_the_did_document_does_not_list_fails(
    signed: dict[str, dict[str, Any]], holder: Ed25519SigningKey
) -> None:
    other = keys.did_web_document(DID, {holder.public_key.multibase: holder.public_key})
    result = verify_with_vc(signed["DegreeCredential"], [other])
    assert not result["verified"], result


def test_a_bound_presentation_of_the_anchored_three_verifies(
    anchored: dict[str, dict[str, Any]], holder: Ed25519SigningKey, did_document: dict[str, Any]
) -> None:
    vp = presentation.create_presentation(
        [anchored[k] for k in sorted(anchored)],
        holder,
        challenge="c-123",
        domain="verifier.example",
        created=examples.WHEN + timedelta(days=1),
        identity_document_salt=examples.ID_SALT,
    )
    ok = verify_with_vc(
        vp, [did_document], presentation=True, challenge="c-123", domain="verifier.example"
    )
    assert ok["verified"], ok
    replay = verify_with_vc(
        vp, [did_document], presentation=True, challenge="c-999", domain="verifier.example"
    )
    assert not replay["verified"]
    assert any("The challenge is not as expected" in m for m in messages(replay))


@pytest.mark.parametrize("kind", sorted(examples.BUILDERS))
def test_the_qr_payload_decoded_back_to_json_verifies(
    kind: str, anchored: dict[str, dict[str, Any]], did_document: dict[str, Any]
) -> None:
    back = qr.decode_payload(qr.encode_payload(anchored[kind]))
    assert back == anchored[kind]
    assert verify_with_vc(back, [did_document])["verified"]
