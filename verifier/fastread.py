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

import os
import socket
import struct
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import (
    AnchorRecord,
    CredentialStatusRecord,
    CredentialVerdict,
    IssuerStatus,
    StatusActor,
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
            (e for e in abi if e.get("type") == "function" and e.get("name") == "verifyCredential"), None
        )
        if entry is None:
            raise LedgerError("the registry ABI has no verifyCredential function")
        from eth_utils import keccak

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
        self, issuer_did_hash: bytes, root: bytes, credential_hash: bytes, signing_key: bytes, type_id: bytes, as_of: int
    ) -> bytes:
        """The calldata (``issuer_did_hash``: keccak256 of the credential's issuer DID)."""
        for v, what in (
            (issuer_did_hash, "issuer DID hash"), (root, "root"), (credential_hash, "credential hash"),
            (signing_key, "signing key"), (type_id, "type id"),
        ):
            if len(v) != 32:
                raise ValueError(f"{what} must be 32 bytes")
        if not 0 <= as_of < 2**64:
            raise ValueError("as_of must fit in uint64")
        return b"".join(
            (self.selector, issuer_did_hash, root, credential_hash, signing_key, type_id, as_of.to_bytes(32, "big"))
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

    def _compiled(self) -> tuple[int, int, struct.Struct, list[tuple[str, str, int, tuple[_Field, ...]]]]:
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
        values: dict[str, Any] = {}
        k = 0
        for name, kind, width, children in plan:
            if kind == "tuple":
                raw = {}
                for c in children:
                    raw[c.name] = _converted(words[k], c.kind)
                    k += 1
                values[name] = (AnchorRecord if name == "anchor" else CredentialStatusRecord)(**raw)
            elif kind == "string":
                values[name] = self._string(data, base, base + k * _WORD, name)
                k += 1
            else:
                values[name] = _converted(words[k], kind)
                k += 1
        return CredentialVerdict(**values, block_hash=block_hash)

    def _decode_checked(
        self, data: bytes, block_hash: bytes, base: int, plan: list[tuple[str, str, int, tuple[_Field, ...]]], n_head: int
    ) -> CredentialVerdict:
        words = [int.from_bytes(data[i : i + _WORD], "big") for i in range(base, base + n_head * _WORD, _WORD)]
        values: dict[str, Any] = {}
        k = 0
        for name, kind, width, children in plan:
            if kind == "tuple":
                raw = {}
                for c in children:
                    raw[c.name] = _checked(words[k], c.name, c.kind, c.width)
                    k += 1
                values[name] = (AnchorRecord if name == "anchor" else CredentialStatusRecord)(**raw)
            elif kind == "string":
                values[name] = self._string(data, base, base + k * _WORD, name)
                k += 1
            else:
                values[name] = _checked(words[k], name, kind, width)
                k += 1
        return CredentialVerdict(**values, block_hash=block_hash)


_STATUSES = tuple(IssuerStatus)
_ACTORS = tuple(StatusActor)


def _converted(value: int, kind: str) -> Any:
    """A head word already proven within its width, as its Python value."""
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


class RawTransport:
    """JSON-RPC over one keep-alive HTTP/1.1 socket: one ``sendall`` per request, TCP_NODELAY.

    ``http.client`` sends the headers and the body in two writes and parses the answer's headers
    with the ``email`` package: that costs more than the node's own work for one view call. This
    transport writes one request and reads one response (``Content-Length`` or chunked); anything
    else (a status other than 200, a closed socket twice in a row, a malformed head) raises
    ``ChainUnavailable``. Only plain ``http://`` URLs; one transport per thread and process.
    """

    def __init__(self, host: str, port: int, path: str, timeout: float, url: str) -> None:
        self.host, self.port, self.path, self.timeout, self.url = host, port, path, timeout, url
        self._sock: socket.socket | None = None
        self._buf = b""
        self._pid = os.getpid()
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            "Connection: keep-alive\r\nContent-Length: "
        ).encode("latin-1")

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

    def _connect(self) -> socket.socket:
        if self._sock is None or self._pid != os.getpid():
            self._sock, self._buf, self._pid = None, b"", os.getpid()  # never share a forked socket
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def _fill(self, sock: socket.socket) -> None:
        data = sock.recv(RECV)
        if not data:
            raise ConnectionResetError("the node closed the connection")
        self._buf += data

    def _read_exact(self, sock: socket.socket, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill(sock)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_line(self, sock: socket.socket) -> bytes:
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line, self._buf = self._buf[:i], self._buf[i + 2 :]
                return line
            if len(self._buf) > 65536:
                raise _Malformed("HTTP header line too long")
            self._fill(sock)

    def _exchange(self, body: bytes) -> tuple[int, bytes, bool]:
        sock = self._connect()
        sock.sendall(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = self._read_line(sock)
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise _Malformed(f"not an HTTP status line: {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        close = parts[0] == b"HTTP/1.0"
        while True:
            line = self._read_line(sock)
            if not line:
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit():
                    raise _Malformed(f"bad Content-Length {value[:40]!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                low = value.lower()
                close = b"close" in low or (close and b"keep-alive" not in low)
        if chunked:
            pieces = []
            while True:
                size_line = self._read_line(sock).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _Malformed(f"bad chunk size {size_line[:40]!r}") from None
                if size == 0:
                    while self._read_line(sock):  # trailers
                        pass
                    break
                pieces.append(self._read_exact(sock, size))
                if self._read_exact(sock, 2) != b"\r\n":
                    raise _Malformed("chunk not followed by CRLF")
            data = b"".join(pieces)
        elif length is not None:
            data = self._read_exact(sock, length)
        else:  # body until the server closes
            try:
                while True:
                    self._fill(sock)
            except ConnectionResetError:
                pass
            data, self._buf, close = self._buf, b"", True
        return status, data, close

    def post(self, body: bytes) -> Any:
        """Send one JSON-RPC request (or batch) body; the parsed JSON answer."""
        last: Exception | None = None
        for attempt in range(2):  # one retry: the node may have closed an idle keep-alive
            try:
                status, data, close = self._exchange(body)
            except _Malformed as exc:
                self.close()
                raise ChainUnavailable(f"JSON-RPC endpoint {self.url} answered malformed HTTP: {exc}") from None
            except (TimeoutError, OSError) as exc:
                self.close()
                last = exc
                if isinstance(exc, TimeoutError) or attempt == 1:
                    break
                continue
            if close:
                self.close()
            if status != 200:
                self.close()
                raise ChainUnavailable(f"JSON-RPC endpoint {self.url} answered HTTP {status}: {data[:200]!r}")
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                self.close()
                raise ChainUnavailable(f"JSON-RPC endpoint {self.url} answered non-JSON: {exc}") from None
        raise ChainUnavailable(f"chain unreachable at {self.url}: {last}") from last


class _Malformed(Exception):
    pass


_transports = threading.local()

#: Use :class:`RawTransport` for plain-http nodes (False: the ledger reader's http.client batch;
#: the benchmark compares both in one run).
USE_RAW_TRANSPORT = True

#: Bytes asked of each recv (below glibc's mmap threshold: no map/unmap per read).
RECV = 65536


def transport_for(reader: Any) -> RawTransport | None:
    """This thread's raw transport to the reader's node (None for https or unknown readers)."""
    url = getattr(reader, "rpc_url", None)
    if not USE_RAW_TRANSPORT or not isinstance(url, str) or not (hasattr(reader, "_ids") and hasattr(reader, "_result")):
        return None
    cache = getattr(_transports, "by_url", None)
    if cache is None:
        cache = _transports.by_url = {}
    if url in cache:
        return cache[url]
    parsed = urllib.parse.urlsplit(url)
    t = None
    if parsed.scheme == "http" and parsed.hostname:
        path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        t = RawTransport(parsed.hostname, parsed.port or 80, path, float(getattr(reader, "timeout", 5.0)), url)
    cache[url] = t
    return t


def close_thread_transports() -> None:
    """Close this thread's raw transports (a helper thread calls it before it ends)."""
    cache = getattr(_transports, "by_url", None) or {}
    for t in cache.values():
        if t is not None:
            t.close()
    cache.clear()


def batch(reader: Any, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
    """``reader._batch`` through the raw transport when there is one: the same answers and errors."""
    t = transport_for(reader)
    if t is None:
        return reader._batch(list(calls))
    ids = [next(reader._ids) for _ in calls]
    answer = t.post(
        orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in zip(ids, calls, strict=True)])
    )
    if not isinstance(answer, list):
        raise ChainUnavailable(f"JSON-RPC batch not supported by {reader.rpc_url}: {answer}")
    by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
    out = []
    for i, (method, _) in zip(ids, calls, strict=True):
        if i not in by_id:
            raise ChainUnavailable(f"{method}: no answer in the JSON-RPC batch from {reader.rpc_url}")
        out.append(reader._result(by_id[i], method))
    return out


def _codec_for(reader: Any) -> VerdictCodec:
    codec = getattr(reader, "_talentproof_fast_codec", None)
    if codec is None:
        codec = VerdictCodec(reader.abi.abi if hasattr(reader.abi, "abi") else reader.abi)
        reader._talentproof_fast_codec = codec
    return codec


def supports(reader: Any) -> bool:
    """True when ``reader`` is a RegistryReader whose batch transport this module can use."""
    return hasattr(reader, "_batch") and hasattr(reader, "registry")


# --------------------------------------------------------------------------- many views, one eth_call

#: Read the views of a chunk through one ``eth_call`` of :data:`VIEWS_CODE` (False: one
#: ``eth_call`` per credential in the JSON-RPC batch; the benchmark compares both in one run).
USE_VIEWS_CALL = True

#: Credentials per :data:`VIEWS_CODE` call (calldata: 32 + 196 bytes per credential).
VIEWS_PER_CALL = 256
_CALL_BYTES = 4 + 6 * _WORD  # one verifyCredential calldata: selector, 5 words, uint64 as a word


def _assemble_views_code() -> bytes:
    """EVM code that makes the registry's ``verifyCredential`` calls named in its calldata.

    Nothing is deployed: an ``eth_call`` to :data:`VIEWS_ADDRESS` carries this code as a state
    override of that address, for that call only. Calldata: the registry address as a 32-byte
    word, then N calldatas of ``verifyCredential`` (196 bytes each). For each, in order, it
    makes a ``STATICCALL`` to the registry (all the gas left) and appends
    ``uint256(returndatasize) || returndata`` to its answer; a failed call reverts the whole
    answer. Each answer is therefore the registry's own ABI-encoded verdict, byte for byte what
    a separate ``eth_call`` of the view at the same block returns (the view reads no
    ``msg.sender``; ``block.number`` and ``block.timestamp`` are the block's).

    Stack comments: top first; ``i`` the next calldata's memory offset, ``ptr`` the end of the
    answer so far, ``end`` the end of the arguments (and start of the answer, ``out``).
    """
    code = bytearray()
    labels: dict[str, int] = {}
    fixups: list[tuple[int, str]] = []

    def op(*parts: int | str) -> None:
        for part in parts:
            if isinstance(part, str):  # PUSH2 <label>
                code.append(0x61)
                fixups.append((len(code), part))
                code.extend(b"\0\0")
            else:
                code.append(part)

    def label(name: str) -> None:
        labels[name] = len(code)
        code.append(0x5B)  # JUMPDEST

    PUSH1, DUP1, DUP2, DUP3, DUP4, DUP5, SWAP1, SWAP2, POP = 0x60, 0x80, 0x81, 0x82, 0x83, 0x84, 0x90, 0x91, 0x50
    ADD, SUB, LT, ISZERO, MLOAD, MSTORE, JUMP, JUMPI, GAS = 0x01, 0x03, 0x10, 0x15, 0x51, 0x52, 0x56, 0x57, 0x5A
    CDSIZE, CDCOPY, RDSIZE, RDCOPY, STATICCALL, RETURN, REVERT = 0x36, 0x37, 0x3D, 0x3E, 0xFA, 0xF3, 0xFD
    op(CDSIZE, DUP1, PUSH1, 0, DUP1, CDCOPY)  # memory[0:n] = calldata; [n]
    op(DUP1, DUP1, PUSH1, 32)  # [i=32, ptr=n, end=n, out=n]
    label("LOOP")
    op(DUP3, DUP2, LT, ISZERO, "DONE", JUMPI)  # while i < end
    op(PUSH1, 0, PUSH1, 0, PUSH1, _CALL_BYTES, DUP4, PUSH1, 0, MLOAD, GAS, STATICCALL)  # [ok, i, ptr, end, out]
    op(ISZERO, "FAIL", JUMPI)  # [i, ptr, end, out]
    op(RDSIZE, DUP1, DUP4, MSTORE)  # memory[ptr] = returndatasize; [rds, i, ptr, end, out]
    op(DUP1, PUSH1, 0, DUP5, PUSH1, 32, ADD, RDCOPY)  # memory[ptr+32:] = returndata
    op(DUP3, ADD, PUSH1, 32, ADD, SWAP2, POP)  # ptr += 32 + rds; [i, ptr, end, out]
    op(PUSH1, _CALL_BYTES, ADD, "LOOP", JUMP)  # i += 196
    label("DONE")
    op(POP, DUP3, SWAP1, SUB, DUP3, RETURN)  # return memory[out:ptr]
    label("FAIL")
    op(PUSH1, 0, DUP1, REVERT)
    for at, name in fixups:
        code[at : at + 2] = labels[name].to_bytes(2, "big")
    return bytes(code)


#: The code of :func:`_assemble_views_code`.
VIEWS_CODE = _assemble_views_code()
#: Where :data:`VIEWS_CODE` is placed for the call (an address no key controls; any code or
#: state there is replaced for that call only).
VIEWS_ADDRESS = "0x7a1e27" + "00" * 15 + "0001"
_VIEWS_OVERRIDE = {VIEWS_ADDRESS: {"code": "0x" + VIEWS_CODE.hex()}}


class ViewsCallFailed(LedgerError):
    """The node did not run :data:`VIEWS_CODE`, e.g. no state overrides in ``eth_call`` (the
    caller then reads the views one by one)."""


def views_calldata(codec: VerdictCodec, registry: str, queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]], as_of: int) -> bytes:
    """The ``data`` of one ``eth_call`` reading the view of every query."""
    address = bytes.fromhex(registry.removeprefix("0x"))
    if len(address) != 20:
        raise ValueError(f"registry address: expected 20 bytes, found {len(address)}")
    return b"".join((bytes(12), address, *(codec.encode(*q, as_of) for q in queries)))


def split_views_answer(data: bytes, count: int) -> list[bytes]:
    """The ``count`` verdicts of a :data:`VIEWS_CODE` answer (LedgerError when it does not fit)."""
    out: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        if pos + _WORD > size:
            raise LedgerError("views answer: truncated length word")
        n = int.from_bytes(data[pos : pos + _WORD], "big")
        pos += _WORD
        if n > size - pos:
            raise LedgerError("views answer: a verdict runs past the end")
        out.append(data[pos : pos + n])
        pos += n
    if len(out) != count:
        raise LedgerError(f"views answer: expected {count} verdicts, found {len(out)}")
    return out


def _views_results(
    reader: Any, t: RawTransport, queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]], as_of: int, tag: str
) -> tuple[Any, list[bytes]]:
    """(block header, raw verdicts) through :data:`VIEWS_CODE` calls, all in one JSON-RPC batch.

    A JSON-RPC error answer to a views call (a node without state overrides in ``eth_call``, a
    revert) raises ViewsCallFailed; a transport failure stays ChainUnavailable.
    """
    codec = _codec_for(reader)
    groups = [queries[i : i + VIEWS_PER_CALL] for i in range(0, len(queries), VIEWS_PER_CALL)]
    ids = [next(reader._ids) for _ in range(len(groups) + 1)]
    request = [{"jsonrpc": "2.0", "id": ids[0], "method": "eth_getBlockByNumber", "params": [tag, False]}]
    for i, g in zip(ids[1:], groups, strict=True):
        data = "0x" + views_calldata(codec, reader.registry, g, as_of).hex()
        request.append({"jsonrpc": "2.0", "id": i, "method": "eth_call",
                        "params": [{"to": VIEWS_ADDRESS, "data": data}, tag, _VIEWS_OVERRIDE]})
    answer = t.post(orjson.dumps(request))
    if not isinstance(answer, list):
        raise ChainUnavailable(f"JSON-RPC batch not supported by {reader.rpc_url}: {answer}")
    by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
    if ids[0] not in by_id:
        raise ChainUnavailable(f"eth_getBlockByNumber: no answer in the JSON-RPC batch from {reader.rpc_url}")
    header = reader._result(by_id[ids[0]], "eth_getBlockByNumber")
    raw: list[bytes] = []
    for i, g in zip(ids[1:], groups, strict=True):
        a = by_id.get(i)
        if a is None:
            raise ChainUnavailable(f"eth_call: no answer in the JSON-RPC batch from {reader.rpc_url}")
        if not isinstance(a, dict) or "error" in a or not isinstance(a.get("result"), str):
            raise ViewsCallFailed(f"the node did not run the views call: {str(a)[:200]}")
        raw.extend(split_views_answer(_unhex(a["result"], "the views call"), len(g)))
    return header, raw


