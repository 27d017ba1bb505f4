"""Facts the talent-list policy reasons about, read from verified credentials.

The policy engine never looks at raw credential JSON: this module turns each credential kind
(degree, employment, Open Badge) into a small typed fact. The field names are those of the
credential package's JSON Schemas (``talentproof.credential.model`` builders).

Claim binding: a degree's awarding institution and an employment's employer are claims the
*issuer* makes about itself. :func:`bind` ties them to the issuer's identity as recorded on chain
(its registered DID and name): the fact keeps the on-chain identity (``institution_did`` /
``employer_did`` and the on-chain name), or says exactly why it cannot count (``unbound``), e.g.
``employer 'HSBC' is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

#: Degree levels in increasing order (the credential schema's enumeration).
DEGREE_LEVELS: tuple[str, ...] = ("associate", "bachelor", "master", "doctorate")

DEGREE = "DegreeCredential"
EMPLOYMENT = "EmploymentCredential"
OPEN_BADGE = "OpenBadgeCredential"


@dataclass(frozen=True, slots=True)
class DegreeFact:
    """An academic degree."""

    ref: str
    level: str
    field_of_study: str
    institution: str
    award_date: date | None
    institution_id: str | None = None  # as the credential states it (optional)
    institution_did: str | None = None  # the on-chain issuer's DID, once bound
    unbound: str | None = None  # why the fact cannot count (binding), None when bound
    #: the day its credential was anchored (the latest day its issuer can have spoken); None
    #: when not known
    attested: date | None = None


@dataclass(frozen=True, slots=True)
class EmploymentFact:
    """A period of employment; ``end`` is None while it continues."""

    ref: str
    employer: str
    role: str
    start: date
    end: date | None
    domains: tuple[str, ...]
    employer_id: str | None = None  # as the credential states it (optional)
    employer_did: str | None = None  # the on-chain issuer's DID, once bound
    unbound: str | None = None  # why the fact cannot count (binding), None when bound
    #: the last day the employer vouched for: the day its credential was anchored (the signer
    #: cannot have known more, whatever end date it wrote); None when not known
    attested: date | None = None


@dataclass(frozen=True, slots=True)
class SkillAlignment:
    """An Open Badges alignment to a skills framework."""

    target_name: str
    target_code: str
    target_framework: str
    target_url: str


@dataclass(frozen=True, slots=True)
class BadgeFact:
    """An Open Badges 3.0 achievement (skill or training)."""

    ref: str
    name: str
    achievement_type: str
    alignments: tuple[SkillAlignment, ...]
    tags: tuple[str, ...]
    issued: date | None = None  # when it was awarded / completed (else the credential's validFrom)
    unbound: str | None = None
    attested: date | None = None  # the day its credential was anchored; None when not known
    #: ``issued`` is a completion or award date the badge states (not its validFrom)
    issued_stated: bool = False


Fact = DegreeFact | EmploymentFact | BadgeFact


def _kind(doc: Mapping[str, Any]) -> str | None:
    types = doc.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return None
    for t in reversed(types):
        if t in (DEGREE, EMPLOYMENT, OPEN_BADGE):
            return str(t)
    return None


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        found = value.get("id")
        if isinstance(found, str):
            return found
    return None


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("name", "")
    return str(value or "").strip()


def _texts(value: Any) -> tuple[str, ...]:
    """A list of texts as the schema writes it (one text taken as a list of one); anything else
    (a number, a boolean, an object: a credential that failed check 2) is none."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def fact_of(ref: str, doc: Mapping[str, Any]) -> Fact | None:
    """The fact a credential states, or None for a kind the policy does not know."""
    kind = _kind(doc)
    subject = doc.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    if not isinstance(subject, Mapping) or kind is None:
        return None
    if kind == DEGREE:
        deg = subject.get("degree")
        deg = deg if isinstance(deg, Mapping) else subject
        inst = _first(deg, "institution", "awardingInstitution")
        return DegreeFact(
            ref=ref,
            level=_text(_first(deg, "level", "degreeLevel")).lower(),
            field_of_study=_text(_first(deg, "fieldOfStudy", "field")),
            institution=_text(inst),
            award_date=_date(_first(deg, "awardDate", "awarded")),
            institution_id=_id_of(inst),
        )
    if kind == EMPLOYMENT:
        emp = subject.get("employment")
        emp = emp if isinstance(emp, Mapping) else subject
        start = _date(_first(emp, "startDate", "start"))
        if start is None:
            return None
        domains = _texts(_first(emp, "domains", "domain"))
        employer = _first(emp, "employer", "employerName")
        return EmploymentFact(
            ref=ref,
            employer=_text(employer),
            employer_id=_id_of(employer),
            role=_text(_first(emp, "role", "title")),
            start=start,
            end=_date(_first(emp, "endDate", "end")),
            domains=domains,
        )
    ach = subject.get("achievement")
    if not isinstance(ach, Mapping):
        return None
    aligns = []
    alignment = ach.get("alignment")
    for a in alignment if isinstance(alignment, list) else ():
        if isinstance(a, Mapping):
            aligns.append(
                SkillAlignment(
                    target_name=_text(a.get("targetName")),
                    target_code=_text(a.get("targetCode")),
                    target_framework=_text(a.get("targetFramework")),
                    target_url=_text(a.get("targetUrl")),
                )
            )
    tags = _texts(ach.get("tag"))
    stated = _date(_first(subject, "completionDate", "awardedDate")) or _date(
        doc.get("awardedDate")  # Open Badges 3.0: when it was awarded
    )
    return BadgeFact(
        ref=ref,
        name=_text(ach.get("name")),
        achievement_type=_text(ach.get("achievementType")),
        alignments=tuple(aligns),
        tags=tags,
        issued=stated or _date(doc.get("validFrom")),
        issued_stated=stated is not None,
    )


