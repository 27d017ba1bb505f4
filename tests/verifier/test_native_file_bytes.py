"""A folder file's bytes parsed and its checks 1, 3 and 4 done in one C call
(credential/native_verify.c ``from_bytes``, through ``bulk.file_item`` with ``bulk.NATIVE_BYTES``
on) give the very results of the Python path (``inputs.item_from_path`` then
``bulk.prepare_files``, its twin, ``NATIVE_BYTES`` off): the same ``Prepared`` (== and repr) for
issued credentials and for hostile texts of them (other key orders, whitespace, escapes, BOMs,
duplicate keys, big and other numbers, lone and encoded surrogates, invalid UTF-8, controls,
trailing bytes, secrets, truncations, byte flips, forged signatures, roots and paths, other
kinds, presentations), where it declines the very ``Item`` ``item_from_path`` makes, and
byte-identical folder results (``--full`` and compact) on a chain.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential import native_verify
from talentproof.verifier import bulk
from talentproof.verifier.inputs import DEFAULT_LIMITS, item_from_path
from tests.chainkit import DEGREE, EMPLOYMENT, anchor_batch, build, holder, sign
from tests.verifier.test_native_verify import (
    BATCH,
    SIGNED,
    _proof_texts,
    _resigned,
    _verifier,
)


def test_the_c_form_is_built() -> None:
    """Fails (never skips) in a tree without the C: the comparisons below would compare the
    Python path with itself."""
    assert callable(native_verify.from_bytes)
    assert bulk.native_from_bytes() is native_verify.from_bytes


def _judge(tmp: Path, texts: list[bytes], answer: list[bool] | None = None) -> int:
    """Writes ``texts`` as files, reads them both ways, compares; how many the C answered
    (``answer``: which it must answer)."""
    paths = []
    for i, t in enumerate(texts):
        p = tmp / f"f{i:05d}.json"
        p.write_bytes(t)
        paths.append(str(p))
    on = [bulk.file_item(p, DEFAULT_LIMITS) for p in paths]
    off = [item_from_path(p, DEFAULT_LIMITS) for p in paths]
    answered = 0
    for a, b, t in zip(on, off, texts, strict=True):
        if type(a) is bulk.CheckedFile:
            answered += 1
            assert b.document is not None and b.error is None, t[:300]
        else:
            assert a == b, t[:300]  # declined: item_from_path's very item
    v = _verifier()
    got_on = bulk.prepare_files(v, on)
    got_off = bulk.prepare_files(_verifier(), off)
    ref = _verifier().prepare_items(off)  # (the reference of the reference)
    for a, b, c, t in zip(got_on, got_off, ref, texts, strict=True):
        assert a == b == c, t[:300]
        assert repr(a) == repr(b) == repr(c), t[:300]
    for p in paths:
        os.unlink(p)
    if answer is not None:
        assert [type(a) is bulk.CheckedFile for a in on] == answer
    return answered


def _forms(doc: dict[str, Any]) -> Iterator[bytes]:
    """The document in other text forms (the same JSON value, or a hostile near one)."""
    plain = json.dumps(doc)
    yield plain.encode()
    yield json.dumps(doc, indent=2).encode()
    yield json.dumps(doc, separators=(",", ":")).encode()
    yield json.dumps(doc, ensure_ascii=False).encode()
    yield json.dumps(dict(reversed(list(doc.items())))).encode()  # another key order
    for ws in (" ", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x00", "\u00a0", "\u2028"):
        yield (ws + plain).encode()
        yield (plain + ws).encode()
    yield b"\xef\xbb\xbf" + plain.encode()  # a UTF-8 BOM (tolerated: dropped)
    yield b"\xff\xfe" + plain.encode("utf-16-le")
    for tail in ("x", ",", "}", "{}", "]", " 1", "\n{}", "//", "\n\n"):
        yield (plain + tail).encode()
    yield ("[" + plain + "]").encode()
    # escapes where the issuer writes none (the same value: json.loads reads them alike)
    yield plain.replace('"@context"', '"\\u0040context"', 1).encode()
    yield plain.replace('"proof"', '"pro\\u006ff"', 1).encode()
    yield plain.replace('"type"', '"typ\\u0065"', 1).encode()
    yield plain.replace("https:", "https\\/", 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": 31337.0', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": 3.1337e4', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": 31337e0', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": 031337', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": -31337', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": +31337', 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": ' + "9" * 15, 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": ' + "9" * 16, 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": ' + str(2**53 + 1), 1).encode()
    yield plain.replace('"chainId": 31337', '"chainId": ' + str(2**64 - 1), 1).encode()
    yield plain.replace('"leafIndex": ', '"leafIndex": -', 1).encode()
    yield plain.replace('"leafIndex": 0', '"leafIndex": -0', 1).encode()
    yield plain.replace('"leafIndex": 0', '"leafIndex": 0.0', 1).encode()
    yield plain.replace('"leafIndex": 0', '"leafIndex": 00', 1).encode()
    # duplicate keys (the same value and another), at the top, in the proof, in the subject
    for key in ('"@context"', '"type"', '"proof"', '"chainId"', '"proofValue"', '"name"'):
        i = plain.find(key)
        if i >= 0:
            j = plain.rfind("{", 0, i) + 1
            yield (plain[:j] + key + ': "x", ' + plain[j:]).encode()
            end = plain.find(",", i)
            if end > 0:
                member = plain[i:end]
                yield (plain[:j] + member + ", " + plain[j:]).encode()
    # lone and encoded surrogates, invalid UTF-8, controls, raw line separators
    name = doc["credentialSubject"].get("name", "")
    if name:
        for bad in ("\\ud800", "\\udc00x", "\\ud83d\\ude00", "a\\u0000", "\\n", "\\t", '\\"'):
            yield plain.replace(json.dumps(name), '"' + name + bad + '"', 1).encode()
        raw = plain.encode()
        at = raw.find(name.encode())
        for bad in (
            b"\xed\xa0\x80",
            b"\xed\xbf\xbf",
            b"\xc0\xaf",
            b"\xff",
            b"\x80",
            b"\xe2\x82",
            b"\xf4\x90\x80\x80",
            b"\x00",
            b"\x1f",
            b"\x7f",
            b"\xe2\x80\xa8",
            "\u00e9".encode(),
            "\U0001f600".encode(),
        ):
            yield raw[:at] + bad + raw[at:]
    # literals where the issuer writes none
    for lit in ("true", "false", "null", "[]", "{}", "1.5", "-1", "1e400", '""'):
        yield plain.replace("{", '{"extra": ' + lit + ", ", 1).encode()
    # secrets beside a credential (inputs.not_a_document refuses them, @context or not)
    for member in (
        '"secretKeyMultibase": "z1"',
        '"privateKeyMultibase": "z1"',
        '"privateKeyHex": "00"',
        '"privateKeyJwk": {}',
        '"d": "x", "kty": "OKP"',
        '"d": "x"',
        '"keys": [{"d": "x"}]',
        '"keys": []',
        '"note": "tpk_' + "A" * 20 + '"',
        '"note": " tpoat_' + "a" * 20 + ' "',
        '"note": "tpv_' + "b" * 20 + '"',
        '"note": "tpv_short"',
        '"note": "xtpk_' + "A" * 20 + '"',
    ):
        yield plain.replace("{", "{" + member + ", ", 1).encode()
        yield plain[:-1].encode() + b", " + member.encode() + b"}"
    # truncated at many places
    raw = plain.encode()
    for cut in range(0, len(raw), max(1, len(raw) // 40)):
        yield raw[:cut]
    yield raw[:-1]
    # deep nesting
    yield plain.replace("{", '{"deep": ' + "[" * 40 + "]" * 40 + ", ", 1).encode()
    yield plain.replace("{", '{"deep": ' + "[" * 31 + "]" * 31 + ", ", 1).encode()


def test_issued_credentials_are_answered_with_the_same_checks(tmp_path: Path) -> None:
    texts = [json.dumps(d).encode() for d in BATCH]
    assert _judge(tmp_path, texts) == len(texts)


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_other_text_forms_and_hostile_bytes(tmp_path: Path, which: int) -> None:
    texts = list(_forms(BATCH[which]))
    answered = _judge(tmp_path, texts)
    # (the same value in other spacing, key order or with whitespace around: read by the C)
    assert answered >= 10


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_forged_signatures_roots_and_paths(tmp_path: Path, which: int) -> None:
    texts = [json.dumps(d).encode() for d in _proof_texts(BATCH[which])]
    # (a few are the same proof: the root in upper-case hex, chain reads decide the others)
    assert _judge(tmp_path, texts) < len(texts) // 10


def test_validly_signed_other_texts(tmp_path: Path) -> None:
    """Re-signed and re-anchored credentials (so checks 3 and 4 pass): non-ASCII and
    escaped-looking names, other kinds and types, a presentation's type, secrets signed in."""
    docs = []
    for which in (0, 1, 2):
        doc = SIGNED[which]
        subject = doc["credentialSubject"]
        for name in (
            "陳大文",
            "CHAN Tai Man 😀",
            "x\u2028y",
            "tpk_" + "A" * 20,
            "back\\slash",
            'quote"d',
            "a\u0000b",
            "",
        ):
            docs.append(_resigned(doc, body={"credentialSubject": {**subject, "name": name}}))
        for types in (
            ["VerifiableCredential"],
            ["VerifiableCredential", "VerifiablePresentation"],
            ["VerifiablePresentation", doc["type"][-1]],
            [doc["type"][-1], "VerifiableCredential"],
        ):
            docs.append(_resigned(doc, body={"type": types}))
        for extra in (
            {"note": "tpv_" + "b" * 20},
            {"d": "x", "kty": "OKP"},
            {"keys": [{"d": "x"}]},
            {"secretKeyMultibase": "z1"},
            {"privateKeyMultibase": "z1"},
            {"privateKeyHex": "00"},
            {"privateKeyJwk": {"kty": "OKP"}},
            {"note": "tpk_" + "A" * 20},
            {"note": "tpoat_" + "a" * 20},
            {"big": 2**53 - 1},
            {"n": 12},
            {"f": 1.5},
            {"t": True},
            {"z": None},
        ):
            docs.append(_resigned(doc, body=extra))
    texts = [json.dumps(d).encode() for d in docs]
    texts += [json.dumps(d, ensure_ascii=False).encode() for d in docs]
    answered = _judge(tmp_path, texts)
    assert answered >= 6  # (the non-ASCII names written as UTF-8 at least)


