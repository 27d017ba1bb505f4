"""The checks themselves: pure functions returning typed outcomes.

Each function decides one check (see the numbered list in :mod:`talentproof.verifier.engine`) and
returns a :class:`Finding`: the check's id, its status, a :class:`Reason` code, the ``facts`` its
sentence needs and the ``evidence`` the report carries. No English here (that is
:mod:`talentproof.verifier.messages`), no cache of findings (the engine applies it from outside,
see :mod:`talentproof.verifier.memo`; two pure helpers, the ISO date parse and a key's multibase
form, keep an ``lru_cache``), no I/O: the chain checks 5-8 judge the verdict the engine read.

Example::

    finding = checks.validity(credential, as_of)
    if finding.reason is Reason.EXPIRED: ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from talentproof.credential import anchor as c_anchor
from talentproof.credential import claims as c_claims
from talentproof.credential import integrity as c_integrity
from talentproof.credential import keys as c_keys
from talentproof.credential import merkle as c_merkle
from talentproof.credential import person as c_person
from talentproof.credential import presentation as c_presentation
from talentproof.credential import types as c_types
from talentproof.credential.errors import (
    CredentialError,
    MerkleProofError,
    ProofError,
    SchemaValidationError,
)
from talentproof.verifier import fastschema
from talentproof.verifier.facts import (
    DegreeFact,
    NamedParty,
    fact_of,
    not_the_issuer,
    same_name,
    stated_party,
)
from talentproof.verifier.report import CheckId, CredentialReport, Status
from talentproof.verifier.trust import TrustedDeployment

_NOTHING: Mapping[str, Any] = MappingProxyType({})  # no facts, no evidence (read-only)


class Reason(StrEnum):
    """Why a check came out as it did (one per sentence of :data:`messages.TEMPLATES`)."""

    # a check skipped because an earlier one failed
    SKIP_UNREADABLE = "skip_unreadable"
    SKIP_NOT_HASHABLE = "skip_not_hashable"
    SKIP_NOT_ANCHORED = "skip_not_anchored"
    SKIP_NOT_IN_BATCH = "skip_not_in_batch"
    SKIP_NO_KEY = "skip_no_key"
    SKIP_UNKNOWN_TYPE = "skip_unknown_type"
    SKIP_NO_ISSUER = "skip_no_issuer"
    SKIP_NOT_ON_TRUSTED_REGISTRY = "skip_not_on_trusted_registry"
    SKIP_ANCHORED_AFTER_AS_OF = "skip_anchored_after_as_of"
    # (1) parse
    NOT_TALENTPROOF = "not_talentproof"
    UNREADABLE = "unreadable"
    PROOFS_UNREADABLE = "proofs_unreadable"
    READ = "read"
    # (2) schema and facts
    WELL_FORMED = "well_formed"
    IMPOSSIBLE_FACT = "impossible_fact"
    SCHEMA_MISMATCH = "schema_mismatch"
    MALFORMED = "malformed"
    # (3) signature
    SIGNATURE_VALID = "signature_valid"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_UNCHECKABLE = "signature_uncheckable"
    # (4) inclusion
    NOT_HASHABLE = "not_hashable"
    NO_ANCHOR_PROOF = "no_anchor_proof"
    INCLUDED = "included"
    NOT_IN_BATCH = "not_in_batch"
    # (5)-(8) without a chain answer
    LEDGER_UNREADABLE = "ledger_unreadable"
    LEDGER_UNREADABLE_SEE_ANCHOR = "ledger_unreadable_see_anchor"
    # (5) anchor
    ANCHORED_ELSEWHERE = "anchored_elsewhere"
    NOT_ANCHORED = "not_anchored"
    BATCH_SIZE_MISMATCH = "batch_size_mismatch"
    ANCHORED_AFTER_AS_OF = "anchored_after_as_of"
    TOO_FEW_CONFIRMATIONS = "too_few_confirmations"
    ANCHORED = "anchored"
    # (6) issuer
    ISSUER_NOT_ACTIVE = "issuer_not_active"
    TYPE_NOT_ACCREDITED = "type_not_accredited"
    LEVEL_NOT_ACCREDITED = "level_not_accredited"
    ANOTHER_ISSUER = "another_issuer"
    ISSUER_NAMED_OTHERWISE = "issuer_named_otherwise"
    ISSUER_PROFILE_UNVOUCHED = "issuer_profile_unvouched"
    CREATOR_PROFILE_UNVOUCHED = "creator_profile_unvouched"
    SUBJECT_NAMES_ANOTHER = "subject_names_another"
    ISSUER_ACCREDITED = "issuer_accredited"
    # (7) key
    KEY_NOT_REGISTERED = "key_not_registered"
    KEY_NOT_VALID_THEN = "key_not_valid_then"
    KEY_VALID = "key_valid"
    # (8) status
    REVOKED = "revoked"
    BATCH_REVOKED = "batch_revoked"
    SUSPENDED = "suspended"
    IN_GOOD_STANDING = "in_good_standing"
    # (9) validity window
    BAD_VALID_FROM = "bad_valid_from"
    BAD_VALID_UNTIL = "bad_valid_until"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    VALID_ON = "valid_on"
    # (10) presentation binding
    BINDING_NOT_REQUESTED = "binding_not_requested"
    HOLDER_SIGNED = "holder_signed"
    NO_CREDENTIAL_PRESENTED = "no_credential_presented"
    HOLDER_PROOF_INVALID = "holder_proof_invalid"
    NOT_BOUND = "not_bound"
    BOUND = "bound"
    CHALLENGE_REFUSED = "challenge_refused"
    BARE_CREDENTIAL = "bare_credential"
    # (11) same applicant
    NO_APPLICANT = "no_applicant"
    DIFFERENT_HOLDERS = "different_holders"
    NO_READABLE_CREDENTIAL = "no_readable_credential"
    DIFFERENT_PEOPLE = "different_people"
    SAME_APPLICANT = "same_applicant"
    # (12) identity document
    DOCUMENT_NUMBER_UNUSABLE = "document_number_unusable"
    NO_SALT = "no_salt"
    SALT_UNUSABLE = "salt_unusable"
    ANOTHER_DOCUMENT = "another_document"
    SAME_DOCUMENT = "same_document"


class Finding:
    """The typed outcome of one check: what was decided and why, before any English.

    ``facts``: what its sentence needs; ``evidence``: what the report carries (both read-only).
    """

    __slots__ = ("check", "evidence", "facts", "reason", "status")

    def __init__(
        self,
        check: CheckId,
        status: Status,
        reason: Reason,
        facts: Mapping[str, Any] = _NOTHING,
        evidence: Mapping[str, Any] = _NOTHING,
    ) -> None:
        self.check = check
        self.status = status
        self.reason = reason
        self.facts = facts
        self.evidence = evidence

    def __repr__(self) -> str:
        return f"Finding({self.check.value}, {self.status.value}, {self.reason.value}, {dict(self.facts)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return (self.check, self.status, self.reason, self.facts, self.evidence) == (
            other.check,
            other.status,
            other.reason,
            other.facts,
            other.evidence,
        )

    __hash__ = None  # type: ignore[assignment]  # facts and evidence are mappings


def skipped(check: CheckId, reason: Reason) -> Finding:
    """A check that did not run because of an earlier failure (``reason``: a ``SKIP_*``)."""
    return Finding(check, Status.SKIPPED, reason)


CHAIN_CHECKS = (CheckId.ANCHOR, CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)
#: The checks after check 1 of a credential (skipped together when it cannot be read).
AFTER_PARSE = (
    CheckId.SCHEMA,
    CheckId.SIGNATURE,
    CheckId.INCLUSION,
    *CHAIN_CHECKS,
    CheckId.VALIDITY,
)

# --------------------------------------------------------------------------- small readers


def hex0x(b: bytes) -> str:
    return "0x" + b.hex()


def kind_of(doc: Mapping[str, Any]) -> str | None:
    """The credential's type (its last ``type`` entry); None when it names none (an empty text
    is no type name: checks 5-8 cannot ask the ledger about it)."""
    types = doc.get("type")
    if isinstance(types, str):
        return types or None
    if isinstance(types, list) and types and isinstance(types[-1], str):
        return types[-1] or None
    return None


def subject_id(doc: Mapping[str, Any]) -> str | None:
    """The credential subject's id (the holder's DID)."""
    subject = doc.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    if isinstance(subject, Mapping):
        found = subject.get("id")
        if isinstance(found, str):
            return found
    return None


def issuer_id(doc: Mapping[str, Any]) -> str | None:
    """The issuer DID the credential names."""
    iss = doc.get("issuer")
    if isinstance(iss, Mapping):
        iss = iss.get("id")
    return iss if isinstance(iss, str) else None


def issuer_name(doc: Mapping[str, Any]) -> str | None:
    """The name the credential states for its issuer (``issuer.name``), None when it states
    none (an issuer given as its DID alone)."""
    iss = doc.get("issuer")
    name = iss.get("name") if isinstance(iss, Mapping) else None
    return name if isinstance(name, str) else None


#: Where `issuer_unvouched` found a member: the issuer object, a badge achievement's creator.
ISSUER_PROFILE, CREATOR_PROFILE = "issuer", "creator"


def issuer_unvouched(doc: Mapping[str, Any], kind: str | None) -> tuple[tuple[str, str], ...]:
    """The members of the profiles describing the issuer that the registry cannot vouch for, as
    ``(where, member)``: the credential's ``issuer`` object (`ISSUER_PROFILE`;
    `credential.types.unvouched_issuer_members`: all but ``id``, ``name`` and an Open Badge's
    ``type: ["Profile"]``) and an Open Badge achievement's ``creator`` (`CREATOR_PROFILE`, the
    issuing institution itself: `credential.types.unvouched_creator_members`); () when neither
    holds one (an issuer or a creator given as its DID alone holds none)."""
    out = [(ISSUER_PROFILE, m) for m in c_types.unvouched_issuer_members(kind, doc.get("issuer"))]
    if kind == c_types.OPEN_BADGE:
        subject = doc.get("credentialSubject")
        if isinstance(subject, list):  # (the first, as the facts read it)
            subject = subject[0] if subject else None
        ach = subject.get("achievement") if isinstance(subject, Mapping) else None
        creator = ach.get("creator") if isinstance(ach, Mapping) else None
        out.extend((CREATOR_PROFILE, m) for m in c_types.unvouched_creator_members(creator))
    return tuple(out)


_ISSUER_PARTS: dict[tuple[str | None, str], tuple[str | None, str | None, Any]] = {}


def issuer_parts(
    doc: Mapping[str, Any], kind: str | None
) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
    """``(issuer_id(doc), issuer_name(doc), issuer_unvouched(doc, kind))``, kept per ``(kind,
    issuer)`` when the issuer is a text and the kind no Open Badge: then all three are functions
    of those two alone (a text issuer has no name and no members; only a badge's achievement
    creator adds to the unvouched ones). A folder's credentials of one issuer share them."""
    iss = doc.get("issuer")
    if type(iss) is not str or kind == c_types.OPEN_BADGE:
        return issuer_id(doc), issuer_name(doc), issuer_unvouched(doc, kind)
    key = (kind, iss)
    found = _ISSUER_PARTS.get(key)
    if found is None:
        found = (issuer_id(doc), issuer_name(doc), issuer_unvouched(doc, kind))
        if len(_ISSUER_PARTS) >= 1024:
            _ISSUER_PARTS.clear()
        _ISSUER_PARTS[key] = found
    return found


