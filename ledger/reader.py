"""The verifier's fast read path: raw JSON-RPC over one persistent HTTP connection.

::

    reader = RegistryReader("http://127.0.0.1:8545", deployment.registry)
    verdict = reader.verify_credential(
        did_hash(issuer_did), root, credential_hash, signing_key, type_id("DegreeCredential")
    )
    verdict.anchor.issuer_id, verdict.block_number, verdict.block_hash

A web3.py contract call costs milliseconds of Python; here the calldata is encoded with eth-abi
from the ABI, and one JSON-RPC batch (``eth_call`` + ``eth_getBlockByNumber`` at the same block)
answers the view together with the hash of the block it was read at. Any transport or RPC failure
raises `ChainUnavailable`; nothing ever falls back to a default answer.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from eth_utils import is_address, to_checksum_address
from talentproof.ledger.abi import ContractABI
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import AnchorRecord, CredentialVerdict

__all__ = ["RegistryReader", "did_hash", "type_id"]

try:  # orjson is a project dependency; keep a stdlib fallback for tooling
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    _loads = orjson.loads
except ImportError:  # pragma: no cover

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    _loads = json.loads


def _b32(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"{what} must be 32 bytes hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return bytes(value)


class RegistryReader:
    """Read-only, low-latency access to the registry's views.

    Thread-safe: each thread gets its own keep-alive connection.

    Args:
        rpc_url: the node's HTTP JSON-RPC URL.
        registry_address: the registry contract address.
        timeout: socket timeout in seconds for each request.
        abi: the registry ABI; default from the compiled artifact.
    """

    def __init__(
        self,
        rpc_url: str,
        registry_address: str,
        *,
        timeout: float = 5.0,
        abi: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(rpc_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"expected an http(s):// JSON-RPC URL, got {rpc_url!r}")
        if not isinstance(registry_address, str) or not is_address(registry_address):
            raise ValueError(
                f"registry address must be a 20-byte hex address, got {registry_address!r}"
            )
        self.rpc_url = rpc_url
        self.registry = to_checksum_address(registry_address)
        self.timeout = timeout
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        if abi is None:
            from talentproof.ledger.artifacts import load_artifact

            abi = load_artifact("TalentProofRegistry").abi
        self.abi = ContractABI(abi)
        self._verify = self.abi.function("verifyCredential")
        self._anchor = self.abi.function("anchor")
        self._local = threading.local()
        self._ids = itertools.count(1)

    # -- transport ----------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __enter__(self) -> RegistryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, payload: Any) -> Any:
        body = _dumps(payload)
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        last: Exception | None = None
        for attempt in range(2):  # one retry: the server may have closed an idle keep-alive
            conn = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise ChainUnavailable(
                        f"JSON-RPC endpoint {self.rpc_url} answered HTTP {resp.status}: {data[:200]!r}"
                    )
                return _loads(data)
            except ChainUnavailable:
                self.close()
                raise
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                self.close()
                last = exc
                if isinstance(exc, TimeoutError | socket.timeout) or attempt == 1:
                    break
            except ValueError as exc:
                self.close()
                raise ChainUnavailable(
                    f"JSON-RPC endpoint {self.rpc_url} answered non-JSON: {exc}"
                ) from None
        raise ChainUnavailable(f"chain unreachable at {self.rpc_url}: {last}") from last

    def _request(self, method: str, params: list[Any]) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        )
        return self._result(answer, method)

    def _result(self, answer: Any, method: str) -> Any:
        if not isinstance(answer, dict):
            raise ChainUnavailable(f"{method}: malformed JSON-RPC answer from {self.rpc_url}")
        if "error" in answer:
            err = answer["error"]
            decoded = None
            if isinstance(err, dict) and isinstance(err.get("data"), str):
                decoded = self.abi.errors.decode(err["data"], function=method)
            if decoded is not None:
                raise decoded
            raise ChainUnavailable(f"{method} failed on {self.rpc_url}: {err}")
        if "result" not in answer:
            raise ChainUnavailable(f"{method}: JSON-RPC answer without result from {self.rpc_url}")
        return answer["result"]

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        ids = [next(self._ids) for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        answer = self._post(payload)
        if not isinstance(answer, list):
            # a node without batch support answers one error object
            raise ChainUnavailable(f"JSON-RPC batch not supported by {self.rpc_url}: {answer}")
        by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
        out = []
        for i, (method, _) in zip(ids, calls, strict=True):
            if i not in by_id:
                raise ChainUnavailable(
                    f"{method}: no answer in the JSON-RPC batch from {self.rpc_url}"
                )
            out.append(self._result(by_id[i], method))
        return out

    # -- views --------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """``eth_chainId``."""
        return int(self._request("eth_chainId", []), 16)

    def block_number(self) -> int:
        """``eth_blockNumber``."""
        return int(self._request("eth_blockNumber", []), 16)

    def code_present(self) -> bool:
        """True if there is contract code at the registry address."""
        code = self._request("eth_getCode", [self.registry, "latest"])
        return isinstance(code, str) and len(code) > 2

    def _call_at(self, data: bytes, block: int | str, label: str) -> tuple[bytes, dict[str, Any]]:
        """One batch: eth_call and the block header, both at `block`; consistent by construction."""
        tag = hex(block) if isinstance(block, int) else block
        call = {"to": self.registry, "data": "0x" + data.hex()}
        result, header = self._batch(
            [("eth_call", [call, tag]), ("eth_getBlockByNumber", [tag, False])]
        )
        if not isinstance(header, dict):
            raise ChainUnavailable(f"{label}: block {tag} not found on {self.rpc_url}")
        return bytes.fromhex(str(result).removeprefix("0x")), header

    def verify_credential(
        self,
        issuer_did_hash: bytes | str,
        root: bytes | str,
        credential_hash: bytes | str,
        signing_key: bytes | str,
        type_id: bytes | str,
        as_of: int = 0,
        block: int | str = "latest",
    ) -> CredentialVerdict:
        """The registry's verdict about one credential, with the block number and hash read at.

        `issuer_did_hash` is ``keccak256`` of the credential's issuer DID (`did_hash`)."""
        data = self._verify.encode(
            _b32(issuer_did_hash, "issuer DID hash"),
            _b32(root, "Merkle root"),
            _b32(credential_hash, "credential hash"),
            _b32(signing_key, "signing key"),
            _b32(type_id, "credential type id"),
            int(as_of),
        )
        for _ in range(5):
            raw, header = self._call_at(data, block, "verifyCredential")
            if not raw:
                raise LedgerError(
                    f"verifyCredential returned no data: is the registry at {self.registry} on this chain?"
                )
            verdict = self._verify.decode(raw)
            number = int(header["number"], 16)
            if int(verdict["blockNumber"]) != number:
                if block != "latest":
                    raise LedgerError(
                        f"node answered block {verdict['blockNumber']} for a call pinned at {number}"
                    )
                continue  # a block was mined between the two requests of the batch
            return CredentialVerdict.from_struct(
                verdict, block_hash=bytes.fromhex(str(header["hash"]).removeprefix("0x"))
            )
        raise ChainUnavailable(
            "verifyCredential: the chain head kept moving; could not pair the answer with its block"
        )

    def anchor(
        self, issuer_id: int, root: bytes | str, block: int | str = "latest"
    ) -> AnchorRecord | None:
        """Issuer `issuer_id`'s anchor record of `root`, or None if it never anchored it."""
        tag = hex(block) if isinstance(block, int) else block
        result = self._request(
            "eth_call",
            [
                {
                    "to": self.registry,
                    "data": "0x"
                    + self._anchor.encode(int(issuer_id), _b32(root, "Merkle root")).hex(),
                },
                tag,
            ],
        )
        raw = bytes.fromhex(str(result).removeprefix("0x"))
        if not raw:
            raise LedgerError(
                f"anchor returned no data: is the registry at {self.registry} on this chain?"
            )
        record = AnchorRecord.from_struct(self._anchor.decode(raw))
        return record if record.anchored else None
