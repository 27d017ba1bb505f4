"""The issuer's service layer: institutions, API keys, issuance, delivery, revocation.

No FastAPI here: the HTTP routes (``api/routes/``), the CLI and the bulk and anchoring workers all call
:class:`IssuerService`. Every accepted credential is committed to the database before a response
names it; anchoring happens later in :mod:`talentproof.issuer.anchoring`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import _cred, auth
from .caches import IssuerCaches
from .chain import ChainGateway, ChainHealth, IssuerLedgerState, IssuerStateWatch
from .db import (
    AnchorBatch,
    ApiKey,
    Credential,
    Institution,
    Meta,
    StatusChange,
    make_engine,
    make_sessionmaker,
    migrate,
    utcnow,
    wal_checkpointer,
)
from .errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InstitutionRemoved,
    InstitutionSuspended,
    InvalidRequest,
    IssuerError,
    LedgerUnavailable,
    NotAccredited,
    NotFound,
    Unauthenticated,
)
from .observability import Metrics, WriterLockWaits
from .outcome import Outcome as Outcome  # re-exported: bulk.py and older callers import it here
from .settings import IssuerSettings
from .store import (
    IDEM_LOOKUP_MAX,
    ConnectionReads,
    CursorReads,
    HotPath,
    StoredAnswer,
    statements,
)
from .store import institutions as institution_store
from .store import status_changes as status_change_store
from .store.idempotency import IdempotencyStore, replay
from .store.locks import writer_lock
from .store.status_changes import QUEUED_STATES as _QUEUED_STATES
from .store.status_indexes import StatusIndexes
from .usecases import Collaborators
from .usecases.api_keys import ApiKeys
from .usecases.common import did_web as did_web  # re-exported: older callers import it here
from .usecases.common import iso_z as iso_z  # re-exported: older callers import it here
from .usecases.health import Health
from .usecases.institutions import Institutions
from .usecases.ledger_states import LEDGER_REFRESH_S, LedgerStates
from .usecases.publication import STATUS_PURPOSES as STATUS_PURPOSES
from .usecases.publication import Publication
from .vault import KeyVault, dev_passphrase, new_salt

_logger = logging.getLogger(__name__)

#: Principals, institutions, active signing keys and recorded ledger states are cached a few
#: seconds (`caches.IssuerCaches`, TTLs `caches.CACHE_TTL_S` and `caches.LEDGER_SHARED_TTL_S`);
#: the institutions' ledger status: `usecases.ledger_states`.


@dataclass(slots=True)
class _PendingIssue:
    """A request of `IssuerService.issue_group`, signed, waiting for its commit."""

    index: int
    ids: tuple[str, str] | None  # (principal, Idempotency-Key)
    request_fingerprint: bytes
    outcome: Outcome
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _InstInfo:
    id: int
    slug: str
    name: str
    did: str
    types: tuple[str, ...]
    chain_issuer_id: int | None = None


_STATUS_ACTIONS = ("revoke", "suspend", "reinstate")


def _private_storage(settings: IssuerSettings) -> None:
    """The data folder 0700 and a SQLite database file 0600 before SQLite opens it (its WAL and
    shared-memory files take the database file's mode), existing ones brought to those modes
    (issue 12; `talentproof.private`)."""
    from pathlib import Path

    from talentproof.private import private_dir, private_file

    private_dir(settings.data_dir)
    url = settings.resolved_database_url()
    if url.startswith("sqlite") and "///" in url:
        path = url.split("///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            db = Path(path)
            if db.parent.resolve() == settings.data_dir.resolve() or not db.parent.exists():
                private_dir(db.parent)
            private_file(db)
            for suffix in ("-wal", "-shm", "-writelock"):
                if Path(f"{db}{suffix}").exists():
                    private_file(Path(f"{db}{suffix}"))


def _map_tokens(body: Any, change: Callable[[str], str]) -> Any:
    """``body`` with every string under a ``token`` key (an API key, at any depth) changed."""
    if isinstance(body, dict):
        return {
            k: change(v) if k == "token" and isinstance(v, str) else _map_tokens(v, change)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [_map_tokens(v, change) for v in body]
    return body


def fingerprint(*parts: Any) -> bytes:
    """Hash of a request's meaning, to tell a retry from a different request."""
    try:
        return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).digest()
    except TypeError:  # integers past 64 bits (hostile input): the slower stdlib encoder
        import json

        return hashlib.sha256(
            json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
        ).digest()


