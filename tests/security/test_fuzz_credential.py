"""Fuzzing the credential decoders (issue #7): bad input raises only `CredentialError` leaves.

Random and mutated inputs (valid payloads, images, credentials and anchor proofs with flipped,
truncated, extended or swapped parts) go through the QR text decoder, the binary payload under
it, the image decoder, the credential / presentation validators and the anchor parser. Each
either raises a `CredentialError` (never KeyError, TypeError, ValueError, IndexError,
zlib.error, UnicodeDecodeError, RecursionError, a PIL error …) or returns a value; and whatever
decodes from a mutated input never verifies as the original: a signature that verifies and an
inclusion proof that leads to the original root prove the very same signed credential.

Examples are bounded (this file runs in seconds); every bug found is kept as an ``@example``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from talentproof.credential import anchor, examples, integrity, merkle, model, qr
from talentproof.credential.errors import (
    AnchorFormatError,
    CredentialError,
    MerkleProofError,
    NoQRCodeFound,
    SchemaValidationError,
)
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import create_presentation

WHEN = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- one valid anchored credential, its QR text, binary payload and picture -------------------

_ISSUER = Ed25519SigningKey.from_seed(hashlib.sha256(b"fuzz issuer").digest())
_HOLDER = Ed25519SigningKey.from_seed(hashlib.sha256(b"fuzz holder").digest())
_VM = f"did:web:hku.hk#{_ISSUER.public_key.multibase}"
_UNSIGNED = model.degree_credential(
    "did:web:hku.hk",
    _HOLDER.public_key.did_key,
    "master",
    "Computer Science",
    "The University of Hong Kong",
    "2020-06-30",
    "Distinction",
    subject_name=examples.PERSON_NAME,
    birth_date=examples.BIRTH_DATE,
    identity_document=examples.IDENTITY_DOCUMENT,
    id="urn:uuid:0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
    valid_from=WHEN,
)
SIGNED = integrity.sign(_UNSIGNED, _ISSUER, verification_method=_VM, created=WHEN)
_HASH = merkle.credential_hash(SIGNED)
_TREE = merkle.MerkleTree(
    [hashlib.sha256(b"%d" % i).digest() for i in range(5)]
    + [_HASH]
    + [hashlib.sha256(b"x%d" % i).digest() for i in range(6)]
)
ANCHOR = anchor.AnchorProof.from_inclusion(
    _TREE.proof(5), chain_id=31337, registry=REGISTRY, merkle_root=_TREE.root
)
ANCHORED = anchor.attach_anchor(SIGNED, ANCHOR)
TEXT = qr.encode_payload(ANCHORED)
PAYLOAD = qr.b45decode(TEXT[len(qr.PREFIX) :])
VP = create_presentation(
    [ANCHORED], _HOLDER, challenge="c0ffee", domain="verify.example", created=WHEN
)
VP_TEXT = qr.encode_payload(VP)
VP_PAYLOAD = qr.b45decode(VP_TEXT[len(qr.PREFIX) :])


def _same_signed_content(doc: Any) -> bool:
    """``doc`` (without anchor) is the original: same unsecured document, same proof."""
    plain, _ = anchor.split_anchor(doc)
    unsecured = {k: v for k, v in plain.items() if k != "proof"}
    return (
        unsecured == {k: v for k, v in SIGNED.items() if k != "proof"}
        and integrity.select_proof(plain) == SIGNED["proof"]
    )


def _verifies_as_original(doc: Any) -> bool:
    """True when ``doc`` passes the signature and inclusion checks against the original root."""
    try:
        plain, proof = anchor.split_anchor(doc)
        integrity.verify(plain)
        if proof is None:
            return False
        merkle.verify_inclusion(merkle.credential_hash(plain), proof.inclusion, _TREE.root)
    except CredentialError:
        return False
    return True


def _check_decoded(text: str) -> None:
    """Decoding raises only CredentialError; a decoded credential that verifies is the original."""
    try:
        doc = qr.decode_payload(text)
    except CredentialError:
        return
    assert isinstance(doc, dict)
    if doc.get("type") == ["VerifiablePresentation"] or "verifiableCredential" in doc:
        creds = doc.get("verifiableCredential") or []
        for cred in creds if isinstance(creds, list) else [creds]:
            if _verifies_as_original(cred):
                assert _same_signed_content(cred)
        return
    if _verifies_as_original(doc):
        assert _same_signed_content(doc)  # what verifies is what was signed


# --- mutations ------------------------------------------------------------------------------


@st.composite
def _mutated_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(["flip", "set", "truncate", "extend", "insert", "delete", "swap"])
        )
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "extend":
            data += draw(st.binary(min_size=1, max_size=40))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "swap" and len(data) > 2:
            other = draw(st.integers(0, len(data) - 1))
            data[pos], data[other] = data[other], data[pos]
    return bytes(data)


_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@st.composite
def _mutated_text(draw: st.DrawFn, original: str) -> str:
    chars = list(original)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "truncate", "extend", "delete", "swap"]))
        pos = draw(st.integers(0, max(len(chars) - 1, 0)))
        if op == "replace" and chars:
            chars[pos] = draw(st.sampled_from(_B45) | st.characters())
        elif op == "truncate":
            del chars[pos:]
        elif op == "extend":
            chars += draw(st.text(_B45, min_size=1, max_size=12))
        elif op == "delete":
            del chars[pos : pos + draw(st.integers(1, 6))]
        elif op == "swap" and len(chars) > 2:
            other = draw(st.integers(0, len(chars) - 1))
            chars[pos], chars[other] = chars[other], chars[pos]
    return "".join(chars)


def _payload_text(payload: bytes) -> str:
    return qr.PREFIX + qr.b45encode(payload)


def _raw_payload(kind: int, body: bytes, content: Any) -> bytes:
    """A hand-made binary payload: kind, one lowercase chain, records ``body``, DEFLATE content."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=qr.ZDICT)
    packed = comp.compress(orjson.dumps(content)) + comp.flush()
    return bytes([kind, 1, 0x89, 0xF4, 0x01, 0]) + bytes(20) + body + packed


