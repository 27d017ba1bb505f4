"""The QR payload codec: compact, versioned, bounded; rendering and reading images."""

from __future__ import annotations

import copy
import io
import json
import random
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
import segno
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from talentproof.credential import examples, integrity, merkle, qr
from talentproof.credential.anchor import split_anchor
from talentproof.credential.errors import (
    GarbagePayload,
    InvalidSignature,
    NoQRCodeFound,
    OversizedPayload,
    PayloadTooLargeForQR,
    TruncatedPayload,
    UnknownPayloadVersion,
)
from talentproof.credential.presentation import create_presentation, verify_presentation

from ._cred_support import BUILDERS, REGISTRY, WHEN, anchor_in_batch, make_degree, sign

V1_VECTORS = Path(__file__).parent / "vectors" / "qr_v1_payloads.json"

# --- Base45 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,text",
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),
    ],
)
def test_base45_rfc9285_vectors(raw: bytes, text: str) -> None:
    assert qr.b45encode(raw) == text
    assert qr.b45decode(text) == raw


def test_base45_refuses_bad_input() -> None:
    with pytest.raises(GarbagePayload, match="alphabet"):
        qr.b45decode("ab!")
    with pytest.raises(GarbagePayload, match="more than two bytes"):
        qr.b45decode("GGW")
    with pytest.raises(TruncatedPayload, match="cut short"):
        qr.b45decode("BB8GG")
    with pytest.raises(TruncatedPayload):
        qr.b45decode("BB8B")


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["DegreeCredential", "EmploymentCredential", "OpenBadgeCredential"]
)
def test_round_trip_and_fit(anchored: dict[str, dict[str, Any]], kind: str) -> None:
    doc = anchored[kind]
    text = qr.encode_payload(doc)
    assert text.startswith("TP1:")
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    decoded = qr.decode_payload(text)
    assert decoded == doc
    assert orjson.dumps(decoded) == orjson.dumps(doc)  # the same JSON, byte for byte
    # everything a chain-reading verifier needs survives: signature, anchor, chain binding
    integrity.verify(decoded)
    signed, anchor = split_anchor(decoded)
    assert anchor is not None
    assert (anchor.chain_id, anchor.registry) == (31337, REGISTRY)
    anchor.verify(merkle.credential_hash(signed))
    # a 12-hash path (batch of 4,096) fits one QR code at error correction M, version <= 25;
    # the examples (with the person: name, birth date, identity-document commitment) are
    # versions 22 (degree), 24 (employment) and 23 (Open Badge) with dictionary version 2
    # (23, 25, 24 with version 1)
    assert qr.qr_version(text) <= 25
    assert (
        qr.qr_version(text)
        == {"DegreeCredential": 22, "EmploymentCredential": 24, "OpenBadgeCredential": 23}[kind]
    )
    assert segno.make_qr(text, error="m", boost_error=False).mode == "alphanumeric"


def test_payload_is_smaller_than_plain_base45_of_json(anchored: dict[str, dict[str, Any]]) -> None:
    import orjson

    doc = anchored["DegreeCredential"]
    naive = "TP1:" + qr.b45encode(zlib.compress(orjson.dumps(doc), 9))
    assert len(qr.encode_payload(doc)) < 0.75 * len(naive)


def test_signed_but_unanchored_credential(issuer_key: Any, holder_key: Any) -> None:
    doc = sign(make_degree(holder_key.public_key.did_key), issuer_key)
    assert qr.decode_payload(qr.encode_payload(doc)) == doc


def test_issuer_style_verification_method_round_trips(issuer_key: Any, holder_key: Any) -> None:
    unsigned = make_degree(
        holder_key.public_key.did_key, issuer={"id": "did:web:hku.hk", "name": "HKU"}
    )
    vm = f"did:web:hku.hk#{issuer_key.public_key.multibase}"
    doc = anchor_in_batch(
        integrity.sign(unsigned, issuer_key, verification_method=vm, created=WHEN)
    )
    text = qr.encode_payload(doc)
    back = qr.decode_payload(text)
    assert back == doc
    assert integrity.verify(back).public_key == issuer_key.public_key


