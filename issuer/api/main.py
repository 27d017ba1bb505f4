"""The issuer's HTTP API: `create_app` assembles the routers (one per resource), the
middleware (request limits, the ``POST /credentials`` fast path) and the error handlers.

Authentication: ``Authorization: Bearer tpk_<id>_<secret>`` (institution or operator key).
Errors are JSON ``{"error": code, "message": ..., "field": ...}`` with the status of the
`IssuerError` leaf; write endpoints honour ``Idempotency-Key``.
"""

import contextlib
import ctypes
import signal
from collections.abc import AsyncIterator

from fastapi import FastAPI

from talentproof.apidocs import install_docs

from ..anchoring import AnchorWorker
from ..bulk import BulkRunner
from ..observability import GC_PAUSES, configure_logging, freeze_after_warm_up
from ..service import IssuerService
from . import contexts, deps
from .deps import get_settings
from .errors import install_error_handlers, render_issuer_error
from .issuance import IssueFastPath, IssueGroups
from .limits import LimitSettings, RequestLimits
from .responses import ORJSONResponse
from .routes import (
    api_keys,
    bulk_jobs,
    credentials,
    health,
    home,
    institutions,
    oid4vci,
    publication,
    status_changes,
    vc_api,
)

#: The routers in the order their routes are matched.
ROUTERS = (
    home.router,
    health.router,
    contexts.router,
    oid4vci.router,  # before publication and institutions: /institutions/{slug}/token ...
    publication.router,
    vc_api.router,  # before credentials: /credentials/issue and /credentials/status are fixed paths
    credentials.router,
    status_changes.router,
    bulk_jobs.router,
    institutions.router,
    api_keys.router,
)


#: What the OpenAPI page (`/docs`) says first: for the institutions and operators who read it
#: (the module docstring above is for this code's developers; it was shown there before).
API_DESCRIPTION = """Accredited institutions issue signed, ledger-anchored W3C credentials here
(`POST /credentials`, `POST /bulk-jobs`), offer them to applicants' wallets
(`POST /credential-offers`, OpenID4VCI) and revoke or suspend them; the operator onboards
institutions (`/operator/...`).

Authentication: `Authorization: Bearer tpk_<id>_<secret>` (an institution's or the operator's
API key; `make run` prints the development ones). Errors are JSON
`{"error": code, "message": ..., "field": ...}`, the message naming what was expected; write
endpoints honour `Idempotency-Key`. Start with the README: "The two commands" and
"API quick reference"."""


def create_app(
    service: IssuerService,
    *,
    run_worker: bool | None = None,
    freeze_gc: bool = False,
    watch_ledger: bool = True,
) -> FastAPI:
    """The FastAPI application over ``service``; the anchoring and bulk workers run inside it
    unless ``run_worker`` is false (default: the settings' ``run_worker``).

    ``watch_ledger``: run the service's ledger status watch (`chain.IssuerStateWatch`), which
    records the institutions' ledger status for issuance to refuse suspended ones; false in the
    HTTP processes of ``serve --workers N``, whose supervisor runs the one watch.

    ``freeze_gc`` (what ``talentproof issuer serve`` sets): at start-up, warm the service up,
    freeze the heap out of the garbage collector's reach and record its pauses
    (`observability.freeze_after_warm_up`, `observability.GC_PAUSES`).
    """
    start_workers = service.settings.run_worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = AnchorWorker(service)
        bulk = BulkRunner(service)
        _app.state.worker = worker
        _app.state.bulk = bulk
        if freeze_gc:
            service.warm_up()
            freeze_after_warm_up()
            GC_PAUSES.install()
        if watch_ledger:
            service.ledger_watch.ensure_running()  # institutions' ledger status, for issuance
        if start_workers:
            worker.start()
            bulk.start()
        try:
            yield
        finally:
            if start_workers:
                bulk.stop()
                worker.stop()

    app = FastAPI(
        title="TalentProof issuer",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        docs_url=None,  # served from this service, not a CDN: apidocs.install_docs
        redoc_url=None,
    )
    install_docs(app)
    app.state.service = service
    app.state.oid4vci = oid4vci.build_oid4vci(service)
    # the routes see this service's settings (read from the environment or given in code)
    app.dependency_overrides[deps.get_settings] = lambda: service.settings

    # inner first: the fast path runs inside the request limits
    groups = IssueGroups(service)
    app.state.issue_groups = groups
    if service.settings.issue_fast_path:
        app.add_middleware(
            IssueFastPath, service=service, groups=groups, render_error=render_issuer_error
        )
    # rate limits by principal (API key id once authenticated, else client address): one rule
    # in front of both paths of POST /credentials and every route
    app.add_middleware(
        RequestLimits,
        limits=LimitSettings.from_settings(service.settings),
        authenticate=oid4vci.limits_authenticate(service, app.state.oid4vci),
    )
    # outermost: a wallet on another origin reads every answer of its endpoints, 429s included
    app.add_middleware(oid4vci.Oid4vciCors)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def worker_process_app() -> FastAPI:
    """The app of one HTTP process of ``talentproof issuer serve --workers N`` (a uvicorn
    factory): its own service from the same environment, without the anchoring and bulk
    workers (the supervising process runs them) and without migrations (already run)."""
    _die_with_parent()
    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(
        IssuerService(settings, run_migrations=False),
        run_worker=False,
        freeze_gc=True,
        watch_ledger=False,  # the supervisor watches the ledger for all the processes
    )


def _die_with_parent() -> None:
    """Linux: kill this HTTP process when its supervising `serve` process dies, even by SIGKILL:
    killing `serve` kills all of it, as when it was one process, and no orphan keeps the port.
    (A normal stop, SIGINT or SIGTERM, lets uvicorn's supervisor stop its processes gracefully
    first.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
