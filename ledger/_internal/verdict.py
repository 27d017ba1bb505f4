"""The verification view's codec: ``verifyCredential`` calldata and verdicts, one read or many.

`VerdictCodec` is the one decoder of the ``CredentialVerdict`` struct. It is compiled once from
the registry ABI entry and slices the fixed-layout head words directly (static fields), following
the offsets of the two strings; it checks what eth-abi checks (value widths, booleans 0/1, string
bounds, UTF-8) and builds the same `~talentproof.ledger.models.CredentialVerdict`. Anything it
does not expect raises ``LedgerError``; nothing falls back to a default. Why hand-written: the
generic eth-abi decode of this struct costs more than the JSON-RPC round trip itself. Its
reference twin is eth-abi through `talentproof.ledger.abi` (``tests/ledger/test_verdict_codec.py``
compares them; ``bench/rpc.py`` measures both).

`BatchCodec` encodes the calldata of ``VerificationBatch.verifyCredentials``
(``contracts/utils/VerificationBatch.sol``) and splits its ``bytes[]`` answer into the verdicts,
each byte for byte the answer of a separate ``verifyCredential`` call (the credentials of one
group, issuer, root, key and type, with an empty status share their group's encoding).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from talentproof.ledger.abi import canonical_type
from talentproof.ledger.errors import LedgerError
from talentproof.ledger.models import (
    AnchorRecord,
    CredentialStatusRecord,
    CredentialVerdict,
    IssuerStatus,
    StatusActor,
    snake,
)

__all__ = [
    "BATCH_ADDRESS",
    "BATCH_SIZE",
    "BatchCodec",
    "Query",
    "VerdictCodec",
    "split_bytes_array",
]

#: The five ``bytes32`` arguments of ``verifyCredential`` before ``asOf``: issuer DID hash,
#: Merkle root, credential hash, signing key, type id.
Query = tuple[bytes, bytes, bytes, bytes, bytes]

_WORD = 32


def _width(typ: str) -> int | None:
    """Bit width of a static integer-like ABI type (bool -> 1), or None if not static scalar."""
    if typ == "bool":
        return 1
    if typ.startswith("uint"):
        return int(typ[4:] or 256)
    return None


@dataclass(frozen=True)
class _Field:
    name: str  # snake_case
    kind: str  # "int", "bool", "enum" (IssuerStatus), "actor" (StatusActor), "string", "tuple"
    width: int = 256
    children: tuple[_Field, ...] = ()

    @property
    def head_words(self) -> int:
        if self.kind == "tuple":
            return sum(c.head_words for c in self.children)
        return 1


def _compile(param: Mapping[str, Any]) -> _Field:
    name = snake(str(param.get("name", "")))
    typ = str(param["type"])
    if typ == "tuple":
        children = tuple(_compile(c) for c in param["components"])
        if any(c.kind == "string" for c in children) and name:
            # a dynamic inner tuple would be encoded behind an offset: not in this view
            pass
        return _Field(name, "tuple", children=children)
    if typ == "string":
        return _Field(name, "string")
    internal = str(param.get("internalType", ""))
    if internal.startswith("enum "):
        if internal.endswith(".StatusActor"):
            return _Field(name, "actor", 8)
        if internal.endswith(".IssuerStatus"):
            return _Field(name, "enum", 8)
        raise LedgerError(f"fast codec: unknown enum {internal} for {name}")
    w = _width(typ)
    if w is None:
        raise LedgerError(f"fast codec: unsupported ABI type {typ} for {name}")
    return _Field(name, "bool" if typ == "bool" else "int", w)


def _is_dynamic(f: _Field) -> bool:
    return f.kind == "string" or (f.kind == "tuple" and any(_is_dynamic(c) for c in f.children))


class VerdictCodec:
    """Encode ``verifyCredential`` calldata and decode its result into a CredentialVerdict."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        entry = next(
            (e for e in abi if e.get("type") == "function" and e.get("name") == "verifyCredential"),
            None,
        )
        if entry is None:
            raise LedgerError("the registry ABI has no verifyCredential function")
        types = ",".join(str(p["type"]) for p in entry["inputs"])
        self.selector = keccak(text=f"verifyCredential({types})")[:4]
        if [p["type"] for p in entry["inputs"]] != ["bytes32"] * 5 + ["uint64"]:
            raise LedgerError(f"fast codec: unexpected verifyCredential inputs ({types})")
        [out] = entry["outputs"]
        self.root = _compile(out)
        for f in self.root.children:  # nested tuples must be static (inline)
            if f.kind == "tuple" and _is_dynamic(f):
                raise LedgerError(f"fast codec: dynamic nested struct {f.name}")

    def encode(
        self,
        issuer_did_hash: bytes,
        root: bytes,
        credential_hash: bytes,
        signing_key: bytes,
        type_id: bytes,
        as_of: int,
    ) -> bytes:
        """The calldata (``issuer_did_hash``: keccak256 of the credential's issuer DID)."""
        for v, what in (
            (issuer_did_hash, "issuer DID hash"),
            (root, "root"),
            (credential_hash, "credential hash"),
            (signing_key, "signing key"),
            (type_id, "type id"),
        ):
            if len(v) != 32:
                raise ValueError(f"{what} must be 32 bytes")
        if not 0 <= as_of < 2**64:
            raise ValueError("as_of must fit in uint64")
        return b"".join(
            (
                self.selector,
                issuer_did_hash,
                root,
                credential_hash,
                signing_key,
                type_id,
                as_of.to_bytes(32, "big"),
            )
        )

    def _scalar(self, data: bytes, pos: int, f: _Field) -> Any:
        word = data[pos : pos + _WORD]
        if len(word) != _WORD:
            raise LedgerError("verifyCredential result is truncated")
        value = int.from_bytes(word, "big")
        if value >> f.width:
            raise LedgerError(f"verifyCredential result: {f.name} does not fit in {f.width} bits")
        if f.kind == "bool":
            return bool(value)
        if f.kind == "enum":
            return IssuerStatus(value)
        if f.kind == "actor":
            return StatusActor(value)
        return value

    def _word64(self, data: bytes, pos: int, name: str) -> int:
        """``_scalar`` for a uint64 word, without building a field description."""
        word = data[pos : pos + _WORD]
        if len(word) != _WORD:
            raise LedgerError("verifyCredential result is truncated")
        value = int.from_bytes(word, "big")
        if value >> 64:
            raise LedgerError(f"verifyCredential result: {name} does not fit in 64 bits")
        return value

    def _string(self, data: bytes, base: int, pos: int, name: str) -> str:
        offset = self._word64(data, pos, name)
        start = base + offset
        length = self._word64(data, start, name)
        body = data[start + _WORD : start + _WORD + length]
        if len(body) != length:
            raise LedgerError(f"verifyCredential result: {name} runs past the end of the data")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LedgerError(f"verifyCredential result: {name} is not UTF-8") from exc

    def decode(self, data: bytes, block_hash: bytes = b"") -> CredentialVerdict:
        """The verdict from the eth_call result bytes (LedgerError when they do not fit)."""
        try:
            return self._decode(data, block_hash)
        except (TypeError, ValueError) as exc:  # struct and ABI out of step, unknown enum value
            raise LedgerError(f"verifyCredential result does not decode: {exc}") from exc

    def _compiled(
        self,
    ) -> tuple[int, int, struct.Struct, list[tuple[str, str, int, tuple[_Field, ...]]]]:
        """Built once: head size in words, the mask of the bits every head word must leave zero
        (above its type's width; string offsets as uint64), a struct reading the low 64 bits of
        each word, and the top-level plan (name, kind, width, children)."""
        compiled = getattr(self, "_compiled_cache", None)
        if compiled is None:
            plan = [(f.name, f.kind, f.width, f.children) for f in self.root.children]
            widths: list[int] = []
            for _, kind, width, children in plan:
                if kind == "tuple":
                    widths.extend(c.width for c in children)
                else:
                    widths.append(64 if kind == "string" else width)
            n = len(widths)
            mask = 0
            for w in widths:
                mask = (mask << 256) | (((1 << 256) - 1) ^ ((1 << w) - 1))
            compiled = (n, mask, struct.Struct(">" + "24xQ" * n), plan)
            self._compiled_cache = compiled
        return compiled

    def _decode(self, data: bytes, block_hash: bytes) -> CredentialVerdict:
        # The single output is a dynamic tuple: one offset word, then the tuple. Fast path: one
        # big-integer test proves every head word within its width (and the offsets within
        # uint64), then one struct call reads them. Anything out of range takes the word-by-word
        # path, which names the offending field.
        n_head, mask, reader, plan = self._compiled()
        base = self._word64(data, 0, "offset")
        end = base + n_head * _WORD
        if len(data) < end:
            raise LedgerError("verifyCredential result is truncated")
        head = data[base:end]
        if int.from_bytes(head, "big") & mask:
            return self._decode_checked(data, block_hash, base, plan, n_head)
        words = reader.unpack(head)
        return self._verdict(data, block_hash, base, plan, words, _converted)

    def _decode_checked(
        self,
        data: bytes,
        block_hash: bytes,
        base: int,
        plan: list[tuple[str, str, int, tuple[_Field, ...]]],
        n_head: int,
    ) -> CredentialVerdict:
        words = [
            int.from_bytes(data[i : i + _WORD], "big")
            for i in range(base, base + n_head * _WORD, _WORD)
        ]
        return self._verdict(data, block_hash, base, plan, words, _checked)

    def _verdict(
        self,
        data: bytes,
        block_hash: bytes,
        base: int,
        plan: list[tuple[str, str, int, tuple[_Field, ...]]],
        words: Sequence[int],
        convert: Callable[[int, str, str, int], Any],
    ) -> CredentialVerdict:
        """The verdict from its head ``words``, each turned into its value by ``convert``
        (`_converted` once all are proven within their widths, else `_checked`)."""
        values: dict[str, Any] = {}
        k = 0
        for name, kind, width, children in plan:
            if kind == "tuple":
                raw = {}
                for c in children:
                    raw[c.name] = convert(words[k], c.name, c.kind, c.width)
                    k += 1
                values[name] = (AnchorRecord if name == "anchor" else CredentialStatusRecord)(**raw)
            elif kind == "string":
                values[name] = self._string(data, base, base + k * _WORD, name)
                k += 1
            else:
                values[name] = convert(words[k], name, kind, width)
                k += 1
        return CredentialVerdict(**values, block_hash=block_hash)


