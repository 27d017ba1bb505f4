"""A web3.py provider over `talentproof.ledger.endpoints.RpcEndpoints`: web3's requests (the
writes of `tx.TxSender`, the issuer's contract calls) on the ledger's failover transport.

Imported only where a `Web3` is built (`talentproof.ledger.chain.web3_on`): web3 takes 0.7 s to
import, and the verifier's read path never needs it.
"""

from __future__ import annotations

from typing import Any, cast

from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from talentproof.ledger.endpoints import RpcEndpoints

__all__ = ["EndpointsProvider"]


class EndpointsProvider(JSONBaseProvider):
    """JSON-RPC over `RpcEndpoints`: each request on the calling thread's `FailoverTransport`;
    a failure of every endpoint raises `ChainUnavailable` (one bounded attempt, no web3 retry)."""

    def __init__(self, endpoints: RpcEndpoints) -> None:
        super().__init__()
        self.endpoints = endpoints

    @property
    def endpoint_uri(self) -> str:
        """The current endpoint (what error messages name)."""
        return self.endpoints.current

    def __str__(self) -> str:
        return f"RPC connection {','.join(self.endpoints.urls)}"

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        body = self.encode_rpc_request(method, params)
        return cast(RPCResponse, self.endpoints.transport().post(body))

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        answer = self.endpoints.transport().post(self.encode_batch_rpc_request(requests))
        if isinstance(answer, list):
            return cast(list[RPCResponse], sorted(answer, key=lambda a: a.get("id", 0)))
        return cast(RPCResponse, answer)
