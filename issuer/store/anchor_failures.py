"""The institutions whose anchoring keeps failing (`anchoring.AnchorWorker`'s per-institution
backoff), in ``issuer_meta`` so `/readyz` names them in every process and replica."""

from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..db import Meta

#: ``issuer_meta`` key: {slug: {"reason", "failures", "since", "retryAt"}}
FAILURES_KEY = "anchor_failures"


def load(session: Session) -> dict[str, dict[str, Any]]:
    """Every recorded failure, by institution slug."""
    row = session.get(Meta, FAILURES_KEY)
    return dict(orjson.loads(row.value)) if row is not None else {}


def _save(session: Session, data: dict[str, dict[str, Any]]) -> None:
    session.merge(Meta(key=FAILURES_KEY, value=orjson.dumps(data).decode()))


def record(session: Session, slug: str, entry: dict[str, Any]) -> None:
    """Record (or update) the institution's failure."""
    data = load(session)
    data[slug] = entry
    _save(session, data)


def clear(session: Session, slug: str | None = None) -> None:
    """Forget the institution's failure (every failure when ``slug`` is None)."""
    data = load(session)
    if slug is None:
        data = {}
    elif data.pop(slug, None) is None:
        return
    _save(session, data)
