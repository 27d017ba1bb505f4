"""Issued credentials as their institution reads them: the holder's document (with its anchor
proof once anchored), where each is in its life, its QR code, a page of them. (Issuance itself:
`issuer.service.IssuerService.issue_group`.)"""

import collections
import datetime as dt
import threading
import time
from typing import Any

import orjson
from sqlalchemy.orm import Session

from talentproof.credential import frames
from talentproof.credential.merkle import HASH_SIZE, MerkleTree

from .. import _cred, auth
from ..caches import TtlCache
from ..chain import CredentialChainStatus
from ..db import AnchorBatch, CredentialRow, InstitutionRow
from ..errors import Conflict, LedgerUnavailable, NotFound
from ..store import credentials as store
from .collaborators import Collaborators
from .common import iso_z, require
from .ledger_states import LedgerStates
from .status_changes import StatusChanges

#: Batches whose Merkle tree `AuditPaths` keeps (~1.2 MB each at 8,192 leaves): a job's
#: results are read batch after batch, single reads mostly hit the newest batches.
TREES_CACHED = 8
#: A credential's status on the registry (`Credentials.ledger_status`) is read at most this
#: often (seconds) per credential and process.
LEDGER_STATUS_TTL_S = 2.0


def _unix_z(unix: int) -> str | None:
    """A block time (0: never) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if unix else None


class AuditPaths:
    """Credentials' audit paths: stored in the row (``proof_path``: the anchoring worker's
    batches and every row before migration 0007) or derived from the batch's ``leaves`` (bulk
    batches), the tree of the last `TREES_CACHED` batches kept. Thread safe.

    A derived path is the one the row would have stored: the same RFC 9162 tree
    (`credential.merkle.MerkleTree`) over the same hashes in the same order. Leaves that do not
    give the batch's root (or its leaf count) are refused with an error naming the batch,
    never turned into a proof."""

    def __init__(self, size: int = TREES_CACHED) -> None:
        self._size = size
        self._lock = threading.Lock()
        # keyed by (batch id, root): an id may be used again after a forming batch is deleted
        self._trees: collections.OrderedDict[tuple[int, bytes], MerkleTree] = (
            collections.OrderedDict()
        )

    def path(self, session: Session, cred: CredentialRow, batch: AnchorBatch) -> list[bytes] | None:
        """The credential's audit path in ``batch`` (bottom-up), None if it has none stored."""
        stored = cred.proof_path
        if stored is not None:
            return [stored[i : i + HASH_SIZE] for i in range(0, len(stored), HASH_SIZE)]
        if cred.leaf_index is None:
            return None
        tree = self.tree(session, batch)
        return None if tree is None else list(tree.proof(cred.leaf_index).path)

    def tree(self, session: Session, batch: AnchorBatch) -> MerkleTree | None:
        """The batch's tree from its leaves (None if it keeps none), checked against its root."""
        key = (int(batch.id), bytes(batch.root))
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                self._trees.move_to_end(key)
                return tree
        leaves = store.batch_leaves(session, batch.id)
        if leaves is None:
            return None
        if len(leaves) != batch.leaf_count * HASH_SIZE:
            raise RuntimeError(
                f"anchor batch {batch.id}: expected {batch.leaf_count} leaves of {HASH_SIZE} "
                f"bytes, found {len(leaves)} bytes"
            )
        tree = MerkleTree([leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)])
        if tree.root != batch.root:
            raise RuntimeError(
                f"anchor batch {batch.id}: its leaves give root {tree.root.hex()}, expected "
                f"{bytes(batch.root).hex()}; no proof is served from them"
            )
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > self._size:
                self._trees.popitem(last=False)
        return tree


#: Document frames `DocumentFrames` keeps (one a bulk chunk of 8,192 credentials, ~1 KB each).
FRAMES_CACHED = 256


class DocumentFrames:
    """Stored credentials' whole documents: ``document`` itself, or, for a row cut along a
    frame (``frame_id``, migration 0011), its holes joined with the frame's parts
    (`credential.frames.join`: the bytes the runner stored, byte for byte). Frames are never
    changed, so the last `FRAMES_CACHED` read are kept. Thread safe."""

    def __init__(self, size: int = FRAMES_CACHED) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._parts: collections.OrderedDict[int, tuple[bytes, ...]] = collections.OrderedDict()

    def document_bytes(self, session: Session, cred: CredentialRow) -> bytes:
        """The credential's signed document as issued (JCS bytes, without its anchor proof).
        A row naming a frame that is not stored is an error, never a document."""
        if cred.frame_id is None:
            return bytes(cred.document)
        frame_id = int(cred.frame_id)
        with self._lock:
            parts = self._parts.get(frame_id)
            if parts is not None:
                self._parts.move_to_end(frame_id)
        if parts is None:
            packed = store.frame_parts(session, frame_id)
            if packed is None:
                raise RuntimeError(
                    f"credential {cred.id}: its document frame {frame_id} is missing"
                )
            parts = frames.unpack(packed)
            with self._lock:
                self._parts[frame_id] = parts
                while len(self._parts) > self._size:
                    self._parts.popitem(last=False)
        return frames.join(parts, cred.document)


