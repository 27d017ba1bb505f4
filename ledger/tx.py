"""Locally signed transactions: nonces, fees, sending, waiting, replacing.

Transactions are always signed here with eth-account from the operator's private key and sent
with ``eth_sendRawTransaction``; a node-held (unlocked) account is never used.

The three steps are separate so that a crash-safe caller can persist between them::

    sender = TxSender(w3, operator_key, expected_chain_id=deployment.chain_id)
    pending = sender.send({"to": registry, "data": calldata})   # PendingTx: hash, nonce, raw tx
    store(pending.to_json())                                    # survive a crash here
    receipt = sender.wait(pending, confirmations=2)             # raises the decoded revert
    ...
    pending = sender.replace(pending)                           # stuck: same nonce, higher fees

Fee model: EIP-1559 (type 2) when the chain has a base fee; legacy (type 0) when the latest block
has no ``baseFeePerGas`` (pre-London, GoQuorum) or when the network runs at zero gas price
(Besu/QBFT-style permissioned networks: base fee 0 and ``eth_gasPrice`` 0), or when a fixed
``gas_price`` is configured.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import requests
from eth_account import Account
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from talentproof.ledger.errors import (
    ChainIdMismatch,
    ChainUnavailable,
    ContractRevert,
    ErrorDecoder,
    LedgerError,
    NonceError,
    TransactionFailed,
    TransactionTimeout,
    revert_data_from,
)

_logger = logging.getLogger(__name__)

__all__ = [
    "FeeConfig",
    "LeanDeclined",
    "LeanRpc",
    "NonceManager",
    "PendingTx",
    "TxSender",
    "read_quantity",
    "rpc_guard",
]


def _connection_errors() -> tuple[type[BaseException], ...]:
    from web3.exceptions import (  # noqa: PLC0415 (web3 takes 0.7 s to import; loaded when an error is classified)
        ProviderConnectionError,
        RequestTimedOut,
    )

    return (
        OSError,
        requests.RequestException,
        ProviderConnectionError,
        RequestTimedOut,
    )


def _retryable_errors() -> tuple[type[BaseException], ...]:
    """A ledger error or a lost connection: the nonce is resynced before the error goes on."""
    return (LedgerError, *_connection_errors())


@contextlib.contextmanager
def rpc_guard(what: str, endpoint: str = "") -> Iterator[None]:
    """Translate connection failures inside the block into `ChainUnavailable`."""
    try:
        yield
    except LedgerError:
        raise
    except _connection_errors() as exc:
        where = f" at {endpoint}" if endpoint else ""
        raise ChainUnavailable(f"chain unreachable{where} during {what}: {exc}") from exc


def endpoint_of(w3: Any) -> str:
    """The provider's URI for messages (empty for in-process providers)."""
    return str(getattr(w3.provider, "endpoint_uri", "") or "")


@dataclass(frozen=True)
class FeeConfig:
    """How fees are chosen.

    Attributes:
        gas_price: fixed legacy gas price in wei (0 on permissioned zero-gas networks); forces
            type-0 transactions. None detects the fee model from the chain.
        max_priority_fee: EIP-1559 tip in wei; None asks ``eth_maxPriorityFeePerGas``.
        base_fee_multiplier: ``maxFeePerGas = base_fee * multiplier + tip``.
        gas_limit_multiplier: head-room on ``eth_estimateGas``.
        replacement_bump: fee factor for `TxSender.replace` (nodes require >= 1.10).
    """

    gas_price: int | None = None
    max_priority_fee: int | None = None
    base_fee_multiplier: int = 2
    gas_limit_multiplier: float = 1.25
    replacement_bump: float = 1.125


