"""An institution's API keys: created, listed, revoked and rotated (operator use cases)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from .. import auth
from ..db import ApiKey, utcnow
from ..errors import NotFound
from ..store import institutions as store
from .collaborators import Collaborators
from .common import iso_z


def add_api_key(
    session: Session, institution_id: int, scopes: Sequence[str], name: str
) -> auth.NewApiKey:
    """A new institution API key with these (already normalized) ``scopes``, added to
    ``session``; its token is only in the answer."""
    api = auth.new_api_key()
    session.add(
        ApiKey(
            id=api.key_id,
            institution_id=institution_id,
            role=auth.ROLE_INSTITUTION,
            scopes=",".join(scopes),
            secret_hash=api.secret_hash,
            name=name,
        )
    )
    return api


class ApiKeys:
    """The API-key use cases."""

    def __init__(self, c: Collaborators) -> None:
        self.c = c

    def create(
        self, session: Session, slug: str, *, scopes: list[str], name: str = ""
    ) -> dict[str, Any]:
        """A new API key for an institution (operator)."""
        inst = store.by_slug(session, slug)
        norm = auth.normalize_scopes(scopes)
        api = add_api_key(session, inst.id, norm, name)
        return {"id": api.key_id, "token": api.token, "scopes": list(norm), "name": name}

    def list_for(self, slug: str) -> list[dict[str, Any]]:
        """An institution's keys (never their secrets)."""
        with self.c.sessions() as session:
            inst = store.by_slug(session, slug)
            return [
                {
                    "id": k.id,
                    "scopes": k.scopes.split(","),
                    "name": k.name,
                    "created_at": iso_z(k.created_at),
                    "revoked_at": iso_z(k.revoked_at),
                    "rotated_at": iso_z(k.rotated_at),
                }
                for k in store.api_keys(session, inst.id)
            ]

    def revoke(self, session: Session, slug: str, key_id: str) -> dict[str, Any]:
        """Revoke one of an institution's API keys: the operator believes it stolen, so every
        status change it asked that is still queued is dropped (`store.status_changes`). A key
        rotated out before may be revoked too: the revocation supersedes the rotation."""
        inst = store.by_slug(session, slug)
        row = session.get(ApiKey, key_id)
        if row is None or row.institution_id != inst.id:
            raise NotFound(f"no API key {key_id!r} for institution {slug!r}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        row.rotated_at = None
        self.c.caches.forget()
        return {"id": key_id, "revoked_at": iso_z(row.revoked_at)}

    def rotate(self, session: Session, slug: str, key_id: str) -> dict[str, Any]:
        """Replace an API key by a new one with the same scopes; the old one stops working. A
        rotation retires the key in the normal course (`ApiKey.rotated_at`): the revocations
        and suspensions it asked that still wait in the queue are sent, its reinstatements
        dropped."""
        inst = store.by_slug(session, slug)
        row = session.get(ApiKey, key_id)
        if row is None or row.institution_id != inst.id or row.revoked_at is not None:
            raise NotFound(f"no active API key {key_id!r} for institution {slug!r}")
        row.revoked_at = row.rotated_at = utcnow()
        self.c.caches.forget()
        return self.create(session, slug, scopes=row.scopes.split(","), name=row.name)
