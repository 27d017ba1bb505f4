"""``talentproof issuer ...``: run the service and the workers, and operator commands.

Configuration comes from the environment (``TALENTPROOF_ISSUER_*``, see ``settings.py``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

issuer_app = typer.Typer(
    help="The issuer service: HTTP API, anchoring worker, operator commands.", no_args_is_help=True
)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(3 if exc.__class__.__name__ == "ChainUnavailable" else 1)


def _service(**overrides: object):  # type: ignore[no-untyped-def]
    from .observability import configure_logging
    from .service import IssuerService
    from .settings import IssuerSettings

    settings = IssuerSettings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return IssuerService(settings)


@issuer_app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000)")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker", help="Run the anchoring and bulk workers in this process"
        ),
    ] = True,
) -> None:
    """Serve the HTTP API (and, by default, the anchoring and bulk workers)."""
    import uvicorn

    from .app import create_app
    from .errors import IssuerError

    try:
        service = _service()
    except IssuerError as exc:
        _fail(exc)
        return
    app = create_app(service, run_worker=worker)
    import gc

    gc.collect()
    gc.freeze()  # start-up objects are never collected: shorter GC pauses under load
    uvicorn.run(
        app,
        host=host or service.settings.host,
        port=port or service.settings.port,
        log_level="warning",
        access_log=False,
    )


@issuer_app.command("worker")
def worker_cmd(
    once: Annotated[bool, typer.Option(help="Anchor everything pending, then exit")] = False,
    timeout: Annotated[
        float, typer.Option(help="With --once: give up after this many seconds")
    ] = 300.0,
) -> None:
    """Run the anchoring worker (and the bulk runner) without the HTTP API."""
    from .anchoring import AnchorWorker
    from .bulk import BulkRunner
    from .errors import IssuerError

    try:
        service = _service()
        worker = AnchorWorker(service)
        if once:
            BulkRunner(service).run_pending()
            worker.drain(timeout)
            return
        bulk = BulkRunner(service)
        bulk.start()
        worker.run_forever()
    except (IssuerError, TimeoutError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


@issuer_app.command("migrate")
def migrate_cmd() -> None:
    """Create or upgrade the database schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from .errors import IssuerError

    try:
        _service()
    except (IssuerError, SQLAlchemyError) as exc:
        _fail(exc)
    typer.echo("database at the newest revision")


@issuer_app.command("create-operator-key")
def create_operator_key(
    name: Annotated[str, typer.Option(help="A label for the key")] = "operator",
) -> None:
    """Create an operator API key and print it once."""
    from sqlalchemy.exc import SQLAlchemyError

    from .errors import IssuerError

    try:
        typer.echo(_service().create_operator_key(name))
    except (IssuerError, SQLAlchemyError) as exc:
        _fail(exc)


@issuer_app.command("onboard")
def onboard(
    name: Annotated[str, typer.Option(help="Institution name")],
    slug: Annotated[str, typer.Option(help="Short identifier used in URLs and its did:web")],
    types: Annotated[list[str], typer.Option("--type", help="Accredited credential type (repeat)")],
    chain_issuer_id: Annotated[
        int | None, typer.Option(help="Link an issuer already registered on chain")
    ] = None,
) -> None:
    """Onboard an institution (on chain and here) and print it with its first API key (JSON)."""
    from .errors import IssuerError

    try:
        service = _service()
        with service.session() as session:
            outcome = service.onboard_institution(
                session,
                name=name,
                slug=slug,
                credential_types=list(types),
                chain_issuer_id=chain_issuer_id,
            )
        sys.stdout.write(orjson.dumps(outcome.body, option=orjson.OPT_INDENT_2).decode() + "\n")
    except IssuerError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    """Add the ``issuer`` command group to the root CLI."""
    app.add_typer(issuer_app, name="issuer")


if __name__ == "__main__":  # ``python -m talentproof.issuer.cli worker --once`` (tests, ops)
    issuer_app()
