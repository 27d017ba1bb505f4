"""Presentations bound to a verifier's challenge and domain, signed with the holder's did:key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from talentproof.credential import integrity, qr
from talentproof.credential.errors import (
    AlteredDocument,
    ChallengeMismatch,
    DomainMismatch,
    HolderMismatch,
    MissingProof,
    PayloadTooLargeForQR,
    WrongProofPurpose,
)
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import create_presentation, verify_presentation

from ._cred_support import WHEN, anchor_in_batch, make_degree, sign

NONCE, DOMAIN = "c0ffee-5eed-1234", "verify.immd.gov.hk"


def _unsigned_vp(creds: list[dict[str, Any]], holder: str) -> dict[str, Any]:
    """A presentation built by hand (not through `create_presentation`), not signed yet."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": creds,
    }


def _sign_vp(
    vp: dict[str, Any], key: Ed25519SigningKey, proof_purpose: str = "authentication"
) -> dict[str, Any]:
    """`vp` signed by `key` for the test verifier's challenge and domain."""
    return integrity.sign(
        vp,
        key,
        verification_method=key.public_key.verification_method,
        created=WHEN,
        proof_purpose=proof_purpose,
        challenge=NONCE,
        domain=DOMAIN,
    )


@pytest.fixture()
def creds(anchored: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [copy.deepcopy(d) for d in anchored.values()]


@pytest.fixture()
def vp(creds: list[dict[str, Any]], holder_key: Ed25519SigningKey) -> dict[str, Any]:
    return create_presentation(creds, holder_key, challenge=NONCE, domain=DOMAIN, created=WHEN)


def test_bundle_of_three_verifies(
    vp: dict[str, Any], creds: list[dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    assert vp["holder"] == holder_key.public_key.did_key
    assert vp["proof"]["proofPurpose"] == "authentication"
    assert (vp["proof"]["challenge"], vp["proof"]["domain"]) == (NONCE, DOMAIN)
    assert verify_presentation(vp, challenge=NONCE, domain=DOMAIN) == creds
    for cred in creds:  # the bundled credentials keep their own proofs and anchors
        integrity.verify(cred)


def test_replay_to_another_verifier_fails(vp: dict[str, Any]) -> None:
    with pytest.raises(ChallengeMismatch):
        verify_presentation(vp, challenge="another-nonce", domain=DOMAIN)
    with pytest.raises(DomainMismatch):
        verify_presentation(vp, challenge=NONCE, domain="other-verifier.example")


def test_swapped_credential_is_detected(
    vp: dict[str, Any], issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
) -> None:
    other = anchor_in_batch(
        sign(make_degree(holder_key.public_key.did_key, level="doctorate"), issuer_key)
    )
    vp["verifiableCredential"] = [other, *vp["verifiableCredential"][1:]]
    with pytest.raises(AlteredDocument):
        verify_presentation(vp, challenge=NONCE, domain=DOMAIN)


def test_signed_by_someone_else_than_holder(
    creds: list[dict[str, Any]], holder_key: Ed25519SigningKey, other_key: Ed25519SigningKey
) -> None:
    vp = create_presentation(creds, holder_key, challenge=NONCE, domain=DOMAIN, created=WHEN)
    unsigned = {k: v for k, v in vp.items() if k != "proof"}
    forged = _sign_vp(unsigned, other_key)
    with pytest.raises(HolderMismatch, match="not by its holder"):
        verify_presentation(forged, challenge=NONCE, domain=DOMAIN)


def test_credentials_of_another_person_are_refused(
    creds: list[dict[str, Any]],
    issuer_key: Ed25519SigningKey,
    other_key: Ed25519SigningKey,
    holder_key: Ed25519SigningKey,
) -> None:
    theirs = sign(make_degree(other_key.public_key.did_key), issuer_key)
    with pytest.raises(HolderMismatch, match="not the holder") as refused:
        create_presentation(
            [*creds, theirs], holder_key, challenge=NONCE, domain=DOMAIN, created=WHEN
        )
    # numbered as the user counts them (from 1, as `wallet list` numbers; the files given)
    n = len(creds) + 1
    assert f"credential {n} of {n} ({theirs['id']}) is about" in str(refused.value)
    # and a presentation smuggling one in (signed by the holder) fails verification
    vp = _sign_vp(_unsigned_vp([theirs, *creds], holder_key.public_key.did_key), holder_key)
    with pytest.raises(HolderMismatch, match="not the holder") as refused:
        verify_presentation(vp, challenge=NONCE, domain=DOMAIN)
    assert f"credential 1 of {n} ({theirs['id']}) is about" in str(refused.value)


def test_assertion_proof_is_not_a_presentation_proof(
    creds: list[dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    vp = _sign_vp(
        _unsigned_vp(creds, holder_key.public_key.did_key),
        holder_key,
        proof_purpose="assertionMethod",
    )
    with pytest.raises(WrongProofPurpose):
        verify_presentation(vp, challenge=NONCE, domain=DOMAIN)


def test_unsigned_presentation_is_refused(vp: dict[str, Any]) -> None:
    del vp["proof"]
    with pytest.raises(MissingProof):
        verify_presentation(vp, challenge=NONCE, domain=DOMAIN)


def test_create_needs_challenge_and_domain(
    creds: list[dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    with pytest.raises(ValueError, match="challenge"):
        create_presentation(creds, holder_key, challenge="", domain=DOMAIN, created=WHEN)
    with pytest.raises(ValueError, match="domain"):
        create_presentation(creds, holder_key, challenge=NONCE, domain="", created=WHEN)


def test_bound_presentation_qr_round_trip(vp: dict[str, Any]) -> None:
    text = qr.encode_payload(vp)
    decoded = qr.decode_payload(text)
    assert decoded == vp
    assert len(verify_presentation(decoded, challenge=NONCE, domain=DOMAIN)) == 3
    assert qr.qr_version(text) <= 40
    with pytest.raises(ChallengeMismatch):
        verify_presentation(decoded, challenge="replayed", domain=DOMAIN)


def test_too_many_credentials_for_one_qr(
    creds: list[dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    vp = create_presentation(creds * 2, holder_key, challenge=NONCE, domain=DOMAIN, created=WHEN)
    with pytest.raises(PayloadTooLargeForQR) as info:
        qr.encode_payload(vp)
    assert info.value.excess_chars > 0


def test_holder_proof_without_a_challenge(vp: dict[str, Any]) -> None:
    """No challenge asked (issue 12): the holder's proof is still checked, its challenge and
    domain are not compared; unsigned or altered, the presentation is refused."""
    from talentproof.credential.errors import ProofError, SchemaValidationError
    from talentproof.credential.presentation import verify_holder_proof

    assert len(verify_holder_proof(vp)) == 3
    altered = {**vp, "holder": vp["holder"][:-2] + "xx"}
    with pytest.raises((ProofError, SchemaValidationError)):
        verify_holder_proof(altered)
    del vp["proof"]
    with pytest.raises(MissingProof):
        verify_holder_proof(vp)
