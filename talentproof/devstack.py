"""`talentproof run`: the whole product on this machine, for development and demonstration.

It starts a local Anvil on 127.0.0.1:8545 whose state persists in the data folder, deploys the
registry on first start and finds it again on the next, then starts the services beside it
(issuer on :8000, verifier on :8001). Ctrl-C stops everything; the next run comes back with the
same chain state and databases.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import typer

CHAIN_PORT = 8545
ISSUER_PORT = 8000
VERIFIER_PORT = 8001


@dataclass
class Service:
    """A service of the stack run as a child process of `talentproof run`."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
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
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{_tail(self.log_path)}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(self.health_url, timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within {timeout:g} s")

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


def run_stack(data_dir: Path, *, with_services: bool = True) -> None:
    """Run the stack in the foreground until Ctrl-C (or SIGTERM)."""
    from talentproof.ledger.deploy import Deployment, ensure_deployed
    from talentproof.ledger.nodes import LocalNode, NodeConfig

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    node = LocalNode(
        NodeConfig(
            kind="anvil",
            port=CHAIN_PORT,
            state_path=data_dir / "chain" / "anvil-state.json",
            state_interval=2,
        ),
        log_path=data_dir / "logs" / "anvil.log",
    )
    services: list[Service] = []

    stopping = False

    def _on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        resumed = node.config.state_path is not None and node.config.state_path.exists()
        node.start()
        operator_key = node.private_keys[0]
        record = data_dir / "deployment.json"
        before = Deployment.load(record) if record.exists() else None
        deployment = ensure_deployed(node.rpc_url, operator_key, record)
        typer.echo(f"chain     {node.rpc_url}  ({node.client}, chain id {node.chain_id}, "
                   f"{'state resumed' if resumed else 'new state'} in {node.config.state_path})")
        typer.echo(
            f"registry  {deployment.registry}  "
            f"({'found again' if deployment == before else 'deployed'}"
            f" at block {deployment.deployment_block}; record {record})"
        )
        env = {
            "TALENTPROOF_DATA_DIR": str(data_dir),
            "TALENTPROOF_RPC_URL": node.rpc_url,
            "TALENTPROOF_DEPLOYMENT": str(record),
            "TALENTPROOF_ENV": "development",
        }
        if with_services and _has_command("issuer"):
            services.append(Service(
                "issuer", _cli("issuer", "serve", "--host", "127.0.0.1", "--port", str(ISSUER_PORT)),
                f"http://127.0.0.1:{ISSUER_PORT}/healthz", data_dir / "logs" / "issuer.log",
                {**env, "TALENTPROOF_OPERATOR_KEY": operator_key},
            ))
        if with_services and _has_command("verifier"):
            services.append(Service(
                "verifier", _cli("verifier", "serve", "--host", "127.0.0.1", "--port", str(VERIFIER_PORT)),
                f"http://127.0.0.1:{VERIFIER_PORT}/healthz", data_dir / "logs" / "verifier.log", env,
            ))
        for service in services:
            service.start()
        for service in services:
            service.wait_healthy()
            typer.echo(f"{service.name:<9} {service.health_url.rsplit('/', 1)[0]}  (log {service.log_path})")
        typer.echo("running; Ctrl-C stops everything")
        while True:
            for service in services:
                if service.process is not None and service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} stopped unexpectedly; see {service.log_path}")
            if not node.running:
                raise RuntimeError(f"anvil stopped unexpectedly; see {node.log_path}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    finally:
        for service in reversed(services):
            service.stop()
        node.stop()
        typer.echo("stopped; chain state kept in " + str(node.config.state_path))


def register(app: typer.Typer) -> None:
    """Add `talentproof run` to the root command."""

    @app.command("run")
    def run(
        data_dir: Path = typer.Option(Path("data"), "--data-dir", help="Chain state, databases, logs."),
        chain_only: bool = typer.Option(False, "--chain-only", help="Start the chain and deploy only."),
    ) -> None:
        """Run the whole product locally: Anvil, the registry, the issuer and verifier services."""
        try:
            run_stack(data_dir, with_services=not chain_only)
        except Exception as exc:  # one clear line, not a traceback
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
