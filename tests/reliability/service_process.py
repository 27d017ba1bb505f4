"""A TalentProof service (``talentproof issuer serve``, ``talentproof verifier serve``) run as a
real subprocess by the reliability tests: started and waited for on ``/healthz``, killed with
SIGKILL as a crash, stopped with its children. One copy for the rollback, reorganisation, load,
replica and network-fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


class ServiceProcess:
    """A service process in its own session (so it and its HTTP children stop together),
    restartable on the same port, environment and log."""

    def __init__(
        self, args: list[str], env: dict[str, str], port: int, log: Path, name: str = "issuer"
    ) -> None:
        self.name, self.args, self.env, self.port, self.log = name, args, env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed_at: float | None = None

    @property
    def alive(self) -> bool:
        """False once `kill` was called (until the next `start`)."""
        return self.killed_at is None

    def start(self, timeout: float = 120) -> None:
        """Start the process and wait until ``/healthz`` answers 200."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from talentproof.cli import main; main()", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.killed_at = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the service process, as a crash (its HTTP children die with it)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.killed_at = time.monotonic()

    def stop(self) -> None:
        """SIGTERM the process group; SIGKILL it if it has not exited within 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def ready(self) -> dict[str, Any]:
        """The ``/readyz`` body."""
        body: dict[str, Any] = httpx.get(f"{self.url}/readyz", timeout=10).json()
        return body


def issuer_process(
    env: dict[str, str], port: int, log: Path, name: str = "issuer"
) -> ServiceProcess:
    """``talentproof issuer serve --port <port>`` (the anchoring worker inside when the
    environment says ``TALENTPROOF_ISSUER_RUN_WORKER=true``)."""
    return ServiceProcess(["issuer", "serve", "--port", str(port)], env, port, log, name)