def test_texts_whose_raw_bytes_are_what_was_signed(tmp_path: Path) -> None:
    """A credential signed with a backslash sequence, a control character or a token in a
    text, then written with those bytes raw (unescaped): the signature holds over the raw bytes
    but json.loads reads another value or refuses the text: a parser that took them raw would
    answer VALID where the Python path does not."""
    texts = []
    for which in (0, 1):
        doc = SIGNED[which]
        subject = doc["credentialSubject"]
        for name, escaped, raw in (
            ("x\\u0041y", "x\\\\u0041y", "x\\u0041y"),
            ("x\\ny", "x\\\\ny", "x\\ny"),
            ('x\\"', 'x\\\\\\"', 'x\\"'),
            ("a\x01b", "a\\u0001b", "a\x01b"),
            ("a\tb", "a\\tb", "a\tb"),
            ("a\nb", "a\\nb", "a\nb"),
            ("a\x7fb", "a\x7fb", "a\x7fb"),
        ):
            d = _resigned(doc, body={"credentialSubject": {**subject, "name": name}})
            text = json.dumps(d, ensure_ascii=False)
            assert escaped in text, (escaped, text)
            texts.append(text.encode())
            texts.append(text.replace(escaped, raw, 1).encode())
        for note in ("tpoat_" + "a" * 20, " tpk_" + "A" * 20, "tpv_" + "b" * 20 + "\n"):
            d = _resigned(doc, body={"note": note})
            texts.append(json.dumps(d).encode())
    _judge(tmp_path, texts)


