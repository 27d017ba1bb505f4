"""What ``native_verify.from_bytes`` reads of a file's bytes is what the Python path reads
(``inputs.item_from_bytes``: orjson or json.loads, the duplicate-key and lone-surrogate refusals,
``not_a_document``), seen where the C hashes it: its ``jcs_digests`` and ``merkle_root`` calls
are wrapped (``native_verify.setup``, restored after), so every document the C parser reads
through to check 3 is compared with the Python reading of the same bytes, whether or not its
signature then verifies.

Why beside test_native_file_bytes.py: that file compares the two paths' answers, and a reading
that differs from json.loads' shows there only when the signature verifies over the C's
reading, i.e. for the texts an attacker holding an accredited key would sign. Here any
difference fails, on random hostile texts (raw and escaped characters of every UTF-8 length,
encoded surrogates, overlong and truncated sequences, every escape and near ones, surrogate
pairs in either hex case, numbers of every form, literals, other whitespace, BOMs, NULs,
trailing bytes, keys the issuer never writes, secrets) and on texts re-encoded with the same
value (characters escaped), whose answers (the anchor's fields, the key, the hash) are compared
with the Python path's too. Seeded; ``python -m tests.verifier.test_native_file_bytes_parse
SECONDS [SEED]`` runs it for a CPU time instead (the red team's fuzz, 2026-12-08).
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from talentproof.credential import native, native_verify
from talentproof.credential.keys import sodium_address
from talentproof.verifier import bulk
from talentproof.verifier.inputs import DEFAULT_LIMITS, item_from_bytes
from tests.verifier.test_native_verify import BATCH


def strict_eq(a: Any, b: Any) -> bool:
    """Equal JSON values of the same types (1 == 1.0 == True is not enough), keys in order."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return len(a) == len(b) and all(
            type(ka) is type(kb) and ka == kb and strict_eq(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if type(a) is list:
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@contextmanager
def hooked() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """``native_verify`` set up with its real functions wrapped: the calls (name, arguments)
    are recorded; the setup ``bulk.native_offline`` made is restored after."""
    assert bulk.native_offline() is not None
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def jcs(*args: Any) -> Any:
        calls.append(("jcs", args))
        return native.jcs_digests(*args)

    def root(*args: Any) -> Any:
        calls.append(("root", args))
        return native.merkle_root(*args)

    address = sodium_address("crypto_sign_open")
    native_verify.setup(address, jcs, root, bulk.raw_key_of)
    try:
        yield calls
    finally:
        native_verify.setup(address, native.jcs_digests, native.merkle_root, bulk.raw_key_of)


def compare(text: bytes, calls: list[tuple[str, tuple[Any, ...]]]) -> tuple[bool, str | None]:
    """(whether the C read ``text`` through to check 3, why its reading or answer differs from
    the Python path's, or None)."""
    del calls[:]
    answer = native_verify.from_bytes(text)
    if not calls:
        return False, None if answer is None else "answered without hashing"
    item = item_from_bytes(text, "f.json", DEFAULT_LIMITS)
    if item.document is None or item.error is not None:
        return True, f"the Python path refuses it: {item.error}"
    doc = item.document
    proofs = doc.get("proof")
    if type(proofs) is not list or len(proofs) != 2:
        return True, "the Python reading has no [proof, anchor]"
    credential, proof = calls[0][1]
    expected = dict(doc)
    expected["proof"] = proofs[0]
    if not strict_eq(credential, expected) or not strict_eq(proof, proofs[0]):
        return True, "another document read"
    if answer is None:
        return True, None
    entry = proofs[1]
    want = (
        entry["chainId"],
        entry["registry"],
        bytes.fromhex(entry["merkleRoot"][2:]),
        entry["leafIndex"],
        entry["treeSize"],
        tuple(bytes.fromhex(h[2:]) for h in entry["path"]),
    )
    got = answer[1:7]
    if not all(strict_eq(x, y) for x, y in zip(got, want, strict=True)):
        return True, f"another anchor read: {got!r} {want!r}"
    if answer[8] != proofs[0]["verificationMethod"] or answer[9] != proofs[0]["created"]:
        return True, "another proof read"
    return True, None


# --------------------------------------------------------------------------- the texts

_ESCAPES = [b"\\b", b"\\f", b"\\r", b"\\t", b"\\n", b"\\/", b"\\\\", b'\\"']
_NEAR = [b"\\u00", b"\\u12G4", b"\\a", b"\\0", b"\\x41", b"\\U0041", b"\\", b"\\ud800", b"\\udc00"]
_BYTES = [
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80",
    b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
    b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80",
    b"\xed\xbf\xbf", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xef\xbb\xbf",
]  # fmt: skip
_ODD_POINTS = [
    0x7F, 0x80, 0x85, 0xA0, 0xAD, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF, 0xFDD0, 0x10FFFF,
    0x1FFFE, 0xE000, 0xD7FF, 0x200B, 0x0301, 0x212B, 0xC5, 0x202E,
]  # fmt: skip
_NUMBERS = [
    b"-0", b"0.0", b"1e2", b"1E2", b"01", b"-1", b"+1", b"1.", b".1", b"0x1", b"Infinity",
    b"NaN", b"-Infinity", b"1e400", b"00", b"0e0", b"9" * 15, b"9" * 16, b"9" * 19, b"9" * 20,
    b"1" * 400, b"18446744073709551615", b"18446744073709551616", b"9007199254740993",
]  # fmt: skip
_WHITESPACE = [
    b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"\x00", b"\xc2\xa0", b"\xe2\x80\xa8",
    b"\xef\xbb\xbf", b"\x1c", b"\x85",
]  # fmt: skip
_KEYS = [
    b"d", b"keys", b"proof", b"type", b"@context", b"name", b"id", b"credentialSubject",
    b"validUntil", b"validFrom", b"issuer", b"secretKeyMultibase", b"pro\\u006ff", b"\\u0064",
    b"\\u0040context", b"typ\\u0065", b"t\\u0000ype", b"\\ud83d\\ude00",
]  # fmt: skip


_SECRETS = [
    b'"keys": [{"d": "x"}]', b'"d": "x", "kty": "OKP"', b'"privateKeyJwk": {}',
    b'"note": "tpk_AAAAAAAAAAAAAAAAAAAA"', b'"note": " tpoat_aaaaaaaaaaaaaaaaaaaa "',
    b'"note": "tpv_bbbbbbbbbbbbbbbbbbbb"', b'"k\\u0065ys": [{"\\u0064": 1}]',
]  # fmt: skip


class Texts:
    """Hostile texts near the issued ones, from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.bases = []
        for d in BATCH:
            for t in (
                json.dumps(d).encode(),
                json.dumps(d, ensure_ascii=False, indent=1).encode(),
                json.dumps(d, separators=(",", ":")).encode(),
            ):
                self.bases.append((t, self._outside(t, b"{"), self._outside(t, b",:[]{}")))

    @staticmethod
    def _outside(raw: bytes, chars: bytes) -> list[int]:
        """Where ``chars`` occur outside the strings of ``raw``."""
        out, inside, escaped = [], False, False
        for i, c in enumerate(raw):
            if inside:
                if escaped:
                    escaped = False
                elif c == 0x5C:
                    escaped = True
                elif c == 0x22:
                    inside = False
            elif c == 0x22:
                inside = True
            elif c in chars:
                out.append(i)
        return out

    @staticmethod
    def _strings(raw: bytes) -> list[tuple[int, int]]:
        return [m.span(1) for m in re.finditer(rb'"((?:[^"\\]|\\.)*)"', raw)]

    def piece(self) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            x = rng.random()
            if x < 0.3:
                cp = rng.randrange(0x20, 0x7F)
            elif x < 0.45:
                cp = rng.choice(_ODD_POINTS)
            elif x < 0.55:
                cp = rng.randrange(0xD800, 0xE000)
            elif x < 0.75:
                cp = rng.randrange(0x80, 0x800)
            elif x < 0.9:
                cp = rng.randrange(0x800, 0x10000)
            else:
                cp = rng.randrange(0x10000, 0x110000)
            return chr(cp).encode("utf-8", "surrogatepass")
        if r < 0.6:
            x = rng.random()
            if x < 0.35:
                return (b"\\u%04x" if rng.random() < 0.5 else b"\\u%04X") % rng.randrange(0x10000)
            if x < 0.55:
                hi, lo = rng.randrange(0xD800, 0xDC00), rng.randrange(0xDC00, 0xE000)
                return (b"\\u%04x\\u%04X" if rng.random() < 0.5 else b"\\u%04X\\u%04x") % (hi, lo)
            return rng.choice(_ESCAPES + _NEAR)
        if r < 0.7:
            return bytes([rng.randrange(0, 0x20)])
        if r < 0.85:
            return rng.choice(_BYTES)
        return bytes([rng.randrange(0x20, 0x7F)])

    def body(self, n: int | None = None) -> bytes:
        count = n if n is not None else self.rng.randrange(0, 6)
        return b"".join(self.piece() for _ in range(count))

    def number(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.5:
            return str(rng.randrange(10 ** rng.randrange(1, 22))).encode()
        return rng.choice(_NUMBERS)

    def value(self, depth: int = 0) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.45 or depth > 3:
            return b'"' + self.body() + b'"'
        if r < 0.65:
            return self.number()
        if r < 0.72:
            return rng.choice([b"true", b"false", b"null", b"tru", b"nul", b"True"])
        if r < 0.86:
            items = [self.value(depth + 1) for _ in range(rng.randrange(0, 3))]
            return b"[" + b",".join(items) + b"]"
        members = [
            b'"' + self.body() + b'":' + self.value(depth + 1) for _ in range(rng.randrange(0, 3))
        ]
        return b"{" + b",".join(members) + b"}"

    @staticmethod
    def escaped(c: str) -> bytes:
        """``c`` as a JSON escape (the same value)."""
        short = {'"': b'\\"', "\\": b"\\\\", "/": b"\\/", "\b": b"\\b", "\f": b"\\f"}
        if c in short:
            return short[c]
        if ord(c) < 0x10000:
            return b"\\u%04x" % ord(c)
        v = ord(c) - 0x10000
        return b"\\u%04X\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))

    def same_value(self, raw: bytes) -> bytes:
        """``raw`` with characters of its strings escaped (json.loads reads the same value)."""
        rng = self.rng
        spans = self._strings(raw)
        b = bytearray(raw)
        for s, e in sorted(rng.sample(spans, min(len(spans), rng.randrange(1, 4))), reverse=True):
            text = raw[s:e].decode()
            if "\\" in text or not text:
                continue
            i = rng.randrange(len(text))
            b[s:e] = text[:i].encode() + self.escaped(text[i]) + text[i + 1 :].encode()
        return bytes(b)

    def __call__(self) -> bytes:
        rng = self.rng
        raw, opens, structure = rng.choice(self.bases)
        if rng.random() < 0.25:
            return self.same_value(raw)
        spans = self._strings(raw)
        edits = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            op = rng.random()
            if op < 0.05:  # a secret beside the credential (not_a_document refuses it)
                edits.append((opens[0] + 1, opens[0] + 1, rng.choice(_SECRETS) + b","))
            elif op < 0.3:  # a member after an opening brace
                at = rng.choice(opens) + 1
                key = rng.choice(_KEYS) if rng.random() < 0.4 else self.body()
                edits.append((at, at, b'"' + key + b'":' + self.value() + b","))
            elif op < 0.55:  # in a string
                s, e = rng.choice(spans)
                a = rng.randrange(s, e + 1)
                z = a if rng.random() < 0.6 else rng.randrange(a, e + 1)
                edits.append((a, z, self.body(rng.randrange(1, 4))))
            elif op < 0.7:  # beside the structure
                at = rng.choice(structure) + rng.choice((0, 1))
                edits.append((at, at, rng.choice(_WHITESPACE)))
            elif op < 0.8:  # at either end
                if rng.random() < 0.5:
                    tail = [b"{}", b"x", b",", b' {"a":1}', b"\n\n", b"]"]
                    edits.append((len(raw), len(raw), rng.choice(_WHITESPACE + tail)))
                else:
                    edits.append((0, 0, rng.choice(_WHITESPACE)))
            elif op < 0.9:  # a number
                nums = [m.span() for m in re.finditer(rb":\s*[0-9]+", raw)]
                s, e = rng.choice(nums)
                edits.append((s, e, b":" + self.number()))
            else:  # a byte
                at = rng.randrange(len(raw))
                edits.append((at, at + 1, bytes([rng.randrange(256)])))
        b = bytearray(raw)
        for s, e, rep in sorted(edits, key=lambda x: -x[0]):
            b[s:e] = rep
        return bytes(b)


def run(texts: Callable[[], bytes], stop: Callable[[int], bool]) -> dict[str, Any]:
    """Texts until ``stop(tried)``: counts, and the first differences found."""
    tried = read = answered = 0
    found: list[tuple[bytes, str]] = []
    with hooked() as calls:
        while not stop(tried):
            text = texts()
            tried += 1
            through, why = compare(text, calls)
            read += through
            answered += bool(calls) and calls[-1][0] == "root"
            if why is not None:
                found.append((text, why))
    return {"tried": tried, "read": read, "hashed_to_the_root": answered, "found": found[:5]}


def test_the_c_reads_every_text_as_the_python_path_does() -> None:
    got = run(Texts(17_3), lambda n: n >= 12_000)
    assert got["found"] == [], got["found"]
    # (not vacuous: many texts are read through to check 3, some to check 4)
    assert got["read"] >= 1_500, got
    assert got["hashed_to_the_root"] >= 150, got


def test_the_hooks_are_taken_off() -> None:
    with hooked() as calls:
        native_verify.from_bytes(json.dumps(BATCH[0]).encode())
        assert [c[0] for c in calls] == ["jcs", "root"]
    del calls[:]
    assert native_verify.from_bytes(json.dumps(BATCH[0]).encode()) is not None
    assert calls == []


if __name__ == "__main__":  # the fuzz for a CPU time: SECONDS [SEED]
    seconds = float(sys.argv[1])
    start = time.process_time()
    out = run(
        Texts(int(sys.argv[2]) if len(sys.argv) > 2 else 1),
        lambda n: time.process_time() - start >= seconds,
    )
    print({k: v for k, v in out.items() if k != "found"}, f"{time.process_time() - start:.0f} s")
    for text, why in out["found"]:
        print(why, text[:300])
    sys.exit(1 if out["found"] else 0)
