"""The structured verification report: ordered checks, each with a status, a message and evidence.

Statuses follow the oa-verify convention (VALID/INVALID/ERROR/SKIPPED) in lower case. The verdict
fails closed: any ``fail`` makes the credential invalid; otherwise any ``error`` (for example the
chain could not be read) makes the verdict ``error``, which is never valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from talentproof.credential.types import KIND_CLAIMS, OPEN_BADGE


class Status(StrEnum):
    """The outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class Verdict(StrEnum):
    """The outcome of a whole report."""

    VALID = "valid"
    INVALID = "invalid"
    ERROR = "error"


class CheckId(StrEnum):
    """The checks, in the order they run (see :data:`CHECKS`)."""

    PARSE = "parse"
    SCHEMA = "schema"
    SIGNATURE = "signature"
    INCLUSION = "merkle_inclusion"
    ANCHOR = "anchor"
    ISSUER = "issuer_accreditation"
    KEY = "signing_key"
    STATUS = "credential_status"
    VALIDITY = "validity_window"
    BINDING = "presentation_binding"
    SAME_APPLICANT = "same_applicant"
    IDENTITY_DOCUMENT = "identity_document"


#: Number and short title of each check, in order.
CHECKS: Mapping[CheckId, tuple[int, str]] = {
    CheckId.PARSE: (1, "Readable credential"),
    CheckId.SCHEMA: (2, "Structure and schema"),
    CheckId.SIGNATURE: (3, "Issuer's signature"),
    CheckId.INCLUSION: (4, "Included in an anchored batch"),
    CheckId.ANCHOR: (5, "Anchored on the trusted ledger"),
    CheckId.ISSUER: (6, "Issuer accredited for this credential type"),
    CheckId.KEY: (7, "Signing key registered to the issuer"),
    CheckId.STATUS: (8, "Not revoked or suspended"),
    CheckId.VALIDITY: (9, "Within its validity period"),
    CheckId.BINDING: (10, "Presented by its holder to this verifier"),
    CheckId.SAME_APPLICANT: (11, "All credentials name the same applicant"),
    CheckId.IDENTITY_DOCUMENT: (12, "Identity document matches the one shown"),
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its id, status, a message a border officer understands, and its evidence.

    ``evidence`` holds facts such as the block number, the issuer's name or the key id; treat it
    as read-only.
    """

    id: CheckId
    status: Status
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """The check's position in the ordered list (1-based)."""
        return CHECKS[self.id][0]

    @property
    def title(self) -> str:
        """The check's short title."""
        return CHECKS[self.id][1]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id.value,
            "number": self.number,
            "title": self.title,
            "status": self.status.value,
            "message": self.message,
            "evidence": _jsonable(self.evidence),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_json` (evidence stays in its JSON form)."""
        return cls(
            id=CheckId(data["id"]),
            status=Status(data["status"]),
            message=str(data["message"]),
            evidence=dict(data.get("evidence") or {}),
        )


class Judged(Protocol):
    """What ``verdict_of`` reads of a check: a ``CheckResult``, or a ``checks.Finding``."""

    @property
    def status(self) -> Status: ...


def verdict_of(checks: Sequence[Judged]) -> Verdict:
    """Fail closed: any fail is invalid; else any error is error; else valid.

    An empty list of checks is not valid (nothing was verified).
    """
    # One pass, members compared by identity: a set of statuses hashes each enum member in
    # Python (~0.15 us a check).
    fail, error, passed = Status.FAIL, Status.ERROR, Status.PASS
    any_error = any_pass = False
    for c in checks:
        status = c.status
        if status is fail:
            return Verdict.INVALID
        if status is error:
            any_error = True
        elif status is passed:
            any_pass = True
    if any_error or not any_pass:  # (no check at all: nothing was verified)
        return Verdict.ERROR
    return Verdict.VALID


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """The chain state a report was read at."""

    chain_id: int
    registry: str
    block_number: int
    block_hash: str
    #: the block's time (Unix seconds): when the chain state judged by was current (0: unknown)
    block_timestamp: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "blockNumber": self.block_number,
            "blockHash": self.block_hash,
            "blockTimestamp": self.block_timestamp,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChainPoint:
        """Inverse of :meth:`to_json`."""
        return cls(
            chain_id=int(data["chainId"]),
            registry=str(data["registry"]),
            block_number=int(data["blockNumber"]),
            block_hash=str(data["blockHash"]),
            block_timestamp=int(data.get("blockTimestamp") or 0),
        )


#: The subject member that states a kind's claim (what `claims_of` shows of a credential): the
#: members check 2 keeps to their own kind (`types.KIND_CLAIMS`) and an Open Badge's achievement.
CLAIM_MEMBERS: dict[str, str] = {**KIND_CLAIMS, OPEN_BADGE: "achievement"}


def claims_of(
    credential: Mapping[str, Any] | None, kind: str | None = None
) -> dict[str, Any] | None:
    """What a credential states, for people (shown whatever its verdict, with or without a
    profession): the ``degree``, ``employment`` or ``achievement`` of its ``kind`` (the one its
    checks judged; without a known kind, whichever it holds) and its validity dates.

    Only its own kind's: an Open Badge's subject admits other members, and a badge carrying a
    ``degree`` (a doctorate "from" a university, signed by a training centre accredited for
    badges alone) was shown as a degree beside the badge's VALID."""
    if not isinstance(credential, Mapping):
        return None
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        return None
    own = CLAIM_MEMBERS.get(kind) if isinstance(kind, str) else None
    members = (own,) if own is not None else ("degree", "employment", "achievement")
    out: dict[str, Any] = {k: _jsonable(subject[k]) for k in members if k in subject}
    for k in ("validFrom", "validUntil"):
        if isinstance(credential.get(k), str):
            out[k] = credential[k]
    return out


@dataclass(frozen=True, slots=True)
class CredentialReport:
    """The ordered checks of one credential.

    ``source`` names where the credential came from (a file name, "QR image", ...);
    ``credential`` is the parsed credential without its anchor proof, when parsing succeeded.
    """

    source: str
    checks: tuple[CheckResult, ...]
    credential_id: str | None = None
    kind: str | None = None
    subject_id: str | None = None
    issuer_name: str | None = None  # on chain (the registry's record), when the ledger was read
    chain: ChainPoint | None = None
    credential: Mapping[str, Any] | None = None
    credential_hash: str | None = None
    anchor: Mapping[str, Any] | None = None
    issuer_did: str | None = None  # on chain (the registry's record), when the ledger was read

    @property
    def verdict(self) -> Verdict:
        """The fail-closed verdict over all checks."""
        return verdict_of(self.checks)

    @property
    def unreadable(self) -> bool:
        """Whether the input could not be read at all: its only failed check is "readable"
        (check 1) and it is not a text that was read but is no TalentProof payload. Such an
        input makes the application NOT_VERIFIABLE (`outcome_of`), not INVALID."""
        failed = [c for c in self.checks if c.status is Status.FAIL]
        return bool(failed) and not any(_decides(c) for c in failed)

    def check(self, check_id: CheckId) -> CheckResult:
        """The result of one check (raises KeyError when it did not run)."""
        for c in self.checks:
            if c.id is check_id:
                return c
        raise KeyError(check_id.value)

    def to_json(self, *, include_credential: bool = False) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {
            "source": self.source,
            "verdict": self.verdict.value,
            "credentialId": self.credential_id,
            "kind": self.kind,
            "subject": self.subject_id,
            "issuerName": self.issuer_name,
            "issuerDid": self.issuer_did,
            "credentialHash": self.credential_hash,
            "chain": self.chain.to_json() if self.chain else None,
            "checks": [c.to_json() for c in self.checks],
            "claims": claims_of(self.credential, self.kind),
            # decided here once (`unreadable`): the page titles its card as the CLI's heading
            "unreadable": self.unreadable,
        }
        if include_credential and self.credential is not None:
            out["credential"] = _jsonable(self.credential)
            out["anchor"] = _jsonable(self.anchor) if self.anchor is not None else None
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CredentialReport:
        """Inverse of :meth:`to_json`."""
        chain = data.get("chain")
        return cls(
            source=str(data["source"]),
            checks=tuple(CheckResult.from_json(c) for c in data["checks"]),
            credential_id=data.get("credentialId"),
            kind=data.get("kind"),
            subject_id=data.get("subject"),
            issuer_name=data.get("issuerName"),
            issuer_did=data.get("issuerDid"),
            chain=ChainPoint.from_json(chain) if chain else None,
            credential=data.get("credential"),
            credential_hash=data.get("credentialHash"),
            anchor=data.get("anchor"),
        )


# --------------------------------------------------------------------------- the one verdict


class Outcome(StrEnum):
    """What an application comes to, said one way by the CLI (result line and exit code), the
    JSON, the service and the web page (see :func:`outcome_of`)."""

    VALID_MEETS = "VALID_MEETS"  # every credential valid, the profession met
    VALID_NOT_MET = "VALID_NOT_MET"  # every credential valid, the profession not met
    VALID = "VALID"  # every credential valid, no profession asked
    INVALID = "INVALID"  # a check failed (the first failing check is named)
    NOT_VERIFIABLE = "NOT_VERIFIABLE"  # an input could not be read, or the ledger could not


#: The headline of each outcome.
OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.VALID_MEETS: "VALID AND MEETS THE PROFESSION",
    Outcome.VALID_NOT_MET: "DOES NOT MEET THE PROFESSION (credentials valid)",
    Outcome.VALID: "VALID",
    Outcome.INVALID: "INVALID",
    Outcome.NOT_VERIFIABLE: "NOT VERIFIABLE",
}


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """An outcome and the one sentence that says why."""

    outcome: Outcome
    reason: str

    @property
    def label(self) -> str:
        """The headline (e.g. ``INVALID``)."""
        return OUTCOME_LABELS[self.outcome]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"code": self.outcome.value, "label": self.label, "reason": self.reason}


def _first(checks: Any, status: Status) -> CheckResult | None:
    return next((c for c in checks if c.status is status), None)


def _check_text(c: CheckResult) -> str:
    return f"check {c.number} ({c.title}): {c.message}"


def _decides(c: CheckResult) -> bool:
    """A failed check that makes the application INVALID: any but "readable", and "readable"
    itself when the input was read but is not a TalentProof payload (issue 12)."""
    return c.id is not CheckId.PARSE or bool(c.evidence.get("notTalentProof"))


def _not_valid(credentials: Sequence[Any], checks: Sequence[CheckResult]) -> OutcomeResult | None:
    """`outcome_of` up to the profession: INVALID or NOT_VERIFIABLE with its reason, in its
    order, or None when every credential is valid (`refusal_of` asks the same)."""
    if not credentials:
        return OutcomeResult(Outcome.NOT_VERIFIABLE, "No credential was given.")
    for r in credentials:
        failed = next((c for c in r.checks if c.status is Status.FAIL and _decides(c)), None)
        if failed is not None:
            return OutcomeResult(Outcome.INVALID, f"{r.source}: {_check_text(failed)}")
    failed = _first(checks, Status.FAIL)
    if failed is not None:
        return OutcomeResult(Outcome.INVALID, f"Application: {_check_text(failed)}")
    for r in credentials:
        unread = next((c for c in r.checks if c.status is Status.FAIL), None)
        if unread is not None:
            return OutcomeResult(
                Outcome.NOT_VERIFIABLE, f"Could not read {r.source}: {unread.message}"
            )
    for r in credentials:
        err = _first(r.checks, Status.ERROR)
        if err is not None:
            return OutcomeResult(Outcome.NOT_VERIFIABLE, f"{r.source}: {_check_text(err)}")
    err = _first(checks, Status.ERROR)
    if err is not None:
        return OutcomeResult(Outcome.NOT_VERIFIABLE, f"Application: {_check_text(err)}")
    if any(verdict_of(r.checks) is not Verdict.VALID for r in credentials):  # nothing passed
        return OutcomeResult(Outcome.NOT_VERIFIABLE, "Nothing could be verified.")
    return None


def outcome_of(report: Any) -> OutcomeResult:
    """The one outcome of an application report (``ApplicationReport``: ``credentials``,
    ``checks``, ``profession``), with its reason.

    Order: a failed check other than "readable" makes it INVALID (a forgery stays a forgery,
    even beside an unreadable picture), naming the first one, and so does a text that was read
    but is not a TalentProof payload (check 1, evidence ``notTalentProof``); else an input that could not be
    read (check 1) or a check that could not be confirmed (the ledger could not be read, or the
    identity document could not be compared) makes it NOT_VERIFIABLE; else it is valid, and the
    profession, when asked, decides between VALID_MEETS and VALID_NOT_MET.
    """
    credentials = tuple(report.credentials)
    not_valid = _not_valid(credentials, report.checks)
    if not_valid is not None:
        return not_valid
    n = len(credentials)
    valid = f"All {n} credentials are valid" if n > 1 else "The credential is valid"
    prof = report.profession
    if prof is None:
        return OutcomeResult(Outcome.VALID, f"{valid}; no profession was asked.")
    if prof.met:
        return OutcomeResult(
            Outcome.VALID_MEETS,
            f"{valid}, and the application meets every criterion of '{prof.profession_name}' on "
            f"{prof.as_of.isoformat()}.",
        )
    unmet = next(c for c in prof.criteria if not c.met) if prof.criteria else None
    why = f" ({unmet.title}: {unmet.reason})" if unmet is not None else ""
    return OutcomeResult(
        Outcome.VALID_NOT_MET,
        f"{valid}, but the application does not meet '{prof.profession_name}' on "
        f"{prof.as_of.isoformat()}{why}.",
    )


def refusal_of(
    credentials: Sequence[CredentialReport], checks: Sequence[CheckResult]
) -> str | None:
    """Why none of an application's credentials counts toward a profession, or None when they
    may: an application meets a profession only when its own outcome is valid.

    Fail closed: when the application is INVALID (a credential failed a check: tampered, forged,
    revoked, not anchored, expired ...; or an application check failed: credentials of several
    people, someone else's at the counter) or NOT VERIFIABLE (an input not read, the ledger or
    the travel document not confirmed), the policy counts none of its credentials, the valid
    ones included: every criterion is unmet, naming what is wrong. The profession is then never
    "met" under an INVALID or NOT VERIFIABLE line (CLI, JSON, service, page, receipts).
    """
    outcome = _not_valid(credentials, checks)
    if outcome is None:
        return None
    if outcome.outcome is Outcome.NOT_VERIFIABLE:
        return f"the application is {outcome.label}: {outcome.reason}"
    why = []
    for r in credentials:
        failed = next((c for c in r.checks if c.status is Status.FAIL and _decides(c)), None)
        if failed is not None:
            why.append(f"{r.source} failed check {failed.number} ({failed.title})")
    why += [
        f"check {c.number} ({c.title}) failed: {c.message}"
        for c in checks
        if c.status is Status.FAIL
    ]
    return f"the application is {outcome.label}: " + "; ".join(why)
