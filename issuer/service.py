"""The issuer's service layer: institutions, API keys, issuance, delivery, revocation.

No FastAPI here: the HTTP routes (``api/routes/``), the CLI and the bulk and anchoring workers all call
:class:`IssuerService`. Every accepted credential is committed to the database before a response
names it; anchoring happens later in :mod:`talentproof.issuer.anchoring`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from talentproof.private import private_dir, private_file

from . import _cred, auth
from .caches import IssuerCaches
from .chain import ChainGateway, ChainHealth, IssuerLedgerState, IssuerStateWatch
from .db import (
    AnchorBatch,
    ApiKey,
    CredentialRow,
    InstitutionRow,
    Meta,
    make_engine,
    make_sessionmaker,
    migrate,
    wal_checkpointer,
)
from .errors import (
    ConfigurationError,
    InstitutionSuspended,
    IssuerError,
    Unauthenticated,
)
from .observability import Metrics, WriterLockWaits
from .outcome import WriteOutcome
from .settings import IssuerSettings
from .store import (
    ConnectionReads,
    CursorReads,
)
from .store.idempotency import IdempotencyStore
from .store.lease import AnchorLease
from .store.locks import writer_lock
from .store.sendlock import AccountSendLock
from .store.status_indexes import StatusIndexes
from .usecases import Collaborators
from .usecases.api_keys import ApiKeys
from .usecases.common import did_web as did_web  # re-exported: older callers import it here
from .usecases.common import iso_z as iso_z  # re-exported: older callers import it here
from .usecases.common import require, require_operator
from .usecases.credentials import Credentials
from .usecases.health import Health
from .usecases.institutions import (
    Institutions,
    IssuingInstitution,
    institution_info,
    open_account_key,
)
from .usecases.issuance import Issuance
from .usecases.issuance import fingerprint as fingerprint  # re-exported: the routes import it here
from .usecases.ledger_states import LEDGER_REFRESH_S, LedgerStates
from .usecases.publication import STATUS_PURPOSES as STATUS_PURPOSES
from .usecases.publication import Publication
from .usecases.status_changes import StatusChanges
from .vault import KeyVault, dev_passphrase, new_salt

_logger = logging.getLogger(__name__)

TYPES_REFRESH_S = 5.0
"""How often the ledger watch re-reads the accredited types each institution lists (one call per
listed name) and its active signing keys (one call per key, and the revocation events since the
last read); the status is read every `LEDGER_REFRESH_S`."""

#: Principals, institutions, active signing keys and recorded ledger states are cached a few
#: seconds (`caches.IssuerCaches`, TTLs `caches.CACHE_TTL_S` and `caches.LEDGER_SHARED_TTL_S`);
#: the institutions' ledger status: `usecases.ledger_states`.


def _private_storage(settings: IssuerSettings) -> None:
    """The data folder 0700 and a SQLite database file 0600 before SQLite opens it (its WAL and
    shared-memory files take the database file's mode), existing ones brought to those modes
    (issue 12; `talentproof.private`)."""
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
        #: one sender at a time per chain account among the replicas (`store.sendlock`)
        self.send_lock = AccountSendLock(self.engine, timeout_s=settings.send_lock_timeout_s)
        self.chain.send_lock = self.send_lock.hold
        self.status_indexes = StatusIndexes(self.write_lock, self.session)
        self._operator_hash = self._env_operator_hash()
        self.caches = IssuerCaches()
        #: the anchoring worker of this process, when it runs one (it applies status changes)
        self.anchor_worker: Any = None
        #: exactly one anchoring worker among the replicas on this database holds it (it sends
        #: every chain transaction: anchors and status changes); connects on first use only
        self.anchor_lease = AnchorLease(
            self.engine, check_s=settings.lease_check_s, timeout_s=settings.lease_timeout_s
        )
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
        self.status_changes = StatusChanges(
            collaborators, self.ledger_states, self._institution_info, lambda: self.anchor_worker
        )
        self.credentials = Credentials(collaborators, self.ledger_states, self.status_changes)
        self.issuance = Issuance(collaborators, self.ledger_states, self.status_indexes)
        self._types_read_at = -float("inf")
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
        # deliberately here: warm-up loads the worker's transaction sender (~0.5 s) before the
        # first request, and only in a process that warms up
        import talentproof.ledger.tx  # noqa: F401, PLC0415

        with self.engine.connect() as conn:  # a pooled connection with its pragmas applied
            ConnectionReads(conn).institution(0)

    def close(self) -> None:
        """Release database connections (and the anchoring lease)."""
        self.ledger_watch.stop()
        self.anchor_lease.release()
        self.send_lock.close()
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
        if self._operator_hash is not None and hmac.compare_digest(
            hashlib.sha256(token.encode()).digest(), self._operator_hash
        ):
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
                inst = session.get(InstitutionRow, row.institution_id)
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
        return require(principal, scope)

    @staticmethod
    def require_operator(principal: auth.Principal) -> None:
        """Raises `Forbidden` unless the caller is an operator."""
        require_operator(principal)

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
        operation: Callable[[Session], WriteOutcome],
        *,
        external: bool = False,
    ) -> WriteOutcome:
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

        def sealed(session: Session) -> WriteOutcome:
            outcome = operation(session)
            body = _map_tokens(
                outcome.body, lambda t: self.vault.seal_replay(t, principal=who, key=key)
            )
            return dataclasses.replace(outcome, body=body)

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
        return dataclasses.replace(outcome, body=body)

    def _scrub_clear_replays(self) -> None:
        self.idempotency.scrub_clear_replays()

    def _idempotent(
        self,
        principal: auth.Principal,
        key: str | None,
        request_fingerprint: bytes,
        operation: Callable[[Session], WriteOutcome],
        *,
        external: bool = False,
    ) -> WriteOutcome:
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
        """The institution's active signing key (`usecases.issuance.Issuance.signer_for`)."""
        return self.issuance.signer_for(institution_id)

    def identity_for(self, inst: InstitutionRow | IssuingInstitution) -> _cred.IssuerIdentity:
        """How an institution appears inside its credentials."""
        return self.issuance.identity_for(inst)

    def account_key(self, inst: InstitutionRow) -> bytes:
        """The institution's chain-account private key (decrypted, in memory only)."""
        return open_account_key(self.vault, inst)

    def allocate_status_indexes(self, institution_id: int, count: int) -> list[int]:
        """``count`` unused status-list indexes (`store.status_indexes.StatusIndexes`)."""
        return self.status_indexes.allocate(institution_id, count)

    # -- issuance (`usecases.issuance`) --------------------------------------------------------
    def issue_group(
        self, requests: list[tuple[auth.Principal, str | None, dict[str, Any]]]
    ) -> list[WriteOutcome | IssuerError]:
        """Issue several ``POST /credentials`` requests with one commit
        (`usecases.issuance.Issuance.issue_group`): each one's answer, or the error that
        refused it, in order."""
        return self.issuance.issue_group(requests)

    def check_may_issue(self, principal: auth.Principal) -> None:
        """Raises unless ``principal`` may issue now (`Issuance.check_may_issue`)."""
        self.issuance.check_may_issue(principal)

    # -- ledger status (`usecases.ledger_states`) -----------------------------------------
    def record_ledger_states(self, states: list[IssuerLedgerState]) -> None:
        """Record a complete read of the institutions' ledger status (`LedgerStates.record`);
        at most every `TYPES_REFRESH_S` seconds also close, in the service's table, the types
        the registry no longer holds open (`Institutions.close_withdrawn_types`) and the
        signing keys it no longer holds valid (`Institutions.close_keys_the_ledger_closed`), and
        compare each institution's name and DID with the registry's
        (`Institutions.check_registry_names`, named in ``/readyz``). Each pass is independent:
        one that fails is logged and the others still run (the ledger watch thread never
        stops for it); a failing institution is skipped inside each pass."""
        self.ledger_states.record(states)
        now = time.monotonic()
        if now - self._types_read_at >= TYPES_REFRESH_S:
            self._types_read_at = now
            for name, ledger_pass in (
                ("close_withdrawn_types", self.institutions.close_withdrawn_types),
                ("close_keys_the_ledger_closed", self.institutions.close_keys_the_ledger_closed),
                ("check_registry_names", self.institutions.check_registry_names),
            ):
                try:
                    ledger_pass()
                except Exception as exc:  # each pass independent; retried next period
                    _logger.warning(
                        "ledger pass %s failed, retried in %g s: %s",
                        name,
                        TYPES_REFRESH_S,
                        exc,
                        extra={"ledger_pass": name},
                    )

    def ledger_state(self, chain_issuer_id: int | None) -> IssuerLedgerState | None:
        """The institution's ledger status for status endpoints (`LedgerStates.current`)."""
        return self.ledger_states.current(chain_issuer_id)

    def _institution_info(
        self, db: CursorReads | ConnectionReads, institution_id: int
    ) -> IssuingInstitution:
        return institution_info(self.caches, db, institution_id)

    # -- reading credentials (`usecases.credentials`) -----------------------------------------
    def holder_document(
        self, session: Session, cred: CredentialRow
    ) -> tuple[dict[str, Any], AnchorBatch | None]:
        """The credential as the holder gets it: with its anchor proof once anchored."""
        return self.credentials.holder_document(session, cred)

    def get_credential(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """The credential JSON (anchored form when anchored)."""
        return self.credentials.get(principal, cred_id)

    def anchor_status(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """Where the credential is in its life: pending, batched, sent, anchored; revoked..."""
        return self.credentials.anchor_status(principal, cred_id)

    def qr(self, principal: auth.Principal, cred_id: str, fmt: str) -> bytes | str:
        """The QR code (``png`` bytes or ``svg`` text) of an anchored credential."""
        return self.credentials.qr(principal, cred_id, fmt)

    def list_credentials(
        self, principal: auth.Principal, *, limit: int = 100, after: int = 0
    ) -> dict[str, Any]:
        """A page of the institution's credentials (ids and states)."""
        return self.credentials.page(principal, limit=limit, after=after)

    # -- status changes (`usecases.status_changes`) ----------------------------------------------
    def change_status(
        self, principal: auth.Principal, action: str, credential_ids: list[str], reason: Any
    ) -> dict[str, Any]:
        """Revoke, suspend or reinstate credentials of the caller (`StatusChanges.change`)."""
        return self.status_changes.change(principal, action, credential_ids, reason)

    def get_status_change(self, principal: auth.Principal, change_id: int) -> dict[str, Any]:
        """A queued or applied status change of the caller's institution."""
        return self.status_changes.get(principal, change_id)

    def pending_status_changes(self) -> int:
        """How many status changes wait to be applied (pending or sent)."""
        return self.status_changes.pending()

    def apply_status_changes(self, *, limit: int = 64) -> bool:
        """Apply queued status changes in order (`StatusChanges.apply`); whether anything was
        applied or failed."""
        return self.status_changes.apply(limit=limit)

    # -- publication (`usecases.publication`) ---------------------------------------------
    def did_document(self, slug: str) -> dict[str, Any]:
        """The institution's did:web document: its keys as the registry vouches for them now
        (`Publication.did_document`)."""
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
        """Database, ledger, anchoring backlog and queued status changes (`Health.readiness`),
        and who holds the anchoring lease (`store.lease.AnchorLease.describe`)."""
        body = self.health.readiness()
        body.setdefault("anchoring", {})["lease"] = self.anchor_lease.describe()
        return body
