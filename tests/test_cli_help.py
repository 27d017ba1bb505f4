"""`talentproof --help` as a new user first reads it."""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from talentproof.cli import app


def _commands(command: Any, path: str) -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def test_every_command_summary_is_one_paragraph_without_line_breaks() -> None:
    """Rich help keeps a docstring's line breaks: `talentproof --help` listed status, keygen,
    holder commit-id, receipt check and verifier token with their summaries broken where the
    source wrapped them ('... and the credential' / 'types (a degree's ...')."""
    broken = [
        path
        for path, command in _commands(typer.main.get_command(app), "talentproof")
        if "\n" in (command.help or "").strip().split("\n\n")[0]
    ]
    assert broken == []
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "240"}).output
    assert "with its state and the credential types (a degree's" in out, out
    assert "salt; write the key file." in out, out
