"""The issuer's view of the ledger: a thin adapter over `talentproof.ledger`.

It reads the deployment record, sends transactions with the ledger's `TxSender` (send, wait and
replace as separate steps, so the anchoring worker can persist between them), reads anchor
records and credential statuses, and performs the governance steps of onboarding. Every
"cannot reach the chain" condition surfaces as the issuer's `LedgerUnavailable`.

Every chain read and write goes through the ledger's `talentproof.ledger.link.RegistryLink`: one
failover JSON-RPC transport (`ledger.endpoints.RpcEndpoints`), the registry's calls, answers and
events encoded and decoded by `ledger.abi.ContractABI`, blocks read as `ledger.models.BlockHead`,
the registry's records by the link's typed reads (``issuer``, ``anchor``, ``signing_key``,
``credential_type``, ``credential_status``: `ledger.models` records, decoded there and nowhere
here); this module names no JSON-RPC method and imports no web3 (tests/test_guardrails.py).

The ledger (web3, eth-account, eth-abi) and requests are imported where they are used
(``noqa: PLC0415``): every issuer process imports this module, and they cost about 0.5 s at
start-up in a process that never calls the ledger (an HTTP worker, a CLI command).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, LedgerUnavailable
from .settings import ANVIL_DEV_GOVERNOR_KEY, IssuerSettings

if TYPE_CHECKING:
    from talentproof.ledger.link import RegistryLink
    from talentproof.ledger.models import BlockHead, IssuerInfo, TimeWindow

_logger = logging.getLogger(__name__)

ACTIONS = {
    "revoke": "revokeCredentials",
    "suspend": "suspendCredentials",
    "reinstate": "reinstateCredentials",
}


@dataclass(frozen=True, slots=True)
class ChainHealth:
    """Whether the ledger answered at the last look."""

    available: bool
    detail: str
    chain_id: int | None = None
    registry: str | None = None
    checked_at: float = 0.0


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    """The chain binding credentials are anchored under."""

    chain_id: int
    registry: str


@dataclass(frozen=True, slots=True)
class AnchorInfo:
    """An anchored root as the registry records it."""

    issuer_id: int
    leaf_count: int
    block_number: int
    anchored_at: int


@dataclass(frozen=True, slots=True)
class SigningKeyRecords:
    """What the registry records of some of an issuer's signing keys, read at block time ``now``
    (Unix seconds): each key's window ``(validFrom, validUntil)`` (0 = unregistered /
    open-ended) and the keys governance revoked (``revokeSigningKey``) with the time."""

    issuer_id: int
    now: int
    windows: dict[bytes, TimeWindow]
    revoked: dict[bytes, int]
    checked_at: float  # time.monotonic() of the read
    #: The issuer's status (`ISSUER_STATUSES`) read with the keys: while it is ``suspended`` or
    #: ``removed`` no key of it may assert (`asserting`).
    issuer_status: str = "active"

    @property
    def asserting(self) -> bool:
        """Whether the issuer's valid keys may make assertions now: not while the registry shows
        the issuer suspended or removed (what it signs then counts nowhere: TalentProof's check 6
        refuses it at its anchor's time, and a did:web verifier holds no time to tell)."""
        return self.issuer_status not in ("suspended", "removed")

    def state(self, raw: bytes) -> str:
        """``unregistered``, ``revoked`` (by governance), ``ended`` (its window's scheduled
        end passed), ``not_yet_valid`` or ``valid`` at ``now`` (the registry's `isKeyValidAt`
        at the latest block)."""
        window = self.windows.get(raw)
        if window is None or not window.registered:
            return "unregistered"
        if raw in self.revoked:
            return "revoked"
        if not window.open_at(self.now):
            return "ended"
        if window.valid_from > self.now:
            return "not_yet_valid"
        return "valid"


#: ``enum IssuerStatus`` of the registry, by value.
ISSUER_STATUSES = ("none", "active", "suspended", "removed")


@dataclass(frozen=True, slots=True)
class IssuerLedgerState:
    """An issuer's status as the registry records it (``issuer(id)``), and when it was read.

    ``since`` is the block time the status began (suspension, removal or registration); None if
    unknown (the issuer was never registered).
    """

    issuer_id: int
    status: str
    since: dt.datetime | None
    checked_at: float  # time.monotonic() of the read

    @property
    def may_issue(self) -> bool:
        """False when the ledger shows the issuer suspended or removed (it cannot anchor)."""
        return self.status not in ("suspended", "removed")

    def waiting_reason(self) -> str | None:
        """Why its credentials wait for their anchor, or None if the ledger does not hold them."""
        if self.may_issue:
            return None
        since = self.since.strftime("%Y-%m-%dT%H:%M:%SZ") if self.since else "an unknown time"
        return f"waiting: the institution is {self.status} on the ledger since {since}"


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    """Translate ledger/transport failures into the issuer's `LedgerUnavailable`."""
    from talentproof.ledger import errors as lerr  # noqa: PLC0415 (start-up time)

    try:
        yield
    except (lerr.ChainUnavailable, lerr.ChainIdMismatch, lerr.DeploymentError) as exc:
        raise LedgerUnavailable(f"{what}: {exc}") from exc
    except (OSError, ConnectionError) as exc:
        raise LedgerUnavailable(f"{what}: ledger unreachable: {exc}") from exc
    except Exception as exc:
        import requests  # noqa: PLC0415 (start-up time)

        if isinstance(exc, requests.RequestException):
            raise LedgerUnavailable(f"{what}: ledger unreachable: {exc}") from exc
        raise


class ChainGateway:
    """What the issuer needs from the ledger."""

    def __init__(
        self,
        *,
        rpc_url: str,
        deployment_file: Path,
        governor_key: str | None,
        tx_timeout: float = 30.0,
        allow_dev_governor: bool = False,
        rpc_timeout: float = 5.0,
    ) -> None:
        self.rpc_url = rpc_url
        self._allow_dev_governor = allow_dev_governor
        self.deployment_file = deployment_file
        self._governor_key = governor_key
        self.tx_timeout = tx_timeout
        self.rpc_timeout = rpc_timeout
        self._probe_lock = threading.Lock()
        self._lock = threading.Lock()
        #: the ledger's link to the registry (`ledger.link.RegistryLink`), once connected
        self._link: RegistryLink | None = None
        #: the `ledger.endpoints.RpcEndpoints` of ``rpc_url`` (one or several, comma-separated),
        #: once connected
        self.endpoints: Any = None
        #: (what, issuer id) -> the events `_scan_incremental` has seen, to the block it
        #: scanned: ("status", id) for `status_named`, ("keys", id) for `signing_keys`
        self._scans: dict[tuple[str, int], _ScannedEvents] = {}
        self._scans_lock = threading.Lock()
        self._deployment: DeploymentInfo | None = None
        self._deployment_block_read: int | None = None  # `deployment_block`, once read
        self._senders: dict[bytes, Any] = {}
        self.health = ChainHealth(False, "not checked yet")
        self._issuer_states: dict[int, IssuerLedgerState] = {}
        #: the per-account send lock (`store.sendlock.AccountSendLock.hold`), set by the service:
        #: every send holds it from the nonce read to the broadcast, never across the receipt
        self.send_lock: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None

    def _sending(self, sender: Any) -> contextlib.AbstractContextManager[Any]:
        lock = self.send_lock
        return lock(sender.address) if lock is not None else contextlib.nullcontext()

    @classmethod
    def from_settings(cls, settings: IssuerSettings) -> ChainGateway:
        """The gateway configured by the service settings."""
        return cls(
            rpc_url=settings.rpc_url,
            deployment_file=settings.resolved_deployment_file(),
            governor_key=settings.secret("governor_key"),
            tx_timeout=settings.tx_timeout_s,
            allow_dev_governor=settings.is_development,
            rpc_timeout=settings.rpc_timeout_s,
        )

    # -- connection -------------------------------------------------------------------------
    def deployment(self) -> DeploymentInfo:
        """The deployment record's chain id and registry (read once)."""
        if self._deployment is None:
            try:
                record = json.loads(self.deployment_file.read_text(encoding="utf-8"))
                self._deployment = DeploymentInfo(int(record["chainId"]), str(record["registry"]))
            except FileNotFoundError as exc:
                raise LedgerUnavailable(
                    f"no deployment record at {self.deployment_file}; run `talentproof deploy`"
                ) from exc
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(
                    f"deployment record {self.deployment_file} is malformed: expected "
                    f"chainId and registry ({exc})"
                ) from exc
        return self._deployment

    def registry_link(self) -> RegistryLink:
        """The ledger's link to the deployment's registry (made once)."""
        with self._lock:
            if self._link is None:
                from talentproof.ledger.endpoints import RpcEndpoints  # noqa: PLC0415 (start-up time)
                from talentproof.ledger.link import RegistryLink  # noqa: PLC0415 (start-up time)

                abi = _registry_abi()
                dep = self.deployment()
                # One bounded request per call, failing over between the configured endpoints
                # within the timeout (web3's own retries, 5 on timeouts too, turned a frozen node
                # into a ~52 s block of every ledger call); Clique/QBFT blocks' long extraData.
                try:
                    endpoints = RpcEndpoints(self.rpc_url, self.rpc_timeout)
                except ValueError as exc:
                    raise ConfigurationError(str(exc)) from None
                link = RegistryLink(endpoints, dep.registry, abi=abi)
                self.endpoints = endpoints
                self._link = link
            return self._link

    def probe(self, *, max_age: float = 1.0) -> ChainHealth:
        """Ask the node for its chain id (cached ``max_age`` seconds) and record the answer."""
        if self.health.checked_at and time.monotonic() - self.health.checked_at < max_age:
            return self.health
        try:
            with _guard("chain id"):
                dep = self.deployment()
                actual = self.registry_link().chain_id()
            if actual != dep.chain_id:
                self.health = ChainHealth(
                    False,
                    f"chain id {actual}, deployment record says {dep.chain_id}",
                    actual,
                    dep.registry,
                    time.monotonic(),
                )
            else:
                self.health = ChainHealth(True, "ok", actual, dep.registry, time.monotonic())
        except (LedgerUnavailable, ConfigurationError) as exc:
            self.health = ChainHealth(False, str(exc), None, None, time.monotonic())
        endpoints = self.endpoints
        if endpoints is not None and len(endpoints.urls) > 1:
            # every endpoint, not only the one that answered: `/readyz` names those down
            endpoints.check(max_age=max_age or 1.0, timeout=min(self.rpc_timeout, 2.0))
        return self.health

    def endpoint_status(self) -> list[Any]:
        """Each configured JSON-RPC endpoint's `ledger.endpoints.EndpointStatus` as last seen by
        a request or a probe (no ledger call); empty before the first connection."""
        endpoints = self.endpoints
        return [] if endpoints is None else list(endpoints.status())

    @property
    def failovers(self) -> int:
        """How many times this process's ledger calls moved to another endpoint."""
        endpoints = self.endpoints
        return 0 if endpoints is None else int(endpoints.failovers)

    def probe_soon(self, *, max_age: float = 2.0, wait: float = 0.0) -> ChainHealth:
        """The last recorded health at once (never a ledger call on the caller's thread); when
        it is older than ``max_age`` a background thread probes again (one at a time, each
        bounded by the RPC timeout), so the next caller sees the newer answer; the caller waits
        for that probe at most ``wait`` seconds. `/readyz` uses it: it answers from recorded
        state whatever the ledger does."""
        health = self.health
        if health.checked_at and time.monotonic() - health.checked_at < max_age:
            return health
        if self._probe_lock.acquire(blocking=False):

            def run() -> None:
                try:
                    self.probe(max_age=0.0)
                except Exception:  # never let a probe thread raise
                    _logger.debug("background probe failed", exc_info=True)
                finally:
                    self._probe_lock.release()

            thread = threading.Thread(target=run, name="ledger-probe", daemon=True)
            try:
                thread.start()
            except BaseException:
                self._probe_lock.release()
                raise
            if wait > 0:
                thread.join(wait)
                return self.health
        return health

    def mark(self, available: bool, detail: str) -> None:
        """Record what a chain operation just found."""
        dep = self._deployment
        self.health = ChainHealth(
            available,
            detail,
            dep.chain_id if dep else None,
            dep.registry if dep else None,
            time.monotonic(),
        )

    def sender(self, private_key: bytes | str) -> Any:
        """A `TxSender` for an account (one per key, so its nonce manager is shared)."""
        key = (
            private_key
            if isinstance(private_key, bytes)
            else bytes.fromhex(private_key.removeprefix("0x"))
        )
        link = self.registry_link()
        with self._lock:
            sender = self._senders.get(key)
            if sender is None:
                sender = link.sender(
                    key,
                    expected_chain_id=self.deployment().chain_id,
                    timeout=self.tx_timeout,
                    poll_interval=0.02,
                )
                self._senders[key] = sender
            return sender

    def governor(self) -> Any:
        """The governing authority's sender (`sender` of the configured governor key), which
        registers issuers and their signing keys. Without a key: Anvil's development account 0
        when TALENTPROOF_ENV=development, else `ConfigurationError` naming the settings."""
        key = self._governor_key
        if key is None:
            if not self._allow_dev_governor:
                raise ConfigurationError(
                    "no governor key configured: expected TALENTPROOF_ISSUER_GOVERNOR_KEY (or "
                    "..._GOVERNOR_KEY_FILE, or TALENTPROOF_OPERATOR_KEY); Anvil's development "
                    "account 0 is used only with TALENTPROOF_ENV=development"
                )
            _logger.warning("no governor key configured; using Anvil's development account 0")
            key = ANVIL_DEV_GOVERNOR_KEY
        return self.sender(key)

    def _data(self, fn: str, *args: Any) -> bytes:
        return self.registry_link().calldata(fn, *args)

    def _transact(self, sender: Any, fn: str, *args: Any) -> Any:
        with _guard(fn):
            with self._sending(sender):
                pending = sender.send(
                    {"to": self.deployment().registry, "data": self._data(fn, *args)}, label=fn
                )
            return sender.wait(pending)

    # -- accounts and governance ---------------------------------------------------------------
    @staticmethod
    def new_account() -> tuple[bytes, str]:
        """A fresh chain account: (private key, checksummed address)."""
        from eth_account import Account  # noqa: PLC0415 (start-up time)

        acct = Account.create()
        return bytes(acct.key), str(acct.address)

    def onboard_issuer(
        self,
        *,
        name: str,
        did: str,
        account: str,
        signing_key: bytes,
        credential_types: list[str],
        issuer_id: int | None,
        fund_wei: int,
    ) -> int:
        """Register (or link) an issuer, its account, key and types; fund the account."""
        from talentproof.ledger.chain import type_id  # noqa: PLC0415 (start-up time)

        gov = self.governor()
        link = self.registry_link()
        if issuer_id is None:
            receipt = self._transact(gov, "registerIssuer", name, did, [account])
            events = [e for e in link.receipt_events(receipt) if e.name == "IssuerRegistered"]
            if not events:
                raise LedgerUnavailable("registerIssuer mined without an IssuerRegistered event")
            issuer_id = int(events[0].args["issuerId"])
        else:
            self._transact(gov, "addIssuerAccount", issuer_id, account)
        self._transact(gov, "addSigningKey", issuer_id, signing_key, 0, 0)
        for name_ in credential_types:
            self._transact(gov, "grantCredentialType", issuer_id, type_id(name_), 0, 0)
        if fund_wei:
            with _guard("fund account"):
                with self._sending(gov):
                    pending = gov.send({"to": account, "value": fund_wei}, label="fund")
                gov.wait(pending)
        return issuer_id

    def change_credential_types(
        self, issuer_id: int, *, grant: list[str], withdraw: list[str]
    ) -> None:
        """Grant and withdraw accredited credential types (governor)."""
        from talentproof.ledger.chain import type_id  # noqa: PLC0415 (start-up time)

        gov = self.governor()
        for name_ in grant:
            self._transact(gov, "grantCredentialType", issuer_id, type_id(name_), 0, 0)
        for name_ in withdraw:
            self._transact(gov, "withdrawCredentialType", issuer_id, type_id(name_))

    def open_credential_types(self, issuer_id: int, names: list[str]) -> list[str]:
        """Which of ``names`` the registry holds open for the issuer at the latest block
        (granted and not withdrawn): what verifiers read, whoever granted it."""
        from talentproof.ledger.chain import type_id  # noqa: PLC0415 (start-up time)

        with _guard("credentialType()"):
            link = self.registry_link()
            now = link.head().timestamp
            # by id: the link would read a name beginning with 0x as an id
            windows = [link.credential_type(issuer_id, type_id(name_)) for name_ in names]
        return [name_ for name_, window in zip(names, windows, strict=True) if window.open_at(now)]

    def add_signing_key(self, issuer_id: int, public_raw: bytes) -> None:
        """Register a new signing key for the issuer (governor)."""
        self._transact(self.governor(), "addSigningKey", issuer_id, public_raw, 0, 0)

    # -- issuer status -------------------------------------------------------------------------
    def issuer_record(self, issuer_id: int) -> IssuerInfo:
        """The registry's record of issuer ``issuer_id`` at the latest block (one call):
        `ledger.models.IssuerInfo`, its name, DID and status; ``registered_at`` 0 when no
        issuer holds the id."""
        with _guard("issuer()"):
            return self.registry_link().issuer(issuer_id)

    def issuer_state(self, issuer_id: int) -> IssuerLedgerState:
        """Read the issuer's status from the registry now (one call) and cache it."""
        rec = self.issuer_record(issuer_id)
        status = ISSUER_STATUSES[int(rec.status)]
        stamp = {
            "suspended": rec.suspended_at,
            "removed": rec.removed_at,
            "active": rec.registered_at,
        }.get(status, 0)
        state = IssuerLedgerState(
            issuer_id,
            status,
            dt.datetime.fromtimestamp(stamp, dt.UTC) if stamp else None,
            time.monotonic(),
        )
        self._issuer_states[issuer_id] = state
        return state

    def cached_issuer_state(self, issuer_id: int, *, max_age: float) -> IssuerLedgerState | None:
        """The last read of the issuer's status if at most ``max_age`` seconds old (no call)."""
        state = self._issuer_states.get(issuer_id)
        if state is None or time.monotonic() - state.checked_at > max_age:
            return None
        return state

    # -- anchoring ------------------------------------------------------------------------------
    def anchor_record(self, root: bytes, issuer_id: int | None) -> AnchorInfo | None:
        """The registry's record of ``root`` anchored by issuer ``issuer_id`` (anchors are kept
        per issuer), or None if that issuer never anchored it (or no issuer id is known)."""
        if not issuer_id:
            return None
        with _guard("anchor()"):
            rec = self.registry_link().anchor(int(issuer_id), root)
        if rec is None:
            return None
        return AnchorInfo(rec.issuer_id, rec.leaf_count, rec.block_number, rec.anchored_at)

    def send_anchor(self, account_key: bytes, root: bytes, leaf_count: int) -> Any:
        """Sign and broadcast ``anchorRoot``; returns the ledger's `PendingTx` at once."""
        sender = self.sender(account_key)
        with _guard("anchorRoot"), self._sending(sender):
            return sender.send(
                {
                    "to": self.deployment().registry,
                    "data": self._data("anchorRoot", root, leaf_count),
                },
                label="anchorRoot",
            )

    def wait(self, account_key: bytes, pending: Any, timeout: float) -> Any:
        """Wait for the receipt of ``pending`` (or a replacement), any transaction (anchorRoot,
        a status change); raises on timeout/revert."""
        with _guard(f"wait for {getattr(pending, 'label', '') or 'transaction'}"):
            return self.sender(account_key).wait(pending, timeout=timeout)

    def replace(self, account_key: bytes, pending: Any) -> Any:
        """Re-send a stuck transaction with the same nonce and higher fees."""
        with _guard("replace anchorRoot"):
            return self.sender(account_key).replace(pending)

    def rebroadcast(self, account_key: bytes, pending: Any) -> None:
        """Send the same signed bytes again (the node may have lost its pool)."""
        with _guard("rebroadcast"):
            self.sender(account_key).rebroadcast(pending)

    def nonce_state(self, account_key: bytes, pending: Any) -> tuple[str, int | None]:
        """Whether a sent transaction can still be mined: ``mined``, ``taken`` (its nonce was
        used by another), ``gap`` (the chain went back below its nonce) or ``open``
        (`ledger.tx.TxSender.nonce_state`; on ``taken``/``gap`` the nonce is resynced), and
        the account's next nonce on the chain after a resync (None otherwise)."""
        sender = self.sender(account_key)
        with _guard("nonce check"):
            verdict = str(sender.nonce_state(pending))
            return verdict, (sender.nonces.peek() if verdict in ("taken", "gap") else None)

    def tx_block(self, tx_hash: str) -> int | None:
        """The block a transaction is mined in on the canonical chain, None if it is not."""
        with _guard("transaction receipt"):
            return self.registry_link().receipt_block(tx_hash)

    def head(self) -> tuple[int, str]:
        """The chain head: (block number, block hash as 0x-hex)."""
        with _guard("latest block"):
            block = self.registry_link().head()
        return block.number, block.hash

    def head_block(self) -> BlockHead:
        """The chain head: its number, hash and block time (seconds since the epoch)."""
        with _guard("latest block"):
            return self.registry_link().head()

    def block_hash(self, block_number: int) -> str | None:
        """The hash (0x-hex) of the canonical block at ``block_number``, None past the head."""
        with _guard("block"):
            block = self.registry_link().block(block_number)
        return None if block is None else block.hash

    # -- revocation -------------------------------------------------------------------------------
    def send_credential_status(self, account_key: bytes, action: str, hashes: list[bytes]) -> Any:
        """Sign and broadcast a revoke / suspend / reinstate of ``hashes``; returns the ledger's
        `PendingTx` at once (the status-change worker records it, then waits)."""
        fn = ACTIONS[action]
        sender = self.sender(account_key)
        with _guard(fn), self._sending(sender):
            return sender.send(
                {"to": self.deployment().registry, "data": self._data(fn, hashes)}, label=fn
            )

    def status_named(self, issuer_id: int) -> tuple[set[bytes], set[bytes]]:
        """(credential hashes, batch roots) that the registry's status events name in the
        issuer's namespace, whoever acted (this service, another tool of the institution's
        account, governance): the credentials whose status its status lists must read beside
        those this service changed, and the batches revoked whole.

        Incremental (`_scan_incremental`); the same answer as `status_named_full`
        (tests/issuer/test_status_named_incremental.py)."""
        _head, events = self._scan_incremental(
            ("status", issuer_id), lambda a, b: self._status_events(issuer_id, a, b)
        )
        return _named_answer(events)

    def _scan_incremental(
        self, key: tuple[str, int], scan: Callable[[int, int], list[tuple[Any, ...]]]
    ) -> tuple[BlockHead, list[tuple[Any, ...]]]:
        """(the latest block, every event ``scan(from_block, to_block)`` finds from the
        deployment block to it: tuples whose first item is the event's block number).

        The events are kept per ``key`` with the last block scanned and its hash; a call asks
        for the latest block, checks that the block scanned last is still the chain's (its hash
        commits to every block below it: else, a reorganisation or rollback, everything is
        scanned again) and scans only from `STATUS_RESCAN_BLOCKS` below it (a node behind the
        one that answered the latest block, with several endpoints) to the latest, replacing
        what it held for those blocks; no new block, no scan."""
        with _guard("latest block"):
            link = self.registry_link()
            head = link.head()
        number, block_hash = head.number, head.hash
        with self._scans_lock:
            seen = self._scans.get(key)
        if seen is not None and (seen.to_block, seen.to_hash) == (number, block_hash):
            return head, seen.events  # no new block: the head is the block scanned last
        start = self.deployment_block()
        if seen is not None and seen.to_block <= number:
            with _guard("block"):
                block = link.block(seen.to_block)  # None: the chain went back below it
            kept = block is not None and block.hash == seen.to_hash
            if kept and seen.to_block == number:
                return head, seen.events
            if kept:
                start = max(start, seen.to_block - STATUS_RESCAN_BLOCKS + 1)
            else:
                seen = None
        else:
            seen = None
        found = scan(start, number)
        events = [e for e in seen.events if e[0] < start] if seen is not None else []
        updated = _ScannedEvents(number, block_hash, events + found)
        with self._scans_lock:
            self._scans[key] = updated
        return head, updated.events

    def status_named_full(self, issuer_id: int) -> tuple[set[bytes], set[bytes]]:
        """`status_named`'s reference: every status event since the deployment block (two log
        queries, filtered by the issuer's id), nothing kept."""
        return _named_answer(self._status_events(issuer_id, None, None))

    def _status_events(
        self, issuer_id: int, from_block: int | None, to_block: int | None
    ) -> list[tuple[int, bool, bytes]]:
        """(block, is a batch root, hash or root) of each name the registry's status events in
        the issuer's namespace hold between the blocks (None: the deployment block, latest)."""
        out: list[tuple[int, bool, bytes]] = []
        # issuerId is the first indexed argument of the credentials' events, the second of the
        # batches' (after the root): one query each
        for names, is_root in ((_CREDENTIAL_STATUS_EVENTS, False), (_BATCH_STATUS_EVENTS, True)):
            for event in self._issuer_logs_between(names, issuer_id, from_block, to_block):
                block, args = event.block_number, event.args
                if "credentialHashes" in args:
                    out.extend((block, is_root, bytes(h)) for h in args["credentialHashes"])
                elif "credentialHash" in args:
                    out.append((block, is_root, bytes(args["credentialHash"])))
                else:
                    out.append((block, is_root, bytes(args["root"])))
        return out

    def _issuer_logs_between(
        self,
        names: tuple[str, ...],
        issuer_id: int,
        from_block: int | None,
        to_block: int | None,
    ) -> list[Any]:
        """The registry's events ``names`` whose ``issuerId`` is ``issuer_id``, oldest first,
        decoded by the ledger (`ledger.link.RegistryLink.events`: a `ledger.models.DecodedEvent`
        each): one log query between the two blocks (None: the deployment block, latest)."""
        with _guard("registry logs"):
            events: list[Any] = self.registry_link().events(
                names,
                self.deployment_block() if from_block is None else from_block,
                "latest" if to_block is None else to_block,
                issuerId=issuer_id,
            )
            return events

    def signing_keys(self, issuer_id: int, public_keys: list[bytes]) -> SigningKeyRecords:
        """What the registry records of the issuer's signing keys ``public_keys`` (raw 32
        bytes): each key's validity window (``signingKey``), those governance revoked
        (``SigningKeyRevoked`` events, read incrementally as `status_named` reads its events:
        `_scan_incremental`, one log query from a few blocks below the last block scanned
        when a block came), the latest block's time, the "now" a window is judged at, and the
        issuer's status (``issuer``: suspended or removed, no key asserts). Keys the registry
        never registered for the issuer get the window (0, 0)."""

        def scan(from_block: int, to_block: int) -> list[tuple[Any, ...]]:
            return [
                (e.block_number, bytes(e.args["publicKey"]), int(e.args["revokedAt"]))
                for e in self._issuer_logs_between(
                    ("SigningKeyRevoked",), issuer_id, from_block, to_block
                )
            ]

        head, events = self._scan_incremental(("keys", issuer_id), scan)
        revoked = {raw: at for _block, raw, at in events}
        now = head.timestamp
        with _guard("signingKey()"):
            link = self.registry_link()
            windows = {bytes(raw): link.signing_key(issuer_id, raw) for raw in public_keys}
        with _guard("issuer()"):
            status = ISSUER_STATUSES[int(link.issuer(issuer_id).status)]
        return SigningKeyRecords(issuer_id, now, windows, revoked, time.monotonic(), status)

    def deployment_block(self) -> int:
        """The deployment record's ``deploymentBlock`` (0 when it has none): read once, as
        `deployment` reads the chain id and registry (every status list and did.json asks)."""
        if self._deployment_block_read is None:
            try:
                record = json.loads(self.deployment_file.read_text(encoding="utf-8"))
                block = int(record.get("deploymentBlock") or 0)
            except (OSError, ValueError, TypeError):
                return 0
            self._deployment_block_read = block
        return self._deployment_block_read

    def credential_statuses(self, issuer_id: int, hashes: list[bytes]) -> list[tuple[bool, bool]]:
        """(revoked, suspended) now, for each credential hash in the issuer's namespace."""
        out: list[tuple[bool, bool]] = []
        if not hashes:
            return out  # no call, not even the link's
        with _guard("credentialStatus"):
            link = self.registry_link()
            for digest in hashes:
                rec = link.credential_status(issuer_id, digest)
                out.append((rec.revoked_at != 0, bool(rec.suspended)))
        return out

    def credential_record(
        self, issuer_id: int, credential_hash: bytes, root: bytes | None
    ) -> CredentialChainStatus:
        """The registry's status of one credential of the issuer now: its own record
        (``credentialStatus``: revoked, suspended, by whom) and, when ``root`` is given, its
        batch's revocation (``anchor``: ``revokedAt``). Two calls."""
        with _guard("credentialStatus"):
            link = self.registry_link()
            rec = link.credential_status(issuer_id, credential_hash)
            batch_revoked_at = 0
            if root is not None:
                # None: never anchored by the issuer, so never revoked (revokeBatch reverts
                # AnchorNotAnchored)
                batch = link.anchor(issuer_id, root)
                batch_revoked_at = 0 if batch is None else batch.revoked_at
        return CredentialChainStatus(
            revoked_at=int(rec.revoked_at),
            revoked_by=_actor(rec.revoked_by),
            suspended=bool(rec.suspended),
            suspended_at=int(rec.suspended_at),
            suspended_by=_actor(rec.suspended_by),
            batch_revoked_at=int(batch_revoked_at),
        )


def _actor(actor: Any) -> str | None:
    """A `ledger.models.StatusActor` as the issuer names it: None, "issuer" or "governance"."""
    return None if int(actor) == 0 else actor.name.lower()


@dataclass(frozen=True, slots=True)
class CredentialChainStatus:
    """One credential's status as the registry records it (times: block time, 0 = never)."""

    revoked_at: int
    revoked_by: str | None  # "issuer" (its account) or "governance"
    suspended: bool
    suspended_at: int
    suspended_by: str | None
    batch_revoked_at: int  # its anchored batch revoked whole (by the issuer or governance)

    @property
    def revoked(self) -> bool:
        """Revoked on its own or with its batch."""
        return self.revoked_at != 0 or self.batch_revoked_at != 0


#: The registry's events that name credentials of an issuer (by ``issuerId``, its first indexed
#: argument) whose revocation or suspension a status list reads (a reinstated credential was
#: suspended first, so a suspension names it)...
_CREDENTIAL_STATUS_EVENTS = (
    "CredentialRevoked",
    "CredentialsRevoked",
    "CredentialSuspended",
    "CredentialsSuspended",
    "CredentialRevokedByGovernance",
    "CredentialSuspendedByGovernance",
)
#: ... and the events of its batches revoked whole (``issuerId`` their second indexed argument).
_BATCH_STATUS_EVENTS = ("BatchRevoked", "BatchRevokedByGovernance")
#: `ChainGateway._scan_incremental` scans again this many blocks below the last one it scanned: the
#: events a node behind the one that answered the latest block did not have yet (several
#: endpoints). A reorganisation deeper than that changes the last block's hash: all is scanned.
STATUS_RESCAN_BLOCKS = 64


@dataclass(slots=True)
class _ScannedEvents:
    """What `ChainGateway._scan_incremental` has seen of one kind of an issuer's events (tuples,
    the block number first), scanned up to ``to_block`` whose hash was ``to_hash``."""

    to_block: int
    to_hash: str  # 0x-hex
    events: list[tuple[Any, ...]]


def _named_answer(events: list[tuple[Any, ...]]) -> tuple[set[bytes], set[bytes]]:
    """`ChainGateway.status_named`'s answer from its (block, is a batch root, hash or root)
    events: (credential hashes, batch roots)."""
    hashes = {value for _b, is_root, value in events if not is_root}
    roots = {value for _b, is_root, value in events if is_root}
    return hashes, roots


def _registry_abi() -> list[dict[str, Any]]:
    try:
        from talentproof.ledger.artifacts import load_artifact  # noqa: PLC0415 (start-up time)

        return list(load_artifact("TalentProofRegistry").abi)
    except ImportError:
        path = (
            Path(__file__).resolve().parent.parent
            / "contracts"
            / "build"
            / "TalentProofRegistry.json"
        )
        return list(json.loads(path.read_text(encoding="utf-8"))["abi"])


class IssuerStateWatch:
    """Re-reads the ledger status of every issuer of the service every ``interval`` seconds, in a
    daemon thread, and hands each complete set of reads to ``publish`` (the service records them
    in its database, where every process's issuance refuses a suspended institution with no
    ledger call on the request path). One process of a deployment runs it.

    While the ledger is unreachable nothing is published: the recorded reads age out and nothing
    is refused.
    """

    def __init__(
        self,
        gateway: ChainGateway,
        issuer_ids: Any,
        *,
        interval: float = 2.0,
        publish: Any = None,
    ) -> None:
        self.gateway = gateway
        self.issuer_ids = issuer_ids  # () -> iterable of chain issuer ids to watch
        self.publish = publish  # (list[IssuerLedgerState]) -> None, after each complete read
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the thread (once); cheap when it runs."""
        if self._thread is not None or self._stop.is_set():
            return
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                thread = threading.Thread(
                    target=self._run, name="ledger-issuer-status", daemon=True
                )
                thread.start()
                self._thread = thread

    def refresh_once(self) -> None:
        """Read every watched issuer's status now and publish the reads; raises
        `LedgerUnavailable` at the first failure (nothing is published then)."""
        states = [self.gateway.issuer_state(issuer_id) for issuer_id in list(self.issuer_ids())]
        if self.publish is not None:
            self.publish(states)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_once()
            except LedgerUnavailable:
                pass  # the cached reads age out: issuance is accepted and queued
            except Exception:  # never let the watch die (e.g. the database is being closed)
                _logger.debug("issuer status refresh failed", exc_info=True)
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
