"""The one `talentproof` command: each package contributes its commands.

Each of `talentproof.ledger.cli`, `talentproof.credential.cli`, `talentproof.verifier.cli`,
`talentproof.issuer.cli` and `talentproof.wallet.cli` exposes
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import importlib
import inspect

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


def _unwrap_summaries(typer_app: typer.Typer) -> None:
    """Join the lines of each command docstring's first paragraph. Rich help keeps a
    docstring's line breaks, so a summary wrapped in the source ('... and the credential' /
    'types (a degree's ...') was listed by `talentproof --help` as two broken lines."""
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            first, sep, rest = inspect.cleandoc(info.callback.__doc__).partition("\n\n")
            info.help = " ".join(first.split()) + sep + rest
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _unwrap_summaries(group.typer_instance)


_unwrap_summaries(app)


def main() -> None:
    """Entry point of the `talentproof` console script. An error a command did not handle
    itself prints its diagnostics and exits with the code of its type
    (:func:`talentproof.errors.exit_code`)."""
    try:
        app()
    except TalentProofError as exc:
        typer.echo(f"error: {exc.diagnostics()}", err=True)
        raise SystemExit(exit_code(exc)) from None
