"""The verification engine: ordered, fail-closed checks with explanations.

Checks, in order (see :data:`talentproof.verifier.report.CHECKS`):

1. parse, with size limits (duplicate JSON keys refused);
2. structure and the schema of the credential's type, and no impossible or future fact (a date
   that is not a calendar date, an award or employment after the verification date);
3. the issuer's eddsa-jcs-2022 signature;
4. Merkle inclusion of the credential hash under the anchored root;
5. the anchor on chain: the payload's chain id is the node's (and the trusted deployment's), its
   registry is the trusted one, the root is anchored, with enough confirmations;
6. the anchoring issuer was active and accredited for this type at anchor time, and is the
   credential's issuer;
7. the signing key was registered to that issuer and valid at anchor time;
8. not revoked (credential or batch) or suspended, now or as of the requested date;
9. the validity window contains the as-of date;
10. presentation binding (challenge, domain, holder = subject) when the verifier asks for it;
11. across the credentials of one application: the same applicant (holder key, name, birth date
    and identity document);
12. when the officer gives the travel document's number: every credential's identity-document
    commitment opens to it.

Where things live: each check decides in :mod:`~talentproof.verifier.checks` (pure functions
returning typed :class:`~talentproof.verifier.checks.Finding` outcomes), its English is in
:mod:`~talentproof.verifier.messages`, what a verification requires (confirmations, domain,
challenge, as-of time, block) in :mod:`~talentproof.verifier.requirements`, and the caches in
:mod:`~talentproof.verifier.memo`. This module orders the checks and reads the chain.

Two times: checks 5, 8 and 9 use the as-of time (default now: a credential anchored after it
fails check 5); the talent-list policy judges the
facts at the application date (default the as-of date). One outcome sums the report up
(``report.outcome_of``: VALID_MEETS, VALID_NOT_MET, VALID, INVALID, NOT_VERIFIABLE).

All chain facts for a credential come from one read of the registry's verification view; within
an application every read is pinned to the block of the first one, and the report names it. A
failed read is an ``error`` for checks 5 to 8, never a pass.

The engine works in three phases so that bulk verification can batch the chain reads:
:meth:`Verifier.prepare` (offline checks 1-4), one chain read per credential, and
:meth:`Verifier.finish` (checks 5-10 from the verdict).

Example::

    verifier = Verifier.from_deployment("data/deployment.json", "http://127.0.0.1:8545")
    report = verifier.verify_application([item_from_text(qr_text, "QR")])  # verifier.inputs
    print(report.verdict, [(c.number, c.status, c.message) for c in report.credentials[0].checks])
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from talentproof.credential import jsonread
from talentproof.credential import presentation as c_presentation
from talentproof.credential.merkle import InclusionMemo
from talentproof.credential.validation import lone_surrogate_at
from talentproof.ledger.chain import did_hash as _ledger_did_hash
from talentproof.ledger.chain import type_id as _ledger_type_id
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.verifier import checks, memo
from talentproof.verifier.checks import Finding, Reason
from talentproof.verifier.errors import InputError, InputTooLarge
from talentproof.verifier.messages import SURFACES, render
from talentproof.verifier.policy import Policy, PolicyInput, ProfessionResult
from talentproof.verifier.report import (
    ChainPoint,
    CheckId,
    CheckResult,
    CredentialReport,
    OutcomeResult,
    Status,
    Verdict,
    outcome_of,
    refusal_of,
    verdict_of,
)
from talentproof.verifier.requirements import (
    DEFAULT_DOMAIN,
    AsOf,
    AtBlock,
    Challenge,
    Domain,
    MinConfirmations,
    Requirement,
    Requirements,
)
from talentproof.verifier.trust import TrustedDeployment

ledger_type_id = functools.cache(_ledger_type_id)  # keccak256 of a kind name, computed once
ledger_did_hash = functools.lru_cache(maxsize=4096)(_ledger_did_hash)
#: How far (seconds) a head's block time may lie before the newest head a verifier has read at
#: the latest block (`Verifier.behind_head`): a reorganisation's competing block, or endpoints of
#: one network a block or two apart, stay within it; a node behind by more is not read.
HEAD_BEHIND_SLACK_S = 30


@dataclass(frozen=True, slots=True)
class Limits:
    """Input size limits (bytes or characters)."""

    max_document_bytes: int = 256 * 1024
    max_payload_chars: int = 8 * 1024
    max_image_bytes: int = 16 * 1024 * 1024
    max_credentials: int = 16


class ChainReader(Protocol):
    """The read access to the chain the verifier needs (``talentproof.ledger.reader``)."""

    def chain_id(self) -> int:
        """The node's chain id."""
        ...

    #: With several node URLs, their shared state (`ledger.endpoints.RpcEndpoints`: which one is
    #: current, marking one down); None with one URL.
    endpoints: Any

    def block_number(self) -> int:
        """The number of the node's latest block (the folder mode reads every batch at one)."""
        ...

    def head(self) -> Any:
        """The latest block's ``number``, ``hash`` and ``timestamp`` (`ledger.models.BlockHead`)."""
        ...

    def where(self) -> str:
        """The endpoint that answered last (for messages)."""
        ...

    def verify_credential(
        self,
        issuer_did_hash: bytes,
        root: bytes,
        credential_hash: bytes,
        signing_key: bytes,
        type_id: bytes,
        as_of: int = 0,
        block: int | str = "latest",
    ) -> Any:
        """The registry's verification view for one credential (``issuer_did_hash``: keccak256 of
        the credential's issuer DID; the view reads that issuer's anchor of ``root``). A degree's
        verdict carries ``type_scopes``, the issuer's level-scoped accreditations read with it
        (check 6 counts none it lacks: a degree is then judged by the whole type alone)."""
        ...

    def verify_credentials(
        self,
        queries: Sequence[tuple[bytes, bytes, bytes, bytes, bytes]],
        as_of: int = 0,
        block: int | str = "latest",
    ) -> list[Any]:
        """``verify_credential`` of each query (its five ``bytes32`` arguments), all at one block."""
        ...

    def chain_id_at(self, number: int) -> tuple[int, object]:
        """The chain id and the hash of block ``number``, asked in one request to one endpoint."""
        ...

    def close(self) -> None:
        """Close the calling thread's connection to the node."""
        ...


def _block_key(verdict: Any) -> bytes:
    """The hash of the block ``verdict`` was read at, as `Verifier.chain_id_of` keeps the chain
    id by it (b"" when the verdict carries none)."""
    block_hash = getattr(verdict, "block_hash", b"")
    return bytes(block_hash) if isinstance(block_hash, bytes | bytearray) else b""