def test_unusual_proof_fields_are_kept(issuer_key: Any, holder_key: Any) -> None:
    doc = sign(make_degree(holder_key.public_key.did_key), issuer_key)
    doc["proof"] = {**doc["proof"], "created": "2026-11-21T23:40:00.5+08:00", "id": "urn:x:1"}
    back = qr.decode_payload(qr.encode_payload(doc))
    assert back == doc and orjson.dumps(back) == orjson.dumps(doc)


@pytest.mark.parametrize(
    "order",
    [
        [
            "proofValue",
            "type",
            "cryptosuite",
            "created",
            "verificationMethod",
            "proofPurpose",
            "@context",
        ],
        [
            "type",
            "verificationMethod",
            "cryptosuite",
            "created",
            "proofPurpose",
            "@context",
            "proofValue",
        ],
        [
            "type",
            "cryptosuite",
            "created",
            "proofPurpose",
            "@context",
            "proofValue",
            "verificationMethod",
        ],
    ],
)
def test_key_order_of_a_proof_is_kept(issuer_key: Any, holder_key: Any, order: list[str]) -> None:
    # a proof in another key order than `integrity.sign` writes: not the standard form, but the
    # decoded JSON is still the same, byte for byte (raw parts keep their place)
    doc = anchor_in_batch(sign(make_degree(holder_key.public_key.did_key), issuer_key))
    doc["proof"][0] = {k: doc["proof"][0][k] for k in order}
    back = qr.decode_payload(qr.encode_payload(doc))
    assert orjson.dumps(back) == orjson.dumps(doc)
    integrity.verify(back)


def test_lowercase_registry_spelling_is_kept(anchored: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(anchored["DegreeCredential"])
    doc["proof"][1]["registry"] = doc["proof"][1]["registry"].lower()
    assert qr.decode_payload(qr.encode_payload(doc)) == doc


# --- refusals ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text(anchored: dict[str, dict[str, Any]]) -> str:
    return qr.encode_payload(anchored["DegreeCredential"])


@pytest.mark.parametrize(
    "garbage", ["", "hello", "HC1:6BFOXN*TS0BI$ZD", "TP1:!!!!", "https://example.com/?q=1"]
)
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(GarbagePayload):
        qr.decode_payload(garbage)


def test_corrupted_payload_is_refused(text: str) -> None:
    body = bytearray(qr.b45decode(text[4:]))
    body[-20] ^= 0xFF  # inside the DEFLATE stream
    with pytest.raises((GarbagePayload, TruncatedPayload)):
        qr.decode_payload("TP1:" + qr.b45encode(bytes(body)))
    body = bytearray(qr.b45decode(text[4:]))
    body[0] = 9  # unknown kind
    with pytest.raises(GarbagePayload, match="kind"):
        qr.decode_payload("TP1:" + qr.b45encode(bytes(body)))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_payload_is_refused(text: str, keep: float) -> None:
    body = qr.b45decode(text[4:])
    cut = "TP1:" + qr.b45encode(body[: int(len(body) * keep)])
    with pytest.raises(TruncatedPayload):
        qr.decode_payload(cut)


def test_truncated_text_is_refused(text: str) -> None:
    with pytest.raises(TruncatedPayload):
        qr.decode_payload(text[:-1] if len(text[4:]) % 3 == 0 else text[:-2])


@pytest.mark.parametrize("prefix", ["TP2:", "TP0:", "TP17:"])
def test_unknown_version_is_refused(text: str, prefix: str) -> None:
    with pytest.raises(UnknownPayloadVersion, match="version"):
        qr.decode_payload(prefix + text[4:])


@pytest.mark.parametrize("first", [0x21, 0x32, 0xF1])
def test_unknown_dictionary_version_is_refused(text: str, first: int) -> None:
    body = bytearray(qr.b45decode(text[4:]))
    assert body[0] == 0x11  # a credential, dictionary version 2
    body[0] = first
    with pytest.raises(UnknownPayloadVersion, match="dictionary version"):
        qr.decode_payload("TP1:" + qr.b45encode(bytes(body)))


def test_decompression_bomb_is_refused() -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, qr.ZDICT)
    bomb = c.compress(b'{"a":"' + b"A" * 2_000_000 + b'"}') + c.flush()
    assert len(bomb) < 6000
    payload = bytes([1, 0, 1, 0]) + bomb  # credential kind, no chains, one record, no flags
    text = "TP1:" + qr.b45encode(payload)
    with pytest.raises(OversizedPayload, match="decompresses"):
        qr.decode_payload(text)


