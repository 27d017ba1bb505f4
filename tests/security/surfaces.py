"""The verifier's surfaces driven alike by the attack tests that compare them (check 2's line
breaks, check 6's issuer profiles): the CLI on one file, and the folder verification with 1
and 2 workers, its C fast path on and off. ``env`` holds the chain (``chain``), the saved
deployment record (``record``) and the folder of attack files (``folder``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier import bulk

runner = CliRunner()


def cli_verify(env: dict[str, Any], *args: str) -> dict[str, Any]:
    """``talentproof verify ... --json`` on ``env``'s chain and deployment: its JSON report (the
    exit code 0 or 1, a verdict)."""
    r = runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args, "--json"]
    )
    assert r.exit_code in (0, 1), r.output
    return dict(json.loads(r.output))


def folder_verdicts(env: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """The folder's verdict and report per file (by its stem), for 1 and 2 workers, C on and
    off, keyed ``workers=N C=on|off``."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    was = bulk.NATIVE
    try:
        for native in (True, False):
            bulk.NATIVE = native
            for workers in ("1", "2"):
                report = cli_verify(env, str(env["folder"]), "--workers", workers)
                out[f"workers={workers} C={'on' if native else 'off'}"] = {
                    Path(x["source"]).stem: (x["outcome"]["code"], json.dumps(x))
                    for x in report["results"]
                }
    finally:
        bulk.NATIVE = was
    return out