def test_escapes_are_read_as_json_loads_reads_them(tmp_path: Path) -> None:
    """Signed texts holding every escape JSON has (and near ones it refuses) in a name, a key
    and the anchor: answered only where json.loads reads the very value signed."""
    texts = []
    doc = SIGNED[0]
    subject = doc["credentialSubject"]
    for name in ('q"b\\s/f\bf\fn\nr\rt\t', "\u00e9\u9673\U0001f600", "\x00\x1f\x7f\u2028"):
        d = _resigned(doc, body={"credentialSubject": {**subject, "name": name}})
        plain = json.dumps(d)
        texts.append(plain.encode())
        texts.append(plain.replace("s/f", "s\\/f").encode())
        texts.append(json.dumps(d, ensure_ascii=False).encode())
        texts.append(plain.replace("\\u00e9", "\\u00E9").encode())
        texts.append(plain.replace('"name"', '"n\\u0061me"', 1).encode())
    # (each the very value signed, in another text: the C must read them all)
    _judge(tmp_path, texts, [True] * len(texts))
    texts = []
    signed = _resigned(doc, body={"credentialSubject": {**subject, "name": "A\U0001f600B"}})
    plain = json.dumps(signed)
    pair = "\\ud83d\\ude00"
    assert pair in plain
    for other in (
        "\\ud83d\\u0041",
        "\\ud83dA",
        "\\ude00\\ud83d",
        "\\ud83d\\ud83d",
        "\\ud83d",
        "\\ude00",
        "\\uD83D\\uDE00",
        "\\ud83d\\ude0",
        "\\u12G4",
        "\\x41",
        "\\U0001f600",
        "\\ud83d\\\\ude00",
        "\\",
        '\\"',
        "\\u0041",
        "\\",
    ):
        texts.append(plain.replace(pair, other, 1).encode())
    # an escaped key that names a member given already (a duplicate for json.loads)
    texts.append(plain.replace('"type"', '"t\\u0079pe": ["x"], "type"', 1).encode())
    texts.append(plain.replace('"@context"', '"\\u0040context": [], "@context"', 1).encode())
    # escapes in the anchor entry and the proof (the same values)
    texts.append(plain.replace('"merkleRoot": "0x', '"merkleRoot": "\\u0030x', 1).encode())
    texts.append(plain.replace('"proofValue": "z', '"proofValue": "\\u007a', 1).encode())
    texts.append(plain.replace('"TalentProofAnchor"', '"TalentProof\\u0041nchor"', 1).encode())
    # a signed U+1304 written as "\\u12G4" (no escape for json.loads: a hex reader taking
    # "G" as 16 reads it)
    d = _resigned(doc, body={"credentialSubject": {**subject, "name": "\u1304"}})
    assert "\\u1304" in json.dumps(d)
    texts.append(json.dumps(d).replace("\\u1304", "\\u12G4").encode())
    answered = _judge(tmp_path, texts)
    assert answered >= 4


