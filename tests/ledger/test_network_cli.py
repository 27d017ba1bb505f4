"""`talentproof network` and the services' RPC URL lists on bad input, as a new user meets them.

No geth is started here: each command must refuse before anything runs, name what it expected,
and leave nothing behind (`tests/e2e/test_network.py` runs the network itself).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _talentproof(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
    return subprocess.run(
        [sys.executable, "-m", "talentproof", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**clean, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("command", ["status", "stop"])
def test_a_folder_without_a_network_is_named(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "no-network"  # a mistyped --dir
    done = _talentproof("network", command, "--dir", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"no network in {folder} (no network.json)" in done.stderr, done.stderr
    assert not folder.exists()  # nothing created


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--signers", "0", "Invalid value for '--signers'"),
        ("--rpc-nodes", "0", "Invalid value for '--rpc-nodes'"),
        ("--block-period", "0", "Invalid value for '--block-period'"),
        ("--block-period", "31", "Invalid value for '--block-period'"),
    ],
)
def test_network_start_refuses_out_of_range_options(
    tmp_path: Path, option: str, value: str, expected: str
) -> None:
    folder = tmp_path / "net"
    done = _talentproof("network", "start", "--dir", str(folder), option, value)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr, done.stderr
    assert not folder.exists()  # refused before anything was laid out


def test_network_start_help_states_the_accepted_block_periods() -> None:
    done = _talentproof("network", "start", "--help", env={"COLUMNS": "300"})
    assert done.returncode == 0, done.stderr
    assert "Seconds between blocks, 1 to 30" in done.stdout, done.stdout


@pytest.mark.parametrize("variable", ["TALENTPROOF_RPC_URL", "TALENTPROOF_VERIFIER_RPC_URL"])
def test_verifier_serve_names_the_variable_of_a_bad_url_list(variable: str) -> None:
    done = _talentproof("verifier", "serve", "--port", "1", env={variable: "http://a,,ftp://b"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert variable in done.stderr, done.stderr
    assert "got an empty entry (entry 2 of 3) in 'http://a,,ftp://b'" in done.stderr


def test_issuer_serve_names_the_variable_of_a_bad_url_list() -> None:
    done = _talentproof("issuer", "serve", "--port", "1", env={"TALENTPROOF_RPC_URL": "ftp://b"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TALENTPROOF_RPC_URL" in done.stderr
    assert "expected http(s)://host[:port][/path] JSON-RPC URLs" in done.stderr, done.stderr


@pytest.mark.parametrize("option", [("--rpc-nodes", "2"), ("--block-period", "2")])
@pytest.mark.parametrize("chain", ["anvil", "ganache"])
def test_run_refuses_network_options_on_another_chain(
    tmp_path: Path, chain: str, option: tuple[str, str]
) -> None:
    data = tmp_path / "data"
    done = _talentproof("run", "--data-dir", str(data), "--chain", chain, "--chain-only", *option)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"error: {option[0]}: applies to --chain network only (got --chain {chain})" in done.stderr
    ), done.stderr
    assert not data.exists()  # nothing started, nothing written


@pytest.mark.parametrize("value", ["0", "4294967296"])
def test_network_start_refuses_a_bad_chain_id_by_its_option(tmp_path: Path, value: str) -> None:
    folder = tmp_path / "net"
    done = _talentproof("network", "start", "--dir", str(folder), "--chain-id", value)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Invalid value for '--chain-id'" in done.stderr, done.stderr
    assert not folder.exists()


def test_a_changed_layout_is_named_by_the_options_to_give(tmp_path: Path) -> None:
    """A folder laid out with 2 RPC nodes and 2 s blocks (`geth init` only, nothing started),
    then asked for the defaults: the error names the options that would start it as it is."""
    from talentproof.ledger.errors import NodeError
    from talentproof.ledger.network import Network, NetworkConfig

    folder = tmp_path / "net"
    Network(folder, NetworkConfig(rpc_nodes=2, block_period=2, rpc_port=0)).init()
    with pytest.raises(NodeError) as err:
        Network(folder, NetworkConfig(rpc_port=0)).init()
    assert "laid out with --rpc-nodes 2 (asked for 1), --block-period 2 (asked for 1)" in str(
        err.value
    ), err.value


def test_run_refused_by_a_changed_layout_says_only_why(tmp_path: Path) -> None:
    """`run --chain network` on a data folder whose network was laid out with 2 RPC nodes: the
    error is what the user reads, not a "stopped; chain state kept" line for nothing started."""
    from talentproof.ledger.network import Network, NetworkConfig

    data = tmp_path / "data"
    Network(data / "chain" / "network", NetworkConfig(rpc_nodes=2, rpc_port=0)).init()
    with socket.socket() as probe:  # a free port: the refusal comes before anything listens
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    done = _talentproof(
        "run", "--data-dir", str(data), "--chain", "network", "--chain-only", "--chain-port", port
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "laid out with --rpc-nodes 2 (asked for 1)" in done.stderr, done.stderr
    assert "stopped" not in done.stdout, done.stdout
