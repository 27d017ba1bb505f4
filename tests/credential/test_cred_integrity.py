"""eddsa-jcs-2022 Data Integrity proofs: the W3C golden vector and one error per failure."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential import integrity
from talentproof.credential._base58 import b58decode, b58encode
from talentproof.credential.errors import (
    AlteredDocument,
    ChallengeMismatch,
    DomainMismatch,
    InvalidSignature,
    KeyMismatch,
    MalformedMultibase,
    MissingProof,
    ProofError,
    UnsupportedCryptosuite,
    WrongProofPurpose,
)
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import (
    Ed25519PublicKey,
    Ed25519SigningKey,
    did_web,
    did_web_document,
)

from ._cred_support import WHEN, make_degree, sign

VECTOR = json.loads((Path(__file__).parent / "vectors" / "eddsa-jcs-2022.json").read_text())


@pytest.fixture(scope="module")
def vector_key() -> Ed25519SigningKey:
    return Ed25519SigningKey.from_multibase(VECTOR["keyPair"]["privateKeyMultibase"])


def test_vector_key_pair(vector_key: Ed25519SigningKey) -> None:
    assert vector_key.seed.hex() == VECTOR["keyPair"]["privateKeySeedHex"]
    assert vector_key.public_key.raw.hex() == VECTOR["keyPair"]["publicKeyHex"]
    assert vector_key.public_key.multibase == VECTOR["keyPair"]["publicKeyMultibase"]
    assert vector_key.multibase == VECTOR["keyPair"]["privateKeyMultibase"]


def test_vector_canonical_forms_and_hashes() -> None:
    canon_doc = canonicalize(VECTOR["unsigned"])
    canon_proof = canonicalize(VECTOR["proofConfig"])
    assert canon_doc == VECTOR["canonicalDocument"].encode()
    assert canon_proof == VECTOR["canonicalProofConfig"].encode()
    assert hashlib.sha256(canon_doc).hexdigest() == VECTOR["documentHashHex"]
    assert hashlib.sha256(canon_proof).hexdigest() == VECTOR["proofConfigHashHex"]
    options = integrity.signing_proof(
        verification_method=VECTOR["proofConfig"]["verificationMethod"],
        created=VECTOR["proofConfig"]["created"],
        context=VECTOR["unsigned"]["@context"],
    )
    assert integrity.hash_data(VECTOR["unsigned"], options).hex() == VECTOR["hashDataHex"]


def test_vector_signature_and_signed_document(vector_key: Ed25519SigningKey) -> None:
    signed = integrity.sign(
        VECTOR["unsigned"],
        vector_key,
        verification_method=VECTOR["proofConfig"]["verificationMethod"],
        created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC),
    )
    value = signed["proof"]["proofValue"]
    assert value == VECTOR["proofValue"]
    assert b58decode(value[1:]).hex() == VECTOR["signatureHex"]
    assert signed == VECTOR["signed"]
    assert canonicalize(signed) == canonicalize(VECTOR["signed"])


def test_vector_verifies() -> None:
    result = integrity.verify(VECTOR["signed"])
    assert result.public_key.multibase == VECTOR["keyPair"]["publicKeyMultibase"]
    assert result.created == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    assert result.verification_method == VECTOR["proofConfig"]["verificationMethod"]


def test_vector_with_altered_claim_fails() -> None:
    doc = copy.deepcopy(VECTOR["signed"])
    doc["credentialSubject"]["alumniOf"] = "The School of Fakes"
    with pytest.raises(AlteredDocument):
        integrity.verify(doc)


# --- one error per failure --------------------------------------------------------------------


@pytest.fixture()
def signed(issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey) -> dict[str, Any]:
    return sign(make_degree(holder_key.public_key.did_key), issuer_key)


def test_sign_then_verify(signed: dict[str, Any], issuer_key: Ed25519SigningKey) -> None:
    result = integrity.verify(signed, public_key=issuer_key.public_key)
    assert result.public_key == issuer_key.public_key
    assert signed["proof"]["@context"] == signed["@context"]


def test_missing_proof(signed: dict[str, Any]) -> None:
    doc = dict(signed)
    del doc["proof"]
    with pytest.raises(MissingProof):
        integrity.verify(doc)


@pytest.mark.parametrize(
    "field,value",
    [
        ("type", "Ed25519Signature2020"),
        ("cryptosuite", "eddsa-rdfc-2022"),
        ("cryptosuite", "ecdsa-jcs-2019"),
    ],
)
def test_unknown_proof_type_or_cryptosuite(signed: dict[str, Any], field: str, value: str) -> None:
    signed["proof"] = {**signed["proof"], field: value}
    with pytest.raises(UnsupportedCryptosuite, match=value):
        integrity.verify(signed)


def test_wrong_proof_purpose(signed: dict[str, Any]) -> None:
    with pytest.raises(WrongProofPurpose, match="authentication"):
        integrity.verify(signed, expected_purpose="authentication")


def test_altered_document(signed: dict[str, Any]) -> None:
    signed["credentialSubject"] = copy.deepcopy(signed["credentialSubject"])
    signed["credentialSubject"]["degree"]["level"] = "doctorate"
    with pytest.raises(AlteredDocument, match="altered"):
        integrity.verify(signed)


def test_altered_proof_options(signed: dict[str, Any]) -> None:
    signed["proof"] = {**signed["proof"], "created": "2030-01-01T00:00:00Z"}
    with pytest.raises(AlteredDocument):
        integrity.verify(signed)


def test_altered_context_detected_before_signature(signed: dict[str, Any]) -> None:
    signed["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://evil.example/v1"]
    with pytest.raises(AlteredDocument, match="@context"):
        integrity.verify(signed)


def test_signature_of_wrong_length_is_invalid(signed: dict[str, Any]) -> None:
    sig = b58decode(signed["proof"]["proofValue"][1:])
    signed["proof"] = {**signed["proof"], "proofValue": "z" + b58encode(sig[:63])}
    with pytest.raises(InvalidSignature, match="64-byte"):
        integrity.verify(signed)


def test_non_canonical_signature_scalar_is_invalid(signed: dict[str, Any]) -> None:
    sig = bytearray(b58decode(signed["proof"]["proofValue"][1:]))
    sig[63] |= 0xF0  # S >= L
    signed["proof"] = {**signed["proof"], "proofValue": "z" + b58encode(bytes(sig))}
    with pytest.raises(InvalidSignature, match="canonical") as info:
        integrity.verify(signed)
    assert type(info.value) is InvalidSignature


def test_flipped_signature_bit_fails(signed: dict[str, Any]) -> None:
    sig = bytearray(b58decode(signed["proof"]["proofValue"][1:]))
    sig[3] ^= 0x01
    signed["proof"] = {**signed["proof"], "proofValue": "z" + b58encode(bytes(sig))}
    with pytest.raises(InvalidSignature):
        integrity.verify(signed)


@pytest.mark.parametrize("value", ["u" + "A" * 86, "z0OIl" + "1" * 80, 12345, ""])
def test_malformed_multibase_proof_value(signed: dict[str, Any], value: object) -> None:
    signed["proof"] = {**signed["proof"], "proofValue": value}
    with pytest.raises(MalformedMultibase):
        integrity.verify(signed)


def test_malformed_multibase_verification_method(signed: dict[str, Any]) -> None:
    signed["proof"] = {**signed["proof"], "verificationMethod": "did:key:z6Mk0OIl#z6Mk0OIl"}
    with pytest.raises(MalformedMultibase):
        integrity.verify(signed)


def test_key_not_matching_verification_method(
    signed: dict[str, Any], other_key: Ed25519SigningKey
) -> None:
    with pytest.raises(KeyMismatch, match="expected"):
        integrity.verify(signed, public_key=other_key.public_key)


def test_verification_method_fragment_naming_another_key(
    signed: dict[str, Any], other_key: Ed25519SigningKey
) -> None:
    vm = signed["proof"]["verificationMethod"].split("#")[0] + "#" + other_key.public_key.multibase
    signed["proof"] = {**signed["proof"], "verificationMethod": vm}
    with pytest.raises(KeyMismatch, match="fragment"):
        integrity.verify(signed)


def test_signed_by_another_key_than_named(
    holder_key: Ed25519SigningKey, other_key: Ed25519SigningKey, issuer_key: Ed25519SigningKey
) -> None:
    doc = integrity.sign(
        make_degree(holder_key.public_key.did_key),
        other_key,
        verification_method=issuer_key.public_key.verification_method,
        created=WHEN,
    )
    with pytest.raises(InvalidSignature):
        integrity.verify(doc)


def test_challenge_and_domain_mismatch(
    issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
) -> None:
    doc = integrity.sign(
        make_degree(holder_key.public_key.did_key),
        issuer_key,
        verification_method=issuer_key.public_key.verification_method,
        created=WHEN,
        challenge="nonce-1",
        domain="verifier.example",
    )
    integrity.verify(doc, challenge="nonce-1", domain="verifier.example")
    with pytest.raises(ChallengeMismatch):
        integrity.verify(doc, challenge="nonce-2", domain="verifier.example")
    with pytest.raises(DomainMismatch):
        integrity.verify(doc, challenge="nonce-1", domain="other.example")


def test_sign_refuses_already_signed(signed: dict[str, Any], issuer_key: Ed25519SigningKey) -> None:
    with pytest.raises(ProofError, match="already"):
        sign(signed, issuer_key)


def test_created_must_be_timezone_aware(
    issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
) -> None:
    with pytest.raises(ValueError, match="timezone"):
        integrity.sign(
            make_degree(holder_key.public_key.did_key),
            issuer_key,
            verification_method=issuer_key.public_key.verification_method,
            created=datetime(2026, 1, 1),
        )


def test_sign_many_equals_one_by_one(
    issuer_key: Ed25519SigningKey, holder_key: Ed25519SigningKey
) -> None:
    did = holder_key.public_key.did_key
    docs = [make_degree(did, id=f"urn:uuid:00000000-0000-4000-8000-{i:012d}") for i in range(20)]
    docs.append({"@context": [{"@vocab": "https://example.org/"}], "name": "object context"})
    vm = issuer_key.public_key.verification_method
    batch = integrity.sign_many(docs, issuer_key, verification_method=vm, created=WHEN)
    assert batch == [
        integrity.sign(d, issuer_key, verification_method=vm, created=WHEN) for d in docs
    ]
    for doc in batch:
        integrity.verify(doc)
    assert all("proof" not in d for d in docs)  # inputs untouched


def test_did_web_issuer_with_did_document(
    holder_key: Ed25519SigningKey, issuer_key: Ed25519SigningKey
) -> None:
    did = did_web("hku.hk", "issuers/registry")
    assert did == "did:web:hku.hk:issuers:registry"
    document = did_web_document(did, [issuer_key.public_key])
    assert document["assertionMethod"] == [f"{did}#key-1"]
    doc = integrity.sign(
        make_degree(holder_key.public_key.did_key, issuer=did),
        issuer_key,
        verification_method=f"{did}#key-1",
        created=WHEN,
    )
    result = integrity.verify(doc, did_documents={did: document})
    assert result.public_key == issuer_key.public_key
    with pytest.raises(KeyMismatch, match="no DID document"):
        integrity.verify(doc)
    with pytest.raises(KeyMismatch, match="not listed"):
        integrity.verify(
            {**doc, "proof": {**doc["proof"], "verificationMethod": f"{did}#key-9"}},
            did_documents={did: document},
        )
    # the caller may vouch for the key instead (e.g. the key registered on chain)
    integrity.verify(doc, public_key=issuer_key.public_key)


def test_anchor_entries_are_ignored_by_verify(signed: dict[str, Any]) -> None:
    anchored = {**signed, "proof": [signed["proof"], {"type": "TalentProofAnchor"}]}
    integrity.verify(anchored)


def test_public_key_multibase_round_trip(issuer_key: Ed25519SigningKey) -> None:
    pub = issuer_key.public_key
    assert pub.multibase.startswith("z6Mk")
    assert Ed25519PublicKey.from_multibase(pub.multibase) == pub
    assert Ed25519PublicKey.from_did_key(pub.did_key) == pub
    assert Ed25519PublicKey.from_verification_method(pub.verification_method) == pub
    assert Ed25519SigningKey.from_multibase(issuer_key.multibase).seed == issuer_key.seed


def test_secret_key_with_appended_public_key(issuer_key: Ed25519SigningKey) -> None:
    data = b"\x80\x26" + issuer_key.seed + issuer_key.public_key.raw
    assert Ed25519SigningKey.from_multibase("z" + b58encode(data)).seed == issuer_key.seed
    bad = b"\x80\x26" + issuer_key.seed + bytes(32)
    with pytest.raises(KeyMismatch):
        Ed25519SigningKey.from_multibase("z" + b58encode(bad))


@pytest.mark.parametrize(
    "value",
    [
        "z" + b58encode(b"\x12\x00" + bytes(32)),
        "6Mk",
        "z",
        "z" + b58encode(b"\xed\x01" + bytes(31)),
    ],
)
def test_bad_public_multikey(value: str) -> None:
    with pytest.raises(MalformedMultibase):
        Ed25519PublicKey.from_multibase(value)


def test_public_key_verify_raises(issuer_key: Ed25519SigningKey) -> None:
    sig = issuer_key.sign(b"data")
    issuer_key.public_key.verify(sig, b"data")
    with pytest.raises(InvalidSignature):
        issuer_key.public_key.verify(sig, b"datA")


def test_signing_key_repr_hides_secret(issuer_key: Ed25519SigningKey) -> None:
    assert issuer_key.seed.hex() not in repr(issuer_key)
    assert issuer_key.multibase not in repr(issuer_key)