def test_nesting_beyond_any_recursion_limit(tmp_path: Path) -> None:
    """At the interpreter's default recursion limit, as in the CLI (test runners raise it, and
    json.loads then overflows the C stack before raising RecursionError)."""
    plain = json.dumps(BATCH[0])
    texts = [
        plain.replace("{", '{"deep": ' + "[" * n + "]" * n + ", ", 1).encode()
        for n in (33, 1000, 100_000)
    ]
    texts.append(b"[" * 200_000)
    texts.append(b'{"a": ' * 40_000)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        assert _judge(tmp_path, texts) == 0
    finally:
        sys.setrecursionlimit(limit)


def test_random_byte_flips(tmp_path: Path) -> None:
    """Seeded fuzz: bytes of issued texts replaced, inserted and removed at random."""
    rng = random.Random(17_3)
    texts = []
    for doc in BATCH:
        raw = json.dumps(doc).encode()
        for _ in range(150):
            b = bytearray(raw)
            for _ in range(rng.choice((1, 1, 2, 3))):
                at = rng.randrange(len(b))
                op = rng.random()
                byte = rng.choice(b' "{}[]:,\\0123456789aZ\x00\x80\xff\xed\t\n')
                if op < 0.5:
                    b[at] = byte
                elif op < 0.75:
                    b.insert(at, byte)
                else:
                    del b[at]
            texts.append(bytes(b))
    _judge(tmp_path, texts)


