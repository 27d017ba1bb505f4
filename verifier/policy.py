"""Talent-list policies: a declarative file format and the engine that evaluates it.

A policy file (YAML or JSON) lists professions; each profession lists criteria. A criterion is
one of:

``degree``
    ``min_level`` (associate < bachelor < master < doctorate), optional ``fields`` (keywords, any
    of which must appear in the field of study), optional ``institutions`` (recognised
    universities, ``{did, name}``: matched by DID only).
``employment``
    optional ``employers`` (notable firms, ``{did, name}``: matched by DID only), optional
    ``domains`` (any of which the employment must list), and the required ``min_years`` (total
    calendar years, the end date exclusive, overlaps counted once, up to the application date,
    an employment with no end date, or one ending after the day its credential was anchored,
    only up to that day; an explicit 0 means any duration).
``badge``
    an Open Badges achievement matching any of ``alignments`` (``framework``/``code``/``name``,
    each optional, all given ones must match), ``achievement_types`` or ``keywords`` (in its
    name or tags).
``any_of`` / ``all_of``
    a list of nested criteria.

Parsing is strict (thresholds explicit, lists given non-empty, names with letters or digits,
no unknown or duplicated keys): what cannot be read exactly as written is a PolicyError.

Thresholds and lists are data: the engine has no profession built in. ``evaluate`` explains
each criterion: met or not, by which credential, and why.

Who may say what: a degree counts only when it was signed by its awarding institution, an
employment only when signed by its employer (``facts.bind``: the credential's ``institution`` /
``employer`` must be the issuer's DID and name as registered on chain). Firms and universities
are therefore named by their on-chain DID (``did:web:hsbc.com``), never by a self-asserted
name; the name beside the DID is for people. A mismatch is a failed criterion that says why
("employer 'HSBC' is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)").

Facts have their own time: ``evaluate`` takes the application date and counts a degree awarded,
an employment held (its years up to that date, or up to its anchor day when it has no end or
ends later) and a badge completed by then; a fact dated later does not count ("not yet awarded
on 2024-01-01"), nor one dated after its credential was anchored (a claim about the future when
it was signed, even once that date has passed). Whether the credential is valid and unrevoked is
the engine's checks 8 and 9, at the as-of time, not here.

Example::

    policy = load_policy(DEFAULT_POLICY)
    item = PolicyInput("degree.json", doc, True, "did:web:hku.hk", "The University of Hong Kong")
    result = policy.evaluate("hk-dlt-expert", [item], date.today())
    for c in result.criteria:
        print(c.met, c.title, c.reason)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from talentproof.verifier.errors import PolicyError, UnknownProfession
from talentproof.verifier.facts import (
    DEGREE_LEVELS,
    BadgeFact,
    DegreeFact,
    EmploymentFact,
    Fact,
    bind,
    fact_of,
    norm_text,
)

FORMAT = "talentproof-policy/1"

#: The policy shipped with the verifier (Hong Kong Talent List, DLT and fintech).
DEFAULT_POLICY = "hk_talent_list.yaml"

_DAYS_PER_YEAR = 365.2425


# --------------------------------------------------------------------------- criteria model


@dataclass(frozen=True, slots=True)
class Firm:
    """A firm (or university) the policy names: its on-chain identity (DID) and, for people,
    its name. Matched by DID only."""

    did: str
    name: str

    def matches(self, did: str | None) -> bool:
        """True when ``did`` (a bound fact's on-chain issuer DID) is this firm's."""
        return did is not None and did == self.did

    def describe(self) -> str:
        """``name (did)``."""
        return f"{self.name} ({self.did})"


@dataclass(frozen=True, slots=True)
class AlignmentRule:
    """A skills-framework alignment a badge must carry (given fields must all match)."""

    framework: str | None = None
    code: str | None = None
    name: str | None = None

    def describe(self) -> str:
        """A short human description."""
        parts = [p for p in (self.framework, self.code, self.name) if p]
        return " / ".join(parts)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion of a profession; ``kind`` selects which fields apply."""

    id: str
    title: str
    kind: str
    min_level: str | None = None
    fields: tuple[str, ...] = ()
    employers: tuple[Firm, ...] = ()
    institutions: tuple[Firm, ...] = ()
    domains: tuple[str, ...] = ()
    min_years: float = 0.0
    alignments: tuple[AlignmentRule, ...] = ()
    achievement_types: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    children: tuple[Criterion, ...] = ()


@dataclass(frozen=True, slots=True)
class Profession:
    """A talent-list profession and its criteria (all must be met)."""

    id: str
    name: str
    description: str
    criteria: tuple[Criterion, ...]
    source: str = ""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """A credential offered as evidence; ``verified`` is the verifier's verdict on it;
    ``issuer_did`` / ``issuer_name`` the signing issuer's identity as recorded on chain (None
    when the ledger was not read: its degree or employment then never counts); ``attested`` the
    date it was anchored (an employment with no end is counted up to that day only)."""

    ref: str
    credential: Mapping[str, Any]
    verified: bool
    issuer_did: str | None = None
    issuer_name: str | None = None
    #: when the issuer said it, at the latest: the date its credential was anchored (an ongoing
    #: employment is counted up to it); None when not known
    attested: date | None = None


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """Whether one criterion is met, by which credentials, and why."""

    id: str
    title: str
    met: bool
    reason: str
    evidence: tuple[str, ...] = ()
    children: tuple[CriterionResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "met": self.met,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }
        if self.children:
            out["anyOf"] = [c.to_json() for c in self.children]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CriterionResult:
        """Inverse of :meth:`to_json`."""
        return cls(
            id=data["id"],
            title=data["title"],
            met=bool(data["met"]),
            reason=data["reason"],
            evidence=tuple(data.get("evidence") or ()),
            children=tuple(cls.from_json(c) for c in data.get("anyOf") or ()),
        )


@dataclass(frozen=True, slots=True)
class ProfessionResult:
    """The evaluation of one applicant against one profession; ``as_of`` is the application
    date the facts were taken at (JSON ``applicationDate``)."""

    profession_id: str
    profession_name: str
    as_of: date
    criteria: tuple[CriterionResult, ...]
    ignored: tuple[str, ...] = field(default=())

    @property
    def met(self) -> bool:
        """True when every criterion is met."""
        return bool(self.criteria) and all(c.met for c in self.criteria)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "profession": self.profession_id,
            "name": self.profession_name,
            "applicationDate": self.as_of.isoformat(),
            "met": self.met,
            "criteria": [c.to_json() for c in self.criteria],
            "ignored": list(self.ignored),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfessionResult:
        """Inverse of :meth:`to_json`."""
        return cls(
            profession_id=data["profession"],
            profession_name=data["name"],
            as_of=date.fromisoformat(data.get("applicationDate") or data["asOf"]),
            criteria=tuple(CriterionResult.from_json(c) for c in data["criteria"]),
            ignored=tuple(data.get("ignored") or ()),
        )


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class _Facts:
    verified: tuple[Fact, ...]
    unverified: tuple[Fact, ...]
    known_until: date | None = None  # an ongoing employment is known to last until today only
    #: why no credential counts (the application is not valid: ``report.refusal_of``)
    refused: str | None = None


def _years(days: int) -> float:
    return days / _DAYS_PER_YEAR


def _anniversary(start: date, years: int) -> date:
    """``start`` moved ``years`` years on (29 February: 1 March of a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def _calendar_years(start: date, end: date) -> float:
    """The years from ``start`` to ``end`` (exclusive): whole anniversaries, then the rest as a
    fraction of the year that follows the last one, so exactly N calendar years is N."""
    if end <= start:
        return 0.0
    try:
        whole = end.year - start.year
        if _anniversary(start, whole) > end:
            whole -= 1
        last, following = _anniversary(start, whole), _anniversary(start, whole + 1)
    except (ValueError, OverflowError):  # beyond year 9999: no calendar left to count with
        return _years((end - start).days)
    return whole + (end - last).days / (following - last).days


def _fmt_years(years: float) -> str:
    return f"{years:.1f} year" + ("" if round(years, 1) == 1.0 else "s")


def _merged(periods: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The periods with overlapping or adjacent ones joined (overlaps counted once)."""
    out: list[tuple[date, date]] = []
    for start, end in sorted(periods):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _merged_years(periods: list[tuple[date, date]]) -> float:
    """Calendar years covered by the periods, overlaps counted once."""
    return sum(_calendar_years(start, end) for start, end in _merged(periods))


def _degree_matches(c: Criterion, f: DegreeFact) -> str | None:
    """None when the degree meets the criterion, else why not."""
    if f.level not in DEGREE_LEVELS:
        return f"unknown degree level {f.level!r}"
    assert c.min_level is not None
    if DEGREE_LEVELS.index(f.level) < DEGREE_LEVELS.index(c.min_level):
        return f"{f.level} is below {c.min_level}"
    if c.fields and not any(norm_text(k) in norm_text(f.field_of_study) for k in c.fields):
        return f"field {f.field_of_study!r} is not one of {', '.join(c.fields)}"
    if c.institutions and not any(u.matches(f.institution_did) for u in c.institutions):
        return f"{f.institution} ({f.institution_did}) is not a recognised university"
    return None


def _employment_matches(c: Criterion, f: EmploymentFact) -> str | None:
    if c.employers and not any(firm.matches(f.employer_did) for firm in c.employers):
        return f"{f.employer} ({f.employer_did}) is not a listed firm"
    if c.domains:
        have = {norm_text(d) for d in f.domains}
        if not any(norm_text(d) in have for d in c.domains):
            return f"{f.employer}: no domain among {', '.join(c.domains)}"
    return None


def _badge_matches(c: Criterion, f: BadgeFact) -> str | None:
    for rule in c.alignments:
        for a in f.alignments:
            if (
                (
                    rule.framework is None
                    or norm_text(rule.framework) == norm_text(a.target_framework)
                )
                and (rule.code is None or norm_text(rule.code) == norm_text(a.target_code))
                and (rule.name is None or norm_text(rule.name) == norm_text(a.target_name))
            ):
                return None
    if c.achievement_types and norm_text(f.achievement_type) in {
        norm_text(t) for t in c.achievement_types
    }:
        return None
    words = norm_text(" ".join((f.name, *f.tags)))
    if c.keywords and any(norm_text(k) in words for k in c.keywords):
        return None
    return f"badge {f.name!r} is not aligned to the required skill"


def _not_yet(f: Fact, on: date) -> str | None:
    """Why a fact does not hold on the application date ``on`` (None when it does)."""
    if isinstance(f, DegreeFact):
        if f.award_date is None:
            return "the degree states no award date"
        if f.award_date > on:
            return f"not yet awarded on {on.isoformat()} (awarded {f.award_date.isoformat()})"
    elif isinstance(f, EmploymentFact):
        if f.start > on:
            return f"not yet employed on {on.isoformat()} (started {f.start.isoformat()})"
    elif f.issued is not None and f.issued > on:
        return f"not yet completed on {on.isoformat()} (completed {f.issued.isoformat()})"
    return None


def _after_anchor(f: Fact) -> str | None:
    """Why a fact cannot count because it is dated after its credential was anchored (None when
    it is not): its issuer spoke by that day at the latest (the anchor's block time, which no
    issuer can move), so a later date is a claim about the future, even once that date has
    passed. An employment's end after that day is not refused but counted up to it."""
    on = f.attested
    if on is None:
        return None
    if isinstance(f, DegreeFact):
        what, day = "awarded", f.award_date
    elif isinstance(f, EmploymentFact):
        what, day = "started", f.start
    else:
        what, day = "completed", f.issued if f.issued_stated else None
    if day is None or day <= on:
        return None
    return (
        f"{what} {day.isoformat()}, after its credential was anchored on "
        f"{on.isoformat()} (a claim about the future when it was signed)"
    )


def _evaluate(c: Criterion, facts: _Facts, as_of: date) -> CriterionResult:
    if c.kind in ("any_of", "all_of"):
        children = tuple(_evaluate(ch, facts, as_of) for ch in c.children)
        if facts.refused is not None:  # said once, not once per alternative (each child says it)
            reason = f"no credential counts: {facts.refused}"
            return CriterionResult(c.id, c.title, False, reason, (), children)
        if c.kind == "any_of":
            hits = [ch for ch in children if ch.met]
            met = bool(hits)
            reason = (
                "; ".join(f"{h.title}: {h.reason}" for h in hits)
                if met
                else "none of the alternatives is met: "
                + "; ".join(f"{ch.title}: {ch.reason}" for ch in children)
            )
            evidence = tuple(dict.fromkeys(e for h in hits for e in h.evidence))
        else:
            misses = [ch for ch in children if not ch.met]
            met = not misses
            reason = (
                "; ".join(ch.reason for ch in children)
                if met
                else "; ".join(f"{m.title}: {m.reason}" for m in misses)
            )
            evidence = tuple(dict.fromkeys(e for ch in children for e in ch.evidence))
        return CriterionResult(c.id, c.title, met, reason, evidence, children)

    if facts.refused is not None:
        return CriterionResult(c.id, c.title, False, f"no credential counts: {facts.refused}")
    fact_type = {"degree": DegreeFact, "employment": EmploymentFact, "badge": BadgeFact}[c.kind]
    label = {"degree": "degree", "employment": "employment", "badge": "training or skill"}[c.kind]
    unverified = [f.ref for f in facts.unverified if isinstance(f, fact_type)]
    note = (
        f" ({len(unverified)} {label} credential(s) not counted because they failed "
        f"verification: {', '.join(unverified)})"
        if unverified
        else ""
    )
    # who signed it (binding), then whether it held on the application date
    mine: list[Any] = []
    refused: list[str] = []
    for f in facts.verified:
        if not isinstance(f, fact_type):
            continue
        why = f.unbound or _after_anchor(f) or _not_yet(f, as_of)
        if why is None:
            mine.append(f)
        else:
            refused.append(f"{f.ref}: {why}")
    if not mine:
        if refused:
            reason = f"no {label} credential counts: " + "; ".join(refused) + note
        else:
            reason = f"no verified {label} credential was presented{note}"
        return CriterionResult(c.id, c.title, False, reason)
    note = ("; not counted: " + "; ".join(refused) if refused else "") + note

    if c.kind == "degree":
        whys = []
        for f in mine:
            assert isinstance(f, DegreeFact)
            why = _degree_matches(c, f)
            if why is None:
                assert f.award_date is not None
                return CriterionResult(
                    c.id,
                    c.title,
                    True,
                    f"{f.level} in {f.field_of_study} from {f.institution} ({f.institution_did}), "
                    f"awarded {f.award_date.isoformat()}",
                    (f.ref,),
                )
            whys.append(f"{f.ref}: {why}")
        return CriterionResult(c.id, c.title, False, "; ".join(whys) + note)

    if c.kind == "badge":
        whys = []
        for f in mine:
            assert isinstance(f, BadgeFact)
            why = _badge_matches(c, f)
            if why is None:
                return CriterionResult(
                    c.id, c.title, True, f"training credential {f.name!r}", (f.ref,)
                )
            whys.append(f"{f.ref}: {why}")
        wanted = ", ".join(r.describe() for r in c.alignments) or ", ".join(c.keywords)
        return CriterionResult(
            c.id, c.title, False, "; ".join(whys) + (f" (needs {wanted})" if wanted else "") + note
        )

    # employment
    matching: list[EmploymentFact] = []
    whys = []
    for f in mine:
        assert isinstance(f, EmploymentFact)
        why = _employment_matches(c, f)
        if why is None:
            matching.append(f)
        else:
            whys.append(why)
    if not matching:
        return CriterionResult(
            c.id, c.title, False, "no matching employment: " + "; ".join(whys) + note
        )
    periods = []
    cap = min(as_of, facts.known_until or as_of)
    attested: list[str] = []  # employments counted only up to when they were attested
    ends: list[date] = []
    for f in matching:
        end = cap if f.end is None else f.end
        if f.attested is not None and f.attested < end:
            # an employment is vouched for up to the day its employer said so, whether it
            # states no end or an end after that day (a claim about the future)
            end = f.attested
            attested.append(f"{f.ref} ({f.attested.isoformat()})")
        end = min(end, as_of)
        ends.append(end)
        if end > f.start:
            periods.append((f.start, end))
    years = _merged_years(periods)
    employers = ", ".join(dict.fromkeys(f.employer for f in matching))
    refs = tuple(f.ref for f in matching)
    upto = f" up to {(max(ends) if attested else cap).isoformat()}"
    if attested:
        upto += (
            "; an employment with no end date, or one ending later, counted up to the day its "
            "credential was anchored: " + ", ".join(attested)
        )
    if years + 1e-9 >= c.min_years:
        reason = f"{_fmt_years(years)} at {employers}{upto}"
        if c.min_years:
            reason += f" (needs {_fmt_years(c.min_years)})"
        return CriterionResult(c.id, c.title, True, reason, refs)
    return CriterionResult(
        c.id,
        c.title,
        False,
        f"only {_fmt_years(years)} at {employers}{upto}; needs {_fmt_years(c.min_years)}{note}",
        refs,
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy file: its professions by id."""

    name: str
    professions: Mapping[str, Profession]
    source: str = ""

    def profession(self, profession_id: str) -> Profession:
        """The profession with this id (raises UnknownProfession)."""
        try:
            return self.professions[profession_id]
        except KeyError:
            raise UnknownProfession(profession_id, list(self.professions)) from None

    def evaluate(
        self,
        profession_id: str,
        inputs: Sequence[PolicyInput],
        as_of: date,
        *,
        today: date | None = None,
        refused: str | None = None,
    ) -> ProfessionResult:
        """Evaluate one applicant's credentials against a profession, explaining each criterion.

        ``as_of`` is the application date: the facts (degree awarded, employment held, badge
        completed) are taken as they stood that day; ``today`` (the verification date) caps an
        ongoing employment, which is not known to last beyond it. Only credentials with ``verified=True``
        whose degree or employment is bound to their on-chain issuer count; the others are
        named in the reasons. ``refused`` (why the application is not valid, ``report.refusal_of``:
        an invalid credential, a failed check 11 or 12, something not verifiable) counts none of
        them: every criterion is unmet, saying why.
        """
        prof = self.profession(profession_id)
        verified: list[Fact] = []
        unverified: list[Fact] = []
        ignored: list[str] = []
        for item in inputs:
            # the engine names a credential by its id, which one that failed check 2 may give as
            # a number or an object: named by its text, never a TypeError out of the evaluation
            ref = str(item.ref)
            fact = fact_of(ref, item.credential)
            if fact is not None:
                fact = bind(fact, item.issuer_did, item.issuer_name)
                if item.attested:
                    fact = replace(fact, attested=item.attested)
            if fact is None:
                ignored.append(ref)
            elif item.verified:
                verified.append(fact)
            else:
                unverified.append(fact)
        facts = _Facts(tuple(verified), tuple(unverified), today, refused)
        return ProfessionResult(
            profession_id=prof.id,
            profession_name=prof.name,
            as_of=as_of,
            criteria=tuple(_evaluate(c, facts, as_of) for c in prof.criteria),
            ignored=tuple(ignored),
        )


# --------------------------------------------------------------------------- parsing
#
# Parsing is strict: a policy decides who is eligible, so anything it cannot read exactly as
# written (a wrong type, a missing threshold, an empty filter, a name with no letters, a
# duplicated key, an unknown key) is refused with a PolicyError naming the field, never guessed.

_KINDS = ("degree", "employment", "badge", "any_of", "all_of")
_MAX_DEPTH = 8  # nesting of any_of / all_of


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(where, "a non-empty string", value)
    return value


def _term(where: str, value: Any) -> str:
    """A string the engine matches against credentials: it must keep letters or digits once
    normalized (an empty normalized term would be "contained" in every text)."""
    if not isinstance(value, str) or not norm_text(value):
        raise PolicyError(where, "a non-empty name with letters or digits", value)
    return value


def _opt_text(where: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PolicyError(where, "a string", value)
    return value


_ABSENT: Any = object()


def _list(where: str, value: Any) -> list[Any]:
    """An optional filter list: absent (``_ABSENT``) is no filter; given, it must be a non-empty
    list (an empty or null filter would silently match everything)."""
    if value is _ABSENT:
        return []
    if not isinstance(value, list) or not value:
        raise PolicyError(where, "a non-empty list (or leave the key out)", value)
    return value


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    return tuple(_term(f"{where}[{i}]", v) for i, v in enumerate(_list(where, value)))


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(where, "a mapping", value)
    return value


def _no_extra(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(k) for k in data if not (isinstance(k, str) and k in allowed))
    if extra:
        raise PolicyError(where, f"only the keys {', '.join(sorted(allowed))}", extra[0])


def _opt_term(where: str, value: Any) -> str | None:
    return None if value is _ABSENT else _term(where, value)


_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")


def _firms(where: str, value: Any) -> tuple[Firm, ...]:
    """A list of ``{did, name}`` entries (a firm or university by its on-chain identity)."""
    out: list[Firm] = []
    for i, e in enumerate(_list(where, value)):
        wi = f"{where}[{i}]"
        e = _mapping(wi, e)
        _no_extra(wi, e, {"did", "name"})
        did = e.get("did")
        if not isinstance(did, str) or not _DID.match(did):
            raise PolicyError(f"{wi}.did", "a DID (did:method:id, e.g. did:web:hsbc.com)", did)
        if any(f.did == did for f in out):
            raise PolicyError(f"{wi}.did", "a DID listed once", did)
        out.append(Firm(did, _term(f"{wi}.name", e.get("name"))))
    return tuple(out)


def _min_years(where: str, body: Mapping[str, Any]) -> float:
    """The required ``min_years`` threshold (explicit: 0 means any duration)."""
    if "min_years" not in body:
        raise PolicyError(where + ".min_years", "a number of years >= 0 (0 for any duration)")
    years = body["min_years"]
    if (
        isinstance(years, bool)
        or not isinstance(years, (int, float))
        or not math.isfinite(years)
        or years < 0
    ):
        raise PolicyError(f"{where}.min_years", "a number of years >= 0", years)
    return float(years)


def _criterion(where: str, raw: Any, depth: int = 0) -> Criterion:
    data = _mapping(where, raw)
    kinds = [k for k in _KINDS if k in data]
    if len(kinds) != 1:
        raise PolicyError(
            where, f"exactly one of the keys {', '.join(_KINDS)}", sorted(map(str, data))
        )
    kind = kinds[0]
    _no_extra(where, data, {"id", "title", kind})
    cid = _str(f"{where}.id", data.get("id"))
    title = _str(f"{where}.title", data.get("title"))
    body = data[kind]
    w = f"{where}.{kind}"
    if kind in ("any_of", "all_of"):
        if not isinstance(body, list) or not body:
            # An empty any_of/all_of would be trivially false/true: refuse it.
            raise PolicyError(w, "a non-empty list of criteria", body)
        if depth >= _MAX_DEPTH:
            raise PolicyError(w, f"criteria nested at most {_MAX_DEPTH} levels deep", depth + 1)
        children = tuple(_criterion(f"{w}[{i}]", ch, depth + 1) for i, ch in enumerate(body))
        return Criterion(id=cid, title=title, kind=kind, children=children)
    body = _mapping(w, body)
    if kind == "degree":
        _no_extra(w, body, {"min_level", "fields", "institutions"})
        level = body.get("min_level")
        if not isinstance(level, str) or level not in DEGREE_LEVELS:
            raise PolicyError(f"{w}.min_level", f"one of {', '.join(DEGREE_LEVELS)}", level)
        return Criterion(
            id=cid,
            title=title,
            kind=kind,
            min_level=level,
            fields=_str_list(f"{w}.fields", body.get("fields", _ABSENT)),
            institutions=_firms(f"{w}.institutions", body.get("institutions", _ABSENT)),
        )
    if kind == "employment":
        _no_extra(w, body, {"employers", "domains", "min_years"})
        firms = _firms(f"{w}.employers", body.get("employers", _ABSENT))
        domains = _str_list(f"{w}.domains", body.get("domains", _ABSENT))
        years = _min_years(w, body)
        if not firms and not domains and not years:
            raise PolicyError(w, "at least one of employers, domains, min_years > 0", dict(body))
        return Criterion(
            id=cid,
            title=title,
            kind=kind,
            employers=tuple(firms),
            domains=domains,
            min_years=years,
        )
    _no_extra(w, body, {"alignments", "achievement_types", "keywords"})
    rules = []
    for i, a in enumerate(_list(f"{w}.alignments", body.get("alignments", _ABSENT))):
        wa = f"{w}.alignments[{i}]"
        a = _mapping(wa, a)
        _no_extra(wa, a, {"framework", "code", "name"})
        rule = AlignmentRule(
            framework=_opt_term(f"{wa}.framework", a.get("framework", _ABSENT)),
            code=_opt_term(f"{wa}.code", a.get("code", _ABSENT)),
            name=_opt_term(f"{wa}.name", a.get("name", _ABSENT)),
        )
        if rule == AlignmentRule():
            raise PolicyError(wa, "at least one of framework, code, name", dict(a))
        rules.append(rule)
    types = _str_list(f"{w}.achievement_types", body.get("achievement_types", _ABSENT))
    keywords = _str_list(f"{w}.keywords", body.get("keywords", _ABSENT))
    if not rules and not types and not keywords:
        raise PolicyError(w, "at least one of alignments, achievement_types, keywords", dict(body))
    return Criterion(
        id=cid,
        title=title,
        kind=kind,
        alignments=tuple(rules),
        achievement_types=types,
        keywords=keywords,
    )


def _criterion_ids(criteria: Sequence[Criterion]) -> list[str]:
    return [x for c in criteria for x in (c.id, *_criterion_ids(c.children))]


def parse_policy(data: Any) -> Policy:
    """Build a :class:`Policy` from parsed YAML/JSON data (raises PolicyError naming the field)."""
    root = _mapping("policy", data)
    if root.get("format") != FORMAT:
        raise PolicyError("format", repr(FORMAT), root.get("format"))
    _no_extra("policy", root, {"format", "name", "source", "professions"})
    raw_profs = root.get("professions")
    if not isinstance(raw_profs, list) or not raw_profs:
        raise PolicyError("professions", "a non-empty list", raw_profs)
    profs: dict[str, Profession] = {}
    for i, p in enumerate(raw_profs):
        where = f"professions[{i}]"
        p = _mapping(where, p)
        _no_extra(where, p, {"id", "name", "description", "source", "criteria"})
        pid = _str(f"{where}.id", p.get("id"))
        if pid in profs:
            raise PolicyError(f"{where}.id", "a unique profession id", pid)
        crit = p.get("criteria")
        if not isinstance(crit, list) or not crit:
            raise PolicyError(f"{where}.criteria", "a non-empty list of criteria", crit)
        criteria = tuple(_criterion(f"{where}.criteria[{j}]", c) for j, c in enumerate(crit))
        ids = _criterion_ids(criteria)
        if len(set(ids)) != len(ids):
            raise PolicyError(f"{where}.criteria", "unique criterion ids", ids)
        profs[pid] = Profession(
            id=pid,
            name=_str(f"{where}.name", p.get("name")),
            description=_opt_text(f"{where}.description", p.get("description")),
            criteria=criteria,
            source=_opt_text(f"{where}.source", p.get("source")),
        )
    return Policy(
        name=_str("name", root.get("name")),
        professions=profs,
        source=_opt_text("source", root.get("source")),
    )


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r}")
            seen.add(k)
    return out


class _StrictLoader(yaml.SafeLoader):
    """YAML safe loader that refuses duplicate keys (PyYAML keeps the last one silently: two
    readers of one file could then disagree on a threshold)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                fresh = key not in seen
            except TypeError:
                fresh = True  # unhashable: construct_mapping below raises its own error
            if not fresh:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            try:
                seen.add(key)
            except TypeError:
                pass
        return super().construct_mapping(node, deep)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file (YAML or JSON); None or the bare default name loads the shipped one."""
    if path is None or str(path) == DEFAULT_POLICY:
        text = (
            resources.files("talentproof.verifier")
            .joinpath("professions", DEFAULT_POLICY)
            .read_text("utf-8")
        )
        where = DEFAULT_POLICY
    else:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError("policy file", "a readable UTF-8 YAML or JSON file", str(p)) from exc
        where = str(p)
    return parse_policy_text(text, where)


_MAX_POLICY_CHARS = 1 << 20
_MAX_BRACKETS = 64


def _bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { in ``text`` (an upper bound on JSON / YAML flow nesting:
    brackets inside strings count too). The C JSON decoder can exhaust the C stack, killing the
    process, on deeply nested input before any RecursionError, so it is bounded first."""
    depth = deepest = 0
    for c in re.sub(r"[^\[\]{}]+", "", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def parse_policy_text(text: str, where: str = "policy") -> Policy:
    """Parse a policy document's text: JSON when ``where`` ends with ``.json``, else YAML."""
    if len(text) > _MAX_POLICY_CHARS:
        raise PolicyError(where, f"a policy of at most {_MAX_POLICY_CHARS} characters", len(text))
    if _bracket_depth(text) > _MAX_BRACKETS:
        raise PolicyError(where, f"lists and mappings nested at most {_MAX_BRACKETS} deep")
    try:
        if where.endswith(".json"):
            data = json.loads(text, object_pairs_hook=_json_object)
        else:
            data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
            mark = exc.problem_mark
            first = exc.problem + (
                f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            )
        raise PolicyError(where, "valid YAML or JSON", first) from exc
    return parse_policy(data)
