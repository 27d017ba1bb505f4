"""Local node management and the Anvil-specific transaction modes (real processes)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from talentproof.ledger.chain import connect
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment, deploy_registry, ensure_deployed
from talentproof.ledger.errors import ChainUnavailable, NodeError, NonceError, TransactionTimeout
from talentproof.ledger.nodes import (
    DEV_MNEMONIC,
    LocalNode,
    NodeConfig,
    anvil,
    dev_private_keys,
    find_binary,
    ganache,
    verify_client,
)
from talentproof.ledger.reader import RegistryReader
from talentproof.ledger.tx import FeeConfig, TxSender

pytestmark = pytest.mark.integration

ROOT = keccak(b"node-tests")


def _refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_dev_keys_are_the_well_known_mnemonic_accounts() -> None:
    keys = dev_private_keys(12)
    assert keys[0] == "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    assert Account.from_key(keys[1]).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    Account.enable_unaudited_hdwallet_features()
    for i in (2, 11):  # the same keys as eth-account's Account.from_mnemonic
        ref = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        assert keys[i] == "0x" + bytes(ref.key).hex()
    other = dev_private_keys(
        1, "legal winner thank year wave sausage worth useful legal winner thank yellow"
    )
    ref = Account.from_mnemonic(
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        account_path="m/44'/60'/0'/0/0",
    )
    assert other[0] == "0x" + bytes(ref.key).hex()


def test_build_command_is_a_pure_mapping(tmp_path: Path) -> None:
    cmd = NodeConfig(kind="anvil", state_path=tmp_path / "s.json", zero_gas=True).build_command(
        "anvil", 9
    )
    assert cmd[:3] == ["anvil", "--host", "127.0.0.1"] and "--state" in cmd
    assert cmd[cmd.index("--base-fee") + 1] == "0" and cmd[cmd.index("--gas-price") + 1] == "0"
    g = NodeConfig(kind="ganache", state_path=tmp_path / "db", zero_gas=True).build_command(
        "ganache", 9
    )
    assert g[g.index("--database.dbPath") + 1] == str(tmp_path / "db")
    assert g[g.index("--chain.hardfork") + 1] == "berlin"


def test_both_nodes_answer_as_themselves(anvil_node, ganache_node) -> None:  # type: ignore[no-untyped-def]
    assert verify_client(anvil_node.rpc_url, "anvil").startswith("anvil")
    assert verify_client(ganache_node.rpc_url, "ganache").startswith("Ganache")
    for node in (anvil_node, ganache_node):
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.chain_id == node.chain_id
        assert w3.eth.get_balance(node.accounts[0]) > 0
        assert [a.lower() for a in w3.eth.accounts[:3]] == [a.lower() for a in node.accounts[:3]]
    with pytest.raises(NodeError, match="is not anvil"):
        verify_client(ganache_node.rpc_url, "anvil")


_IMPOSTORS = {
    # kind the test asks for: (binary actually run, its port flag, extra flags, what it reports)
    "anvil": (
        "ganache",
        "--server.port",
        "--server.host 127.0.0.1 --chain.chainId 31337",
        "Ganache",
    ),
    "ganache": ("anvil", "--port", "--host 127.0.0.1 --chain-id 1337", "anvil"),
}


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_client_version_mismatch_is_refused(kind: str, tmp_path: Path) -> None:
    """A binary that claims to be `kind` but serves the other client is stopped and refused."""
    real, port_flag, flags, reports = _IMPOSTORS[kind]
    wanted_flag = "--port" if kind == "anvil" else "--server.port"
    fake = tmp_path / kind
    fake.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        # accept {kind}'s flags, run {real} on the requested port
        port=8545
        while [ $# -gt 0 ]; do [ "$1" = "{wanted_flag}" ] && port=$2; shift; done
        exec {find_binary(real)} {port_flag} "$port" {flags}
        """)
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    node = LocalNode(NodeConfig(kind=kind), binary=fake, log_path=tmp_path / "fake.log")  # type: ignore[arg-type]
    with pytest.raises(NodeError, match=f"is not {kind}: web3_clientVersion is '{reports}"):
        node.start()
    assert node.process is None and not node.running  # the impostor was stopped


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_node_is_stopped_when_the_body_fails(kind: str, tmp_path: Path) -> None:
    log = tmp_path / f"{kind}.log"
    node = LocalNode(NodeConfig(kind=kind), log_path=log)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="test failure"), node:
        assert node.process is not None
        pid, port = node.process.pid, node.port
        raise RuntimeError("test failure")
    assert _gone(pid) and _refuses(port)
    assert "127.0.0.1:" in log.read_text()  # the node's output went to the log file


