"""`talentproof run`: the whole product on this machine, for development and demonstration.

It starts a local Anvil (or Ganache, or with ``--chain network`` a permissioned network of geth
Clique signers and an RPC node: `talentproof.ledger.network`) on 127.0.0.1:8545 whose state
persists in the data folder,
deploys the registry on first start and finds it again on the next, then starts the services
beside it (issuer on :8000, verifier on :8001). On first start it seeds a development governing
authority (the chain's development account 0, admin and first governor of the registry) and
three institutions, onboarded through the issuer's operator API (which registers each on chain
with its signing key and accredited credential types); their API keys are kept in
``<data>/dev-keys.json`` so the next start finds the same institutions and keys. The verifier's
W3C VC API takes a bearer token, as a deployment's may: a development token kept in
``<data>/verifier-vc-api-token`` (its hash in ``verifier-vc-api-tokens``, the verifier's
``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE`` unless that is set already), printed beside the API
keys; the verifier's page and ``/api/v1`` stay public. Ctrl-C stops everything; the next run
comes back with the same chain state, databases and keys.

Everything here is development only: the chain accounts are the well-known development mnemonic's
and the services run with ``TALENTPROOF_ENV=development``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import typer

from talentproof.errors import TalentProofError

CHAIN_PORT = 8545
ISSUER_PORT = 8000
VERIFIER_PORT = 8001

SEED_FILE = "dev-keys.json"
OPERATOR_TOKEN_FILE = "issuer-operator-token"  # the file the issuer reads in development mode
VC_API_TOKEN_FILE = "verifier-vc-api-token"  # the verifier VC API's development token (VT)
VC_API_TOKENS_FILE = "verifier-vc-api-tokens"  # its hash: the verifier's tokens file
VC_API_TOKENS_VARIABLE = "TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE"
GOVERNOR_KEY_FILE = "governor-key"  # the development governing authority's key, for `governance`
DEV_ENV = "development"

ChainKind = Literal["anvil", "ganache", "network"]
CHAIN_KINDS: tuple[ChainKind, ...] = ("anvil", "ganache", "network")


class DevStackError(TalentProofError):
    """`talentproof run` could not bring the stack up (the message says what to do)."""


@dataclass(frozen=True)
class DevInstitution:
    """An institution the development stack seeds: what it is and what it may issue."""

    slug: str
    name: str
    role: str
    credential_types: tuple[str, ...]
    #: its own did:web when it has one (onboarded with it); None: the issuer derives one
    did: str | None = None


#: The three development institutions (a university, a blockchain training centre, a fintech
#: employer named by its DID on the shipped policy's list of notable firms). The university may
#: award degrees of every level (the whole ``DegreeCredential`` type); the training centre its
#: badges and associate degrees only (``DegreeCredential#level=associate``): never a bachelor's
#: or above, which the talent list counts.
DEV_INSTITUTIONS: tuple[DevInstitution, ...] = (
    DevInstitution("harbour-university", "Harbour University", "university", ("DegreeCredential",)),
    DevInstitution(
        "hk-blockchain-academy",
        "Hong Kong Blockchain Academy",
        "blockchain training centre",
        ("OpenBadgeCredential", "DegreeCredential#level=associate"),
    ),
    DevInstitution(
        "osl",
        "OSL Digital Securities Limited",
        "fintech employer",
        ("EmploymentCredential",),
        did="did:web:osl.com",
    ),
)

#: The holder of the copy-and-paste example (a fixed development did:key).
EXAMPLE_HOLDER_SEED = bytes([42]) * 32


@dataclass
class Service:
    """A service of the stack run as a child process of `talentproof run`."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The service's base URL."""
        return self.health_url.rsplit("/", 1)[0]

    def start(self) -> None:
        from talentproof.private import open_private, private_dir

        private_dir(self.log_path.parent)
        log = open_private(self.log_path, "ab")  # the child keeps it
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
        log.close()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DevStackError(
                    f"{self.name} exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{_tail(self.log_path)}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.health_url, timeout=1) as resp,
            ):
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise DevStackError(f"{self.name} did not answer {self.health_url} within {timeout:g} s")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace")
    except OSError:
        return ""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "talentproof", *args]


def _has_command(group: str) -> bool:
    import importlib

    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(f"talentproof.{group}.cli")
        return True
    return False


