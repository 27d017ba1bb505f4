"""The on-chain institutions whose name or DID differ from the registry's record of their issuer
(`Institutions.check_registry_names`, the ledger watch's periodic pass), in ``issuer_meta`` so
`/readyz` names them in every process and replica."""

from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..db import Meta

#: ``issuer_meta`` key: [{"slug", "chainIssuerId", "stored": {name, did}, "onChain": {...}}]
KEY = "registry_mismatches"


def load(session: Session) -> list[dict[str, Any]]:
    """The mismatches the last pass recorded (none recorded: empty)."""
    row = session.get(Meta, KEY)
    return list(orjson.loads(row.value)) if row is not None else []


def save(session: Session, mismatches: list[dict[str, Any]]) -> None:
    """Replace the recorded mismatches."""
    session.merge(Meta(key=KEY, value=orjson.dumps(mismatches).decode()))
