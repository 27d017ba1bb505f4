"""Local development nodes (Anvil, Ganache) as managed processes, and an embedded EVM.

Usage::

    from talentproof.ledger.nodes import anvil

    with anvil(state_file=Path("data/anvil-state.json")) as node:
        print(node.rpc_url, node.chain_id, node.private_keys[0])

`LocalNode` builds the command line from its configuration (a pure mapping, see
`build_command`), starts the binary from the repository's ``node_modules/.bin`` (or from
``TALENTPROOF_ANVIL`` / ``TALENTPROOF_GANACHE``) on a free loopback port, waits until the node
answers ``eth_chainId``, refuses a node whose ``web3_clientVersion`` is not the client it started,
and stops the process (SIGINT, then SIGTERM, then SIGKILL) when the context exits, also when the
body raised. The child dies with its parent (``PR_SET_PDEATHSIG``). Output goes to a log file.

Both clients use the well-known development mnemonic
(``test test test test test test test test test test test junk``), so ``private_keys`` are the
same on Anvil and Ganache: ``0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80``
first.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

from talentproof.ledger.errors import NodeError
from talentproof.private import open_private

__all__ = [
    "DEV_MNEMONIC",
    "EmbeddedChain",
    "LocalNode",
    "NodeConfig",
    "NodeOptions",
    "anvil",
    "client_version",
    "dev_private_keys",
    "die_with_parent",
    "embedded_chain",
    "find_binary",
    "free_port",
    "ganache",
    "verify_client",
]

NodeKind = Literal["anvil", "ganache"]

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The mnemonic Anvil uses by default (and that Ganache is started with)."""

DEFAULT_CHAIN_IDS: dict[str, int] = {"anvil": 31337, "ganache": 1337}
_ENV_BINARY = {"anvil": "TALENTPROOF_ANVIL", "ganache": "TALENTPROOF_GANACHE"}
_CLIENT_PREFIX = {"anvil": "anvil", "ganache": "ganache"}
_PR_SET_PDEATHSIG = 1


