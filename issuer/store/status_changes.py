"""The store's queries on status changes (revoke, suspend, reinstate), queued and applied."""

from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from ..db import ApiKey, InstitutionRow, StatusChange
from .institutions import key_standing

#: Status changes not yet applied: queued, or sent and awaiting their receipt.
QUEUED_STATES = ("pending", "sent")
#: The changes that withdraw a credential's validity: a key rotated out still sends the ones it
#: asked (dropped, a credential its issuer withdrew would stay valid on the chain).
RESTRICTIVE_ACTIONS = ("revoke", "suspend")


def applied_credential_ids(session: Session, institution_id: int) -> list[str]:
    """Every credential id named by one of the institution's applied status changes."""
    ids: list[str] = []
    for text in session.scalars(
        select(StatusChange.credential_ids).where(
            StatusChange.institution_id == institution_id, StatusChange.state == "applied"
        )
    ):
        ids.extend(text.split("\n"))
    return ids


def queued_count(session: Session) -> int:
    """How many status changes wait to be applied (pending or sent)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(StatusChange)
            .where(StatusChange.state.in_(QUEUED_STATES))
        )
        or 0
    )


def queued_for(session: Session, institution_id: int) -> Any:
    """(action, credential ids joined by newlines, when the asking API key was revoked, when it
    was rotated out) of the institution's queued changes, in order; the key's times are None
    for a change without a key."""
    return session.execute(
        select(
            StatusChange.action,
            StatusChange.credential_ids,
            ApiKey.revoked_at,
            ApiKey.rotated_at,
        )
        .outerjoin(ApiKey, ApiKey.id == StatusChange.api_key_id)
        .where(
            StatusChange.institution_id == institution_id,
            StatusChange.state.in_(QUEUED_STATES),
        )
        .order_by(StatusChange.id)
    ).all()


def queued_ids(session: Session, limit: int) -> list[int]:
    """The ids of the first ``limit`` queued changes, in order."""
    return list(
        session.scalars(
            select(StatusChange.id)
            .where(StatusChange.state.in_(QUEUED_STATES))
            .order_by(StatusChange.id)
            .limit(limit)
        )
    )


def queued_except(session: Session, institutions: set[int], limit: int) -> list[tuple[int, int]]:
    """(id, institution id) of the first ``limit`` queued changes, in order, of institutions
    not in ``institutions``."""
    query = select(StatusChange.id, StatusChange.institution_id).where(
        StatusChange.state.in_(QUEUED_STATES)
    )
    if institutions:
        query = query.where(StatusChange.institution_id.not_in(institutions))
    rows = session.execute(query.order_by(StatusChange.id).limit(limit))
    return [(int(r[0]), int(r[1])) for r in rows]


def note_behind(session: Session, institution_id: int, change_id: int, note: str | None) -> None:
    """Set (or clear) the note of the institution's queued changes after ``change_id``: they
    wait behind it (applied in order)."""
    session.execute(
        update(StatusChange)
        .where(
            StatusChange.institution_id == institution_id,
            StatusChange.id > change_id,
            StatusChange.state.in_(QUEUED_STATES),
        )
        .values(error=note)
    )


def institution_slugs_queued(session: Session) -> set[str]:
    """The slugs of the institutions with changes waiting to be applied."""
    return set(
        session.scalars(
            select(InstitutionRow.slug).where(
                InstitutionRow.id.in_(
                    select(StatusChange.institution_id).where(StatusChange.state.in_(QUEUED_STATES))
                )
            )
        )
    )


def institutions_queued(session: Session) -> set[int]:
    """The institutions with changes waiting to be applied."""
    return {
        int(i)
        for i in session.scalars(
            select(StatusChange.institution_id)
            .where(StatusChange.state.in_(QUEUED_STATES))
            .distinct()
        )
    }


def applied_latest(session: Session, limit: int) -> list[tuple[int, str | None]]:
    """(id, transaction hash) of the last ``limit`` applied changes, newest first."""
    return [
        (int(r[0]), r[1])
        for r in session.execute(
            select(StatusChange.id, StatusChange.tx_hash)
            .where(StatusChange.state == "applied")
            .order_by(StatusChange.id.desc())
            .limit(limit)
        )
    ]


def requeue(session: Session, change_id: int) -> None:
    """An applied change the chain lost (a rollback, a reorganisation) is queued again."""
    change = session.get(StatusChange, change_id)
    if change is not None and change.state == "applied":
        change.state, change.tx_record, change.confirmed_at = "pending", None, None


def state_of(conn: Connection, change_id: int) -> Any:
    """The change's state, read on ``conn``."""
    return conn.execute(select(StatusChange.state).where(StatusChange.id == change_id)).scalar()


def naming(session: Session, institution_id: int, credential_id: str) -> list[StatusChange]:
    """The institution's 20 newest changes whose ids text contains ``credential_id`` (newest
    first; the caller drops those naming it only as a substring)."""
    return list(
        session.scalars(
            select(StatusChange)
            .where(
                StatusChange.institution_id == institution_id,
                StatusChange.credential_ids.contains(credential_id),
            )
            .order_by(StatusChange.id.desc())
            .limit(20)
        )
    )


def requester_stopped(
    session: Session,
    institution_id: int,
    api_key_id: str | None,
    action: str,
    *,
    stays_suspended: bool = False,
) -> str | None:
    """Why a change not sent yet must not be sent; None when it may be sent.

    - the operator suspended the institution's API access: every change waits no more;
    - the operator revoked the API key that asked for it (believed stolen: a stolen key's
      reinstatements and revocations stop with the key, the latter being final harm);
    - the operator rotated that key out (retired in the normal course, not believed stolen):
      only a reinstatement is dropped (dropped, it leaves a credential suspended: a false
      INVALID at worst); its revocations and suspensions (`RESTRICTIVE_ACTIONS`) are sent, as
      the institution asked, since dropping one leaves on the chain a credential the issuer
      withdrew: a verifier would say VALID. ``stays_suspended``: the credentials the dropped
      reinstatement names are suspended now (its reason says they stay so).

    A change recorded before migration 0008 has no key: only the institution's access is
    checked; a key retired before migration 0010 has no rotation time and counts as revoked."""
    status, revoked_at, rotated_at = key_standing(session, institution_id, api_key_id)
    if status != "active":
        return (
            "not sent: the institution's API access was suspended by this service's operator "
            "before the change could be sent; ask again once it is reactivated if the "
            "institution still wants it"
        )
    if revoked_at is None:
        return None
    if rotated_at is None:
        return (
            f"not sent: the API key that asked for it ({api_key_id}) was revoked by this "
            "service's operator before the change could be sent; ask again with a current key "
            "if the institution still wants it"
        )
    if action in RESTRICTIVE_ACTIONS:
        return None
    stays = (
        "the credentials it names stay suspended"
        if stays_suspended
        else "the credentials it names stay as the chain shows them"
    )
    return (
        f"not sent: the API key that asked for it ({api_key_id}) was rotated by this "
        "service's operator before the change could be sent; a rotated key's queued "
        f"reinstatement is not sent (its revocations and suspensions are), so {stays}; ask "
        "again with the current key if the institution still wants it reinstated"
    )
