"""`ledger.tx.LeanRpc`, the sender's lean request path, against web3, its reference twin: on real
nodes (Anvil and Ganache) both send the same requests (web3 adds its chain-id validation) and
sign the same bytes, reverts and refusals raise the same errors (the lean path leaves every
error answer to web3), and the lean path is used only on the ledger's own transport."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from talentproof.ledger.chain import web3_on
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.errors import ContractRevert, LedgerError
from talentproof.ledger.tx import LeanDeclined, LeanRpc, TxSender, read_quantity

pytestmark = pytest.mark.integration


class _Requests:
    """Records the JSON-RPC requests of this thread's transport (the real `post` runs)."""

    def __init__(self, endpoints: RpcEndpoints) -> None:
        self.sent: list[tuple[str, Any]] = []
        transport = endpoints.transport()
        real = transport.post

        def post(body: bytes) -> Any:
            import orjson

            request = orjson.loads(body)
            self.sent.append((request["method"], request["params"]))
            return real(body)

        transport.post = post  # type: ignore[method-assign]

    def without_chain_ids(self) -> list[tuple[str, Any]]:
        return [r for r in self.sent if r[0] != "eth_chainId"]


@pytest.fixture
def link(chain_node: Any) -> Iterator[tuple[Any, RpcEndpoints, _Requests]]:
    endpoints = RpcEndpoints(chain_node.rpc_url, 10.0)
    w3 = web3_on(endpoints)
    yield w3, endpoints, _Requests(endpoints)
    endpoints.close()


def _rpc(endpoints: RpcEndpoints, method: str, params: list[Any]) -> Any:
    lean = LeanRpc(endpoints)
    return lean.result(method, params)


def _both(
    w3: Any, endpoints: RpcEndpoints, requests: _Requests, key: str, run: Any
) -> list[tuple[Any, list[tuple[str, Any]], int]]:
    """``run(sender)`` with the lean path and then with web3 alone, from the same chain state
    (a snapshot taken before and restored between): each one's (outcome, requests without
    eth_chainId, eth_chainId requests)."""
    out = []
    for lean in (True, False):
        snapshot = _rpc(endpoints, "evm_snapshot", [])
        requests.sent.clear()
        sender = TxSender(w3, key, expected_chain_id=int(w3.eth.chain_id), lean=lean)
        assert (sender.lean is not None) is lean
        requests.sent.clear()
        try:
            outcome: Any = run(sender)
        except ContractRevert as exc:
            outcome = (type(exc).__name__, exc.error_name, str(exc))
        except LedgerError as exc:
            outcome = (type(exc).__name__, None, str(exc))
        chain_ids = sum(1 for r in requests.sent if r[0] == "eth_chainId")
        out.append((outcome, requests.without_chain_ids(), chain_ids))
        assert _rpc(endpoints, "evm_revert", [snapshot]) is True
    return out


def _sent(sender: TxSender, tx: dict[str, Any]) -> tuple[Any, ...]:
    pending = sender.send(tx, label="t")
    receipt = sender.wait(pending, timeout=30)
    return pending.raw, pending.tx_hash, dict(pending.fields), int(receipt["status"])