def test_oversized_text_is_refused() -> None:
    with pytest.raises(OversizedPayload, match="exceeds"):
        qr.decode_payload("TP1:" + "0" * 9000)


def test_payload_too_large_says_by_how_much(text: str) -> None:
    with pytest.raises(PayloadTooLargeForQR) as info:
        qr.check_fits(text, max_version=10)
    err = info.value
    assert err.excess_chars == len(text) - qr.ALNUM_CAPACITY_M[9]
    assert err.excess_bytes == -(-err.excess_chars * 2 // 3)
    assert str(err.excess_chars) in str(err) and "too large" in str(err)


def test_huge_credential_is_refused_with_excess(issuer_key: Any, holder_key: Any) -> None:
    rng = random.Random(7)
    doc = make_degree(holder_key.public_key.did_key)
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(3000))
    doc["description"] = noise
    signed = sign(doc, issuer_key)
    with pytest.raises(PayloadTooLargeForQR) as info:
        qr.encode_payload(signed)
    assert info.value.excess_chars > 0
    assert info.value.max_version == 40


def test_capacity_table_matches_segno() -> None:
    for version in (1, 2, 9, 10, 22, 25, 26, 40):
        capacity = qr.ALNUM_CAPACITY_M[version - 1]
        assert segno.make_qr("A" * capacity, error="m", boost_error=False).version == version
        if version < 40:
            assert (
                segno.make_qr("A" * (capacity + 1), error="m", boost_error=False).version
                == version + 1
            )


def test_dictionary_is_frozen() -> None:
    import hashlib

    assert qr.ZDICT is qr.ZDICTS[1]
    assert hashlib.sha256(qr.ZDICTS[1]).hexdigest() == (
        "3bb79336dc48858beca302550fedba258e073b68df607ad61bc2e193ebe99485"
    )
    assert qr.ZDICTS[2].startswith(qr.ZDICTS[1]) and len(qr.ZDICTS[2]) == 11710
    assert hashlib.sha256(qr.ZDICTS[2]).hexdigest() == (
        "e2b066c5a8c84f10095ee19cef747a362945a24c7a5b3bd32c49739bac7cf393"
    )
    assert qr.DICT_VERSION == 2


# --- dictionary version 1 payloads (printed before version 2) ---------------------------------


def test_dictionary_version_1_payloads_still_decode() -> None:
    vectors = json.loads(V1_VECTORS.read_text())
    cred = vectors["credential"]
    assert qr.b45decode(cred["text"][4:])[0] == 0x01  # a credential, dictionary version 1
    back = qr.decode_payload(cred["text"])
    assert back == cred["document"]
    integrity.verify(back)
    signed, anchor = split_anchor(back)
    assert anchor is not None
    anchor.verify(merkle.credential_hash(signed))
    # re-encoded today: dictionary version 2, shorter, the same document
    again = qr.encode_payload(back)
    assert qr.b45decode(again[4:])[0] == 0x11 and len(again) < len(cred["text"])
    assert qr.decode_payload(again) == cred["document"]

    pres = vectors["presentation"]
    assert qr.b45decode(pres["text"][4:])[0] == 0x02  # a presentation, dictionary version 1
    vp = qr.decode_payload(pres["text"])
    assert vp == pres["document"]
    for c in verify_presentation(vp, challenge=pres["challenge"], domain=pres["domain"]):
        integrity.verify(c)
    again = qr.encode_payload(vp)
    assert qr.b45decode(again[4:])[0] == 0x12 and len(again) < len(pres["text"])
    # (version 1 put the credentials before the proof, after the salt: the same values, in
    # another key order; version 2 keeps their place)
    assert orjson.dumps(qr.decode_payload(again)) == orjson.dumps(vp)


