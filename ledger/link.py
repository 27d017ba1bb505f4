"""The registry on the ledger's failover transport, for a service that reads and writes it (the
issuer's `ChainGateway`).

::

    link = RegistryLink(RpcEndpoints(rpc_url, timeout), deployment.registry)
    record = AnchorRecord.from_struct(link.call("anchor", issuer_id, root))
    head = link.head()                                   # BlockHead: number, hash, timestamp
    events = link.events(("RootAnchored",), from_block, head.number, issuerId=issuer_id)
    sender = link.sender(account_key, expected_chain_id=deployment.chain_id)
    pending = sender.send({"to": link.registry, "data": link.calldata("anchorRoot", root, 3)})
    link.receipt_events(sender.wait(pending))            # DecodedEvent each

Every request of the link, and of the `TxSender` accounts it makes, goes through one
`~talentproof.ledger.endpoints.RpcEndpoints` (failover between the configured URLs, each request
bounded by its timeout, a failure of every endpoint raised as `ChainUnavailable`): web3 on that
transport (`talentproof.ledger.chain.web3_on`). Calls, their answers and the registry's events
are encoded and decoded by the registry's `ContractABI`, the ledger's one ABI path; blocks come
back as `BlockHead`, events as `DecodedEvent`. Other node failures go on as the node's client
raised them (the caller translates them, as it does the `ChainUnavailable`).

web3 (0.7 s to import) is imported when a link is built: import this module where the chain is
first needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_utils import is_address, to_checksum_address

from talentproof.ledger.abi import ContractABI
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import web3_on
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.models import BlockHead, DecodedEvent
from talentproof.ledger.tx import TxSender

__all__ = ["RegistryLink"]


class RegistryLink:
    """The registry at ``registry`` on ``endpoints``: its views, the chain's blocks, receipts and
    the registry's logs, and `TxSender` accounts on the same transport.

    Args:
        endpoints: the JSON-RPC endpoints (one or several URLs) every request goes through.
        registry: the registry contract address (checksummed here; `ValueError` naming it if it
            is not a 20-byte hex address).
        abi: the registry ABI; default from the compiled artifact.
    """

    def __init__(
        self,
        endpoints: RpcEndpoints,
        registry: str,
        *,
        abi: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(registry, str) or not is_address(registry):
            raise ValueError(f"registry address must be a 20-byte hex address, got {registry!r}")
        self.endpoints = endpoints
        self.registry = to_checksum_address(registry)
        self.abi = ContractABI(load_artifact("TalentProofRegistry").abi if abi is None else abi)
        #: the `web3.Web3` on `endpoints` the link and its senders request through
        self.w3 = web3_on(endpoints)

    # -- chain --------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """The node's chain id (``eth_chainId``)."""
        return int(self.w3.eth.chain_id)

    def head(self) -> BlockHead:
        """The latest block (``eth_getBlockByNumber``)."""
        return _head(self.w3.eth.get_block("latest"))

    def block(self, number: int) -> BlockHead | None:
        """The canonical block at height ``number``; None if the chain has none (past its head,
        or it went back)."""
        from web3.exceptions import BlockNotFound  # noqa: PLC0415 (imported with web3)

        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return None if block is None else _head(block)

    def receipt_block(self, tx_hash: str) -> int | None:
        """The block a transaction is mined in on the canonical chain
        (``eth_getTransactionReceipt``); None if the node knows no receipt of it."""
        from web3.exceptions import TransactionNotFound  # noqa: PLC0415 (imported with web3)

        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        return None if receipt is None else int(receipt["blockNumber"])

    # -- the registry -------------------------------------------------------------------------

    def calldata(self, function: str, *args: Any) -> bytes:
        """The calldata of the registry's ``function(*args)`` (for a transaction's ``data``)."""
        return bytes(self.abi.function(function).encode(*args))

    def call(self, function: str, *args: Any) -> Any:
        """``eth_call`` of the registry's view ``function(*args)`` at the latest block, decoded
        (a struct as its field tuple, for `ledger.models`' ``from_struct``)."""
        fn = self.abi.function(function)
        return fn.decode(bytes(self.w3.eth.call({"to": self.registry, "data": fn.encode(*args)})))

    def events(
        self,
        names: Sequence[str],
        from_block: int,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[DecodedEvent]:
        """The registry's events ``names`` between the two blocks whose indexed arguments match
        ``filters`` (e.g. ``issuerId=3``), oldest first: one ``eth_getLogs``, decoded strictly
        (`ContractABI.decode_logs`)."""
        logs = self.w3.eth.get_logs(
            {
                "address": self.registry,
                "fromBlock": from_block,
                "toBlock": to_block,
                "topics": self.abi.log_topics(names, **filters),
            }
        )
        return self.abi.decode_logs(logs, self.registry)

    def receipt_events(self, receipt: Mapping[str, Any]) -> list[DecodedEvent]:
        """The registry's events in a transaction receipt (`TxSender.wait`'s), decoded."""
        return self.abi.decode_logs(receipt["logs"], self.registry)

    # -- accounts -----------------------------------------------------------------------------

    def sender(
        self,
        private_key: bytes | str,
        *,
        expected_chain_id: int | None,
        timeout: float = 120.0,
        poll_interval: float = 0.05,
    ) -> TxSender:
        """A `TxSender` for the account of ``private_key`` on the link's transport, decoding the
        registry's custom errors."""
        return TxSender(
            self.w3,
            private_key,
            expected_chain_id=expected_chain_id,
            error_decoder=self.abi.errors,
            timeout=timeout,
            poll_interval=poll_interval,
        )


def _head(block: Mapping[str, Any]) -> BlockHead:
    return BlockHead(
        int(block["number"]), "0x" + bytes(block["hash"]).hex(), int(block["timestamp"])
    )