def subject_party(doc: Mapping[str, Any] | None) -> NamedParty | None:
    """The institution the credential's subject names as attesting (a degree's awarding
    institution, an employment's employer, a badge achievement's creator), as the profession
    reads it (`facts.stated_party`, its fact's `facts.named_party`); None when it names none."""
    return None if doc is None else stated_party(doc)


def utc(value: datetime | date | None) -> datetime | None:
    """A date or date-time as an aware UTC date-time (a naive one is read as UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def today_means_now(value: datetime | date | None, now: datetime) -> datetime | date | None:
    """The as-of to judge by: a date (no time of day) that is today, ``now``'s UTC date or its
    date in this machine's time zone, means now (None, the default), not its first second; any
    other value is kept (a past or future date means its 00:00 UTC, a date-time that time).

    An officer giving today's date means "now": read as 00:00 UTC it hid every revocation and
    suspension made since (a false VALID; 00:00 UTC is 08:00 in Hong Kong). Today is also the
    officer's own date (the CLI's machine): where it is not the UTC date (Hong Kong from 00:00
    to 08:00; west of UTC in the evening) its 00:00 UTC was a time to come (a credential valid
    from later today read VALID) or yesterday's (a day of revocations unseen). The page sends
    no as-of for the browser's today."""
    if (
        value is not None
        and not isinstance(value, datetime)
        and value in (now.astimezone(UTC).date(), now.astimezone().date())
    ):
        return None
    return value


