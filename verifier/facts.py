"""Facts the talent-list policy reasons about, read from verified credentials.

The policy engine never looks at raw credential JSON: this module turns each credential kind
(degree, employment, Open Badge) into a small typed fact. The field names are those of the
credential package's JSON Schemas (``talentproof.credential.model`` builders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class EmploymentFact:
    """A period of employment; ``end`` is None while it continues."""

    ref: str
    employer: str
    role: str
    start: date
    end: date | None
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alignment:
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
    alignments: tuple[Alignment, ...]
    tags: tuple[str, ...]


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


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("name", "")
    return str(value or "").strip()


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
        return DegreeFact(
            ref=ref,
            level=_text(_first(deg, "level", "degreeLevel")).lower(),
            field_of_study=_text(_first(deg, "fieldOfStudy", "field")),
            institution=_text(_first(deg, "institution", "awardingInstitution")),
            award_date=_date(_first(deg, "awardDate", "awarded")),
        )
    if kind == EMPLOYMENT:
        emp = subject.get("employment")
        emp = emp if isinstance(emp, Mapping) else subject
        start = _date(_first(emp, "startDate", "start"))
        if start is None:
            return None
        domains = _first(emp, "domains", "domain") or ()
        if isinstance(domains, str):
            domains = (domains,)
        return EmploymentFact(
            ref=ref,
            employer=_text(_first(emp, "employer", "employerName")),
            role=_text(_first(emp, "role", "title")),
            start=start,
            end=_date(_first(emp, "endDate", "end")),
            domains=tuple(str(d) for d in domains),
        )
    ach = subject.get("achievement")
    if not isinstance(ach, Mapping):
        return None
    aligns = []
    for a in ach.get("alignment") or ():
        if isinstance(a, Mapping):
            aligns.append(
                Alignment(
                    target_name=_text(a.get("targetName")),
                    target_code=_text(a.get("targetCode")),
                    target_framework=_text(a.get("targetFramework")),
                    target_url=_text(a.get("targetUrl")),
                )
            )
    tags = ach.get("tag") or ()
    if isinstance(tags, str):
        tags = (tags,)
    return BadgeFact(
        ref=ref,
        name=_text(ach.get("name")),
        achievement_type=_text(ach.get("achievementType")),
        alignments=tuple(aligns),
        tags=tuple(str(t) for t in tags),
    )