def _until_broadcast(requests: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    methods = [m for m, _ in requests]
    return requests[: methods.index("eth_sendRawTransaction") + 1]


def _cases(seed: int) -> list[dict[str, Any]]:
    to = "0x" + "5a" * 20
    cases: list[dict[str, Any]] = [
        {"to": to, "value": 5},
        {"to": to, "data": b"", "value": 0},
        {"to": to, "data": bytes(range(256)) * 3, "value": 10**18},
        {"to": to, "data": "0x" + "ab" * 40},  # hex text: web3 answers (declined by the lean path)
    ]
    rng = random.Random(seed)
    for _ in range(4):
        cases.append(
            {
                "to": "0x" + rng.randbytes(20).hex(),
                "data": rng.randbytes(rng.randrange(0, 300)),
                "value": rng.randrange(0, 10**6),
            }
        )
    return cases


def test_lean_and_web3_send_the_same_requests_and_bytes(link, chain_node) -> None:
    w3, endpoints, requests = link
    key = chain_node.private_keys[5]
    for tx in _cases(17):
        (lean, lean_requests, lean_ids), (twin, twin_requests, twin_ids) = _both(
            w3, endpoints, requests, key, lambda sender, tx=tx: _sent(sender, tx)
        )
        assert lean == twin, tx  # raw bytes, hash, fields, status
        # the send's requests (the receipt polls after it depend on when the node mines)
        assert _until_broadcast(lean_requests) == _until_broadcast(twin_requests), tx
        assert {m for m, _ in lean_requests} == {m for m, _ in twin_requests}
        assert 1 <= lean_ids < twin_ids  # the chain check stays; web3's validation adds more


def test_a_revert_at_estimation_is_the_same_decoded_error(link, deployed_chain) -> None:
    """``anchorRoot`` from an account that is no issuer: the estimate's error answer goes to
    web3, whose exception carries the revert data the registry's decoder names."""
    w3, endpoints, requests = link
    from talentproof.ledger.link import RegistryLink

    registry = RegistryLink(endpoints, deployed_chain.deployment.registry)
    data = registry.calldata("anchorRoot", b"\x11" * 32, 3)
    to = deployed_chain.deployment.registry

    def run(sender: TxSender) -> Any:
        sender.decoder = registry.abi.errors
        return sender.send({"to": to, "data": data}, label="anchorRoot")

    (lean, _, _), (twin, _, _) = _both(w3, endpoints, requests, deployed_chain.keys[7], run)
    assert lean == twin
    assert isinstance(lean, tuple) and lean[1], lean  # a revert the registry's errors name


def test_a_refused_broadcast_is_the_same_error(link, chain_node) -> None:
    """Replacing a transaction already mined: the node refuses the bytes (nonce too low); the
    lean path sends nothing of its own, web3 sends them again and its refusal stands."""
    w3, endpoints, requests = link
    key = chain_node.private_keys[6]

    def run(sender: TxSender) -> Any:
        pending = sender.send({"to": "0x" + "77" * 20, "value": 1}, label="t")
        sender.wait(pending, timeout=30)
        return sender.replace(pending)

    (lean, lean_requests, _), (twin, twin_requests, _) = _both(w3, endpoints, requests, key, run)
    assert lean == twin
    if chain_node.config.kind == "ganache":  # Ganache takes the bytes (and never mines them)
        return
    assert lean[0] == "LedgerError" and "rejected" in lean[2], lean
    broadcasts = [r for r in lean_requests if r[0] == "eth_sendRawTransaction"]
    assert len(broadcasts) == 3 and broadcasts[1] == broadcasts[2]  # the refused one, again
    assert len([r for r in twin_requests if r[0] == "eth_sendRawTransaction"]) == 2


def test_the_lean_path_only_on_the_ledgers_own_transport(chain_node) -> None:
    from web3 import Web3

    plain = Web3(Web3.HTTPProvider(chain_node.rpc_url))
    assert TxSender(plain, chain_node.private_keys[1]).lean is None
    endpoints = RpcEndpoints(chain_node.rpc_url, 5.0)
    assert TxSender(web3_on(endpoints), chain_node.private_keys[1]).lean is not None
    assert TxSender(web3_on(endpoints), chain_node.private_keys[1], lean=False).lean is None


@pytest.mark.parametrize(
    "value", [None, 12, "12", "0x", "0xzz", "", b"0x01", ["0x1"], {"result": "0x1"}]
)
def test_a_quantity_that_is_not_one_is_declined(value: Any) -> None:
    with pytest.raises(LeanDeclined):
        read_quantity(value, "q")


def test_quantities_read_as_web3_reads_them() -> None:
    for text, number in (("0x0", 0), ("0x7a69", 31337), ("0xDE0B6B3A7640000", 10**18)):
        assert read_quantity(text, "q") == number


@pytest.mark.parametrize(
    "tx",
    [
        {"to": None, "data": b""},  # a deployment
        {"to": "0x" + "11" * 20, "data": "0x01"},
        {"to": "0x" + "11" * 20, "value": -1},
        {"to": "0x" + "11" * 20, "value": True},
        {"to": "0x" + "11" * 20, "value": 1.0},
        {"to": "0x" + "11" * 20, "nonce": 3},
        {"to": "0x" + "11" * 20, "maxFeePerGas": 3},
        {"to": "0x1111", "value": 1},
        {"to": "0x" + "11" * 20, "accessList": []},
    ],
)
def test_an_estimate_the_lean_path_does_not_know_is_left_to_web3(tx: dict[str, Any]) -> None:
    lean = LeanRpc(RpcEndpoints("http://127.0.0.1:9", 1.0))  # never asked: declined first
    with pytest.raises(LeanDeclined):
        lean.estimate_params({"from": "0x" + "22" * 20, **tx})