def as_of_instant(
    value: datetime | date | None, clock: Callable[[], datetime]
) -> tuple[datetime, int]:
    """What instant a verification is as of, for every mode (one application, a folder):
    (the as-of date-time checks 5, 8 and 9 judge by, the as-of seconds sent to the chain).

    ``value`` None, or today's date (:func:`today_means_now`), means now: ``clock()`` and 0
    (the chain reads 0 as its block's own time). A date means its 00:00 UTC, a naive date-time
    UTC. The chain reads uint64 times, 0 meaning "now": a date before 1970 is read as of the
    first second (nothing was anchored then; check 9 fails it as not yet valid)."""
    now = clock()
    as_of = utc(today_means_now(value, now))
    if as_of is None:
        return now, 0
    return as_of, max(int(as_of.timestamp()), 1)


def parse_time(text: Any) -> datetime | None:
    """An ISO date-time text as an aware date-time, or None."""
    if not isinstance(text, str):
        return None
    return _parse_time_text(text)


@functools.lru_cache(maxsize=4096)
def _parse_time_text(text: str) -> datetime | None:
    """A pure function of the string (cached: a batch's credentials share their dates)."""
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        return None


# Issuer status enum of the contract (IIssuerRegistry.IssuerStatus).
_ISSUER_STATUS = ("none", "active", "suspended", "removed")


