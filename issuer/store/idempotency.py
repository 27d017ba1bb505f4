"""The idempotency store: a write's answer recorded once per (caller, ``Idempotency-Key``), in
the same transaction as the write's effects, and replayed to a retry."""

import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import IdempotencyRecord, Meta, utcnow
from ..errors import Conflict, IdempotencyKeyReused, InvalidRequest
from ..outcome import Kind, WriteOutcome
from .statements import INSERT_IDEM, SELECT_IDEM

#: How a result's kind is stored: the ``status_code`` column of migration 0001 holds the number
#: rows were always written with, so rows written before kinds existed (and by any version) read
#: alike. A storage code, not an HTTP answer: `api.responses` renders the result.
_STORED_KIND: dict[Kind, int] = {Kind.DONE: 200, Kind.CREATED: 201, Kind.ACCEPTED: 202}
_KIND_OF = {code: kind for kind, code in _STORED_KIND.items()}


def stored_columns(outcome: WriteOutcome) -> dict[str, Any]:
    """The ``status_code``, ``body`` and ``headers`` columns that record ``outcome`` (its link
    kept under ``Location`` in ``headers``, as rows always held it)."""
    return {
        "status_code": _STORED_KIND[outcome.kind],
        "body": orjson.dumps(outcome.body),
        "headers": orjson.dumps({"Location": outcome.link} if outcome.link else {}).decode(),
    }


def replay(stored: Any, request_fingerprint: bytes) -> WriteOutcome:
    """The recorded answer ``stored`` to a retry with ``request_fingerprint`` (marked
    ``replayed``); raises `IdempotencyKeyReused` for another request."""
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key"
        )
    link = orjson.loads(stored.headers).get("Location")
    return WriteOutcome(
        _KIND_OF[stored.status_code], orjson.loads(stored.body), link, replayed=True
    )


def record(
    principal_id: str, key: str, request_fingerprint: bytes, outcome: WriteOutcome
) -> IdempotencyRecord:
    """The row that records ``outcome`` as the answer to (principal, key)."""
    return IdempotencyRecord(
        principal=principal_id,
        key=key,
        fingerprint=request_fingerprint,
        **stored_columns(outcome),
    )


class IdempotencyStore:
    """Runs writes once per (principal, Idempotency-Key) over the service's database.

    ``sessions`` opens a plain session; ``session`` a writing one (under the writer lock,
    committed on success); ``write_lock`` is the process's (and SQLite's) writer lock.
    """

    def __init__(
        self,
        engine: Any,
        sessions: Callable[[], Any],
        session: Callable[[], contextlib.AbstractContextManager[Session]],
        write_lock: contextlib.AbstractContextManager[Any],
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.session = session
        self.write_lock = write_lock

    def scrub_clear_replays(self) -> None:
        """Delete stored answers that hold an API key in clear (written before answers were
        sealed), once per database; on SQLite with ``secure_delete`` so the freed pages are
        overwritten."""
        with self.sessions() as session:
            if session.get(Meta, "replays_sealed") is not None:
                return
        with contextlib.suppress(IntegrityError), self.session() as session:  # a twin did it
            if self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
            found = (
                "instr(body, :needle) > 0"
                if self.engine.dialect.name == "sqlite"
                else "position(:needle in body) > 0"
            )
            try:
                session.execute(
                    sql_text(f"DELETE FROM idempotency_keys WHERE {found}"),
                    {"needle": b'"token":"tpk_'},
                )
                session.merge(Meta(key="replays_sealed", value="1"))
            finally:
                if self.engine.dialect.name == "sqlite":
                    session.connection().exec_driver_sql("PRAGMA secure_delete=OFF")

    def run(
        self,
        principal_id: str,
        key: str | None,
        request_fingerprint: bytes,
        operation: Callable[[Session], WriteOutcome],
        *,
        external: bool = False,
    ) -> WriteOutcome:
        """Run ``operation`` once per (caller, Idempotency-Key).

        The stored answer is written in the same transaction as the operation's effects, so a
        retried request replays the first answer and never repeats the effect; a key reused with
        a different request is refused (409). ``external`` operations (ledger transactions) keep
        their own transactions and do not hold the writer lock while they wait for the chain;
        their answer is recorded right after they finish.
        """
        if key is not None and not 1 <= len(key) <= 255:
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key"
            )
        if key is None:
            if external:
                with self.sessions() as session:
                    return operation(session)
            with self.session() as session:
                return operation(session)
        if external:
            with self.sessions() as session:
                stored = session.get(IdempotencyRecord, (principal_id, key))
                if stored is not None:
                    return replay(stored, request_fingerprint)
                outcome = operation(session)
            try:
                with self.session() as session:
                    session.add(record(principal_id, key, request_fingerprint, outcome))
            except IntegrityError:
                pass  # a concurrent twin recorded first; both saw the same final state
            return outcome
        for _attempt in range(3):
            with self.write_lock, self.sessions() as session:
                # Core statements on the session's connection: the ORM session's execute
                # machinery cost more than the SQL itself on this hot path.
                stored = (
                    session.connection()
                    .execute(SELECT_IDEM, {"principal": principal_id, "key": key})
                    .first()
                )
                if stored is not None:
                    return replay(stored, request_fingerprint)
                try:
                    outcome = operation(session)
                    session.connection().execute(
                        INSERT_IDEM,
                        {
                            "principal": principal_id,
                            "key": key,
                            "fingerprint": request_fingerprint,
                            **stored_columns(outcome),
                            "created_at": utcnow(),
                        },
                    )
                    session.commit()
                    return outcome
                except IntegrityError:
                    session.rollback()  # a concurrent twin won: replay its answer
                    continue
                except BaseException:
                    session.rollback()
                    raise
        raise Conflict("a request with this Idempotency-Key is still in progress; retry")


__all__ = ["IdempotencyStore", "record", "replay", "stored_columns"]
