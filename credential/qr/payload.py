"""The TP1 QR payload format: a versioned, self-contained, compact encoding of an anchored credential or a
presentation, carried in QR alphanumeric mode.

Text form (format version 1): ``"TP1:" + Base45(payload)`` (Base45 as RFC 9285 / the EU DCC;
every character is in the QR alphanumeric set, so the whole text is one alphanumeric segment).

Binary payload (all integers are unsigned LEB128 varints)::

    kind           1 byte: the kind in the low 4 bits (1 = credential, 2 = presentation), the
                   dictionary version minus 1 in the high 4 bits (0x01/0x02: `ZDICT_V1`, the
                   payloads first printed; 0x11/0x12: `ZDICT_V2`, written since)
    chains         varint count, then per chain: chainId varint, registry 20 bytes
    records        varint count (1 for a credential), then per credential:
        flags      1 byte: bit0 anchored, bit1 proofValue as raw bytes, bit2 did:key
                   verification method as raw key, bit3 subject id = the presentation's holder,
                   bit4 standard proof, bit5 verification method ``<issuer>#<key>``, bit6
                   (dictionary version 2, presentations only) merkleRoot implied, bit7
                   (dictionary version 2) ``urn:uuid:`` id as 16 raw bytes
        anchor     (bit0) chain index varint, merkleRoot 32 (absent with bit6), leafIndex
                   varint, treeSize varint, path length 1 byte, path hashes 32 each
        signature  (bit1) 64 bytes
        key        (bit2) 32 bytes
        created    (bit4) varint UNIX seconds of the standard proof
        id         (bit7, dictionary version 2) the 16 bytes of a ``urn:uuid:`` id (lowercase,
                   the document's second key, after @context)
    vp proof       (presentation only) flags 1 byte (bits 1, 2), signature, key
    json           raw DEFLATE (zlib wbits -15), with the preset dictionary of the payload's
                   dictionary version (`ZDICTS`), of the JSON left over (compact, keys as
                   given): for a credential its residual document; for a presentation
                   ``[vp residual, credential residuals...]``

A residual document is the document without the anchor entry, without ``proofValue`` and
without a did:key ``verificationMethod`` when those are carried as raw bytes. Decoding rebuilds
the exact JSON, byte for byte (key order included), so signatures and credential hashes verify on
the decoded document: a standard proof is one in `integrity.sign`'s key order, last in its
document; a raw part of another proof leaves an empty text in its place unless it ends the
object; an implied subject id or holder is one in the place the decoder restores it to; with
dictionary version 2 a presentation's residual keeps ``"verifiableCredential": 0`` in the
credentials' place (version 1 put them before the proof).

An implied merkleRoot (bit6) is the root the credential's own hash and inclusion path lead to;
the encoder implies it only in a presentation whose proof value is carried (the holder proof
covers every byte of every credential, roots included, so a changed path still fails that proof
as before) and only when the credential's root is that root. A single credential, or one in an
unsigned presentation, carries its root, so a changed path there fails the verifier's inclusion
check against the anchored root.

Decoding refuses garbage (`GarbagePayload`), truncated (`TruncatedPayload`), oversized text or
decompressed content (`OversizedPayload`, bounded decompression) and unknown versions
(`UnknownPayloadVersion`). `encode_payload` refuses a payload that does not fit one QR code at
error correction M (`PayloadTooLargeForQR`, with the excess).
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .. import jsonread
from .._base58 import b58decode, b58encode
from .._zdict_v1 import ZDICT_V1
from .._zdict_v2 import ZDICT_V2
from ..anchor import AnchorProof, attach_anchor, split_anchor
from ..errors import (
    AnchorFormatError,
    CredentialError,
    GarbagePayload,
    OversizedPayload,
    QRPayloadError,
    TruncatedPayload,
    UnknownPayloadVersion,
)
from ..keys import ED25519_PUB_HEADER
from ..merkle import InclusionProof, credential_hash, root_from_inclusion
from .base45 import b45decode, b45encode
from .image import check_fits

__all__ = [
    "DICT_VERSION",
    "FORMAT_VERSION",
    "MAX_JSON_BYTES",
    "MAX_TEXT_CHARS",
    "PREFIX",
    "ZDICT",
    "ZDICTS",
    "ZDICT_V2",
    "decode_payload",
    "encode_payload",
    "to_checksum_address",
]

FORMAT_VERSION = 1
PREFIX = f"TP{FORMAT_VERSION}:"
_PREFIX_RE = re.compile(r"TP([0-9]+):")
KIND_CREDENTIAL = 1
KIND_PRESENTATION = 2
MAX_JSON_BYTES = 64 * 1024  # bound on decompressed JSON (decompression bombs)
MAX_TEXT_CHARS = 7089  # the most any QR code holds (numeric, version 40-L); anything longer is junk
MAX_RECORDS = 16

# The preset DEFLATE dictionaries by dictionary version (frozen; see _zdict_v1, _zdict_v2): the
# payload's first byte names its version. `encode_payload` writes DICT_VERSION. `ZDICT` stays the
# dictionary of version 1 (the kind bytes 1 and 2 of the first payloads).
ZDICT = ZDICT_V1
ZDICTS = {1: ZDICT_V1, 2: ZDICT_V2}
DICT_VERSION = 2


# --- binary helpers ---------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        raise QRPayloadError(f"cannot encode negative integer {n}")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise TruncatedPayload(
                f"payload ends inside {what}: needs {n} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str) -> int:
        n = shift = 0
        while True:
            b = self.byte(what)
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 63:
                raise GarbagePayload(f"{what}: varint longer than 64 bits")

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


_F_ANCHOR, _F_SIG, _F_KEY, _F_HOLDER, _F_STD, _F_VM_ISSUER, _F_ROOT, _F_UUID = (
    1,
    2,
    4,
    8,
    16,
    32,
    64,
    128,
)
_UUID_ID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ALL_FLAGS = _F_ANCHOR | _F_SIG | _F_KEY | _F_HOLDER | _F_STD | _F_VM_ISSUER  # version 1


def _issuer_id(doc: Mapping[str, Any]) -> str | None:
    issuer = doc.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _multikey_raw(text: str) -> bytes | None:
    """The 32 key bytes of a canonical ``z6Mk…`` Multikey, else None."""
    if not text.startswith("z"):
        return None
    try:
        data = b58decode(text[1:])
    except ValueError:
        return None
    if len(data) == 34 and data[:2] == ED25519_PUB_HEADER and "z" + b58encode(data) == text:
        return data[2:]
    return None


_CREATED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _split_proof(doc: dict[str, Any], purpose: str, binding: bool) -> tuple[int, bytes]:
    """Take the binary parts of ``doc['proof']`` out of the JSON (``doc`` is changed).

    proofValue -> 64 raw bytes (_F_SIG); a did:key verification method -> 32 raw bytes
    (_F_KEY); a proof that is exactly the standard eddsa-jcs-2022 proof of ``purpose`` with the
    document's @context, its keys in `_std_order`, last in the document -> removed from the JSON,
    ``created`` as varint seconds and (for a presentation, ``binding``) challenge and domain as
    length-prefixed UTF-8 (_F_STD). Otherwise the proof stays in the JSON, its keys in their
    order: a raw part leaves an empty text in its place unless it ends the object (the decoder
    appends the method, then the value), so the decoded JSON is the same, byte for byte.
    """
    proof = doc.get("proof")
    if not isinstance(proof, dict):
        return 0, b""
    order = list(proof)
    proof = dict(proof)
    flags, raw = 0, b""
    value = proof.get("proofValue")
    if isinstance(value, str) and value.startswith("z"):
        try:
            sig = b58decode(value[1:])
        except ValueError:
            sig = b""
        if len(sig) == 64 and "z" + b58encode(sig) == value:
            flags |= _F_SIG
            raw += sig
            del proof["proofValue"]
    vm = proof.get("verificationMethod")
    if isinstance(vm, str) and "#" in vm:
        base, _, frag = vm.partition("#")
        key = _multikey_raw(frag)
        if key is not None and base == "did:key:" + frag:
            flags |= _F_KEY
        elif key is not None and base == _issuer_id(doc):
            flags |= _F_KEY | _F_VM_ISSUER  # "<issuer id>#<Multikey>" (TalentProof issuers)
        if flags & _F_KEY:
            raw += key  # type: ignore[operator]
            del proof["verificationMethod"]
    std_keys = {"type", "cryptosuite", "created", "proofPurpose", "@context"}
    if binding:
        std_keys |= {"challenge", "domain"}
    created = proof.get("created")
    if (
        flags & _F_SIG
        and flags & _F_KEY
        and set(proof) == std_keys
        and order == _std_order(binding)
        and list(doc)[-1] == "proof"
        and proof["type"] == "DataIntegrityProof"
        and proof["cryptosuite"] == "eddsa-jcs-2022"
        and proof["proofPurpose"] == purpose
        and proof["@context"] == doc.get("@context")
        and isinstance(created, str)
        and _CREATED.fullmatch(created)
        and (
            not binding
            or (isinstance(proof["challenge"], str) and isinstance(proof["domain"], str))
        )
    ):
        try:
            moment = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            moment = None
        if moment is not None and moment >= _EPOCH:
            flags |= _F_STD
            raw += _varint(int((moment - _EPOCH).total_seconds()))
            if binding:
                for text in (proof["challenge"], proof["domain"]):
                    data = text.encode("utf-8")
                    raw += _varint(len(data)) + data
            del doc["proof"]
            return flags, raw
    taken = [k for k, f in (("verificationMethod", _F_KEY), ("proofValue", _F_SIG)) if flags & f]
    keep = order
    for n in (2, 1):  # the raw parts ending the object need no place kept
        if (
            len(order) >= n
            and set(order[-n:]) <= set(taken)
            and (_restored_order(order[:-n], flags) == order)
        ):
            keep = order[:-n]
            break
    doc["proof"] = {k: proof.get(k, "") for k in keep}
    return flags, raw


def _std_order(binding: bool) -> list[str]:
    """The key order of a standard proof (as `integrity.sign` writes it)."""
    return [
        "type",
        "cryptosuite",
        "created",
        "verificationMethod",
        "proofPurpose",
        *(("challenge", "domain") if binding else ()),
        "@context",
        "proofValue",
    ]


def _restored_order(keys: list[str], flags: int) -> list[str]:
    """The key order `_restore_proof` gives a proof object residual with ``keys``."""
    out = list(keys)
    for key, flag in (("verificationMethod", _F_KEY), ("proofValue", _F_SIG)):
        if flags & flag and key not in out:
            out.append(key)
    return out


def _read_proof(r: _Reader, flags: int, binding: bool, what: str) -> tuple[Any, ...]:
    sig = r.take(64, f"{what} signature") if flags & _F_SIG else b""
    key = r.take(32, f"{what} public key") if flags & _F_KEY else b""
    created = challenge = domain = None
    if flags & _F_STD:
        if not (flags & _F_SIG and flags & _F_KEY):
            raise GarbagePayload(f"{what}: a standard proof needs its signature and key")
        created = r.varint(f"{what} created")
        if created >= 2**40:
            raise GarbagePayload(f"{what}: created time {created} out of range")
        if binding:
            challenge = _text(r, f"{what} challenge")
            domain = _text(r, f"{what} domain")
    return sig, key, created, challenge, domain


def _text(r: _Reader, what: str) -> str:
    n = r.varint(f"{what} length")
    if n > 1024:
        raise GarbagePayload(f"{what}: {n} bytes exceeds the limit 1024")
    try:
        return r.take(n, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GarbagePayload(f"{what} is not UTF-8") from exc


def _restore_proof(doc: Any, flags: int, parts: tuple[Any, ...], purpose: str) -> None:
    sig, key, created, challenge, domain = parts
    if not flags & (_F_SIG | _F_KEY | _F_STD):
        return
    if flags & _F_STD:
        if "proof" in doc:
            raise GarbagePayload("payload has a standard proof and a proof object")
        proof: dict[str, Any] = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": (_EPOCH + timedelta(seconds=created)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verificationMethod": "",  # its place in `_std_order` (filled below)
            "proofPurpose": purpose,
        }
        if challenge is not None:
            proof["challenge"] = challenge
            proof["domain"] = domain
        if "@context" not in doc:
            raise GarbagePayload("payload has a standard proof but its document has no @context")
        proof["@context"] = doc["@context"]
        doc["proof"] = proof
    proof = doc.get("proof")
    if not isinstance(proof, dict):
        raise GarbagePayload("payload carries a signature but its document has no proof object")
    if flags & _F_KEY:
        mb = "z" + b58encode(ED25519_PUB_HEADER + key)
        if flags & _F_VM_ISSUER:
            issuer = _issuer_id(doc)
            if issuer is None:
                raise GarbagePayload("verification method names the issuer, which is missing")
            proof["verificationMethod"] = f"{issuer}#{mb}"
        else:
            proof["verificationMethod"] = f"did:key:{mb}#{mb}"
    if flags & _F_SIG:
        proof["proofValue"] = "z" + b58encode(sig)


def _compress(obj: Any, zdict: bytes = ZDICTS[DICT_VERSION]) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return c.compress(orjson.dumps(obj)) + c.flush()


def _decompress(data: bytes, zdict: bytes) -> Any:
    d = zlib.decompressobj(-15, zdict=zdict)
    try:
        out = d.decompress(data, MAX_JSON_BYTES)
    except zlib.error as exc:
        raise GarbagePayload(f"payload content is not a valid DEFLATE stream: {exc}") from exc
    if d.unconsumed_tail:
        raise OversizedPayload(
            f"payload content decompresses to more than {MAX_JSON_BYTES} bytes (refused)"
        )
    if not d.eof:
        raise TruncatedPayload("payload content ends before the end of its DEFLATE stream")
    if d.unused_data:
        raise GarbagePayload(f"{len(d.unused_data)} stray bytes after the payload content")
    try:
        doc = orjson.loads(out)
    except orjson.JSONDecodeError as exc:
        raise GarbagePayload(f"payload content is not JSON: {exc}") from exc
    if jsonread.vouches(out, doc):  # (the C guard, or its Python twin without the build)
        return doc
    return _content_reference(out)


def _content_reference(out: bytes) -> Any:
    """The payload content as the verifier's JSON inputs are read (``verifier.engine.parse_json``):
    a member given twice is refused, as in a JSON file (orjson keeps the last value, a parser
    keeping the first would read another document), an integer beyond 64 bits kept exact.
    What `_decompress` answers when ``jsonread.vouches`` cannot prove orjson's parse equal to
    this one (tests/security/test_attack_fastpath_qr_duplicate.py)."""
    try:
        return jsonread.loads(out)
    except jsonread.DuplicateKeyError as exc:
        raise GarbagePayload(f"payload content holds the key {exc.key!r} twice") from None
    except (ValueError, RecursionError) as exc:
        raise GarbagePayload(f"payload content is not JSON: {exc}") from exc


# --- encode / decode --------------------------------------------------------------------------


def encode_payload(doc: Mapping[str, Any], *, max_version: int = 40) -> str:
    """The QR text of an anchored (or just signed) credential, or of a presentation.

    Raises `PayloadTooLargeForQR` when the text does not fit one QR code of version
    ``<= max_version`` at error correction M.
    """
    if not isinstance(doc, Mapping):
        raise QRPayloadError(
            f"expected a credential or presentation object, found {type(doc).__name__}"
        )
    types = doc.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    chains: list[tuple[int, str, int]] = []  # (chainId, registry, spelling)
    body = bytearray()

    def record(cred: Mapping[str, Any], holder: str | None, signed_vp: bool) -> dict[str, Any]:
        try:
            residual, anchor = split_anchor(cred)
        except AnchorFormatError as exc:
            raise QRPayloadError(f"cannot encode: {exc}") from exc
        root_implied = (
            signed_vp and anchor is not None and _root_of(residual, anchor) == (anchor.merkle_root)
        )
        flags, raw = _split_proof(residual, "assertionMethod", False)
        subject = residual.get("credentialSubject")
        if (
            holder is not None
            and isinstance(subject, dict)
            and subject.get("id") == holder
            and next(iter(subject)) == "id"
        ):  # restored first
            subject = dict(subject)
            del subject["id"]
            residual["credentialSubject"] = subject
            flags |= _F_HOLDER
        head = bytearray()
        if anchor is not None:
            flags |= _F_ANCHOR
            lower = anchor.registry.lower()
            spelling = (
                _SPELL_EIP55 if anchor.registry == to_checksum_address(lower) else (_SPELL_LOWER)
            )
            binding = (anchor.chain_id, lower, spelling)
            if binding not in chains:
                chains.append(binding)
            if root_implied:
                flags |= _F_ROOT
                head += _varint(chains.index(binding))
            else:
                head += _varint(chains.index(binding)) + anchor.merkle_root
            head += _varint(anchor.leaf_index) + _varint(anchor.tree_size)
            head += bytes([len(anchor.path)]) + b"".join(anchor.path)
            if anchor.registry not in (lower, to_checksum_address(lower)):
                residual["_registry"] = anchor.registry  # an unusual spelling, kept verbatim
        cid = residual.get("id")
        if (
            isinstance(cid, str)
            and _UUID_ID.fullmatch(cid)
            and list(residual)[:2] == ["@context", "id"]
        ):  # restored second, after @context
            flags |= _F_UUID
            raw += bytes.fromhex(cid[9:].replace("-", ""))
            del residual["id"]
        body.append(flags)
        body.extend(head)
        body.extend(raw)
        return residual

    if "VerifiablePresentation" in types:
        kind = KIND_PRESENTATION
        creds = doc.get("verifiableCredential", [])
        if isinstance(creds, Mapping):
            creds = [creds]
        if len(creds) > MAX_RECORDS:
            raise QRPayloadError(f"a presentation QR holds at most {MAX_RECORDS} credentials")
        # the credentials' place is kept by a 0 (or, with no such key, they go before the proof)
        vp = {k: 0 if k == "verifiableCredential" else v for k, v in doc.items()}
        vp_flags, vp_raw = _split_proof(vp, "authentication", True)
        if vp_flags & _F_VM_ISSUER:  # not expected for a presentation: keep it verbatim
            vp = {k: 0 if k == "verifiableCredential" else v for k, v in doc.items()}
            vp_flags, vp_raw = 0, b""
        holder = vp.get("holder")
        keys = list(vp)
        before = keys[: keys.index("holder")] if "holder" in keys else []
        if (
            vp_flags & _F_KEY
            and holder
            == "did:key:z"
            + b58encode(ED25519_PUB_HEADER + vp_raw[64 if vp_flags & _F_SIG else 0 :][:32])
            and before == [k for k in keys if k in _VP_HEAD]
        ):  # restored after @context, id, type
            del vp["holder"]
            vp_flags |= _F_HOLDER
        else:
            holder = None
        # roots are implied only under a holder signature (which covers them)
        residuals = [record(c, holder, bool(vp_flags & _F_SIG)) for c in creds]
        tail = bytes([vp_flags]) + vp_raw
        content: Any = [vp, *residuals]
        count = len(residuals)
    else:
        kind = KIND_CREDENTIAL
        content = record(doc, None, False)
        tail = b""
        count = 1
    header = bytearray([kind | (DICT_VERSION - 1) << 4]) + _varint(len(chains))
    for chain_id, registry, spelling in chains:
        header += _varint(chain_id) + bytes([spelling]) + bytes.fromhex(registry[2:])
    payload = (
        bytes(header)
        + _varint(count)
        + bytes(body)
        + tail
        + _compress(content, ZDICTS[DICT_VERSION])
    )
    text = PREFIX + b45encode(payload)
    check_fits(text, max_version=max_version)
    return text


_SPELL_LOWER, _SPELL_EIP55 = 0, 1
_VP_HEAD = ("@context", "id", "type")  # the keys an implied holder follows


def _root_of(signed: Mapping[str, Any], anchor: AnchorProof) -> bytes | None:
    """The root ``anchor``'s path leads to from the credential ``signed`` (without its anchor),
    or None when the path does not fit its tree or the document cannot be hashed."""
    try:
        return root_from_inclusion(credential_hash(signed), anchor.inclusion)
    except (CredentialError, ValueError, TypeError):
        return None


def to_checksum_address(address: str) -> str:
    """The EIP-55 mixed-case spelling of a 0x address.

    Hand-written (8 lines over pycryptodome's keccak): `eth_utils.to_checksum_address` would pull
    the eth stack into the pure `credential` package for one checksum.
    """
    # pycryptodome: keccak-256 (not NIST SHA3-256); ~14 ms to import, only EIP-55 needs it
    from Crypto.Hash import keccak  # noqa: PLC0415 (optional heavy import, first use)

    lower = address.lower()[2:]
    digest = keccak.new(digest_bits=256, data=lower.encode("ascii")).hexdigest()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, digest[:40], strict=True)
    )


def decode_payload(text: str) -> dict[str, Any]:
    """The credential or presentation a QR text carries (with its anchor proof re-attached)."""
    if not isinstance(text, str):
        raise GarbagePayload(f"expected QR text, found {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise OversizedPayload(
            f"QR text of {len(text)} characters exceeds the {MAX_TEXT_CHARS} any QR code holds"
        )
    match = _PREFIX_RE.match(text)
    if match is None:
        raise GarbagePayload(
            f"not a TalentProof payload: expected prefix {PREFIX!r}, found {text[:8]!r}"
        )
    if int(match.group(1)) != FORMAT_VERSION:
        raise UnknownPayloadVersion(
            f"payload format version {match.group(1)} is not supported (this decoder reads "
            f"version {FORMAT_VERSION})"
        )
    payload = b45decode(text[match.end() :])
    r = _Reader(payload)
    first = r.byte("payload kind")
    kind, dict_version = first & 0x0F, (first >> 4) + 1
    if kind not in (KIND_CREDENTIAL, KIND_PRESENTATION):
        raise GarbagePayload(f"payload kind: expected 1 or 2, found {kind}")
    if dict_version not in ZDICTS:
        raise UnknownPayloadVersion(
            f"payload dictionary version {dict_version} is not supported (this decoder reads "
            f"versions {', '.join(map(str, ZDICTS))})"
        )
    allowed = _ALL_FLAGS
    if dict_version >= 2:
        allowed |= _F_UUID | (_F_ROOT if kind == KIND_PRESENTATION else 0)
    chains = []
    for _ in range(_bounded(r.varint("chain count"), MAX_RECORDS, "chain count")):
        chain_id = r.varint("chain id")
        spelling = r.byte("registry spelling")
        registry = "0x" + r.take(20, "registry address").hex()
        if spelling == _SPELL_EIP55:
            registry = to_checksum_address(registry)
        elif spelling != _SPELL_LOWER:
            raise GarbagePayload(f"registry spelling: expected 0 or 1, found {spelling}")
        chains.append((chain_id, registry))
    count = _bounded(r.varint("record count"), MAX_RECORDS, "record count")
    if kind == KIND_CREDENTIAL and count != 1:
        raise GarbagePayload(f"a credential payload holds 1 record, found {count}")
    records = []
    for i in range(count):
        flags = r.byte(f"record {i} flags")
        if (
            flags & ~allowed
            or (kind == KIND_CREDENTIAL and flags & _F_HOLDER)
            or (flags & _F_ROOT and not flags & _F_ANCHOR)
        ):
            raise GarbagePayload(f"record {i}: unknown flags {flags:#04x}")
        anchor = None
        if flags & _F_ANCHOR:
            index = r.varint("chain index")
            if index >= len(chains):
                raise GarbagePayload(f"record {i}: chain index {index} of {len(chains)} chains")
            root = None if flags & _F_ROOT else r.take(32, "merkle root")
            leaf_index = r.varint("leaf index")
            tree_size = r.varint("tree size")
            path_len = r.byte("path length")
            path = tuple(r.take(32, "merkle path") for _ in range(path_len))
            anchor = (chains[index], root, leaf_index, tree_size, path)
        parts = _read_proof(r, flags, False, f"record {i}")
        cid = None
        if flags & _F_UUID:
            cid = "urn:uuid:" + str(uuid.UUID(bytes=r.take(16, f"record {i} id")))
        records.append((flags, anchor, parts, cid))
    vp_flags, vp_parts = 0, None
    if kind == KIND_PRESENTATION:
        vp_flags = r.byte("presentation proof flags")
        if vp_flags & ~(_F_SIG | _F_KEY | _F_HOLDER | _F_STD) or (
            vp_flags & _F_HOLDER and not vp_flags & _F_KEY
        ):  # a presentation's method is the holder's did:key (never the issuer form)
            raise GarbagePayload(f"presentation proof: unknown flags {vp_flags:#04x}")
        vp_parts = _read_proof(r, vp_flags, True, "presentation proof")
        if not vp_flags & _F_SIG and any(f & _F_ROOT for f, *_ in records):
            raise GarbagePayload("a credential's root is implied but the presentation is unsigned")
    content = _decompress(r.rest(), ZDICTS[dict_version])
    if kind == KIND_CREDENTIAL:
        if not isinstance(content, dict):
            raise GarbagePayload("credential payload content is not a JSON object")
        return _rebuild(content, *records[0], holder=None)
    if (
        not isinstance(content, list)
        or len(content) != count + 1
        or not all(isinstance(c, dict) for c in content)
    ):
        raise GarbagePayload(f"presentation payload content: expected {count + 1} JSON objects")
    vp = content[0]
    assert vp_parts is not None
    # dictionary version 2: the credentials' place is a 0 in the presentation's JSON
    placed = dict_version >= 2 and "verifiableCredential" in vp
    if placed and vp["verifiableCredential"] != 0:
        raise GarbagePayload("presentation content: the credentials' place is not 0")
    holder = None
    if vp_flags & _F_HOLDER:
        if "holder" in vp:
            raise GarbagePayload("presentation holder is both implied and given")
        holder = "did:key:z" + b58encode(ED25519_PUB_HEADER + vp_parts[1])
        vp = {**{k: v for k, v in vp.items() if k in _VP_HEAD}, "holder": holder, **vp}
    _restore_proof(vp, vp_flags, vp_parts, "authentication")
    creds = [
        _rebuild(c, f, a, p, cid, holder=holder)
        for c, (f, a, p, cid) in zip(content[1:], records, strict=True)
    ]
    if placed:
        vp["verifiableCredential"] = creds
        return vp  # type: ignore[no-any-return]
    out = {}
    for k, v in vp.items():  # verifiableCredential before proof
        if k == "proof":
            out["verifiableCredential"] = creds
        out[k] = v
    out.setdefault("verifiableCredential", creds)
    return out


def _bounded(n: int, limit: int, what: str) -> int:
    if n > limit:
        raise GarbagePayload(f"{what}: {n} exceeds the limit {limit}")
    return n


def _rebuild(
    doc: dict[str, Any],
    flags: int,
    anchor: Any,
    parts: tuple[Any, ...],
    cid: str | None,
    *,
    holder: str | None,
) -> dict[str, Any]:
    registry_spelling = doc.pop("_registry", None)
    if cid is not None:  # the urn:uuid id, second after @context
        if "id" in doc or next(iter(doc), None) != "@context":
            raise GarbagePayload("credential id is packed but cannot be restored")
        doc = {"@context": doc["@context"], "id": cid, **doc}
    if flags & _F_HOLDER:
        subject = doc.get("credentialSubject")
        if holder is None or not isinstance(subject, dict) or "id" in subject:
            raise GarbagePayload("credential subject id is implied but cannot be restored")
        doc["credentialSubject"] = {"id": holder, **subject}
    _restore_proof(doc, flags, parts, "assertionMethod")
    if anchor is None:
        return doc
    (chain_id, registry), root, leaf_index, tree_size, path = anchor
    if isinstance(registry_spelling, str) and registry_spelling.lower() == registry.lower():
        registry = registry_spelling
    if root is None:  # implied: the root this credential's hash and path lead to
        try:
            root = root_from_inclusion(
                credential_hash(doc), InclusionProof(leaf_index, tree_size, path)
            )
        except (CredentialError, ValueError, TypeError) as exc:
            raise GarbagePayload(f"payload anchor proof leads to no root: {exc}") from exc
    try:
        proof = AnchorProof(chain_id, registry, root, leaf_index, tree_size, path)
        return attach_anchor(doc, proof)
    except AnchorFormatError as exc:
        raise GarbagePayload(f"payload anchor proof is malformed: {exc}") from exc