# --- the QR text and binary payload decoders -------------------------------------------------


def test_valid_payloads_round_trip_and_verify() -> None:
    # the starting points of the mutations below are valid (else the fuzzing proves nothing)
    assert qr.decode_payload(TEXT) == ANCHORED
    assert _verifies_as_original(qr.decode_payload(TEXT))
    assert qr.decode_payload(VP_TEXT) == VP


@_fuzz(60)
@given(st.text(max_size=200) | st.text(_B45, max_size=200).map(lambda t: qr.PREFIX + t))
@example("TP1:")
@example("TP99999999999999999999:")
@example("TP1:" + "Z" * 3)
def test_random_text_raises_only_credential_errors(text: str) -> None:
    _check_decoded(text)


@_fuzz(150)
@given(_mutated_text(TEXT) | _mutated_text(VP_TEXT))
def test_mutated_qr_text_never_verifies_as_something_else(text: str) -> None:
    _check_decoded(text)


@_fuzz(200)
@given(_mutated_bytes(PAYLOAD) | _mutated_bytes(VP_PAYLOAD))
@example(PAYLOAD[:1])
@example(PAYLOAD[:40])
@example(PAYLOAD + b"\x00")
@example(bytes([2]) + VP_PAYLOAD[1:])  # a credential payload read as a presentation
@example(bytes([1]) + VP_PAYLOAD[1:])
def test_mutated_binary_payload_never_verifies_as_something_else(payload: bytes) -> None:
    _check_decoded(_payload_text(payload))


@_fuzz(80)
@given(st.binary(max_size=300))
@example(b"\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f")  # a chain id past 64 bits
@example(b"\x02\x00\x10")
def test_random_binary_payload_raises_only_credential_errors(payload: bytes) -> None:
    _check_decoded(_payload_text(payload))


