"""A small ABI codec over eth-abi: calldata, results, event logs, derived from the contract ABI.

The registry ABI (contracts/build/TalentProofRegistry.json) is the only source of selectors,
types and field names; nothing here is hand-written per function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from talentproof.ledger.errors import ErrorDecoder, LedgerError
from talentproof.ledger.models import DecodedEvent

__all__ = ["ContractABI", "EventABI", "FunctionABI", "canonical_type"]


def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples expanded: ``(uint32,uint64)[]``)."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components", []))
        return f"({inner}){typ[5:]}"
    return typ


def _to_python(value: Any, param: Mapping[str, Any]) -> Any:
    """Decoded eth-abi value -> Python: structs as dicts by field name, addresses checksummed."""
    typ = str(param["type"])
    if typ.endswith("]"):
        inner = dict(param)
        inner["type"] = typ[: typ.rindex("[")]
        return [_to_python(v, inner) for v in value]
    if typ == "tuple":
        comps = param.get("components", [])
        return {str(c["name"]): _to_python(v, c) for v, c in zip(value, comps, strict=True)}
    if typ == "address":
        return to_checksum_address(value)
    return value


def _to_abi(value: Any, param: Mapping[str, Any]) -> Any:
    """Python -> eth-abi input: dict structs to tuples, hex strings to bytes for bytesN."""
    typ = str(param["type"])
    if typ.endswith("]"):
        inner = dict(param)
        inner["type"] = typ[: typ.rindex("[")]
        return [_to_abi(v, inner) for v in value]
    if typ == "tuple":
        comps = param.get("components", [])
        if isinstance(value, Mapping):
            return tuple(_to_abi(value[str(c["name"])], c) for c in comps)
        return tuple(_to_abi(v, c) for v, c in zip(value, comps, strict=True))
    if typ.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    if typ == "address" and isinstance(value, str):
        return to_checksum_address(value)
    return value


@dataclass(frozen=True)
class FunctionABI:
    """One ABI function: selector, calldata encoding, result decoding."""

    name: str
    inputs: tuple[Mapping[str, Any], ...]
    outputs: tuple[Mapping[str, Any], ...]
    mutability: str

    @property
    def signature(self) -> str:
        """``name(type,...)``."""
        return f"{self.name}({','.join(canonical_type(p) for p in self.inputs)})"

    @property
    def selector(self) -> bytes:
        """The 4-byte function selector."""
        return keccak(text=self.signature)[:4]

    def encode(self, *args: Any) -> bytes:
        """Calldata for a call with `args` (positional, in ABI order)."""
        if len(args) != len(self.inputs):
            names = ", ".join(
                f"{canonical_type(p)} {p.get('name', '')}".strip() for p in self.inputs
            )
            raise TypeError(
                f"{self.name} expects {len(self.inputs)} arguments ({names}), got {len(args)}"
            )
        types = [canonical_type(p) for p in self.inputs]
        try:
            values = [_to_abi(a, p) for a, p in zip(args, self.inputs, strict=True)]
            return self.selector + abi_encode(types, values)
        except Exception as exc:
            raise TypeError(
                f"{self.name}: arguments do not match ({', '.join(types)}): {exc}"
            ) from None

    def decode(self, data: bytes) -> Any:
        """Decode return data: one output -> that value, several -> a dict by name."""
        types = [canonical_type(p) for p in self.outputs]
        try:
            values = abi_decode(types, data)
        except Exception as exc:
            raise LedgerError(
                f"{self.name} returned {len(data)} bytes that do not decode as ({', '.join(types)}): "
                f"is the registry deployed at this address? ({exc})"
            ) from None
        py = [_to_python(v, p) for v, p in zip(values, self.outputs, strict=True)]
        if len(py) == 1:
            return py[0]
        return {
            str(p.get("name") or f"out{i}"): v
            for i, (v, p) in enumerate(zip(py, self.outputs, strict=True))
        }


@dataclass(frozen=True)
class EventABI:
    """One ABI event: topic0 and strict log decoding."""

    name: str
    inputs: tuple[Mapping[str, Any], ...]
    anonymous: bool = False

    @property
    def signature(self) -> str:
        """``Name(type,...)``."""
        return f"{self.name}({','.join(canonical_type(p) for p in self.inputs)})"

    @property
    def topic0(self) -> bytes:
        """keccak256 of the signature."""
        return keccak(text=self.signature)

    def topic_for(self, arg: str, value: Any) -> bytes:
        """The topic value filtering indexed argument `arg` on `value`."""
        for p in self.inputs:
            if p.get("name") == arg:
                if not p.get("indexed"):
                    raise ValueError(f"{self.name}.{arg} is not indexed: cannot filter on it")
                typ = canonical_type(p)
                if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
                    encoded = value.encode() if isinstance(value, str) else bytes(value)
                    return keccak(encoded)
                return abi_encode([typ], [_to_abi(value, p)])
        names = ", ".join(str(p.get("name")) for p in self.inputs if p.get("indexed"))
        raise ValueError(f"{self.name} has no indexed argument {arg!r} (indexed: {names})")

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """Decode a log; raises `LedgerError` if it does not match this event exactly."""
        indexed = [p for p in self.inputs if p.get("indexed")]
        plain = [p for p in self.inputs if not p.get("indexed")]
        if not topics or bytes(topics[0]) != self.topic0 or len(topics) != len(indexed) + 1:
            raise LedgerError(f"log does not match event {self.signature}")
        args: dict[str, Any] = {}
        for p, topic in zip(indexed, topics[1:], strict=True):
            typ = canonical_type(p)
            if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
                args[str(p["name"])] = bytes(topic)  # only the hash is logged
            else:
                args[str(p["name"])] = _to_python(abi_decode([typ], bytes(topic))[0], p)
        try:
            values = abi_decode([canonical_type(p) for p in plain], bytes(data))
        except Exception as exc:
            raise LedgerError(
                f"log data does not decode as event {self.signature}: {exc}"
            ) from None
        for p, v in zip(plain, values, strict=True):
            args[str(p["name"])] = _to_python(v, p)
        return {str(p["name"]): args[str(p["name"])] for p in self.inputs}


class ContractABI:
    """Functions, events and errors of one contract ABI."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        self.abi = list(abi)
        self.functions: dict[str, FunctionABI] = {}
        self.events: dict[str, EventABI] = {}
        for entry in self.abi:
            kind = entry.get("type")
            if kind == "function":
                fn = FunctionABI(
                    name=str(entry["name"]),
                    inputs=tuple(entry.get("inputs", [])),
                    outputs=tuple(entry.get("outputs", [])),
                    mutability=str(entry.get("stateMutability", "nonpayable")),
                )
                if fn.name in self.functions:
                    raise LedgerError(
                        f"overloaded function {fn.name} is not supported by the bindings"
                    )
                self.functions[fn.name] = fn
            elif kind == "event":
                ev = EventABI(
                    str(entry["name"]), tuple(entry.get("inputs", [])), bool(entry.get("anonymous"))
                )
                self.events[ev.name] = ev
        self.events_by_topic = {e.topic0: e for e in self.events.values() if not e.anonymous}
        self.errors = ErrorDecoder(self.abi)

    def function(self, name: str) -> FunctionABI:
        """The function `name`; `LedgerError` if the ABI lacks it."""
        try:
            return self.functions[name]
        except KeyError:
            raise LedgerError(f"the registry ABI has no function {name!r}") from None

    def event(self, name: str) -> EventABI:
        """The event `name`; `ValueError` naming the known events if the ABI lacks it."""
        try:
            return self.events[name]
        except KeyError:
            raise ValueError(
                f"the registry ABI has no event {name!r}; expected one of {', '.join(sorted(self.events))}"
            ) from None

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> tuple[str, dict[str, Any]]:
        """Decode a log of this contract; unknown topic0 raises `LedgerError` (strict)."""
        if not topics:
            raise LedgerError("anonymous log from the registry: not in its ABI")
        event = self.events_by_topic.get(bytes(topics[0]))
        if event is None:
            raise LedgerError(
                f"log with unknown topic 0x{bytes(topics[0]).hex()} is not in the registry ABI"
            )
        return event.name, event.decode(topics, data)

    def log_topics(self, names: Sequence[str], **filters: Any) -> list[Any]:
        """The ``topics`` of an ``eth_getLogs`` filter (0x-hex) for logs of any of the events
        ``names`` whose indexed arguments match ``filters`` (a value, or a list of values any of
        which matches): ``[[topic0, ...], arg1 or None, ...]``, trailing wildcards dropped; []
        for no names. Each filtered argument must be indexed, at the same position, in every
        event named (else `ValueError` naming it)."""
        if not names:
            if filters:
                raise ValueError("argument filters need an event name")
            return []
        events = [self.event(name) for name in names]
        positions: list[dict[str, int]] = []
        for event in events:
            indexed = [str(p["name"]) for p in event.inputs if p.get("indexed")]
            unknown = [arg for arg in filters if arg not in indexed]
            if unknown:
                raise ValueError(
                    f"{event.name} has no indexed argument(s) {', '.join(unknown)}; "
                    f"indexed: {', '.join(indexed)}"
                )
            positions.append({arg: indexed.index(arg) for arg in filters})
        if any(p != positions[0] for p in positions[1:]):
            raise ValueError(
                f"{', '.join(names)}: the filtered argument(s) {', '.join(filters)} are not at "
                "the same topic position in each event"
            )
        topics: list[Any] = [["0x" + e.topic0.hex() for e in events]]
        if len(events) == 1:
            topics[0] = topics[0][0]
        for arg, position in sorted(positions[0].items(), key=lambda item: item[1]):
            value = filters[arg]
            values = value if isinstance(value, list | tuple | set) else [value]
            topics += [None] * (position + 1 - len(topics))
            topics.append(["0x" + events[0].topic_for(arg, v).hex() for v in values])
        return topics

    def decode_logs(self, logs: Iterable[Mapping[str, Any]], address: str) -> list[DecodedEvent]:
        """The logs of the contract at ``address`` among ``logs`` (``eth_getLogs`` results or a
        receipt's ``logs``: bytes or 0x-hex fields), decoded strictly (`decode_log`), in order."""
        out: list[DecodedEvent] = []
        for log in logs:
            if to_checksum_address(log["address"]) != address:
                continue
            topics = [_raw(t) for t in log["topics"]]
            name, args = self.decode_log(topics, _raw(log["data"]))
            out.append(
                DecodedEvent(
                    name=name,
                    args=args,
                    block_number=int(log["blockNumber"]),
                    block_hash=_raw(log["blockHash"]),
                    transaction_hash=_raw(log["transactionHash"]),
                    log_index=int(log["logIndex"]),
                    address=address,
                )
            )
        return out


def _raw(value: Any) -> bytes:
    """A log field as bytes: web3 gives HexBytes, a raw JSON-RPC answer 0x-hex."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