# -- secrets and the seed file ---------------------------------------------------------------


def _private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def operator_token(data_dir: Path) -> str:
    """The development operator token (``<data>/issuer-operator-token``), created if absent.

    The issuer reads the same file when it runs with ``TALENTPROOF_ENV=development`` and no
    operator token is configured; outside development mode it ignores the file.
    """
    path = data_dir / OPERATOR_TOKEN_FILE
    if not path.exists():
        _private_file(path, secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def vc_api_token(data_dir: Path) -> tuple[str, Path]:
    """The verifier VC API's development token (``<data>/verifier-vc-api-token``, created if
    absent) and the tokens file holding its hash (``<data>/verifier-vc-api-tokens``), which the
    stack's verifier is given as ``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE``: under `talentproof
    run` the VC API needs a bearer token, as a deployment's would; the page and ``/api/v1`` stay
    public."""
    from talentproof.verifier.vc_api_tokens import new_token, token_line

    path = data_dir / VC_API_TOKEN_FILE
    if not path.exists():
        _private_file(path, new_token())
    token = path.read_text(encoding="utf-8").strip()
    hashes = data_dir / VC_API_TOKENS_FILE
    text = (
        f"# written by talentproof run from {VC_API_TOKEN_FILE} (development only)\n"
        + token_line(token, "talentproof-run")
        + "\n"
    )
    if not hashes.exists() or hashes.read_text(encoding="utf-8") != text:
        _private_file(hashes, text)
    return token, hashes


def write_governor_key(data_dir: Path, private_key: str) -> Path:
    """Write the development governing authority's key to ``<data>/governor-key`` (mode 0600).

    It is development account 0 of the well-known test mnemonic (public knowledge, refused by the
    issuer outside development); the file lets `talentproof governance ...` act as the governing
    authority of the local stack (``TALENTPROOF_OPERATOR_KEY=$(cat data/governor-key)``).
    """
    path = data_dir / GOVERNOR_KEY_FILE
    text = private_key if private_key.startswith("0x") else "0x" + private_key
    if not path.exists() or path.read_text(encoding="utf-8").strip() != text:
        _private_file(path, text + "\n")
    return path


def load_seed(data_dir: Path) -> dict[str, Any]:
    """The seed record (``<data>/dev-keys.json``): institutions and their API keys; {} if none."""
    path = data_dir / SEED_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DevStackError(
            f"{path}: expected the JSON written by `talentproof run` ({exc})"
        ) from None
    if not isinstance(data, dict):
        raise DevStackError(f"{path}: expected a JSON object")
    return data


def _save_seed(data_dir: Path, seed: dict[str, Any]) -> None:
    _private_file(data_dir / SEED_FILE, json.dumps(seed, indent=2) + "\n")


def _http(
    method: str, url: str, token: str, body: Any = None, timeout: float = 120.0
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def seed_institutions(
    issuer_url: str, token: str, data_dir: Path, *, deployment: dict[str, Any], governor: str
) -> tuple[dict[str, Any], list[str]]:
    """Onboard the development institutions that are not seeded yet; returns (seed, new slugs).

    Each institution is onboarded through ``POST /operator/institutions`` (the issuer creates its
    signing key and chain account and registers both, with the accredited types, on chain). The
    seed file is rewritten after each one, so an interrupted first start resumes where it
    stopped; an institution the issuer already knows but the file does not (interrupted between
    the two) gets a new API key instead of a second onboarding.
    """
    seed = load_seed(data_dir)
    seed.setdefault("institutions", {})
    seed["deployment"] = {
        "chainId": deployment["chainId"],
        "registry": deployment["registry"],
        "deploymentBlock": deployment["deploymentBlock"],
    }
    seed["governing_authority"] = {
        "name": "Development governing authority",
        "account": governor,
        "roles": ["admin", "governor"],
        "note": "development account 0 of the well-known test mnemonic; never on a real network",
    }
    seed["operator_token_file"] = str(data_dir / OPERATOR_TOKEN_FILE)
    created: list[str] = []
    for inst in DEV_INSTITUTIONS:
        if inst.slug in seed["institutions"]:
            continue
        status, body = _http(
            "POST",
            f"{issuer_url}/operator/institutions",
            token,
            {
                "name": inst.name,
                "slug": inst.slug,
                "credential_types": list(inst.credential_types),
                **({"did": inst.did} if inst.did else {}),
            },
        )
        if status == 201:
            api_key = body["api_key"]
        elif status == 409:  # onboarded, but its key never reached the file: a new key
            status, body = _http("GET", f"{issuer_url}/operator/institutions/{inst.slug}", token)
            if status != 200:
                raise DevStackError(f"seeding {inst.slug}: issuer answered {status}: {body}")
            status, key = _http(
                "POST",
                f"{issuer_url}/operator/institutions/{inst.slug}/api-keys",
                token,
                {"scopes": ["issue", "revoke", "read"], "name": "development"},
            )
            if status != 201:
                raise DevStackError(f"seeding {inst.slug}: issuer answered {status}: {key}")
            api_key = {"id": key.get("id"), "token": key["token"], "scopes": key.get("scopes")}
        else:
            raise DevStackError(f"seeding {inst.slug}: issuer answered {status}: {body}")
        seed["institutions"][inst.slug] = {
            "name": inst.name,
            "role": inst.role,
            "did": body["did"],
            "chain_issuer_id": body["chain_issuer_id"],
            "chain_account": body.get("chain_account"),
            "credential_types": list(inst.credential_types),
            "api_key": api_key["token"],
            "api_key_id": api_key.get("id"),
        }
        _save_seed(data_dir, seed)
        created.append(inst.slug)
    _save_seed(data_dir, seed)
    return seed, created


def example_holder_did() -> str:
    """The development holder's did:key used in the printed example."""
    from talentproof.credential.keys import Ed25519SigningKey

    return Ed25519SigningKey.from_seed(EXAMPLE_HOLDER_SEED).public_key.did_key


def first_credential_curl(issuer_url: str, api_key: str) -> str:
    """A copy-and-paste command that issues a first (degree) credential (for the examples'
    sample person: `talentproof.credential.examples.PERSON`)."""
    from talentproof.credential.examples import PERSON

    body = {
        "type": "DegreeCredential",
        "credentialSubject": {
            "id": example_holder_did(),
            **PERSON,
            "degree": {
                "type": "Degree",
                "level": "bachelor",
                "fieldOfStudy": "Computer Science",
                "institution": {"name": "Harbour University"},
                "awardDate": "2018-06-30",
            },
        },
    }
    return (
        f"curl -sS -X POST {issuer_url}/credentials "
        f"-H {shlex.quote('Authorization: Bearer ' + api_key)} "
        f"-H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}"
    )


def _move_stale(data_dir: Path) -> Path | None:
    """Move an issuer database and seed made for a previous (lost) chain out of the way."""
    names = [p for p in data_dir.iterdir() if p.name.startswith("issuer.db") or p.name == SEED_FILE]
    if not names:
        return None
    target = data_dir / f"stale-{time.strftime('%Y%m%dT%H%M%S')}"
    target.mkdir()
    for path in names:
        path.rename(target / path.name)
    return target


# -- the stack ---------------------------------------------------------------------------------


@dataclass
class StackConfig:
    """Where and how `talentproof run` runs the stack."""

    data_dir: Path
    chain: ChainKind = "anvil"
    chain_port: int = CHAIN_PORT
    #: ``--chain network`` only: seconds between blocks (Clique period)
    block_period: int = 1
    #: ``--chain network`` only: non-signing RPC nodes; the services get all their URLs
    rpc_nodes: int = 1
    issuer_port: int = ISSUER_PORT
    verifier_port: int = VERIFIER_PORT
    with_services: bool = True
    seed: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


#: ``--chain network``: blocks an anchor needs before it is final (Clique reorganises single
#: blocks now and then: README "Operating on a network"), and block periods without a new head
#: before the issuer's /readyz says the chain stopped
NETWORK_CONFIRMATIONS = 3
NETWORK_STALE_PERIODS = 5
#: blocks the issuer waits for a transaction before replacing it (at least its own 30 s)
NETWORK_TX_TIMEOUT_PERIODS = 10


def network_issuer_defaults(config: StackConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The issuer settings a Clique network needs and Anvil does not: confirmations, the
    stale-head report, the status lists' head-age bound and a transaction timeout of 10 blocks
    or more (README "Operating on a network"), unless the environment sets them."""
    if config.chain != "network":
        return {}
    defaults = {
        "TALENTPROOF_ISSUER_CONFIRMATIONS": str(NETWORK_CONFIRMATIONS),
        "TALENTPROOF_ISSUER_HEAD_STALE_S": str(max(5, NETWORK_STALE_PERIODS * config.block_period)),
        # a status list is not signed afresh from a head older than the verifier's bound
        "TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S": str(
            max(30, NETWORK_STALE_PERIODS * config.block_period)
        ),
        # the issuer replaces a transaction not mined by then: at least 10 blocks, so slow
        # blocks do not look like a stuck transaction
        "TALENTPROOF_ISSUER_TX_TIMEOUT_S": str(
            max(30, NETWORK_TX_TIMEOUT_PERIODS * config.block_period)
        ),
    }
    return {k: v for k, v in defaults.items() if k not in environ and k not in config.extra_env}


def network_verifier_defaults(config: StackConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The verifier settings a Clique network needs and Anvil does not: a head older than 5
    block periods (at least 30 s) is a stale node, and its verdicts NOT_VERIFIABLE rather than
    judged on an old state (README "Operating on a network"); Anvil mines only on transactions,
    so its head is old whenever nothing happens. The environment wins."""
    if config.chain != "network":
        return {}
    name = "TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S"
    if name in environ or name in config.extra_env:
        return {}
    return {name: str(max(30, NETWORK_STALE_PERIODS * config.block_period))}


def check_environment() -> None:
    """`talentproof run` is development only: refuse an environment that says otherwise."""
    for name in ("TALENTPROOF_ENV", "TALENTPROOF_ISSUER_ENV"):
        value = os.environ.get(name)
        if value and value != DEV_ENV:
            raise DevStackError(
                f"{name}={value}: `talentproof run` uses development keys (the test mnemonic's "
                f"accounts, a development operator token) and runs only with {name} unset or "
                f"'{DEV_ENV}'; run `talentproof issuer serve` and `talentproof verifier serve` "
                "with your own keys instead"
            )


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``host:port``."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def check_ports(config: StackConfig) -> None:
    """Refuse to start beside another stack (or anything else) on the same ports."""
    wanted = [("--chain-port", config.chain_port)]
    if config.with_services:
        wanted += [("--issuer-port", config.issuer_port), ("--verifier-port", config.verifier_port)]
    taken = [(option, port) for option, port in wanted if port_in_use(port)]
    if taken:
        busy = ", ".join(f"{port} ({option})" for option, port in taken)
        other = " ".join(f"{option} {_free_port_near(port)}" for option, port in taken)
        raise DevStackError(
            f"port {busy} already in use on 127.0.0.1 (another `talentproof run`?); stop it or "
            f"choose other ports: `talentproof run {other}` (with make: `make run ARGS='{other}'`)"
        )


def _free_port_near(port: int) -> int:
    """A port above ``port`` that nothing listens on now (a suggestion, not a reservation)."""
    for candidate in range(port + 10, min(port + 200, 65535), 10):
        if not port_in_use(candidate):
            return candidate
    return port + 10


def run_stack(config: StackConfig) -> None:
    """Run the stack in the foreground until Ctrl-C (or SIGTERM)."""
    from talentproof.ledger.deploy import Deployment, ensure_deployed
    from talentproof.ledger.geth import geth_binary
    from talentproof.ledger.network import Network, NetworkConfig
    from talentproof.ledger.nodes import LocalNode, NodeConfig
    from talentproof.private import restrict_umask, tighten_tree

    check_environment()
    check_ports(config)
    # everything the stack writes (chain state, databases, uploads, logs, keys) is 0600 in a
    # 0700 folder, a folder from before included (issue 12)
    restrict_umask()
    data_dir = config.data_dir.resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tighten_tree(data_dir)
    state_path = (
        data_dir
        / "chain"
        / {
            "anvil": "anvil-state.json",
            "ganache": "ganache-db",
            "network": "network",
        }[config.chain]
    )
    node: LocalNode | Network
    if config.chain == "network":
        # the signers and the RPC node die with us (attached); geth is built once, then cached
        node = Network(
            state_path,
            NetworkConfig(
                rpc_port=config.chain_port,
                block_period=config.block_period,
                rpc_nodes=config.rpc_nodes,
            ),
            binary=geth_binary(log=typer.echo),
        )
    else:
        node = LocalNode(
            NodeConfig(
                kind=config.chain,
                port=config.chain_port,
                state_path=state_path,
                state_interval=2 if config.chain == "anvil" else None,
            ),
            log_path=data_dir / "logs" / f"{config.chain}.log",
        )
    services: list[Service] = []

    stopping = False

    def _on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    # SIGINT too: a shell starting us in the background ignores it, which would make Ctrl-C
    # (or `kill -INT`) do nothing.
    previous = {sig: signal.signal(sig, _on_term) for sig in (signal.SIGINT, signal.SIGTERM)}
    # "stopped" only once something ran: a refusal to start (a network folder laid out
    # differently, one already running) leaves its error as the last word
    started = False
    try:
        resumed = state_path.exists()
        node.start()
        started = True
        operator_key = node.private_keys[0]
        governor_key_path = write_governor_key(data_dir, operator_key)
        record = data_dir / "deployment.json"
        before = Deployment.load(record) if record.exists() else None
        deployment = ensure_deployed(node.rpc_url, operator_key, record)
        redeployed = deployment != before
        typer.echo(
            f"chain     {node.rpc_url}  ({node.client}, chain id {node.chain_id}, "
            f"{'state resumed' if resumed else 'new state'} in {state_path})"
        )
        # every RPC node's URL: the issuer and the verifier fail over between them
        rpc_urls = ",".join(node.rpc_urls) if isinstance(node, Network) else node.rpc_url
        if isinstance(node, Network):
            rpc_count = len(node.rpc_nodes)
            typer.echo(
                f"          {len(node.signers)} Clique signers and {rpc_count} RPC "
                f"node{'s' if rpc_count > 1 else ''}, "
                f"a block every {node.config.block_period} s; nodes: "
                f"{cli_command()} network status --dir {shlex.quote(str(state_path))}"
            )
            chosen = network_issuer_defaults(config, os.environ)
            if "TALENTPROOF_ISSUER_CONFIRMATIONS" in chosen:
                typer.echo(
                    f"          an anchor is final after {NETWORK_CONFIRMATIONS} blocks "
                    "(TALENTPROOF_ISSUER_CONFIRMATIONS; Clique reorganises single blocks)"
                )
            if rpc_count > 1:
                typer.echo(f"          JSON-RPC {rpc_urls} (the services fail over between them)")
        typer.echo(
            f"registry  {deployment.registry}  "
            f"({'deployed' if redeployed else 'found again'}"
            f" at block {deployment.deployment_block}; record {record})"
        )
        if redeployed:
            stale = _move_stale(data_dir)
            if stale is not None:
                typer.echo(
                    f"          the chain was new: the previous issuer database and keys "
                    f"were moved to {stale}"
                )
        issuer_url = f"http://127.0.0.1:{config.issuer_port}"
        env = {
            "TALENTPROOF_DATA_DIR": str(data_dir),
            "TALENTPROOF_RPC_URL": rpc_urls,
            "TALENTPROOF_DEPLOYMENT": str(record),
            "TALENTPROOF_ENV": DEV_ENV,
            **config.extra_env,
        }
        issuer: Service | None = None
        if config.with_services and _has_command("issuer"):
            token = operator_token(data_dir)
            issuer = Service(
                "issuer",
                _cli("issuer", "serve", "--host", "127.0.0.1", "--port", str(config.issuer_port)),
                f"{issuer_url}/healthz",
                data_dir / "logs" / "issuer.log",
                {
                    **env,
                    **network_issuer_defaults(config, os.environ),
                    "TALENTPROOF_OPERATOR_KEY": operator_key,
                    # the institutions' did:web: a host name (did:web forbids IP hosts)
                    "TALENTPROOF_ISSUER_PUBLIC_URL": f"http://localhost:{config.issuer_port}",
                },
            )
            services.append(issuer)
        vc_api: str | None = None  # the verifier VC API's development token, when ours
        if config.with_services and _has_command("verifier"):
            verifier_env = {**env, **network_verifier_defaults(config, os.environ)}
            if VC_API_TOKENS_VARIABLE not in {**os.environ, **verifier_env}:
                vc_api, hashes = vc_api_token(data_dir)
                verifier_env[VC_API_TOKENS_VARIABLE] = str(hashes)
            services.append(
                Service(
                    "verifier",
                    _cli(
                        "verifier",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(config.verifier_port),
                    ),
                    f"http://127.0.0.1:{config.verifier_port}/healthz",
                    data_dir / "logs" / "verifier.log",
                    verifier_env,
                )
            )
        for service in services:
            service.start()
        for service in services:
            service.wait_healthy()
            typer.echo(f"{service.name:<9} {service.url}  (log {service.log_path})")
        if issuer is not None and config.seed:
            from eth_account import Account

            seed, created = seed_institutions(
                issuer.url,
                token,
                data_dir,
                deployment=deployment.to_json(),
                governor=Account.from_key(operator_key).address,
            )
            print_seed(
                seed,
                created,
                issuer.url,
                token,
                data_dir,
                governor_key_path,
                vc_api_token=vc_api,
                demo=demo_command(config),
                public_url=f"http://localhost:{config.issuer_port}",
            )
        else:
            typer.echo(_governance_line(governor_key_path))
            if vc_api is not None:
                typer.echo(_vc_api_token_line(vc_api, data_dir))
        typer.echo("running; Ctrl-C stops everything")
        reported: set[str] = set()
        while True:
            for service in services:
                if service.process is not None and service.process.poll() is not None:
                    raise DevStackError(
                        f"{service.name} stopped unexpectedly; see {service.log_path}:\n"
                        f"{_tail(service.log_path)}"
                    )
            if isinstance(node, Network):
                # a network outlives one of its nodes (the services fail over between the RPC
                # nodes): say which died; stop only when no RPC node is left
                alive = node.running_pids()
                for dead in [n.name for n in node.layout if n.name not in alive.keys() | reported]:
                    reported.add(dead)
                    typer.echo(f"{dead} stopped unexpectedly; see {node.log_of(dead)}")
                if not any(n.name in alive for n in node.rpc_nodes):
                    raise DevStackError(f"every RPC node of the network stopped; see {state_path}")
            elif not node.running:
                raise DevStackError(f"{config.chain} stopped unexpectedly; see {node.log_path}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        started = True
        typer.echo("\nstopping ...")
    finally:
        for service in reversed(services):
            service.stop()
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started:
            typer.echo("stopped; chain state kept in " + str(state_path))


def cli_command() -> str:
    """How to type the `talentproof` command in this shell: ``talentproof`` when the PATH finds
    this installation's script, else its path (``.venv/bin/talentproof`` under `make run`)."""
    import shutil

    script = Path(sys.executable).parent / "talentproof"
    found = shutil.which("talentproof")
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return "talentproof"
    try:
        return str(script.absolute().relative_to(Path.cwd().absolute()))
    except ValueError:
        return str(script.absolute())


def _governance_line(governor_key_path: Path) -> str:
    """How to act as the development governing authority with `talentproof governance ...`."""
    return (
        f"governance commands ({cli_command()} governance ...) sign with its key: "
        f"export TALENTPROOF_OPERATOR_KEY=$(cat {shlex.quote(str(governor_key_path))})"
    )


def _vc_api_token_line(token: str, data_dir: Path) -> str:
    """The verifier VC API's development token and how to put it in ``VT``."""
    return (
        f"verifier VC API token {token}  (development only; VT=$(cat "
        f"{shlex.quote(str(data_dir / VC_API_TOKEN_FILE))}))"
    )


def print_seed(
    seed: dict[str, Any],
    created: list[str],
    issuer_url: str,
    token: str,
    data_dir: Path,
    governor_key_path: Path,
    *,
    vc_api_token: str | None = None,
    demo: str | None = None,
    public_url: str | None = None,
) -> None:
    gov = seed["governing_authority"]
    typer.echo(
        f"governing authority {gov['account']} (development account 0: registry admin, governor)"
    )
    typer.echo("  " + _governance_line(governor_key_path))
    typer.echo(
        "institutions "
        + ("seeded now" if created else "found again")
        + f" (API keys in {data_dir / SEED_FILE}):"
    )
    for slug, inst in seed["institutions"].items():
        typer.echo(
            f"  {slug:<22} issuer #{inst['chain_issuer_id']:<3} {', '.join(inst['credential_types']):<21} "
            f"API key {inst['api_key']}"
        )
    typer.echo(
        f"operator token     {token}  (development only; OP=$(cat "
        f"{shlex.quote(str(data_dir / OPERATOR_TOKEN_FILE))}))"
    )
    if vc_api_token is not None:
        typer.echo(_vc_api_token_line(vc_api_token, data_dir))
    university = seed["institutions"].get("harbour-university")
    if university is not None:
        typer.echo("issue a first credential:")
        typer.echo("  " + first_credential_curl(issuer_url, university["api_key"]))
    typer.echo(f"the whole story: {demo or cli_command() + ' demo'}")
    if public_url is not None and seed["institutions"]:
        # the address a wallet sends a transaction code to (README, applicant with a wallet)
        typer.echo(
            f"an applicant's wallet: {cli_command()} wallet init (or wallet serve, in the "
            "browser); an offer (POST /credential-offers) is accepted with --issuer "
            f"{public_url}/institutions/<slug> (localhost, as the offers name it)"
        )


def demo_command(config: StackConfig) -> str:
    """`talentproof demo` as typed against this stack: the options naming each port and the
    data folder that are not the defaults `demo` assumes."""
    parts = [cli_command(), "demo"]
    if config.issuer_port != ISSUER_PORT:
        parts += ["--issuer-url", f"http://127.0.0.1:{config.issuer_port}"]
    if config.verifier_port != VERIFIER_PORT:
        parts += ["--verifier-url", f"http://127.0.0.1:{config.verifier_port}"]
    if config.chain_port != CHAIN_PORT:
        parts += ["--rpc", f"http://127.0.0.1:{config.chain_port}"]
    if Path(config.data_dir).absolute() != Path("data").absolute():
        parts += ["--data-dir", shlex.quote(str(config.data_dir))]
    return " ".join(parts)


def register(app: typer.Typer) -> None:
    """Add `talentproof run` to the root command."""

    @app.command("run")
    def run(
        data_dir: Path = typer.Option(
            Path("data"), "--data-dir", help="Chain state, databases, keys, logs."
        ),
        chain: str = typer.Option(
            "anvil",
            "--chain",
            help="Local chain: anvil, ganache, or network (3 geth Clique signers and an RPC node).",
        ),
        chain_port: int = typer.Option(
            CHAIN_PORT, "--chain-port", min=1, max=65535, help="JSON-RPC port."
        ),
        block_period: int = typer.Option(
            1, "--block-period", min=1, max=30, help="--chain network: seconds between blocks."
        ),
        rpc_nodes: int = typer.Option(
            1,
            "--rpc-nodes",
            min=1,
            max=8,
            help="--chain network: non-signing RPC nodes (the first on --chain-port); the "
            "issuer and the verifier get every one's URL and fail over between them.",
        ),
        issuer_port: int = typer.Option(
            ISSUER_PORT, "--issuer-port", min=1, max=65535, help="Issuer HTTP port."
        ),
        verifier_port: int = typer.Option(
            VERIFIER_PORT, "--verifier-port", min=1, max=65535, help="Verifier HTTP port."
        ),
        chain_only: bool = typer.Option(
            False, "--chain-only", help="Start the chain and deploy only."
        ),
        no_seed: bool = typer.Option(
            False, "--no-seed", help="Do not onboard the development institutions."
        ),
    ) -> None:
        """Run the whole product locally: a chain, the registry, the issuer and verifier services."""
        if chain not in CHAIN_KINDS:
            typer.echo(
                f"error: --chain: expected anvil, ganache or network, got {chain!r}", err=True
            )
            raise typer.Exit(2)
        for option, value in (("--rpc-nodes", rpc_nodes), ("--block-period", block_period)):
            if chain != "network" and value != 1:  # silently one node would hide the mistake
                typer.echo(
                    f"error: {option}: applies to --chain network only (got --chain {chain})",
                    err=True,
                )
                raise typer.Exit(2)
        if len({chain_port, issuer_port, verifier_port}) != 3:
            typer.echo(
                "error: --chain-port, --issuer-port and --verifier-port must differ", err=True
            )
            raise typer.Exit(2)
        try:
            run_stack(
                StackConfig(
                    data_dir=data_dir,
                    chain=chain,  # narrowed by the CHAIN_KINDS check above
                    chain_port=chain_port,
                    block_period=block_period,
                    rpc_nodes=rpc_nodes,
                    issuer_port=issuer_port,
                    verifier_port=verifier_port,
                    with_services=not chain_only,
                    seed=not no_seed,
                )
            )
        except Exception as exc:  # one clear line, not a traceback
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
