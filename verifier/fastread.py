"""A fast path for the verification view: calldata and result codec compiled from the ABI.

``RegistryReader.verify_credential`` (talentproof.ledger) encodes with eth-abi and decodes the
``CredentialVerdict`` struct generically; that costs more than the JSON-RPC round trip itself. This
module compiles, once, from the same ABI entry, a codec that slices the fixed-layout head words
directly (static fields) and follows the offsets of the two strings. It checks what eth-abi
checks (value widths, booleans 0/1, string bounds, UTF-8) and builds the same
:class:`~talentproof.ledger.models.CredentialVerdict`. Anything it does not expect raises
``LedgerError``; nothing falls back to a default.

The reads go through the reader's JSON-RPC batch transport (one persistent HTTP connection):
``eth_call`` and ``eth_getBlockByNumber`` at the same block tag, so the verdict is paired with the
hash of the block it was read at, exactly as ``RegistryReader.verify_credential`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import (
    AnchorRecord,
    CredentialStatusRecord,
    CredentialVerdict,
    IssuerStatus,
    snake,
)

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
    kind: str  # "int", "bool", "enum", "string", "tuple"
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
    if str(param.get("internalType", "")).startswith("enum "):
        return _Field(name, "enum", 8)
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
            (e for e in abi if e.get("type") == "function" and e.get("name") == "verifyCredential"), None
        )
        if entry is None:
            raise LedgerError("the registry ABI has no verifyCredential function")
        from eth_utils import keccak

        types = ",".join(str(p["type"]) for p in entry["inputs"])
        self.selector = keccak(text=f"verifyCredential({types})")[:4]
        if [p["type"] for p in entry["inputs"]] != ["bytes32"] * 4 + ["uint64"]:
            raise LedgerError(f"fast codec: unexpected verifyCredential inputs ({types})")
        [out] = entry["outputs"]
        self.root = _compile(out)
        for f in self.root.children:  # nested tuples must be static (inline)
            if f.kind == "tuple" and _is_dynamic(f):
                raise LedgerError(f"fast codec: dynamic nested struct {f.name}")

    def encode(self, root: bytes, credential_hash: bytes, signing_key: bytes, type_id: bytes, as_of: int) -> bytes:
        """The calldata."""
        for v, what in ((root, "root"), (credential_hash, "credential hash"), (signing_key, "signing key"), (type_id, "type id")):
            if len(v) != 32:
                raise ValueError(f"{what} must be 32 bytes")
        if not 0 <= as_of < 2**64:
            raise ValueError("as_of must fit in uint64")
        return b"".join((self.selector, root, credential_hash, signing_key, type_id, as_of.to_bytes(32, "big")))

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
        return value

    def _string(self, data: bytes, base: int, pos: int, name: str) -> str:
        offset = self._scalar(data, pos, _Field(name, "int", 64))
        start = base + offset
        length = self._scalar(data, start, _Field(name, "int", 64))
        body = data[start + _WORD : start + _WORD + length]
        if len(body) != length:
            raise LedgerError(f"verifyCredential result: {name} runs past the end of the data")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LedgerError(f"verifyCredential result: {name} is not UTF-8") from exc

    def _static_tuple(self, data: bytes, pos: int, f: _Field) -> dict[str, Any]:
        out = {}
        for c in f.children:
            out[c.name] = self._scalar(data, pos, c)
            pos += _WORD
        return out

    def decode(self, data: bytes, block_hash: bytes = b"") -> CredentialVerdict:
        """The verdict from the eth_call result bytes (LedgerError when they do not fit)."""
        try:
            return self._decode(data, block_hash)
        except (TypeError, ValueError) as exc:  # struct and ABI out of step, unknown enum value
            raise LedgerError(f"verifyCredential result does not decode: {exc}") from exc

    def _decode(self, data: bytes, block_hash: bytes) -> CredentialVerdict:
        # the single output is a dynamic tuple: one offset word, then the tuple
        base = self._scalar(data, 0, _Field("offset", "int", 64))
        pos = base
        values: dict[str, Any] = {}
        for f in self.root.children:
            if f.kind == "tuple":
                raw = self._static_tuple(data, pos, f)
                values[f.name] = (AnchorRecord if f.name == "anchor" else CredentialStatusRecord)(**raw)
                pos += f.head_words * _WORD
            elif f.kind == "string":
                values[f.name] = self._string(data, base, pos, f.name)
                pos += _WORD
            else:
                values[f.name] = self._scalar(data, pos, f)
                pos += _WORD
        return CredentialVerdict(**values, block_hash=block_hash)


def _codec_for(reader: Any) -> VerdictCodec:
    codec = getattr(reader, "_talentproof_fast_codec", None)
    if codec is None:
        codec = VerdictCodec(reader.abi.abi if hasattr(reader.abi, "abi") else reader.abi)
        reader._talentproof_fast_codec = codec
    return codec


def supports(reader: Any) -> bool:
    """True when ``reader`` is a RegistryReader whose batch transport this module can use."""
    return hasattr(reader, "_batch") and hasattr(reader, "registry")


def read_many(
    reader: Any, queries: Sequence[tuple[bytes, bytes, bytes, bytes]], as_of: int, block: int | str
) -> list[CredentialVerdict]:
    """Verdicts for many credentials, all at one block, in one JSON-RPC batch."""
    if not queries:
        return []
    codec = _codec_for(reader)
    tag = hex(block) if isinstance(block, int) else block
    calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [tag, False])]
    to = reader.registry
    for q in queries:
        calls.append(("eth_call", [{"to": to, "data": "0x" + codec.encode(*q, int(as_of)).hex()}, tag]))
    header, *results = reader._batch(calls)
    if not isinstance(header, dict):
        raise ChainUnavailable(f"block {tag} not found on {reader.rpc_url}")
    number = int(header["number"], 16)
    block_hash = bytes.fromhex(str(header["hash"]).removeprefix("0x"))
    out = []
    for raw in results:
        data = bytes.fromhex(str(raw).removeprefix("0x"))
        if not data:
            raise LedgerError(f"verifyCredential returned no data: is the registry at {to} on this chain?")
        verdict = codec.decode(data, block_hash)
        if verdict.block_number != number:
            raise _Moved(number, verdict.block_number)
        out.append(verdict)
    return out


class _Moved(LedgerError):
    def __init__(self, header: int, answered: int) -> None:
        super().__init__(f"node answered block {answered} for a call paired with block {header}")


def read_one(reader: Any, query: tuple[bytes, bytes, bytes, bytes], as_of: int, block: int | str) -> CredentialVerdict:
    """One verdict and the hash of its block (retries when "latest" moved between the two calls)."""
    for _ in range(5):
        try:
            return read_many(reader, [query], as_of, block)[0]
        except _Moved:
            if block != "latest":
                raise
    raise ChainUnavailable("verifyCredential: the chain head kept moving; could not pair the answer with its block")
