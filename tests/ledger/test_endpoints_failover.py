"""Failover between JSON-RPC endpoints (`talentproof.ledger.endpoints`), on two real Anvil nodes.

The two nodes are two chains with the same development accounts and chain id (not peered): what
one was sent, the other does not know, which shows which node answered. A node is killed with
SIGKILL (connection refused), or frozen with SIGSTOP (it accepts and never answers: a timeout).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from eth_account import Account

from talentproof.ledger.chain import connect, web3_on
from talentproof.ledger.endpoints import RpcEndpoints, parse_rpc_urls
from talentproof.ledger.errors import ChainUnavailable
from talentproof.ledger.nodes import LocalNode, NodeConfig, free_port, rpc_call
from talentproof.ledger.reader import RegistryReader
from talentproof.ledger.tx import TxSender

pytestmark = pytest.mark.integration


def _node(tmp: Path, name: str, **options: Any) -> LocalNode:
    return LocalNode(
        NodeConfig(kind="anvil", port=free_port(), **options), log_path=tmp / f"{name}.log"
    ).start()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[LocalNode]]:
    started = [_node(tmp_path, "a"), _node(tmp_path, "b")]
    try:
        yield started
    finally:
        for node in started:
            proc = node.process
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
            node.stop()


def _kill(node: LocalNode) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGKILL)
    node.process.wait(10)


def _freeze(node: LocalNode) -> None:
    """SIGSTOP, and wait until the process is stopped (signals are delivered asynchronously)."""
    assert node.process is not None
    os.kill(node.process.pid, signal.SIGSTOP)
    stat = Path(f"/proc/{node.process.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
        time.sleep(0.01)


def _body(method: str, *params: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})


def _mine(url: str, blocks: int) -> None:
    rpc_call(url, "anvil_mine", [hex(blocks)])


def test_reads_move_to_the_next_endpoint_and_stay_there(nodes: list[LocalNode]) -> None:
    a, b = nodes
    _mine(b.rpc_url, 5)  # tell the nodes apart: b is 5 blocks ahead
    endpoints = RpcEndpoints([a.rpc_url, b.rpc_url], timeout=5.0)
    transport = endpoints.transport()
    assert transport.post(_body("eth_blockNumber"))["result"] == "0x0"  # a answers first
    assert endpoints.current == a.rpc_url and endpoints.failovers == 0
    _kill(a)
    assert transport.post(_body("eth_blockNumber"))["result"] == "0x5"  # b, same call
    assert endpoints.current == b.rpc_url and endpoints.failovers == 1
    [down] = endpoints.down()
    assert down.url == a.rpc_url and not down.up and not down.current
    assert a.rpc_url in down.detail and down.down_seconds is not None
    # the healthy endpoint is remembered: every thread starts there now, no retry on a
    assert endpoints.order()[0] == 1
    failures = down.failures
    assert endpoints.transport().post(_body("eth_chainId"))["result"] == "0x7a69"
    assert endpoints.down()[0].failures == failures  # a was not tried again
    # a comes back (same port): a probe marks it up; requests stay on b
    a.start()
    assert [s.up for s in endpoints.check()] == [True, True]
    assert endpoints.down() == []
    assert transport.post(_body("eth_blockNumber"))["result"] == "0x5"


def test_every_endpoint_down_names_each_failure(nodes: list[LocalNode]) -> None:
    a, b = nodes
    endpoints = RpcEndpoints(f"{a.rpc_url}, {b.rpc_url}", timeout=5.0)
    _kill(a)
    _kill(b)
    with pytest.raises(ChainUnavailable) as caught:
        endpoints.transport().post(_body("eth_blockNumber"))
    assert a.rpc_url in str(caught.value) and b.rpc_url in str(caught.value)
    assert {s.url for s in endpoints.down()} == {a.rpc_url, b.rpc_url}


def test_a_frozen_endpoint_costs_one_timeout_and_no_more(nodes: list[LocalNode]) -> None:
    """A node that accepts and never answers uses the request's whole budget: the request fails
    (the second endpoint is not given time the caller does not have), the next goes to b."""
    a, b = nodes
    _mine(b.rpc_url, 3)
    endpoints = RpcEndpoints([a.rpc_url, b.rpc_url], timeout=1.0)
    transport = endpoints.transport()
    assert transport.post(_body("eth_blockNumber"))["result"] == "0x0"
    assert a.process is not None
    _freeze(a)
    try:
        with pytest.raises(ChainUnavailable) as caught:
            transport.post(_body("eth_blockNumber"))
        text = str(caught.value)
        assert "timed out" in text and f"{b.rpc_url} not tried (timeout)" in text, text
        assert transport.post(_body("eth_blockNumber"))["result"] == "0x3"  # b now
        assert endpoints.current == b.rpc_url
    finally:
        os.kill(a.process.pid, signal.SIGCONT)


def test_a_raw_transaction_sent_again_elsewhere_is_the_same_transaction(
    nodes: list[LocalNode],
) -> None:
    """The first endpoint failed; the next one already has the transaction (its nonce is used):
    the answer is the transaction's hash, as for a first send. Without a failover the node's
    error is returned as it is."""
    a, b = nodes
    key = b.private_keys[1]
    account = Account.from_key(key)
    signed = account.sign_transaction(
        {
            "to": account.address,
            "value": 1,
            "gas": 21_000,
            "gasPrice": 10**10,
            "nonce": 0,
            "chainId": 31337,
        }
    )
    raw = "0x" + bytes(signed.raw_transaction).hex()
    tx_hash = "0x" + bytes(signed.hash).hex()
    assert rpc_call(b.rpc_url, "eth_sendRawTransaction", [raw]) == tx_hash  # mined on b
    again = _body("eth_sendRawTransaction", raw)
    direct = RpcEndpoints([b.rpc_url, a.rpc_url]).transport().post(again)
    # no failover: the node's answer as it is (Anvil says one or the other, as it mines)
    assert direct["error"]["message"] in ("nonce too low", "transaction already imported"), direct
    endpoints = RpcEndpoints([a.rpc_url, b.rpc_url])
    _kill(a)
    assert endpoints.transport().post(again) == {"jsonrpc": "2.0", "id": 7, "result": tx_hash}
    # a batch too, and only the raw transaction's answer is changed
    batch = orjson.dumps(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": ["0x12"]},
        ]
    )
    answers = {x["id"]: x for x in RpcEndpoints([a.rpc_url, b.rpc_url]).transport().post(batch)}
    assert answers[1]["result"] == tx_hash
    assert "error" in answers[2]  # a malformed address stays the node's error


def test_transactions_and_web3_reads_fail_over(nodes: list[LocalNode]) -> None:
    a, b = nodes
    endpoints = RpcEndpoints([a.rpc_url, b.rpc_url], timeout=5.0)
    w3 = web3_on(endpoints)
    sender = TxSender(w3, b.private_keys[2], expected_chain_id=31337)
    first = sender.transact({"to": sender.address, "value": 1})
    assert rpc_call(a.rpc_url, "eth_getTransactionCount", [sender.address, "latest"]) == "0x1"
    _kill(a)
    second = sender.transact({"to": sender.address, "value": 2})
    assert int(second["blockNumber"]) == 1 and int(first["blockNumber"]) == 1
    assert rpc_call(b.rpc_url, "eth_getTransactionCount", [sender.address, "latest"]) == "0x1"
    assert w3.provider.endpoint_uri == b.rpc_url and endpoints.failovers == 1
    # connect() with several URLs is the same provider
    assert int(connect(f"{a.rpc_url},{b.rpc_url}", timeout=5).eth.block_number) == 1


def test_the_reader_fails_over(nodes: list[LocalNode]) -> None:
    a, b = nodes
    _mine(b.rpc_url, 2)
    reader = RegistryReader(f"{a.rpc_url},{b.rpc_url}", "0x" + "11" * 20, timeout=5.0)
    assert reader.endpoints is not None
    assert reader.block_number() == 0
    _kill(a)
    assert reader.block_number() == 2
    assert [s.url for s in reader.endpoints.down()] == [a.rpc_url]
    single = RegistryReader(b.rpc_url, "0x" + "11" * 20)
    assert single.endpoints is None and single.block_number() == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "got an empty entry"),
        ("http://a:1,", "got an empty entry (entry 2 of 2)"),
        ("http://a:1,ws://b:2", "got 'ws://b:2' (entry 2 of 2)"),
        ("127.0.0.1:8545", "expected http(s)://host[:port][/path]"),
        ("http://a:99999", "port 99999 of 'http://a:99999' is out of range (1-65535)"),
        ("http://a:0", "port 0 of 'http://a:0' is out of range (1-65535)"),
        ("http://a:1,http://a:1", "'http://a:1' is listed twice"),
    ],
)
def test_bad_url_lists_are_refused_naming_the_entry(value: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rpc_urls(value, name="TALENTPROOF_RPC_URL")
    assert expected in str(caught.value) and "TALENTPROOF_RPC_URL" in str(caught.value)


def test_url_lists_are_parsed() -> None:
    assert parse_rpc_urls(" http://a:1 , https://b/rpc ") == ("http://a:1", "https://b/rpc")
    assert parse_rpc_urls(["http://a:1"]) == ("http://a:1",)