@pytest.mark.parametrize(
    "content",
    [
        [],
        "text",
        7,
        None,
        [1, 2],
        {"proof": 5},
        {"@context": 5, "proof": {}},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "proof": "x"},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "proof": [1]},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "proof": {"type": 5}},
        {"credentialSubject": 5, "proof": {}},
        {"credentialSubject": [], "proof": {}},
        {"issuer": 7, "proof": {}},
        {"issuer": {"id": 7}, "proof": {}},
    ],
)
@pytest.mark.parametrize("flags", [0, 0x01, 0x03, 0x07, 0x0F, 0x1F, 0x3F])
def test_hand_made_payload_contents_raise_only_credential_errors(content: Any, flags: int) -> None:
    # A record with a given flags byte, the fields those flags announce, and odd JSON content.
    body = bytes([1, flags]) + bytes(200)
    text = _payload_text(_raw_payload(1, body, content))
    _check_decoded(text)


# --- the image decoder -----------------------------------------------------------------------


_PNG = qr.render_png(TEXT, scale=2, border=2)


def test_rendered_png_decodes() -> None:
    assert qr.decode_image(_PNG) == TEXT


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _png(width: int, height: int, bit_depth: int = 8, colour: int = 0, idat: bytes = b"") -> bytes:
    ihdr = (
        width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bit_depth, colour, 0, 0, 0])
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@_fuzz(25)
@given(_mutated_bytes(_PNG) | st.binary(max_size=200))
@example(_png(60000, 60000, idat=zlib.compress(b"")))  # a decompression bomb's header
@example(_png(1, 1, idat=b"garbage"))  # a corrupt IDAT stream
@example(_png(4, 4, bit_depth=3))  # an impossible bit depth
@example(_png(0, 0))
@example(_PNG[:60])
def test_mutated_image_raises_only_no_qr_code_found(data: bytes) -> None:
    try:
        text = qr.decode_image(data)
    except NoQRCodeFound:
        return
    assert isinstance(text, str)
    _check_decoded(text)


def test_non_bytes_image_is_refused() -> None:
    with pytest.raises(NoQRCodeFound):
        qr.decode_image("not bytes")  # type: ignore[arg-type]


# --- credential and presentation validators --------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "@context",
    "type",
    "issuer",
    "credentialSubject",
    "validFrom",
    "validUntil",
    "id",
    "credentialSchema",
    "credentialStatus",
    "proof",
    "verifiableCredential",
    "holder",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _mutated_doc(draw: st.DrawFn, original: dict[str, Any]) -> Any:
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "delete", "swap", "wrap", "add"]))
        if not path:
            if op == "replace":
                doc = draw(_json)
            elif op == "wrap":
                doc = [doc]
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if op == "replace":
            parent[last] = draw(_json)
        elif op == "delete":
            del parent[last]
        elif op == "swap":
            other = draw(st.sampled_from(paths))
            if other and other[: len(path)] != path and path[: len(other)] != other:
                source = doc
                for step in other:
                    source = source[step]
                parent[last] = copy.deepcopy(source)
        elif op == "wrap":
            parent[last] = [parent[last]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(_FIELDS))] = draw(_json)
        if not isinstance(doc, dict | list):
            break
    return doc


