"""A Data Integrity proof's ``expires`` (VC Data Integrity 1.0, section 2.1: "the date and time
the proof expires"; the verification algorithm refuses a proof past it).

Attack: a holder keeps a presentation or a credential whose signer limited its proof's life
(an issuer using other tooling, a holder's wallet answering a verifier) and shows it after that
moment. `integrity.verify` never read ``expires``: the expired proof verified.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from talentproof.credential import integrity
from talentproof.credential._base58 import b58encode
from talentproof.credential.errors import ProofError
from talentproof.credential.integrity import MalformedProof
from talentproof.credential.keys import Ed25519SigningKey


def _signed(expires: object) -> dict:
    key = Ed25519SigningKey.from_seed(b"\x07" * 32)
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": key.public_key.did_key,
    }
    options = integrity.signing_proof(
        verification_method=key.public_key.verification_method,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        proof_purpose="authentication",
    )
    options["expires"] = expires
    signature = key.sign(integrity.hash_data(doc, options))
    return {**doc, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


def test_a_proof_past_its_expiry_is_refused() -> None:
    past = integrity.format_datetime(datetime.now(UTC) - timedelta(minutes=1))
    doc = _signed(past)
    with pytest.raises(ProofError, match="expired"):
        integrity.verify(doc, expected_purpose="authentication")
    with pytest.raises(ProofError, match="expired"):
        integrity.verify_and_hash(doc, expected_purpose="authentication")


def test_a_proof_before_its_expiry_verifies() -> None:
    future = integrity.format_datetime(datetime.now(UTC) + timedelta(days=1))
    integrity.verify(_signed(future), expected_purpose="authentication")


@pytest.mark.parametrize("bad", ["tomorrow", "2030-01-01", 1893456000, None])
def test_a_malformed_expiry_is_refused(bad: object) -> None:
    with pytest.raises(MalformedProof, match="expires"):
        integrity.verify(_signed(bad), expected_purpose="authentication")
