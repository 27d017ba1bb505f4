"""The English of the checks: every sentence a report shows, by reason code.

The checks (:mod:`talentproof.verifier.checks`) decide; they return a
:class:`~talentproof.verifier.checks.Finding` (check id, status, a :class:`Reason` and the facts the
sentence needs). :func:`render` turns a finding into the report's
:class:`~talentproof.verifier.report.CheckResult`. To change what a check *says*, change the
template of its reason here; to change what it *decides*, change the check.

Example::

    finding = checks.validity({"validUntil": "2020-01-01T00:00:00Z"}, as_of)
    render(finding).message  # 'Expired on 2020-01-01 00:00 UTC (checked as of ...).'
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from talentproof.verifier.checks import Finding, Reason
from talentproof.verifier.report import CheckResult

_LABELS = {
    "DegreeCredential": "degree",
    "EmploymentCredential": "employment",
    "OpenBadgeCredential": "training or skill (Open Badge)",
}


def label(kind: str | None, *, article: bool = False) -> str:
    """How a credential type reads in a sentence ("degree credential", "an employment credential")."""
    text = _LABELS.get(kind or "", kind or "credential")
    if kind in _LABELS:
        text += " credential"
    if article:
        text = ("an " if text[:1] in "aeiou" else "a ") + text
    return text


@functools.lru_cache(maxsize=4096)
def iso(ts: int) -> str:
    """A UNIX time as the reports write it (a pure function of the number: cached)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_key(key_id: str | None) -> str:
    """A key id shortened for a sentence."""
    if not key_id:
        return "(unknown)"
    return key_id if len(key_id) <= 16 else f"{key_id[:10]}…{key_id[-6:]}"


def window(start: int, end: int) -> str:
    """A key's validity window in words."""
    if not start and not end:
        return "never"
    s = iso(start) if start else "the beginning"
    return f"from {s} until {iso(end)}" if end else f"from {s}"


def _members(names: Sequence[str], shown: int = 8, width: int = 60) -> str:
    """Member names as quoted text (``'url', 'image'``; one longer than ``width`` characters cut
    with an ellipsis; past ``shown`` of them, how many more)."""
    quoted = [repr(n) if len(n) <= width else repr(n[:width]) + "\u2026" for n in names[:shown]]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(quoted) + more


def _capitalised(why: str) -> str:
    return f"{why[:1].upper()}{why[1:]}."


def _anchored(f: Mapping[str, Any]) -> str:
    n = f["confirmations"]
    return f"Anchored on {iso(f['anchoredAt'])} in block {f['anchorBlock']} ({n} confirmation{'s' if n != 1 else ''})."


def _issuer_passes(f: Mapping[str, Any]) -> str:
    now = "" if f["statusNow"] == "active" else f" It is {f['statusNow']} now."
    return f"Issued by {f['issuerName']}, accredited for {label(f['kind'])}s at the time ({iso(f['anchoredAt'])}).{now}"


def _who(f: Mapping[str, Any]) -> str:
    return "the governing authority" if f["by"] == "governance" else f["issuerName"]


def _why(f: Mapping[str, Any]) -> str:
    """The reason governance gave on the ledger for a suspension (none for an institution's
    own), quoted: its words, shown as the CLI and page show other text they did not write."""
    reason = f.get("reason")
    return f' Reason given: "{reason}".' if reason else ""


def _at(f: Mapping[str, Any]) -> str:
    """When check 8's state holds: "as of T" for an explicit as-of time (the report's own
    check time), else the block read, with its own time: the latest block is sealed before the
    report is checked, and "as of" names the report's one time only."""
    if f.get("explicitAsOf", True):
        return f"as of {iso(f['asOf'])}"
    return f"on the ledger at block {f['blockNumber']}{_sealed(f)}"


def _sealed(f: Mapping[str, Any]) -> str:
    return f", sealed at {iso(f['blockTime'])}" if f.get("blockTime") else ""


def _validity_passes(f: Mapping[str, Any]) -> str:
    end = f["end"]
    until = f" until {end:%Y-%m-%d}" if end else " with no end date"
    return f"Valid on {when(f['asOf'])}{until}."


