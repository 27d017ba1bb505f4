"""What an institution publishes for verifiers: its did:web document and its signed Bitstring
Status Lists (revocation, suspension)."""

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import _cred
from ..chain import SigningKeyRecords
from ..db import utcnow
from ..errors import LedgerUnavailable, NotFound
from ..statuslist import encode_bitstring, list_length
from ..store import credentials as credential_store
from ..store import institutions as institution_store
from ..store import status_changes as status_change_store
from .collaborators import Collaborators

STATUS_PURPOSES = ("revocation", "suspension")

#: did.json reads the registry's key records at most this often per institution (seconds): a
#: key governance revokes leaves the document within this long.
KEY_RECORDS_TTL_S = 2.0
#: While the ledger is unreachable did.json serves the last read of the keys up to this long
#: (seconds), then answers 503.
KEY_RECORDS_STALE_MAX_S = 300.0
#: While the ledger is unreachable a status list serves the last read of the registry up to this
#: long (seconds), then answers 503: never a list signed from the service's own mirror alone,
#: which knows nothing of governance's revocations and suspensions.
STATUS_READS_STALE_MAX_S = KEY_RECORDS_STALE_MAX_S
#: After a read of the registry for a status list failed, requests within this long (seconds,
#: from when that read ended) do not read again: they are answered at once, from the last read
#: or with a 503, instead of each waiting the RPC timeout of a node that hangs.
STATUS_RETRY_S = KEY_RECORDS_TTL_S
#: A status list's ``ttl`` (seconds; the list states it in milliseconds).
STATUS_LIST_TTL_S = 60
#: A status list is valid this long after the read of the registry it states (``validUntil``
#: its ``validFrom`` plus this): the service serves that read up to `STATUS_READS_STALE_MAX_S`,
#: and a cache may keep it a ``ttl`` more. A list captured before a revocation and replayed
#: later (a proxy, a stale cache) then expires for every verifier, not only for the wallets,
#: which apply the same bound (``wallet.inspect.STATUS_LIST_MAX_AGE_S``).
STATUS_LIST_VALID_S = int(STATUS_READS_STALE_MAX_S) + STATUS_LIST_TTL_S
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class _StatusRead:
    """The last list read from the registry for one (institution, purpose): its set bits, the
    ``validFrom`` it was signed with and when it was read (`time.monotonic`)."""

    bits: frozenset[int]
    stamp: str
    checked_at: float


class _StaleHead(LedgerUnavailable):
    """The node's chain head is older than the status lists' bound (``age`` seconds)."""

    def __init__(self, age: float, message: str) -> None:
        super().__init__(message)
        self.age = age


def _why_unread(exc: LedgerUnavailable) -> str:
    """Why the registry was not read afresh, for a ledger state (``chain (read N s ago; ...)``)."""
    return (
        f"stale head, {exc.age:.0f} s old" if isinstance(exc, _StaleHead) else "ledger unavailable"
    )