_STATUSES = tuple(IssuerStatus)
_ACTORS = tuple(StatusActor)


def _converted(value: int, name: str, kind: str, width: int) -> Any:
    """A head word already proven within its width, as its Python value (``name`` and
    ``width`` unused: the signature of `_checked`)."""
    if kind == "int":
        return value
    if kind == "bool":
        return value == 1
    if kind == "actor":
        if value < len(_ACTORS) and _ACTORS[value].value == value:
            return _ACTORS[value]
        return StatusActor(value)  # unknown enum value: ValueError -> LedgerError in decode()
    if value < len(_STATUSES) and _STATUSES[value].value == value:
        return _STATUSES[value]
    return IssuerStatus(value)  # unknown enum value: ValueError -> LedgerError in decode()


def _checked(value: int, name: str, kind: str, width: int) -> Any:
    if value >> width:
        raise LedgerError(f"verifyCredential result: {name} does not fit in {width} bits")
    if kind == "bool":
        return bool(value)
    if kind == "enum":
        return IssuerStatus(value)
    if kind == "actor":
        return StatusActor(value)
    return value


# --------------------------------------------------------------------------- many reads, one eth_call

#: Where the ``VerificationBatch`` runtime code is placed for the call (an address no key controls;
#: any code or state there is replaced for that call only).
BATCH_ADDRESS = "0x7a1e27" + "00" * 15 + "0001"