class IssuerService:
    """The issuer: one per process, thread safe."""

    def __init__(
        self,
        settings: IssuerSettings,
        *,
        chain: ChainGateway | None = None,
        run_migrations: bool = True,
    ) -> None:
        settings.refuse_development_secrets()
        self.settings = settings
        _private_storage(settings)
        self.engine = make_engine(settings.resolved_database_url())
        if run_migrations:
            migrate(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        # SQLite has one writer at a time; queueing writers here avoids its sleeping busy handler.
        # (across processes too: several `serve` workers, a separate `issuer worker`).
        self.write_lock: contextlib.AbstractContextManager[Any] = writer_lock(self.engine)
        self.checkpointer = wal_checkpointer(self.engine)
        self.metrics = Metrics()
        self.metrics.registry.register(WriterLockWaits(self.write_lock))
        self.vault = self._open_vault()
        self.idempotency = IdempotencyStore(
            self.engine, self.sessions, self.session, self.write_lock
        )
        self._scrub_clear_replays()
        self.chain = chain if chain is not None else ChainGateway.from_settings(settings)
        self.status_indexes = StatusIndexes(self.write_lock, self.session)
        self._operator_hash = self._env_operator_hash()
        self.caches = IssuerCaches()
        self._issued_single = self.metrics.issued.labels("single")
        self._issue_groups = self.metrics.issue_groups
        self._hot = HotPath(self.engine)
        #: the anchoring worker of this process, when it runs one (it applies status changes)
        self.anchor_worker: Any = None
        self._status_apply_lock = threading.Lock()
        collaborators = Collaborators(
            settings=settings,
            engine=self.engine,
            sessions=self.sessions,
            session=self.session,
            write_lock=self.write_lock,
            chain=self.chain,
            caches=self.caches,
            vault=self.vault,
            metrics=self.metrics,
        )
        self.institutions = Institutions(collaborators)
        self.api_keys = ApiKeys(collaborators)
        self.ledger_states = LedgerStates(collaborators)
        self.publication = Publication(collaborators, self.signer_for)
        self.health = Health(collaborators, self.ledger_states)
        self.ledger_watch = IssuerStateWatch(
            self.chain,
            self.ledger_states.chain_issuer_ids,
            interval=LEDGER_REFRESH_S,
            publish=self.record_ledger_states,
        )

    def forget_cached(self) -> None:
        """Drop cached principals and institutions (after a key or institution changes)."""
        self.caches.forget()

    # -- infrastructure ------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A writing session, committed on success and rolled back on error."""
        with self.write_lock, self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def warm_up(self) -> None:
        """Load now what the first requests and the workers would load lazily: the ledger
        connection (web3 and the registry ABI), the schema validators, the QR encoder.

        `talentproof issuer serve` calls it before freezing the start-up heap out of the
        garbage collector's reach (`observability.freeze_after_warm_up`). A ledger that is down
        is only recorded (`chain_health`), as on any probe.
        """
        _cred.warm_up()
        self.chain.probe(max_age=0.0)
        import talentproof.ledger.tx  # noqa: F401  (the anchoring worker's transaction sender)

        with self.engine.connect() as conn:  # a pooled connection with its pragmas applied
            conn.execute(statements.SELECT_INSTITUTION, {"id": 0}).first()

    def close(self) -> None:
        """Release database connections."""
        self.ledger_watch.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
        close_lock = getattr(self.write_lock, "close", None)
        if close_lock is not None:
            close_lock()

    def _open_vault(self) -> KeyVault:
        passphrase = self.settings.secret("key_passphrase")
        if passphrase is None:
            if not self.settings.is_development:
                raise ConfigurationError(
                    "no key passphrase configured: expected TALENTPROOF_ISSUER_KEY_PASSPHRASE or "
                    "TALENTPROOF_ISSUER_KEY_PASSPHRASE_FILE (a generated passphrase file is used "
                    "only with TALENTPROOF_ENV=development)"
                )
            _logger.warning("no key passphrase configured; using the development passphrase file")
            passphrase = dev_passphrase(self.settings.data_dir)
        with self.sessions() as session:
            salt_row = session.get(Meta, "kdf_salt")
            if salt_row is None:
                session.add(Meta(key="kdf_salt", value=new_salt().hex()))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                salt_row = session.get(Meta, "kdf_salt")
            assert salt_row is not None
            return KeyVault(passphrase, bytes.fromhex(salt_row.value))

    def _env_operator_hash(self) -> bytes | None:
        token = self.settings.secret("operator_token")
        if token is None and self.settings.env == "development":
            token = dev_passphrase(self.settings.data_dir, name="issuer-operator-token")
            _logger.warning(
                "development operator token in %s", self.settings.data_dir / "issuer-operator-token"
            )
        return hashlib.sha256(token.encode()).digest() if token else None

    # -- authentication ------------------------------------------------------------------
    def authenticate(self, token: str | None) -> auth.Principal:
        """The principal for an API key; raises `Unauthenticated`."""
        if not token:
            raise Unauthenticated("missing API key; send 'Authorization: Bearer tpk_<id>_<secret>'")
        if self._operator_hash is not None:
            import hmac

            if hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._operator_hash):
                return auth.Principal(
                    "env-operator", auth.ROLE_OPERATOR, frozenset(auth.OPERATOR_SCOPES)
                )
        digest = hashlib.sha256(token.encode()).digest()
        cached: auth.Principal | None = self.caches.principals.get(digest)
        if cached is not None:
            return cached
        principal = self._authenticate_db(token)
        self.caches.principals.put(digest, principal)
        return principal

    def _authenticate_db(self, token: str) -> auth.Principal:
        key_id, secret = auth.parse_token(token)
        with self.sessions() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("unknown or revoked API key")
            if not auth.secret_matches(secret, row.secret_hash):
                raise Unauthenticated("unknown or revoked API key")
            if row.institution_id is not None:
                inst = session.get(Institution, row.institution_id)
                if inst is None:
                    raise Unauthenticated("unknown or revoked API key")
                if inst.status != "active":  # a valid key: 403, not 401
                    raise InstitutionSuspended(
                        f"institution {inst.slug!r} is suspended by this service's operator; "
                        "its API keys work again once it is reactivated"
                    )
            return auth.Principal(
                row.id, row.role, frozenset(row.scopes.split(",")), row.institution_id
            )

    @staticmethod
    def require(principal: auth.Principal, scope: str) -> int:
        """The caller's institution id if it holds ``scope``; raises `Forbidden`."""
        if principal.is_operator or principal.institution_id is None:
            raise Forbidden(f"this endpoint needs an institution API key with scope '{scope}'")
        if scope not in principal.scopes:
            raise Forbidden(f"this API key lacks the scope '{scope}'")
        return principal.institution_id

    @staticmethod
    def require_operator(principal: auth.Principal) -> None:
        """Raises `Forbidden` unless the caller is an operator."""
        if not principal.is_operator:
            raise Forbidden("this endpoint needs an operator API key")

    def create_operator_key(self, name: str = "operator") -> str:
        """Create an operator API key (CLI bootstrap); returns the token, shown once."""
        new = auth.new_api_key()
        with self.session() as session:
            session.add(
                ApiKey(
                    id=new.key_id,
                    institution_id=None,
                    role=auth.ROLE_OPERATOR,
                    scopes=",".join(auth.OPERATOR_SCOPES),
                    secret_hash=new.secret_hash,
                    name=name,
                )
            )
        return new.token

    # -- idempotency -----------------------------------------------------------------------
    def idempotent(
        self,
        principal: auth.Principal,
        key: str | None,
        request_fingerprint: bytes,
        operation: Callable[[Session], Outcome],
        *,
        external: bool = False,
    ) -> Outcome:
        """Run ``operation`` once per (caller, Idempotency-Key) (see `_idempotent`).

        An operator's answers may carry a new API key (onboarding, key creation and rotation):
        their stored answer holds every ``token`` sealed under a key derived from the vault key
        and the Idempotency-Key, which is stored only as an HMAC (`KeyVault.replay_id`), so a
        replay gives the key back to the client that knows the Idempotency-Key and the database
        never holds it in clear (issue 12).
        """
        if key is None or not principal.is_operator or not 1 <= len(key) <= 255:
            return self._idempotent(
                principal, key, request_fingerprint, operation, external=external
            )
        who = principal.key_id

        def sealed(session: Session) -> Outcome:
            outcome = operation(session)
            body = _map_tokens(
                outcome.body, lambda t: self.vault.seal_replay(t, principal=who, key=key)
            )
            return Outcome(outcome.status_code, body, outcome.headers)

        outcome = self._idempotent(
            principal,
            self.vault.replay_id(who, key),
            request_fingerprint,
            sealed,
            external=external,
        )
        body = _map_tokens(
            outcome.body, lambda t: self.vault.open_replay(t, principal=who, key=key)
        )
        return Outcome(outcome.status_code, body, outcome.headers)

    def _scrub_clear_replays(self) -> None:
        self.idempotency.scrub_clear_replays()

    def _idempotent(
        self,
        principal: auth.Principal,
        key: str | None,
        request_fingerprint: bytes,
        operation: Callable[[Session], Outcome],
        *,
        external: bool = False,
    ) -> Outcome:
        return self.idempotency.run(
            principal.key_id, key, request_fingerprint, operation, external=external
        )

    # -- institutions (`usecases.institutions`) ---------------------------------------------
    def did_for(self, slug: str) -> str:
        """The institution's did:web identifier."""
        return self.institutions.did_for(slug)

    def onboard_institution(
        self,
        session: Session,
        *,
        name: str,
        slug: str,
        credential_types: list[str],
        chain_issuer_id: int | None = None,
        did: str | None = None,
    ) -> dict[str, Any]:
        """Register an institution (`usecases.institutions.Institutions.onboard`)."""
        return self.institutions.onboard(
            session,
            name=name,
            slug=slug,
            credential_types=credential_types,
            chain_issuer_id=chain_issuer_id,
            did=did,
        )

    def get_institution(self, slug: str) -> dict[str, Any]:
        """An institution's public record."""
        return self.institutions.get(slug)

    def list_institutions(self) -> list[dict[str, Any]]:
        """Every institution (operator view)."""
        return self.institutions.list_all()

    def rotate_signing_key(self, session: Session, slug: str) -> dict[str, Any]:
        """New signing key registered on chain, then used here (`Institutions.rotate_signing_key`)."""
        return self.institutions.rotate_signing_key(session, slug)

    def change_credential_types(
        self, session: Session, slug: str, *, grant: list[str], withdraw: list[str]
    ) -> dict[str, Any]:
        """Grant or withdraw accredited types, on chain (ledger) and here."""
        return self.institutions.change_credential_types(
            session, slug, grant=grant, withdraw=withdraw
        )

    def set_institution_status(self, session: Session, slug: str, status: str) -> dict[str, Any]:
        """Suspend (``suspended``) or reactivate (``active``) an institution's API access."""
        return self.institutions.set_status(session, slug, status)

    # -- API keys (`usecases.api_keys`) -----------------------------------------------------
    def create_api_key(
        self, session: Session, slug: str, *, scopes: list[str], name: str = ""
    ) -> dict[str, Any]:
        """A new API key for an institution (operator)."""
        return self.api_keys.create(session, slug, scopes=scopes, name=name)

    def list_api_keys(self, slug: str) -> list[dict[str, Any]]:
        """An institution's keys (never their secrets)."""
        return self.api_keys.list_for(slug)

    def revoke_api_key(self, session: Session, slug: str, key_id: str) -> dict[str, Any]:
        """Revoke one of an institution's API keys."""
        return self.api_keys.revoke(session, slug, key_id)

    def rotate_api_key(self, session: Session, slug: str, key_id: str) -> dict[str, Any]:
        """Replace an API key by a new one with the same scopes; the old one stops working."""
        return self.api_keys.rotate(session, slug, key_id)

    # -- signing -----------------------------------------------------------------------------
    def signer_for(self, institution_id: int) -> tuple[int, _cred.Signer]:
        """The institution's active signing key, decrypted once and kept in memory.

        Every ``caches.CACHE_TTL_S`` the active key's id is looked up again, so a rotation made by
        another process is picked up (the seed is decrypted again only when the key changed).
        """
        signers = self.caches.signers
        entry = signers.entry(institution_id)
        now = time.monotonic()
        if entry is not None and signers.is_fresh(entry, now):
            return entry[1]  # type: ignore[no-any-return]
        cached: tuple[int, _cred.Signer] | None = entry[1] if entry is not None else None
        with self.sessions() as session:
            if cached is not None:
                active = session.execute(
                    statements.SELECT_ACTIVE_KEY_ID, {"inst": institution_id}
                ).scalar()
                if active == cached[0]:
                    signers.put(institution_id, cached, at=now)
                    return cached
            inst = session.get(Institution, institution_id)
            row = institution_store.newest_active_signing_key(session, institution_id)
            if inst is None or row is None:
                raise Conflict("the institution has no active signing key")
            seed = self.vault.open(row.seed_enc, context=f"signing-key:{row.id}")
            signer = (row.id, _cred.Signer(seed, inst.did))
        signers.put(institution_id, signer, at=now)
        return signer

    def identity_for(self, inst: Institution | _InstInfo) -> _cred.IssuerIdentity:
        """How an institution appears inside its credentials."""
        return _cred.IssuerIdentity(
            did=inst.did,
            name=inst.name,
            status_base_url=f"{self.settings.public_url}/institutions/{inst.slug}/status",
        )

    def account_key(self, inst: Institution) -> bytes:
        """The institution's chain-account private key (decrypted, in memory only)."""
        return self.vault.open(inst.chain_account_key_enc, context=f"account:{inst.id}")

    def allocate_status_indexes(self, institution_id: int, count: int) -> list[int]:
        """``count`` unused status-list indexes (`store.status_indexes.StatusIndexes`)."""
        return self.status_indexes.allocate(institution_id, count)

    # -- issuance ----------------------------------------------------------------------------
    def issue_group(
        self, requests: list[tuple[auth.Principal, str | None, dict[str, Any]]]
    ) -> list[Outcome | IssuerError]:
        """Issue several ``POST /credentials`` requests (principal, Idempotency-Key or None,
        body) with one commit: each one's answer, or the error that refused it, in order.

        Each request keeps the contract of ``idempotent(principal, key, fingerprint, issue)``:
        its credential row and stored answer are committed before this returns; a retry with
        the same key replays the first answer (also when the request would now be refused,
        e.g. by a suspended institution); a key reused for another request is refused. One
        request's error never fails the others. (An error of the database itself fails them
        all: it is raised.)

        Built for throughput, as a database's group commit (the HTTP process gathers the
        requests of one event-loop step, `app._IssueGroups`): the stored answers of the group's
        keys are read in one query; each credential is validated and signed outside the writer
        lock (so several processes sign in parallel); under the lock the keys are read again,
        so a twin that committed meanwhile (another process, a retry) wins and this credential
        is dropped unstored (its status index stays unused); then all rows are inserted with
        ``executemany`` and committed once. A key that comes twice within the group is issued
        by its first request and replayed for the later ones. Statements run on the driver's
        cursor (`store.Direct`): SQLAlchemy's execution machinery costs more than these statements.
        """
        self._issue_groups.inc()
        results: list[Outcome | IssuerError | None] = [None] * len(requests)
        later: list[int] = []  # a key repeated in the group: answered once the first committed
        pending: list[_PendingIssue] = []
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            keys = [
                (principal.key_id, key)
                for principal, key, _request in requests
                if key is not None and 1 <= len(key) <= 255
            ]
            stored = self._stored_answers(cursor, keys) if keys else {}
            raw.rollback()  # end the read: the writes below must see the newest state
            db = CursorReads(cursor, self._hot)
            seen: set[tuple[str, str]] = set()
            for index, (principal, key, request) in enumerate(requests):
                request_fingerprint = fingerprint("POST /credentials", request)
                ids = None
                try:
                    if key is not None:
                        if not 1 <= len(key) <= 255:
                            raise InvalidRequest(
                                "Idempotency-Key must be 1 to 255 characters",
                                field="Idempotency-Key",
                            )
                        ids = (principal.key_id, key)
                        answer = stored.get(ids)
                        if answer is not None:  # a retry: answered without signing anything
                            results[index] = replay(answer, request_fingerprint)
                            continue
                        if ids in seen:
                            later.append(index)
                            continue
                        seen.add(ids)
                    outcome, row = self._prepare_issue(db, principal, request)
                except IssuerError as exc:
                    results[index] = exc
                    continue
                pending.append(_PendingIssue(index, ids, request_fingerprint, outcome, row))
            raw.rollback()
            if pending:
                self._commit_group(raw, cursor, pending, results)
        finally:
            raw.close()  # back to the pool
        if later:
            again = self.issue_group([requests[i] for i in later])
            for index, result in zip(later, again, strict=True):
                results[index] = result
        return results  # type: ignore[return-value]

    def _commit_group(
        self,
        raw: Any,
        cursor: Any,
        pending: list[_PendingIssue],
        results: list[Outcome | IssuerError | None],
    ) -> None:
        """`issue_group`'s writes: under the writer lock, replay what a twin committed
        meanwhile, insert the rest and commit once; answers go to ``results``."""
        hot = self._hot
        for _attempt in range(3):
            with self.write_lock:
                try:
                    keyed = [p.ids for p in pending if p.ids is not None]
                    won = self._stored_answers(cursor, keyed) if keyed else {}
                    if won:  # a concurrent twin committed first: its answer is the answer
                        rest = []
                        for item in pending:
                            answer = won.get(item.ids) if item.ids is not None else None
                            if answer is None:
                                rest.append(item)
                                continue
                            try:
                                results[item.index] = replay(answer, item.request_fingerprint)
                            except IssuerError as exc:
                                results[item.index] = exc
                        pending = rest
                    if pending:
                        hot.insert_credential.run_many(cursor, [item.row for item in pending])
                        stored = [
                            {
                                "principal": item.ids[0],
                                "key": item.ids[1],
                                "fingerprint": item.request_fingerprint,
                                "status_code": item.outcome.status_code,
                                "body": orjson.dumps(item.outcome.body),
                                "headers": orjson.dumps(item.outcome.headers).decode(),
                                "created_at": item.row["created_at"],
                            }
                            for item in pending
                            if item.ids is not None
                        ]
                        if stored:
                            hot.insert_idem.run_many(cursor, stored)
                    raw.commit()
                except hot.integrity_error:
                    raw.rollback()  # a twin in another process won a key: replay it
                    if all(item.ids is None for item in pending):
                        raise
                    continue
                except BaseException:
                    raw.rollback()
                    raise
            log = _logger.isEnabledFor(logging.INFO)
            for item in pending:
                results[item.index] = item.outcome
                self._issued_single.inc()
                if log:
                    _logger.info(
                        "credential issued",
                        extra={
                            "credential": item.row["id"],
                            "hash": item.row["credential_hash"].hex(),
                        },
                    )
            return
        for item in pending:
            results[item.index] = Conflict(
                "a request with this Idempotency-Key is still in progress; retry"
            )

    def _stored_answers(
        self, cursor: Any, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredAnswer]:
        """The stored answers of ``keys`` ((principal, Idempotency-Key) pairs) that have one."""
        by_principal: dict[str, list[str]] = {}
        for principal, key in keys:
            by_principal.setdefault(principal, []).append(key)
        found: dict[tuple[str, str], StoredAnswer] = {}
        for principal, names in by_principal.items():
            unique = list(dict.fromkeys(names))
            for start in range(0, len(unique), IDEM_LOOKUP_MAX):
                chunk = unique[start : start + IDEM_LOOKUP_MAX]
                values: dict[str, Any] = {f"k{i}": name for i, name in enumerate(chunk)}
                values["principal"] = principal
                self._hot.select_idem_keys(len(chunk)).run(cursor, values)
                for key, *answer in cursor.fetchall():  # fetched to the end: no read left open
                    found[(principal, key)] = StoredAnswer(*answer)
        return found

    def _prepare_issue(
        self,
        db: CursorReads | ConnectionReads,
        principal: auth.Principal,
        request: dict[str, Any],
    ) -> tuple[Outcome, dict[str, Any]]:
        """Check, validate and sign one credential: (the answer, its row to insert)."""
        institution_id = self.require(principal, "issue")
        inst = self._institution_info(db, institution_id)
        kind = request.get("type")
        if not isinstance(kind, str):
            raise InvalidRequest(
                f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type"
            )
        if kind not in _cred.KINDS:
            raise InvalidRequest(
                f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type"
            )
        if kind not in inst.types:
            raise NotAccredited(f"institution {inst.slug!r} is not accredited to issue {kind}")
        self._refuse_if_inactive_on_ledger(db, inst)
        _key_id, signer = self.signer_for(institution_id)
        (index,) = self.allocate_status_indexes(institution_id, 1)
        try:
            signed, raw, digest = _cred.issue_document(
                kind,
                request,
                identity=self.identity_for(inst),
                signer=signer,
                status_index=index,
                now=utcnow(),
            )
        except _cred.SchemaValidationError as exc:
            raise InvalidRequest(str(exc), field=exc.field) from exc
        cred_id = signed["id"]
        row = {
            "id": cred_id,
            "institution_id": institution_id,
            "kind": kind,
            "credential_hash": digest,
            "document": raw,
            "status_index": index,
            "suspended": False,
            "created_at": utcnow(),
        }
        return (
            Outcome(
                202,
                self._pending_body(cred_id, signed, digest),
                {"Location": f"/credentials/{cred_id}/anchor"},
            ),
            row,
        )

    def check_may_issue(self, principal: auth.Principal) -> None:
        """Raises unless ``principal`` may issue now: scope ``issue`` and an institution the
        ledger does not show suspended or removed (``POST /bulk-jobs`` before its upload)."""
        institution_id = self.require(principal, "issue")
        with self.engine.connect() as conn:
            db = ConnectionReads(conn)
            inst = self._institution_info(db, institution_id)
            self._refuse_if_inactive_on_ledger(db, inst)

    # -- ledger status (`usecases.ledger_states`) -----------------------------------------
    def record_ledger_states(self, states: list[IssuerLedgerState]) -> None:
        """Record a complete read of the institutions' ledger status (`LedgerStates.record`)."""
        self.ledger_states.record(states)

    def _recorded_ledger_state(
        self, db: CursorReads | ConnectionReads, chain_issuer_id: int
    ) -> IssuerLedgerState | None:
        return self.ledger_states.recorded(db, chain_issuer_id)

    def _refuse_if_inactive_on_ledger(
        self, db: CursorReads | ConnectionReads, inst: _InstInfo
    ) -> None:
        self.ledger_states.refuse_if_inactive(db, inst.slug, inst.chain_issuer_id)

    def ledger_state(self, chain_issuer_id: int | None) -> IssuerLedgerState | None:
        """The institution's ledger status for status endpoints (`LedgerStates.current`)."""
        return self.ledger_states.current(chain_issuer_id)

    def _institution_info(
        self, db: CursorReads | ConnectionReads, institution_id: int
    ) -> _InstInfo:
        """The institution as issuance needs it, cached ``caches.CACHE_TTL_S`` (another process's
        change of its accredited types is seen within that time; this process's at once)."""
        cached: _InstInfo | None = self.caches.institutions.get(institution_id)
        if cached is not None:
            return cached
        row = db.institution(institution_id)
        if row is None:
            raise NotFound(f"no institution {institution_id}")
        inst_id, slug, name, did, types, chain_issuer_id = row
        info = _InstInfo(inst_id, slug, name, did, tuple(types.split(",")), chain_issuer_id)
        self.caches.institutions.put(institution_id, info)
        return info

    def _pending_body(self, cred_id: str, signed: dict[str, Any], digest: bytes) -> dict[str, Any]:
        health = self.chain.health  # as the worker last saw it; never a network call here
        return {
            "id": cred_id,
            "status": "pending_anchor",
            "credentialHash": "0x" + digest.hex(),
            "credential": signed,
            "poll": f"/credentials/{cred_id}/anchor",
            "links": {
                "self": f"/credentials/{cred_id}",
                "anchor": f"/credentials/{cred_id}/anchor",
                "qr_png": f"/credentials/{cred_id}/qr.png",
                "qr_svg": f"/credentials/{cred_id}/qr.svg",
            },
            "anchoring": "queued"
            if health.available or not health.checked_at
            else "queued: ledger unavailable, will anchor when it returns",
        }

    # -- reading -------------------------------------------------------------------------------
    def _own_credential(
        self, session: Session, principal: auth.Principal, cred_id: str, scope: str = "read"
    ) -> Credential:
        institution_id = self.require(principal, scope)
        cred = session.scalar(select(Credential).where(Credential.id == cred_id))
        if cred is None or cred.institution_id != institution_id:
            raise NotFound(f"no credential {cred_id!r}")
        return cred

    def holder_document(
        self, session: Session, cred: Credential
    ) -> tuple[dict[str, Any], AnchorBatch | None]:
        """The credential as the holder gets it: with its anchor proof once anchored."""
        doc = orjson.loads(cred.document)
        batch = session.get(AnchorBatch, cred.batch_id) if cred.batch_id is not None else None
        if batch is None or batch.state != "anchored" or cred.proof_path is None:
            return doc, batch
        path = [cred.proof_path[i : i + 32] for i in range(0, len(cred.proof_path), 32)]
        deployment = self.chain.deployment()
        return _cred.anchored_document(
            doc,
            chain_id=deployment.chain_id,
            registry=deployment.registry,
            root=batch.root,
            leaf_index=cred.leaf_index or 0,
            tree_size=batch.leaf_count,
            path=path,
        ), batch

    def get_credential(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """The credential JSON (anchored form when anchored)."""
        with self.sessions() as session:
            cred = self._own_credential(session, principal, cred_id)
            doc, _batch = self.holder_document(session, cred)
            return doc

    def anchor_status(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """Where the credential is in its life: pending, batched, sent, anchored; revoked..."""
        with self.sessions() as session:
            cred = self._own_credential(session, principal, cred_id)
            batch = session.get(AnchorBatch, cred.batch_id) if cred.batch_id is not None else None
            state = "pending_anchor" if batch is None or batch.state != "anchored" else "anchored"
            waiting = None
            if state == "pending_anchor":
                inst = session.get(Institution, cred.institution_id)
                ledger = self.ledger_state(inst.chain_issuer_id if inst else None)
                waiting = ledger.waiting_reason() if ledger else None
            body: dict[str, Any] = {
                "id": cred.id,
                "status": state,
                "credentialHash": "0x" + cred.credential_hash.hex(),
                "revoked": cred.revoked_at is not None,
                "suspended": cred.suspended,
                "revocationReason": cred.revocation_reason,
                "suspensionReason": cred.suspension_reason,
                "batch": None,
                "chain": {"available": self.chain_health().available},
                "waiting": waiting,
                "statusChanges": self._credential_status_changes(session, cred),
            }
            if batch is not None:
                body["batch"] = {
                    "id": batch.id,
                    "state": batch.state,
                    "merkleRoot": "0x" + batch.root.hex(),
                    "treeSize": batch.leaf_count,
                    "leafIndex": cred.leaf_index,
                    "txHash": batch.tx_hash,
                    "blockNumber": batch.block_number,
                    "anchoredAt": iso_z(batch.anchored_at),
                }
            return body

    def qr(self, principal: auth.Principal, cred_id: str, fmt: str) -> bytes | str:
        """The QR code (``png`` bytes or ``svg`` text) of an anchored credential."""
        with self.sessions() as session:
            cred = self._own_credential(session, principal, cred_id)
            doc, batch = self.holder_document(session, cred)
            if batch is None or batch.state != "anchored":
                raise Conflict(
                    f"credential {cred_id!r} is not anchored yet; poll /credentials/{cred_id}/anchor"
                )
            return _cred.qr_png(doc) if fmt == "png" else _cred.qr_svg(doc)

    def list_credentials(
        self, principal: auth.Principal, *, limit: int = 100, after: int = 0
    ) -> dict[str, Any]:
        """A page of the institution's credentials (ids and states)."""
        institution_id = self.require(principal, "read")
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Credential.seq,
                    Credential.id,
                    Credential.kind,
                    Credential.batch_id,
                    Credential.revoked_at,
                    Credential.suspended,
                )
                .where(Credential.institution_id == institution_id, Credential.seq > after)
                .order_by(Credential.seq)
                .limit(min(max(limit, 1), 1000))
            ).all()
            return {
                "items": [
                    {
                        "id": r.id,
                        "type": r.kind,
                        "batched": r.batch_id is not None,
                        "revoked": r.revoked_at is not None,
                        "suspended": r.suspended,
                    }
                    for r in rows
                ],
                "next_after": rows[-1].seq if rows else None,
            }

    # -- revocation -------------------------------------------------------------------------------
    def change_status(
        self, principal: auth.Principal, action: str, credential_ids: list[str], reason: Any
    ) -> dict[str, Any]:
        """Revoke, suspend or reinstate credentials of the caller: queued, then applied on chain.

        The change is checked against the credentials' state (the applied one and the changes
        still queued before it), recorded ``pending`` with its reason (durable: one database
        commit) and applied in order by the anchoring worker (`apply_status_changes`), which
        then mirrors it locally. No ledger call happens here: when this process runs the worker,
        the request waits for the change at most ``status_change_wait_s`` (capped at the RPC
        timeout) and returns the change: ``state`` ``applied`` with the transaction if it was
        applied by then, else ``pending`` (``GET /credentials/{id}/anchor`` and
        ``GET /credentials/status-changes/{n}`` follow it: its ``poll`` link). A ledger that is down or slow
        therefore never holds a request longer than that.

        A reason is required (non-blank). An institution the ledger shows suspended or removed
        may still revoke and suspend its credentials (the registry allows it), but not reinstate
        one (403 naming the state), as it may not issue.
        """
        institution_id = self.require(principal, "revoke")
        if action not in _STATUS_ACTIONS:
            raise InvalidRequest(
                f"action must be revoke, suspend or reinstate, got {action!r}", field="action"
            )
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            raise InvalidRequest(
                f"reason: a {action} needs a non-empty reason (it is recorded with the change)",
                field="reason",
            )
        if not credential_ids or len(credential_ids) > 10_000:
            raise InvalidRequest("credential_ids must hold 1 to 10,000 ids", field="credential_ids")
        if len(set(credential_ids)) != len(credential_ids):
            raise InvalidRequest("credential_ids holds duplicates", field="credential_ids")
        with self.session() as session:
            rows = list(
                session.scalars(select(Credential).where(Credential.id.in_(credential_ids)))
            )
            found = {r.id: r for r in rows if r.institution_id == institution_id}
            missing = [c for c in credential_ids if c not in found]
            if missing:
                raise NotFound(f"no credential {missing[0]!r}")
            projected = self._projected_status(session, institution_id, found)
            for cid in credential_ids:
                revoked, suspended, queued = projected[cid]
                later = " (once the queued changes are applied)" if queued else ""
                if revoked:
                    raise Conflict(f"credential {cid!r} is revoked{later} (final)")
                if action == "suspend" and suspended:
                    raise Conflict(f"credential {cid!r} is already suspended{later}")
                if action == "reinstate" and not suspended:
                    raise Conflict(f"credential {cid!r} is not suspended{later}")
            if action == "reinstate":
                self._refuse_reinstate_if_inactive(session, institution_id)
            change = StatusChange(
                institution_id=institution_id,
                action=action,
                reason=text,
                credential_ids="\n".join(credential_ids),
                state="pending",
                attempts=0,
            )
            session.add(change)
            session.flush()
            change_id = int(change.id)
        _logger.info(
            "credential status change queued",
            extra={"action": action, "count": len(credential_ids), "change": change_id},
        )
        self.metrics.status_changes_queued.set(self.pending_status_changes())
        self._wait_applied(change_id)
        with self.sessions() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            body = self._status_change_body(change)
        if body["state"] == "failed":
            raise Conflict(f"the registry refused the {action}: {body['error']}")
        return body

    def _wait_applied(self, change_id: int) -> None:
        """Wake the worker of this process (if it runs one) and wait, bounded, for the change
        to leave the queue. Never a ledger call: the worker applies it."""
        worker = self.anchor_worker
        if worker is None or not worker.running:
            return
        worker.wakeup.set()
        limit = min(self.settings.status_change_wait_s, self.settings.rpc_timeout_s)
        deadline = time.monotonic() + limit
        select_state = select(StatusChange.state).where(StatusChange.id == change_id)
        while time.monotonic() < deadline:
            time.sleep(0.02)
            with self.engine.connect() as conn:
                if conn.execute(select_state).scalar() in ("applied", "failed"):
                    return

    @staticmethod
    def _projected_status(
        session: Session, institution_id: int, rows: dict[str, Credential]
    ) -> dict[str, tuple[bool, bool, bool]]:
        """Each credential's (revoked, suspended, changed by a queued change) once the
        institution's queued changes are applied in order."""
        state = {
            cid: [r.revoked_at is not None, bool(r.suspended), False] for cid, r in rows.items()
        }
        queued = session.execute(
            select(StatusChange.action, StatusChange.credential_ids)
            .where(
                StatusChange.institution_id == institution_id,
                StatusChange.state.in_(_QUEUED_STATES),
            )
            .order_by(StatusChange.id)
        ).all()
        for action, ids in queued:
            for cid in ids.split("\n"):
                entry = state.get(cid)
                if entry is None:
                    continue
                entry[2] = True
                if action == "revoke":
                    entry[0] = True
                elif action == "suspend":
                    entry[1] = True
                else:
                    entry[1] = False
        return {cid: (e[0], e[1], e[2]) for cid, e in state.items()}

    def _refuse_reinstate_if_inactive(self, session: Session, institution_id: int) -> None:
        """Reinstating needs an institution active on the ledger (as issuing does): refused
        with 403 naming its ledger state (from the recorded read, never a ledger call)."""
        db = ConnectionReads(session.connection())
        inst = self._institution_info(db, institution_id)
        if inst.chain_issuer_id is None:
            return
        state = self._recorded_ledger_state(db, inst.chain_issuer_id)
        if state is None or state.may_issue:
            return
        since = iso_z(state.since) or "an unknown time"
        error = InstitutionRemoved if state.status == "removed" else InstitutionSuspended
        raise error(
            f"institution {inst.slug!r} is {state.status} on the ledger (issuer "
            f"{inst.chain_issuer_id}) since {since}: it may revoke and suspend its credentials "
            "but not reinstate one until the ledger's governance reinstates it"
        )

    @staticmethod
    def _status_change_body(change: StatusChange) -> dict[str, Any]:
        ids = change.credential_ids.split("\n")
        return {
            "id": int(change.id),
            "action": change.action,
            "credential_ids": ids,
            "reason": change.reason,
            "state": change.state,
            "txHash": change.tx_hash,
            "error": change.error,
            "requestedAt": iso_z(change.created_at),
            "appliedAt": iso_z(change.confirmed_at),
            "poll": f"/credentials/status-changes/{int(change.id)}",
        }

    def get_status_change(self, principal: auth.Principal, change_id: int) -> dict[str, Any]:
        """A queued or applied status change of the caller's institution."""
        institution_id = self.require(principal, "read")
        with self.sessions() as session:
            change = session.get(StatusChange, change_id)
            if change is None or change.institution_id != institution_id:
                raise NotFound(f"no status change {change_id}")
            return self._status_change_body(change)

    def _credential_status_changes(
        self, session: Session, cred: Credential
    ) -> list[dict[str, Any]]:
        changes = session.scalars(
            select(StatusChange)
            .where(
                StatusChange.institution_id == cred.institution_id,
                StatusChange.credential_ids.contains(cred.id),
            )
            .order_by(StatusChange.id.desc())
            .limit(20)
        )
        out = []
        for change in changes:
            body = self._status_change_body(change)
            if cred.id not in body["credential_ids"]:
                continue
            del body["credential_ids"]
            out.append(body)
        out.reverse()
        return out

    def pending_status_changes(self) -> int:
        """How many status changes wait to be applied (pending or sent)."""
        with self.sessions() as session:
            return status_change_store.queued_count(session)

    def apply_status_changes(self, *, limit: int = 64) -> bool:
        """Apply queued status changes in order (the anchoring worker's job): each one its own
        transaction, sent and recorded (``sent``) before its receipt is awaited, so a restart
        resumes it. A change the registry refuses is ``failed`` (with the revert) unless the
        chain already shows its effect (a resend after a crash): then ``applied``. Raises
        `LedgerUnavailable` when the ledger does not answer: the queue waits, in order.
        Returns whether anything was applied or failed."""
        did = False
        failed = True
        with self._status_apply_lock:
            try:
                while True:
                    with self.sessions() as session:
                        ids = list(
                            session.scalars(
                                select(StatusChange.id)
                                .where(StatusChange.state.in_(_QUEUED_STATES))
                                .order_by(StatusChange.id)
                                .limit(limit)
                            )
                        )
                    if not ids:
                        failed = False
                        return did
                    for change_id in ids:
                        if not self._apply_status_change(int(change_id)):
                            failed = False  # sent, not mined yet: the next pass resumes it
                            return did
                        did = True
                    if len(ids) < limit:
                        failed = False
                        return did
            finally:
                if did or failed:  # the queue changed, or waits for the ledger
                    self.metrics.status_changes_queued.set(self.pending_status_changes())

    def _apply_status_change(self, change_id: int) -> bool:
        """Send (or resume) one queued change and settle it; False when its transaction is
        sent but not mined within the transaction timeout (it stays ``sent``: the next pass
        rebroadcasts it and waits again, later changes wait behind it)."""
        from talentproof.ledger.errors import (
            ContractRevert,
            LedgerError,
            NonceError,
            TransactionFailed,
            TransactionTimeout,
        )
        from talentproof.ledger.tx import PendingTx

        with self.sessions() as session:
            change = session.get(StatusChange, change_id)
            if change is None or change.state not in _QUEUED_STATES:
                return True
            inst = session.get(Institution, change.institution_id)
            assert inst is not None
            account_key = self.account_key(inst)
            ids = change.credential_ids.split("\n")
            by_id = {
                r.id: r.credential_hash
                for r in session.scalars(select(Credential).where(Credential.id.in_(ids)))
            }
            hashes = [by_id[c] for c in ids if c in by_id]
            action, state, record = change.action, change.state, change.tx_record
            issuer_id = inst.chain_issuer_id
        pending = None
        if state == "sent" and record:
            pending = PendingTx.from_json(orjson.loads(record))
            with contextlib.suppress(LedgerError, LedgerUnavailable):
                self.chain.rebroadcast(account_key, pending)
        try:
            if pending is None:
                pending = self.chain.send_credential_status(account_key, action, hashes)
                with self.session() as session:
                    sent = session.get(StatusChange, change_id)
                    assert sent is not None
                    sent.state, sent.tx_hash = "sent", pending.tx_hash
                    sent.tx_record = orjson.dumps(pending.to_json()).decode()
                    sent.attempts = (sent.attempts or 0) + 1
            receipt = self.chain.wait_tx(account_key, pending, self.settings.tx_timeout_s)
        except (ContractRevert, TransactionFailed) as exc:  # refused by the registry
            self.metrics.chain_errors.labels("revert").inc()
            if self._shows_effect(issuer_id, action, hashes):
                self._mark_applied(change_id, None)
            else:
                self._mark_failed(change_id, f"{exc}")
            return True
        except NonceError:  # our nonce went to another transaction: done already, or resend
            if self._shows_effect(issuer_id, action, hashes):
                self._mark_applied(change_id, None)
            else:
                self._reset_pending(change_id)
            return True
        except TransactionTimeout:
            _logger.warning(
                "status change transaction not mined yet; it is rebroadcast on the next pass",
                extra={"change": change_id, "tx": getattr(pending, "tx_hash", None)},
            )
            return False
        except LedgerError as exc:
            raise LedgerUnavailable(f"status change {change_id}: {exc}") from exc
        self._mark_applied(change_id, "0x" + bytes(receipt["transactionHash"]).hex())
        return True

    def _shows_effect(self, issuer_id: int | None, action: str, hashes: list[bytes]) -> bool:
        if issuer_id is None or not hashes:
            return False
        statuses = self.chain.credential_statuses(issuer_id, hashes)
        if action == "revoke":
            return all(revoked for revoked, _s in statuses)
        if action == "suspend":
            return all(suspended and not revoked for revoked, suspended in statuses)
        return all(not suspended and not revoked for revoked, suspended in statuses)

    def _mark_failed(self, change_id: int, error: str) -> None:
        with self.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.error = "failed", error[:2000]
        self.metrics.status_changes.labels("failed").inc()
        _logger.warning(
            "credential status change refused by the registry",
            extra={"change": change_id, "error": error[:500]},
        )

    def _reset_pending(self, change_id: int) -> None:
        with self.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.tx_record = "pending", None

    def _mark_applied(self, change_id: int, tx_hash: str | None) -> None:
        now = utcnow()
        with self.session() as session:
            change = session.get(StatusChange, change_id)
            assert change is not None
            change.state, change.confirmed_at, change.error = "applied", now, None
            if tx_hash is not None:
                change.tx_hash = tx_hash
            ids = change.credential_ids.split("\n")
            action, reason = change.action, change.reason
            for row in session.scalars(select(Credential).where(Credential.id.in_(ids))):
                if action == "revoke":
                    row.revoked_at, row.revocation_reason = now, reason
                elif action == "suspend":
                    row.suspended, row.suspension_reason = True, reason
                else:
                    row.suspended, row.suspension_reason = False, None
        self.metrics.status_changes.labels("applied").inc()
        _logger.info(
            "credential status changed",
            extra={"action": action, "count": len(ids), "tx": tx_hash, "change": change_id},
        )

    # -- publication (`usecases.publication`) ---------------------------------------------
    def did_document(self, slug: str) -> dict[str, Any]:
        """The institution's did:web document (every key, active or retired)."""
        return self.publication.did_document(slug)

    def status_list(
        self, slug: str, purpose: str, *, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """The institution's signed Bitstring Status List credential for ``purpose``."""
        return self.publication.status_list(slug, purpose, now=now)

    # -- health (`usecases.health`) ----------------------------------------------------------
    def chain_health(self) -> ChainHealth:
        """What the anchoring worker last saw of the ledger."""
        return self.health.chain_health()

    def readiness(self) -> dict[str, Any]:
        """Database, ledger, anchoring backlog and queued status changes (`Health.readiness`)."""
        return self.health.readiness()