class Credentials:
    """The credential-reading use cases."""

    def __init__(
        self, c: Collaborators, ledger_states: LedgerStates, status_changes: StatusChanges
    ) -> None:
        self.c = c
        self.ledger_states = ledger_states
        self.status_changes = status_changes
        self.paths = AuditPaths()
        self.documents = DocumentFrames()
        #: (chain issuer id, credential hash, anchored root, the service's own (revoked,
        #: suspended)) -> the registry's status
        self._ledger_statuses: TtlCache[
            tuple[int, bytes, bytes | None, tuple[bool, bool]], CredentialChainStatus
        ] = TtlCache(LEDGER_STATUS_TTL_S, max_entries=10_000)
        self._ledger_failed_at = -float("inf")
        #: chain issuer id -> `ChainGateway.status_named` (hashes, roots) for `page`
        self._named: TtlCache[int, tuple[set[bytes], set[bytes]]] = TtlCache(
            LEDGER_STATUS_TTL_S, max_entries=10_000
        )

    def own(
        self, session: Session, principal: auth.Principal, cred_id: str, scope: str = "read"
    ) -> CredentialRow:
        institution_id = require(principal, scope)
        cred = store.by_id(session, cred_id)
        if cred is None or cred.institution_id != institution_id:
            raise NotFound(f"no credential {cred_id!r}")
        return cred

    def holder_document(
        self, session: Session, cred: CredentialRow
    ) -> tuple[dict[str, Any], AnchorBatch | None]:
        """The credential as the holder gets it: with its anchor proof once anchored."""
        doc = orjson.loads(self.documents.document_bytes(session, cred))
        batch = session.get(AnchorBatch, cred.batch_id) if cred.batch_id is not None else None
        if batch is None or batch.state != "anchored":
            return doc, batch
        path = self.paths.path(session, cred, batch)
        if path is None:
            return doc, batch
        deployment = self.c.chain.deployment()
        return _cred.anchored_document(
            doc,
            chain_id=deployment.chain_id,
            registry=deployment.registry,
            root=batch.root,
            leaf_index=cred.leaf_index or 0,
            tree_size=batch.leaf_count,
            path=path,
        ), batch

    def get(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """The credential JSON (anchored form when anchored)."""
        with self.c.sessions() as session:
            cred = self.own(session, principal, cred_id)
            doc, _batch = self.holder_document(session, cred)
            return doc

    def anchor_status(self, principal: auth.Principal, cred_id: str) -> dict[str, Any]:
        """Where the credential is in its life: pending, batched, sent, anchored; revoked...

        ``revoked`` and ``suspended`` are the registry's (`ledger_status`: whoever acted, the
        institution's account, this service or governance, on the credential or its whole
        batch); the service's own record only while the ledger cannot be read, and
        ``ledgerStatus.source`` says which."""
        chain_issuer_id: int | None = None
        with self.c.sessions() as session:
            cred = self.own(session, principal, cred_id)
            batch = session.get(AnchorBatch, cred.batch_id) if cred.batch_id is not None else None
            state = "pending_anchor" if batch is None or batch.state != "anchored" else "anchored"
            inst = session.get(InstitutionRow, cred.institution_id)
            chain_issuer_id = inst.chain_issuer_id if inst else None
            credential_hash = bytes(cred.credential_hash)
            anchored_root = bytes(batch.root) if batch is not None and state == "anchored" else None
            body: dict[str, Any] = {
                "id": cred.id,
                "status": state,
                "credentialHash": "0x" + cred.credential_hash.hex(),
                "revoked": cred.revoked_at is not None,
                "suspended": cred.suspended,
                "revocationReason": cred.revocation_reason,
                "suspensionReason": cred.suspension_reason,
                "batch": None,
                "chain": {"available": self.c.chain.health.available},
                "waiting": None,
                "ledgerStatus": None,
                "statusChanges": self.status_changes.for_credential(session, cred),
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
        # Read after the session is given back: the ledger state takes a pooled connection (and
        # may read the chain), and one request holding two of them let a burst of status polls
        # exhaust the pool and wait on each other until its timeout.
        if chain_issuer_id is not None and state == "pending_anchor":
            ledger = self.ledger_states.current(chain_issuer_id)
            body["waiting"] = ledger.waiting_reason() if ledger else None
        ledger_status = self.ledger_status(
            chain_issuer_id,
            credential_hash,
            anchored_root,
            mirror=(body["revoked"], body["suspended"]),
        )
        if ledger_status is None:
            body["ledgerStatus"] = {"source": "local mirror (ledger unavailable)"}
        else:
            body["revoked"], body["suspended"] = ledger_status.revoked, ledger_status.suspended
            body["ledgerStatus"] = {
                "source": "chain",
                "revokedAt": _unix_z(ledger_status.revoked_at),
                "revokedBy": ledger_status.revoked_by,
                "batchRevokedAt": _unix_z(ledger_status.batch_revoked_at),
                "suspendedAt": _unix_z(ledger_status.suspended_at)
                if ledger_status.suspended
                else None,
                "suspendedBy": ledger_status.suspended_by if ledger_status.suspended else None,
            }
        return body

    def ledger_status(
        self,
        chain_issuer_id: int | None,
        credential_hash: bytes,
        root: bytes | None,
        *,
        mirror: tuple[bool, bool] = (False, False),
    ) -> CredentialChainStatus | None:
        """The registry's status of a credential (and of its anchored batch ``root``), read at
        most every `LEDGER_STATUS_TTL_S` seconds; a change in the service's own record
        ``mirror`` (revoked, suspended: its change applied) reads again at once. None when the
        ledger cannot be read (then not tried again for `LEDGER_STATUS_TTL_S` seconds, so polls
        do not each wait for the RPC timeout)."""
        if chain_issuer_id is None:
            return None
        key = (chain_issuer_id, credential_hash, root, mirror)
        cached = self._ledger_statuses.get(key)
        if cached is not None:
            return cached
        if time.monotonic() - self._ledger_failed_at < LEDGER_STATUS_TTL_S:
            return None
        try:
            status = self.c.chain.credential_record(chain_issuer_id, credential_hash, root)
        except LedgerUnavailable:
            self._ledger_failed_at = time.monotonic()
            return None
        self._ledger_statuses.put(key, status)
        return status

    def qr(self, principal: auth.Principal, cred_id: str, fmt: str) -> bytes | str:
        """The QR code (``png`` bytes or ``svg`` text) of an anchored credential."""
        with self.c.sessions() as session:
            cred = self.own(session, principal, cred_id)
            doc, batch = self.holder_document(session, cred)
            if batch is None or batch.state != "anchored":
                raise Conflict(
                    f"credential {cred_id!r} is not anchored yet; poll /credentials/{cred_id}/anchor"
                )
            return _cred.qr_png(doc) if fmt == "png" else _cred.qr_svg(doc)

    def page(
        self, principal: auth.Principal, *, limit: int = 100, after: int = 0
    ) -> dict[str, Any]:
        """A page of the institution's credentials (ids and states): ``revoked`` and
        ``suspended`` as the registry holds them (`page_ledger_status`), the service's own
        record while the ledger cannot be read (``ledgerStatus`` says which)."""
        institution_id = require(principal, "read")
        with self.c.sessions() as session:
            rows = store.page(session, institution_id, after=after, limit=min(max(limit, 1), 1000))
            inst = session.get(InstitutionRow, institution_id)
            chain_issuer_id = inst.chain_issuer_id if inst else None
        items = [
            {
                "id": r.id,
                "type": r.kind,
                "batched": r.batch_id is not None,
                "revoked": r.revoked_at is not None,
                "suspended": r.suspended,
            }
            for r in rows
        ]
        source = "local mirror (ledger unavailable)"
        if chain_issuer_id is not None and rows:
            chain = self.page_ledger_status(
                chain_issuer_id,
                [
                    (
                        bytes(r.credential_hash),
                        None if r.anchored_root is None else bytes(r.anchored_root),
                        r.revoked_at is not None or bool(r.suspended),
                    )
                    for r in rows
                ],
            )
            if chain is not None:
                source = "chain"
                for item, (revoked, suspended) in zip(items, chain, strict=True):
                    item["revoked"], item["suspended"] = revoked, suspended
        elif rows:
            source = "local mirror (no on-chain issuer id)"
        else:
            source = "chain"
        return {
            "items": items,
            "next_after": rows[-1].seq if rows else None,
            "ledgerStatus": source,
        }

    def page_ledger_status(
        self, chain_issuer_id: int, credentials: list[tuple[bytes, bytes | None, bool]]
    ) -> list[tuple[bool, bool]] | None:
        """(revoked, suspended) on the registry of each (credential hash, anchored root or
        None, whether the service's own record shows a change): the credentials and batches the
        registry's status events name in the issuer's namespace (`ChainGateway.status_named`,
        the status lists' read, cached `LEDGER_STATUS_TTL_S`) and the current status of those
        named or changed by the service (read now: its own change shows at once). A credential
        no event names was never revoked or suspended on chain. None when the ledger cannot be
        read."""
        now = time.monotonic()
        cached = self._named.get(chain_issuer_id)
        try:
            if cached is None:
                if now - self._ledger_failed_at < LEDGER_STATUS_TTL_S:
                    return None
                cached = self.c.chain.status_named(chain_issuer_id)
                self._named.put(chain_issuer_id, cached)
            named, revoked_roots = cached
            asked = sorted({h for h, _root, changed in credentials if changed or h in named})
            statuses = dict(
                zip(asked, self.c.chain.credential_statuses(chain_issuer_id, asked), strict=True)
            )
        except LedgerUnavailable:
            self._ledger_failed_at = time.monotonic()
            return None
        out = []
        for digest, root, _changed in credentials:
            revoked, suspended = statuses.get(digest, (False, False))
            out.append((revoked or (root is not None and root in revoked_roots), suspended))
        return out