#: Check 12's advice when the holder's salt is missing or unusable, by where the report is read:
#: each surface names what its reader can do there (`Verifier.verify_application`'s ``surface``).
SALT_ADVICE: Mapping[str, str] = {
    "cli": "with bare credentials give the holder's salt with --id-salt: the idSalt of the "
    "holder's key file",
    "api": "with bare credentials give the holder's salt as idSalt: the idSalt of the "
    "holder's key file",
    "page": "ask the applicant for their wallet's presentation: Request from a wallet on this "
    "page, then verify again",
}
SURFACES = frozenset(SALT_ADVICE)

#: Check 11's person members (`checks.PERSON_FIELDS`) in words.
PERSON_FIELD_WORDS: Mapping[str, str] = {
    "name": "name",
    "birthDate": "date of birth",
    "identityDocument.documentType": "identity document type",
    "identityDocument.issuingCountry": "issuing country",
    "identityDocument.commitment": "identity document",
}


def person_words(key: Any) -> str:
    """A person of check 11 (`checks.person_key`: name, birth date, document type, country,
    commitment) as its sentences name them: the document by its commitment's last digits."""
    if key is None:
        return "no name and date of birth"
    name, birth, dtype, country, commitment = key
    doc = (
        f", {dtype} ({country}) {str(commitment)[-8:]}" if commitment else ", no identity document"
    )
    return f"{name} born {birth}{doc}"


def _char_words(c: str | None) -> str:
    return "its end" if c is None else f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})"


def names_alike_words(groups: Any) -> str:
    """Where names that may look alike differ (a Cyrillic letter for a Latin one, a space
    doubled, added or invisible), shown by code point; "" when the first difference is between
    two visible ASCII characters: names an officer tells apart by reading them."""
    names = list(dict.fromkeys(k[0] for k, _ in groups if k is not None))
    out = []
    for other in names[1:]:
        first = names[0]
        i = next(
            (n for n, (a, b) in enumerate(zip(first, other, strict=False)) if a != b),
            min(len(first), len(other)),
        )
        a = first[i] if i < len(first) else None
        b = other[i] if i < len(other) else None
        if all(
            c is not None and c.isascii() and c.isprintable() and not c.isspace() for c in (a, b)
        ):
            continue
        out.append(
            f" The names differ at character {i + 1}: {_char_words(a)} against {_char_words(b)}."
        )
    return "".join(out[:3])


