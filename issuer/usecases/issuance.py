"""Issuance: requests checked, validated and signed, then committed in groups (one commit for
the requests of one event-loop step), each with its idempotent answer; the institutions'
signers, decrypted once and cached."""

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from .. import _cred, auth
from ..db import InstitutionRow, utcnow
from ..errors import Conflict, InvalidRequest, IssuerError
from ..outcome import WriteOutcome, accepted
from ..store import ConnectionReads, CursorReads, CursorSession, HotPath, cursor_session
from ..store import institutions as institution_store
from ..store.idempotency import replay, stored_columns
from ..store.status_indexes import StatusIndexes
from .collaborators import Collaborators
from .common import require
from .institutions import IssuingInstitution, institution_info, refuse_unaccredited
from .ledger_states import LedgerStates

_logger = logging.getLogger("talentproof.issuer.service")  # the service's log name, kept


def fingerprint(*parts: Any) -> bytes:
    """Hash of a request's meaning, to tell a retry from a different request."""
    try:
        return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).digest()
    except TypeError:  # integers past 64 bits (hostile input): the slower stdlib encoder
        return hashlib.sha256(
            json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
        ).digest()


#: Said when a request names no holder (fresh-clone walk-through: an offer's body sent to
#: ``POST /credentials`` was refused with the schema's words alone).
_NO_HOLDER_KEY = (
    "(the holder's did:key, from `talentproof keygen` or `talentproof wallet init`; an "
    "institution that does not know it offers the credential instead: POST /credential-offers "
    "with this body, the wallet proves its key)"
)


def issue_or_refuse(kind: str, request: dict[str, Any], **options: Any) -> Any:
    """`_cred.issue_document` (``options`` its keywords), a request it cannot issue refused as
    `InvalidRequest` (422) naming why: the schema's finding with its member, or a value JCS
    cannot write (an Open Badge subject's own 2**60, NaN). ``POST /credentials``, the VC API and
    the OpenID4VCI offer's claims check (`Oid4vci._validate_claims`) refuse alike."""
    try:
        return _cred.issue_document(kind, request, **options)
    except _cred.SchemaValidationError as exc:
        message = str(exc)
        if exc.field == "credentialSubject.id" and exc.expected.startswith("a value (required"):
            message += f" {_NO_HOLDER_KEY}"
        raise InvalidRequest(message, field=exc.field) from exc
    except _cred.CanonicalizationError as exc:
        raise InvalidRequest(f"the credential cannot be signed: {exc}") from exc


@dataclass(slots=True)
class _PendingIssue:
    """A request of `Issuance.issue_group`, signed, waiting for its commit."""

    index: int
    ids: tuple[str, str] | None  # (principal, Idempotency-Key)
    request_fingerprint: bytes
    outcome: WriteOutcome
    row: dict[str, Any]


def _no_signing_key(session: Any, inst: InstitutionRow | None, institution_id: int) -> str:
    """Why the institution cannot sign: the ledger closed its key (the operator's remedy named),
    or it has none."""
    last = institution_store.newest_signing_key(session, institution_id, active=False)
    if inst is not None and last is not None and last.closed_on_chain_at is not None:
        return (
            "the institution's signing key was revoked on the ledger (or its validity window "
            "ended) and signs nothing more; the operator rotates it: "
            f"POST /operator/institutions/{inst.slug}/signing-keys/rotate"
        )
    return "the institution has no active signing key"