@dataclass(frozen=True)
class PendingTx:
    """A signed, sent transaction that may not be mined yet.

    `earlier_hashes` holds the hashes of the transactions it replaced (same nonce): `wait`
    accepts a receipt for any of them, since any one of them may be the one that gets mined.
    """

    tx_hash: str
    nonce: int
    raw: bytes
    sender: str
    chain_id: int
    fields: Mapping[str, Any]
    label: str = ""
    earlier_hashes: tuple[str, ...] = ()

    @property
    def all_hashes(self) -> tuple[str, ...]:
        """This transaction's hash first, then those it replaced."""
        return (self.tx_hash, *self.earlier_hashes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (for a crash-safe job table); `from_json` reverses it."""
        return {
            "txHash": self.tx_hash,
            "nonce": self.nonce,
            "raw": "0x" + self.raw.hex(),
            "sender": self.sender,
            "chainId": self.chain_id,
            "fields": {
                k: (("0x" + v.hex()) if isinstance(v, bytes) else v) for k, v in self.fields.items()
            },
            "label": self.label,
            "earlierHashes": list(self.earlier_hashes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingTx:
        """Rebuild a `PendingTx` from `to_json` output."""
        try:
            return cls(
                tx_hash=str(data["txHash"]),
                nonce=int(data["nonce"]),
                raw=bytes.fromhex(str(data["raw"]).removeprefix("0x")),
                sender=to_checksum_address(str(data["sender"])),
                chain_id=int(data["chainId"]),
                fields=dict(data["fields"]),
                label=str(data.get("label", "")),
                earlier_hashes=tuple(str(h) for h in data.get("earlierHashes", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerError(f"malformed pending transaction record: {exc}") from exc


class LeanDeclined(Exception):
    """The lean path leaves a request to web3 (an error answer, a shape it does not know)."""


class LeanRpc:
    """The sender's requests straight on the ledger's transport: one JSON body, the answer's
    ``result``, no web3 formatting or middleware (~0.05 ms of CPU a request against web3's
    0.1-2 ms: the anchoring worker sends one transaction a bulk chunk). Used when the `Web3`
    is the ledger's own (`ledger.chain.web3_on`: requests on
    `~talentproof.ledger.endpoints.RpcEndpoints`); web3 is its reference twin: an error answer,
    or anything but the plain shape asked for, raises `LeanDeclined` and the caller asks web3,
    whose answer or exception then stands (``tests/ledger/test_tx_lean.py`` checks both send
    the same requests and sign the same bytes). Transport failures raise as web3's do (the
    same transport raises them)."""

    def __init__(self, endpoints: Any) -> None:
        self.endpoints = endpoints

    @staticmethod
    def of(w3: Any) -> LeanRpc | None:
        """The lean path under ``w3`` when its provider is the ledger's own, else None."""
        endpoints = getattr(getattr(w3, "provider", None), "endpoints", None)
        from talentproof.ledger.endpoints import RpcEndpoints  # noqa: PLC0415 (start-up time)

        return LeanRpc(endpoints) if isinstance(endpoints, RpcEndpoints) else None

    def result(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of one request; `LeanDeclined` on an error answer."""
        answer = self.endpoints.transport().post(
            orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        )
        if not isinstance(answer, dict) or "error" in answer or "result" not in answer:
            raise LeanDeclined(method)
        return answer["result"]

    def quantity(self, method: str, params: list[Any]) -> int:
        """A hex quantity ``result`` as an int; `LeanDeclined` on anything else."""
        return read_quantity(self.result(method, params), method)

    def base_fee(self) -> int | None:
        """The latest block's ``baseFeePerGas`` (None on a chain without one)."""
        block = self.result("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise LeanDeclined("eth_getBlockByNumber")
        fee = block.get("baseFeePerGas")
        return None if fee is None else read_quantity(fee, "baseFeePerGas")

    def estimate_params(self, params: Mapping[str, Any]) -> list[Any]:
        """``eth_estimateGas``'s params as web3 sends them for a transaction of ``from``, ``to``,
        ``data``, ``value``, ``gas`` (``chainId`` checked by the caller, left out as web3's
        validation leaves it); `LeanDeclined` for any other field or type."""
        tx: dict[str, Any] = {}
        for key, value in params.items():
            if key == "chainId":
                continue
            if key in ("from", "to") and isinstance(value, str) and len(value) == 42:
                tx[key] = value
            elif key in ("value", "gas") and type(value) is int and value >= 0:
                tx[key] = hex(value)
            elif key == "data" and isinstance(value, bytes):
                tx[key] = "0x" + value.hex()
            else:
                raise LeanDeclined(f"eth_estimateGas field {key}")
        return [tx, "latest"]


def _block_of(receipt: Mapping[str, Any]) -> tuple[int, str]:
    """A web3 receipt's block: (number, 0x-hash in lower case)."""
    return int(receipt["blockNumber"]), "0x" + bytes(receipt["blockHash"]).hex()


def read_quantity(value: Any, what: str) -> int:
    """A JSON-RPC hex quantity (``0x``-prefixed, at least one digit) as an int; `LeanDeclined`
    for anything else (``what`` names it)."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise LeanDeclined(what)
    try:
        return int(value, 16)
    except ValueError:
        raise LeanDeclined(what) from None


class NonceManager:
    """Hands out consecutive nonces for one account, safe under concurrent threads.

    The next nonce is read from the chain (``pending`` count) on first use and after `resync`.
    `TxSender` holds `lock` across reserve, sign and send, so a nonce is consumed only when the
    node accepted the transaction: no gaps, no duplicates.
    """

    def __init__(self, w3: Any, address: str, *, lean: LeanRpc | None = None) -> None:
        self._w3 = w3
        self._lean = lean
        self.address = to_checksum_address(address)
        self.lock = threading.RLock()
        self._next: int | None = None
        #: how many times `reconcile` found the chain's nonce below the cached one
        self.gaps = 0

    def peek(self) -> int:
        """The nonce the next transaction will use (reads the chain if not known)."""
        with self.lock:
            if self._next is None:
                self._next = self.chain_pending()
            return self._next

    def commit(self, nonce: int) -> None:
        """Mark `nonce` as used (the node accepted the transaction)."""
        with self.lock:
            self._next = max(self._next or 0, nonce + 1)

    def resync(self) -> None:
        """Forget the cached nonce; the next `peek` reads it from the chain again."""
        with self.lock:
            self._next = None

    def chain_pending(self) -> int:
        """The account's ``pending`` transaction count on the chain now (one call)."""
        return _transaction_count(self._w3, self._lean, self.address, "pending")

    def reconcile(self) -> tuple[int, int] | None:
        """Compare the cached nonce with the chain's pending count and adopt the chain's when
        they differ: lower after the chain went back (a rollback or reorganisation dropped our
        transactions: a cached nonce above it would only ever be queued, never mined), higher
        when another sender of the account used nonces. Returns (cached, chain) when the chain
        was lower (the caller reports the gap), else None."""
        with self.lock:
            chain = self.chain_pending()
            cached = self._next
            self._next = chain
            if cached is not None and chain < cached:
                self.gaps += 1
                return cached, chain
            return None


def _transaction_count(w3: Any, lean: LeanRpc | None, address: str, block: str) -> int:
    """``eth_getTransactionCount`` of ``address`` at ``block`` (lean path first, then web3)."""
    with rpc_guard("eth_getTransactionCount", endpoint_of(w3)):
        if lean is not None:
            try:
                return lean.quantity("eth_getTransactionCount", [address, block])
            except LeanDeclined:
                pass
        return int(w3.eth.get_transaction_count(address, block))


_NONCE_MESSAGES = (
    "nonce too low",
    "already known",
    "nonce has already been used",
    "known transaction:",
    "replacement transaction underpriced",
    "nonce too high",
    "incorrect nonce",
    "invalid transaction nonce",
)


def _is_nonce_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in _NONCE_MESSAGES)


class TxSender:
    """Signs and sends transactions from one private key; waits for and replaces them.

    Args:
        w3: a connected `web3.Web3`.
        private_key: the operator's key (0x-hex or bytes).
        expected_chain_id: if given, every write first checks ``eth_chainId`` against it and
            raises `ChainIdMismatch` before signing anything.
        fees: the fee policy.
        error_decoder: decodes revert data into typed exceptions (the registry ABI's errors).
        confirmations: default number of confirmations `wait` requires (1 = mined).
        timeout: default seconds `wait` waits.
        poll_interval: seconds between receipt polls.
        lean: send the requests of a send (chain id, nonce, fees, estimate, broadcast) and the
            head's number through `LeanRpc` when ``w3`` is the ledger's own; False: through web3.
    """

    def __init__(
        self,
        w3: Any,
        private_key: str | bytes,
        *,
        expected_chain_id: int | None = None,
        fees: FeeConfig | None = None,
        error_decoder: ErrorDecoder | None = None,
        confirmations: int = 1,
        timeout: float = 120.0,
        poll_interval: float = 0.05,
        lean: bool = True,
    ) -> None:
        try:
            self._account = Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise LedgerError(
                f"invalid operator private key (expected 32 bytes hex): {exc}"
            ) from None
        if confirmations < 1:
            raise ValueError(f"confirmations must be >= 1, got {confirmations}")
        self.w3 = w3
        self.expected_chain_id = expected_chain_id
        self.fees = fees or FeeConfig()
        self.decoder = error_decoder or ErrorDecoder([])
        self.confirmations = confirmations
        self.timeout = timeout
        self.poll_interval = poll_interval
        #: the lean request path (`LeanRpc`) when ``w3`` is the ledger's own and ``lean``; web3,
        #: its twin, answers whatever it declines (``lean=False``: web3 alone, the reference)
        self.lean = LeanRpc.of(w3) if lean else None
        self.nonces = NonceManager(w3, self._account.address, lean=self.lean)
        self._legacy: bool | None = None
        self._endpoint = endpoint_of(w3)

    @property
    def address(self) -> str:
        """The sending account (checksummed)."""
        return str(self._account.address)

    # -- chain checks -------------------------------------------------------------------------

    def chain_id(self) -> int:
        """``eth_chainId`` of the connected node."""
        with rpc_guard("eth_chainId", self._endpoint):
            return self._quantity("eth_chainId", lambda: self.w3.eth.chain_id)

    def _quantity(self, method: str, twin: Callable[[], Any]) -> int:
        """A parameterless quantity request: the lean path's answer, else web3's (``twin``)."""
        if self.lean is not None:
            try:
                return self.lean.quantity(method, [])
            except LeanDeclined:
                pass
        return int(twin())

    def _base_fee(self) -> int | None:
        """The latest block's base fee (None: no ``baseFeePerGas``)."""
        if self.lean is not None:
            try:
                return self.lean.base_fee()
            except LeanDeclined:
                pass
        fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        return None if fee is None else int(fee)

    def check_chain(self) -> int:
        """Raise `ChainIdMismatch` unless the node serves `expected_chain_id`; return the id."""
        actual = self.chain_id()
        if self.expected_chain_id is not None and actual != self.expected_chain_id:
            raise ChainIdMismatch(
                self.expected_chain_id, actual, context="refusing to send a transaction"
            )
        return actual

    def uses_legacy_fees(self) -> bool:
        """True if this chain gets type-0 transactions (see the module docstring)."""
        if self.fees.gas_price is not None:
            return True
        if self._legacy is None:
            with rpc_guard("eth_getBlockByNumber", self._endpoint):
                base_fee = self._base_fee()
                self._legacy = base_fee is None or (
                    base_fee == 0
                    and self._quantity("eth_gasPrice", lambda: self.w3.eth.gas_price) == 0
                )
        return self._legacy

    def _fee_fields(self, bump_from: Mapping[str, Any] | None = None) -> dict[str, int]:
        bump = self.fees.replacement_bump
        with rpc_guard("fee lookup", self._endpoint):
            if self.uses_legacy_fees():
                price = self.fees.gas_price
                if price is None:
                    price = self._quantity("eth_gasPrice", lambda: self.w3.eth.gas_price)
                if bump_from is not None:
                    old = int(bump_from.get("gasPrice", 0))
                    price = max(price, math.ceil(old * bump), old + 1)
                return {"gasPrice": price}
            base_fee = self._base_fee() or 0
            tip = self.fees.max_priority_fee
            if tip is None:
                tip = self._quantity(
                    "eth_maxPriorityFeePerGas", lambda: self.w3.eth.max_priority_fee
                )
            max_fee = base_fee * self.fees.base_fee_multiplier + tip
            if bump_from is not None:
                old_tip = int(bump_from.get("maxPriorityFeePerGas", 0))
                old_max = int(bump_from.get("maxFeePerGas", 0))
                tip = max(tip, math.ceil(old_tip * bump), old_tip + 1)
                max_fee = max(max_fee, math.ceil(old_max * bump), old_max + 1, tip)
            return {"maxPriorityFeePerGas": tip, "maxFeePerGas": max(max_fee, tip)}

    # -- calls and estimation -----------------------------------------------------------------

    def call(self, tx: Mapping[str, Any], block: int | str = "latest", *, label: str = "") -> bytes:
        """``eth_call`` from this account; reverts raise the decoded `ContractRevert`."""
        params = {"from": self.address, **tx}
        with rpc_guard(f"eth_call {label}".strip(), self._endpoint):
            try:
                return bytes(self.w3.eth.call(params, block))
            except Exception as exc:
                self._raise_revert(exc, label)
                raise

    def estimate_gas(self, tx: Mapping[str, Any], *, label: str = "") -> int:
        """``eth_estimateGas`` with head-room; a revert raises the decoded `ContractRevert`."""
        params = {"from": self.address, **tx}
        with rpc_guard(f"eth_estimateGas {label}".strip(), self._endpoint):
            try:
                estimate = self._estimate(params)
            except Exception as exc:
                self._raise_revert(exc, label)
                raise
        return math.ceil(estimate * self.fees.gas_limit_multiplier) + 10_000

    def _estimate(self, params: Mapping[str, Any]) -> int:
        """``eth_estimateGas``: the lean path's estimate; a revert (an error answer) and any
        other shape are asked of web3, whose exception carries the revert data."""
        if self.lean is not None:
            try:
                return self.lean.quantity("eth_estimateGas", self.lean.estimate_params(params))
            except LeanDeclined:
                pass
        return int(self.w3.eth.estimate_gas(params))

    def _raise_revert(self, exc: BaseException, label: str) -> None:
        if isinstance(exc, (LedgerError, *_connection_errors())):
            return
        data = revert_data_from(exc)
        decoded = self.decoder.decode(data, function=label)
        if decoded is not None:
            raise decoded from None
        from web3.exceptions import ContractLogicError  # noqa: PLC0415 (web3 takes 0.7 s to import; the verifier's read path never needs it)

        if isinstance(exc, ContractLogicError):
            where = f"{label} " if label else ""
            raw = f" (revert data 0x{data.hex()})" if data else ""
            raise TransactionFailed(f"{where}reverted: {exc}{raw}") from exc

    # -- send / wait / replace ----------------------------------------------------------------

    def send(self, tx: Mapping[str, Any], *, label: str = "", gas: int | None = None) -> PendingTx:
        """Sign and send `tx` (``to``, ``data``, ``value``); return at once with a `PendingTx`.

        Gas is estimated first unless `gas` is given, so a call that would revert raises the
        decoded `ContractRevert` and sends nothing.
        """
        self.check_chain()
        base: dict[str, Any] = {"value": 0, "data": b""}
        base.update({k: v for k, v in tx.items() if k in ("to", "data", "value")})
        if isinstance(base["data"], str):
            base["data"] = bytes(HexBytes(base["data"]))
        if base.get("to") is not None:
            base["to"] = to_checksum_address(base["to"])
        base["chainId"] = self.expected_chain_id or self.chain_id()
        for attempt in range(3):
            # Estimation runs under the account's lock too: Ganache can hang answering
            # eth_estimateGas concurrently with mining another of the account's transactions.
            with self.nonces.lock:
                if "gas" not in base:
                    base["gas"] = gas if gas is not None else self.estimate_gas(base, label=label)
                # the chain's count, not only the cache: after a rollback the cached nonce is
                # ahead of the chain and a transaction signed with it would never be mined
                self.nonces.reconcile()
                nonce = self.nonces.peek()
                fields = {**base, **self._fee_fields(), "nonce": nonce}
                try:
                    return self._sign_and_send(fields, label=label)
                except _retryable_errors():
                    self.nonces.resync()
                    raise
                except Exception as exc:
                    self.nonces.resync()
                    if _is_nonce_error(exc) and attempt < 2:
                        # another sender of this account took the nonce (or the node's pool
                        # holds one): worth knowing, the issuer serialises its own senders
                        _logger.warning(
                            "%s: the node rejected nonce %s of %s (%s); retrying with the "
                            "chain's count",
                            label or "transaction",
                            nonce,
                            self.address,
                            exc,
                        )
                        continue
                    self._raise_revert(exc, label)
                    if _is_nonce_error(exc):
                        raise NonceError(
                            f"{label or 'transaction'}: node rejected nonce {nonce}: {exc}"
                        ) from exc
                    raise LedgerError(
                        f"{label or 'transaction'} rejected by the node: {exc}"
                    ) from exc
        raise NonceError(
            f"{label or 'transaction'}: could not obtain a usable nonce"
        )  # pragma: no cover

    def _sign_and_send(
        self, fields: dict[str, Any], *, label: str, earlier: tuple[str, ...] = ()
    ) -> PendingTx:
        unsigned = dict(fields)
        if "gasPrice" not in unsigned:
            unsigned["type"] = 2
        signed = self._account.sign_transaction(unsigned)
        raw = bytes(signed.raw_transaction)
        with rpc_guard(f"eth_sendRawTransaction {label}".strip(), self._endpoint):
            tx_hash = self._broadcast(raw)
        self.nonces.commit(int(fields["nonce"]))
        return PendingTx(
            tx_hash="0x" + tx_hash.hex(),
            nonce=int(fields["nonce"]),
            raw=raw,
            sender=self.address,
            chain_id=int(fields["chainId"]),
            fields=dict(unsigned),
            label=label,
            earlier_hashes=earlier,
        )

    def _broadcast(self, raw: bytes) -> bytes:
        """``eth_sendRawTransaction``: the transaction's hash. The node's refusal (an error
        answer) is not raised from the lean path: web3 sends the same bytes again and its
        exception (or, if the node takes them now, its hash) stands."""
        if self.lean is not None:
            try:
                answer = self.lean.result("eth_sendRawTransaction", ["0x" + raw.hex()])
                if isinstance(answer, str) and answer.startswith("0x") and len(answer) == 66:
                    return bytes.fromhex(answer[2:])
            except (LeanDeclined, ValueError):
                pass
        return bytes(self.w3.eth.send_raw_transaction(raw))

    def rebroadcast(self, pending: PendingTx) -> None:
        """Send the same signed bytes again (after a node restart dropped the pool)."""
        with rpc_guard("eth_sendRawTransaction (rebroadcast)", self._endpoint):
            try:
                self.w3.eth.send_raw_transaction(pending.raw)
            except Exception as exc:
                if not _is_nonce_error(exc):
                    raise LedgerError(f"rebroadcast of {pending.tx_hash} rejected: {exc}") from exc

    def replace(
        self, pending: PendingTx, *, cancel: bool = False, fees: Mapping[str, int] | None = None
    ) -> PendingTx:
        """Replace a stuck transaction: same nonce, fees bumped by `FeeConfig.replacement_bump`.

        `cancel` replaces it by a 0-value transfer to self. The returned `PendingTx` remembers
        the earlier hashes, so `wait` on it returns whichever version gets mined.
        """
        if pending.sender != self.address:
            raise LedgerError(
                f"cannot replace {pending.tx_hash}: it was sent by {pending.sender}, not {self.address}"
            )
        self.check_chain()
        fields = {
            k: v
            for k, v in pending.fields.items()
            if k in ("to", "data", "value", "gas", "chainId", "nonce")
        }
        if isinstance(fields.get("data"), str):
            fields["data"] = bytes(HexBytes(fields["data"]))
        if cancel:
            fields.update({"to": self.address, "data": b"", "value": 0, "gas": 21_000})
        fields.update(fees if fees is not None else self._fee_fields(bump_from=pending.fields))
        with self.nonces.lock:
            try:
                return self._sign_and_send(fields, label=pending.label, earlier=pending.all_hashes)
            except _retryable_errors():
                raise
            except Exception as exc:
                raise LedgerError(f"replacement of {pending.tx_hash} rejected: {exc}") from exc

    def receipt(self, pending: PendingTx) -> Any | None:
        """The receipt of whichever of `pending.all_hashes` is mined, or None."""
        from web3.exceptions import (  # noqa: PLC0415 (web3 takes 0.7 s to import; the verifier's read path never needs it)
            TransactionIndexingInProgress,
            TransactionNotFound,
        )

        for tx_hash in pending.all_hashes:
            with rpc_guard("eth_getTransactionReceipt", self._endpoint):
                try:
                    receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                except (TransactionNotFound, TransactionIndexingInProgress):
                    # geth answers "transaction indexing is in progress" for a while after it
                    # starts (a new network, a restart): not found yet, asked again next poll
                    continue
            if receipt is not None:
                return receipt
        return None

    def _mined(self, pending: PendingTx) -> tuple[int, str] | None:
        """The block (number, 0x-hash) whichever of `pending.all_hashes` is mined in, or None:
        `wait`'s polls. The lean path reads only these two fields of the node's receipt; an
        error answer (geth's "indexing in progress") or another shape goes to `receipt`."""
        if self.lean is not None:
            try:
                for tx_hash in pending.all_hashes:
                    with rpc_guard("eth_getTransactionReceipt", self._endpoint):
                        found = self.lean.result("eth_getTransactionReceipt", [tx_hash])
                    if found is None:
                        continue
                    if not isinstance(found, dict) or not isinstance(found.get("blockHash"), str):
                        raise LeanDeclined("eth_getTransactionReceipt")
                    block = read_quantity(found.get("blockNumber"), "blockNumber")
                    return block, "0x" + bytes.fromhex(found["blockHash"][2:]).hex()
                return None
            except (LeanDeclined, ValueError):
                pass
        receipt = self.receipt(pending)
        return None if receipt is None else _block_of(receipt)

    def wait(
        self,
        pending: PendingTx,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> Any:
        """Wait until `pending` (or a replacement) is mined with `confirmations` blocks.

        Raises `TransactionTimeout` if that does not happen in `timeout` seconds, the decoded
        `ContractRevert` (or `TransactionFailed`) if the mined transaction has status 0.
        """
        need = self.confirmations if confirmations is None else confirmations
        if need < 1:
            raise ValueError(f"confirmations must be >= 1, got {need}")
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            mined = self._mined(pending)
            if mined is not None:
                with rpc_guard("eth_blockNumber", self._endpoint):
                    head = self._quantity("eth_blockNumber", lambda: self.w3.eth.block_number)
                if head >= mined[0] + need - 1:
                    # still canonical? (a reorg could have moved or dropped it)
                    again = self.receipt(pending)
                    if again is not None and _block_of(again) == mined:
                        if int(again["status"]) != 1:
                            self._raise_failed(pending, again)
                        return again
                    continue
            if time.monotonic() >= deadline:
                if mined is None:
                    self._check_nonce_not_taken(pending)
                detail = (
                    "not mined"
                    if mined is None
                    else f"mined in block {mined[0]}, waiting for {need} confirmations"
                )
                raise TransactionTimeout(pending.tx_hash, limit, detail=detail)
            if on_poll is not None:
                on_poll()
            time.sleep(self.poll_interval)

    def nonce_state(self, pending: PendingTx) -> str:
        """Whether the sent ``pending`` can still be mined, from the chain's counts: ``mined``
        (one of its versions has a receipt), ``taken`` (another transaction used its nonce: it
        never will be), ``gap`` (the chain's pending count is below its nonce: the nonces before
        it were dropped, by a rollback or reorganisation, so it waits in the pool for ever), or
        ``open`` (it may still be mined). On ``taken`` and ``gap`` the cached nonce is resynced
        from the chain."""
        if self.receipt(pending) is not None:
            return "mined"
        mined = _transaction_count(self.w3, self.lean, pending.sender, "latest")
        if mined > pending.nonce:
            if self.receipt(pending) is not None:  # mined between the two reads
                return "mined"
            self.nonces.reconcile()
            return "taken"
        if self.nonces.chain_pending() < pending.nonce:
            self.nonces.reconcile()
            return "gap"
        return "open"

    def _check_nonce_not_taken(self, pending: PendingTx) -> None:
        """Raise `NonceError` if another transaction (not one of ours) consumed the nonce."""
        mined = _transaction_count(self.w3, self.lean, pending.sender, "latest")
        if mined > pending.nonce and self.receipt(pending) is None:
            raise NonceError(
                f"{pending.label or 'transaction'} {pending.tx_hash}: nonce {pending.nonce} of "
                f"{pending.sender} was used by another transaction; it will never be mined"
            )

    def _raise_failed(self, pending: PendingTx, receipt: Any) -> None:
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        fields = pending.fields
        call = {
            "from": self.address,
            "to": fields.get("to"),
            "data": fields.get("data", b""),
            "value": fields.get("value", 0),
            "gas": fields.get("gas"),
        }
        block = int(receipt["blockNumber"])
        for at in (block, block - 1):
            try:
                with rpc_guard("replay of a failed transaction", self._endpoint):
                    self.w3.eth.call(call, at)
            except ContractRevert:
                raise
            except ChainUnavailable:
                raise
            except Exception as exc:
                decoded = self.decoder.decode(revert_data_from(exc), function=pending.label)
                if decoded is not None:
                    raise decoded from None
        what = pending.label or "transaction"
        raise TransactionFailed(
            f"{what} {tx_hash} failed (status 0) in block {block}; revert reason not recoverable "
            f"(out of gas with gas limit {fields.get('gas')}?)"
        )

    def transact(
        self,
        tx: Mapping[str, Any],
        *,
        label: str = "",
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """`send` then `wait`; returns the receipt."""
        return self.wait(self.send(tx, label=label), confirmations=confirmations, timeout=timeout)
