"""The ``nonce too low`` failover answer (`talentproof.ledger.endpoints`) when it is not ours.

A raw transaction that failed on one endpoint and is answered ``nonce too low`` by the next is
taken as sent. That is right when our transaction took the nonce (the first endpoint relayed it
before dying); the attack here is the other case: the first endpoint dies without relaying it,
and meanwhile another sender of the same account (another process with the operator's key, a
replica) takes that nonce with a different transaction. Our transaction can then never be mined:
the failover must not take it as sent (the endpoint does not know it), the sender must sign it
again at the chain's next nonce, and a wait on the lost one must never return a receipt and must
say the nonce was taken. On a real Anvil (automine) and a real geth Clique network, behind
`DyingEndpoint`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from talentproof.ledger.chain import web3_on
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.errors import NodeError, NonceError
from talentproof.ledger.nodes import LocalNode, NodeConfig, free_port, rpc_call
from talentproof.ledger.tx import PendingTx, TxSender

from .dying_endpoint import DyingEndpoint

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Chain:
    """A running chain: its JSON-RPC URL, chain id and funded keys."""

    rpc_url: str
    chain_id: int
    private_keys: tuple[str, ...]


@pytest.fixture(
    params=["anvil", pytest.param("geth", marks=pytest.mark.xdist_group("e2e-network"))]
)
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    """A fresh Anvil (automine), or a real geth Clique network (one signer, 1 s blocks, one RPC
    node: `talentproof.ledger.network`)."""
    if request.param == "anvil":
        anvil = LocalNode(
            NodeConfig(kind="anvil", port=free_port()), log_path=tmp_path / "anvil.log"
        ).start()
        try:
            yield Chain(anvil.rpc_url, 31337, tuple(anvil.private_keys))
        finally:
            anvil.stop()
        return
    from talentproof.ledger.network import Network, NetworkConfig

    net = Network(tmp_path / "net", NetworkConfig(signers=1, rpc_nodes=1, block_period=1))
    net.start()
    try:
        yield Chain(net.rpc_url, net.chain_id, net.private_keys)
    finally:
        net.stop()


@pytest.fixture
def dying(node: Chain) -> Iterator[DyingEndpoint]:
    endpoint = DyingEndpoint(node.rpc_url)
    try:
        yield endpoint
    finally:
        endpoint.close()


def _receipt(url: str, tx_hash: str) -> object | None:
    """The receipt, or None while there is none yet, also while geth answers "transaction
    indexing is in progress" (for a while after it starts; as `TxSender.receipt` reads it)."""
    try:
        return rpc_call(url, "eth_getTransactionReceipt", [tx_hash])
    except NodeError as exc:
        if "transaction indexing is in progress" in str(exc):
            return None
        raise


def take_nonce(url: str, key: str, chain_id: int = 31337) -> dict[str, str]:
    """Another sender of ``key``'s account: a 0-value self-transfer at the chain's next nonce,
    sent to ``url`` and awaited until mined; its hash and nonce."""
    account = Account.from_key(key)
    nonce = int(rpc_call(url, "eth_getTransactionCount", [account.address, "pending"]), 16)
    signed = account.sign_transaction(
        {
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 10**10,
            "nonce": nonce,
            "chainId": chain_id,
        }
    )
    tx_hash = rpc_call(url, "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    deadline = time.monotonic() + 60
    while _receipt(url, tx_hash) is None:
        assert time.monotonic() < deadline, f"{tx_hash} not mined in 60 s"
        time.sleep(0.1)
    return {"hash": tx_hash, "nonce": hex(nonce)}


def raw_hash(raw: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw.removeprefix("0x"))).hex()


def test_a_nonce_another_transaction_took_is_not_taken_as_sent(
    node: Chain, dying: DyingEndpoint
) -> None:
    """The next endpoint does not know our transaction: its "nonce too low" is passed on and
    the sender signs again at the chain's next nonce; the lost transaction, were it awaited
    (an endpoint that cannot tell, as geth while it indexes), never gets a receipt and its wait
    says the nonce was taken."""
    key = node.private_keys[3]
    taken: dict[str, str] = {}
    dying.arm(lambda _raw: taken.update(take_nonce(node.rpc_url, key, node.chain_id)))
    sender = TxSender(
        web3_on(RpcEndpoints([dying.url, node.rpc_url], timeout=5.0)),
        key,
        expected_chain_id=node.chain_id,
        poll_interval=0.05,
    )
    pending = sender.send({"to": sender.address, "value": 7}, label="ours")
    assert dying.died_on is not None and taken, "the first endpoint did not die on the send"
    lost = raw_hash(dying.died_on)
    nonce = int(taken["nonce"], 16)
    # the other sender's transaction holds the nonce the lost one was signed with
    mined = rpc_call(node.rpc_url, "eth_getTransactionByHash", [taken["hash"]])
    assert mined is not None and mined["blockNumber"] is not None
    assert rpc_call(node.rpc_url, "eth_getTransactionByHash", [lost]) is None
    # ours was signed again at the next nonce and is mined
    assert pending.tx_hash != lost and pending.nonce == nonce + 1
    receipt = sender.wait(pending, timeout=30)
    assert int(receipt["status"]) == 1
    assert "0x" + bytes(receipt["transactionHash"]).hex() == pending.tx_hash

    # the lost transaction, as it would be recorded had the endpoint not told
    orphan = PendingTx(
        lost, nonce, bytes.fromhex(dying.died_on[2:]), sender.address, node.chain_id, {}
    )
    assert sender.receipt(orphan) is None
    with pytest.raises(NonceError, match="was used by another transaction"):
        sender.wait(orphan, timeout=0.5)
    assert sender.nonce_state(orphan) == "taken"
    assert rpc_call(node.rpc_url, "eth_getTransactionByHash", [lost]) is None


def test_a_nonce_our_own_transaction_took_is_ours(node: Chain, dying: DyingEndpoint) -> None:
    """The control: the first endpoint relayed our transaction before dying; the next one's
    answer (it knows the transaction, or its nonce is used) is our transaction, mined."""
    key = node.private_keys[4]
    dying.arm(lambda _raw: None, forward=True)
    sender = TxSender(
        web3_on(RpcEndpoints([dying.url, node.rpc_url], timeout=5.0)),
        key,
        expected_chain_id=node.chain_id,
    )
    pending = sender.send({"to": sender.address, "value": 7}, label="ours")
    assert dying.died_on is not None and raw_hash(dying.died_on) == pending.tx_hash
    receipt = sender.wait(pending, timeout=30)
    assert int(receipt["status"]) == 1
    assert "0x" + bytes(receipt["transactionHash"]).hex() == pending.tx_hash