def status_name(value: Any) -> str:
    """An issuer status as a lower-case word."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name.lower()
    try:
        return _ISSUER_STATUS[int(value)]
    except (ValueError, IndexError, TypeError):
        return str(value).lower()


def actor_name(actor: Any) -> str | None:
    """``StatusActor`` of the verdict as evidence text: "issuer", "governance" or None."""
    return {1: "issuer", 2: "governance"}.get(int(actor or 0))


def block_hash(verdict: Any) -> str:
    """The hash of the block a verdict was read at, as 0x text ("" when unknown)."""
    h = getattr(verdict, "block_hash", None)
    if isinstance(h, (bytes, bytearray)):
        return hex0x(bytes(h))
    return str(h) if h else ""


# --------------------------------------------------------------------------- (1)-(4) offline


def parse(
    document: Mapping[str, Any] | None, error: str | None = None, *, invalid_input: bool = False
) -> tuple[Finding, dict[str, Any] | None, Any]:
    """Check 1: (the finding, the credential without its anchor proof, the anchor proof or None).
    ``invalid_input``: the input was read but is not a TalentProof payload (not "unreadable")."""
    if document is None or not isinstance(document, Mapping):
        why = error or "expected a JSON object"
        if invalid_input:
            return (
                Finding(
                    CheckId.PARSE,
                    Status.FAIL,
                    Reason.NOT_TALENTPROOF,
                    {"why": why},
                    {"notTalentProof": True},
                ),
                None,
                None,
            )
        return Finding(CheckId.PARSE, Status.FAIL, Reason.UNREADABLE, {"why": why}), None, None
    try:
        doc, anchor = c_anchor.split_anchor(document)  # (a copy: it leaves its argument as is)
    except CredentialError as exc:
        return (
            Finding(CheckId.PARSE, Status.FAIL, Reason.PROOFS_UNREADABLE, {"error": str(exc)}),
            None,
            None,
        )
    return parsed(doc, anchor is not None), doc, anchor


def parsed(doc: Mapping[str, Any], anchored: bool) -> Finding:
    """Check 1 passed: the credential ``doc`` (without its anchor proof) was read."""
    kind = kind_of(doc)
    facts = {"kind": kind, "anchored": anchored}
    return Finding(
        CheckId.PARSE,
        Status.PASS,
        Reason.READ,
        facts,
        {"credentialId": doc.get("id"), "kind": kind},
    )


def schema(doc: Mapping[str, Any], today: date) -> tuple[Finding, str | None]:
    """Check 2: the structure and schema of the credential's type, and no impossible or future
    fact (``today``: the verification date). Returns the finding and the validated type (None
    when the schema check failed)."""
    try:
        kind = fastschema.validate_credential(doc)
        problems = [] if facts_ok_fast(doc, kind, today) else c_claims.fact_problems(doc, today)
    except SchemaValidationError as exc:
        facts = {"field": exc.field, "expected": exc.expected}
        evidence: dict[str, Any] = {**facts, "found": repr(exc.found)[:200]}
        return Finding(CheckId.SCHEMA, Status.FAIL, Reason.SCHEMA_MISMATCH, facts, evidence), None
    except CredentialError as exc:
        return Finding(CheckId.SCHEMA, Status.FAIL, Reason.MALFORMED, {"error": str(exc)}), None
    if problems:
        first = problems[0]
        text = today.isoformat()
        facts = {"field": first.field, "message": first.message, "today": text}
        evidence = {"field": first.field, "problems": [str(x) for x in problems], "today": text}
        return Finding(CheckId.SCHEMA, Status.FAIL, Reason.IMPOSSIBLE_FACT, facts, evidence), kind
    return Finding(
        CheckId.SCHEMA, Status.PASS, Reason.WELL_FORMED, {"kind": kind}, {"kind": kind}
    ), kind


#: The subject fields `claims.fact_problems` checks for a kind other than the credential's own.
_OTHER_KINDS_FIELDS = {
    "DegreeCredential": ("employment", "activityStartDate", "activityEndDate"),
    "EmploymentCredential": ("degree", "activityStartDate", "activityEndDate"),
}


def facts_ok_fast(doc: Any, kind: str, today: date) -> bool:
    """True only when ``claims.fact_problems(doc, today)`` is empty; False when it is not, or
    may not be (the caller then asks it).

    Why: check 2 of every credential (~0.5 us against the reference's ~2 us).
    ``claims.subject_facts_ok`` checks a degree or employment subject's own fields; this
    adds what ``fact_problems`` reads beyond them (a root ``awardedDate``, another kind's
    fields, a subject that is a list) by sending those documents to the reference.
    tests/verifier/test_checks.py compares both on generated credentials.
    """
    others = _OTHER_KINDS_FIELDS.get(kind)
    if others is None or type(doc) is not dict or "awardedDate" in doc:
        return False
    subject = doc.get("credentialSubject")
    if type(subject) is not dict:
        return False
    for name in others:
        if subject.get(name) is not None:
            return False
    return c_claims.subject_facts_ok(kind, subject, today)


class Signed(NamedTuple):
    """What check 3 learns besides its finding: the signing key (raw and as a key id) and the
    credential hash (None where it could not be read)."""

    signing_key: bytes | None = None
    key_id: str | None = None
    credential_hash: bytes | None = None


@functools.lru_cache(maxsize=1024)
def _multibase_of(raw: bytes) -> str:
    return c_keys.Ed25519PublicKey.from_raw(raw).multibase  # issuers' keys repeat: once per key


def signature(doc: Mapping[str, Any]) -> tuple[Finding, Signed]:
    """Check 3: the issuer's eddsa-jcs-2022 signature. A failing signature still names the key
    the proof claims (checks 5-8 then say whose it is)."""
    try:
        # One serialization serves the signature and the credential hash (same results as
        # verify() then credential_hash(); proven in tests/credential).
        verified, credential_hash = c_integrity.verify_and_hash(doc)
    except ProofError as exc:
        name = type(exc).__name__
        finding = Finding(
            CheckId.SIGNATURE,
            Status.FAIL,
            Reason.SIGNATURE_INVALID,
            {"errorType": name, "error": str(exc)},
            {"error": name},
        )
        claimed = key_of(doc)
        if claimed is None:
            return finding, Signed()
        return finding, Signed(bytes(claimed.raw), claimed.multibase)
    except CredentialError as exc:
        return Finding(
            CheckId.SIGNATURE, Status.FAIL, Reason.SIGNATURE_UNCHECKABLE, {"error": str(exc)}
        ), Signed()
    return signature_valid(
        bytes(verified.public_key.raw), verified.verification_method, credential_hash
    )


def signature_valid(raw: bytes, vm: str, credential_hash: bytes) -> tuple[Finding, Signed]:
    """Check 3 passed: signed by the key ``raw`` that verification method ``vm`` names."""
    key_id = _multibase_of(raw)
    evidence = {"keyId": key_id, "verificationMethod": vm}
    return Finding(
        CheckId.SIGNATURE, Status.PASS, Reason.SIGNATURE_VALID, _NOTHING, evidence
    ), Signed(raw, key_id, credential_hash)


def key_of(doc: Mapping[str, Any]) -> Any:
    """The public key the proof's did:key verification method names, even when it does not verify."""
    proof = doc.get("proof")
    if isinstance(proof, list):
        proof = next(
            (e for e in proof if isinstance(e, Mapping) and e.get("type") != "TalentProofAnchor"),
            None,
        )
    vm = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    if not isinstance(vm, str):
        return None
    try:
        return c_keys.Ed25519PublicKey.from_verification_method(vm)
    except (CredentialError, ValueError):
        return None


def inclusion(
    doc: Mapping[str, Any],
    anchor: Any,
    credential_hash: bytes | None,
    memo: c_merkle.InclusionMemo | None = None,
) -> tuple[Finding, bytes | None, Reason | None]:
    """Check 4: the credential hash is in the anchored Merkle tree. Returns the finding, the
    credential hash (computed here if check 3 did not) and, when checks 5-8 cannot run, why
    (a ``SKIP_*`` reason). ``memo``: the inner nodes already hashed for earlier credentials
    (`~talentproof.credential.merkle.InclusionMemo`, the same answer)."""
    try:
        if credential_hash is None:  # the signature check failed before hashing
            credential_hash = c_merkle.credential_hash(doc)
    except CredentialError as exc:
        return (
            Finding(CheckId.INCLUSION, Status.FAIL, Reason.NOT_HASHABLE, {"error": str(exc)}),
            None,
            Reason.SKIP_NOT_HASHABLE,
        )
    if anchor is None:
        evidence = {"credentialHash": hex0x(credential_hash)}
        return (
            Finding(CheckId.INCLUSION, Status.FAIL, Reason.NO_ANCHOR_PROOF, _NOTHING, evidence),
            credential_hash,
            Reason.SKIP_NOT_ANCHORED,
        )
    root = bytes(anchor.merkle_root)
    try:
        c_merkle.verify_inclusion(credential_hash, anchor.inclusion, root, memo)
    except (MerkleProofError, CredentialError) as exc:
        evidence = {"merkleRoot": hex0x(root), "credentialHash": hex0x(credential_hash)}
        finding = Finding(
            CheckId.INCLUSION, Status.FAIL, Reason.NOT_IN_BATCH, {"error": str(exc)}, evidence
        )
        return finding, credential_hash, Reason.SKIP_NOT_IN_BATCH
    return included(anchor, credential_hash), credential_hash, None


def included(anchor: Any, credential_hash: bytes) -> Finding:
    """Check 4 passed: ``credential_hash`` is in the tree of ``anchor``'s root."""
    facts = {"leafIndex": anchor.leaf_index, "treeSize": anchor.tree_size}
    evidence = {
        "merkleRoot": hex0x(bytes(anchor.merkle_root)),
        **facts,
        "credentialHash": hex0x(credential_hash),
    }
    return Finding(CheckId.INCLUSION, Status.PASS, Reason.INCLUDED, facts, evidence)


# --------------------------------------------------------------------------- (5)-(8) chain


def chain_unreadable(error: str) -> list[Finding]:
    """Checks 5-8 when the ledger could not be read: errors, never passes."""
    first, *rest = CHAIN_CHECKS
    return [
        Finding(first, Status.ERROR, Reason.LEDGER_UNREADABLE, {"error": error}),
        *(Finding(cid, Status.ERROR, Reason.LEDGER_UNREADABLE_SEE_ANCHOR) for cid in rest),
    ]


def degree_level(doc: Mapping[str, Any] | None, kind: str | None) -> str | None:
    """The level check 6 judges a degree by: the one the policy counts (``facts.fact_of``), so
    that the level accredited and the level counted are always the same."""
    if kind != c_types.DEGREE or doc is None:
        return None
    fact = fact_of("", doc)
    return fact.level if isinstance(fact, DegreeFact) else None


def _level_accredited(v: Any, kind: str | None, level: str | None) -> bool:
    """Whether the verdict's issuer was accredited, when it anchored the credential, for the
    level-scoped type of ``kind`` at ``level`` (never without a known level)."""
    if kind is None or level not in c_types.DEGREE_LEVELS:
        return False
    name = c_types.scoped_type(kind, level)
    return any(s.name == name and s.accredited_at_anchor for s in getattr(v, "type_scopes", ()))


def _scope_level(name: str) -> str:
    """``bachelor`` of ``DegreeCredential#level=bachelor``."""
    return c_types.parse_accreditation(name)[1] or name


def chain_checks(
    *,
    anchor: Any,
    kind: str | None,
    key_id: str | None,
    claimed_issuer: str | None,
    verdict: Any,
    claimed_name: str | None = None,
    unvouched: tuple[tuple[str, str], ...] = (),
    party: NamedParty | None = None,
    chain_id: int,
    block_number: int,
    block_hash_hex: str,
    trust: TrustedDeployment,
    min_confirmations: int,
    level: str | None = None,
    explicit_as_of: bool = True,
    block_time: int = 0,
) -> list[Finding]:
    """Checks 5-8 from the registry's verdict: a pure function of its arguments.

    ``anchor``: the credential's anchor proof; ``verdict``: the verification view's answer read
    at ``block_number`` of chain ``chain_id``; ``min_confirmations`` comes from the
    :class:`~talentproof.verifier.requirements.MinConfirmations` requirement; ``level``: a
    degree's level (``degree_level``), which its issuer may be accredited for instead of the
    whole type (the verdict's ``type_scopes``); ``claimed_issuer`` / ``claimed_name``: the
    issuer's DID and name as the credential states them (`issuer_id`, `issuer_name`), which
    must be the anchoring issuer's as registered (the name up to case, punctuation and spacing);
    ``party``: the institution the subject names (`subject_party`), which must be that issuer
    too (`facts.not_the_issuer`: the comparison the profession binds employers with).
    ``explicit_as_of``: the verdict was read as of the report's own time (an as-of time, said
    "as of T" by check 8), else as of the block read (now: check 8 names the block and
    ``block_time``, the time it was sealed, which is earlier than the report's check time).
    """
    out: list[Finding] = []
    v = verdict
    rec = v.anchor
    block = {"blockNumber": block_number, "blockHash": block_hash_hex}
    # (5) anchor: this chain, the trusted registry, anchored, the batch size, confirmations
    problems: list[tuple[str, Any, Any]] = []
    if int(anchor.chain_id) != chain_id:
        problems.append(("payload_chain", anchor.chain_id, chain_id))
    if trust.chain_id is not None and chain_id != trust.chain_id:
        problems.append(("trusted_chain", chain_id, trust.chain_id))
    if not trust.same_registry(str(anchor.registry)):
        problems.append(("registry", anchor.registry, trust.registry))
    anchored = int(rec.issuer_id) != 0
    confirmations = block_number - int(rec.block_number) + 1 if anchored else 0
    ev5 = {
        **block,
        "chainId": chain_id,
        "registry": trust.registry,
        "merkleRoot": hex0x(bytes(anchor.merkle_root)),
    }
    if problems:
        out.append(
            Finding(
                CheckId.ANCHOR, Status.FAIL, Reason.ANCHORED_ELSEWHERE, {"problems": problems}, ev5
            )
        )
    elif not anchored:
        out.append(Finding(CheckId.ANCHOR, Status.FAIL, Reason.NOT_ANCHORED, _NOTHING, ev5))
    elif int(anchor.tree_size) != int(rec.leaf_count):
        # The Merkle path cannot tell some tree sizes apart (e.g. 5 and 6 for leaf 0): the
        # anchored leaf count is the only witness of the batch size the proof claims.
        ev = {**ev5, "treeSize": int(anchor.tree_size), "leafCount": int(rec.leaf_count)}
        out.append(Finding(CheckId.ANCHOR, Status.FAIL, Reason.BATCH_SIZE_MISMATCH, ev, ev))
    elif int(v.as_of) < int(rec.anchored_at):
        # Not on the ledger at the time asked about: a "valid as of T" may only count what was
        # anchored by T (validFrom is the issuer's word and can be backdated; the anchor's block
        # time cannot). v.as_of is the chain's own as-of: the explicit one, else the read
        # block's timestamp, which is never before an anchor in that block or an earlier one.
        ev = {
            **ev5,
            "anchorBlock": int(rec.block_number),
            "anchoredAt": int(rec.anchored_at),
            "asOf": int(v.as_of),
        }
        facts = {
            "anchoredAt": int(rec.anchored_at),
            "anchorBlock": rec.block_number,
            "asOf": int(v.as_of),
        }
        out.append(Finding(CheckId.ANCHOR, Status.FAIL, Reason.ANCHORED_AFTER_AS_OF, facts, ev))
    elif confirmations < min_confirmations:
        ev = {**ev5, "anchorBlock": int(rec.block_number), "confirmations": confirmations}
        facts = {
            "anchorBlock": rec.block_number,
            "confirmations": confirmations,
            "required": min_confirmations,
        }
        out.append(Finding(CheckId.ANCHOR, Status.FAIL, Reason.TOO_FEW_CONFIRMATIONS, facts, ev))
    else:
        ev = {
            **ev5,
            "anchorBlock": int(rec.block_number),
            "anchoredAt": int(rec.anchored_at),
            "confirmations": confirmations,
        }
        facts = {
            "anchoredAt": int(rec.anchored_at),
            "anchorBlock": rec.block_number,
            "confirmations": confirmations,
        }
        out.append(Finding(CheckId.ANCHOR, Status.PASS, Reason.ANCHORED, facts, ev))
    if out[-1].status is not Status.PASS:
        skip = (
            Reason.SKIP_ANCHORED_AFTER_AS_OF
            if out[-1].reason is Reason.ANCHORED_AFTER_AS_OF
            else Reason.SKIP_NOT_ON_TRUSTED_REGISTRY
        )
        out.extend(skipped(cid, skip) for cid in (CheckId.ISSUER, CheckId.KEY, CheckId.STATUS))
        return out
    at = int(rec.anchored_at)
    # (6) issuer accredited at anchor time, for this type, and is the credential's issuer
    status_then = status_name(v.issuer_status_at_anchor)
    status_now = status_name(v.issuer_status)
    ev6 = {
        **block,
        "issuerId": int(rec.issuer_id),
        "issuerName": v.issuer_name,
        "issuerDid": v.issuer_did,
        "statusAtAnchor": status_then,
        "statusNow": status_now,
        "credentialType": kind,
    }
    facts6 = {"issuerName": v.issuer_name, "anchoredAt": at, "kind": kind}
    if status_then != "active":
        out.append(
            Finding(
                CheckId.ISSUER,
                Status.FAIL,
                Reason.ISSUER_NOT_ACTIVE,
                {**facts6, "statusThen": status_then},
                ev6,
            )
        )
    elif not v.type_accredited_at_anchor and not _level_accredited(v, kind, level):
        scopes = getattr(v, "type_scopes", ())
        if any(s.granted for s in scopes):  # accredited for some levels of the type, not this one
            levels = [_scope_level(s.name) for s in scopes if s.accredited_at_anchor]
            facts = {**facts6, "level": level, "levels": levels}
            ev = {**ev6, "degreeLevel": level, "accreditedLevels": levels}
            out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.LEVEL_NOT_ACCREDITED, facts, ev))
        else:
            facts = {**facts6, "granted": bool(v.type_granted)}
            out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.TYPE_NOT_ACCREDITED, facts, ev6))
    elif claimed_issuer is not None and v.issuer_did and claimed_issuer != v.issuer_did:
        facts = {**facts6, "claimed": claimed_issuer, "issuerDid": v.issuer_did}
        out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.ANOTHER_ISSUER, facts, ev6))
    elif claimed_name is not None and not same_name(claimed_name, str(v.issuer_name or "")):
        # the signer's own DID under another's name (a wallet, a relying party reading the
        # verified credential shows issuer.name): the name is the registry's, not the signer's
        facts = {**facts6, "claimedName": claimed_name, "issuerDid": v.issuer_did}
        out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.ISSUER_NAMED_OTHERWISE, facts, ev6))
    elif own := [m for where, m in unvouched if where == ISSUER_PROFILE]:
        # the signer's own DID and name beside a site, a logo, an address, ... of its choosing (a
        # relying party showing the verified issuer profile shows another institution's): the
        # registry vouches for the DID and the name only
        facts = {**facts6, "members": own, "issuerDid": v.issuer_did}
        ev = {**ev6, "unvouchedMembers": own}
        out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.ISSUER_PROFILE_UNVOUCHED, facts, ev))
    elif party is not None and (
        why := not_the_issuer(party, str(v.issuer_did or ""), str(v.issuer_name or ""))
    ):
        # the signer vouching for another institution (an employment "at HSBC" signed by
        # another bank's key): our issuer never signs it (issuance.bind_subject), and an officer
        # reading VALID beside the named institution would be misled
        role, name, pid = party
        facts = {**facts6, "why": why, "role": role, "named": name, "namedId": pid}
        ev = {**ev6, "namedRole": role, "namedName": name, "namedId": pid}
        out.append(Finding(CheckId.ISSUER, Status.FAIL, Reason.SUBJECT_NAMES_ANOTHER, facts, ev))
    elif theirs := [m for where, m in unvouched if where == CREATOR_PROFILE]:
        # the badge's creator is the issuer itself (above), its profile no more than the issuer's
        facts = {**facts6, "members": theirs, "issuerDid": v.issuer_did}
        ev = {**ev6, "unvouchedCreatorMembers": theirs}
        out.append(
            Finding(CheckId.ISSUER, Status.FAIL, Reason.CREATOR_PROFILE_UNVOUCHED, facts, ev)
        )
    else:
        out.append(
            Finding(
                CheckId.ISSUER,
                Status.PASS,
                Reason.ISSUER_ACCREDITED,
                {**facts6, "statusNow": status_now},
                ev6,
            )
        )
    # (7) key registered to that issuer and valid at anchor time
    ev7 = {
        **block,
        "keyId": key_id,
        "issuerName": v.issuer_name,
        "keyValidFrom": int(v.key_valid_from),
        "keyValidUntil": int(v.key_valid_until),
    }
    facts7 = {"keyId": key_id, "issuerName": v.issuer_name}
    if not v.key_registered:
        out.append(Finding(CheckId.KEY, Status.FAIL, Reason.KEY_NOT_REGISTERED, facts7, ev7))
    elif not v.key_valid_at_anchor:
        facts = {
            **facts7,
            "anchoredAt": at,
            "validFrom": int(v.key_valid_from),
            "validUntil": int(v.key_valid_until),
        }
        out.append(Finding(CheckId.KEY, Status.FAIL, Reason.KEY_NOT_VALID_THEN, facts, ev7))
    else:
        out.append(Finding(CheckId.KEY, Status.PASS, Reason.KEY_VALID, facts7, ev7))
    # (8) not revoked (credential or batch) or suspended, as of the requested time
    cs = v.credential_status
    revoked_by = actor_name(getattr(v, "credential_revoked_by", 0))
    suspended_by = actor_name(getattr(v, "credential_suspended_by", 0))
    since = int(getattr(v, "credential_suspended_since", 0) or cs.suspended_at)
    ev8 = {
        **block,
        "asOf": int(v.as_of),
        "revokedAt": int(cs.revoked_at),
        "suspendedAt": int(cs.suspended_at),
        "reinstatedAt": int(cs.reinstated_at),
        "batchRevokedAt": int(rec.revoked_at),
        "revokedBy": revoked_by,
        "suspendedBy": suspended_by,
        "suspendedSince": since if v.credential_suspended else 0,
    }
    facts8 = {
        "asOf": int(v.as_of),
        "issuerName": v.issuer_name,
        "explicitAsOf": explicit_as_of,
        "blockNumber": block_number,
        "blockTime": block_time,
    }
    if v.credential_revoked:
        out.append(
            Finding(
                CheckId.STATUS,
                Status.FAIL,
                Reason.REVOKED,
                {**facts8, "by": revoked_by, "at": int(cs.revoked_at)},
                ev8,
            )
        )
    elif v.batch_revoked:
        out.append(
            Finding(
                CheckId.STATUS,
                Status.FAIL,
                Reason.BATCH_REVOKED,
                {**facts8, "at": int(rec.revoked_at)},
                ev8,
            )
        )
    elif v.credential_suspended:
        out.append(
            Finding(
                CheckId.STATUS,
                Status.FAIL,
                Reason.SUSPENDED,
                {
                    **facts8,
                    "by": suspended_by,
                    "at": since,
                    "reason": getattr(v, "credential_suspended_reason", None),
                },
                ev8,
            )
        )
    else:
        # in good standing as of the time asked about; a change recorded after it is said too
        # (an as-of before this morning's revocation passes, and the officer is told it fell)
        later = [
            (what, at)
            for what, at in (
                ("revoked", int(cs.revoked_at)),
                ("batch revoked", int(rec.revoked_at)),
                (
                    "suspended",
                    int(cs.suspended_at) if int(cs.reinstated_at) < int(cs.suspended_at) else 0,
                ),
            )
            if at > int(v.as_of)
        ]
        facts = {**facts8, "reinstated": bool(int(cs.reinstated_at)), "later": later}
        out.append(Finding(CheckId.STATUS, Status.PASS, Reason.IN_GOOD_STANDING, facts, ev8))
    return out


