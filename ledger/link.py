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
transport (`talentproof.ledger.chain.web3_on`). The link is that transport and the issuer's
role; everything it reads and decodes is the ledger's shared registry access
(`talentproof.ledger._internal.web3views.Web3Registry` over `_internal.views.RegistryViews`, as
`RegistryClient` reads): calls, answers and events through the registry's `ContractABI`, blocks
as `BlockHead` (`views.block_head`), events as `DecodedEvent`, the typed reads (``issuer``,
``anchor``, ``signing_key``, ``credential_type``...) as `ledger.models` records. A revert raises
the registry's typed custom error; other node failures go on as the node's client raised them
(the caller translates them, as it does the `ChainUnavailable`).

web3 (0.7 s to import) is imported when a link is built: import this module where the chain is
first needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from talentproof.ledger._internal.web3views import Web3Registry
from talentproof.ledger.chain import web3_on
from talentproof.ledger.endpoints import RpcEndpoints

__all__ = ["RegistryLink"]


class RegistryLink(Web3Registry):
    """The registry at ``registry`` on ``endpoints``: its views (``call`` and the typed reads),
    the chain's blocks, receipts and the registry's logs, and `TxSender` accounts on the same
    transport.

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
        super().__init__(web3_on(endpoints), registry, abi=abi)
        self.endpoints = endpoints

    #: A `TxSender` for an account on the link's transport (`Web3Registry.tx_sender`): what the
    #: issuer's `ChainGateway.sender` calls.
    sender = Web3Registry.tx_sender
