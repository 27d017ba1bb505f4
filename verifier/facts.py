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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

# the one name comparison (the issuer binds a subject's institution with it too)
from talentproof.credential.text import norm_text, same_name

__all__ = [
    "DEGREE",
    "DEGREE_LEVELS",
    "EMPLOYMENT",
    "OPEN_BADGE",
    "BadgeFact",
    "DegreeFact",
    "EmploymentFact",
    "Fact",
    "NamedParty",
    "SkillAlignment",
    "bind",
    "fact_of",
    "named_party",
    "norm_text",
    "not_the_issuer",
    "same_name",
    "stated_party",
]

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
    #: the achievement's ``creator`` (an Open Badges Profile) as stated: its name and id, each
    #: None when not stated; ``has_creator`` says whether one was stated at all
    creator: str | None = None
    creator_id: str | None = None
    has_creator: bool = False


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


def _creator_name(value: Any) -> str | None:
    """A badge creator's stated name: a Profile's ``name``; None for a bare IRI (no name); any
    other shape as its text (never the issuer's name, so it never passes for it)."""
    if isinstance(value, str) or value is None:
        return None
    if isinstance(value, Mapping):
        name = value.get("name")
        return None if name is None else name if isinstance(name, str) else repr(name)
    return repr(value)


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


def _read(doc: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The credential's kind and subject (the first of a list), or None."""
    kind = _kind(doc)
    subject = doc.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    if not isinstance(subject, Mapping) or kind is None:
        return None
    return kind, subject


def _part(subject: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``subject[key]`` (``degree``, ``employment``) when it is an object, else the subject."""
    part = subject.get(key)
    return part if isinstance(part, Mapping) else subject


def _party(kind: str, subject: Mapping[str, Any]) -> NamedParty | None:
    """The institution the subject names besides its signer, as stated (see `named_party`)."""
    if kind == DEGREE:
        inst = _first(_part(subject, "degree"), "institution", "awardingInstitution")
        return ("awarding institution", _text(inst), _id_of(inst))
    if kind == EMPLOYMENT:
        employer = _first(_part(subject, "employment"), "employer", "employerName")
        return ("employer", _text(employer), _id_of(employer))
    ach = subject.get("achievement")
    creator = ach.get("creator") if isinstance(ach, Mapping) else None
    if creator is None:
        return None
    pid = creator if isinstance(creator, str) else _id_of(creator)
    return ("achievement creator", _creator_name(creator), pid)


def stated_party(doc: Mapping[str, Any]) -> NamedParty | None:
    """The institution a credential's subject names besides its signer (`named_party` of its
    fact), read without the rest of the fact: what check 6 compares with the signer."""
    read = _read(doc)
    return None if read is None else _party(*read)


def fact_of(ref: str, doc: Mapping[str, Any]) -> Fact | None:
    """The fact a credential states, or None for a kind the policy does not know."""
    read = _read(doc)
    if read is None:
        return None
    kind, subject = read
    party = _party(kind, subject)
    if kind == DEGREE:
        deg = _part(subject, "degree")
        assert party is not None
        _, institution, institution_id = party
        return DegreeFact(
            ref=ref,
            level=_text(_first(deg, "level", "degreeLevel")).lower(),
            field_of_study=_text(_first(deg, "fieldOfStudy", "field")),
            institution=str(institution),
            award_date=_date(_first(deg, "awardDate", "awarded")),
            institution_id=institution_id,
        )
    if kind == EMPLOYMENT:
        emp = _part(subject, "employment")
        start = _date(_first(emp, "startDate", "start"))
        if start is None:
            return None
        domains = _texts(_first(emp, "domains", "domain"))
        assert party is not None
        _, employer, employer_id = party
        return EmploymentFact(
            ref=ref,
            employer=str(employer),
            employer_id=employer_id,
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
        creator=party[1] if party else None,
        creator_id=party[2] if party else None,
        has_creator=party is not None,
        name=_text(ach.get("name")),
        achievement_type=_text(ach.get("achievementType")),
        alignments=tuple(aligns),
        tags=tags,
        issued=stated or _date(doc.get("validFrom")),
        issued_stated=stated is not None,
    )


#: The party a credential's subject names as the one attesting, as stated: (what it is, its
#: name or None, its id or None), e.g. ``("employer", "HSBC", None)``.
NamedParty = tuple[str, "str | None", "str | None"]


def named_party(fact: Fact | None) -> NamedParty | None:
    """The institution a fact names besides its signer, as stated: a degree's awarding
    institution, an employment's employer, a badge achievement's ``creator`` (when it states
    one); None when it names none. The signer must be that party (:func:`not_the_issuer`)."""
    if isinstance(fact, EmploymentFact):
        return ("employer", fact.employer, fact.employer_id)
    if isinstance(fact, DegreeFact):
        return ("awarding institution", fact.institution, fact.institution_id)
    if isinstance(fact, BadgeFact) and fact.has_creator:
        return ("achievement creator", fact.creator, fact.creator_id)
    return None


def not_the_issuer(party: NamedParty, issuer_did: str, issuer_name: str) -> str | None:
    """Why the named ``party`` is not the issuer registered as ``issuer_did`` / ``issuer_name``
    (its stated id is another DID, or its stated name is not the registered one up to case,
    punctuation and spacing), naming both; None when it is the issuer. An employer's or a
    degree institution's name is always compared (the schema requires it: an absent one is
    ``''``); a badge creator's only when it states one."""
    role, name, pid = party
    issuer = f"the issuer {issuer_name!r} ({issuer_did})"
    shown = repr(name) if name is not None else "(no name)"
    if pid is not None and pid != issuer_did:
        return f"{role} {shown} ({pid}) is not {issuer}"
    if name is not None and not same_name(name, issuer_name):
        return f"{role} {shown} is not {issuer}"
    return None


def bind(fact: Fact, issuer_did: str | None, issuer_name: str | None) -> Fact:
    """The fact tied to the on-chain identity of the party that signed it.

    An employment's employer, a degree's awarding institution and a badge achievement's
    creator (when stated) must be the issuer itself (:func:`not_the_issuer`). A bound fact
    carries the on-chain DID and name; otherwise ``unbound`` says why it cannot count. Without
    the on-chain identity (the ledger was not read) nothing is bound. Check 6 fails a
    credential whose named party is not its issuer, with the same words.
    """
    if not issuer_did or not issuer_name:
        return replace(
            fact, unbound="the issuer's identity on the ledger is unknown (the ledger was not read)"
        )
    party = named_party(fact)
    why = None if party is None else not_the_issuer(party, issuer_did, issuer_name)
    if why is not None:
        return replace(fact, unbound=why)
    if isinstance(fact, EmploymentFact):
        return replace(fact, employer=issuer_name, employer_did=issuer_did, unbound=None)
    if isinstance(fact, DegreeFact):
        return replace(fact, institution=issuer_name, institution_did=issuer_did, unbound=None)
    return replace(fact, unbound=None)
