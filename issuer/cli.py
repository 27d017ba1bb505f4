"""``talentproof issuer ...``: run the service and the workers, and operator commands.

Configuration comes from the environment (``TALENTPROOF_ISSUER_*``, see ``settings.py``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer

from talentproof.errors import exit_code

issuer_app = typer.Typer(
    help="The issuer service: HTTP API, anchoring worker, operator commands.", no_args_is_help=True
)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(exit_code(exc))  # by type: 3 when the ledger is unreachable


def _settings(**overrides: object) -> Any:
    """The settings, or a usage error naming each bad variable (no traceback)."""
    from pydantic import ValidationError

    from talentproof.errors import EXIT_USAGE

    from .settings import IssuerSettings

    try:
        return IssuerSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        names = {}  # a variable -> every variable of its setting (alias choices)
        for field in IssuerSettings.model_fields.values():
            choices = getattr(field.validation_alias, "choices", None) or ()
            names.update({str(c): " or ".join(str(x) for x in choices) for c in choices})
        for err in exc.errors():
            where = str(err["loc"][0]) if err.get("loc") else "settings"
            if not where.startswith("TALENTPROOF_"):
                where = f"TALENTPROOF_ISSUER_{where.upper()}"
            message = str(err.get("msg", ""))
            if err.get("type") == "value_error":  # a validator's message names what it got
                message = message.removeprefix("Value error, ")
            else:
                message += f", found {err.get('input')!r}"
            typer.echo(f"error: {names.get(where, where)}: {message}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _service(**overrides: object):  # type: ignore[no-untyped-def]
    from talentproof.private import restrict_umask

    from .observability import configure_logging

    restrict_umask()  # what the service writes (database, WAL, uploads) is 0600 (issue 12)
    from .service import IssuerService

    settings = _settings(**overrides)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return IssuerService(settings)


@issuer_app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000)")] = None,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the anchoring and bulk workers, in the supervising process (default from "
            "settings, TALENTPROOF_ISSUER_RUN_WORKER: yes)",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="HTTP processes (default from settings, TALENTPROOF_ISSUER_HTTP_WORKERS: 1), "
            "all on one port. This process supervises them and runs the anchoring and bulk "
            "workers, so they never hold an HTTP process's interpreter lock; SQLite writers of "
            "all processes queue on one lock file; /metrics of any process reports all of them. "
            "With --no-worker and 1 process, everything runs in this one process.",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (and, by default, the anchoring and bulk workers)."""
    import shutil
    import tempfile

    from .errors import IssuerError

    configured = _settings()
    processes = workers or configured.http_workers
    worker = configured.run_worker if worker is None else worker
    supervised = worker or processes > 1
    metrics_dir = None
    if supervised:
        from .observability import enable_multiprocess_metrics

        # before any metric exists: the workers' values here (anchored, pending, chain) and the
        # HTTP processes' (issued) all go to files that /metrics of any process sums up
        metrics_dir = tempfile.mkdtemp(prefix="talentproof-issuer-metrics-")
        enable_multiprocess_metrics(metrics_dir)
    try:
        try:
            service = _service()
        except IssuerError as exc:
            _fail(exc)
            return
        settings = service.settings
        bind: dict[str, Any] = {"host": host or settings.host, "port": port or settings.port}
        if not supervised:
            import uvicorn

            from ._http import CoalescingHttpToolsProtocol
            from .app import create_app

            app = create_app(service, run_worker=False, freeze_gc=True)
            uvicorn.run(
                app,
                **bind,
                log_level="warning",
                access_log=False,
                http=CoalescingHttpToolsProtocol,
            )
            return
        _serve_processes(service, processes, run_worker=worker, bind=bind)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve_processes(
    service: Any, processes: int, *, run_worker: bool, bind: dict[str, Any]
) -> None:
    """uvicorn's process supervisor here with ``processes`` spawned HTTP processes (each builds
    its own service from the same environment: `app.worker_process_app`), and the anchoring and
    bulk workers as threads of this process."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    from ._http import CoalescingHttpToolsProtocol
    from .anchoring import AnchorWorker
    from .bulk import BulkRunner

    config = Config(
        "talentproof.issuer.app:worker_process_app",
        http=CoalescingHttpToolsProtocol,
        factory=True,
        workers=processes,
        log_level="warning",
        access_log=False,
        **bind,
    )
    socket = config.bind_socket()
    anchor = AnchorWorker(service) if run_worker else None
    bulk = BulkRunner(service) if run_worker else None
    service.ledger_watch.ensure_running()  # one watch for the HTTP processes (see create_app)
    try:
        if anchor is not None and bulk is not None:
            anchor.start()
            bulk.start()
        Multiprocess(config, sockets=[socket]).run()
    except KeyboardInterrupt:
        pass
    finally:
        if anchor is not None and bulk is not None:
            bulk.stop()
            anchor.stop()
        service.close()
        socket.close()


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
    levels: Annotated[
        str | None,
        typer.Option(
            "--levels",
            help="DegreeCredential only: the degree levels it may award, comma-separated "
            "(associate, bachelor, master, doctorate), or 'all'; required with DegreeCredential",
        ),
    ] = None,
    chain_issuer_id: Annotated[
        int | None,
        typer.Option(
            help="Link an issuer already registered on chain (its DID and name must be this "
            "institution's: give --did as registered)"
        ),
    ] = None,
    did: Annotated[
        str | None,
        typer.Option(
            help="The institution's own did:web (e.g. did:web:osl.com); default: the did:web "
            "this service derives from its public URL and the slug"
        ),
    ] = None,
) -> None:
    """Onboard an institution (on chain and here) and print it with its first API key (JSON)."""
    from talentproof.credential.types import grant_names
    from talentproof.errors import EXIT_USAGE

    from .errors import IssuerError

    try:
        names = grant_names(types, levels)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        service = _service()
        with service.session() as session:
            institution = service.onboard_institution(
                session,
                name=name,
                slug=slug,
                credential_types=names,
                chain_issuer_id=chain_issuer_id,
                did=did,
            )
        sys.stdout.write(orjson.dumps(institution, option=orjson.OPT_INDENT_2).decode() + "\n")
    except IssuerError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    """Add the ``issuer`` command group to the root CLI."""
    app.add_typer(issuer_app, name="issuer")


if __name__ == "__main__":  # ``python -m talentproof.issuer.cli worker --once`` (tests, ops)
    issuer_app()