#: Views per ``verifyCredentials`` call (calldata: 32 + 160 bytes per view): a chunk of 256
#: credentials (``talentproof.verifier.bulk.CHUNK``) with the degree-level windows the reader adds
#: for them (4 per issuer and root, `~talentproof.ledger.reader.RegistryReader.verify_credentials`)
#: for up to 16 issuers and roots. Why not 256: with one issuer and root those 4 views took a
#: second call, which cost Anvil as much as ~64 views (the call's own work; issue 13.7). 256
#: credentials of one batch and their 4 windows use ~1.9 M gas; the worst cases measured, 320
#: views of 320 anchors and 315 revoked credentials of one batch (each read in full, its status
#: read twice), 6.4 M and 7.2 M: far below the nodes' ``eth_call`` gas caps (Anvil's block gas
#: limit, 30 M; geth's 50 M).
BATCH_SIZE = 320


class BatchCodec:
    """Calldata and answer of ``VerificationBatch.verifyCredentials(registry, queries, asOf)``.

    Args:
        abi: the ``VerificationBatch`` ABI.
        runtime_code: its deployed bytecode, placed at `BATCH_ADDRESS` by a state override.
    """

    def __init__(self, abi: Sequence[Mapping[str, Any]], runtime_code: bytes) -> None:
        entry = next(
            (
                e
                for e in abi
                if e.get("type") == "function" and e.get("name") == "verifyCredentials"
            ),
            None,
        )
        if entry is None:
            raise LedgerError("the VerificationBatch ABI has no verifyCredentials function")
        inputs = [str(p["type"]) for p in entry["inputs"]]
        query = (
            [str(c["type"]) for c in entry["inputs"][1].get("components", [])]
            if len(inputs) == 3
            else []
        )
        if inputs != ["address", "tuple[]", "uint64"] or query != ["bytes32"] * 5:
            raise LedgerError(f"batch codec: unexpected verifyCredentials inputs {inputs} {query}")
        types = ",".join(canonical_type(p) for p in entry["inputs"])
        self.selector = keccak(text=f"verifyCredentials({types})")[:4]
        if not runtime_code:
            raise LedgerError("the VerificationBatch artifact has no runtime code")
        #: The ``eth_call`` state override that places the code at `BATCH_ADDRESS`.
        self.override = {BATCH_ADDRESS: {"code": "0x" + runtime_code.hex()}}

    def encode(self, registry: str, queries: Sequence[Query], as_of: int) -> bytes:
        """The calldata reading the view of every query against `registry` as of `as_of`."""
        address = bytes.fromhex(registry.removeprefix("0x"))
        if len(address) != 20:
            raise ValueError(f"registry address: expected 20 bytes, found {len(address)}")
        if not 0 <= as_of < 2**64:
            raise ValueError("as_of must fit in uint64")
        parts = [
            self.selector,
            bytes(12),
            address,
            (96).to_bytes(32, "big"),
            as_of.to_bytes(32, "big"),
            len(queries).to_bytes(32, "big"),
        ]
        for q in queries:
            if len(q) != 5 or any(len(v) != 32 for v in q):
                raise ValueError("each query must be five 32-byte values")
            parts.extend(q)
        return b"".join(parts)

    def split(self, data: bytes, count: int) -> list[bytes]:
        """The `count` raw verdicts of an answer (LedgerError when it does not fit)."""
        return split_bytes_array(data, count)