def norm_text(text: str) -> str:
    """Case-folded, punctuation-free, single-spaced form used for name matching."""
    text = re.sub(r"[^\w\s]", " ", text.casefold())
    return " ".join(text.split())


def same_name(a: str, b: str) -> bool:
    """Names equal up to case, punctuation and whitespace (and not empty)."""
    na = norm_text(a)
    return bool(na) and na == norm_text(b)


def bind(fact: Fact, issuer_did: str | None, issuer_name: str | None) -> Fact:
    """The fact tied to the on-chain identity of the party that signed it.

    An employment's employer and a degree's awarding institution must be the issuer itself: the
    stated ``id`` (when present) must equal the issuer's registered DID and the stated name its
    registered name (case, punctuation and whitespace aside). A bound fact carries the on-chain
    DID and name; otherwise ``unbound`` says why it cannot count. Without the on-chain identity
    (the ledger was not read) nothing is bound. Badges name no party of their own: only an
    unknown issuer unbinds them.
    """
    if not issuer_did or not issuer_name:
        return replace(
            fact, unbound="the issuer's identity on the ledger is unknown (the ledger was not read)"
        )
    issuer = f"the issuer {issuer_name!r} ({issuer_did})"
    if isinstance(fact, EmploymentFact):
        if fact.employer_id is not None and fact.employer_id != issuer_did:
            return replace(
                fact, unbound=f"employer {fact.employer!r} ({fact.employer_id}) is not {issuer}"
            )
        if not same_name(fact.employer, issuer_name):
            return replace(fact, unbound=f"employer {fact.employer!r} is not {issuer}")
        return replace(fact, employer=issuer_name, employer_did=issuer_did, unbound=None)
    if isinstance(fact, DegreeFact):
        if fact.institution_id is not None and fact.institution_id != issuer_did:
            return replace(
                fact,
                unbound=f"awarding institution {fact.institution!r} ({fact.institution_id}) is not {issuer}",
            )
        if not same_name(fact.institution, issuer_name):
            return replace(
                fact, unbound=f"awarding institution {fact.institution!r} is not {issuer}"
            )
        return replace(fact, institution=issuer_name, institution_did=issuer_did, unbound=None)
    return replace(fact, unbound=None)