@_fuzz(150)
@given(_mutated_doc(SIGNED) | _mutated_doc(ANCHORED) | _json)
@example(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "validFrom": "2026-11-21T23:40:00Z",
        "validUntil": "2026-11-21T23:40:00+99:00",
    }
)
@example(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "validFrom": "9999-12-31T23:59:59-23:59",
        "validUntil": "0001-01-01T00:00:00+23:59",
    }
)
@example({**SIGNED, "credentialSubject": {**SIGNED["credentialSubject"], "id": "did:key:z6Mk"}})
@example({**SIGNED, "credentialSubject": {**SIGNED["credentialSubject"], "id": "did:key:z0"}})
@example({**SIGNED, "credentialSubject": {**SIGNED["credentialSubject"], "id": 5}})
def test_mutated_credential_is_refused_cleanly(doc: Any) -> None:
    try:
        kind = model.validate_credential(doc)
    except SchemaValidationError:
        pass
    else:
        assert kind in ("DegreeCredential", "EmploymentCredential", "OpenBadgeCredential")
    try:
        model.validate_presentation(doc)
    except SchemaValidationError:
        pass
    # a mutated signed credential never passes integrity.verify unless nothing signed changed
    try:
        plain, _ = anchor.split_anchor(doc) if isinstance(doc, dict) else (doc, None)
        integrity.verify(plain)
    except CredentialError:
        return
    assert _same_signed_content(plain)


@_fuzz(60)
@given(_mutated_doc(VP))
def test_mutated_presentation_is_refused_cleanly(doc: Any) -> None:
    from talentproof.credential.presentation import verify_presentation

    try:
        model.validate_presentation(doc)
    except SchemaValidationError:
        pass
    try:
        creds = verify_presentation(doc, challenge="c0ffee", domain="verify.example")
    except CredentialError:
        return
    assert all(_same_signed_content(c) for c in creds)


def test_deeply_nested_credential_is_refused_not_recursion_error() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    doc = {**SIGNED, "credentialSubject": {"id": _HOLDER.public_key.did_key, "deep": deep}}
    with pytest.raises(CredentialError):
        model.validate_credential(doc)
    with pytest.raises(CredentialError):
        integrity.verify(doc)


# --- anchor proofs ---------------------------------------------------------------------------

_ANCHOR_JSON = ANCHOR.to_json()


@_fuzz(200)
@given(_mutated_doc(_ANCHOR_JSON) | _json)
@example({**_ANCHOR_JSON, "chainId": True})
@example({**_ANCHOR_JSON, "leafIndex": 2**70})
@example({**_ANCHOR_JSON, "treeSize": 1.5})
@example({**_ANCHOR_JSON, "path": ["0x" + "0" * 62 + " 0"]})
@example({**_ANCHOR_JSON, "path": ["0x" + "0 " * 32]})
@example({**_ANCHOR_JSON, "path": ["0x" + "0x" * 32]})
@example({**_ANCHOR_JSON, "path": ["0x" + "٠" * 64]})
@example({**_ANCHOR_JSON, "merkleRoot": "0x" + "0" * 64 + "\n"})
@example({**_ANCHOR_JSON, "registry": REGISTRY + "\n"})
def test_mutated_anchor_parses_cleanly_and_never_proves_another_leaf(entry: Any) -> None:
    try:
        proof = anchor.AnchorProof.from_json(entry)
    except AnchorFormatError:
        return
    try:
        merkle.verify_inclusion(_HASH, proof.inclusion, _TREE.root)
    except MerkleProofError:
        return
    # RFC 9162 roots commit to the hashes; the size is checked against the chain's leafCount
    assert proof.path == ANCHOR.path
    assert proof.tree_size != ANCHOR.tree_size or proof.leaf_index == ANCHOR.leaf_index


@_fuzz(100)
@given(_mutated_doc(ANCHORED))
def test_split_anchor_raises_only_credential_errors(doc: Any) -> None:
    try:
        plain, proof = anchor.split_anchor(doc)
    except CredentialError:
        return
    assert isinstance(plain, dict)
    assert proof is None or isinstance(proof, anchor.AnchorProof)


def test_split_anchor_refuses_non_objects() -> None:
    for value in (None, 5, "x", [ANCHORED]):
        with pytest.raises(CredentialError):
            anchor.split_anchor(value)  # type: ignore[arg-type]


def test_png_helper_is_a_png() -> None:
    from PIL import Image

    assert Image.open(io.BytesIO(_png(2, 2, idat=zlib.compress(b"\x00\x00\x00" * 2)))).size == (
        2,
        2,
    )