@pytest.mark.parametrize("spelling", ["lower", "upper", "moved", "urn:x"])
def test_credential_ids_round_trip(issuer_key: Any, holder_key: Any, spelling: str) -> None:
    # a lowercase urn:uuid id right after @context is 16 raw bytes (bit7); any other id stays
    # in the JSON, where it was
    unsigned = make_degree(holder_key.public_key.did_key)
    cid = unsigned["id"]
    if spelling == "upper":
        unsigned["id"] = "urn:uuid:" + cid[9:].upper()
    elif spelling == "moved":
        unsigned = {"id": cid, **{k: v for k, v in unsigned.items() if k != "id"}}
    elif spelling == "urn:x":
        unsigned["id"] = "urn:x:" + cid[9:]
    doc = anchor_in_batch(sign(unsigned, issuer_key))
    text = qr.encode_payload(doc)
    body = qr.b45decode(text[4:])
    packed = bytes.fromhex(cid[9:].replace("-", "")) in body
    assert packed == (spelling == "lower")
    assert orjson.dumps(qr.decode_payload(text)) == orjson.dumps(doc)


def test_dictionary_version_1_refuses_the_implied_root() -> None:
    # bit6 (implied merkleRoot; presentations only) and bit7 (packed id) exist from dictionary
    # version 2 on
    text = json.loads(V1_VECTORS.read_text())["presentation"]["text"]
    body = bytearray(qr.b45decode(text[4:]))
    flags_at = 3 + 20 + 3 + 1  # kind, chain count, chain id (3), spelling, address, count
    assert body[flags_at - 1] == 2 and body[flags_at] & 1  # two records, the first anchored
    for bit in (0x40, 0x80):  # nor the packed id
        changed = bytearray(body)
        changed[flags_at] |= bit
        with pytest.raises(GarbagePayload, match="flags"):
            qr.decode_payload("TP1:" + qr.b45encode(bytes(changed)))


# --- bound presentations ----------------------------------------------------------------------


def _status(slug: str, index: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"https://issuer.example.org/institutions/{slug}/status/{p}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": p,
            "statusListIndex": str(index),
            "statusListCredential": f"https://issuer.example.org/institutions/{slug}/status/{p}",
        }
        for p in ("revocation", "suspension")
    ]


def _uuid(i: int) -> str:
    """A random-looking (version 4) credential id, as issuers make them."""
    import hashlib
    import uuid

    return f"urn:uuid:{uuid.UUID(bytes=hashlib.sha256(b'id %d' % i).digest()[:16], version=4)}"


@pytest.fixture(scope="module")
def application(issuer_key: Any, holder_key: Any) -> dict[str, Any]:
    """The three credentials of an application, each with two status-list entries and a 12-hash
    path (batches of 4,096), bound to a verifier's 24-character challenge with the holder's
    32-byte salt (a key file written before salts became 16 bytes: the longer)."""
    did = holder_key.public_key.did_key
    creds = [
        anchor_in_batch(
            sign(build(did, status=_status(kind.lower(), 1000 + i), id=_uuid(i)), issuer_key),
            index=5 + i,
        )
        for i, (kind, build) in enumerate(BUILDERS.items())
    ]
    return create_presentation(
        creds,
        holder_key,
        challenge="c0ffee-5eed-0123456789ab",
        domain="verify.immd.gov.hk",
        created=WHEN,
        identity_document_salt=examples.ID_SALT,
    )


