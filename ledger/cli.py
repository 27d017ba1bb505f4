"""``talentproof node | network | deploy | governance | status | contracts`` commands.

Errors print one line and exit 1; usage errors exit 2; an unreachable chain exits 3.
The operator key comes from ``--key``, ``--key-file`` or ``$TALENTPROOF_OPERATOR_KEY``.
"""

from __future__ import annotations

import functools
import inspect
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from talentproof.credential.text import printable
from talentproof.ledger.chain import DEFAULT_RPC_URL, load_private_key

if TYPE_CHECKING:
    from talentproof.ledger.network import Network

__all__ = ["register"]

DEFAULT_DEPLOYMENT = Path("data/deployment.json")
EXIT_FAILURE, EXIT_USAGE, EXIT_CHAIN = 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])

RpcOpt = typer.Option(DEFAULT_RPC_URL, "--rpc", envvar="TALENTPROOF_RPC_URL", help="JSON-RPC URL.")
DeploymentOpt = typer.Option(
    DEFAULT_DEPLOYMENT,
    "--deployment",
    "-d",
    envvar="TALENTPROOF_DEPLOYMENT",
    help="Deployment record.",
)
KeyOpt = typer.Option(
    None, "--key", help="Operator private key (hex). Prefer --key-file or the env."
)
KeyFileOpt = typer.Option(None, "--key-file", help="File holding the operator private key (hex).")
ConfOpt = typer.Option(1, "--confirmations", min=1, help="Blocks to wait for.")
GasPriceOpt = typer.Option(
    None,
    "--gas-price",
    min=0,
    help="Fixed legacy gas price in wei (0 on zero-gas permissioned chains).",
)