def split_bytes_array(data: bytes, count: int) -> list[bytes]:
    """The items of an ABI-encoded ``bytes[]`` return value, which must hold `count` of them.

    Checks every offset and length against the data (what ``eth_abi.decode(["bytes[]"], ...)``
    checks, but the zero padding after each item); LedgerError names what does not fit. Items
    whose offsets are equal (``VerificationBatch`` writes a group's verdict once for its
    credentials with an empty status) come back as one ``bytes`` object, cut once.
    """
    size = len(data)

    def word(pos: int) -> int:
        if pos + _WORD > size:
            raise LedgerError("batch answer: truncated")
        return int.from_bytes(data[pos : pos + _WORD], "big")

    base = word(0)
    n = word(base)
    if n != count:
        raise LedgerError(f"batch answer: expected {count} verdicts, found {n}")
    heads = base + _WORD
    if heads + n * _WORD > size:
        raise LedgerError("batch answer: truncated")
    out: list[bytes] = []
    cut: dict[int, bytes] = {}  # by offset: a shared item is checked and cut once
    for i in range(n):
        start = heads + word(heads + i * _WORD)
        item = cut.get(start)
        if item is None:
            length = word(start)
            if length > size - start - _WORD:
                raise LedgerError("batch answer: a verdict runs past the end")
            item = cut[start] = data[start + _WORD : start + _WORD + length]
        out.append(item)
    return out
