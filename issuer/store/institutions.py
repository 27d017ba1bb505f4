"""The store's queries on institutions, their signing keys and API keys."""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import ApiKey, InstitutionRow, SigningKey
from ..errors import NotFound
from . import statements


def slug_taken(session: Session, slug: str) -> bool:
    """Whether an institution has this slug."""
    return session.scalar(select(InstitutionRow.id).where(InstitutionRow.slug == slug)) is not None


def did_taken(session: Session, did: str) -> bool:
    """Whether an institution has this DID."""
    return session.scalar(select(InstitutionRow.id).where(InstitutionRow.did == did)) is not None


def by_slug(session: Session, slug: str) -> InstitutionRow:
    """The institution with this slug; raises `NotFound`."""
    inst = session.scalar(select(InstitutionRow).where(InstitutionRow.slug == slug))
    if inst is None:
        raise NotFound(f"no institution {slug!r}")
    return inst


def all_institutions(session: Session) -> list[InstitutionRow]:
    """Every institution, in creation order."""
    return list(session.scalars(select(InstitutionRow).order_by(InstitutionRow.id)))


def signing_keys(
    session: Session, institution_id: int, *, ordered: bool = False
) -> list[SigningKey]:
    """The institution's signing keys, active and retired (by id when ``ordered``)."""
    query = select(SigningKey).where(SigningKey.institution_id == institution_id)
    if ordered:
        query = query.order_by(SigningKey.id)
    return list(session.scalars(query))


def active_signing_keys(session: Session, institution_id: int) -> list[SigningKey]:
    """The institution's active signing keys."""
    return list(
        session.scalars(
            select(SigningKey).where(
                SigningKey.institution_id == institution_id, SigningKey.active.is_(True)
            )
        )
    )


def newest_signing_key(
    session: Session, institution_id: int, *, active: bool = True
) -> SigningKey | None:
    """The institution's newest signing key (``active``: among its active ones only; else
    active or retired), if any."""
    query = select(SigningKey).where(SigningKey.institution_id == institution_id)
    if active:
        query = query.where(SigningKey.active.is_(True))
    return session.scalar(query.order_by(SigningKey.id.desc()).limit(1))


def api_keys(session: Session, institution_id: int) -> list[ApiKey]:
    """The institution's API keys, revoked ones included."""
    return list(session.scalars(select(ApiKey).where(ApiKey.institution_id == institution_id)))


def chain_issuer_ids(session: Session) -> list[int]:
    """The on-chain issuer ids of the institutions that have one."""
    return [
        int(i)
        for i in session.scalars(
            select(InstitutionRow.chain_issuer_id).where(
                InstitutionRow.chain_issuer_id.is_not(None)
            )
        )
        if i is not None
    ]


def with_issue_rights(session: Session, limit: int) -> list[int]:
    """The ids of up to ``limit`` institutions that may issue, lowest first: active, with an
    active signing key and an API key not revoked whose scopes include ``issue`` (what
    ``POST /bulk-jobs`` requires)."""
    keys = session.execute(
        select(ApiKey.institution_id, ApiKey.scopes)
        .join(InstitutionRow, InstitutionRow.id == ApiKey.institution_id)
        .where(
            ApiKey.revoked_at.is_(None),
            ApiKey.role == "institution",
            InstitutionRow.status == "active",
            InstitutionRow.id.in_(
                select(SigningKey.institution_id).where(SigningKey.active.is_(True))
            ),
        )
        .order_by(ApiKey.institution_id)
    ).all()
    out: list[int] = []
    for institution_id, scopes in keys:
        if institution_id is None or "issue" not in scopes.split(","):
            continue
        if not out or out[-1] != institution_id:
            out.append(int(institution_id))
            if len(out) >= limit:
                break
    return out


