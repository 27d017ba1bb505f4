"""Storage: SQLAlchemy 2 models, engine set-up (SQLite WAL or PostgreSQL) and migrations.

The schema is owned by Alembic (``issuer/migrations``); :func:`migrate` brings a database to the
newest revision and is called on start-up, so no configuration is needed for SQLite.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

_logger = logging.getLogger(__name__)

#: 64-bit integer primary keys that autoincrement on SQLite too.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC (stored as UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of the issuer's tables."""


def table_of(model: type[Base]) -> Table:
    """The Core `Table` of an ORM model (SQLAlchemy types ``__table__`` as a `FromClause`)."""
    return cast(Table, model.__table__)


class Meta(Base):
    """Small key/value facts about this database (e.g. the key-derivation salt)."""

    __tablename__ = "issuer_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class InstitutionRow(Base):
    """An accredited issuer: its chain identity, chain account and accredited types."""

    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    did: Mapped[str] = mapped_column(String(512))
    chain_issuer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chain_account: Mapped[str] = mapped_column(String(42))
    chain_account_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    credential_types: Mapped[str] = mapped_column(Text)  # comma separated VC type names
    status: Mapped[str] = mapped_column(String(16), default="active")
    next_status_index: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerIssuerState(Base):
    """An institution's status on the ledger as last read (`chain.IssuerStateWatch`), shared by
    the service's processes: issuance refuses a suspended or removed institution from it."""

    __tablename__ = "ledger_issuer_states"
    chain_issuer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))
    #: the block time (Unix seconds) the status began; None if unknown
    since_unix: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: when the ledger was read (Unix seconds, the reading process's clock)
    checked_unix: Mapped[float] = mapped_column(Float)


class SigningKey(Base):
    """An Ed25519 signing key of an institution; the seed is encrypted at rest."""

    __tablename__ = "signing_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    public_key_multibase: Mapped[str] = mapped_column(String(128))
    public_key_raw: Mapped[bytes] = mapped_column(LargeBinary)
    seed_enc: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: when the ledger watch found the registry no longer holds the key valid (governance
    #: revoked it, or its window ended): retired then, and its bulk jobs stop (migration 0009)
    closed_on_chain_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class ApiKey(Base):
    """An API key: only its SHA-256 is kept. Role ``institution`` or ``operator``."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institutions.id"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(128))  # comma separated
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: when the operator rotated the key out (migration 0010): retired in the normal course,
    #: not believed stolen, so the revocations and suspensions it asked that still wait in the
    #: queue are sent (only its reinstatements are dropped). None for a key never rotated, or
    #: one revoked since (the operator then believes it stolen: all its queued changes stop).
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AnchorBatch(Base):
    """A Merkle tree of credentials whose root is anchored in one transaction.

    States: ``forming`` (leaves being assigned; never sent), ``built`` (leaves assigned,
    nothing sent), ``sent`` (a transaction was signed and
    recorded before broadcast), ``anchored`` (the chain shows the root).
    """

    __tablename__ = "anchor_batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    leaf_count: Mapped[int] = mapped_column(Integer)
    #: the credential hashes in leaf order, joined (32 bytes a leaf; migration 0007): a bulk
    #: batch's rows keep no audit path, which is derived from these when a credential is read
    #: (`usecases.credentials.AuditPaths`). None for the batches whose rows hold their path
    #: (``CredentialRow.proof_path``: the anchoring worker's, and every batch before 0007).
    #: Deferred: loaded only by the reader of paths, not with every look-up of a batch.
    leaves: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    state: Mapped[str] = mapped_column(String(16), default="built", index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    tx_nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_record: Mapped[str | None] = mapped_column(Text, nullable=True)  # ledger PendingTx JSON
    tx_attempts: Mapped[int] = mapped_column(Integer, default=0)
    tx_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    anchored_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    oldest_leaf_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CredentialRow(Base):
    """An issued credential: signed document (without anchor), its hash and its anchoring."""

    __tablename__ = "credentials"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: unique; UUIDv7 (`credential.issuance.CredentialIds`), so new ids are appended to its index
    id: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    kind: Mapped[str] = mapped_column(String(64))
    #: not indexed (migration 0006): nothing looks a stored credential up by its hash, and a
    #: unique index on these random values cost every bulk insert a random leaf page, a cost that
    #: grew with the table (issue 17.2); the hash covers the id, which stays unique
    credential_hash: Mapped[bytes] = mapped_column(LargeBinary)
    #: the signed document (JCS bytes), or, when ``frame_id`` is set, only its own bytes: the
    #: holes between its frame's parts joined by NUL bytes (`credential.frames.split`; read it
    #: through `usecases.credentials.CredentialService.document_bytes`)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    #: the `DocumentFrame` the document was cut along (migration 0011: a bulk chunk's documents
    #: share one); None: ``document`` is the whole document (single issuance, rows before 0011,
    #: a bulk row its chunk's frame did not fit). No foreign key: checking one would cost every
    #: bulk row a lookup, and frames are never deleted.
    frame_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status_index: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("anchor_batches.id"), nullable=True, index=True
    )
    leaf_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the audit path's hashes joined (None for a bulk row since migration 0007: derived from
    #: its batch's ``leaves``)
    proof_path: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    bulk_job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bulk_row: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    suspension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_credentials_pending", "institution_id", "batch_id", "seq"),
        Index("ix_credentials_bulk", "bulk_job_id", "bulk_row"),
    )


class DocumentFrame(Base):
    """The bytes a bulk chunk's signed documents share (`credential.frames`: the parts, joined
    by NUL bytes, `frames.pack`), stored once a chunk in the chunk's transaction; each of its
    credentials keeps the rest (``CredentialRow.document`` with ``frame_id``). Never changed or
    deleted (migration 0011)."""

    __tablename__ = "document_frames"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    parts: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusChange(Base):
    """A revocation, suspension or reinstatement, with its reason: queued (``pending``) when
    accepted, ``sent`` once its transaction is broadcast (``tx_record``), then ``applied`` or
    ``failed`` (the registry refused it, or it was not sent: ``error``). The anchoring worker
    applies the pending ones in ``id`` order (migration 0004). ``api_key_id`` is the API key
    that asked for it (migration 0008; None before): a change not sent yet is dropped when the
    operator has revoked that key or suspended the institution's API access since; a key
    rotated out (migration 0010) drops only its reinstatements."""

    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    credential_ids: Mapped[str] = mapped_column(Text)  # newline separated
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    tx_record: Mapped[str | None] = mapped_column(Text, nullable=True)  # ledger PendingTx JSON
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class IdempotencyRecord(Base):
    """The stored answer to a write request, replayed when its Idempotency-Key comes again."""

    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BulkJob(Base):
    """An asynchronous bulk issuance; ``byte_offset``/``rows_done`` are its resume cursor."""

    __tablename__ = "bulk_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    fmt: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    total_rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    byte_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    succeeded: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: OpenID4VCI: the job makes one credential offer per row instead of signing (migration 0005)
    offers: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the API key that made the job (an offer job's offers are issued as it)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class BulkError(Base):
    """One rejected row of a bulk job."""

    __tablename__ = "bulk_errors"
    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_jobs.id"), primary_key=True)
    row: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # data row, from 1
    line: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # where the row starts
    field: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text)


class Oid4vciOffer(Base):
    """An OpenID4VCI credential offer (pre-authorized code flow, docs/openid4vc.md): the claims
    the institution validated (``request``, without ``credentialSubject.id``), the hashes of
    its pre-authorized code and transaction code, the wrong transaction codes counted;
    ``state`` ``offered``, ``redeemed`` (a token was issued for it) or ``dead`` (too many wrong
    codes). Times are Unix seconds (migration 0005)."""

    __tablename__ = "oid4vci_offers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    api_key_id: Mapped[str] = mapped_column(String(32))
    configuration_id: Mapped[str] = mapped_column(String(64))
    request: Mapped[bytes] = mapped_column(LargeBinary)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    tx_code_hash: Mapped[str] = mapped_column(String(80))
    tx_failures: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="offered")
    expires_unix: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the bulk job and row that made the offer (``"offers": true`` jobs), else None
    bulk_job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bulk_row: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_oid4vci_offers_bulk", "bulk_job_id", "bulk_row"),)


class Oid4vciToken(Base):
    """An access token of an offer (only its SHA-256 is kept); one per offer."""

    __tablename__ = "oid4vci_tokens"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("oid4vci_offers.id"), unique=True)
    expires_unix: Mapped[int] = mapped_column(BigInteger)


class Oid4vciNonce(Base):
    """A ``c_nonce`` not yet used (deleted when used); refused after ``expires_unix``."""

    __tablename__ = "oid4vci_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_unix: Mapped[int] = mapped_column(BigInteger, index=True)


class Oid4vciTransaction(Base):
    """The deferred delivery of an offer's credential: the credential issued for the proved
    holder key, fetched with the offer's access token."""

    __tablename__ = "oid4vci_transactions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("oid4vci_offers.id"), unique=True)
    credential_id: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- engine ----------------------------------------------------------------------------------


#: Pages of WAL after which a committing writer checkpoints (see `WalCheckpointer`).
WAL_AUTOCHECKPOINT_PAGES = 4096


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file from a background thread.

    ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds: it never waits for or blocks
    writers and readers, and the fsync it ends with happens here, not inside a request's commit.
    Once everything is copied, the next writer starts the WAL over, so it stays small. If this
    thread falls behind, writers checkpoint themselves past ``WAL_AUTOCHECKPOINT_PAGES``.
    Several processes may each run one; SQLite lets one checkpoint at a time.
    """

    def __init__(self, engine: Engine, interval: float = 0.25) -> None:
        self.engine = engine
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, WAL frames, frames copied), as SQLite reports them."""
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").first()
        self.runs += 1
        return (int(row[0]), int(row[1]), int(row[2])) if row is not None else (0, 0, 0)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # database gone or locked: the writers' backstop still holds
                _logger.debug("WAL checkpoint skipped", exc_info=True)

    def stop(self) -> None:
        """Stop the thread (after at most one more checkpoint)."""
        self._stop.set()
        self._thread.join(5)


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """A `WalCheckpointer` for a SQLite database file, else None."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return WalCheckpointer(engine)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # 16 KiB pages (a new database only; an existing one keeps its size): a stored credential
    # (~2.3 KB with its proof path) fills most of a 4 KiB page by itself, and a bulk chunk's
    # commit writes thousands of index pages; with 16 KiB pages its WAL frames are 4x fewer and
    # inserting a bulk credential costs ~40% less CPU at 300,000 credentials (18 us less)
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoints are made by `WalCheckpointer` in a background thread; a committing writer makes
    # one itself only past this backstop (16 MiB of WAL). SQLite's default (1,000 pages) puts a
    # checkpoint, with its fsync, in every ~100th issuance request.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    # 64 MiB page cache (the default is 2 MiB): a bulk transaction (two 8,192-credential chunks,
    # ~40 MB of pages) stays in it until its commit instead of spilling to the WAL midway.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout and a created folder (for a
    plain path: an SQLite ``file:`` URI names its own, which must exist)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest Alembic revision."""
    from alembic import command  # noqa: PLC0415 (~0.1 s, only when migrating: start-up time)
    from alembic.config import Config  # noqa: PLC0415 (with alembic.command)

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