def test_bound_presentation_of_all_three_fits_one_qr_code(application: dict[str, Any]) -> None:
    text = qr.encode_payload(application)
    assert qr.b45decode(text[4:])[0] == 0x12
    # one QR code at error correction M, version <= 40 (the README's guarantee): 3,351
    # characters, version 40 (3,391 hold); 3,340 before the Open Badge and the presentation
    # named the TalentProof context (issue 14: their person and salt terms), 3,393 with the ids
    # left in the JSON, 3,723 (332 over) with dictionary version 1, the roots and the ids carried
    # as before
    assert qr.qr_version(text) <= 40
    assert (len(text), qr.qr_version(text)) == (3351, 40)
    back = qr.decode_payload(text)
    assert orjson.dumps(back) == orjson.dumps(application)  # the same JSON, byte for byte
    creds = verify_presentation(
        back, challenge="c0ffee-5eed-0123456789ab", domain="verify.immd.gov.hk"
    )
    for cred in creds:
        integrity.verify(cred)
        signed, anchor = split_anchor(cred)
        assert anchor is not None
        anchor.verify(merkle.credential_hash(signed))


def test_presentation_roots_are_implied_and_a_changed_path_fails_the_holder_proof(
    application: dict[str, Any],
) -> None:
    text = qr.encode_payload(application)
    body = qr.b45decode(text[4:])
    for cred in application["verifiableCredential"]:  # no root is carried
        assert bytes.fromhex(cred["proof"][1]["merkleRoot"][2:]) not in body
    # a path hash changed in the QR: the decoded root is another, and the holder's proof, which
    # covers every root, fails (as it did when the root was carried)
    path_hash = bytes.fromhex(application["verifiableCredential"][0]["proof"][1]["path"][3][2:])
    at = body.index(path_hash)  # in the first record
    changed = body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]
    back = qr.decode_payload("TP1:" + qr.b45encode(changed))
    assert (
        back["verifiableCredential"][0]["proof"][1]["merkleRoot"]
        != (application["verifiableCredential"][0]["proof"][1]["merkleRoot"])
    )
    with pytest.raises(InvalidSignature):
        verify_presentation(back, challenge="c0ffee-5eed-0123456789ab", domain="verify.immd.gov.hk")


def test_an_unsigned_presentation_carries_its_roots(application: dict[str, Any]) -> None:
    # no holder signature covers the roots: each is carried (a changed path fails inclusion)
    vp = {k: v for k, v in application.items() if k != "proof"}
    text = qr.encode_payload(vp)
    body = qr.b45decode(text[4:])
    for cred in vp["verifiableCredential"]:
        assert bytes.fromhex(cred["proof"][1]["merkleRoot"][2:]) in body
    assert orjson.dumps(qr.decode_payload(text)) == orjson.dumps(vp)


def test_a_root_the_path_does_not_lead_to_is_carried(application: dict[str, Any]) -> None:
    # an anchor whose root is not the one its path leads to is kept as it is (the verifier's
    # inclusion check then fails on the credential, as without the QR code)
    vp = copy.deepcopy(application)
    vp["verifiableCredential"][0]["proof"][1]["merkleRoot"] = "0x" + "ab" * 32
    # a 16-byte salt, as keys have today: the fixture's 32-byte one with a carried root is 8
    # characters over one code since the presentation names the TalentProof context (issue 14)
    vp["identityDocumentSalt"] = vp["identityDocumentSalt"][:22]
    text = qr.encode_payload(vp)
    assert bytes.fromhex("ab" * 32) in qr.b45decode(text[4:])
    assert orjson.dumps(qr.decode_payload(text)) == orjson.dumps(vp)


