"""The store's queries of OpenID4VCI issuance (`usecases.oid4vci`): offers, access tokens,
``c_nonce`` values and deferred-credential transactions (tables of migration 0005). Every write
runs in the caller's writing session (under the writer lock)."""

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import Oid4vciNonce, Oid4vciOffer, Oid4vciToken, Oid4vciTransaction


def add_offer(session: Session, offer: Oid4vciOffer) -> None:
    """Record a new offer."""
    session.add(offer)


def offer(session: Session, offer_id: str) -> Oid4vciOffer | None:
    """The offer with this id, if any."""
    return session.get(Oid4vciOffer, offer_id)


def offer_by_code_hash(session: Session, code_hash: bytes) -> Oid4vciOffer | None:
    """The offer whose pre-authorized code hashes to ``code_hash``, if any."""
    return session.scalar(select(Oid4vciOffer).where(Oid4vciOffer.code_hash == code_hash))


def add_token(session: Session, token_hash: bytes, offer_id: str, expires_unix: int) -> None:
    """Record the access token of an offer (its hash)."""
    session.add(Oid4vciToken(token_hash=token_hash, offer_id=offer_id, expires_unix=expires_unix))


def token_and_offer(
    session: Session, token_hash: bytes
) -> tuple[Oid4vciToken, Oid4vciOffer] | None:
    """The access token with this hash and its offer, if any."""
    row = session.execute(
        select(Oid4vciToken, Oid4vciOffer)
        .join(Oid4vciOffer, Oid4vciOffer.id == Oid4vciToken.offer_id)
        .where(Oid4vciToken.token_hash == token_hash)
    ).first()
    return None if row is None else (row[0], row[1])


def add_nonce(session: Session, nonce: str, expires_unix: int, now_unix: int) -> None:
    """Record a new ``c_nonce``; the expired ones are dropped on the way."""
    session.execute(delete(Oid4vciNonce).where(Oid4vciNonce.expires_unix < now_unix))
    session.add(Oid4vciNonce(nonce=nonce, expires_unix=expires_unix))


def take_nonce(session: Session, nonce: str, now_unix: int) -> bool:
    """Use a ``c_nonce`` once: whether it was known and unexpired (it is gone either way).

    One ``DELETE ... RETURNING``: of requests using the nonce at once, only the one whose
    delete removed the row gets it (a read then a delete let each of them see the row on
    PostgreSQL, where no writer lock serializes them)."""
    expires = session.execute(
        delete(Oid4vciNonce).where(Oid4vciNonce.nonce == nonce).returning(Oid4vciNonce.expires_unix)
    ).scalar()
    return expires is not None and expires > now_unix


def transaction_of_offer(session: Session, offer_id: str) -> Oid4vciTransaction | None:
    """The deferred-credential transaction of an offer, if its credential was issued."""
    return session.scalar(select(Oid4vciTransaction).where(Oid4vciTransaction.offer_id == offer_id))


def add_transaction(session: Session, transaction: Oid4vciTransaction) -> Oid4vciTransaction:
    """Record the transaction of an issued credential, unless its offer has one: the offer's
    transaction (``transaction`` or the one recorded before it).

    One ``INSERT ... ON CONFLICT (offer_id) DO NOTHING`` then a read: of credential requests of
    one offer finishing at once on PostgreSQL (no writer lock), each read no transaction before
    its insert; a plain insert then failed on the unique constraint (an HTTP 500) for all but
    one. Here the losers' inserts wait for the winner's commit, do nothing, and the read (a new
    statement, READ COMMITTED) returns the winner's row."""
    values = {
        "id": transaction.id,
        "offer_id": transaction.offer_id,
        "credential_id": transaction.credential_id,
        "holder": transaction.holder,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(Oid4vciTransaction)
        .values(values)
        .on_conflict_do_nothing(index_elements=["offer_id"])
    )
    recorded = transaction_of_offer(session, transaction.offer_id)
    if recorded is None:  # pragma: no cover - the insert or its conflict made the row
        raise RuntimeError(f"no transaction recorded for offer {transaction.offer_id}")
    return recorded


def add_offers(session: Session, offers: list[Oid4vciOffer]) -> None:
    """Record a bulk job chunk's offers."""
    session.add_all(offers)


def bulk_page(
    session: Session, job_id: str, *, after: int, limit: int
) -> list[tuple[Oid4vciOffer, bool]]:
    """Up to ``limit`` of a bulk job's offers after row ``after``, in row order, each with
    whether its credential was issued."""
    rows = session.execute(
        select(Oid4vciOffer, Oid4vciTransaction.id)
        .outerjoin(Oid4vciTransaction, Oid4vciTransaction.offer_id == Oid4vciOffer.id)
        .where(Oid4vciOffer.bulk_job_id == job_id, Oid4vciOffer.bulk_row > after)
        .order_by(Oid4vciOffer.bulk_row)
        .limit(limit)
    ).all()
    return [(row[0], row[1] is not None) for row in rows]