# --------------------------------------------------------------------------- (9) validity


def validity(doc: Mapping[str, Any], as_of: datetime) -> Finding:
    """Check 9: the validity window contains the as-of time."""
    start = parse_time(doc.get("validFrom"))
    end = parse_time(doc.get("validUntil"))
    ev = {
        "validFrom": doc.get("validFrom"),
        "validUntil": doc.get("validUntil"),
        "asOf": as_of.isoformat(),
    }
    if doc.get("validFrom") is not None and start is None:
        return Finding(CheckId.VALIDITY, Status.FAIL, Reason.BAD_VALID_FROM, _NOTHING, ev)
    if doc.get("validUntil") is not None and end is None:
        return Finding(CheckId.VALIDITY, Status.FAIL, Reason.BAD_VALID_UNTIL, _NOTHING, ev)
    facts = {"asOf": as_of, "start": start, "end": end}
    if start is not None and as_of < start:
        return Finding(CheckId.VALIDITY, Status.FAIL, Reason.NOT_YET_VALID, facts, ev)
    if end is not None and as_of >= end:
        return Finding(CheckId.VALIDITY, Status.FAIL, Reason.EXPIRED, facts, ev)
    return Finding(CheckId.VALIDITY, Status.PASS, Reason.VALID_ON, facts, ev)


