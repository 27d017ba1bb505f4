"""The product on a real multi-node permissioned network (issue 16, points 1 and 2).

`talentproof run --chain network` starts three geth Clique signers and a non-signing RPC node
(`talentproof.ledger.network`, geth built once by `make setup` into ``.cache/geth``) and runs the
whole stack on it; the end-to-end story (`story.py`: deploy, onboard, issue, anchor, verify by
the service and the CLI, revoke, verify again) and the wallet's path (OpenID4VCI, list,
OpenID4VP) pass there as on Anvil. The checks below also show that it is a network: blocks
sealed by several signers, the anchoring transaction on every node, sent by the institution's
account (never by a node's), the signers serving no HTTP.

`talentproof network start | status | stop` is exercised on its own network: detached nodes,
status from another process, a clean stop, a restart resuming the chain, a changed layout
refused. And the geth build: concurrent callers on an empty cache build once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from talentproof.ledger.geth import GETH_VERSION, build_geth, geth_version
from talentproof.ledger.network import DEFAULT_CHAIN_ID, PIDS_FILE, Network

from .stack import REPO, Stack, alive
from .story import check_seeded_on_chain, check_story
from .test_wallet import test_wallet_receives_lists_and_presents as wallet_story

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-network")]


def rpc(url: str, method: str, *params: object) -> Any:
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    assert "error" not in answer, answer
    return answer["result"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("e2e-network") / "data", chain="network")
    running.start(timeout=600)  # geth is built by `make setup`; a missing cache builds here
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def test_the_stack_runs_on_three_signers_and_an_rpc_node(stack: Stack) -> None:
    net = Network(stack.data_dir / "chain" / "network")
    nodes = net.status()
    assert [(n.name, n.role, n.running) for n in nodes] == [
        ("signer-1", "signer", True),
        ("signer-2", "signer", True),
        ("signer-3", "signer", True),
        ("rpc-1", "rpc", True),
    ]
    assert all(n.peers == 3 for n in nodes), nodes
    assert len({n.pid for n in nodes}) == 4
    ports = [p for n in net.layout for p in (n.p2p_port, n.authrpc_port, n.http_port) if p]
    assert len(ports) == len(set(ports)) == 9  # own ports: p2p and engine each, HTTP on rpc-1
    assert net.rpc_url == stack.rpc_url
    assert int(str(rpc(stack.rpc_url, "eth_chainId")), 16) == DEFAULT_CHAIN_ID
    assert str(rpc(stack.rpc_url, "web3_clientVersion")).startswith("Geth/v1.13.15")
    # the signers named in the genesis are the signers of the chain
    signers = {n.signer.lower() for n in net.signers}
    assert {s.lower() for s in net.call("signer-1", "clique_getSigners")} == signers
    # the signers answer no HTTP: their unlocked accounts sign blocks, nothing else
    assert [n.http_port for n in net.signers] == [0, 0, 0]
    assert "--http" not in " ".join(net.command(net.signers[0], "geth"))
    # `talentproof run` says what it started and how to look at the nodes; the command works
    said = next(line for line in stack.output().splitlines() if "network status --dir" in line)
    assert "3 Clique signers and 1 RPC node, a block every 1 s" in said, said
    # the issuer runs with the network's confirmations (Clique reorganises single blocks)
    assert "an anchor is final after 3 blocks" in stack.output(), stack.output()
    shown = subprocess.run(
        ["sh", "-c", said.split("nodes: ", 1)[1]],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.count("running") == 4 and "signer-3" in shown.stdout, shown.stdout


def test_seeded_institutions_are_on_chain(stack: Stack) -> None:
    check_seeded_on_chain(stack)


def test_issue_anchor_verify_revoke(stack: Stack, tmp_path: Path) -> None:
    check_story(stack, tmp_path)
    net = Network(stack.data_dir / "chain" / "network")
    # every anchoring transaction was sent by an institution's account, sealed by a signer,
    # and is on every node of the network
    seed = stack.seed()
    accounts = {i["chain_account"].lower() for i in seed["institutions"].values()}
    head = int(str(rpc(stack.rpc_url, "eth_blockNumber")), 16)
    sealers: set[str] = set()
    anchors = 0
    signers = {n.signer.lower() for n in net.signers}
    for number in range(1, head + 1):
        block = rpc(stack.rpc_url, "eth_getBlockByNumber", hex(number), True)
        assert isinstance(block, dict)
        sealer = str(net.call("signer-1", "clique_getSigner", [block["hash"]])).lower()
        assert sealer in signers
        sealers.add(sealer)
        for tx in block["transactions"]:
            if tx["from"].lower() in accounts:
                anchors += 1
                for node in net.layout:
                    receipt = net.call(node.name, "eth_getTransactionReceipt", [tx["hash"]])
                    assert isinstance(receipt, dict) and receipt["blockHash"] == block["hash"]
            assert tx["from"].lower() not in signers
    assert anchors >= 4  # three anchors and a revocation at least
    assert len(sealers) >= 2, sealers  # sealed by the network, not one node
    print(f"{head} blocks sealed by {len(sealers)} signers; {anchors} institution transactions")


def test_wallet_receives_lists_and_presents(stack: Stack, tmp_path: Path) -> None:
    wallet_story(stack, tmp_path)


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
    return subprocess.run(
        [sys.executable, "-m", "talentproof", "network", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_network_start_status_stop_and_restart(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    started = _cli("start", "--dir", str(folder), "--rpc-port", "0", "--signers", "2",
                   "--block-period", "2")  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "started in" in started.stdout and "Geth/v1.13.15" in started.stdout
        status = _cli("status", "--dir", str(folder), "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        nodes = json.loads(status.stdout)
        assert [n["name"] for n in nodes] == ["signer-1", "signer-2", "rpc-1"]
        assert all(n["running"] and n["peers"] == 2 for n in nodes), nodes
        pids = [n["pid"] for n in nodes]
        url = nodes[-1]["endpoint"]
        # the block period is the genesis's: two seconds between consecutive blocks
        head = int(str(rpc(url, "eth_blockNumber")), 16)
        stamps = [
            int(rpc(url, "eth_getBlockByNumber", hex(n), False)["timestamp"], 16)
            for n in (head - 1, head)
        ]
        assert stamps[1] - stamps[0] >= 2, stamps
        # the nodes run on their own (detached): the starting process has exited
        assert all(alive(pid) for pid in pids)
        # a second start leaves the running network alone
        again = _cli("start", "--dir", str(folder), "--rpc-port", "0", "--signers", "2",
                     "--block-period", "2")  # fmt: skip
        assert again.returncode == 0 and "already running" in again.stdout, again.stdout
        # a different layout in the same folder is refused, naming it
        other = _cli("start", "--dir", str(folder), "--signers", "3", "--block-period", "2")
        assert other.returncode == 1
        assert "signers 2 (asked for 3)" in other.stderr, other.stderr
    finally:
        stopped = _cli("stop", "--dir", str(folder))
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped rpc-1, signer-1, signer-2" in stopped.stdout
    assert not any(alive(pid) for pid in pids)
    down = _cli("status", "--dir", str(folder))
    assert down.returncode == 1 and down.stdout.count("stopped") == 3, down.stdout
    # restarted: the same chain, from where it stopped
    restarted = _cli("start", "--dir", str(folder), "--rpc-port", "0", "--signers", "2",
                     "--block-period", "2")  # fmt: skip
    try:
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert int(str(rpc(url, "eth_blockNumber")), 16) > head
    finally:
        assert _cli("stop", "--dir", str(folder)).returncode == 0


def test_ctrl_c_during_network_start_says_the_nodes_were_stopped(tmp_path: Path) -> None:
    """Ctrl-C while `network start` waits for the first block (5 s blocks): the nodes it spawned
    are stopped, exit 130, and one line says so (the terminal showed nothing before)."""
    folder = tmp_path / "net"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
    starting = subprocess.Popen(
        [sys.executable, "-m", "talentproof", "network", "start", "--dir", str(folder),
         "--rpc-port", "0", "--signers", "2", "--block-period", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    try:
        while not (folder / PIDS_FILE).exists():  # every node spawned, none sealed yet
            assert starting.poll() is None, starting.communicate()
            time.sleep(0.1)
        pids = list(json.loads((folder / PIDS_FILE).read_text()).values())
        starting.send_signal(signal.SIGINT)
        out, err = starting.communicate(timeout=120)
    finally:
        if starting.poll() is None:
            starting.kill()
    assert starting.returncode == 130, out + err
    assert "interrupted: the network's nodes were stopped" in err, out + err
    assert not any(alive(pid) for pid in pids)


def test_concurrent_builds_build_geth_once(tmp_path: Path) -> None:
    """Two callers on an empty cache: one builds (Go's caches warm from `make setup`), the
    other waits on the lock and reuses the binary."""
    logs: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda _: build_geth(root=tmp_path, log=logs.append), range(2)))
    assert paths[0] == paths[1] == tmp_path / GETH_VERSION / "geth"
    assert geth_version(paths[0]) == "1.13.15-stable"
    assert sum(line.startswith("building geth") for line in logs) == 1, logs
    assert sorted(p.name for p in (tmp_path / GETH_VERSION).iterdir()) == ["geth"]  # no leftovers


def test_an_rpc_node_reconnected_to_the_signers_keeps_following_them(stack: Stack) -> None:
    """`Network.reconnect`, what `wait_ready` does to an RPC node stuck behind sealing signers
    (seen under load: at block 0 for 120 s): each signer dropped and dialled again, the node has
    all its peers back and imports the blocks sealed after it."""
    net = Network(stack.data_dir / "chain" / "network")

    def links() -> set[tuple[str, str]]:  # each connection's two ends: new ones on a handshake
        return {
            (p["network"]["localAddress"], p["network"]["remoteAddress"])
            for p in net.call("rpc-1", "admin_peers")
        }

    before = links()
    net.reconnect("rpc-1", net.signers)
    signers = {n.name for n in net.signers}
    sealed = max(int(net.call(n.name, "eth_blockNumber"), 16) for n in net.signers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        head = int(str(rpc(stack.rpc_url, "eth_blockNumber")), 16)
        if net.peers_of("rpc-1") == signers and head > sealed:
            break
        time.sleep(0.2)
    assert net.peers_of("rpc-1") == signers
    assert int(str(rpc(stack.rpc_url, "eth_blockNumber")), 16) > sealed
    assert not links() & before  # every signer's connection is a new one