#: One template per reason: the facts of a finding -> its sentence.
TEMPLATES: Mapping[Reason, Callable[[Mapping[str, Any]], str]] = {
    # skipped checks
    Reason.SKIP_UNREADABLE: lambda f: "Skipped: the credential could not be read.",
    Reason.SKIP_NOT_HASHABLE: lambda f: "Skipped: the credential cannot be hashed.",
    Reason.SKIP_NOT_ANCHORED: lambda f: "Skipped: the credential is not anchored.",
    Reason.SKIP_NOT_IN_BATCH: lambda f: (
        "Skipped: the credential is not part of the anchored batch it claims."
    ),
    Reason.SKIP_NO_KEY: lambda f: "Skipped: the signing key could not be read.",
    Reason.SKIP_UNKNOWN_TYPE: lambda f: "Skipped: the credential type is unknown.",
    Reason.SKIP_NO_ISSUER: lambda f: (
        "Skipped: the credential names no issuer DID, so no issuer's anchor can be read."
    ),
    Reason.SKIP_NOT_ON_TRUSTED_REGISTRY: lambda f: (
        "Skipped: the credential is not anchored on the trusted registry."
    ),
    Reason.SKIP_ANCHORED_AFTER_AS_OF: lambda f: (
        "Skipped: the credential was not yet anchored at the as-of time."
    ),
    # (1) parse
    Reason.NOT_TALENTPROOF: lambda f: _capitalised(f["why"]),
    Reason.UNREADABLE: lambda f: f"The credential could not be read: {f['why']}.",
    Reason.PROOFS_UNREADABLE: lambda f: f"The credential's proofs could not be read: {f['error']}.",
    Reason.READ: lambda f: (
        f"Read {label(f['kind'], article=True)}"
        + (" with its anchor proof." if f["anchored"] else " (no anchor proof).")
    ),
    # (2) schema and facts
    Reason.WELL_FORMED: lambda f: f"Well-formed {label(f['kind'])} matching its schema.",
    Reason.IMPOSSIBLE_FACT: lambda f: (
        f"The credential states an impossible fact: {f['field']}: {f['message']} "
        f"(verification date {f['today']})."
    ),
    Reason.SCHEMA_MISMATCH: lambda f: (
        f"The credential is malformed: {f['field'] or 'document'} should be {f['expected']}."
    ),
    Reason.MALFORMED: lambda f: f"The credential is malformed: {f['error']}.",
    # (3) signature
    Reason.SIGNATURE_VALID: lambda f: (
        "The issuer's signature is valid: the credential has not been altered."
    ),
    Reason.SIGNATURE_INVALID: lambda f: (
        f"The signature is not valid ({f['errorType']}): {f['error']}. "
        "The credential may have been altered or forged."
    ),
    Reason.SIGNATURE_UNCHECKABLE: lambda f: f"The signature could not be checked: {f['error']}.",
    # (4) inclusion
    Reason.NOT_HASHABLE: lambda f: f"The credential cannot be hashed: {f['error']}.",
    Reason.NO_ANCHOR_PROOF: lambda f: (
        "The credential carries no anchor proof, so it cannot be checked against the ledger. "
        "A credential fetched from the institution before its batch was anchored has none: "
        "fetch it again once anchored (GET /credentials/{id}, or its QR code, which answers "
        "409 until then)."
    ),
    Reason.INCLUDED: lambda f: (
        f"Included as entry {f['leafIndex'] + 1} of a batch of {f['treeSize']}."
    ),
    Reason.NOT_IN_BATCH: lambda f: (
        f"The credential is not part of the batch it claims: {f['error']}."
    ),
    # (5)-(8) when the chain could not be read
    Reason.LEDGER_UNREADABLE: lambda f: (
        f"The ledger could not be read ({f['error']}); this credential cannot be confirmed."
    ),
    Reason.LEDGER_UNREADABLE_SEE_ANCHOR: lambda f: (
        "Not confirmed: the ledger could not be read (see the anchor check)."
    ),
    # (5) anchor
    Reason.ANCHORED_ELSEWHERE: lambda f: (
        "Anchored elsewhere: " + "; ".join(_elsewhere(p) for p in f["problems"]) + "."
    ),
    Reason.NOT_ANCHORED: lambda f: (
        "The batch this credential claims is not anchored on the trusted registry."
    ),
    Reason.BATCH_SIZE_MISMATCH: lambda f: (
        f"The anchor proof claims a batch of {f['treeSize']} credentials, but the "
        f"batch anchored on chain has {f['leafCount']}."
    ),
    Reason.ANCHORED_AFTER_AS_OF: lambda f: (
        f"Anchored at {iso(f['anchoredAt'])} (block {f['anchorBlock']}), after the as-of time "
        f"{iso(f['asOf'])}: it was not on the ledger then, whatever its validFrom says."
    ),
    Reason.TOO_FEW_CONFIRMATIONS: lambda f: (
        f"Anchored in block {f['anchorBlock']}, but only {f['confirmations']} of the "
        f"required {f['required']} confirmations so far."
    ),
    Reason.ANCHORED: _anchored,
    # (6) issuer
    Reason.ISSUER_NOT_ACTIVE: lambda f: (
        f"{f['issuerName']} was {f['statusThen']} when it anchored this credential "
        f"({iso(f['anchoredAt'])})."
    ),
    Reason.TYPE_NOT_ACCREDITED: lambda f: (
        f"{f['issuerName']} "
        f"{'was never accredited' if not f['granted'] else 'was not accredited at that time'} to issue {f['kind']} "
        f"credentials ({label(f['kind'])}; anchored {iso(f['anchoredAt'])})."
    ),
    Reason.LEVEL_NOT_ACCREDITED: lambda f: (
        f"{f['issuerName']} was accredited to issue {f['kind']} credentials "
        + (f"only at the levels {', '.join(f['levels'])}" if f["levels"] else "at no level")
        + f" when it anchored this one ({iso(f['anchoredAt'])}), not at the level "
        f"{f['level'] or '(none stated)'} of this {label(f['kind'])}."
    ),
    Reason.ANOTHER_ISSUER: lambda f: (
        f"The credential names issuer {f['claimed']}, but it was anchored by "
        f"{f['issuerName']} ({f['issuerDid']})."
    ),
    Reason.ISSUER_NAMED_OTHERWISE: lambda f: (
        f"The credential names its issuer {f['claimedName']!r}, but {f['issuerDid']} is "
        f"registered as {f['issuerName']!r}: an issuer speaks under its own name only."
    ),
    Reason.ISSUER_PROFILE_UNVOUCHED: lambda f: (
        f"The credential's issuer profile states {_members(f['members'])} beside the issuer's "
        f"DID and name: the registry vouches only for those ({f['issuerName']!r}, "
        f"{f['issuerDid']}) and cannot vouch for {'it' if len(f['members']) == 1 else 'them'}."
    ),
    Reason.CREATOR_PROFILE_UNVOUCHED: lambda f: (
        f"The badge's achievement creator (the issuer itself) states {_members(f['members'])} "
        f"beside the issuer's DID and name: the registry vouches only for those "
        f"({f['issuerName']!r}, {f['issuerDid']}) and cannot vouch for "
        f"{'it' if len(f['members']) == 1 else 'them'}."
    ),
    Reason.SUBJECT_NAMES_ANOTHER: lambda f: (
        f"The credential's {f['why']}: an issuer attests for itself only, and cannot vouch "
        "for another institution."
    ),
    Reason.ISSUER_ACCREDITED: _issuer_passes,
    # (7) key
    Reason.KEY_NOT_REGISTERED: lambda f: (
        f"The signing key {short_key(f['keyId'])} is not registered to {f['issuerName']}."
    ),
    Reason.KEY_NOT_VALID_THEN: lambda f: (
        f"The signing key {short_key(f['keyId'])} of {f['issuerName']} was not valid "
        f"when the credential was anchored ({iso(f['anchoredAt'])}); "
        f"it was valid {window(f['validFrom'], f['validUntil'])}."
    ),
    Reason.KEY_VALID: lambda f: (
        f"Signed with {f['issuerName']}'s registered key {short_key(f['keyId'])}, valid at the time."
    ),
    # (8) status: the chain's state at the block read ("now": the latest block, whose own time
    # is earlier than the report's check time) or at the explicit as-of time (`_at`)
    Reason.REVOKED: lambda f: f"Revoked by {_who(f)} on {iso(f['at'])} ({_at(f)}).",
    Reason.BATCH_REVOKED: lambda f: (
        # by its issuer or by the governing authority (the record does not say which; the
        # BatchRevoked / BatchRevokedByGovernance event does)
        f"The whole batch was revoked on {iso(f['at'])} ({_at(f)}), by its "
        f"issuer {f['issuerName']} or by the governing authority."
    ),
    Reason.SUSPENDED: lambda f: f"Suspended by {_who(f)} since {iso(f['at'])} ({_at(f)}).{_why(f)}",
    Reason.IN_GOOD_STANDING: lambda f: (
        "Not revoked or suspended "
        + (
            f"as of {iso(f['asOf'])}"
            if f.get("explicitAsOf", True)
            else f"on the ledger (at block {f['blockNumber']}{_sealed(f)})"
        )
        + (" (a past suspension was lifted)" if f["reinstated"] else "")
        + "."
        + "".join(
            f" Since then (after the as-of time) it was {what} on {iso(at)}."
            for what, at in f.get("later", ())
        )
    ),
    # (9) validity window
    Reason.BAD_VALID_FROM: lambda f: "validFrom is not a valid date-time.",
    Reason.BAD_VALID_UNTIL: lambda f: "validUntil is not a valid date-time.",
    Reason.NOT_YET_VALID: lambda f: (
        f"Not yet valid on {when(f['asOf'])}: valid from {f['start']:%Y-%m-%d %H:%M UTC}."
    ),
    Reason.EXPIRED: lambda f: (
        f"Expired on {f['end']:%Y-%m-%d %H:%M UTC} (checked as of {when(f['asOf'])})."
    ),
    Reason.VALID_ON: _validity_passes,
    # (10) binding
    Reason.BINDING_NOT_REQUESTED: lambda f: (
        "Not requested: the verifier did not ask for a bound presentation."
    ),
    Reason.HOLDER_SIGNED: lambda f: (
        "Not requested: the verifier did not ask for a bound presentation (the "
        "presentation's holder proof was checked: signed by the holder the credentials name)."
    ),
    Reason.NO_CREDENTIAL_PRESENTED: lambda f: "The presentation holds no credential.",
    Reason.HOLDER_PROOF_INVALID: lambda f: (
        "The presentation's holder proof is missing or does not verify "
        f"({f['errorType']}): {f['error']}. A presentation claims a holder; give the "
        "credentials themselves, or a presentation signed by their holder."
    ),
    Reason.NOT_BOUND: lambda f: (
        f"The presentation is not bound to this verification ({f['errorType']}): "
        f"{f['error']}. It may be a copy replayed from another verification."
    ),
    Reason.BOUND: lambda f: (
        "Presented by the holder named in the credentials, for this verification."
    ),
    Reason.CHALLENGE_REFUSED: lambda f: (
        f"The challenge {f['challenge']!r} {f['problem']}: this presentation may be "
        "a replayed copy."
    ),
    Reason.BARE_CREDENTIAL: lambda f: (
        "A presentation bound to this verifier's challenge was requested, but a bare "
        "credential was given."
    ),
    # (11) same applicant
    Reason.NO_APPLICANT: lambda f: (
        f"Some credentials name no applicant: {', '.join(f['missing'])}."
    ),
    Reason.DIFFERENT_HOLDERS: lambda f: (
        f"The credentials name {f['count']} different applicants (holder keys: {f['groups']})."
    ),
    Reason.NO_READABLE_CREDENTIAL: lambda f: "No readable credential.",
    Reason.DIFFERENT_PEOPLE: lambda f: (
        f"The credentials name different people "
        f"({', '.join(PERSON_FIELD_WORDS.get(d, d) for d in f['differ'])} differ): "
        + "; ".join(f"{person_words(k)}: {', '.join(inputs)}" for k, inputs in f["groups"])
        + "."
        + (names_alike_words(f["groups"]) if "name" in f["differ"] else "")
    ),
    Reason.SAME_APPLICANT: lambda f: (
        f"All {f['count']} credentials name the same applicant ({person_words(f['person'])}) "
        "and holder key."
    ),
    # (12) identity document
    Reason.DOCUMENT_NUMBER_UNUSABLE: lambda f: (
        f"The document number given cannot be compared: {f['error']}."
    ),
    Reason.NO_SALT: lambda f: (
        "The identity document cannot be compared: no salt (a presentation from the holder "
        f"carries it; {SALT_ADVICE[f.get('surface', 'api')]}). "
        "Compare the name and date of birth with the travel document."
    ),
    Reason.SALT_UNUSABLE: lambda f: (
        f"The identity document cannot be compared: the salt given is not a holder's salt "
        f"({f['error']}; {SALT_ADVICE[f.get('surface', 'api')]}). "
        "Compare the name and date of birth with the travel document."
    ),
    Reason.ANOTHER_DOCUMENT: lambda f: (
        "The travel document shown is not the one the credentials name: "
        + "; ".join(_wrong_document(w) for w in f["wrong"])
        + "."
    ),
    Reason.SAME_DOCUMENT: lambda f: (
        f"The travel document shown is the one all {f['count']} credential(s) name: its number "
        f"is that of {_documents(f.get('kinds') or ())}; check that the document held is of "
        "that kind."
    ),
}