# --------------------------------------------------------------------------- (10) binding

BINDING_NOT_REQUESTED = Finding(CheckId.BINDING, Status.SKIPPED, Reason.BINDING_NOT_REQUESTED)
HOLDER_SIGNED = Finding(CheckId.BINDING, Status.SKIPPED, Reason.HOLDER_SIGNED)
BARE_CREDENTIAL = Finding(CheckId.BINDING, Status.FAIL, Reason.BARE_CREDENTIAL)


def binding(vp: Mapping[str, Any], challenge: str | None, domain: str) -> tuple[list[Any], Finding]:
    """Check 10 for a presentation: (its credentials, the finding).

    Without a challenge no binding is asked, but a presentation claims a holder: its proof must
    still verify (signed by that holder, credentials about the holder), the same in every mode.
    With one, the presentation must be bound to ``challenge`` and ``domain``
    (:class:`~talentproof.verifier.requirements.Challenge`, ``Domain``)."""
    creds = vp.get("verifiableCredential")
    if isinstance(creds, Mapping):
        creds = [creds]
    if not isinstance(creds, list):
        return [], Finding(CheckId.BINDING, Status.FAIL, Reason.NO_CREDENTIAL_PRESENTED)
    if challenge is None:
        try:
            c_presentation.verify_holder_proof(dict(vp))
        except (CredentialError, ValueError) as exc:
            name = type(exc).__name__
            return creds, Finding(
                CheckId.BINDING,
                Status.FAIL,
                Reason.HOLDER_PROOF_INVALID,
                {"errorType": name, "error": str(exc)},
                {"error": name},
            )
        return creds, HOLDER_SIGNED
    try:
        c_presentation.verify_presentation(dict(vp), challenge=challenge, domain=domain)
    except (CredentialError, ValueError) as exc:
        name = type(exc).__name__
        evidence = {"challenge": challenge, "domain": domain, "error": name}
        return creds, Finding(
            CheckId.BINDING,
            Status.FAIL,
            Reason.NOT_BOUND,
            {"errorType": name, "error": str(exc)},
            evidence,
        )
    holder = vp.get("holder")
    holder = holder.get("id") if isinstance(holder, Mapping) else holder
    return creds, Finding(
        CheckId.BINDING,
        Status.PASS,
        Reason.BOUND,
        _NOTHING,
        {"holder": holder, "challenge": challenge, "domain": domain},
    )


