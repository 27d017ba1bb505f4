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

Two times: checks 8 and 9 use the as-of time (default now); the talent-list policy judges the
facts at the application date (default the as-of date). One outcome sums the report up
(``report.outcome_of``: VALID_MEETS, VALID_NOT_MET, VALID, INVALID, NOT_VERIFIABLE).

All chain facts for a credential come from one read of the registry's verification view; within
an application every read is pinned to the block of the first one, and the report names it. A
failed read is an ``error`` for checks 5 to 8, never a pass.

The engine works in three phases so that bulk verification can batch the chain reads:
:meth:`Verifier.prepare` (offline checks 1-4), one chain read per credential, and
:meth:`Verifier.finish` (checks 5-10 from the verdict).

Example::

    trust = TrustedDeployment.load("data/deployment.json")
    verifier = Verifier(RegistryReader("http://127.0.0.1:8545", trust.registry), trust)
    report = verifier.verify_application([item_from_text(qr_text, "QR")])  # verifier.inputs
    print(report.verdict, [(c.number, c.status, c.message) for c in report.credentials[0].checks])
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import orjson
from talentproof.credential import anchor as c_anchor
from talentproof.credential import claims as c_claims
from talentproof.credential import integrity as c_integrity
from talentproof.credential import keys as c_keys
from talentproof.credential import merkle as c_merkle
from talentproof.credential import person as c_person
from talentproof.credential import presentation as c_presentation
from talentproof.credential.errors import (
    CredentialError,
    MerkleProofError,
    ProofError,
    SchemaValidationError,
)
from talentproof.ledger.chain import did_hash as _ledger_did_hash
from talentproof.ledger.chain import type_id as _ledger_type_id
from talentproof.ledger.errors import LedgerError
from talentproof.verifier import fastschema
from talentproof.verifier.errors import InputError, InputTooLarge
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
    verdict_of,
)
from talentproof.verifier.trust import TrustedDeployment

#: The domain bound presentations must name when the verifier is not given its own.
DEFAULT_DOMAIN = "talentproof-verifier"

ledger_type_id = functools.cache(_ledger_type_id)
ledger_did_hash = functools.lru_cache(maxsize=4096)(_ledger_did_hash)


@functools.lru_cache(maxsize=1024)
def _multibase_of(raw: bytes) -> str:
    return c_keys.Ed25519PublicKey.from_raw(raw).multibase


def _multibase(key: Any) -> str:
    """A key's z6Mk… id (issuers' keys repeat: computed once per key)."""
    return _multibase_of(bytes(key.raw))  # keccak256 of a kind name, computed once