def test_single_credentials_carry_their_root(anchored: dict[str, dict[str, Any]]) -> None:
    doc = anchored["DegreeCredential"]
    body = qr.b45decode(qr.encode_payload(doc)[4:])
    assert bytes.fromhex(doc["proof"][1]["merkleRoot"][2:]) in body
    assert not body[1 + 1 + 3 + 1 + 20 + 1] & 0x40  # the record's flags


# --- images -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qr_image(text: str) -> Image.Image:
    return Image.open(io.BytesIO(qr.render_png(text, scale=5))).convert("RGB")


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_render_png_and_svg(text: str) -> None:
    png = qr.render_png(text)
    assert png.startswith(b"\x89PNG")
    assert qr.decode_image(png) == text
    svg = qr.render_svg(text)
    assert svg.lstrip().startswith("<svg") and "path" in svg


def test_decode_scaled_and_rotated(qr_image: Image.Image, text: str) -> None:
    small = qr_image.resize(
        (int(qr_image.width * 0.7), int(qr_image.height * 0.7)), Image.Resampling.BILINEAR
    )
    assert qr.decode_image(_png(small)) == text
    rotated = qr_image.rotate(4, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    assert qr.decode_image(_png(rotated)) == text


def test_decode_blurred_noisy_jpeg_inside_larger_image(qr_image: Image.Image, text: str) -> None:
    rng = random.Random(1)
    page = Image.new("RGB", (1600, 1200), (236, 232, 220))
    draw = ImageDraw.Draw(page)
    for _ in range(40):  # unrelated page content around the code
        x, y = rng.randrange(1500), rng.randrange(1100)
        draw.rectangle((x, y, x + rng.randrange(20, 90), y + 8), fill=(60, 60, 60))
    code = qr_image.rotate(-3, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    code = code.filter(ImageFilter.GaussianBlur(1.0))
    page.paste(code, (700, 400))
    noise = Image.effect_noise(page.size, 18).convert("RGB")
    page = Image.blend(page, noise, 0.12)
    assert qr.decode_image(_jpeg(page, 55)) == text


def test_decode_phone_photo_of_a_screen(qr_image: Image.Image, text: str) -> None:
    w, h = qr_image.size
    canvas = Image.new("RGB", (w + 200, h + 200), (30, 30, 30))  # dark bezel around the screen
    canvas.paste(qr_image, (100, 100))
    # perspective (camera not parallel to the screen), dimmed contrast, blur, JPEG
    cw, ch = canvas.size
    coeffs = _perspective(
        [(0, 0), (cw, 0), (cw, ch), (0, ch)],
        [(25, 10), (cw - 5, 30), (cw - 30, ch - 5), (10, ch - 25)],
    )
    photo = canvas.transform(
        canvas.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC
    )
    photo = ImageEnhance.Contrast(photo).enhance(0.6)
    photo = ImageEnhance.Brightness(photo).enhance(0.85).filter(ImageFilter.GaussianBlur(0.8))
    assert qr.decode_image(_jpeg(photo, 70)) == text


def _perspective(src: list[tuple[int, int]], dst: list[tuple[int, int]]) -> list[float]:
    """Coefficients for PIL's PERSPECTIVE transform mapping ``dst`` points back to ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -x * u, -x * v])
        rows.append([0, 0, 0, u, v, 1, -y * u, -y * v])
        rhs += [x, y]
    return _solve(rows, rhs)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def test_no_qr_code_in_image() -> None:
    blank = Image.new("RGB", (300, 300), "white")
    with pytest.raises(NoQRCodeFound, match="no readable"):
        qr.decode_image(_png(blank))
    with pytest.raises(NoQRCodeFound, match="not a readable image"):
        qr.decode_image(b"not an image")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b'{"@context": ["https://www.w3.org/ns/credentials/v2"]}', "a JSON document"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"TP1:NOT A PICTURE", "text"),
        (b"\x00\x01\x02\x03 binary", "an unknown format"),
    ],
)
def test_a_file_that_is_not_a_picture_is_named_plainly(data: bytes, named: str) -> None:
    """What the officer's page, the service and the wallet show for an upload that is not a
    picture: what the file is and what was expected, never Pillow's words about a BytesIO
    object (``cannot identify image file <_io.BytesIO object at 0x7f...>``)."""
    with pytest.raises(NoQRCodeFound) as caught:
        qr.decode_image_all(data)
    message = str(caught.value)
    assert "BytesIO" not in message and " at 0x" not in message, message
    assert message.startswith("not a readable image: ") and named in message, message
    assert "expected a PNG or JPEG picture" in message, message


def test_foreign_qr_code_is_not_taken() -> None:
    other = segno.make_qr("https://example.com/not-a-credential")
    buf = io.BytesIO()
    other.save(buf, kind="png", scale=5)
    with pytest.raises(NoQRCodeFound, match="none is a TalentProof"):
        qr.decode_image(buf.getvalue())


def test_a_wallet_link_qr_code_is_named_by_its_scheme() -> None:
    """Trying the README in a clean clone, `talentproof verify offer.png` (the institution's
    offer QR code) said only 'none is a TalentProof payload'; a wallet link is now named by its
    scheme (its text is not shown), a foreign code as before."""
    offer = qr.render_png("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fx")
    with pytest.raises(NoQRCodeFound) as caught:
        qr.decode_image(offer)
    message = str(caught.value)
    assert message.startswith("the image holds QR codes, but none is a TalentProof payload")
    assert "an institution's credential offer (openid-credential-offer://)" in message, message
    assert "for the applicant's wallet, not a credential" in message and "https" not in message
    request = qr.render_png("openid4vp://?client_id=x&request_uri=y")
    with pytest.raises(NoQRCodeFound, match=r"a verifier's request \(openid4vp://\)"):
        qr.decode_image_all(request)
    other = qr.render_png("https://example.com/not-a-credential")
    with pytest.raises(NoQRCodeFound) as caught:
        qr.decode_image(other)
    assert str(caught.value) == "the image holds QR codes, but none is a TalentProof payload"


def test_read_codes_sees_every_distinct_code_of_a_picture() -> None:
    """`read_codes`, the one place a picture holding several codes of a kind is seen (the
    verifier's and the wallet's refusals): each distinct text once, split by the caller's test,
    in the order read; the same code shown twice is one; light on dark is read too."""

    def gray(text: str) -> Image.Image:
        return Image.open(io.BytesIO(qr.render_png(text))).convert("L")

    def picture(*codes: Image.Image) -> bytes:
        page = Image.new("L", (sum(c.width + 30 for c in codes), max(c.height for c in codes)), 255)
        for k, code in enumerate(codes):
            page.paste(code, (sum(c.width + 30 for c in codes[:k]), 0))
        return _png(page)

    a, b, other = gray("TP1:FIRST CODE"), gray("TP1:SECOND CODE"), gray("https://example.com/x")
    read = qr.read_codes(picture(a, other, ImageOps.invert(b)), qr.is_payload_text)
    assert sorted(read.wanted) == ["TP1:FIRST CODE", "TP1:SECOND CODE"]
    assert read.others == ("https://example.com/x",)
    assert qr.decode_image_all(picture(a, a)) == ("TP1:FIRST CODE",)  # shown twice: one
    assert qr.decode_image(picture(a, a)) == "TP1:FIRST CODE"
    assert qr.read_codes(picture(other), qr.is_payload_text) == qr.QRCodesRead(
        (), ("https://example.com/x",)
    )
    with pytest.raises(NoQRCodeFound, match="none is a TalentProof"):
        qr.decode_image_all(picture(other))
    with pytest.raises(NoQRCodeFound, match="not a readable image"):
        qr.read_codes(b"not an image", qr.is_payload_text)
    with pytest.raises(NoQRCodeFound, match="expected image bytes, found str"):
        qr.read_codes("TP1:text", qr.is_payload_text)  # type: ignore[arg-type]
