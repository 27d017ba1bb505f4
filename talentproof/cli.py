"""The one `talentproof` command: each package contributes its commands.

Each of `talentproof.ledger.cli`, `talentproof.credential.cli`, `talentproof.verifier.cli`,
`talentproof.issuer.cli` and `talentproof.wallet.cli` exposes
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import importlib

import typer

from talentproof.errors import TalentProofError, exit_code

app = typer.Typer(
    name="talentproof",
    help="TalentProof: ledger-anchored credentials for talent-list claims.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_CONTRIBUTORS = (
    "talentproof.ledger.cli",
    "talentproof.credential.cli",
    "talentproof.issuer.cli",
    "talentproof.verifier.cli",
    "talentproof.wallet.cli",
    "talentproof.devstack",
    "talentproof.demo",
)

for _name in _CONTRIBUTORS:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a package that has no commands yet
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point of the `talentproof` console script. An error a command did not handle
    itself prints its diagnostics and exits with the code of its type
    (:func:`talentproof.errors.exit_code`)."""
    try:
        app()
    except TalentProofError as exc:
        typer.echo(f"error: {exc.diagnostics()}", err=True)
        raise SystemExit(exit_code(exc)) from None