def test_child_node_dies_with_its_parent(tmp_path: Path) -> None:
    script = textwrap.dedent("""\
        import sys, time
        from talentproof.ledger.nodes import LocalNode
        node = LocalNode().start()
        print(node.process.pid, node.port, flush=True)
        time.sleep(600)
        """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()  # type: ignore[union-attr]
        pid, port = (int(x) for x in line.split())
        assert not _gone(pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a figure
    while not (_gone(pid) and _refuses(port)) and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL teardown of a multi-threaded process is not instantaneous
    assert _gone(pid) and _refuses(port)


def test_anvil_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "anvil.json"
    record = tmp_path / "deployment.json"
    with anvil(state_file=state) as node:
        w3 = connect(node.rpc_url)
        dep = ensure_deployed(w3, node.private_keys[0], record)
        gov = RegistryClient(w3, dep, node.private_keys[0])
        issuer_id = gov.register_issuer("HKU", "did:web:hku.hk", [node.accounts[1]])
        RegistryClient(w3, dep, node.private_keys[1]).anchor_root(ROOT, 3)
    assert state.exists()
    with anvil(state_file=state) as node:
        w3 = connect(node.rpc_url)
        again = ensure_deployed(w3, node.private_keys[0], record)
        assert again == dep  # found again, not redeployed
        gov = RegistryClient(w3, again, node.private_keys[0])
        assert gov.issuer(issuer_id).name == "HKU"
        assert gov.anchor(issuer_id, ROOT).leaf_count == 3  # type: ignore[union-attr]
        # and the chain keeps going: new writes on top of the restored state
        assert gov.register_issuer("CUHK", "did:web:cuhk.edu.hk", []) == issuer_id + 1


def test_ganache_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "ganache-db"
    with ganache(db_path=db) as node:
        w3 = connect(node.rpc_url)
        dep = deploy_registry(w3, node.private_keys[0])
        RegistryClient(w3, dep, node.private_keys[0]).register_issuer("HKU", "did:web:hku.hk", [])
    with ganache(db_path=db) as node:
        w3 = connect(node.rpc_url)
        assert RegistryClient(w3, dep).issuer(1).name == "HKU"


def test_node_options_reach_the_node(tmp_path: Path) -> None:
    log = tmp_path / "ganache.log"
    with ganache(chain_id=4321, zero_gas=True, log_path=log) as node:
        assert (node.chain_id, node.log_path) == (4321, log)
        w3 = connect(node.rpc_url)
        assert w3.eth.chain_id == 4321 and w3.eth.gas_price == 0
    assert log.stat().st_size > 0


@pytest.mark.parametrize("start", [anvil, ganache])
def test_unknown_node_options_are_refused(start) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=r"\(\) got unexpected keyword arguments: accounts, db"):
        start(accounts=3, db=None)


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_zero_gas_price_legacy_mode(kind: str) -> None:
    """Besu/QBFT-style free gas: Anvil with base fee 0, Ganache on berlin; type-0, gasPrice 0."""
    with LocalNode(NodeConfig(kind=kind, zero_gas=True)) as node:  # type: ignore[arg-type]
        w3 = connect(node.rpc_url)
        sender = TxSender(w3, node.private_keys[0])
        assert sender.uses_legacy_fees()
        balance = w3.eth.get_balance(node.accounts[0])
        dep = deploy_registry(w3, node.private_keys[0])
        gov = RegistryClient(w3, dep, node.private_keys[0])
        gov.register_issuer("HKU", "did:web:hku.hk", [node.accounts[0]])
        receipt = gov.anchor_root(ROOT, 1)
        tx = w3.eth.get_transaction(receipt.tx_hash)
        assert tx["type"] == 0 and tx["gasPrice"] == 0
        assert w3.eth.get_balance(node.accounts[0]) == balance  # gas cost nothing


def test_default_anvil_gets_eip1559_transactions(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_anvil
    block = reg.w3.eth.get_block(reg.deployment.deployment_block, True)
    tx = reg.w3.eth.get_transaction(block["transactions"][0]["hash"])
    assert tx["type"] == 2 and tx["maxFeePerGas"] >= tx["maxPriorityFeePerGas"] > 0


def test_fixed_gas_price_forces_legacy_transactions(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    reg = deployed_anvil
    client = RegistryClient(
        reg.w3, reg.deployment, reg.governor_key, fees=FeeConfig(gas_price=3 * 10**9)
    )
    receipt = client.register_issuer("HKU", "did:web:hku.hk", [])
    assert receipt == 1
    tx = reg.w3.eth.get_transaction(client.events("IssuerRegistered")[0].transaction_hash)
    assert tx["type"] == 0 and tx["gasPrice"] == 3 * 10**9


def test_stuck_transaction_is_replaced(deployed_chain) -> None:  # type: ignore[no-untyped-def]
    """On the shared node with mining paused (restored afterwards, also on failure)."""
    reg = deployed_chain
    w3, kind = reg.w3, reg.node.kind
    issuer_key = reg.fresh_key()
    gov = RegistryClient(w3, reg.deployment, issuer_key, timeout=5)
    issuer_id = reg.governor.register_issuer("HKU", "did:web:hku.hk", [gov.account])
    # Ganache 7.9.2 keeps (and later mines) both versions when an account's nonce-0 transaction
    # is replaced; give the account a mined transaction first so the replaced one has nonce 1.
    gov.sender.wait(gov.sender.send({"to": gov.account, "value": 0}))
    # stop mining: transactions now wait in the pool until evm_mine
    w3.provider.make_request(
        *(("evm_setAutomine", [False]) if kind == "anvil" else ("miner_stop", []))
    )
    try:
        pending = gov.send("anchorRoot", ROOT, 2)
        with pytest.raises(TransactionTimeout, match="not mined"):
            gov.wait(pending, timeout=0.3)
        replacement = gov.replace(pending)
        assert replacement.nonce == pending.nonce and replacement.tx_hash != pending.tx_hash
        assert replacement.fields["maxPriorityFeePerGas"] > pending.fields["maxPriorityFeePerGas"]
        assert replacement.earlier_hashes == (pending.tx_hash,)
        w3.provider.make_request("evm_mine", [])
        receipt = gov.wait(replacement)
        assert receipt.tx_hash == replacement.tx_hash
        assert w3.eth.get_transaction_receipt(replacement.tx_hash)["status"] == 1
        with pytest.raises(Exception, match="not found"):
            w3.eth.get_transaction_receipt(pending.tx_hash)
        # waiting on the superseded version alone: its nonce is taken, it will never be mined
        with pytest.raises(NonceError, match="used by another transaction"):
            gov.wait(pending, timeout=0.2)
        assert gov.anchor(issuer_id, ROOT).leaf_count == 2  # type: ignore[union-attr]
        # cancelling: a 0-value self transfer takes the nonce instead
        stuck = gov.send("anchorRoot", keccak(b"other"), 1)
        cancel = gov.replace(stuck, cancel=True)
        w3.provider.make_request("evm_mine", [])
        gov.wait(cancel)
        assert gov.anchor(issuer_id, keccak(b"other")) is None
    finally:
        w3.provider.make_request(
            *(("evm_setAutomine", [True]) if kind == "anvil" else ("miner_start", []))
        )


def test_unreachable_chain_raises_chain_unavailable(tmp_path: Path) -> None:
    with anvil() as node:
        url, registry = node.rpc_url, "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        w3 = connect(url)
        dep = deploy_registry(w3, node.private_keys[0])
        reader = RegistryReader(url, dep.registry)
        assert reader.chain_id() == node.chain_id  # connection now open and kept alive
    assert registry == dep.registry
    with pytest.raises(ChainUnavailable, match="unreachable"):
        reader.verify_credential(ROOT, ROOT, ROOT, ROOT, ROOT)
    with pytest.raises(ChainUnavailable):
        reader.chain_id()
    with pytest.raises(ChainUnavailable):
        connect(url)
    with pytest.raises(ChainUnavailable):
        RegistryClient(w3, dep, node.private_keys[0]).register_issuer("X", "did:web:x", [])
    with pytest.raises(ChainUnavailable):
        RegistryClient(w3, dep).issuer(1)
    assert isinstance(Deployment.from_json(dep.to_json()), Deployment)


def test_nodes_left_running_are_stopped_at_interpreter_exit() -> None:
    script = (
        "from talentproof.ledger.nodes import LocalNode\n"
        "node = LocalNode().start()\n"
        "print(node.process.pid, node.port, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pid, port = (int(x) for x in out.stdout.split())
    assert _gone(pid) and _refuses(port)
