"""Errors of the ledger package: one root, specific leaves.

Every exception raised on purpose by `talentproof.ledger` derives from `LedgerError`:

- `ChainUnavailable`: the RPC endpoint cannot be reached or answered garbage ("chain down").
- `ChainIdMismatch`: the node serves another chain than the deployment record names.
- `TransactionTimeout`: a transaction was not mined (or not confirmed) in time.
- `TransactionFailed`: a transaction was mined with status 0 and no revert reason could be decoded.
- `ContractRevert`: the contract reverted with a custom error declared in its ABI. There is one
  subclass per custom error name, generated from the ABI (the ABI is the source of truth)::

      from talentproof.ledger.errors import AnchorAlreadyAnchored
      try:
          client.anchor_root(root, 4)
      except AnchorAlreadyAnchored as exc:
          exc.args_dict["root"]

  `RevertedWithReason` (``Error(string)``) and `ContractPanic` (``Panic(uint256)``) cover the two
  built-in revert forms.
- `NodeError`: a local development node could not be started or is not the expected client.
- `DeploymentError`: a deployment record is malformed or does not match the chain.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from talentproof.errors import EXIT_UNAVAILABLE, TalentProofError

__all__ = [
    "ChainIdMismatch",
    "ChainUnavailable",
    "ContractPanic",
    "ContractRevert",
    "DeploymentError",
    "ErrorDecoder",
    "LedgerError",
    "NodeError",
    "NonceError",
    "RevertedWithReason",
    "TransactionFailed",
    "TransactionTimeout",
    "revert_class",
]


class LedgerError(TalentProofError):
    """Root of every error raised by `talentproof.ledger`."""


class ChainUnavailable(LedgerError):
    """The JSON-RPC endpoint could not be reached, timed out or answered something unusable."""

    exit_code = EXIT_UNAVAILABLE


class ChainIdMismatch(LedgerError):
    """The connected chain is not the chain the deployment record (or payload) names."""

    def __init__(self, expected: int, actual: int, *, context: str = "") -> None:
        self.expected = expected
        self.actual = actual
        where = f" ({context})" if context else ""
        super().__init__(
            f"chain id mismatch{where}: expected {expected} from the deployment record, "
            f"the node reports {actual}"
        )


class TransactionTimeout(LedgerError):
    """A transaction was not mined, or did not reach the wanted confirmations, in time."""

    def __init__(self, tx_hash: str, timeout: float, *, detail: str = "") -> None:
        self.tx_hash = tx_hash
        self.timeout = timeout
        extra = f": {detail}" if detail else ""
        super().__init__(f"transaction {tx_hash} not confirmed within {timeout:g} s{extra}")


class TransactionFailed(LedgerError):
    """A transaction was mined with status 0 and its revert data could not be decoded."""


class NonceError(LedgerError):
    """The node rejected a transaction's nonce (too low / already known) after resyncing."""


class NodeError(LedgerError):
    """A local node could not be started, did not answer, or is not the expected client."""


class DeploymentError(LedgerError):
    """A deployment record is malformed, or the registry is not at the recorded address."""


class ContractRevert(LedgerError):
    """The contract reverted with a custom error declared in its ABI.

    Attributes:
        error_name: the Solidity error name, e.g. ``"AnchorAlreadyAnchored"``.
        args_dict: the decoded arguments by parameter name (bytes32 as `bytes`, addresses as
            checksummed `str`, integers as `int`).
        selector: the 4-byte error selector.
        function: the contract function that reverted, when known.
    """

    error_name: str = ""

    def __init__(
        self,
        error_name: str,
        args_dict: Mapping[str, Any],
        *,
        selector: bytes = b"",
        function: str = "",
        data: bytes = b"",
    ) -> None:
        self.error_name = error_name
        self.args_dict = dict(args_dict)
        self.selector = selector
        self.function = function
        self.data = data
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.args_dict.items())
        where = f"{function} reverted with " if function else "contract reverted with "
        super().__init__(f"{where}{error_name}({shown})")

    def __reduce__(self) -> Any:  # picklable across processes despite generated subclasses
        return (
            _rebuild_revert,
            (self.error_name, self.args_dict, self.selector, self.function, self.data),
        )


class RevertedWithReason(ContractRevert):
    """The contract reverted with ``Error(string)`` (``require(cond, "reason")``)."""


class ContractPanic(ContractRevert):
    """The contract reverted with ``Panic(uint256)`` (assert, overflow, division by zero...)."""


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


_CLASSES: dict[str, type[ContractRevert]] = {
    "Error": RevertedWithReason,
    "Panic": ContractPanic,
}
_CLASSES_LOCK = threading.Lock()


