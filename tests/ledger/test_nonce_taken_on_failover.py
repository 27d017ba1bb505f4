"""The ``nonce too low`` failover answer (`talentproof.ledger.endpoints`) when it is not ours.

A raw transaction that failed on one endpoint and is answered ``nonce too low`` by the next is
taken as sent. That is right when our transaction took the nonce (the first endpoint relayed it
before dying); the attack here is the other case: the first endpoint dies without relaying it,
and meanwhile another sender of the same account (another process with the operator's key, a
replica) takes that nonce with a different transaction. Our transaction can then never be mined:
the failover must not take it as sent (the endpoint does not know it), the sender must sign it
again at the chain's next nonce, and a wait on the lost one must never return a receipt and must
say the nonce was taken. On a real Anvil (automine) behind `DyingEndpoint`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from talentproof.ledger.chain import web3_on
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.errors import NonceError
from talentproof.ledger.nodes import LocalNode, NodeConfig, free_port, rpc_call
from talentproof.ledger.tx import PendingTx, TxSender

from .dying_endpoint import DyingEndpoint

pytestmark = pytest.mark.integration

CHAIN_ID = 31337


@pytest.fixture
def node(tmp_path: Path) -> Iterator[LocalNode]:
    started = LocalNode(
        NodeConfig(kind="anvil", port=free_port()), log_path=tmp_path / "anvil.log"
    ).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def dying(node: LocalNode) -> Iterator[DyingEndpoint]:
    endpoint = DyingEndpoint(node.rpc_url)
    try:
        yield endpoint
    finally:
        endpoint.close()


def take_nonce(url: str, key: str) -> dict[str, str]:
    """Another sender of ``key``'s account: a 0-value self-transfer at the chain's next nonce,
    sent to ``url``; its hash and nonce."""
    account = Account.from_key(key)
    nonce = int(rpc_call(url, "eth_getTransactionCount", [account.address, "pending"]), 16)
    signed = account.sign_transaction(
        {
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 10**10,
            "nonce": nonce,
            "chainId": CHAIN_ID,
        }
    )
    tx_hash = rpc_call(url, "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    return {"hash": tx_hash, "nonce": hex(nonce)}


def raw_hash(raw: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw.removeprefix("0x"))).hex()


def test_a_nonce_another_transaction_took_is_not_taken_as_sent(
    node: LocalNode, dying: DyingEndpoint
) -> None:
    """The next endpoint does not know our transaction: its "nonce too low" is passed on and
    the sender signs again at the chain's next nonce; the lost transaction, were it awaited
    (an endpoint that cannot tell, as geth while it indexes), never gets a receipt and its wait
    says the nonce was taken."""
    key = node.private_keys[3]
    taken: dict[str, str] = {}
    dying.arm(lambda _raw: taken.update(take_nonce(node.rpc_url, key)))
    sender = TxSender(
        web3_on(RpcEndpoints([dying.url, node.rpc_url], timeout=5.0)),
        key,
        expected_chain_id=CHAIN_ID,
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
    orphan = PendingTx(lost, nonce, bytes.fromhex(dying.died_on[2:]), sender.address, CHAIN_ID, {})
    assert sender.receipt(orphan) is None
    with pytest.raises(NonceError, match="was used by another transaction"):
        sender.wait(orphan, timeout=0.5)
    assert sender.nonce_state(orphan) == "taken"
    assert rpc_call(node.rpc_url, "eth_getTransactionByHash", [lost]) is None


def test_a_nonce_our_own_transaction_took_is_ours(node: LocalNode, dying: DyingEndpoint) -> None:
    """The control: the first endpoint relayed our transaction before dying; the next one's
    answer (it knows the transaction, or its nonce is used) is our transaction, mined."""
    key = node.private_keys[4]
    dying.arm(lambda _raw: None, forward=True)
    sender = TxSender(
        web3_on(RpcEndpoints([dying.url, node.rpc_url], timeout=5.0)),
        key,
        expected_chain_id=CHAIN_ID,
    )
    pending = sender.send({"to": sender.address, "value": 7}, label="ours")
    assert dying.died_on is not None and raw_hash(dying.died_on) == pending.tx_hash
    receipt = sender.wait(pending, timeout=30)
    assert int(receipt["status"]) == 1
    assert "0x" + bytes(receipt["transactionHash"]).hex() == pending.tx_hash
