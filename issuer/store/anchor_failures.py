"""The institutions whose anchoring keeps failing (`anchoring.AnchorWorker`'s per-institution
backoff), and those whose queued status changes keep failing (`StatusChanges.apply`'s), in
``issuer_meta`` so `/readyz` names them in every process and replica."""

from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..db import Meta

#: ``issuer_meta`` key: {slug: {"reason", "failures", "since", "retryAt"}}
FAILURES_KEY = "anchor_failures"
#: the same for queued status changes (`usecases.status_changes`), with the failing ``change``
STATUS_CHANGE_FAILURES_KEY = "status_change_failures"


def load(session: Session, key: str = FAILURES_KEY) -> dict[str, dict[str, Any]]:
    """Every recorded failure, by institution slug."""
    row = session.get(Meta, key)
    return dict(orjson.loads(row.value)) if row is not None else {}


def _save(session: Session, data: dict[str, dict[str, Any]], key: str) -> None:
    session.merge(Meta(key=key, value=orjson.dumps(data).decode()))


def record(session: Session, slug: str, entry: dict[str, Any], key: str = FAILURES_KEY) -> None:
    """Record (or update) the institution's failure."""
    data = load(session, key)
    data[slug] = entry
    _save(session, data, key)


def clear(session: Session, slug: str | None = None, key: str = FAILURES_KEY) -> None:
    """Forget the institution's failure (every failure when ``slug`` is None)."""
    data = load(session, key)
    if slug is None:
        data = {}
    elif data.pop(slug, None) is None:
        return
    _save(session, data, key)