def challenge_refused(challenge: str | None, problem: str) -> Finding:
    """Check 10 when the service refuses the challenge itself (``problem``: e.g. "already used")."""
    return Finding(
        CheckId.BINDING,
        Status.FAIL,
        Reason.CHALLENGE_REFUSED,
        {"challenge": challenge, "problem": problem},
        {"challenge": challenge},
    )


# --------------------------------------------------------------------------- (11), (12)


def person_key(doc: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What check 11 compares of a credential's person (None: it names none)."""
    person = c_person.person_of(doc) if doc is not None else None
    if person is None:
        return None
    return (
        person.name,
        person.birth_date,
        person.document_type,
        person.issuing_country,
        person.commitment,
    )


#: The members of `person_key`, in its order, as check 11's facts name those that differ
#: (`messages` words them).
PERSON_FIELDS = (
    "name",
    "birthDate",
    "identityDocument.documentType",
    "identityDocument.issuingCountry",
    "identityDocument.commitment",
)


def person_summary(key: tuple[Any, ...] | None) -> str | None:
    """A person as check 11's evidence carries them, data only (the report's JSON, never a
    sentence): name, birth date and the document's type, country and commitment's last 8
    characters, joined by `` | ``; None when the credential names no one."""
    if key is None:
        return None
    name, birth, dtype, country, commitment = key
    doc = [str(dtype), str(country), str(commitment)[-8:]] if commitment else []
    return " | ".join([str(name), str(birth), *doc])


def _labels(reports: Sequence[CredentialReport]) -> list[str]:
    """One distinct label per report: its source, numbered from the second report that has
    that source (``qr.png``, ``qr.png (2)``), never another input's own source."""
    sources = {r.source for r in reports}
    used: set[str] = set()
    out = []
    for r in reports:
        label, n = r.source, 1
        while label in used or (label != r.source and label in sources):
            n += 1
            label = f"{r.source} ({n})"
        used.add(label)
        out.append(label)
    return out


def same_applicant(reports: Sequence[CredentialReport]) -> Finding:
    """Check 11: one holder key, one name, one date of birth and one identity document.

    Every credential counts on its own: inputs are told apart by position, never by their
    names, which an uploader chooses (two inputs named alike are two credentials)."""
    readable = [r for r in reports if r.credential is not None]
    labels = _labels(readable)
    subjects = {label: r.subject_id for label, r in zip(labels, readable, strict=True)}
    missing = [s for s, sub in subjects.items() if not sub]
    distinct = sorted({sub for sub in subjects.values() if sub})
    ev: dict[str, Any] = {"subjects": dict(subjects)}
    if missing:
        return Finding(
            CheckId.SAME_APPLICANT, Status.FAIL, Reason.NO_APPLICANT, {"missing": missing}, ev
        )
    if len(distinct) > 1:
        groups = "; ".join(
            f"{sub}: {', '.join(s for s, x in subjects.items() if x == sub)}" for sub in distinct
        )
        return Finding(
            CheckId.SAME_APPLICANT,
            Status.FAIL,
            Reason.DIFFERENT_HOLDERS,
            {"count": len(distinct), "groups": groups},
            ev,
        )
    if not distinct:
        return Finding(
            CheckId.SAME_APPLICANT, Status.SKIPPED, Reason.NO_READABLE_CREDENTIAL, _NOTHING, ev
        )
    people = {label: person_key(r.credential) for label, r in zip(labels, readable, strict=True)}
    kinds = list(dict.fromkeys(people.values()))
    ev["people"] = {s: person_summary(k) for s, k in people.items()}
    if len(kinds) > 1:
        differ = [
            f
            for i, f in enumerate(PERSON_FIELDS)
            if len({(k[i] if k is not None else None) for k in kinds}) > 1
        ]
        people_groups = [(k, [s for s, x in people.items() if x == k]) for k in kinds]
        return Finding(
            CheckId.SAME_APPLICANT,
            Status.FAIL,
            Reason.DIFFERENT_PEOPLE,
            {"differ": differ, "groups": people_groups},
            ev,
        )
    return Finding(
        CheckId.SAME_APPLICANT,
        Status.PASS,
        Reason.SAME_APPLICANT,
        {"count": len(subjects), "person": kinds[0]},
        {"subject": distinct[0], "person": person_summary(kinds[0])},
    )


def applicant(reports: Sequence[CredentialReport]) -> dict[str, Any] | None:
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


def identity_document(
    reports: Sequence[CredentialReport], number: str, salt: str | None
) -> Finding:
    """Check 12: every credential's identity-document commitment opens to ``number``."""
    readable = [r for r in reports if r.credential is not None]
    if not readable:
        return Finding(CheckId.IDENTITY_DOCUMENT, Status.SKIPPED, Reason.NO_READABLE_CREDENTIAL)
    try:
        c_person.normalize_document_number(number)
    except ValueError as exc:
        return Finding(
            CheckId.IDENTITY_DOCUMENT,
            Status.ERROR,
            Reason.DOCUMENT_NUMBER_UNUSABLE,
            {"error": str(exc)},
        )
    if salt is None:
        return Finding(CheckId.IDENTITY_DOCUMENT, Status.ERROR, Reason.NO_SALT)
    try:  # a slip in a salt given from outside is not another person's document
        c_person.check_salt(salt)
    except ValueError as exc:
        return Finding(
            CheckId.IDENTITY_DOCUMENT, Status.ERROR, Reason.SALT_UNUSABLE, {"error": str(exc)}
        )
    wrong: list[tuple[str, str | None, str | None]] = []
    kinds: set[tuple[str, str]] = set()  # the kinds of document matched: (type, country)
    for r in readable:
        subject = r.credential.get("credentialSubject") if r.credential is not None else None
        if isinstance(subject, list) and len(subject) == 1:
            subject = subject[0]
        doc = subject.get("identityDocument") if isinstance(subject, Mapping) else None
        if not isinstance(doc, Mapping):
            wrong.append((r.source, None, None))
        elif not c_person.identity_document_matches(doc, number, salt):
            wrong.append(
                (r.source, doc.get("documentType", "document"), doc.get("issuingCountry", "?"))
            )
        else:  # (a match: the type and country are texts the commitment was opened with)
            kinds.add((str(doc["documentType"]), str(doc["issuingCountry"])))
    ev = {"credentials": len(readable)}
    if wrong:
        return Finding(
            CheckId.IDENTITY_DOCUMENT, Status.FAIL, Reason.ANOTHER_DOCUMENT, {"wrong": wrong}, ev
        )
    # the number opens the commitment as the credentials' kind of document: another kind whose
    # number normalises alike would match too, so the officer is told which kind it is
    matched = sorted(kinds)
    return Finding(
        CheckId.IDENTITY_DOCUMENT,
        Status.PASS,
        Reason.SAME_DOCUMENT,
        {"count": len(readable), "kinds": matched},
        {**ev, "documents": [f"{t} ({c})" for t, c in matched]},
    )


__all__ = [
    "AFTER_PARSE",
    "BARE_CREDENTIAL",
    "BINDING_NOT_REQUESTED",
    "CHAIN_CHECKS",
    "HOLDER_SIGNED",
    "Finding",
    "Reason",
    "Signed",
    "applicant",
    "as_of_instant",
    "binding",
    "chain_checks",
    "chain_unreadable",
    "challenge_refused",
    "identity_document",
    "inclusion",
    "parse",
    "same_applicant",
    "schema",
    "signature",
    "skipped",
    "validity",
]
