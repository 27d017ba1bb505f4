"""The registry on a `web3.Web3`: what the issuer's link and the governance client share.

`Web3Registry` is `RegistryViews` (every typed read of the registry) on web3's ``eth_call``,
plus the chain's blocks and receipts, the registry's event logs and `TxSender` accounts on the
same transport. `talentproof.ledger.link.RegistryLink` puts it on the failover transport
(`ledger.endpoints.RpcEndpoints`); `talentproof.ledger.client.RegistryClient` on any web3 and
adds the operator's writes. Blocks are read by `views.block_head`, events decoded strictly by
the registry's `ContractABI`, reverts raised as the registry's typed custom error, and a
connection failure as `ChainUnavailable` (`ledger.tx.rpc_guard`).

web3 itself is never imported here at module level: a `Web3` is handed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from talentproof.ledger._internal.views import (
    RegistryViews,
    block_head,
    checksum_address,
    registry_abi,
)
from talentproof.ledger.errors import LedgerError, revert_data_from
from talentproof.ledger.models import BlockHead, DecodedEvent
from talentproof.ledger.tx import FeeConfig, TxSender, endpoint_of, rpc_guard

__all__ = ["Web3Registry"]


class Web3Registry(RegistryViews):
    """The registry at ``registry`` read through ``w3``.

    Args:
        w3: a `web3.Web3` (every request goes through its provider).
        registry: the registry address (checksummed here; `ValueError` naming it otherwise).
        abi: the registry ABI; default from the compiled artifact (`views.registry_abi`).
    """

    def __init__(
        self, w3: Any, registry: str, *, abi: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        self.registry = checksum_address(registry, "registry address")
        self.abi = registry_abi(abi)
        #: the `web3.Web3` every read, and every `tx_sender`'s write, goes through
        self.w3 = w3
        #: where `events` starts when given no block (the deployment block, when known)
        self.first_block = 0

    def where(self) -> str:
        """The endpoint requests go to (for messages; empty for an in-process provider)."""
        return endpoint_of(self.w3)

    # -- chain --------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """The node's chain id (``eth_chainId``)."""
        with rpc_guard("eth_chainId", self.where()):
            return int(self.w3.eth.chain_id)

    def head(self) -> BlockHead:
        """The latest block (``eth_getBlockByNumber``)."""
        with rpc_guard("eth_getBlockByNumber", self.where()):
            block = self.w3.eth.get_block("latest")
        return block_head(block, self.where(), "the latest block")

    def block(self, number: int) -> BlockHead | None:
        """The canonical block at height ``number``; None if the chain has none (past its head,
        or it went back)."""
        from web3.exceptions import BlockNotFound  # noqa: PLC0415 (imported with web3)

        with rpc_guard("eth_getBlockByNumber", self.where()):
            try:
                block = self.w3.eth.get_block(number)
            except BlockNotFound:
                return None
        return None if block is None else block_head(block, self.where(), f"block {number}")

    def receipt_block(self, tx_hash: str) -> int | None:
        """The block a transaction is mined in on the canonical chain
        (``eth_getTransactionReceipt``); None if the node knows no receipt of it."""
        from web3.exceptions import TransactionNotFound  # noqa: PLC0415 (imported with web3)

        with rpc_guard("eth_getTransactionReceipt", self.where()):
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None
        return None if receipt is None else int(receipt["blockNumber"])

    # -- the registry -------------------------------------------------------------------------

    def eth_call(self, tx: dict[str, Any], block: int | str, label: str) -> bytes:
        """web3's ``eth_call``; a revert raises the registry's decoded custom error."""
        with rpc_guard(f"eth_call {label}", self.where()):
            try:
                return bytes(self.w3.eth.call(tx, block))
            except LedgerError:
                raise
            except Exception as exc:
                decoded = self.abi.errors.decode(revert_data_from(exc), function=label)
                if decoded is not None:
                    raise decoded from None
                raise

    def events(
        self,
        names: str | Sequence[str] | None = None,
        from_block: int | None = None,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[DecodedEvent]:
        """The registry's events ``names`` (one name, several, or None: every event) between
        the two blocks (``from_block`` None: `first_block`) whose indexed arguments match
        ``filters`` (e.g. ``events("RootAnchored", issuerId=3)``), oldest first: one
        ``eth_getLogs``, decoded strictly (`ContractABI.decode_logs`: a log of the registry the
        ABI cannot decode raises `LedgerError`)."""
        wanted = () if names is None else (names,) if isinstance(names, str) else names
        topics = self.abi.log_topics(wanted, **filters)
        params: dict[str, Any] = {
            "address": self.registry,
            "fromBlock": self.first_block if from_block is None else from_block,
            "toBlock": to_block,
        }
        if topics:
            params["topics"] = topics
        with rpc_guard("eth_getLogs", self.where()):
            logs = self.w3.eth.get_logs(params)
        return self.abi.decode_logs(logs, self.registry)

    def receipt_events(self, receipt: Mapping[str, Any]) -> list[DecodedEvent]:
        """The registry's events in a transaction receipt (`TxSender.wait`'s), decoded."""
        return self.abi.decode_logs(receipt["logs"], self.registry)

    # -- accounts -----------------------------------------------------------------------------

    def tx_sender(
        self,
        private_key: bytes | str,
        *,
        expected_chain_id: int | None,
        fees: FeeConfig | None = None,
        confirmations: int = 1,
        timeout: float = 120.0,
        poll_interval: float = 0.05,
    ) -> TxSender:
        """A `TxSender` for the account of ``private_key`` on this transport, decoding the
        registry's custom errors."""
        return TxSender(
            self.w3,
            private_key,
            expected_chain_id=expected_chain_id,
            fees=fees,
            error_decoder=self.abi.errors,
            confirmations=confirmations,
            timeout=timeout,
            poll_interval=poll_interval,
        )