# Issuer status enum of the contract (IIssuerRegistry.IssuerStatus).
_ISSUER_STATUS = ("none", "active", "suspended", "removed")


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
        the credential's issuer DID; the view reads that issuer's anchor of ``root``)."""
        ...


# --------------------------------------------------------------------------- inputs


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r}")
            seen.add(k)
    return out


# bytes -> b"9" for ASCII digits, b" " otherwise: a run of 19 digits anywhere may be an integer
# orjson would turn into a float (beyond 64 bits), where json keeps it exact.
_DIGITS = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"9" * 19
_SLOW = object()


def _parse_fast(raw: bytes) -> Any:
    """orjson's parse when it provably equals the duplicate-refusing ``json`` parse, else
    ``_SLOW`` (the caller then runs the reference parse, which also words any error).

    Duplicate keys: in valid JSON every ':' outside strings separates one object member, and a
    ':' inside a string is literal unless escaped as ``\\u003a``; orjson writes each member's ':'
    once and never escapes ':'. So the text and its re-serialised tree hold the same number of
    ':' exactly when no member was dropped as a duplicate. Escaped colons, possible integers
    beyond 64 bits and anything orjson refuses (NaN, lone surrogates, UTF-16, BOM, ...) take the
    reference path.
    """
    if b"\\u003a" in raw or b"\\u003A" in raw or _LONG_RUN in raw.translate(_DIGITS):
        return _SLOW
    try:
        doc = orjson.loads(raw)
        if orjson.dumps(doc).count(b":") != raw.count(b":"):
            return _SLOW
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # e.g. nested beyond orjson's limits
        return _SLOW
    return doc


def parse_json(data: bytes | str, *, what: str, limit: int) -> Any:
    """Parse JSON within a size limit, refusing duplicate keys (raises InputError)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    size = len(raw)
    if size > limit:
        raise InputTooLarge(what, size, limit)
    doc = _parse_fast(raw)
    if doc is not _SLOW:
        return doc
    try:
        return json.loads(data, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: expected JSON ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{what}: expected a JSON document, found one nested too deeply") from exc


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
        types = [types] if isinstance(types, str) else types or []
        return "VerifiablePresentation" in types


def _utc(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    return _parse_time_text(text)


@functools.lru_cache(maxsize=4096)
def _parse_time_text(text: str) -> datetime | None:
    """A pure function of the string (cached: a batch's credentials share their dates)."""
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _kind_of(doc: Mapping[str, Any]) -> str | None:
    types = doc.get("type")
    if isinstance(types, str):
        return types
    if isinstance(types, list) and types and isinstance(types[-1], str):
        return types[-1]
    return None


def _subject_id(doc: Mapping[str, Any]) -> str | None:
    subject = doc.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return subject["id"]
    return None


def _actor_name(actor: Any) -> str | None:
    """``StatusActor`` of the verdict as evidence text: "issuer", "governance" or None."""
    return {1: "issuer", 2: "governance"}.get(int(actor or 0))


def _issuer_id(doc: Mapping[str, Any]) -> str | None:
    iss = doc.get("issuer")
    if isinstance(iss, Mapping):
        iss = iss.get("id")
    return iss if isinstance(iss, str) else None


# --------------------------------------------------------------------------- phase results


@dataclass(slots=True)
class Prepared:
    """A credential after the offline checks, with the query for its chain read."""

    source: str
    checks: list[CheckResult]
    credential: Mapping[str, Any] | None = None
    kind: str | None = None
    anchor: Any = None
    credential_hash: bytes | None = None
    signing_key: bytes | None = None
    key_id: str | None = None
    chain_skip: str | None = None  # why checks 5-8 cannot run
    binding: CheckResult | None = None

    @property
    def query(self) -> tuple[bytes, bytes, bytes, bytes, bytes] | None:
        """(issuer DID hash, root, credential hash, signing key, type id) for the verification
        view, if any."""
        if self.chain_skip is not None:
            return None
        assert self.anchor is not None and self.credential_hash is not None
        assert self.signing_key is not None and self.kind is not None
        issuer = _issuer_id(self.credential or {})
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
            "credentials": [r.to_json(include_credential=include_credentials) for r in self.credentials],
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


def _skipped(check: CheckId, reason: str) -> CheckResult:
    return CheckResult(check, Status.SKIPPED, reason)


_CHAIN_CHECKS = (CheckId.ANCHOR, CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)
_BINDING_NOT_REQUESTED = _skipped(CheckId.BINDING, "Not requested: the verifier did not ask for a bound presentation.")
_HOLDER_SIGNED = _skipped(
    CheckId.BINDING,
    "Not requested: the verifier did not ask for a bound presentation (the presentation's holder "
    "proof was checked: signed by the holder the credentials name).",
)


@functools.lru_cache(maxsize=64)
def _schema_pass(kind: str | None) -> CheckResult:
    return CheckResult(CheckId.SCHEMA, Status.PASS, f"Well-formed {_label(kind)} matching its schema.", {"kind": kind})


@functools.lru_cache(maxsize=1024)
def _signature_pass(key_id: str, verification_method: str) -> CheckResult:
    return CheckResult(
        CheckId.SIGNATURE,
        Status.PASS,
        "The issuer's signature is valid: the credential has not been altered.",
        {"keyId": key_id, "verificationMethod": verification_method},
    )


@dataclass
class Verifier:
    """Verifies credentials against one trusted registry deployment through a chain reader.

    ``min_confirmations``: blocks including the anchor's own (1 = anchored in any mined block).
    ``domain``: this verifier's domain, required in bound presentations.
    """

    reader: ChainReader
    trust: TrustedDeployment
    min_confirmations: int = 1
    domain: str = DEFAULT_DOMAIN
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _chain_id: int | None = field(default=None, init=False, repr=False)
    #: Checks 5-8 by everything they depend on (see :meth:`_chain_checks`).
    _chain_memo: dict[Any, tuple[Any, tuple[CheckResult, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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
        p = Prepared(source=source, checks=[])
        # (1) parse
        if document is None or not isinstance(document, Mapping):
            why = error or "expected a JSON object"
            if invalid_input:
                p.checks.append(
                    CheckResult(CheckId.PARSE, Status.FAIL, f"{why[:1].upper()}{why[1:]}.", {"notTalentProof": True})
                )
            else:
                p.checks.append(CheckResult(CheckId.PARSE, Status.FAIL, f"The credential could not be read: {why}."))
            for cid in (CheckId.SCHEMA, CheckId.SIGNATURE, CheckId.INCLUSION, *_CHAIN_CHECKS, CheckId.VALIDITY):
                p.checks.append(_skipped(cid, "Skipped: the credential could not be read."))
            p.chain_skip = "unreadable"
            return p
        try:
            doc, anchor = c_anchor.split_anchor(dict(document))
        except CredentialError as exc:
            p.checks.append(CheckResult(CheckId.PARSE, Status.FAIL, f"The credential's proofs could not be read: {exc}."))
            for cid in (CheckId.SCHEMA, CheckId.SIGNATURE, CheckId.INCLUSION, *_CHAIN_CHECKS, CheckId.VALIDITY):
                p.checks.append(_skipped(cid, "Skipped: the credential could not be read."))
            p.chain_skip = "unreadable"
            return p
        p.credential = doc
        p.anchor = anchor
        p.kind = _kind_of(doc)
        p.checks.append(
            CheckResult(
                CheckId.PARSE,
                Status.PASS,
                f"Read {_label(p.kind, article=True)}" + (" with its anchor proof." if anchor else " (no anchor proof)."),
                {"credentialId": doc.get("id"), "kind": p.kind},
            )
        )
        # (2) schema, then the facts themselves (calendar dates, nothing awarded in the future)
        try:
            p.kind = fastschema.validate_credential(doc)
            now = self.clock()
            problems = _fact_problems(doc, now)
            if problems:
                today = now.astimezone(UTC).date().isoformat()
                first = problems[0]
                p.checks.append(
                    CheckResult(
                        CheckId.SCHEMA,
                        Status.FAIL,
                        f"The credential states an impossible fact: {first.field}: {first.message} "
                        f"(verification date {today}).",
                        {"field": first.field, "problems": [str(x) for x in problems], "today": today},
                    )
                )
            else:
                p.checks.append(_schema_pass(p.kind))
        except SchemaValidationError as exc:
            p.checks.append(
                CheckResult(
                    CheckId.SCHEMA,
                    Status.FAIL,
                    f"The credential is malformed: {exc.field or 'document'} should be {exc.expected}.",
                    {"field": exc.field, "expected": exc.expected, "found": repr(exc.found)[:200]},
                )
            )
        except CredentialError as exc:
            p.checks.append(CheckResult(CheckId.SCHEMA, Status.FAIL, f"The credential is malformed: {exc}."))
        # (3) signature
        try:
            # One serialization serves the signature and the credential hash (same results as
            # verify() then credential_hash(); proven in tests/credential).
            verified, p.credential_hash = c_integrity.verify_and_hash(doc)
            p.signing_key = bytes(verified.public_key.raw)
            p.key_id = _multibase(verified.public_key)
            p.checks.append(_signature_pass(p.key_id, verified.verification_method))
        except ProofError as exc:
            p.checks.append(
                CheckResult(
                    CheckId.SIGNATURE,
                    Status.FAIL,
                    f"The signature is not valid ({type(exc).__name__}): {exc}. The credential may have been altered or forged.",
                    {"error": type(exc).__name__},
                )
            )
            claimed_key = _key_of(doc)
            if claimed_key is not None:
                p.key_id = claimed_key.multibase
                p.signing_key = bytes(claimed_key.raw)
        except CredentialError as exc:
            p.checks.append(CheckResult(CheckId.SIGNATURE, Status.FAIL, f"The signature could not be checked: {exc}."))
        # (4) inclusion
        try:
            if p.credential_hash is None:  # the signature check failed before hashing
                p.credential_hash = c_merkle.credential_hash(doc)
        except CredentialError as exc:
            p.credential_hash = None
            p.checks.append(CheckResult(CheckId.INCLUSION, Status.FAIL, f"The credential cannot be hashed: {exc}."))
            p.chain_skip = "Skipped: the credential cannot be hashed."
            return p
        if anchor is None:
            p.checks.append(
                CheckResult(
                    CheckId.INCLUSION,
                    Status.FAIL,
                    "The credential carries no anchor proof: it was never anchored on the ledger.",
                    {"credentialHash": _hex(p.credential_hash)},
                )
            )
            p.chain_skip = "Skipped: the credential is not anchored."
            return p
        try:
            c_merkle.verify_inclusion(p.credential_hash, anchor.inclusion, bytes(anchor.merkle_root))
            p.checks.append(
                CheckResult(
                    CheckId.INCLUSION,
                    Status.PASS,
                    f"Included as entry {anchor.leaf_index + 1} of a batch of {anchor.tree_size}.",
                    {
                        "merkleRoot": _hex(bytes(anchor.merkle_root)),
                        "leafIndex": anchor.leaf_index,
                        "treeSize": anchor.tree_size,
                        "credentialHash": _hex(p.credential_hash),
                    },
                )
            )
        except (MerkleProofError, CredentialError) as exc:
            p.checks.append(
                CheckResult(
                    CheckId.INCLUSION,
                    Status.FAIL,
                    f"The credential is not part of the batch it claims: {exc}.",
                    {"merkleRoot": _hex(bytes(anchor.merkle_root)), "credentialHash": _hex(p.credential_hash)},
                )
            )
            p.chain_skip = "Skipped: the credential is not part of the anchored batch it claims."
            return p
        if p.signing_key is None:
            p.chain_skip = "Skipped: the signing key could not be read."
        elif p.kind is None:
            p.chain_skip = "Skipped: the credential type is unknown."
        elif not _issuer_id(doc):
            p.chain_skip = "Skipped: the credential names no issuer DID, so no issuer's anchor can be read."
        return p

    # ----------------------------------------------------------------- phase 2: chain

    def node_chain_id(self) -> int:
        """The node's chain id (cached after the first successful read)."""
        if self._chain_id is None:
            self._chain_id = int(self.reader.chain_id())
        return self._chain_id

    def read(self, p: Prepared, as_of: int, block: int | str) -> Any:
        """One verification-view read for a prepared credential (raises LedgerError)."""
        q = p.query
        assert q is not None
        from talentproof.verifier import fastread

        if fastread.supports(self.reader):
            return fastread.read_one(self.reader, q, as_of, block)
        return self.reader.verify_credential(*q, as_of=as_of, block=block)

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
        checks, chain, issuer_name = self.finish_checks(p, verdict, as_of=as_of, chain_error=chain_error)
        doc = p.credential
        return CredentialReport(
            source=p.source,
            checks=checks,
            credential_id=doc.get("id") if doc is not None else None,
            kind=p.kind,
            subject_id=_subject_id(doc) if doc is not None else None,
            issuer_name=issuer_name,
            issuer_did=(getattr(verdict, "issuer_did", None) or None) if chain is not None else None,
            chain=chain,
            credential=doc,
            credential_hash=_hex(p.credential_hash) if p.credential_hash else None,
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
        checks = list(p.checks)
        chain: ChainPoint | None = None
        issuer_name: str | None = None
        if p.chain_skip is not None:
            if p.credential is not None:
                checks.extend(_skipped(cid, p.chain_skip) for cid in _CHAIN_CHECKS)
        elif chain_error is not None:
            first, *rest = _CHAIN_CHECKS
            checks.append(
                CheckResult(
                    first,
                    Status.ERROR,
                    f"The ledger could not be read ({chain_error}); this credential cannot be confirmed.",
                )
            )
            checks.extend(
                CheckResult(cid, Status.ERROR, "Not confirmed: the ledger could not be read (see the anchor check).")
                for cid in rest
            )
        else:
            chain = ChainPoint(
                chain_id=self._chain_id or 0,
                registry=self.trust.registry,
                block_number=int(verdict.block_number),
                block_hash=_block_hash(verdict),
            )
            issuer_name = verdict.issuer_name or None
            checks.extend(self._chain_checks(p, verdict, chain))
        if p.credential is not None:
            checks.append(_validity(p.credential, as_of))
        if p.binding is not None:
            checks.append(p.binding)
        else:
            checks.append(_BINDING_NOT_REQUESTED)
        return tuple(checks), chain, issuer_name

    def _chain_checks(self, p: Prepared, v: Any, chain: ChainPoint) -> tuple[CheckResult, ...]:
        """Checks 5-8: a pure function of the verdict and of what the key below names. The
        credentials of one anchored batch read at one block mostly get the very same verdict
        object (``fastread`` decodes equal answers once), so they share the (immutable) results.
        The memo holds the verdict it was computed from: its ``id`` cannot be reused meanwhile."""
        anchor = p.anchor
        trust = self.trust
        if type(anchor.tree_size) is not int or type(anchor.chain_id) is not int:  # (True == 1, texts differ)
            return tuple(self._chain_checks_uncached(p, v, chain))
        key = (
            id(v), p.kind, p.key_id, _issuer_id(p.credential or {}), anchor.chain_id, anchor.registry,
            bytes(anchor.merkle_root), anchor.tree_size, chain.chain_id, chain.registry, chain.block_number,
            chain.block_hash, trust.registry, trust.chain_id, self.min_confirmations,
        )
        try:
            entry = self._chain_memo.get(key)
        except TypeError:  # an unhashable field: judged afresh
            return tuple(self._chain_checks_uncached(p, v, chain))
        if entry is not None and entry[0] is v:
            return entry[1]
        found = tuple(self._chain_checks_uncached(p, v, chain))
        if len(self._chain_memo) >= 4096:
            self._chain_memo.clear()
        self._chain_memo[key] = (v, found)
        return found

    def _chain_checks_uncached(self, p: Prepared, v: Any, chain: ChainPoint) -> list[CheckResult]:
        out: list[CheckResult] = []
        anchor = p.anchor
        rec = v.anchor
        block = {"blockNumber": chain.block_number, "blockHash": chain.block_hash}
        # (5) anchor
        node_chain = chain.chain_id
        problems = []
        if int(anchor.chain_id) != node_chain:
            problems.append(f"it names chain {anchor.chain_id} but the ledger is chain {node_chain}")
        if self.trust.chain_id is not None and node_chain != self.trust.chain_id:
            problems.append(f"the ledger is chain {node_chain}, not the trusted chain {self.trust.chain_id}")
        if not self.trust.same_registry(str(anchor.registry)):
            problems.append(f"it names registry {anchor.registry}, not the trusted registry {self.trust.registry}")
        anchored = int(rec.issuer_id) != 0
        confirmations = chain.block_number - int(rec.block_number) + 1 if anchored else 0
        evidence5 = {
            **block,
            "chainId": node_chain,
            "registry": self.trust.registry,
            "merkleRoot": _hex(bytes(anchor.merkle_root)),
        }
        if problems:
            out.append(CheckResult(CheckId.ANCHOR, Status.FAIL, "Anchored elsewhere: " + "; ".join(problems) + ".", evidence5))
        elif not anchored:
            out.append(
                CheckResult(
                    CheckId.ANCHOR,
                    Status.FAIL,
                    "The batch this credential claims is not anchored on the trusted registry.",
                    evidence5,
                )
            )
        elif int(anchor.tree_size) != int(rec.leaf_count):
            # The Merkle path cannot tell some tree sizes apart (e.g. 5 and 6 for leaf 0): the
            # anchored leaf count is the only witness of the batch size the proof claims.
            out.append(
                CheckResult(
                    CheckId.ANCHOR,
                    Status.FAIL,
                    f"The anchor proof claims a batch of {anchor.tree_size} credentials, but the "
                    f"batch anchored on chain has {rec.leaf_count}.",
                    {**evidence5, "treeSize": int(anchor.tree_size), "leafCount": int(rec.leaf_count)},
                )
            )
        elif confirmations < self.min_confirmations:
            out.append(
                CheckResult(
                    CheckId.ANCHOR,
                    Status.FAIL,
                    f"Anchored in block {rec.block_number}, but only {confirmations} of the required "
                    f"{self.min_confirmations} confirmations so far.",
                    {**evidence5, "anchorBlock": int(rec.block_number), "confirmations": confirmations},
                )
            )
        else:
            out.append(
                CheckResult(
                    CheckId.ANCHOR,
                    Status.PASS,
                    f"Anchored on {_iso(int(rec.anchored_at))} in block {rec.block_number} "
                    f"({confirmations} confirmation{'s' if confirmations != 1 else ''}).",
                    {
                        **evidence5,
                        "anchorBlock": int(rec.block_number),
                        "anchoredAt": int(rec.anchored_at),
                        "confirmations": confirmations,
                    },
                )
            )
        if out[-1].status is not Status.PASS:
            reason = "Skipped: the credential is not anchored on the trusted registry."
            out.extend(_skipped(cid, reason) for cid in (CheckId.ISSUER, CheckId.KEY, CheckId.STATUS))
            return out
        at = _iso(int(rec.anchored_at))
        # (6) issuer accredited at anchor time, for this type, and is the credential's issuer
        status_then = _status_name(v.issuer_status_at_anchor)
        status_now = _status_name(v.issuer_status)
        ev6 = {
            **block,
            "issuerId": int(rec.issuer_id),
            "issuerName": v.issuer_name,
            "issuerDid": v.issuer_did,
            "statusAtAnchor": status_then,
            "statusNow": status_now,
            "credentialType": p.kind,
        }
        claimed = _issuer_id(p.credential or {})
        if status_then != "active":
            out.append(CheckResult(CheckId.ISSUER, Status.FAIL, f"{v.issuer_name} was {status_then} when it anchored this credential ({at}).", ev6))
        elif not v.type_accredited_at_anchor:
            granted = "was never accredited" if not v.type_granted else "was not accredited at that time"
            out.append(CheckResult(CheckId.ISSUER, Status.FAIL, f"{v.issuer_name} {granted} to issue {p.kind} credentials ({_label(p.kind)}; anchored {at}).", ev6))
        elif claimed is not None and v.issuer_did and claimed != v.issuer_did:
            out.append(
                CheckResult(
                    CheckId.ISSUER,
                    Status.FAIL,
                    f"The credential names issuer {claimed}, but it was anchored by {v.issuer_name} ({v.issuer_did}).",
                    ev6,
                )
            )
        else:
            now = "" if status_now == "active" else f" It is {status_now} now."
            out.append(CheckResult(CheckId.ISSUER, Status.PASS, f"Issued by {v.issuer_name}, accredited for {_label(p.kind)}s at the time ({at}).{now}", ev6))
        # (7) key
        ev7 = {**block, "keyId": p.key_id, "issuerName": v.issuer_name, "keyValidFrom": int(v.key_valid_from), "keyValidUntil": int(v.key_valid_until)}
        if not v.key_registered:
            out.append(CheckResult(CheckId.KEY, Status.FAIL, f"The signing key {_short_key(p.key_id)} is not registered to {v.issuer_name}.", ev7))
        elif not v.key_valid_at_anchor:
            out.append(
                CheckResult(
                    CheckId.KEY,
                    Status.FAIL,
                    f"The signing key {_short_key(p.key_id)} of {v.issuer_name} was not valid when the credential was anchored ({at}); "
                    f"it was valid {_window(int(v.key_valid_from), int(v.key_valid_until))}.",
                    ev7,
                )
            )
        else:
            out.append(CheckResult(CheckId.KEY, Status.PASS, f"Signed with {v.issuer_name}'s registered key {_short_key(p.key_id)}, valid at the time.", ev7))
        # (8) status
        cs = v.credential_status
        when = f"as of {_iso(int(v.as_of))}"
        revoked_by = _actor_name(getattr(v, "credential_revoked_by", 0))
        suspended_by = _actor_name(getattr(v, "credential_suspended_by", 0))
        since = int(getattr(v, "credential_suspended_since", 0) or cs.suspended_at)
        ev8 = {**block, "asOf": int(v.as_of), "revokedAt": int(cs.revoked_at), "suspendedAt": int(cs.suspended_at), "reinstatedAt": int(cs.reinstated_at), "batchRevokedAt": int(rec.revoked_at),
               "revokedBy": revoked_by, "suspendedBy": suspended_by, "suspendedSince": since if v.credential_suspended else 0}
        if v.credential_revoked:
            who = "the governing authority" if revoked_by == "governance" else v.issuer_name
            out.append(CheckResult(CheckId.STATUS, Status.FAIL, f"Revoked by {who} on {_iso(int(cs.revoked_at))} ({when}).", ev8))
        elif v.batch_revoked:
            out.append(CheckResult(CheckId.STATUS, Status.FAIL, f"The whole batch was revoked by {v.issuer_name} on {_iso(int(rec.revoked_at))} ({when}).", ev8))
        elif v.credential_suspended:
            who = "the governing authority" if suspended_by == "governance" else v.issuer_name
            out.append(CheckResult(CheckId.STATUS, Status.FAIL, f"Suspended by {who} since {_iso(since)} ({when}).", ev8))
        else:
            extra = " (a past suspension was lifted)" if int(cs.reinstated_at) else ""
            out.append(CheckResult(CheckId.STATUS, Status.PASS, f"Not revoked or suspended {when}{extra}.", ev8))
        return out

    # ----------------------------------------------------------------- presentations

    def _binding(self, item: Item, challenge: str | None) -> tuple[list[Mapping[str, Any]], CheckResult | None]:
        """Credentials of a presentation and the binding check (None when not requested)."""
        vp = item.document
        assert vp is not None
        creds = vp.get("verifiableCredential")
        if isinstance(creds, Mapping):
            creds = [creds]
        if not isinstance(creds, list):
            return [], CheckResult(CheckId.BINDING, Status.FAIL, "The presentation holds no credential.")
        if challenge is None:
            # No binding asked, but a presentation claims a holder: its proof must still verify
            # (signed by that holder, credentials about the holder), or the wrapper fails check
            # 10 (the same in every mode: one file, several, a folder, the service, the page).
            try:
                c_presentation.verify_holder_proof(dict(vp))
            except (CredentialError, ValueError) as exc:
                return creds, CheckResult(
                    CheckId.BINDING,
                    Status.FAIL,
                    f"The presentation's holder proof is missing or does not verify "
                    f"({type(exc).__name__}): {exc}. A presentation claims a holder; give the "
                    "credentials themselves, or a presentation signed by their holder.",
                    {"error": type(exc).__name__},
                )
            return creds, _HOLDER_SIGNED
        try:
            c_presentation.verify_presentation(dict(vp), challenge=challenge, domain=self.domain)
        except (CredentialError, ValueError) as exc:
            return creds, CheckResult(
                CheckId.BINDING,
                Status.FAIL,
                f"The presentation is not bound to this verification ({type(exc).__name__}): {exc}. "
                "It may be a copy replayed from another verification.",
                {"challenge": challenge, "domain": self.domain, "error": type(exc).__name__},
            )
        holder = vp.get("holder")
        holder = holder.get("id") if isinstance(holder, Mapping) else holder
        return creds, CheckResult(
            CheckId.BINDING,
            Status.PASS,
            "Presented by the holder named in the credentials, for this verification.",
            {"holder": holder, "challenge": challenge, "domain": self.domain},
        )

    # ----------------------------------------------------------------- whole application

    def verify_application(
        self,
        items: Sequence[Item],
        *,
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
    ) -> ApplicationReport:
        """Verify every credential of one application, the same-applicant check, and the policy.

        ``challenge`` set means the verifier asks for a bound presentation (check 10): bare
        credentials then fail it. ``challenge_problem`` (e.g. "already used") fails check 10 for
        every credential whatever the presentation says.

        Two times: ``as_of`` is when validity and status are judged (checks 8 and 9, exact
        history on chain; None: now); ``application_date`` is when the facts are judged (the
        policy counts a degree awarded, employment held and training completed by then;
        default: the as-of date). Check 2 refuses facts dated after today whatever either says.

        ``id_number`` (the number of the travel document the officer holds) is compared with
        the credentials' identity-document commitment (check 12), using ``id_salt`` or the salt a
        presentation discloses. ``at_block`` pins every chain read to that block (receipts
        re-check with it); ``chain_as_of`` overrides the as-of time sent to the chain (0 = the
        block's time).
        """
        as_of_dt = _utc(as_of) or self.clock()
        as_of_chain = int(as_of_dt.timestamp()) if as_of is not None else 0
        if as_of is not None and as_of_chain < 1:
            # the chain reads uint64 times, 0 meaning "now": a date before 1970 is read as of the
            # first second (nothing was anchored then; check 9 fails it as not yet valid)
            as_of_chain = 1
        if chain_as_of is not None:
            as_of_chain = chain_as_of
        prepared: list[Prepared] = []
        salts: list[str] = []
        for item in items:
            prepared.extend(self.prepare_item(item, challenge, salts))
            if len(prepared) > self.limits.max_credentials:
                raise InputTooLarge("application", len(prepared), self.limits.max_credentials, "credentials")

        if challenge_problem is not None:
            refused = CheckResult(
                CheckId.BINDING,
                Status.FAIL,
                f"The challenge {challenge!r} {challenge_problem}: this presentation may be a replayed copy.",
                {"challenge": challenge},
            )
            for p in prepared:
                p.binding = refused
        reports, chain = self._read_and_finish(
            prepared, as_of_dt, as_of_chain, "latest" if at_block is None else at_block
        )
        return self.conclude(
            reports, chain, as_of_dt=as_of_dt, as_of_chain=as_of_chain, policy=policy,
            profession=profession, application_date=application_date, id_number=id_number,
            id_salt=id_salt, salts=salts,
        )

    def prepare_item(
        self, item: Item, challenge: str | None = None, salts: list[str] | None = None
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
            creds, binding = self._binding(item, challenge)
            out: list[Prepared] = []
            if not creds:
                p = self.prepare(item.source, None, "the presentation holds no credential")
                p.binding = binding
                out.append(p)
            for i, cred in enumerate(creds):
                p = self.prepare(f"{item.source} #{i + 1}", cred if isinstance(cred, Mapping) else None)
                p.binding = binding
                out.append(p)
            return out
        p = self.prepare(item.source, item.document, item.error, invalid_input=item.not_talentproof)
        if challenge is not None and item.document is not None:
            p.binding = CheckResult(
                CheckId.BINDING,
                Status.FAIL,
                "A presentation bound to this verifier's challenge was requested, but a bare credential was given.",
            )
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
    ) -> ApplicationReport:
        """The application checks (11, 12) and the policy over finished credential reports."""
        checks = list(_same_applicant(reports)) if len(reports) > 1 else []
        facts_date = application_date or as_of_dt.date()
        person = _person(reports)
        if id_number is not None:
            salt = id_salt or (salts[0] if salts else None)
            doc_check = _identity_document(reports, id_number, salt)
            checks.append(doc_check)
            if person is not None:
                person["documentChecked"] = doc_check.status in (Status.PASS, Status.FAIL)
                person["documentMatches"] = doc_check.status is Status.PASS
        prof = None
        if policy is not None and profession is not None:
            verified_ok = {id(r): r.verdict is Verdict.VALID for r in reports}
            prof = policy.evaluate(
                profession,
                [
                    PolicyInput(
                        r.credential_id or r.source, r.credential or {}, verified_ok[id(r)],
                        r.issuer_did, r.issuer_name,
                    )
                    for r in reports
                    if r.credential is not None
                ],
                facts_date,
                today=self.clock().astimezone(UTC).date(),
            )
        return ApplicationReport(
            credentials=tuple(reports),
            checks=tuple(checks),
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
        for p in prepared:
            verdict = None
            err = None
            if p.query is not None:
                if chain_error is not None:
                    err = chain_error
                else:
                    try:
                        self.node_chain_id()
                        verdict = self.read(p, as_of_chain, block)
                        block = int(verdict.block_number)
                    except LedgerError as exc:
                        err = chain_error = _one_line(exc)
            r = self.finish(p, verdict, as_of=as_of_dt, chain_error=err)
            if chain is None and r.chain is not None:
                chain = r.chain
            reports.append(r)
        return reports, chain

    def verify_document(
        self, document: Mapping[str, Any], *, source: str = "credential", as_of: datetime | date | None = None
    ) -> CredentialReport:
        """Verify one credential (checks 1-9; 10 skipped) and return its report."""
        return self.verify_application([Item(source, document)], as_of=as_of).credentials[0]


# --------------------------------------------------------------------------- helpers


_LABELS = {
    "DegreeCredential": "degree",
    "EmploymentCredential": "employment",
    "OpenBadgeCredential": "training or skill (Open Badge)",
}


def _label(kind: str | None, *, article: bool = False) -> str:
    text = _LABELS.get(kind or "", kind or "credential")
    if kind in _LABELS:
        text += " credential"
    if article:
        text = ("an " if text[:1] in "aeiou" else "a ") + text
    return text


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _block_hash(verdict: Any) -> str:
    h = getattr(verdict, "block_hash", None)
    if isinstance(h, (bytes, bytearray)):
        return _hex(bytes(h))
    return str(h) if h else ""


def _status_name(value: Any) -> str:
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name.lower()
    try:
        return _ISSUER_STATUS[int(value)]
    except (ValueError, IndexError, TypeError):
        return str(value).lower()


def _short_key(key_id: str | None) -> str:
    if not key_id:
        return "(unknown)"
    return key_id if len(key_id) <= 16 else f"{key_id[:10]}…{key_id[-6:]}"


def _window(start: int, end: int) -> str:
    if not start and not end:
        return "never"
    s = _iso(start) if start else "the beginning"
    return f"from {s} until {_iso(end)}" if end else f"from {s}"


def _key_of(doc: Mapping[str, Any]) -> Any:
    """The public key the proof's did:key verification method names, even when it does not verify."""
    proof = doc.get("proof")
    if isinstance(proof, list):
        proof = next((e for e in proof if isinstance(e, Mapping) and e.get("type") != "TalentProofAnchor"), None)
    vm = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    if not isinstance(vm, str):
        return None
    try:
        return c_keys.Ed25519PublicKey.from_verification_method(vm)
    except (CredentialError, ValueError):
        return None


def _as_of_texts(as_of: datetime) -> tuple[str, str]:
    """How check 9 writes the as-of time (one per run: cached by instant *and* offset, since
    equal instants in different time zones print differently)."""
    return _as_of_texts_cached(as_of, as_of.utcoffset(), as_of.fold)


@functools.lru_cache(maxsize=64)
def _as_of_texts_cached(as_of: datetime, _offset: Any, _fold: int) -> tuple[str, str]:
    return as_of.strftime("%Y-%m-%d %H:%M UTC"), as_of.isoformat()


def _validity(doc: Mapping[str, Any], as_of: datetime) -> CheckResult:
    """Check 9 (a pure function of the two dates and the as-of time: cached for text dates)."""
    vf, vu = doc.get("validFrom"), doc.get("validUntil")
    if (vf is None or type(vf) is str) and (vu is None or type(vu) is str):
        return _validity_cached(vf, vu, as_of, as_of.utcoffset(), as_of.fold)
    return _validity_of(doc, as_of)


@functools.lru_cache(maxsize=1024)
def _validity_cached(vf: str | None, vu: str | None, as_of: datetime, _offset: Any, _fold: int) -> CheckResult:
    return _validity_of({"validFrom": vf, "validUntil": vu}, as_of)


def _validity_of(doc: Mapping[str, Any], as_of: datetime) -> CheckResult:
    start = _parse_time(doc.get("validFrom"))
    end = _parse_time(doc.get("validUntil"))
    when, as_of_iso = _as_of_texts(as_of)
    ev = {"validFrom": doc.get("validFrom"), "validUntil": doc.get("validUntil"), "asOf": as_of_iso}
    if doc.get("validFrom") is not None and start is None:
        return CheckResult(CheckId.VALIDITY, Status.FAIL, "validFrom is not a valid date-time.", ev)
    if doc.get("validUntil") is not None and end is None:
        return CheckResult(CheckId.VALIDITY, Status.FAIL, "validUntil is not a valid date-time.", ev)
    if start is not None and as_of < start:
        return CheckResult(CheckId.VALIDITY, Status.FAIL, f"Not yet valid on {when}: valid from {start:%Y-%m-%d %H:%M UTC}.", ev)
    if end is not None and as_of >= end:
        return CheckResult(CheckId.VALIDITY, Status.FAIL, f"Expired on {end:%Y-%m-%d %H:%M UTC} (checked as of {when}).", ev)
    until = f" until {end:%Y-%m-%d}" if end else " with no end date"
    return CheckResult(CheckId.VALIDITY, Status.PASS, f"Valid on {when}{until}.", ev)


def _person_key(doc: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    person = c_person.person_of(doc) if doc is not None else None
    if person is None:
        return None
    return (person.name, person.birth_date, person.document_type, person.issuing_country, person.commitment)


def _person_text(key: tuple[Any, ...] | None) -> str:
    if key is None:
        return "no name and date of birth"
    name, birth, dtype, country, commitment = key
    doc = f", {dtype} ({country}) {str(commitment)[-8:]}" if commitment else ", no identity document"
    return f"{name} born {birth}{doc}"


def _same_applicant(reports: Sequence[CredentialReport]) -> tuple[CheckResult, ...]:
    """Check 11: one holder key, one name, one date of birth and one identity document."""
    subjects = {r.source: r.subject_id for r in reports if r.credential is not None}
    missing = [s for s, sub in subjects.items() if not sub]
    distinct = sorted({sub for sub in subjects.values() if sub})
    ev: dict[str, Any] = {"subjects": dict(subjects)}
    if missing:
        return (CheckResult(CheckId.SAME_APPLICANT, Status.FAIL, f"Some credentials name no applicant: {', '.join(missing)}.", ev),)
    if len(distinct) > 1:
        groups = "; ".join(f"{sub}: {', '.join(s for s, x in subjects.items() if x == sub)}" for sub in distinct)
        return (CheckResult(CheckId.SAME_APPLICANT, Status.FAIL, f"The credentials name {len(distinct)} different applicants (holder keys: {groups}).", ev),)
    if not distinct:
        return (CheckResult(CheckId.SAME_APPLICANT, Status.SKIPPED, "No readable credential.", ev),)
    people = {r.source: _person_key(r.credential) for r in reports if r.credential is not None}
    kinds = list(dict.fromkeys(people.values()))
    ev["people"] = {s: _person_text(k) for s, k in people.items()}
    if len(kinds) > 1:
        fields = ("name", "date of birth", "identity document type", "issuing country", "identity document")
        differ = [
            f for i, f in enumerate(fields)
            if len({(k[i] if k is not None else None) for k in kinds}) > 1
        ]
        groups = "; ".join(
            f"{_person_text(k)}: {', '.join(s for s, x in people.items() if x == k)}" for k in kinds
        )
        return (
            CheckResult(
                CheckId.SAME_APPLICANT,
                Status.FAIL,
                f"The credentials name different people ({', '.join(differ)} differ): {groups}.",
                ev,
            ),
        )
    return (
        CheckResult(
            CheckId.SAME_APPLICANT,
            Status.PASS,
            f"All {len(subjects)} credentials name the same applicant ({_person_text(kinds[0])}) and holder key.",
            {"subject": distinct[0], "person": _person_text(kinds[0])},
        ),
    )


def _person(reports: Sequence[CredentialReport]) -> dict[str, Any] | None:
    """The person the (first readable) credential names, for the report's ``person``."""
    for r in reports:
        person = c_person.person_of(r.credential) if r.credential is not None else None
        if person is not None:
            return {
                "name": person.name,
                "birthDate": person.birth_date,
                "documentType": person.document_type,
                "issuingCountry": person.issuing_country,
                "documentChecked": False,
                "documentMatches": None,
            }
    return None


_DOCUMENT_NOT_CHECKED = "not checked: compare the name and date of birth with the travel document"


def _identity_document(reports: Sequence[CredentialReport], number: str, salt: str | None) -> CheckResult:
    """Check 12: every credential's identity-document commitment opens to ``number``."""
    readable = [r for r in reports if r.credential is not None]
    if not readable:
        return CheckResult(CheckId.IDENTITY_DOCUMENT, Status.SKIPPED, "No readable credential.")
    try:
        c_person.normalize_document_number(number)
    except ValueError as exc:
        return CheckResult(CheckId.IDENTITY_DOCUMENT, Status.ERROR, f"The document number given cannot be compared: {exc}.")
    if salt is None:
        return CheckResult(
            CheckId.IDENTITY_DOCUMENT,
            Status.ERROR,
            "The identity document cannot be compared: no salt (a presentation from the holder "
            "carries it; with bare credentials the holder's salt must be given: CLI --id-salt, API "
            "idSalt). Compare the name and date of birth with the travel document.",
        )
    wrong: list[str] = []
    for r in readable:
        subject = r.credential.get("credentialSubject") if r.credential is not None else None
        if isinstance(subject, list) and len(subject) == 1:
            subject = subject[0]
        doc = subject.get("identityDocument") if isinstance(subject, Mapping) else None
        if not isinstance(doc, Mapping):
            wrong.append(f"{r.source} names no identity document")
        elif not c_person.identity_document_matches(doc, number, salt):
            wrong.append(f"{r.source} names another {doc.get('documentType', 'document')} ({doc.get('issuingCountry', '?')})")
    if wrong:
        return CheckResult(
            CheckId.IDENTITY_DOCUMENT,
            Status.FAIL,
            "The travel document shown is not the one the credentials name: " + "; ".join(wrong) + ".",
            {"credentials": len(readable)},
        )
    return CheckResult(
        CheckId.IDENTITY_DOCUMENT,
        Status.PASS,
        f"The travel document shown is the one all {len(readable)} credential(s) name.",
        {"credentials": len(readable)},
    )


def _fact_problems(doc: Mapping[str, Any], now: datetime) -> list[Any]:
    """Impossible or future facts (the credential package's ``claims.fact_problems``)."""
    return c_claims.fact_problems(doc, now.astimezone(UTC).date())


__all__ = [
    "ApplicationReport",
    "ChainReader",
    "Item",
    "Limits",
    "Prepared",
    "Verifier",
    "parse_json",
]