# --------------------------------------------------------------------------- inputs


def parse_json(data: bytes | str, *, what: str, limit: int) -> Any:
    """Parse JSON within a size limit, refusing duplicate keys and lone surrogates (raises
    InputError)."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise InputError(f"{what}: expected JSON text of Unicode characters ({exc})") from exc
    size = len(raw)
    if size > limit:
        raise InputTooLarge(what, size, limit)
    doc = jsonread.loads_fast(raw)  # (orjson refuses a lone surrogate: never on this path)
    if doc is not jsonread.SLOW_PATH:
        return doc
    try:
        doc = jsonread.loads(data)  # (the one duplicate-key rule, the holder's too)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: expected JSON ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{what}: expected a JSON document, found one nested too deeply") from exc
    found = lone_surrogate_at(doc)
    if found is not None:
        lone = next(c for c in found[1] if "\ud800" <= c <= "\udfff")
        # "\ud800" is JSON text but no character (I-JSON, RFC 7493 and JCS refuse it): what
        # reads it downstream (the schema validator, UTF-8) would raise instead of judging it
        raise InputError(
            f"{what}: expected JSON text of Unicode characters, found a lone surrogate "
            f"\\u{ord(lone):04x} (an escape with no pair)"
        )
    return doc


@dataclass(frozen=True, slots=True)
class Item:
    """One thing offered for verification: a credential or a presentation, already parsed.

    ``error`` holds why the input could not be parsed (check 1 fails with it).
    ``not_talentproof``: the input was read but is not a TalentProof payload at all (text
    without the ``TP1:`` prefix): check 1 fails and the application is INVALID (a text that was
    read is not "unreadable"), where an input that could not be read is NOT_VERIFIABLE.
    """

    source: str
    document: Mapping[str, Any] | None
    error: str | None = None
    not_talentproof: bool = False

    @property
    def is_presentation(self) -> bool:
        """True when the document is a VerifiablePresentation."""
        doc = self.document
        if doc is None:
            return False
        types = doc.get("type")
        if isinstance(types, int | float):  # (true or a number: no type list, a credential
            return False  # then, failing check 2; ``in`` would raise TypeError)
        types = [types] if isinstance(types, str) else types or []
        return "VerifiablePresentation" in types


# --------------------------------------------------------------------------- phase results


@dataclass(slots=True)
class Prepared:
    """A credential after the offline checks, with the query for its chain read.

    ``findings``: checks 1-4 as typed outcomes; ``checks`` renders them. They are rendered when
    a report needs them, not before: a folder's compact result shows only a problem
    (:meth:`Verifier.finish_summary`).
    """

    source: str
    findings: list[Finding]
    credential: Mapping[str, Any] | None = None
    kind: str | None = None
    anchor: Any = None
    credential_hash: bytes | None = None
    signing_key: bytes | None = None
    key_id: str | None = None
    chain_skip: str | None = None  # why checks 5-8 cannot run (the sentence of a SKIP_* reason)
    binding: CheckResult | None = None

    @property
    def checks(self) -> list[CheckResult]:
        """Checks 1-4 rendered (:func:`render_offline`)."""
        return [render_offline(f) for f in self.findings]

    @property
    def reads_chain(self) -> bool:
        """Whether checks 5-8 read the chain: ``query is not None``, without building it."""
        return self.chain_skip is None

    @property
    def query(self) -> tuple[bytes, bytes, bytes, bytes, bytes] | None:
        """(issuer DID hash, root, credential hash, signing key, type id) for the verification
        view, if any."""
        if self.chain_skip is not None:
            return None
        assert self.anchor is not None and self.credential_hash is not None
        assert self.signing_key is not None and self.kind is not None
        issuer = checks.issuer_id(self.credential or {})
        assert issuer is not None  # prepare() sets chain_skip when the credential names none
        return (
            ledger_did_hash(issuer),
            bytes(self.anchor.merkle_root),
            self.credential_hash,
            self.signing_key,
            ledger_type_id(self.kind),
        )


@dataclass(frozen=True, slots=True)
class ApplicationReport:
    """The reports of one application's credentials, the cross-credential checks and the policy."""

    credentials: tuple[CredentialReport, ...]
    checks: tuple[CheckResult, ...] = ()
    chain: ChainPoint | None = None
    profession: ProfessionResult | None = None
    as_of: str | None = None
    chain_as_of: int = 0
    application_date: str | None = None
    person: Mapping[str, Any] | None = None

    @property
    def outcome(self) -> OutcomeResult:
        """The one outcome (VALID_MEETS, VALID_NOT_MET, VALID, INVALID, NOT_VERIFIABLE) and why."""
        return outcome_of(self)

    @property
    def verdict(self) -> Verdict:
        """Fail closed over every credential and every application check."""
        if not self.credentials:
            return Verdict.ERROR
        verdicts = {r.verdict for r in self.credentials}
        own = verdict_of(self.checks) if self.checks else Verdict.VALID
        if Verdict.INVALID in verdicts or own is Verdict.INVALID:
            return Verdict.INVALID
        if Verdict.ERROR in verdicts or own is Verdict.ERROR:
            return Verdict.ERROR
        return Verdict.VALID

    def to_json(self, *, include_credentials: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (with the credentials themselves when ``include_credentials``)."""
        return {
            "verdict": self.verdict.value,
            "outcome": self.outcome.to_json(),
            "person": dict(self.person) if self.person is not None else None,
            "asOf": self.as_of,
            "applicationDate": self.application_date,
            "chainAsOf": self.chain_as_of,
            "chain": self.chain.to_json() if self.chain else None,
            "credentials": [
                r.to_json(include_credential=include_credentials) for r in self.credentials
            ],
            "checks": [c.to_json() for c in self.checks],
            "profession": self.profession.to_json() if self.profession else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApplicationReport:
        """Inverse of :meth:`to_json`."""
        chain = data.get("chain")
        prof = data.get("profession")
        return cls(
            credentials=tuple(CredentialReport.from_json(r) for r in data["credentials"]),
            checks=tuple(CheckResult.from_json(c) for c in data.get("checks") or ()),
            chain=ChainPoint.from_json(chain) if chain else None,
            profession=ProfessionResult.from_json(prof) if prof else None,
            as_of=data.get("asOf"),
            chain_as_of=int(data.get("chainAsOf") or 0),
            application_date=data.get("applicationDate"),
            person=data.get("person"),
        )


# --------------------------------------------------------------------------- the verifier


def _skip_text(reason: Reason) -> str:
    return render(checks.skipped(CheckId.ANCHOR, reason)).message


def render_offline(found: Finding) -> CheckResult:
    """One of checks 1-4 rendered; a passing schema or signature check once per what its
    result holds (the type; the key id and verification method), through :func:`memo.passing`."""
    if found.status is Status.PASS:
        if found.check is CheckId.SCHEMA:
            return memo.passing(("schema", found.evidence["kind"]), found)
        if found.check is CheckId.SIGNATURE:
            ev = found.evidence
            return memo.passing(("signature", ev["keyId"], ev["verificationMethod"]), found)
    return render(found)


_FAIL, _ERROR = Status.FAIL, Status.ERROR  # (an enum member read from its class costs ~50 ns)


def _problem(found: Sequence[Any]) -> Any:
    """The first failed or errored check (a finding or a result) of ``found``, or None."""
    for c in found:
        status = c.status
        if status is _FAIL or status is _ERROR:
            return c
    return None


def record_chain_skip(p: Prepared, doc: Mapping[str, Any], skip: Reason | None) -> None:
    """After checks 1-4 of ``p`` (credential ``doc``): why checks 5-8 cannot run, if they cannot
    (``skip``: check 4's reason, else no key, no known type or no issuer), into ``p.chain_skip``."""
    if skip is None:
        if p.signing_key is None:
            skip = Reason.SKIP_NO_KEY
        elif p.kind is None:
            skip = Reason.SKIP_UNKNOWN_TYPE
        elif not checks.issuer_id(doc):
            skip = Reason.SKIP_NO_ISSUER
    if skip is not None:
        p.chain_skip = _skip_text(skip)


_BINDING_NOT_REQUESTED = render(checks.BINDING_NOT_REQUESTED)
_HOLDER_SIGNED = render(checks.HOLDER_SIGNED)
_BINDING_PASSES = _problem((_BINDING_NOT_REQUESTED,)) is None  # (it is skipped: no fail)
_BARE_CREDENTIAL = render(checks.BARE_CREDENTIAL)


def _explicit_as_of(verdict: Any, at: int) -> bool:
    """Whether ``verdict`` was read as of the report's own time ``at`` (an as-of time: check 8
    says "as of T") rather than as of the block read (none: check 8 names the block and its
    seal time). The chain echoes the block's own time for a read with no as-of, so a clock in
    the very second the block was sealed matched it too and the words depended on that second:
    a verdict whose as-of is its block's own time reads as of that block."""
    as_of = int(verdict.as_of)
    return as_of == (at if at >= 1 else 1) and as_of != int(verdict.block_timestamp)


_UNREADABLE_REST = tuple(checks.skipped(cid, Reason.SKIP_UNREADABLE) for cid in checks.AFTER_PARSE)


@dataclass
class Verifier:
    """Verifies credentials against one trusted registry deployment through a chain reader.

    Build it with :meth:`from_deployment`. ``min_confirmations`` and ``domain`` are this
    verifier's own requirements (:class:`~talentproof.verifier.requirements.MinConfirmations`,
    :class:`~talentproof.verifier.requirements.Domain`); each verification may add more
    (:class:`~talentproof.verifier.requirements.Challenge`, ``AsOf``, ``AtBlock``).
    """

    reader: ChainReader
    trust: TrustedDeployment
    min_confirmations: int = 1
    domain: str = DEFAULT_DOMAIN
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: The oldest head (seconds between its block's time and this verifier's clock) a read at the
    #: latest block accepts; 0: any. A node cut off from the signers, lagging or serving an old
    #: state misses every revocation after its head: past the bound the chain checks are NOT
    #: VERIFIABLE, naming the head, and with several endpoints the next one is read instead.
    max_head_age: float = 0.0
    _chain_id: int | None = field(default=None, init=False, repr=False)
    #: ``trust`` pinned to the chain first read when it names none (:meth:`_trusted`).
    _pinned_trust: TrustedDeployment | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: With several endpoints: the chain id of each block a verdict was read at, by its hash
    #: (:meth:`chain_id_of`), asked of an endpoint holding that very block.
    _chain_ids: dict[bytes, int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: Checks 5-8 by everything they depend on (:class:`~talentproof.verifier.memo.ChainChecksMemo`).
    _chain_memo: memo.ChainChecksMemo = field(
        default_factory=memo.ChainChecksMemo, init=False, repr=False, compare=False
    )
    #: Inner Merkle nodes hashed for earlier credentials (check 4 of a batch's credentials).
    _inclusion_memo: InclusionMemo = field(
        default_factory=InclusionMemo, init=False, repr=False, compare=False
    )
    #: The chain point made last, with what it was made from (:meth:`_chain_point`).
    _last_point: tuple[tuple[Any, ...], ChainPoint] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: The block time of the newest head read at the latest block (:meth:`_fresh`): a head
    #: sealed more than :data:`HEAD_BEHIND_SLACK_S` before it is a node behind the chain.
    _newest_head: int = field(default=0, init=False, repr=False, compare=False)
    #: The hash of the first verdict read at each pinned block number (:meth:`same_block`).
    _pinned_hashes: dict[int, bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_deployment(
        cls,
        trust: str | Path | TrustedDeployment,
        rpc: str,
        *requirements: Requirement,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
        max_head_age: float = 0.0,
    ) -> Verifier:
        """The one way to build a verifier: trusting ``trust`` (a deployment record's path, a
        registry address, or a :class:`TrustedDeployment`), reading the chain at ``rpc``, with
        this verifier's ``requirements`` (:class:`MinConfirmations`, :class:`Domain`).

        ``max_head_age``: the oldest chain head accepted, in seconds (0: any; see the field).

        Raises ``TrustConfigError`` for a bad trust argument and ``InputError`` for a bad RPC
        URL or head age (usage errors)."""
        # Lazy on purpose: the ledger reader (eth-utils, eth-abi, the artifacts: ~18 ms) is
        # imported when a verifier is built, not by every `talentproof` command at start-up.
        from talentproof.ledger.reader import RegistryReader  # noqa: PLC0415 (start-up time)

        if not isinstance(trust, TrustedDeployment):
            trust = TrustedDeployment.parse(str(trust))
        try:
            reader = RegistryReader(rpc, trust.registry)
        except ValueError as exc:
            raise InputError(f"--rpc: {exc}") from None
        own = Requirements().with_(*requirements)
        if not (isinstance(max_head_age, int | float) and 0 <= max_head_age < float("inf")):
            raise InputError(f"max head age: expected seconds >= 0, found {max_head_age!r}")
        kw: dict[str, Any] = {"max_head_age": float(max_head_age)}
        if limits is not None:
            kw["limits"] = limits
        if clock is not None:
            kw["clock"] = clock
        return cls(reader, trust, min_confirmations=own.min_confirmations, domain=own.domain, **kw)

    @property
    def requirements(self) -> Requirements:
        """This verifier's own requirements (what every verification starts from)."""
        return Requirements(min_confirmations=self.min_confirmations, domain=self.domain)

    # ----------------------------------------------------------------- phase 1: offline

    def prepare(
        self,
        source: str,
        document: Mapping[str, Any] | None,
        error: str | None = None,
        *,
        invalid_input: bool = False,
    ) -> Prepared:
        """Checks 1-4 of one credential (no network). ``invalid_input``: check 1 fails because
        the input is not a TalentProof payload (``Item.not_talentproof``), not unreadable."""
        findings: list[Finding] = []
        p = Prepared(source=source, findings=findings)
        # (1) parse
        found, doc, anchor = checks.parse(document, error, invalid_input=invalid_input)
        findings.append(found)
        if doc is None:
            findings.extend(_UNREADABLE_REST)
            p.chain_skip = "unreadable"
            return p
        p.credential = doc
        p.anchor = anchor
        p.kind = found.evidence["kind"]
        # (2) schema, then the facts themselves (calendar dates, nothing awarded in the future)
        found, kind = checks.schema(doc, self.clock().astimezone(UTC).date())
        if kind is not None:
            p.kind = kind
        findings.append(found)
        # (3) signature
        found, signed = checks.signature(doc)
        p.signing_key, p.key_id = signed.signing_key, signed.key_id
        findings.append(found)
        # (4) inclusion
        found, p.credential_hash, skip = checks.inclusion(
            doc, anchor, signed.credential_hash, self._inclusion_memo
        )
        findings.append(found)
        record_chain_skip(p, doc, skip)
        return p

    def prepare_many(
        self, inputs: Sequence[tuple[str, Mapping[str, Any] | None, str | None, bool]]
    ) -> list[Prepared]:
        """``[self.prepare(source, document, error, invalid_input=invalid) for source,
        document, error, invalid in inputs]``: the same checks and the same results, run stage
        by stage over the inputs (check 1 of every input, then check 2 of every readable
        one, ...) rather than input by input.

        Why: a folder's chunk of credentials; each loop then runs one check's code over and
        over, which the interpreter (and the processor's caches) run ~20% faster than the
        four checks' code in turn for each credential (bench/verifier_perf.py, "prepare" rows).
        Every check is a function of its own credential alone (the caches it reads are pure
        memos), so the order changes no result. :meth:`prepare` is the reference;
        tests/verifier/test_perf_paths.py compares both on generated inputs.
        """
        out: list[Prepared] = []
        live: list[tuple[Prepared, dict[str, Any], Any]] = []
        parse = checks.parse
        for source, document, error, invalid_input in inputs:
            findings: list[Finding] = []
            p = Prepared(source=source, findings=findings)
            out.append(p)
            found, doc, anchor = parse(document, error, invalid_input=invalid_input)
            findings.append(found)
            if doc is None:
                findings.extend(_UNREADABLE_REST)
                p.chain_skip = "unreadable"
                continue
            p.credential = doc
            p.anchor = anchor
            p.kind = found.evidence["kind"]
            live.append((p, doc, anchor))
        schema, clock = checks.schema, self.clock
        for p, doc, _ in live:
            found, kind = schema(doc, clock().astimezone(UTC).date())
            if kind is not None:
                p.kind = kind
            p.findings.append(found)
        signature = checks.signature
        hashes: list[bytes | None] = []
        for p, doc, _ in live:
            found, signed = signature(doc)
            p.signing_key, p.key_id = signed.signing_key, signed.key_id
            p.findings.append(found)
            hashes.append(signed.credential_hash)
        inclusion, memo_ = checks.inclusion, self._inclusion_memo
        for (p, doc, anchor), chash in zip(live, hashes, strict=True):
            found, p.credential_hash, skip = inclusion(doc, anchor, chash, memo_)
            p.findings.append(found)
            record_chain_skip(p, doc, skip)
        return out

    def prepare_items(self, items: Sequence[Item]) -> list[list[Prepared]]:
        """``[self.prepare_item(item) for item in items]`` (no challenge): a presentation
        through :meth:`prepare_item`, the single credentials (and unreadable inputs) together
        through :meth:`prepare_many`."""
        out: list[list[Prepared]] = []
        single: list[tuple[str, Mapping[str, Any] | None, str | None, bool]] = []
        slots: list[list[Prepared]] = []
        for item in items:
            if item.document is not None and item.is_presentation:
                out.append(self.prepare_item(item))
                continue
            slot: list[Prepared] = []
            out.append(slot)
            slots.append(slot)
            single.append((item.source, item.document, item.error, item.not_talentproof))
        for slot, p in zip(slots, self.prepare_many(single), strict=True):
            slot.append(p)
        return out

    # ----------------------------------------------------------------- phase 2: chain

    def node_chain_id(self) -> int:
        """The node's chain id (cached after the first successful read)."""
        if self._chain_id is None:
            self._chain_id = int(self.reader.chain_id())
        return self._chain_id

    def chain_id_of(self, verdict: Any) -> int:
        """The chain id of the node that answered ``verdict`` (check 5 compares it with the
        payload's and the trusted one's; raises LedgerError when it cannot be told).

        Never a chain id read once: with several endpoints reads fail over from one to the
        next, which may be a node of another chain holding a registry at the same address (a
        misconfigured standby, a test network deployed with the same key), so a chain id read
        on the first endpoint must not vouch for a verdict another one served (a false VALID,
        tests/security/test_attack_fastpath_chain_id.py); and one URL is a name, not a node (a
        load balancer's, a DNS name moved to a standby, a node restarted on another network),
        so the chain id it gave once must not vouch for what it answers later either
        (tests/security/test_attack_one_url_another_chain.py).
        The chain id is asked, in one request to one endpoint, with the hash of the verdict's
        block at its number: equal to the verdict's, that endpoint holds the very block the
        verdict was read at (a block hash names one chain's history), and its chain id is the
        verdict's. Kept by block hash (a folder's reads share one pinned block; the service's
        one per new block). Another hash there (the endpoint changed between the read and the
        question, or lags behind it) cannot tell: ChainUnavailable (not verifiable)."""
        key = _block_key(verdict)
        found = self._chain_ids.get(key) if key else None
        if found is not None:
            return found
        number = int(verdict.block_number)
        found, there = self.reader.chain_id_at(number)
        if not key or not isinstance(there, str) or there.lower() != checks.hex0x(key):
            raise ChainUnavailable(
                f"block {number} {checks.hex0x(key)}, which the verification view was read at, "
                f"is not block {number} of {self.reader.where()} (found {there!r:.80}): the "
                "endpoint changed between the read and the question of its chain id, and the "
                "chain the credential was read on cannot be told"
            )
        if len(self._chain_ids) >= 1024:  # the oldest block out (not all: a request of
            try:  # another thread may be finishing a read it just confirmed)
                del self._chain_ids[next(iter(self._chain_ids))]
            except (StopIteration, RuntimeError, KeyError):
                pass
        self._chain_ids[key] = found
        return found

    def same_block(self, verdict: Any) -> None:
        """Raise ``ChainUnavailable`` unless ``verdict`` was read at the very block (its hash)
        the first verdict read at its number was: reads pinned by a block's number (a folder's
        chunks) on a node that changed to another fork of the chain would judge some files by
        another block N (tests/security/test_attack_folder_read_across_a_fork.py)."""
        number = int(verdict.block_number)
        known = self._pinned_hashes.get(number)
        if known is None:
            if len(self._pinned_hashes) >= 64:
                self._pinned_hashes.clear()
            self._pinned_hashes[number] = _block_key(verdict)
        else:
            self._at_block(verdict, known, "read at that number before")

    def _at_block(self, verdict: Any, known: bytes, which: str) -> None:
        """Raise ``ChainUnavailable`` unless ``verdict`` was read at the block of hash ``known``
        (``which``: what that block is): the one refusal of a read on another fork at a pinned
        number (:meth:`same_block`, an application's later reads in :meth:`_read_and_finish`)."""
        if _block_key(verdict) != known:
            raise ChainUnavailable(
                f"block {int(verdict.block_number)} {checks.block_hash(verdict)} on "
                f"{self.reader.where()} is not the block {checks.hex0x(known)} {which}: the node "
                "answering changed to another fork of the chain between the reads"
            )

    def read(self, p: Prepared, as_of: int, block: int | str) -> Any:
        """One verification-view read for a prepared credential (raises LedgerError)."""
        q = p.query
        assert q is not None
        return self.reader.verify_credential(*q, as_of=as_of, block=block)

    def stale_head(self, number: int, block_hash: str, timestamp: int) -> str | None:
        """Why the head block ``number`` (its ``block_hash``, its time ``timestamp``) is too old
        to judge by (:attr:`max_head_age`), or None when it is not."""
        if not self.max_head_age:
            return None
        now = self.clock().timestamp()
        age = now - timestamp
        if age <= self.max_head_age:
            return None
        at = datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
        where = self.reader.where()
        return (
            f"the chain head on {where}, block {number} {block_hash} of {at}, is {age:.0f} s old, "
            f"more than the max head age of {self.max_head_age:g} s: a node cut off from the "
            "chain, lagging or serving an old state would not show a revocation made after it"
        )

    def behind_head(self, number: int, block_hash: str, timestamp: int) -> str | None:
        """Why the head block ``number`` is behind the chain this verifier has already read (its
        time more than :data:`HEAD_BEHIND_SLACK_S` before the newest head's), or None. Needs no
        setting: the chain's own clock says a node serves an older state than one seen (a
        failover to a node cut off or lagging, a node restored from an old state file), where
        :attr:`max_head_age` compares with this machine's clock and is off by default."""
        newest = self._newest_head
        if not newest or timestamp >= newest - HEAD_BEHIND_SLACK_S:
            return None
        at = datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
        seen = datetime.fromtimestamp(newest, UTC).isoformat().replace("+00:00", "Z")
        return (
            f"the chain head on {self.reader.where()}, block {number} {block_hash} of {at}, is "
            f"{newest - timestamp} s older than a head this verifier already read (sealed {seen}): "
            "a node behind the chain, lagging, cut off or serving an old state, would not show "
            "a revocation made since"
        )

    def _fresh(self, read: Callable[[], tuple[Any, int, str, int]]) -> Any:
        """``read()``'s answer, refused (``ChainUnavailable``) while the head it was read at is
        older than :attr:`max_head_age`, or behind a head this verifier already read
        (:meth:`behind_head`); ``read`` gives (answer, head's number, hash, time).
        With several endpoints a stale one is marked down and the next one read, each at most
        once."""
        endpoints = self.reader.endpoints
        tries = 1 if endpoints is None else len(endpoints.urls)
        problem: str | None = None
        for _ in range(tries):
            answer, number, block_hash, timestamp = read()
            problem = self.stale_head(number, block_hash, timestamp) or self.behind_head(
                number, block_hash, timestamp
            )
            if problem is None:
                if timestamp > self._newest_head:
                    self._newest_head = timestamp
                return answer
            if endpoints is not None:
                endpoints.mark_current_down(f"stale head: {problem}")
        raise ChainUnavailable(str(problem))

    def _read_fresh(self, p: Prepared, as_of: int) -> Any:
        """:meth:`read` at the latest block, refused as :meth:`_fresh` says."""

        def read() -> tuple[Any, int, str, int]:
            verdict = self.read(p, as_of, "latest")
            return (
                verdict,
                int(verdict.block_number),
                checks.block_hash(verdict),
                int(verdict.block_timestamp),
            )

        return self._fresh(read)

    def fresh_head(self) -> tuple[int, str]:
        """The latest block's number and hash, refused as :meth:`_fresh` says (a folder's reads
        are pinned to it). The block is pinned here (:meth:`pin_block`): every later read at
        its number must be at this very block, and the workers pin it for themselves from the
        hash (tests/security/test_attack_folder_read_across_a_fork.py)."""

        def read() -> tuple[tuple[int, str], int, str, int]:
            head = self.reader.head()
            return (head.number, head.hash), head.number, head.hash, head.timestamp

        number, block_hash = self._fresh(read)
        self.pin_block(int(number), block_hash)
        return int(number), block_hash

    def pin_block(self, number: int, block_hash: str) -> None:
        """Pin block ``number`` to ``block_hash`` (0x-hex) for :meth:`same_block`: a read at
        that number on another block (a node on another fork) is then refused."""
        self._pinned_hashes[int(number)] = bytes.fromhex(block_hash.removeprefix("0x"))

    # ----------------------------------------------------------------- phase 3: chain checks

    def finish(
        self,
        p: Prepared,
        verdict: Any,
        *,
        as_of: datetime,
        chain_error: str | None = None,
    ) -> CredentialReport:
        """Checks 5-10 from the chain verdict (or the read error), then the report."""
        checks_, chain, issuer_name = self.finish_checks(
            p, verdict, as_of=as_of, chain_error=chain_error
        )
        doc = p.credential
        return CredentialReport(
            source=p.source,
            checks=checks_,
            credential_id=doc.get("id") if doc is not None else None,
            kind=p.kind,
            subject_id=checks.subject_id(doc) if doc is not None else None,
            issuer_name=issuer_name,
            issuer_did=(getattr(verdict, "issuer_did", None) or None)
            if chain is not None
            else None,
            chain=chain,
            credential=doc,
            credential_hash=checks.hex0x(p.credential_hash) if p.credential_hash else None,
            anchor=p.anchor.to_json() if p.anchor is not None else None,
        )

    def finish_checks(
        self,
        p: Prepared,
        verdict: Any,
        *,
        as_of: datetime,
        chain_error: str | None = None,
    ) -> tuple[tuple[CheckResult, ...], ChainPoint | None, str | None]:
        """Checks 5-10 as :meth:`finish` makes them: (every check in order, the chain point, the
        issuer's name), without building the report (bulk summaries need only the checks)."""
        rest, chain, issuer_name = self._after_offline(p, verdict, as_of, chain_error)
        return (*p.checks, *rest), chain, issuer_name

    def finish_summary(
        self,
        p: Prepared,
        verdict: Any,
        *,
        as_of: datetime,
        chain_error: str | None = None,
    ) -> tuple[Verdict, CheckResult | None]:
        """``verdict_of`` the checks :meth:`finish_checks` makes and the first failed or errored
        one (rendered), without rendering the others: what a folder's compact result shows.

        Why: checks 1-4 of a valid credential would be rendered for nothing (a few microseconds
        of each file). The reference is ``finish_checks`` then ``verdict_of`` and the first
        problem (``bulk.summary``); tests/verifier/test_perf_paths.py compares both."""
        rest, _, _ = self._after_offline(p, verdict, as_of, chain_error)
        offline = p.findings
        found = _problem(offline)
        problem = render_offline(found) if found is not None else _problem(rest)
        return verdict_of((*offline, *rest)), problem

    def _after_offline(
        self, p: Prepared, verdict: Any, as_of: datetime, chain_error: str | None
    ) -> tuple[list[CheckResult], ChainPoint | None, str | None]:
        """Checks 5-10 rendered (the chain checks, validity, binding), the chain point and the
        issuer's name on chain."""
        out: list[CheckResult] = []
        chain: ChainPoint | None = None
        issuer_name: str | None = None
        if p.chain_skip is not None:
            if p.credential is not None:
                out.extend(
                    CheckResult(cid, Status.SKIPPED, p.chain_skip) for cid in checks.CHAIN_CHECKS
                )
        elif chain_error is not None:
            out.extend(render(f) for f in checks.chain_unreadable(chain_error))
        else:
            chain = self._chain_point(verdict)
            issuer_name = verdict.issuer_name or None
            # read as of the report's own time (an as-of time), or as of the block (now)
            explicit = _explicit_as_of(verdict, int(as_of.timestamp()))
            out.extend(self._chain_checks(p, verdict, chain, explicit))
        if p.credential is not None:
            out.append(memo.validity(p.credential, as_of))
        out.append(p.binding if p.binding is not None else _BINDING_NOT_REQUESTED)
        return out, chain, issuer_name

    def valid_alone(self, p: Prepared, verdict: Any, as_of: datetime, at: int) -> bool:
        """Whether :meth:`finish_summary` of ``p`` read as ``verdict`` (no read error) gives
        ``(Verdict.VALID, None)``, told with less work; False also when it cannot tell cheaply
        (then ask :meth:`finish_summary`). ``at``: ``int(as_of.timestamp())``.

        The same checks as :meth:`_after_offline` makes for such a credential (checks 5-8
        through the memo, its issuer's parts kept per issuer text by :func:`checks.issuer_parts`,
        check 9, check 10 not requested), none of them rendered beyond what the memos hold: a
        credential with every offline finding passed and none of these failed or errored is
        VALID with no problem (``verdict_of``, ``_problem``). Why: a folder's compact result
        of a valid credential (bulk.LEAN)."""
        doc = p.credential
        if p.chain_skip is not None or p.binding is not None or verdict is None or doc is None:
            return False
        passed = Status.PASS
        for f in p.findings:
            if f.status is not passed:
                return False
        if not p.findings or not _BINDING_PASSES:
            return False
        explicit = _explicit_as_of(verdict, at)
        rest = self._chain_checks(p, verdict, self._chain_point(verdict), explicit)
        if _problem(rest) is not None:
            return False
        status = memo.validity(doc, as_of).status
        return status is not _FAIL and status is not _ERROR

    def _chain_point(self, verdict: Any) -> ChainPoint:
        """The chain point a verdict was read at: the one made last when it is equal (a folder's
        verdicts of one read share their block; a ``ChainPoint`` is immutable)."""
        key = (
            self._known_chain_id(verdict),
            self.trust.registry,
            int(verdict.block_number),
            getattr(verdict, "block_hash", None),
        )
        last = self._last_point
        if last is not None and last[0] == key:
            return last[1]
        point = ChainPoint(
            chain_id=key[0],
            registry=key[1],
            block_number=key[2],
            block_hash=checks.block_hash(verdict),
            block_timestamp=int(getattr(verdict, "block_timestamp", 0) or 0),
        )
        self._last_point = (key, point)
        return point

    def _trusted(self) -> TrustedDeployment:
        """The deployment check 5 trusts. A bare registry address (no chain id: "the chain the
        node reports") is pinned to the chain this verifier read first (:meth:`node_chain_id`):
        with several endpoints a failover to a node of another chain holding a registry at that
        address, or one URL coming to reach such a node, must not make that chain's
        credentials valid (check 5: not the trusted chain)."""
        trust = self.trust
        if trust.chain_id is not None or self._chain_id is None:
            return trust
        pinned = self._pinned_trust
        if pinned is None or pinned.chain_id != self._chain_id:
            pinned = self._pinned_trust = dataclasses.replace(trust, chain_id=self._chain_id)
        return pinned

    def _known_chain_id(self, verdict: Any) -> int:
        """The chain id :meth:`chain_id_of` found for ``verdict`` when it was read (0, which no
        payload names, when none was: check 5 then fails; with one URL, a verdict it was not
        asked about, which every verification path asks, takes the chain id read first)."""
        key = _block_key(verdict)
        found = self._chain_ids.get(key) if key else None
        if found is not None:
            return found
        return (self._chain_id or 0) if self.reader.endpoints is None else 0

    def _chain_checks(
        self, p: Prepared, v: Any, chain: ChainPoint, explicit_as_of: bool = True
    ) -> tuple[CheckResult, ...]:
        """Checks 5-8 (:func:`checks.chain_checks`), rendered, through the memo: the credentials
        of one anchored batch read at one block get equal verdicts, so they share the results.
        The key holds every argument of the check, by value (:mod:`~talentproof.verifier.memo`);
        the issuer's parts through :func:`checks.issuer_parts` (kept per issuer text)."""
        anchor = p.anchor
        claimed, claimed_name, unvouched = checks.issuer_parts(p.credential or {}, p.kind)
        party = checks.subject_party(p.credential)
        # A degree's level matters only when its issuer was not accredited for the whole type.
        level = None if v.type_accredited_at_anchor else checks.degree_level(p.credential, p.kind)
        trust = self._trusted()

        def compute() -> tuple[CheckResult, ...]:
            return tuple(
                render(f)
                for f in checks.chain_checks(
                    anchor=anchor,
                    kind=p.kind,
                    key_id=p.key_id,
                    claimed_issuer=claimed,
                    claimed_name=claimed_name,
                    unvouched=unvouched,
                    party=party,
                    verdict=v,
                    chain_id=chain.chain_id,
                    block_number=chain.block_number,
                    block_hash_hex=chain.block_hash,
                    trust=trust,
                    min_confirmations=self.min_confirmations,
                    level=level,
                    explicit_as_of=explicit_as_of,
                    block_time=chain.block_timestamp,
                )
            )

        if (
            type(anchor.tree_size) is not int or type(anchor.chain_id) is not int
        ):  # (True == 1, texts differ)
            return compute()
        key = (
            p.kind,
            level,
            p.key_id,
            claimed,
            claimed_name,
            unvouched,
            party,
            anchor.chain_id,
            anchor.registry,
            bytes(anchor.merkle_root),
            anchor.tree_size,
            chain.chain_id,
            chain.registry,
            chain.block_number,
            chain.block_hash,
            trust.registry,
            trust.chain_id,
            self.min_confirmations,
            explicit_as_of,
            v,  # last: the cheap fields tell most keys apart first
        )
        return self._chain_memo.get(key, compute)

    # ----------------------------------------------------------------- presentations

    def _binding(
        self, item: Item, challenge: str | None, domain: str | None = None
    ) -> tuple[list[Mapping[str, Any]], CheckResult | None]:
        """Credentials of a presentation and the binding check (check 10)."""
        vp = item.document
        assert vp is not None
        creds, found = checks.binding(vp, challenge, self.domain if domain is None else domain)
        if found is checks.HOLDER_SIGNED:
            return creds, _HOLDER_SIGNED
        return creds, render(found)

    # ----------------------------------------------------------------- whole application

    def verify_application(
        self,
        items: Sequence[Item],
        *requirements: Requirement,
        as_of: datetime | date | None = None,
        challenge: str | None = None,
        policy: Policy | None = None,
        profession: str | None = None,
        challenge_problem: str | None = None,
        at_block: int | None = None,
        chain_as_of: int | None = None,
        application_date: date | None = None,
        id_number: str | None = None,
        id_salt: str | None = None,
        surface: str = "api",
    ) -> ApplicationReport:
        """Verify every credential of one application, the same-applicant check, and the policy.

        ``requirements`` (:mod:`~talentproof.verifier.requirements`) add to this verifier's
        own; the keyword forms say the same: ``challenge`` and ``challenge_problem`` are
        :class:`Challenge`, ``as_of`` :class:`AsOf`, ``at_block`` and ``chain_as_of``
        :class:`AtBlock`.

        ``challenge`` set means the verifier asks for a bound presentation (check 10): bare
        credentials then fail it. ``challenge_problem`` (e.g. "already used") fails check 10 for
        every credential whatever the presentation says.

        Two times: ``as_of`` is when validity and status are judged (checks 8 and 9, exact
        history on chain; a credential anchored after it fails check 5; None: now);
        ``application_date`` is when the facts are judged (the policy counts a degree awarded,
        employment held and training completed by then; default: the as-of date). Check 2
        refuses facts dated after today whatever either says.

        ``id_number`` (the number of the travel document the officer holds) is compared with
        the credentials' identity-document commitment (check 12), using ``id_salt`` or the salt a
        presentation discloses. ``at_block`` pins every chain read to that block (receipts
        re-check with it); ``chain_as_of`` overrides the as-of time sent to the chain (0 = the
        block's time). ``surface`` ("cli", "api" or "page": `messages.SURFACES`) is where the
        report is read: check 12's advice names what its reader can do there.
        """
        if surface not in SURFACES:
            raise ValueError(f"surface: expected one of {sorted(SURFACES)}, got {surface!r}")
        req = self._requirements(
            requirements,
            as_of=as_of,
            challenge=challenge,
            challenge_problem=challenge_problem,
            at_block=at_block,
            chain_as_of=chain_as_of,
        )
        as_of_dt, as_of_chain = checks.as_of_instant(req.as_of, self.clock)
        if req.chain_as_of is not None:
            as_of_chain = req.chain_as_of
        prepared: list[Prepared] = []
        salts: list[str] = []
        for item in items:
            prepared.extend(self.prepare_item(item, req.challenge, salts, domain=req.domain))
            if len(prepared) > self.limits.max_credentials:
                raise InputTooLarge(
                    "application", len(prepared), self.limits.max_credentials, "credentials"
                )

        if req.challenge_problem is not None:
            refused = render(checks.challenge_refused(req.challenge, req.challenge_problem))
            for p in prepared:
                p.binding = refused
        if req.min_confirmations != self.min_confirmations:
            verifier = Verifier(
                self.reader,
                self.trust,
                req.min_confirmations,
                req.domain,
                self.limits,
                self.clock,
                self.max_head_age,
            )
            verifier._chain_id = self._chain_id
            verifier._newest_head = self._newest_head
        else:
            verifier = self
        reports, chain = verifier._read_and_finish(
            prepared, as_of_dt, as_of_chain, "latest" if req.at_block is None else req.at_block
        )
        return self.conclude(
            reports,
            chain,
            as_of_dt=as_of_dt,
            as_of_chain=as_of_chain,
            policy=policy,
            profession=profession,
            application_date=application_date,
            id_number=id_number,
            id_salt=id_salt,
            salts=salts,
            surface=surface,
        )

    def _requirements(self, requirements: Sequence[Requirement], **given: Any) -> Requirements:
        """This verifier's requirements, then the keyword ones, then ``requirements``."""
        keyword: list[Requirement] = []
        if given["challenge"] is not None or given["challenge_problem"] is not None:
            keyword.append(Challenge(given["challenge"], given["challenge_problem"]))
        if given["as_of"] is not None:
            keyword.append(AsOf(given["as_of"]))
        if given["at_block"] is not None or given["chain_as_of"] is not None:
            keyword.append(AtBlock(given["at_block"], given["chain_as_of"]))
        return self.requirements.with_(*keyword, *requirements)

    def prepare_item(
        self,
        item: Item,
        challenge: str | None = None,
        salts: list[str] | None = None,
        *,
        domain: str | None = None,
    ) -> list[Prepared]:
        """Checks 1-4 (and 10's binding) of one input: a credential, or each credential of a
        presentation. ``salts`` collects the identity-document salt a presentation discloses.
        Every mode (one application, a folder) goes through here, so one input gets one
        verdict whatever the mode."""
        if item.document is not None and item.is_presentation:
            if salts is not None:
                salt = c_presentation.presentation_salt(item.document)
                if salt is not None:
                    salts.append(salt)
            creds, binding = self._binding(item, challenge, domain)
            out: list[Prepared] = []
            if not creds:
                p = self.prepare(item.source, None, "the presentation holds no credential")
                p.binding = binding
                out.append(p)
            for i, cred in enumerate(creds):
                p = self.prepare(
                    f"credential {i + 1} of {item.source}",
                    cred if isinstance(cred, Mapping) else None,
                )
                p.binding = binding
                out.append(p)
            return out
        p = self.prepare(item.source, item.document, item.error, invalid_input=item.not_talentproof)
        if challenge is not None and item.document is not None:
            p.binding = _BARE_CREDENTIAL
        return [p]

    def conclude(
        self,
        reports: Sequence[CredentialReport],
        chain: ChainPoint | None,
        *,
        as_of_dt: datetime,
        as_of_chain: int,
        policy: Policy | None = None,
        profession: str | None = None,
        application_date: date | None = None,
        id_number: str | None = None,
        id_salt: str | None = None,
        salts: Sequence[str] = (),
        recorded: Sequence[CheckResult] = (),
        surface: str | None = None,
    ) -> ApplicationReport:
        """The application checks (11, 12) and the policy over finished credential reports.
        ``recorded``: application checks taken as a receipt recorded them (check 12, whose
        document number the receipt does not keep), after those made here."""
        found: list[CheckResult] = (
            [render(checks.same_applicant(reports))] if len(reports) > 1 else []
        )
        facts_date = application_date or as_of_dt.date()
        person = checks.applicant(reports)
        if id_number is not None:
            salt = id_salt or (salts[0] if salts else None)
            doc_check = render(checks.identity_document(reports, id_number, salt), surface=surface)
            found.append(doc_check)
            if person is not None:
                person["documentChecked"] = doc_check.status in (Status.PASS, Status.FAIL)
                person["documentMatches"] = doc_check.status is Status.PASS
        found.extend(recorded)
        prof = None
        if policy is not None and profession is not None:
            # an application that is not valid meets no profession, whatever its valid
            # credentials show on their own: a credential failed (tampered, forged, revoked,
            # expired ...), they are not one person's (check 11) or not the person at the
            # counter's (check 12), or something could not be confirmed (NOT VERIFIABLE)
            refused = refusal_of(reports, found)
            prof = policy.evaluate(
                profession,
                [
                    PolicyInput(
                        r.credential_id or r.source,
                        r.credential or {},
                        r.verdict is Verdict.VALID,
                        r.issuer_did,
                        r.issuer_name,
                        _anchored_on(r),
                    )
                    for r in reports
                    if r.credential is not None
                ],
                facts_date,
                today=self.clock().astimezone(UTC).date(),
                refused=refused,
            )
        return ApplicationReport(
            credentials=tuple(reports),
            checks=tuple(found),
            chain=chain,
            profession=prof,
            as_of=as_of_dt.isoformat().replace("+00:00", "Z"),
            chain_as_of=as_of_chain,
            application_date=facts_date.isoformat(),
            person=person,
        )

    def _read_and_finish(
        self,
        prepared: Sequence[Prepared],
        as_of_dt: datetime,
        as_of_chain: int,
        block: int | str = "latest",
    ) -> tuple[list[CredentialReport], ChainPoint | None]:
        reports: list[CredentialReport] = []
        chain: ChainPoint | None = None
        chain_error: str | None = None
        first: Any = None  # the verdict every later read must share the block of
        for p in prepared:
            verdict = None
            err = None
            if p.query is not None:
                if chain_error is not None:
                    err = chain_error
                else:
                    try:
                        self.node_chain_id()
                        if block == "latest":
                            verdict = self._read_fresh(p, as_of_chain)
                        else:
                            verdict = self.read(p, as_of_chain, block)
                        self.chain_id_of(verdict)  # (the chain it was read on)
                        if first is None:
                            first = verdict
                        else:  # pinned by number: a node on another fork has another block there
                            self._at_block(
                                verdict,
                                _block_key(first),
                                "this application's first credential was read at",
                            )
                        block = int(verdict.block_number)
                    except LedgerError as exc:
                        err = chain_error = _one_line(exc)
            r = self.finish(p, verdict, as_of=as_of_dt, chain_error=err)
            if chain is None and r.chain is not None:
                chain = r.chain
            reports.append(r)
        return reports, chain

    def verify_document(
        self,
        document: Mapping[str, Any],
        *,
        source: str = "credential",
        as_of: datetime | date | None = None,
    ) -> CredentialReport:
        """Verify one credential (checks 1-9; 10 skipped) and return its report."""
        return self.verify_application([Item(source, document)], as_of=as_of).credentials[0]


# --------------------------------------------------------------------------- helpers


def _anchored_on(report: CredentialReport) -> date | None:
    """The UTC date the credential was anchored (check 5's ``anchoredAt``, the anchor block's
    time), or None when check 5 did not pass: the latest day its issuer can have vouched for it."""
    for c in report.checks:
        if c.id is CheckId.ANCHOR:
            at = c.evidence.get("anchoredAt") if c.status is Status.PASS else None
            if type(at) is int and at > 0:
                return datetime.fromtimestamp(at, UTC).date()
            return None
    return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


__all__ = [
    "DEFAULT_DOMAIN",
    "ApplicationReport",
    "AsOf",
    "AtBlock",
    "ChainReader",
    "Challenge",
    "Domain",
    "Finding",
    "Item",
    "Limits",
    "MinConfirmations",
    "Prepared",
    "Requirements",
    "Verifier",
    "parse_json",
]
