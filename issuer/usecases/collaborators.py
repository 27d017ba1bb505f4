"""What every use case may use: the service's collaborators, built once by `IssuerService`."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..caches import IssuerCaches
from ..chain import ChainGateway
from ..observability import Metrics
from ..settings import IssuerSettings
from ..vault import KeyVault


@dataclass(frozen=True, slots=True)
class Collaborators:
    """The service's settings, database, ledger gateway, caches, key vault and metrics."""

    settings: IssuerSettings
    engine: Engine
    #: reading sessions (no writer lock)
    sessions: sessionmaker[Session]
    #: a writing session: under the writer lock, committed on success, rolled back on error
    session: Callable[[], contextlib.AbstractContextManager[Session]]
    write_lock: contextlib.AbstractContextManager[Any]
    chain: ChainGateway
    caches: IssuerCaches
    vault: KeyVault
    metrics: Metrics