_HASH_HINT = (
    "A credential's hash is its `credentialHash` (0x and 64 hex digits) in the issuer's answers "
    "(POST /credentials, GET /credentials/{id}/anchor), not its id (urn:uuid:...)"
)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _errors(fn: F) -> F:
    """Turn library errors into one line on stderr and the documented exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from talentproof.errors import exit_code
        from talentproof.ledger.errors import ChainUnavailable, LedgerError

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ChainUnavailable as exc:
            _fail(
                f"{exc}; nothing was read or sent. Check that the node is running (`make run` "
                "starts one) and that --rpc (or TALENTPROOF_RPC_URL) names it",
                exit_code(exc),
            )
        except LedgerError as exc:  # by type: ChainUnavailable is EXIT_CHAIN
            _fail(str(exc), exit_code(exc))
        except (ValueError, TypeError) as exc:
            _fail(str(exc), EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class Connection:
    """The options every governance command takes: the chain, the registry, the operator key."""

    rpc: str
    deployment: Path
    key: str | None = None
    key_file: Path | None = None
    confirmations: int = 1
    gas_price: int | None = None

    def client(self, *, write: bool = True) -> Any:
        """A `RegistryClient` on the recorded registry, checked against the chain."""
        from talentproof.ledger.chain import connect
        from talentproof.ledger.client import RegistryClient
        from talentproof.ledger.deploy import Deployment
        from talentproof.ledger.tx import FeeConfig

        record = Deployment.load(self.deployment)
        operator = load_private_key(key=self.key, key_file=self.key_file) if write else None
        w3 = connect(self.rpc)
        client = RegistryClient(
            w3,
            record,
            operator,
            confirmations=self.confirmations,
            fees=FeeConfig(gas_price=self.gas_price),
        )
        client.check_chain()
        return client


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


# the options behind `Connection`, listed in every governance command after its own parameters
_CONNECTION_OPTIONS = (
    _option("rpc", str, RpcOpt),
    _option("deployment", Path, DeploymentOpt),
    _option("key", str | None, KeyOpt),
    _option("key_file", Path | None, KeyFileOpt),
    _option("confirmations", int, ConfOpt),
    _option("gas_price", int | None, GasPriceOpt),
)


def _connected(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give command `fn(..., conn)` the connection options; it receives them as one `Connection`."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "conn"]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        conn = Connection(**{p.name: kwargs.pop(p.name) for p in _CONNECTION_OPTIONS})
        return fn(conn=conn, **kwargs)

    signature = inspect.Signature([*own, *_CONNECTION_OPTIONS])
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper


# the parameters of the governance commands that `_simple` builds, by name
_PARAMETERS = {
    "issuer_id": _option("issuer_id", int, typer.Argument(..., min=1)),
    "account": _option("account", str, typer.Argument(...)),
    "public_key": _option("public_key", str, typer.Argument(...)),
    "credential_type": _option("credential_type", str, typer.Argument(...)),
    "valid_from": _option(
        "valid_from", int, typer.Option(0, "--valid-from", min=0, help="UNIX time (0: now).")
    ),
    "valid_until": _option(
        "valid_until",
        int,
        typer.Option(0, "--valid-until", min=0, help="UNIX time (0: open ended)."),
    ),
    "credential_hash": _option(
        "credential_hash",
        str,
        typer.Argument(..., help="The credential hash (0x-hex of 32 bytes, SHA-256 of its JCS)."),
    ),
    "root": _option(
        "root",
        str,
        typer.Argument(
            ..., help="The batch's Merkle root (0x-hex of 32 bytes; RootAnchored events list them)."
        ),
    ),
    "reason": _option(
        "reason",
        str,
        typer.Option(..., "--reason", help="Why (required, recorded on chain in the event)."),
    ),
}
_WINDOW = ("valid_from", "valid_until")


def _shown(value: Any) -> str:
    return f"0x{value.hex()}" if isinstance(value, bytes) else str(value)


def _multikey(raw: bytes) -> str:
    """A signing key as `status`, did.json and credentials show it (z6Mk...), not as 0x-hex."""
    from talentproof.credential.keys import Ed25519PublicKey

    return str(Ed25519PublicKey.from_raw(raw).multibase)


def _signing_key(value: str) -> bytes:
    """An Ed25519 public key: 0x-hex of 32 bytes, or a Multikey (``z6Mk...``)."""
    if value.startswith("z"):
        from talentproof.credential.keys import Ed25519PublicKey

        try:
            return bytes(Ed25519PublicKey.from_multibase(value).raw)
        except Exception as exc:  # the credential package's own error type
            raise ValueError(f"signing key {value!r:.20}: {exc}") from None
    from talentproof.ledger.client import as_bytes32

    try:
        return as_bytes32(value, "signing key")
    except ValueError:
        hint = " (for a did:key, give what follows 'did:key:')" if value.startswith("did:") else ""
        raise ValueError(
            f"signing key: expected a Multikey (z6Mk..., the publicKeyMultibase of a key) or "
            f"0x-hex of 32 bytes, found {value[:24]!r}{hint}"
        ) from None


def _credential_type(value: str) -> str:
    """A credential type the verifier knows by name (a kind, or a degree kind scoped to a level:
    ``DegreeCredential#level=bachelor``), or an explicit 0x-hex type id."""
    from talentproof.credential.types import parse_accreditation

    if value.startswith("0x"):
        return value
    try:
        parse_accreditation(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, or a 0x-hex type id") from None
    return value


def _grants(types: list[str], levels: str | None, *, grant: bool = True) -> list[str]:
    """The type names ``--type`` and ``--levels`` name (`credential.types.grant_names`); 0x ids
    pass as they are."""
    from talentproof.credential.types import grant_names

    ids = [t for t in types if t.startswith("0x")]
    named = [_credential_type(t) for t in types if not t.startswith("0x")]
    return [*ids, *grant_names(named, levels, grant=grant)]


_LEVELS_HELP = (
    "DegreeCredential only: the degree levels it may award, comma-separated (associate, "
    "bachelor, master, doctorate), or 'all' (the whole type); required to grant DegreeCredential."
)


def _done(receipt: Any, what: str) -> None:
    typer.echo(f"{what} (tx {receipt.tx_hash}, block {receipt.block_number})")


def register(app: typer.Typer) -> None:
    """Add the ledger commands to the root `talentproof` app."""
    node = typer.Typer(help="Run a local development chain.", no_args_is_help=True)
    governance = typer.Typer(
        help="Governance of the registry: issuers, keys, types, governors.", no_args_is_help=True
    )
    app.add_typer(node, name="node")
    app.add_typer(governance, name="governance")

    @node.command("start")
    @_errors
    def node_start(
        client: str = typer.Option("anvil", "--client", help="anvil or ganache."),
        port: int = typer.Option(
            8545, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any)."
        ),
        state_dir: Path = typer.Option(
            Path("data"), "--state-dir", help="Where chain state persists."
        ),
        chain_id: int | None = typer.Option(
            None, "--chain-id", help="Chain id (default 31337 / 1337)."
        ),
        zero_gas: bool = typer.Option(False, "--zero-gas", help="Zero base fee and gas price."),
        ephemeral: bool = typer.Option(False, "--ephemeral", help="Do not persist state."),
    ) -> None:
        """Run Anvil or Ganache in the foreground until Ctrl-C, its state kept in --state-dir."""
        from talentproof.ledger.nodes import LocalNode, NodeConfig
        from talentproof.private import private_dir, restrict_umask

        restrict_umask()  # chain state and log 0600 (issue 12)
        if not ephemeral:
            private_dir(state_dir)

        if client not in ("anvil", "ganache"):
            _fail(f"--client must be anvil or ganache, got {client!r}", EXIT_USAGE)
        state = (
            None
            if ephemeral
            else (state_dir / "anvil-state.json" if client == "anvil" else state_dir / "ganache-db")
        )
        local = LocalNode(
            NodeConfig(
                kind="anvil" if client == "anvil" else "ganache",  # checked above
                port=port,
                chain_id=chain_id,
                state_path=state,
                zero_gas=zero_gas,
                state_interval=5 if client == "anvil" and state else None,
            ),
            log_path=state_dir / f"{client}.log",
        )

        def _interrupt(*_: Any) -> None:
            raise KeyboardInterrupt

        # explicit handlers, installed before the node starts: a SIGINT inherited as ignored
        # (background job) must still stop us, and a signal during startup must stop the node
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            local.start()
            typer.echo(f"{local.client} on {local.rpc_url} (chain id {local.chain_id})")
            typer.echo(f"state: {state or 'not persisted'}; log: {local.log_path}")
            typer.echo(f"dev account 0: {local.accounts[0]} key {local.private_keys[0]}")
            assert local.process is not None
            code = local.process.wait()
            _fail(f"{client} exited with code {code}; log {local.log_path}", EXIT_FAILURE)
        except KeyboardInterrupt:
            typer.echo("stopping")
        finally:
            local.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @app.command("deploy")
    @_errors
    def deploy(
        rpc: str = RpcOpt,
        key: str | None = KeyOpt,
        key_file: Path | None = KeyFileOpt,
        out: Path = typer.Option(
            DEFAULT_DEPLOYMENT, "--out", "-o", help="Where to write the record."
        ),
        reuse: bool = typer.Option(
            False,
            "--reuse",
            help="Keep the registry of an existing record if it is still on chain.",
        ),
        confirmations: int = ConfOpt,
        gas_price: int | None = GasPriceOpt,
    ) -> None:
        """Deploy TalentProofRegistry (the operator becomes admin and first governor)."""
        from talentproof.ledger.chain import connect
        from talentproof.ledger.deploy import deploy_registry, ensure_deployed
        from talentproof.ledger.tx import FeeConfig

        operator = load_private_key(key=key, key_file=key_file)
        w3 = connect(rpc)
        fees = FeeConfig(gas_price=gas_price)
        if reuse:
            record = ensure_deployed(w3, operator, out, confirmations=confirmations, fees=fees)
        else:
            record = deploy_registry(w3, operator, confirmations=confirmations, fees=fees)
            record.save(out)
        typer.echo(json.dumps(record.to_json(), indent=2))
        typer.echo(f"deployment record: {out}", err=True)

    def _governance_command(name: str, help_: str) -> Callable[[Callable[..., Any]], Any]:
        """Register a governance command: errors handled, connection options added."""

        def decorate(fn: Callable[..., Any]) -> Any:
            return governance.command(name, help=help_)(_errors(_connected(fn)))

        return decorate

    @_governance_command("register-issuer", "Register an issuer; prints its id.")
    def register_issuer(
        conn: Connection,
        name: str = typer.Argument(..., help="Institution name."),
        did: str = typer.Argument(..., help="Institution DID, e.g. did:web:hku.hk."),
        account: list[str] = typer.Option(
            [], "--account", "-a", help="Account acting for it (repeat)."
        ),
        signing_key: list[str] = typer.Option(
            [], "--signing-key", help="Ed25519 key to add (repeat)."
        ),
        credential_type: list[str] = typer.Option(
            [], "--type", "-t", help="Credential type to grant."
        ),
        levels: str | None = typer.Option(None, "--levels", help=_LEVELS_HELP),
    ) -> None:
        keys = [_signing_key(k) for k in signing_key]  # checked before connecting
        types = _grants(credential_type, levels)
        c = conn.client()
        issuer_id = c.register_issuer(name, did, account)
        for pub in keys:
            c.add_signing_key(issuer_id, pub)
        for t in types:
            c.grant_credential_type(issuer_id, t)
        typer.echo(issuer_id)

    def _simple(cmd: str, help_: str, method: str, *names: str) -> None:
        """Register a governance command calling `RegistryClient.method(*arguments)`.

        `names` are keys of `_PARAMETERS`, in the method's order; the command prints its name and
        its arguments (not the validity window) with the transaction.
        """

        def run(conn: Connection, **values: Any) -> None:
            if "public_key" in values:  # checked before connecting
                values["public_key"] = _signing_key(values["public_key"])
            if "credential_type" in values:
                values["credential_type"] = _credential_type(values["credential_type"])
            if "credential_hash" in values:
                from talentproof.ledger.client import as_bytes32

                try:
                    values["credential_hash"] = as_bytes32(
                        values["credential_hash"], "credential hash"
                    )
                except ValueError as exc:
                    _fail(f"{exc}. {_HASH_HINT}", EXIT_FAILURE)
            if "root" in values:
                from talentproof.ledger.client import as_bytes32

                values["root"] = as_bytes32(values["root"], "Merkle root")
            if "reason" in values and not values["reason"].strip():
                _fail(f"{cmd}: --reason must not be empty", EXIT_USAGE)
            args = [values[n] for n in names]
            receipt = getattr(conn.client(), method)(*args)
            shown = [
                _multikey(v) if n == "public_key" else _shown(v)
                for n, v in zip(names, args, strict=True)
                if n not in _WINDOW
            ]
            _done(receipt, " ".join([cmd, *shown]))
            if "credential_hash" in values:
                typer.echo(
                    f"  recorded for issuer {values['issuer_id']}'s credential of that hash: it "
                    "applies only if that issuer signed it (the ledger cannot tell; `talentproof "
                    "verify` of the credential shows it at check 8)"
                )

        signature = inspect.Signature([_PARAMETERS[n] for n in names])
        run.__signature__ = signature  # type: ignore[attr-defined]
        _governance_command(cmd, help_)(run)

    id_acc = ("issuer_id", "account")
    _simple("add-account", "Let an account act for an issuer.", "add_issuer_account", *id_acc)
    _simple(
        "remove-account", "Stop an account acting for an issuer.", "remove_issuer_account", *id_acc
    )
    _simple("suspend", "Suspend an issuer.", "suspend_issuer", "issuer_id")
    _simple("reinstate", "Lift an issuer's suspension.", "reinstate_issuer", "issuer_id")
    _simple("remove", "Remove an issuer (final).", "remove_issuer", "issuer_id")
    _simple("add-governor", "Make an account a governor (admin).", "add_governor", "account")
    _simple("remove-governor", "Remove a governor (admin).", "remove_governor", "account")
    _simple("transfer-admin", "Start the admin transfer (admin).", "transfer_admin", "account")
    _simple("accept-admin", "Accept the admin role (pending admin).", "accept_admin")
    _simple(
        "add-key",
        "Register an issuer's Ed25519 signing key (hex or z6Mk...).",
        "add_signing_key",
        *("issuer_id", "public_key", *_WINDOW),
    )
    _simple(
        "revoke-key",
        "Revoke an issuer's signing key (validity ends now).",
        "revoke_signing_key",
        *("issuer_id", "public_key"),
    )

    @_governance_command(
        "grant-type",
        "Accredit an issuer for a credential type (name or 0x id); a degree for some levels "
        "(--levels associate,bachelor) or all (--levels all).",
    )
    def grant_type(
        conn: Connection,
        issuer_id: int = typer.Argument(..., min=1),
        credential_type: str = typer.Argument(...),
        levels: str | None = typer.Option(None, "--levels", help=_LEVELS_HELP),
        valid_from: int = typer.Option(0, "--valid-from", min=0, help="UNIX time (0: now)."),
        valid_until: int = typer.Option(
            0, "--valid-until", min=0, help="UNIX time (0: open ended)."
        ),
    ) -> None:
        names = _grants([credential_type], levels)  # checked before connecting
        c = conn.client()
        for name in names:
            receipt = c.grant_credential_type(issuer_id, name, valid_from, valid_until)
            _done(receipt, f"grant-type {issuer_id} {name}")

    @_governance_command(
        "withdraw-type",
        "Withdraw an issuer's accreditation for a type (a degree's: for the levels --levels "
        "names; without it, every grant of the type still open: the whole type and each level).",
    )
    def withdraw_type(
        conn: Connection,
        issuer_id: int = typer.Argument(..., min=1),
        credential_type: str = typer.Argument(...),
        levels: str | None = typer.Option(None, "--levels", help=_LEVELS_HELP),
    ) -> None:
        from talentproof.credential.types import scoped_types

        names = _grants([credential_type], levels, grant=False)  # checked before connecting
        c = conn.client()
        if levels is None and names == [credential_type] and scoped_types(credential_type):
            # "the type" is all of it: a level granted beside (or before) the whole type would
            # otherwise stay open, and the issuer go on signing degrees of that level
            now = int(c.w3.eth.get_block("latest")["timestamp"])
            names = [
                name
                for name in (credential_type, *scoped_types(credential_type))
                if c.credential_type(issuer_id, name).open_at(now)
            ]
            if not names:
                _fail(
                    f"withdraw-type: issuer {issuer_id} holds no open accreditation for "
                    f"{credential_type} (the whole type or any level)",
                    EXIT_FAILURE,
                )
        for name in names:
            _done(c.withdraw_credential_type(issuer_id, name), f"withdraw-type {issuer_id} {name}")

    for verb, what in (
        ("revoke", "Revoke an issuer's credential as governance (final)"),
        ("suspend", "Suspend an issuer's credential as governance (only governance lifts it)"),
        ("reinstate", "Lift a credential's suspension as governance"),
    ):
        _simple(
            f"{verb}-credential",
            f"{what}; --reason is required and recorded on chain.",
            f"governance_{verb}_credential",
            *("issuer_id", "credential_hash", "reason"),
        )

    _simple(
        "revoke-batch",
        "Revoke every credential of an issuer's batch as governance (final; e.g. a fraudulent "
        "issuer's, whose credentials' hashes are not on chain); --reason is required and recorded "
        "on chain.",
        "governance_revoke_batch",
        *("issuer_id", "root", "reason"),
    )

    @app.command("status")
    @_errors
    def status(
        rpc: str = RpcOpt,
        deployment: Path = DeploymentOpt,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show the deployment, governance and every issuer with its state and the credential
        types (a degree's: the whole type or each level) it is accredited for now."""
        from talentproof.credential.types import KINDS, scoped_types

        c = Connection(rpc, deployment).client(write=False)
        issuers = c.issuers()
        now = int(c.w3.eth.get_block("latest")["timestamp"])
        names = [n for kind in KINDS for n in (kind, *scoped_types(kind))]

        def accredited(issuer_id: int) -> list[str]:
            return [n for n in names if c.credential_type(issuer_id, n).open_at(now)]

        info = {
            "deployment": c.deployment.to_json(),
            "admin": c.admin(),
            "pendingAdmin": c.pending_admin(),
            "governorCount": c.governor_count(),
            "issuers": [
                {
                    "id": i.issuer_id,
                    "name": i.name,
                    "did": i.did,
                    "status": i.status.name.lower(),
                    "registeredAt": i.registered_at,
                    "accounts": c.issuer_accounts(i.issuer_id),
                    "types": accredited(i.issuer_id),
                }
                for i in issuers
            ],
        }
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        d = c.deployment
        typer.echo(
            f"registry {d.registry} on chain {d.chain_id} (block {d.deployment_block}, {d.compiler})"
        )
        typer.echo(f"admin {info['admin']}; governors: {info['governorCount']}")
        if not issuers:
            typer.echo("no issuers registered")
        for item in info["issuers"]:
            typer.echo(
                f"  #{item['id']} {printable(item['name'])} ({printable(item['did'])}): {item['status']}, "
                f"accounts {', '.join(item['accounts']) or '-'}; "
                f"accredited for {', '.join(item['types']) or 'no type'}"
            )

    _register_network(app)

    try:
        from talentproof.ledger.compiler import register_compile_command
    except ImportError:  # pragma: no cover - compiler module absent
        return
    register_compile_command(app)


NetworkDirOpt = typer.Option(
    Path("data/network"), "--dir", help="The network's folder (layout, keys, chains, logs)."
)


def _register_network(app: typer.Typer) -> None:
    """``talentproof network build | start | stop | status``: a local Clique network of geth nodes.

    `start` lays the network out on its first run (`talentproof.ledger.network`), starts the
    nodes in the background and returns once blocks are produced and every node has all the
    others as peers; `stop` stops them (from any shell: the process ids are in
    ``<dir>/pids.json``); `status` shows each node. The chain state stays in ``--dir``.
    """
    group = typer.Typer(
        help="Run a permissioned network: Clique signers and an RPC node (geth).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="network")

    @group.command("build")
    def build() -> None:
        """Build geth from the Go module proxy into the cache (once; reused afterwards)."""
        from talentproof.ledger.errors import NodeError
        from talentproof.ledger.geth import geth_binary, geth_version

        try:
            binary = geth_binary(log=typer.echo)
            typer.echo(f"geth {geth_version(binary)} at {binary}")
        except NodeError as exc:
            _fail(str(exc), EXIT_FAILURE)

    @group.command("start")
    def start(
        directory: Path = NetworkDirOpt,
        signers: int = typer.Option(3, "--signers", min=1, max=16, help="Clique signers."),
        block_period: int = typer.Option(
            1,
            "--block-period",
            min=1,
            max=30,
            help="Seconds between blocks, 1 to 30 (the measured runs use 1-2 s).",
        ),
        rpc_port: int = typer.Option(
            8545, "--rpc-port", min=0, max=65535, help="HTTP JSON-RPC port of the RPC node."
        ),
        rpc_nodes: int = typer.Option(
            1, "--rpc-nodes", min=1, max=8, help="Non-signing RPC nodes."
        ),
        chain_id: int | None = typer.Option(
            None, "--chain-id", min=1, max=2**32 - 1, help="Chain id (default 13370)."
        ),
    ) -> None:
        """Start the network in the background; returns when it produces blocks, all peered."""
        from talentproof.ledger.errors import NodeError
        from talentproof.ledger.network import DEFAULT_CHAIN_ID, Network, NetworkConfig
        from talentproof.private import restrict_umask

        restrict_umask()  # keys, chain data and logs 0600 (issue 12)
        running = False  # the nodes run on (detached) once started
        try:
            net = Network(
                directory,
                NetworkConfig(
                    signers=signers,
                    rpc_nodes=rpc_nodes,
                    block_period=block_period,
                    chain_id=DEFAULT_CHAIN_ID if chain_id is None else chain_id,
                    rpc_port=rpc_port,
                ),
                attached=False,
            )
            if net.check_layout() and net.running:  # the same layout, already running
                running = True
                typer.echo(f"already running in {net.directory}")
            else:
                net.start()
                running = True
                typer.echo(f"started in {net.directory.resolve()} ({net.client})")
            _print_network_status(net)
            typer.echo(f"operator (development account 0) key {net.private_keys[0]}")
            typer.echo(f"stop with: talentproof network stop --dir {directory}")
        except NodeError as exc:
            _fail(str(exc), EXIT_FAILURE)
        except KeyboardInterrupt:  # `Network.start` stops what it spawned before re-raising
            typer.echo(
                f"\ninterrupted: the network is running; stop with: talentproof network stop "
                f"--dir {directory}"
                if running
                else "\ninterrupted: the network's nodes were stopped",
                err=True,
            )
            raise typer.Exit(130) from None

    @group.command("stop")
    def stop(directory: Path = NetworkDirOpt) -> None:
        """Stop every node of the network (the chain state stays in --dir)."""
        from talentproof.ledger.errors import NodeError
        from talentproof.ledger.network import LAYOUT_FILE, Network

        if not (directory / LAYOUT_FILE).is_file():  # a mistyped --dir stops nothing: say so
            _fail(f"no network in {directory} (no {LAYOUT_FILE}): nothing to stop", EXIT_FAILURE)
        try:
            stopped = Network(directory).stop()
        except NodeError as exc:
            _fail(str(exc), EXIT_FAILURE)
        typer.echo(f"stopped {', '.join(stopped)}" if stopped else "no node was running")

    @group.command("status")
    def status(
        directory: Path = NetworkDirOpt,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Each node's process, head block and peers; exits 1 unless every node runs."""
        from talentproof.ledger.errors import NodeError
        from talentproof.ledger.network import Network

        net = Network(directory)
        try:
            nodes = net.status()
        except NodeError as exc:
            _fail(str(exc), EXIT_FAILURE)
        if as_json:
            typer.echo(json.dumps([n.to_json() for n in nodes], indent=2))
        else:
            _print_network_status(net)
        if not all(n.running for n in nodes):
            raise typer.Exit(1)


def _print_network_status(net: Network) -> None:
    for node in net.status():
        state = "running" if node.running else "stopped"
        block = "-" if node.block is None else str(node.block)
        peers = "-" if node.peers is None else str(node.peers)
        who = f" signer {node.signer}" if node.signer else ""
        typer.echo(
            f"  {node.name:<9} {state:<8} pid {node.pid or '-':<8} block {block:<6} "
            f"peers {peers:<3} {node.endpoint}{who}"
        )
    typer.echo(f"chain id {net.chain_id}; JSON-RPC {', '.join(net.rpc_urls)}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the `talentproof` command")
