"""`talentproof run` as the end-to-end tests drive it: a real process tree on free ports.

`Stack` starts ``python -m talentproof run`` (chain, deployment, issuer and verifier services,
seeding) in a fresh data folder, waits for its "running" line, and stops it with SIGINT as Ctrl-C
would, checking that no process it started is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talentproof.ledger.nodes import free_port

REPO = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Stack:
    """One `talentproof run` process tree."""

    data_dir: Path
    chain: str = "anvil"
    chain_port: int = field(default_factory=free_port)
    issuer_port: int = field(default_factory=free_port)
    verifier_port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log: Path | None = None
    descendants: set[int] = field(default_factory=set)
    #: more `talentproof run` options (e.g. ``["--rpc-nodes", "2"]``)
    args: list[str] = field(default_factory=list)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.chain_port}"

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.issuer_port}"

    @property
    def verifier_url(self) -> str:
        return f"http://127.0.0.1:{self.verifier_port}"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    def seed(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "dev-keys.json").read_text())

    def api_key(self, slug: str) -> str:
        return self.seed()["institutions"][slug]["api_key"]

    def output(self) -> str:
        return self.log.read_text() if self.log and self.log.exists() else ""

    def start(self, timeout: float = 180.0) -> str:
        """Start and wait for the "running" line; returns the output so far."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir.parent / f"run-{self.data_dir.name}-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
        env["TALENTPROOF_ISSUER_BATCH_MAX_WAIT_S"] = "0.2"  # inherited by the issuer: anchor sooner
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "talentproof",
                    "run",
                    "--data-dir",
                    str(self.data_dir),
                    "--chain",
                    self.chain,
                    "--chain-port",
                    str(self.chain_port),
                    "--issuer-port",
                    str(self.issuer_port),
                    "--verifier-port",
                    str(self.verifier_port),
                    *self.args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=REPO,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while "running; Ctrl-C stops everything" not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"talentproof run exited {self.process.returncode}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"talentproof run not up within {timeout:g} s:\n{self.output()}"
                )
            time.sleep(0.2)
        self.descendants = _children(self.process.pid)
        return self.output()

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C (SIGINT) and wait; returns the exit code."""
        proc, self.process = self.process, None
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                for pid in self.descendants:
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)
                raise AssertionError(
                    f"talentproof run did not stop on SIGINT:\n{self.output()}"
                ) from None
        return proc.returncode