def _iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Publication:
    """The publication use cases; ``signer_for`` gives an institution's active signer."""

    def __init__(
        self, c: Collaborators, signer_for: Callable[[int], tuple[int, _cred.Signer]]
    ) -> None:
        self.c = c
        self.signer_for = signer_for
        #: chain issuer id -> the last read of its keys' records (`did_document`)
        self._key_reads: dict[int, SigningKeyRecords] = {}
        #: guards the registry reads kept here: the keys' and the status lists'
        self._reads_lock = threading.Lock()
        self._key_failed_at = -float("inf")  # monotonic time of the last failed read
        #: (institution id, purpose) -> the last status list read from the registry
        self._status_reads: dict[tuple[int, str], _StatusRead] = {}
        self._status_failed_at = -float("inf")  # monotonic end of the last failed list read

    def did_document(self, slug: str) -> dict[str, Any]:
        """The institution's did:web document as the registry vouches for its keys now.

        Listed with ``assertionMethod`` and ``authentication``: each key of the service whose
        on-chain window is open (with ``expires`` when it has a scheduled end). A key whose
        window ended on its schedule stays in ``verificationMethod`` with ``expires`` (W3C
        Controlled Identifiers 1.0) and no verification relationship, so no proof made with it
        verifies any more (a verifier holds no trusted signing time; TalentProof's verifier
        judges the key at the anchor's time on chain). While the registry shows the institution
        suspended or removed, every key is listed so, with no verification relationship: what
        it signs then counts nowhere, and a did:web verifier cannot tell it from what it signed
        before (a reinstatement lists them again). A key governance revoked
        (``revokeSigningKey``: compromise), one the registry never registered for the issuer,
        or one not valid yet is not listed at all. The registry is read at most every
        `KEY_RECORDS_TTL_S` seconds; while it is unreachable the last read serves up to
        `KEY_RECORDS_STALE_MAX_S` seconds, then `LedgerUnavailable` (503): never the service's
        own key list, which knows nothing of governance's revocations. Nor afresh from a head
        older than ``status_max_head_age_s`` (`_check_head_age`, as the status lists): a stale
        node, which would still list a key revoked since, is treated as an unreachable one."""
        return self.did_document_and_source(slug)[0]

    def did_document_and_source(self, slug: str) -> tuple[dict[str, Any], str]:
        """`did_document` and where its key states come from (``chain``, or ``chain (read N s
        ago; ledger unavailable)`` / ``...; stale head, M s old)``)."""
        with self.c.sessions() as session:
            inst = institution_store.by_slug(session, slug)
            keys = [
                (k.public_key_multibase, bytes(k.public_key_raw))
                for k in institution_store.signing_keys(session, inst.id, ordered=True)
            ]
            did, issuer_id = inst.did, inst.chain_issuer_id
        if issuer_id is None:
            raise LedgerUnavailable(
                f"institution {slug!r} has no on-chain issuer id: no key of it is vouched for"
            )
        records, source = self._key_records(issuer_id, [raw for _mb, raw in keys])
        methods: list[tuple[str, str | None, bool]] = []  # (multibase, expires, asserts)
        for multibase, raw in keys:
            state = records.state(raw)
            valid_until = records.windows[raw].valid_until
            expires = _iso(valid_until) if valid_until else None
            if state == "valid":  # asserting unless the institution is suspended or removed
                methods.append((multibase, expires, records.asserting))
            elif state == "ended":
                methods.append((multibase, expires, False))
        return _cred.did_document(did, methods), source

    def _key_records(self, issuer_id: int, raws: list[bytes]) -> tuple[SigningKeyRecords, str]:
        """The registry's records of ``raws`` (cached `KEY_RECORDS_TTL_S`; a key the cached
        read lacks, e.g. one just rotated in, reads again) and their source."""
        with self._reads_lock:
            cached = self._key_reads.get(issuer_id)
        now = time.monotonic()
        if (
            cached is not None
            and now - cached.checked_at < KEY_RECORDS_TTL_S
            and all(raw in cached.windows for raw in raws)
        ):
            return cached, "chain"
        read = False
        try:
            if now - self._key_failed_at < KEY_RECORDS_TTL_S:
                # failed a moment ago: not every request waits for the RPC timeout again
                raise LedgerUnavailable("the ledger did not answer the last read of the keys")
            read = True
            # a stuck, lagging or cut-off node still answers, from an old state: keys read
            # afresh from it would still list a key governance revoked since
            self._check_head_age()
            records = self.c.chain.signing_keys(issuer_id, raws)
        except LedgerUnavailable as exc:
            if read and not isinstance(exc, _StaleHead):  # a stale node answers at once
                # stamped when the read ended: a node that hangs took the RPC timeout, which may
                # be longer than the TTL, and the next request must not wait for it again; a
                # refusal without a read stamps nothing (else requests coming more often than
                # the TTL would never ask the ledger again)
                self._key_failed_at = max(self._key_failed_at, time.monotonic())
            if (
                cached is None
                or now - cached.checked_at > KEY_RECORDS_STALE_MAX_S
                or not all(raw in cached.windows for raw in raws)
            ):
                raise
            age = int(now - cached.checked_at)
            return cached, f"chain (read {age} s ago; {_why_unread(exc)})"
        with self._reads_lock:
            if len(self._key_reads) > 10_000:
                self._key_reads.clear()
            self._key_reads[issuer_id] = records
        return records, "chain"

    def _check_head_age(self) -> None:
        """Raise `LedgerUnavailable` while the chain head is older (its block time against this
        service's clock) than the ``status_max_head_age_s`` setting, before the registry is read
        for a status list or did.json (0: no bound; Anvil's
        automine makes no block while idle, so an old head there is no sign of a stale node)."""
        limit = self.c.settings.status_max_head_age_s
        if not limit:
            return
        head = self.c.chain.head_block()
        age = time.time() - head.timestamp
        if age > limit:
            raise _StaleHead(
                age,
                f"the node's chain head, block {head.number} {head.hash} of "
                f"{_iso(head.timestamp)}, is {age:.0f} s old, more than the max head age of "
                f"{limit:g} s for status lists and did.json "
                "(TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S): a node stuck, lagging or serving an "
                "old state would not show a revocation made since",
            )

    def status_list(
        self, slug: str, purpose: str, *, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """The institution's signed Bitstring Status List credential for ``purpose``.

        Derived from chain state: every credential that ever had a status change recorded, and
        every credential and batch the registry's status events name, is checked against the
        registry (``credentialStatusAt``). While the ledger is unreachable the last list read
        from the registry serves (with the service's own recorded changes), signed with the
        ``validFrom`` of that read and ``ledgerState`` saying how old it is, up to
        `STATUS_READS_STALE_MAX_S` seconds; then, or with no read at all (a service started
        while its ledger is down), `LedgerUnavailable` (503). Never a list from the local mirror
        alone: it holds only what this service changed, so governance's revocations and
        suspensions would be signed away as "in good standing" with a fresh date. Nor afresh
        from a head older than ``status_max_head_age_s`` (`_check_head_age`): a stale node is
        treated as an unreachable one. After a read failed, requests within `STATUS_RETRY_S`
        of its end are answered so at once (a node that hangs is not waited for by each); the
        first after it reads again, however often requests come.
        """
        if purpose not in STATUS_PURPOSES:
            raise NotFound(f"no status list {purpose!r}; expected one of {list(STATUS_PURPOSES)}")
        with self.c.sessions() as session:
            inst = institution_store.by_slug(session, slug)
            candidates = list(
                credential_store.status_list_candidates(
                    session, inst.id, status_change_store.applied_credential_ids(session, inst.id)
                )
            )
            top = credential_store.top_status_index(session, inst.id)
            source = "chain"
            set_bits: list[int] = []
            stamp = (now or utcnow()).astimezone(dt.UTC).strftime(_STAMP)
            key = (inst.id, purpose)
            asked = False
            try:
                if inst.chain_issuer_id is None:
                    raise LedgerUnavailable("no on-chain issuer id")
                if time.monotonic() - self._status_failed_at < STATUS_RETRY_S:
                    # failed a moment ago: not every request waits for the RPC timeout again
                    raise LedgerUnavailable(
                        "the ledger did not answer the last read of the status lists"
                    )
                asked = True
                # a stuck, lagging or cut-off node still answers, from an old state: a list
                # signed afresh from it would read every later revocation clear
                self._check_head_age()
                # also what the registry's events name (governance's revocations and
                # suspensions, its or the institution's batch revocations): never only what
                # this service changed itself
                named, revoked_roots = self.c.chain.status_named(inst.chain_issuer_id)
                chain_candidates = candidates + credential_store.status_rows_by_hash(
                    session, inst.id, named - {c.credential_hash for c in candidates}
                )
                statuses = self.c.chain.credential_statuses(
                    inst.chain_issuer_id, [c.credential_hash for c in chain_candidates]
                )
                for cand, (revoked, suspended) in zip(chain_candidates, statuses, strict=True):
                    if revoked if purpose == "revocation" else suspended:
                        set_bits.append(cand.status_index)
                if purpose == "revocation" and revoked_roots:
                    set_bits.extend(
                        credential_store.status_indexes_in_batches(session, inst.id, revoked_roots)
                    )
                read = _StatusRead(frozenset(set_bits), stamp, time.monotonic())
                with self._reads_lock:
                    if len(self._status_reads) > 10_000:
                        self._status_reads.clear()
                    self._status_reads[key] = read
            except LedgerUnavailable as exc:
                if asked and not isinstance(exc, _StaleHead):  # a stale node answers at once
                    # stamped when the read ended (a hung node took the RPC timeout); a refusal
                    # without a read stamps nothing, so the ledger is asked again after the
                    # bound however often requests come (did.json's rule, db0c31a)
                    self._status_failed_at = max(self._status_failed_at, time.monotonic())
                with self._reads_lock:
                    last = self._status_reads.get(key)
                age = time.monotonic() - last.checked_at if last is not None else None
                if last is None or age is None or age > STATUS_READS_STALE_MAX_S:
                    when = "never" if age is None else f"{int(age)} s ago"
                    raise LedgerUnavailable(
                        f"the {purpose} status list of {slug!r} is signed only from the "
                        f"registry, which this service last read {when} ({exc}): its own "
                        "records know nothing of governance's revocations and suspensions"
                    ) from exc
                source = f"chain (read {int(age)} s ago; {_why_unread(exc)})"
                stamp = last.stamp  # the list says when the registry was read, not now
                set_bits = list(last.bits)
                # and what this service changed itself since (a bit set, never one cleared)
                for cand in candidates:
                    if cand.revoked_at is not None if purpose == "revocation" else cand.suspended:
                        set_bits.append(cand.status_index)
            _key_id, signer = self.signer_for(inst.id)
            url = f"{self.c.settings.public_url}/institutions/{slug}/status/{purpose}"
            doc = {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": inst.did,
                "validFrom": stamp,
                "validUntil": (
                    dt.datetime.strptime(stamp, _STAMP) + dt.timedelta(seconds=STATUS_LIST_VALID_S)
                ).strftime(_STAMP),
                "credentialSubject": {
                    "id": f"{url}#list",
                    "type": "BitstringStatusList",
                    "statusPurpose": purpose,
                    "encodedList": encode_bitstring(set_bits, list_length(top)),
                    "ttl": STATUS_LIST_TTL_S * 1000,
                },
            }
            signed = _cred.sign_plain(doc, signer, now=now or utcnow())
            signed_with_source = dict(signed)
            return {"credential": signed_with_source, "ledgerState": source}