@functools.lru_cache(maxsize=4)
def dev_private_keys(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> tuple[str, ...]:
    """The first `count` private keys (0x-hex) of the BIP-44 accounts m/44'/60'/0'/0/i
    (eth-account's BIP-32 derivation)."""
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic  # noqa: PLC0415 (eth-account takes 0.4 s to import; only node set-up needs it)

    seed = seed_from_mnemonic(mnemonic, "")
    return tuple("0x" + key_from_seed(seed, f"m/44'/60'/0'/0/{i}").hex() for i in range(count))


def repo_root() -> Path | None:
    """The directory holding ``node_modules`` above this package (the repository), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "node_modules").is_dir():
            return parent
    return None


def find_binary(kind: NodeKind) -> Path:
    """Locate the node binary: env override first, then ``<repo>/node_modules/.bin/<kind>``."""
    env = os.environ.get(_ENV_BINARY[kind])
    if env:
        path = Path(env)
        if not path.exists():
            raise NodeError(f"{_ENV_BINARY[kind]}={env} does not exist")
        return path
    root = repo_root()
    if root is not None:
        candidate = root / "node_modules" / ".bin" / kind
        if candidate.exists():
            return candidate
    found = shutil.which(kind)
    if found:
        return Path(found)
    raise NodeError(
        f"{kind} not found: expected node_modules/.bin/{kind} in the repository (run `npm ci`) "
        f"or set {_ENV_BINARY[kind]}"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call over HTTP for node management (start-up probes, miner control); the
    product's chain reads and writes go through the ledger's transport."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer = json.loads(resp.read())
    if "error" in answer:
        raise NodeError(f"{method} failed on {url}: {answer['error']}")
    return answer["result"]


def client_version(rpc_url: str, *, timeout: float = 2.0) -> str:
    """The node's ``web3_clientVersion`` string."""
    return str(rpc_call(rpc_url, "web3_clientVersion", timeout=timeout))


def verify_client(rpc_url: str, kind: NodeKind) -> str:
    """Raise `NodeError` unless the node at `rpc_url` is a `kind` node; return its version."""
    version = client_version(rpc_url)
    if not version.lower().startswith(_CLIENT_PREFIX[kind]):
        raise NodeError(
            f"the node at {rpc_url} is not {kind}: web3_clientVersion is {version!r} "
            f"(expected it to start with {_CLIENT_PREFIX[kind]!r})"
        )
    return version


@dataclass(frozen=True)
class NodeConfig:
    """How to run a local node. `build_command` maps it to command-line flags.

    Attributes:
        kind: ``"anvil"`` or ``"ganache"``.
        port: TCP port on 127.0.0.1; 0 picks a free one.
        chain_id: chain id; None uses the client's default (31337 Anvil, 1337 Ganache).
        state_path: persisted state. Anvil: a JSON file (``--state``, dumped on exit and every
            `state_interval` seconds). Ganache: a database directory (``--database.dbPath``).
        zero_gas: permissioned-network fee model (Besu/QBFT, GoQuorum): zero base fee and zero gas
            price. Anvil keeps its hardfork with ``--base-fee 0 --gas-price 0``; Ganache runs the
            pre-London ``berlin`` hardfork (no base fee at all) with a zero default gas price.
        block_time: seconds between blocks; None mines a block per transaction (automine).
        no_mining: mine only on ``evm_mine`` (used to leave transactions stuck). Anvil gets
            ``--no-mining``; Ganache has no flag for it and gets ``miner_stop`` once it answers.
        accounts: number of funded dev accounts.
        mnemonic: the HD wallet mnemonic both clients derive the accounts from.
        state_interval: Anvil only: dump the state file every N seconds (crash safety).
        extra_args: appended verbatim.
    """

    kind: NodeKind = "anvil"
    port: int = 0
    chain_id: int | None = None
    state_path: Path | None = None
    zero_gas: bool = False
    block_time: int | None = None
    no_mining: bool = False
    accounts: int = 10
    mnemonic: str = DEV_MNEMONIC
    state_interval: int | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def effective_chain_id(self) -> int:
        """The chain id the node will report."""
        return self.chain_id if self.chain_id is not None else DEFAULT_CHAIN_IDS[self.kind]

    def build_command(self, binary: Path | str, port: int) -> list[str]:
        """The command line for this configuration (pure: no I/O)."""
        if self.kind == "anvil":
            cmd = [
                str(binary),
                "--host", "127.0.0.1",
                "--port", str(port),
                "--chain-id", str(self.effective_chain_id),
                "--accounts", str(self.accounts),
                "--mnemonic", self.mnemonic,
            ]  # fmt: skip
            if self.state_path is not None:
                cmd += ["--state", str(self.state_path), "--preserve-historical-states"]
                if self.state_interval:
                    cmd += ["--state-interval", str(self.state_interval)]
            if self.zero_gas:
                cmd += ["--base-fee", "0", "--gas-price", "0", "--disable-min-priority-fee"]
            if self.block_time is not None:
                cmd += ["--block-time", str(self.block_time)]
            if self.no_mining:
                cmd += ["--no-mining"]
        elif self.kind == "ganache":
            cmd = [
                str(binary),
                "--server.host", "127.0.0.1",
                "--server.port", str(port),
                "--chain.chainId", str(self.effective_chain_id),
                "--wallet.totalAccounts", str(self.accounts),
                "--wallet.mnemonic", self.mnemonic,
                "--logging.quiet", "false",
            ]  # fmt: skip
            if self.state_path is not None:
                cmd += ["--database.dbPath", str(self.state_path)]
            if self.zero_gas:
                cmd += ["--chain.hardfork", "berlin", "--miner.defaultGasPrice", "0"]
            if self.block_time is not None:
                cmd += ["--miner.blockTime", str(self.block_time)]
        else:  # pragma: no cover - Literal guards this
            raise NodeError(f"unknown node kind {self.kind!r}: expected 'anvil' or 'ganache'")
        return [*cmd, *self.extra_args]


def die_with_parent() -> None:
    """Run in a node's child process between fork and exec (``preexec_fn``): the kernel kills
    it when this process dies (``PR_SET_PDEATHSIG``), and SIGINT/SIGTERM get their default
    handlers (a parent started as a background job may ignore SIGINT; the node must not inherit
    that, or it would not dump its state on our graceful stop). Local nodes and the attached
    nodes of a network (`ledger.network`) use it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


@dataclass(eq=False)
class LocalNode:
    """A managed Anvil or Ganache process. Use as a context manager, or `start()` / `stop()`."""

    config: NodeConfig = field(default_factory=NodeConfig)
    log_path: Path | None = None
    startup_timeout: float = 30.0
    binary: Path | None = None

    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    port: int = field(default=0, init=False)
    client: str = field(default="", init=False)
    _log_file: Any = field(default=None, init=False, repr=False)

    @property
    def kind(self) -> NodeKind:
        """``"anvil"`` or ``"ganache"``."""
        return self.config.kind

    @property
    def rpc_url(self) -> str:
        """The HTTP JSON-RPC endpoint."""
        if not self.port:
            raise NodeError(f"the {self.kind} node is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def chain_id(self) -> int:
        """The chain id the node serves."""
        return self.config.effective_chain_id

    @property
    def private_keys(self) -> tuple[str, ...]:
        """The funded development accounts' private keys (0x-hex), same order as the node's."""
        return dev_private_keys(self.config.accounts, self.config.mnemonic)

    @property
    def accounts(self) -> tuple[str, ...]:
        """Checksummed addresses of `private_keys`."""
        from eth_account import Account  # noqa: PLC0415 (eth-account takes 0.4 s to import; only node set-up needs it)

        return tuple(Account.from_key(k).address for k in self.private_keys)

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> LocalNode:
        """Start the process and wait until it answers as the expected client."""
        if self.running:
            return self
        binary = self.binary or find_binary(self.kind)
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"talentproof-{self.kind}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.config.state_path is not None:
            target = self.config.state_path
            (target if self.kind == "ganache" else target.parent).mkdir(parents=True, exist_ok=True)
        attempts = 1 if self.config.port else 3
        last: Exception | None = None
        for _ in range(attempts):
            port = self.config.port or free_port()
            try:
                self._spawn(binary, port)
                return self
            except NodeError as exc:
                last = exc
                self.stop()
                if "address already in use" not in self.log_tail().lower():
                    break
        raise last if last is not None else NodeError(f"{self.kind} did not start")

    def _spawn(self, binary: Path, port: int) -> None:
        cmd = self.config.build_command(binary, port)
        assert self.log_path is not None
        self._log_file = open_private(self.log_path, "ab")  # closed in stop()
        try:
            self.process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, async-signal-safe enough
            )
        except OSError as exc:
            raise NodeError(f"cannot run {cmd[0]}: {exc}") from exc
        self.port = port
        _RUNNING.add(self)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise NodeError(
                    f"{self.kind} exited with code {self.process.returncode} during startup "
                    f"(log {self.log_path}): {self.log_tail(400)}"
                )
            try:
                chain = int(rpc_call(url, "eth_chainId", timeout=1.0), 16)
                break
            except (OSError, urllib.error.URLError, ValueError, NodeError):
                if time.monotonic() > deadline:
                    raise NodeError(
                        f"{self.kind} did not answer on {url} within {self.startup_timeout:g} s "
                        f"(log {self.log_path})"
                    ) from None
                time.sleep(0.05)
        self.client = verify_client(url, self.kind)
        if self.kind == "ganache" and self.config.no_mining:
            rpc_call(url, "miner_stop")
        if chain != self.config.effective_chain_id:
            raise NodeError(
                f"{self.kind} on {url} reports chain id {chain}, "
                f"expected {self.config.effective_chain_id}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process: SIGINT (lets Anvil dump its state), then SIGTERM, then SIGKILL."""
        proc, self.process = self.process, None
        _RUNNING.discard(self)
        if proc is not None and proc.poll() is None:
            for sig, wait in (
                (signal.SIGINT, timeout),
                (signal.SIGTERM, 5.0),
                (signal.SIGKILL, 5.0),
            ):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.port = 0

    def log_tail(self, limit: int = 2000) -> str:
        """The last `limit` characters of the node's log."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-limit:].decode(errors="replace")

    def __enter__(self) -> LocalNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_RUNNING: weakref.WeakSet[LocalNode] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop nodes still running at interpreter exit (PR_SET_PDEATHSIG covers crashes)."""
    for node in list(_RUNNING):
        node.stop(timeout=5.0)


class NodeOptions(TypedDict, total=False):
    """The keyword options of `anvil()` and `ganache()`: `NodeConfig` fields and the log file."""

    port: int
    chain_id: int | None
    zero_gas: bool
    no_mining: bool
    block_time: int | None
    log_path: Path | None
    extra_args: tuple[str, ...]


def _node(
    kind: NodeKind, state_path: Path | None, options: NodeOptions
) -> contextlib.AbstractContextManager[LocalNode]:
    unknown = options.keys() - NodeOptions.__optional_keys__
    if unknown:
        raise TypeError(f"{kind}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    config = {k: v for k, v in options.items() if k != "log_path"}
    return LocalNode(
        NodeConfig(kind=kind, state_path=state_path, **config),  # type: ignore[arg-type]
        log_path=options.get("log_path"),
    )


def anvil(
    *, state_file: Path | None = None, **options: Unpack[NodeOptions]
) -> contextlib.AbstractContextManager[LocalNode]:
    """Run an Anvil node for the duration of the ``with`` block (options: `NodeOptions`)."""
    return _node("anvil", state_file, options)


def ganache(
    *, db_path: Path | None = None, **options: Unpack[NodeOptions]
) -> contextlib.AbstractContextManager[LocalNode]:
    """Run a Ganache node (deterministic dev wallet) for the duration of the ``with`` block.

    Options: `NodeOptions`.
    """
    return _node("ganache", db_path, options)


@dataclass(frozen=True)
class EmbeddedChain:
    """An in-process EVM (eth-tester + py-evm) with funded accounts whose keys we hold."""

    w3: Any
    private_keys: tuple[str, ...]

    @property
    def chain_id(self) -> int:
        """The embedded chain's id."""
        return int(self.w3.eth.chain_id)

    @property
    def accounts(self) -> tuple[str, ...]:
        """Checksummed addresses of `private_keys`."""
        from eth_account import Account  # noqa: PLC0415 (eth-account takes 0.4 s to import; only node set-up needs it)

        return tuple(Account.from_key(k).address for k in self.private_keys)


def embedded_chain(accounts: int = 10) -> EmbeddedChain:
    """A fresh in-process chain for fast unit tests (no node process, no network)."""
    # The embedded chain's libraries (py-evm, web3: over a second to import) load only when used.
    from eth_tester import EthereumTester, PyEVMBackend  # noqa: PLC0415
    from eth_tester.backends.pyevm.main import get_default_account_keys  # noqa: PLC0415
    from web3 import Web3  # noqa: PLC0415
    from web3.providers.eth_tester import EthereumTesterProvider  # noqa: PLC0415

    keys = get_default_account_keys(quantity=accounts)
    backend = PyEVMBackend(genesis_state=PyEVMBackend.generate_genesis_state(num_accounts=accounts))
    provider = EthereumTesterProvider(EthereumTester(backend))
    w3 = Web3(provider)
    return EmbeddedChain(w3=w3, private_keys=tuple(k.to_hex() for k in keys))