def standing(
    session: Session, institution_id: int, api_key_id: str | None
) -> tuple[str | None, bool]:
    """(the institution's status (None: no such institution), whether the API key
    ``api_key_id`` was revoked or rotated out (False without a key, or for a key not stored)),
    in one statement: what a bulk job checks before it acts for its requester."""
    status, revoked_at, _rotated_at = key_standing(session, institution_id, api_key_id)
    return status, revoked_at is not None


def key_standing(
    session: Session, institution_id: int, api_key_id: str | None
) -> tuple[str | None, dt.datetime | None, dt.datetime | None]:
    """(the institution's status (None: no such institution), when the API key ``api_key_id``
    was revoked, when it was rotated out (a rotation sets both; migration 0010)) in one
    statement; the key's times are None without a key, or for a key not stored."""
    if not api_key_id:
        status = session.scalar(
            select(InstitutionRow.status).where(InstitutionRow.id == institution_id)
        )
        return status, None, None
    revoked = select(ApiKey.revoked_at).where(ApiKey.id == api_key_id).scalar_subquery()
    rotated = select(ApiKey.rotated_at).where(ApiKey.id == api_key_id).scalar_subquery()
    row = session.execute(
        select(InstitutionRow.status, revoked, rotated).where(InstitutionRow.id == institution_id)
    ).first()
    return (None, None, None) if row is None else (row[0], row[1], row[2])


def any_institution_id(session: Session) -> int | None:
    """The id of some institution (None: there is none yet), for warming statements up."""
    found: int | None = session.scalar(select(InstitutionRow.id).limit(1))
    return found


def on_chain(session: Session) -> list[InstitutionRow]:
    """The institutions registered on the ledger (a chain issuer id recorded)."""
    return list(
        session.scalars(select(InstitutionRow).where(InstitutionRow.chain_issuer_id.is_not(None)))
    )


def active_signing_key_id(session: Session, institution_id: int) -> int | None:
    """The id of the institution's newest active signing key (None: it has none), one indexed
    read (`statements.SELECT_ACTIVE_KEY_ID`): whether a cached signer is still the one to use."""
    found: int | None = session.execute(
        statements.SELECT_ACTIVE_KEY_ID, {"inst": institution_id}
    ).scalar()
    return found


def active_keys_on_chain(session: Session) -> list[tuple[int, int | None, int, bytes]]:
    """(institution id, chain issuer id, key id, raw public key) of every active signing key
    of the institutions registered on the ledger: what the ledger watch checks is still valid."""
    rows = session.execute(
        select(
            InstitutionRow.id,
            InstitutionRow.chain_issuer_id,
            SigningKey.id,
            SigningKey.public_key_raw,
        )
        .join(SigningKey, SigningKey.institution_id == InstitutionRow.id)
        .where(InstitutionRow.chain_issuer_id.is_not(None), SigningKey.active.is_(True))
        .order_by(SigningKey.id)
    ).all()
    return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def close_keys_on_chain(
    session: Session, key_ids: list[int], at: dt.datetime
) -> list[tuple[int, str, int]]:
    """Retire the signing keys ``key_ids`` that are still active, recording that the ledger
    closed them at ``at``; (institution id, slug, key id) of each one retired here."""
    closed: list[tuple[int, str, int]] = []
    for key, slug in session.execute(
        select(SigningKey, InstitutionRow.slug)
        .join(InstitutionRow, InstitutionRow.id == SigningKey.institution_id)
        .where(SigningKey.id.in_(key_ids), SigningKey.active.is_(True))
    ).tuples():
        key.active = False
        key.retired_at = key.closed_on_chain_at = at
        closed.append((key.institution_id, slug, key.id))
    return closed


def closed_on_chain(session: Session, key_id: int) -> bool:
    """Whether the ledger watch found the registry no longer holds signing key ``key_id``
    valid (a bulk job signing with it stops)."""
    at = session.scalar(select(SigningKey.closed_on_chain_at).where(SigningKey.id == key_id))
    return at is not None