def _unhex(text: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(text).removeprefix("0x"))
    except ValueError:
        raise LedgerError(f"{what} answered {str(text)[:80]!r}: expected hex data") from None


def _per_call_results(reader: Any, queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]], as_of: int, tag: str) -> tuple[Any, list[bytes]]:
    """(block header, raw verdicts) with one ``eth_call`` of the view per query, in one batch."""
    codec = _codec_for(reader)
    calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [tag, False])]
    to = reader.registry
    for q in queries:
        calls.append(("eth_call", [{"to": to, "data": "0x" + codec.encode(*q, int(as_of)).hex()}, tag]))
    header, *results = batch(reader, calls)
    return header, [_unhex(r, "verifyCredential") for r in results]


def read_many(
    reader: Any, queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]], as_of: int, block: int | str
) -> list[CredentialVerdict]:
    """Verdicts for many credentials, all at one block, in one JSON-RPC batch.

    With :data:`USE_VIEWS_CALL` (and more than one query) the views are read through
    :data:`VIEWS_CODE`, a few ``eth_call`` s instead of one per credential; a node that does not
    run it gets one ``eth_call`` per credential instead (same answers).
    """
    if not queries:
        return []
    codec = _codec_for(reader)
    tag = hex(block) if isinstance(block, int) else block
    header: Any = None
    raws: list[bytes] | None = None
    t = transport_for(reader) if USE_VIEWS_CALL and len(queries) > 1 else None
    if t is not None and not getattr(reader, "_talentproof_no_views_call", False):
        try:
            header, raws = _views_results(reader, t, queries, int(as_of), tag)
        except ViewsCallFailed:
            reader._talentproof_no_views_call = True  # this node: one call per credential from now on
    if raws is None:
        header, raws = _per_call_results(reader, queries, as_of, tag)
    if not isinstance(header, dict):
        raise ChainUnavailable(f"block {tag} not found on {reader.rpc_url}")
    number = int(header["number"], 16)
    block_hash = bytes.fromhex(str(header["hash"]).removeprefix("0x"))
    to = reader.registry
    out = []
    # The credentials of one batch mostly get byte-identical answers (the verdict names the
    # batch, issuer, key, type and status, not the credential): each distinct answer is decoded
    # once, and equal bytes give the same (immutable) verdict.
    decoded: dict[bytes, CredentialVerdict] = {}
    for data in raws:
        verdict = decoded.get(data)
        if verdict is None:
            if not data:
                raise LedgerError(f"verifyCredential returned no data: is the registry at {to} on this chain?")
            verdict = codec.decode(data, block_hash)
            if verdict.block_number != number:
                raise _Moved(number, verdict.block_number)
            decoded[data] = verdict
        out.append(verdict)
    return out


class _Moved(LedgerError):
    def __init__(self, header: int, answered: int) -> None:
        super().__init__(f"node answered block {answered} for a call paired with block {header}")


def read_one(reader: Any, query: tuple[bytes, bytes, bytes, bytes, bytes], as_of: int, block: int | str) -> CredentialVerdict:
    """One verdict and the hash of its block (retries when "latest" moved between the two calls)."""
    for _ in range(5):
        try:
            return read_many(reader, [query], as_of, block)[0]
        except _Moved:
            if block != "latest":
                raise
    raise ChainUnavailable("verifyCredential: the chain head kept moving; could not pair the answer with its block")
