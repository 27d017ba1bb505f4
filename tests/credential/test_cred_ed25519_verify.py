"""Ed25519 verification through libsodium is at least as strict as OpenSSL's.

`Ed25519PublicKey.verify` uses libsodium (PyNaCl); `verify_openssl` is the `cryptography` check
it replaced. The property: whatever libsodium accepts, OpenSSL accepts. On valid signatures
(RFC 8032 vectors, random keys) and mixed-order keys both agree; libsodium also refuses
keys and ``R`` of small order and non-canonical key encodings, with which OpenSSL accepts
forgeries (documented here). A small RFC 8032 point arithmetic (section 5.1, reference code)
builds the edge cases.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity
from talentproof.credential.errors import AlteredDocument, InvalidSignature
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey

# --- RFC 8032 section 5.1 arithmetic (test-only reference) ----------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _add(a: Point, b: Point) -> Point:
    e1, e2 = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c, dd = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = e2 - e1, dd - c, dd + c, e2 + e1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s: int, pt: Point) -> Point:
    q: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data: bytes) -> Point:
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    assert x is not None
    return (x, y, 1, x * y % P)


def _compress(pt: Point) -> bytes:
    zinv = pow(pt[2], P - 2, P)
    x, y = pt[0] * zinv % P, pt[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_GY = 4 * pow(5, P - 2, P) % P
B: Point = (_recover_x(_GY, 0) or 0, _GY, 1, (_recover_x(_GY, 0) or 0) * _GY % P)

# The eight points of small order (their canonical encodings) and two non-canonical encodings.
SMALL_ORDER = [
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    )
]
NON_CANONICAL = [(P + 1).to_bytes(32, "little"), P.to_bytes(32, "little")]  # y = 1, y = 0


def _accepts(check, signature: bytes, message: bytes) -> bool:
    try:
        check(signature, message)
    except InvalidSignature:
        return False
    return True


def _verdicts(key: bytes, signature: bytes, message: bytes) -> tuple[bool, bool]:
    pub = Ed25519PublicKey.from_raw(key)
    return (
        _accepts(pub.verify, signature, message),
        _accepts(pub.verify_openssl, signature, message),
    )


# --- valid signatures: both accept ----------------------------------------------------------

RFC8032 = [  # RFC 8032 section 7.1, TEST 1-3: (secret seed, public key, message, signature)
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        (
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        (
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        (
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
            "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        ),
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_verify_with_both(
    seed: str, public: str, message: str, signature: str
) -> None:
    key = Ed25519SigningKey.from_seed(bytes.fromhex(seed))
    assert key.public_key.raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    assert _verdicts(bytes.fromhex(public), bytes.fromhex(signature), bytes.fromhex(message)) == (
        True,
        True,
    )


@settings(max_examples=150, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    message=st.binary(max_size=200),
    where=st.sampled_from(["none", "signature", "message", "key", "s_plus_l", "truncate"]),
    position=st.integers(0, 10_000),
    bit=st.integers(0, 7),
)
def test_libsodium_accepts_only_what_openssl_accepts(
    seed: bytes, message: bytes, where: str, position: int, bit: int
) -> None:
    """Random keys and messages, valid or mutated: the verdicts agree (no small-order keys)."""
    key = Ed25519SigningKey.from_seed(seed)
    signature, pub = key.sign(message), key.public_key.raw
    if where == "signature":
        signature = _flip(signature, position, bit)
    elif where == "message":
        message = _flip(message, position, bit) if message else b"\0"
    elif where == "key":
        pub = _flip(pub, position, bit)
    elif where == "s_plus_l":  # a non-canonical S (S + L): refused by both
        s = int.from_bytes(signature[32:], "little") + L
        signature = signature[:32] + s.to_bytes(32, "little")
    elif where == "truncate":  # 63 bytes, the 64th moved to the message: still one byte string
        signature, message = signature[:63], signature[63:] + message
    ours, openssl = _verdicts(pub, signature, message)
    assert ours == openssl
    assert ours == (where == "none")


def _flip(data: bytes, position: int, bit: int) -> bytes:
    i = position % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]


def test_wrong_length_signatures_are_refused_not_read_into_the_message() -> None:
    """crypto_sign_open reads signature || message: a 63-byte signature whose 64th byte starts
    the message must not verify (it would, concatenated naively)."""
    key = Ed25519SigningKey.from_seed(bytes(32))
    signature = key.sign(b"hello")
    with pytest.raises(InvalidSignature, match="expected 64 bytes, found 63"):
        key.public_key.verify(signature[:63], signature[63:] + b"hello")
    with pytest.raises(InvalidSignature, match="expected 64 bytes, found 65"):
        key.public_key.verify(signature + b"h", b"ello")
    key.public_key.verify(bytearray(signature), memoryview(b"hello"))  # bytes-like accepted
    with pytest.raises(TypeError, match="signature: expected bytes"):
        key.public_key.verify("not bytes", b"hello")  # type: ignore[arg-type]


def test_mixed_order_keys_verify_alike() -> None:
    """A key ``aB + T`` (``T`` of order 8) with signatures over scalar ``a``: the cofactorless
    check holds when 8 divides the challenge. Both libraries check it without the cofactor and
    agree message for message (about one in eight accepted)."""
    a = int.from_bytes(hashlib.sha256(b"mixed order").digest(), "little") % L
    torsion = _decompress(SMALL_ORDER[4])
    mixed = _compress(_add(_mul(a, B), torsion))
    accepted = 0
    for i in range(64):
        message = b"message %d" % i
        r = int.from_bytes(hashlib.sha512(b"nonce %d" % i).digest(), "little") % L
        big_r = _compress(_mul(r, B))
        h = int.from_bytes(hashlib.sha512(big_r + mixed + message).digest(), "little") % L
        signature = big_r + ((r + h * a) % L).to_bytes(32, "little")
        ours, openssl = _verdicts(mixed, signature, message)
        assert ours == openssl == (h % 8 == 0)
        accepted += ours
    assert 0 < accepted < 64


# --- small order and non-canonical encodings: libsodium is stricter --------------------------


def test_small_order_keys_and_r_are_refused_though_openssl_accepts_some() -> None:
    """``S = 0`` with ``R`` and the key of small order satisfies ``[S]B = R + [h]A`` for many
    messages: OpenSSL accepts such forgeries; libsodium refuses every one of them."""
    openssl_accepted = 0
    for key in SMALL_ORDER + NON_CANONICAL:
        for r in SMALL_ORDER + NON_CANONICAL:
            for message in (b"", b"any message", bytes(64)):
                ours, openssl = _verdicts(key, r + bytes(32), message)
                assert not ours
                openssl_accepted += openssl
    assert openssl_accepted > 0  # the difference is real: OpenSSL takes some of these


def test_identity_key_forgery_is_an_altered_document() -> None:
    """A did:key of the identity point with the signature (R = identity, S = 0) verifies with
    OpenSSL over any document; `integrity.verify` refuses it."""
    identity = Ed25519PublicKey.from_raw(SMALL_ORDER[0])
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:forged"}
    proof = integrity.signing_proof(
        verification_method=identity.verification_method,
        created="2026-01-01T00:00:00Z",
        context=doc["@context"],
    )
    forged_signature = SMALL_ORDER[0] + bytes(32)
    from talentproof.credential._base58 import b58encode

    forged = {**doc, "proof": {**proof, "proofValue": "z" + b58encode(forged_signature)}}
    identity.verify_openssl(forged_signature, integrity.hash_data(forged, forged["proof"]))
    with pytest.raises(AlteredDocument):
        integrity.verify(forged)
    with pytest.raises(AlteredDocument):
        integrity.verify_and_hash(forged)