def revert_class(error_name: str) -> type[ContractRevert]:
    """Return the `ContractRevert` subclass for a custom error name (created once, then cached).

    The same name always yields the same class, so ``except revert_class("X")`` and
    ``from talentproof.ledger.errors import X`` (for errors the registry ABI declares) agree.
    """
    if not error_name.isidentifier():
        raise ValueError(f"expected a Solidity error name (identifier), got {error_name!r}")
    with _CLASSES_LOCK:
        cls = _CLASSES.get(error_name)
        if cls is None:
            cls = type(
                error_name,
                (ContractRevert,),
                {
                    "__doc__": f"The contract reverted with the custom error `{error_name}`.",
                    "__module__": __name__,
                    "error_name": error_name,
                },
            )
            _CLASSES[error_name] = cls
        return cls


def _rebuild_revert(
    name: str, args_dict: dict[str, Any], selector: bytes, function: str, data: bytes
) -> ContractRevert:
    return revert_class(name)(name, args_dict, selector=selector, function=function, data=data)


_BUILTIN_ERRORS: tuple[dict[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "reason", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)


class ErrorDecoder:
    """Decodes revert data into typed exceptions using the custom errors of an ABI."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        from talentproof.ledger.abi import canonical_type  # noqa: PLC0415 (abi imports this module)

        self._by_selector: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for entry in [*abi, *_BUILTIN_ERRORS]:
            if entry.get("type") != "error":
                continue
            name = str(entry["name"])
            types = [canonical_type(p) for p in entry.get("inputs", [])]
            names = [str(p.get("name") or f"arg{i}") for i, p in enumerate(entry.get("inputs", []))]
            selector = keccak(text=f"{name}({','.join(types)})")[:4]
            self._by_selector[selector] = (name, types, names)

    @property
    def error_names(self) -> list[str]:
        """Names of every error this decoder knows (the ABI's custom errors plus Error/Panic)."""
        return sorted({v[0] for v in self._by_selector.values()})

    def decode(self, data: bytes | str | None, *, function: str = "") -> ContractRevert | None:
        """Return the typed exception for revert `data`, or None if the selector is unknown."""
        raw = _as_bytes(data)
        if raw is None or len(raw) < 4:
            return None
        known = self._by_selector.get(raw[:4])
        if known is None:
            return None
        name, types, names = known
        try:
            values = abi_decode(types, raw[4:])
        except Exception:  # malformed payload for a known selector: not decodable
            return None
        args = {n: _normalise(v, t) for n, v, t in zip(names, values, types, strict=True)}
        return revert_class(name)(name, args, selector=raw[:4], function=function, data=raw)


def _normalise(value: Any, typ: str) -> Any:
    if typ == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _as_bytes(data: bytes | str | None) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        text = data.strip()
        if text.startswith(("0x", "0X")):
            text = text[2:]
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    return None


def revert_data_from(exc: BaseException) -> bytes | None:
    """Dig the raw revert bytes out of a web3 / JSON-RPC exception, if there are any."""
    candidates: list[Any] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # walk the cause chain (eth-tester)
        seen.add(id(current))
        candidates.append(getattr(current, "data", None))
        rpc = getattr(current, "rpc_response", None)
        if isinstance(rpc, Mapping):
            err = rpc.get("error")
            if isinstance(err, Mapping):
                candidates.append(err.get("data"))
        candidates.extend(getattr(current, "args", ()))
        current = current.__cause__ or current.__context__
    for cand in _flatten(candidates):
        raw = _as_bytes(cand) if isinstance(cand, str) and cand.startswith("0x") else None
        if isinstance(cand, str) and raw is None:
            raw = _bytes_repr(cand)
        if isinstance(cand, bytes | bytearray):
            raw = bytes(cand)
        if raw is not None and len(raw) >= 4:
            return raw
    return None


def _bytes_repr(text: str) -> bytes | None:
    """eth-tester reports revert data as ``repr(bytes)``, possibly after "execution reverted: "."""
    for marker in ("b'", 'b"'):
        start = text.find(marker)
        if start == 0 or (start > 0 and text[start - 1] == " "):
            try:
                value = ast.literal_eval(text[start:])
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, bytes):
                return value
    return None


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, Mapping):
            # ganache: {"data": "0x.."} / {"result": "0x.."}; some nodes nest per tx hash
            yield from _flatten([item.get("data"), item.get("result"), *item.values()])
        elif isinstance(item, list | tuple):
            yield from _flatten(item)
        else:
            yield item


_REGISTRY_ERRORS: frozenset[str] | None = None


def _registry_error_names() -> frozenset[str]:
    global _REGISTRY_ERRORS
    if _REGISTRY_ERRORS is None:
        try:
            from talentproof.ledger.artifacts import (  # noqa: PLC0415 (artifacts imports this module)
                load_artifact,
            )

            abi = load_artifact("TalentProofRegistry").abi
        except Exception:  # artifact missing: nothing to expose (and retry next time)
            return frozenset()
        _REGISTRY_ERRORS = frozenset(str(e["name"]) for e in abi if e.get("type") == "error")
    return _REGISTRY_ERRORS


def __getattr__(name: str) -> type[ContractRevert]:
    """Expose the registry ABI's custom errors as importable classes (PEP 562)."""
    if not name.startswith("_") and name in _registry_error_names():
        return revert_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
