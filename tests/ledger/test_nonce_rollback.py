"""Nonces after the chain went back (issue 16.3): `TxSender` re-reads the account's pending count
before each send, so a cached nonce above the chain's (its transactions dropped by a rollback) is
never used: such a transaction would wait in the pool's queue for ever. `nonce_state` says
whether a sent transaction can still be mined. On a real Anvil of the test's own (it is
reverted)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def _rpc(url: str, method: str, params: list[object] | None = None) -> object:
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=10
    ).json()
    assert "error" not in answer, answer
    return answer["result"]


def test_sender_resyncs_a_nonce_the_chain_dropped(tmp_path: Path) -> None:
    from web3 import Web3

    from talentproof.ledger.nodes import LocalNode, NodeConfig, free_port
    from talentproof.ledger.tx import TxSender

    with LocalNode(
        NodeConfig(kind="anvil", port=free_port()), log_path=tmp_path / "anvil.log"
    ) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        sender = TxSender(w3, node.private_keys[3], timeout=10)
        to = node.accounts[4]
        snapshot = _rpc(node.rpc_url, "evm_snapshot")
        for _ in range(3):
            sender.transact({"to": to, "value": 1})
        assert sender.nonces.peek() == 3
        _rpc(node.rpc_url, "evm_setAutomine", [False])
        pending = sender.send({"to": to, "value": 2})
        assert pending.nonce == 3
        assert sender.nonce_state(pending) == "open"
        assert _rpc(node.rpc_url, "evm_revert", [snapshot]) is True  # the chain is at nonce 0
        # Anvil keeps the reverted pool's transaction as pending until the next block drops it
        _rpc(node.rpc_url, "evm_setAutomine", [True])
        _rpc(node.rpc_url, "evm_mine")

        # the transaction recorded at nonce 3 can never be mined now
        assert sender.nonce_state(pending) == "gap"
        assert sender.nonces.gaps == 1
        fresh = sender.send({"to": to, "value": 3})
        assert fresh.nonce == 0, "the nonce the rollback dropped was not taken from the chain"
        receipt = sender.wait(fresh)
        assert receipt["status"] == 1

        # cached ahead again (a rollback the sender was not told of): the next send resyncs
        snapshot = _rpc(node.rpc_url, "evm_snapshot")
        sender.transact({"to": to, "value": 4})
        assert _rpc(node.rpc_url, "evm_revert", [snapshot]) is True
        assert sender.nonces.peek() == 2  # the cache still says 2; the chain is at 1
        again = sender.send({"to": to, "value": 5})
        assert again.nonce == 1
        assert sender.wait(again)["status"] == 1
        assert sender.nonces.gaps == 2
        print(
            f"\nnonce gaps resynced: {sender.nonces.gaps}; final nonce on chain "
            f"{w3.eth.get_transaction_count(sender.address)}"
        )