class Issuance:
    """The issuance use cases."""

    def __init__(
        self, c: Collaborators, ledger_states: LedgerStates, status_indexes: StatusIndexes
    ) -> None:
        self.c = c
        self.ledger_states = ledger_states
        self.status_indexes = status_indexes
        self._hot = HotPath(c.engine)
        self._issued_single = c.metrics.issued.labels("single")
        self._issue_groups = c.metrics.issue_groups

    def signer_for(self, institution_id: int) -> tuple[int, _cred.Signer]:
        """The institution's active signing key, decrypted once and kept in memory.

        Every ``caches.CACHE_TTL_S`` the active key's id is looked up again, so a rotation made by
        another process is picked up (the seed is decrypted again only when the key changed).
        """
        signers = self.c.caches.signers
        entry = signers.entry(institution_id)
        now = time.monotonic()
        if entry is not None and signers.is_fresh(entry, now):
            return entry[1]  # type: ignore[no-any-return]
        cached: tuple[int, _cred.Signer] | None = entry[1] if entry is not None else None
        with self.c.sessions() as session:
            if cached is not None:
                active = institution_store.active_signing_key_id(session, institution_id)
                if active == cached[0]:
                    signers.put(institution_id, cached, at=now)
                    return cached
            inst = session.get(InstitutionRow, institution_id)
            row = institution_store.newest_signing_key(session, institution_id)
            if inst is None or row is None:
                raise Conflict(_no_signing_key(session, inst, institution_id))
            seed = self.c.vault.open(row.seed_enc, context=f"signing-key:{row.id}")
            signer = (row.id, _cred.Signer(seed, inst.did))
        signers.put(institution_id, signer, at=now)
        return signer

    def identity_for(self, inst: InstitutionRow | IssuingInstitution) -> _cred.IssuerIdentity:
        """How an institution appears inside its credentials."""
        return _cred.IssuerIdentity(
            did=inst.did,
            name=inst.name,
            status_base_url=f"{self.c.settings.public_url}/institutions/{inst.slug}/status",
        )

    def issue_group(
        self, requests: list[tuple[auth.Principal, str | None, dict[str, Any]]]
    ) -> list[WriteOutcome | IssuerError]:
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
        cursor (`store.Direct`, on a `store.cursor_session`): SQLAlchemy's execution machinery
        costs more than these statements.
        """
        self._issue_groups.inc()
        results: list[WriteOutcome | IssuerError | None] = [None] * len(requests)
        later: list[int] = []  # a key repeated in the group: answered once the first committed
        pending: list[_PendingIssue] = []
        with cursor_session(self.c.engine) as txn:
            cursor = txn.cursor
            keys = [
                (principal.key_id, key)
                for principal, key, _request in requests
                if key is not None and 1 <= len(key) <= 255
            ]
            stored = self._hot.stored_answers(cursor, keys) if keys else {}
            txn.rollback()  # end the read: the writes below must see the newest state
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
                    outcome, row = self.prepare(db, principal, request)
                except IssuerError as exc:
                    results[index] = exc
                    continue
                pending.append(_PendingIssue(index, ids, request_fingerprint, outcome, row))
            txn.rollback()
            if pending:
                self._commit_group(txn, pending, results)
        if later:
            again = self.issue_group([requests[i] for i in later])
            for index, result in zip(later, again, strict=True):
                results[index] = result
        return results  # type: ignore[return-value]

    def _commit_group(
        self,
        txn: CursorSession,
        pending: list[_PendingIssue],
        results: list[WriteOutcome | IssuerError | None],
    ) -> None:
        """`issue_group`'s writes: under the writer lock, replay what a twin committed
        meanwhile, insert the rest and commit once; answers go to ``results``."""
        hot = self._hot
        cursor = txn.cursor
        for _attempt in range(3):
            with self.c.write_lock:
                try:
                    keyed = [p.ids for p in pending if p.ids is not None]
                    won = self._hot.stored_answers(cursor, keyed) if keyed else {}
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
                                **stored_columns(item.outcome),
                                "created_at": item.row["created_at"],
                            }
                            for item in pending
                            if item.ids is not None
                        ]
                        if stored:
                            hot.insert_idem.run_many(cursor, stored)
                    txn.commit()
                except hot.integrity_error:
                    txn.rollback()  # a twin in another process won a key: replay it
                    if all(item.ids is None for item in pending):
                        raise
                    continue
                except BaseException:
                    txn.rollback()
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

    def prepare(
        self,
        db: CursorReads | ConnectionReads,
        principal: auth.Principal,
        request: dict[str, Any],
    ) -> tuple[WriteOutcome, dict[str, Any]]:
        """Check, validate and sign one credential: (the answer, its row to insert)."""
        institution_id = require(principal, "issue")
        inst = institution_info(self.c.caches, db, institution_id)
        kind = request.get("type")
        if not isinstance(kind, str):
            raise InvalidRequest(
                f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type"
            )
        if kind not in _cred.KINDS:
            raise InvalidRequest(
                f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type"
            )
        refuse_unaccredited(inst.slug, inst.types, kind, request)
        self.ledger_states.refuse_if_inactive(db, inst.slug, inst.chain_issuer_id)
        _key_id, signer = self.signer_for(institution_id)
        (index,) = self.status_indexes.allocate(institution_id, 1)
        signed, raw, digest = issue_or_refuse(
            kind,
            request,
            identity=self.identity_for(inst),
            signer=signer,
            status_index=index,
            now=utcnow(),
        )
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
            accepted(self.pending_body(cred_id, signed, digest), f"/credentials/{cred_id}/anchor"),
            row,
        )

    def check_may_issue(self, principal: auth.Principal) -> None:
        """Raises unless ``principal`` may issue now: scope ``issue`` and an institution the
        ledger does not show suspended or removed (``POST /bulk-jobs`` before its upload)."""
        institution_id = require(principal, "issue")
        with self.c.engine.connect() as conn:
            db = ConnectionReads(conn)
            inst = institution_info(self.c.caches, db, institution_id)
            self.ledger_states.refuse_if_inactive(db, inst.slug, inst.chain_issuer_id)

    def pending_body(self, cred_id: str, signed: dict[str, Any], digest: bytes) -> dict[str, Any]:
        health = self.c.chain.health  # as the worker last saw it; never a network call here
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