def test_other_inputs_go_the_python_way(tmp_path: Path) -> None:
    """A presentation, wrappers, QR texts, an empty file, a picture suffix, too large."""
    doc = BATCH[0]
    texts = [
        json.dumps(
            {
                "@context": doc["@context"],
                "type": ["VerifiablePresentation"],
                "verifiableCredential": [doc],
            }
        ).encode(),
        json.dumps({"credential": doc, "status": "anchored", "id": "x"}).encode(),
        json.dumps({"verifiableCredential": doc}).encode(),
        b"",
        b"TP1:ABC",
        b"{}",
        b"[]",
    ]
    assert _judge(tmp_path, texts) == 0
    pic = tmp_path / "c.png"
    pic.write_bytes(json.dumps(doc).encode())
    assert bulk.file_item(str(pic), DEFAULT_LIMITS) == item_from_path(str(pic), DEFAULT_LIMITS)
    big = tmp_path / "big.json"
    big.write_bytes(json.dumps(doc).encode() + b" " * DEFAULT_LIMITS.max_document_bytes)
    assert bulk.file_item(str(big), DEFAULT_LIMITS) == item_from_path(str(big), DEFAULT_LIMITS)


@pytest.mark.integration
def test_folder_results_are_byte_identical_with_the_c_read_on_and_off(
    vchain, tmp_path, monkeypatch
):
    """A folder of valid, expired, other kinds, forged, hostile and malformed files: the same
    JSON text of the results, ``--full`` and compact, with ``NATIVE_BYTES`` on and off."""
    from tests.chainkit import mixed_credentials

    uni = vchain.issuers["University of Hong Kong"]
    batch = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key) for _ in range(4)]
        + [sign(build(EMPLOYMENT, uni.did, holder().public_key.did_key), uni.key)],
        uni.client,
        vchain.deployment,
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    texts: list[bytes] = []
    for d in [*batch, *mixed_credentials(vchain)]:
        texts.append(json.dumps(d).encode())
    for t in list(_forms(batch[0]))[::3]:
        texts.append(t)
    texts += [json.dumps(d).encode() for d in list(_proof_texts(batch[1]))[::25]]
    for i, t in enumerate(texts):
        (folder / f"c{i:03d}.json").write_bytes(t)
    (folder / "broken.json").write_text("{not json")
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    as_of = datetime.fromtimestamp(
        max(vchain.latest_timestamp() + 1, int(datetime.now(UTC).timestamp())), UTC
    )
    monkeypatch.setattr(bulk, "CHUNK", 8)
    monkeypatch.setattr(bulk, "TASK", 16)
    out = {}
    for on in (True, False):
        monkeypatch.setattr(bulk, "NATIVE_BYTES", on)
        for full in (False, True):
            for workers in (1, 2):
                got, _, _ = bulk.run_folder(
                    folder,
                    rpc=vchain.rpc_url,
                    trust=str(record),
                    as_of=as_of,
                    workers=workers,
                    full=full,
                )
                out[on, full, workers] = json.dumps(got, ensure_ascii=False, indent=2)
    for full in (False, True):
        for workers in (1, 2):
            assert out[True, full, workers] == out[False, full, workers]
    compact = json.loads(out[True, False, 2])
    verdicts = [r["verdict"] for r in compact]
    assert verdicts.count("valid") >= 10 and "invalid" in verdicts
    assert {r["outcome"]["code"] for r in compact} == {"VALID", "INVALID", "NOT_VERIFIABLE"}
    # the C read answered in this process for the valid ones
    monkeypatch.setattr(bulk, "NATIVE_BYTES", True)
    read = [bulk.file_item(str(p), DEFAULT_LIMITS) for p in sorted(folder.iterdir())]
    assert sum(type(r) is bulk.CheckedFile for r in read) >= 10