def _elsewhere(problem: tuple[str, Any, Any]) -> str:
    what, found, expected = problem
    if what == "payload_chain":
        return f"it names chain {found} but the ledger is chain {expected}"
    if what == "trusted_chain":
        return f"the ledger is chain {found}, not the trusted chain {expected}"
    return f"it names registry {found}, not the trusted registry {expected}"


def _documents(kinds: Sequence[tuple[str, str]]) -> str:
    """``the HKID issued by HK`` (or several, joined by "or")."""
    return " or ".join(f"the {dtype} issued by {country}" for dtype, country in kinds) or "it"


def _wrong_document(wrong: tuple[str, str | None, str | None]) -> str:
    source, dtype, country = wrong
    if dtype is None:
        return f"{source} names no identity document"
    return f"{source} names another {dtype} ({country})"


def render(finding: Finding, *, surface: str | None = None) -> CheckResult:
    """The report's check result for a finding: its sentence, and its evidence. ``surface``
    (one of :data:`SURFACES`) picks advice meant for where the report is read (check 12's)."""
    facts = finding.facts if surface is None else {**finding.facts, "surface": surface}
    return CheckResult(
        finding.check, finding.status, TEMPLATES[finding.reason](facts), finding.evidence
    )


def when(as_of: datetime) -> str:
    """How check 9 writes the as-of time (cached by instant *and* offset, since equal instants
    in different time zones print differently)."""
    return _when(as_of, as_of.utcoffset(), as_of.fold)


@functools.lru_cache(maxsize=64)
def _when(as_of: datetime, _offset: Any, _fold: int) -> str:
    return as_of.strftime("%Y-%m-%d %H:%M UTC")


__all__ = [
    "SALT_ADVICE",
    "SURFACES",
    "TEMPLATES",
    "iso",
    "label",
    "render",
    "short_key",
    "when",
    "window",
]
