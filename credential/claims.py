"""Impossible or future facts in a credential's subject (pure; the clock is passed in).

A JSON Schema can say that ``awardDate`` looks like ``YYYY-MM-DD``; it cannot say that
2023-02-30 does not exist, that an award dated 2099 has not happened yet, or that an employment
ended before it started. `fact_problems` says so, one `FactProblem` per impossible fact, each
naming the field by its dotted path from the credential root
(``credentialSubject.degree.awardDate``) and what was expected::

    credentialSubject.degree.awardDate: 2023-02-30 is not a calendar date
    credentialSubject.degree.awardDate: expected a date on or before 2026-12-06, found 2099-06-30
    credentialSubject.employment.endDate: expected a date on or after the startDate 2021-03-01,
    found 2020-01-31

The checks, for every field that is present:

- each date is a real calendar date (``YYYY-MM-DD``; the Open Badge activity dates may also be
  dateTimeStamps, of which the date is checked);
- ``degree.awardDate``, ``employment.startDate``, ``employment.endDate`` and the Open Badge
  ``activityStartDate`` / ``activityEndDate`` (OB 3.0 AchievementSubject) and root
  ``awardedDate`` (OB 3.0; the v1 schemas admit none of the three) are not after ``today``;
- ``birthDate`` is not after ``today`` and not before 1900-01-01;
- ``employment.endDate`` is not before ``employment.startDate`` (likewise the Open Badge
  activity dates);
- the award and start dates are after ``birthDate``.

Durations: no TalentProof schema (v1) has a duration field (hours, months, years of
experience): the duration of an employment is what its dates say, so there is nothing a stated
duration could contradict. A future schema adding one must add its check here.

Malformed values of another type (a number where a date belongs) are reported as "expected a
calendar date YYYY-MM-DD"; absent fields are the schema's business and are not reported.

>>> from datetime import date
>>> subject = {"degree": {"awardDate": "2023-02-30"}}
>>> [str(p) for p in fact_problems({"credentialSubject": subject}, date(2026, 12, 6))]
['credentialSubject.degree.awardDate: 2023-02-30 is not a calendar date']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "FactProblem",
    "fact_problems",
    "subject_fact_problems",
    "subject_facts_ok",
]

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""The earliest ``birthDate`` accepted."""

_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_DATETIME = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$")
_SUBJECT = "credentialSubject"


@dataclass(frozen=True)
class FactProblem:
    """One impossible fact: ``field`` (dotted path from the credential root) and ``message``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def fact_problems(credential_or_subject_doc: Mapping[str, Any], today: date) -> list[FactProblem]:
    """The impossible or future facts of a credential (or a ``{"type", "credentialSubject"}``
    request body), in document order; empty when there are none.

    ``today`` is the date facts may not be after (the issuer's or verifier's UTC date). A
    document without a ``credentialSubject`` object is taken as a bare subject; field paths
    still start with ``credentialSubject.``.
    """
    if not isinstance(credential_or_subject_doc, Mapping):
        return []
    subject: Any = credential_or_subject_doc.get(_SUBJECT, credential_or_subject_doc)
    if isinstance(subject, list):
        problems: list[FactProblem] = []
        for i, entry in enumerate(subject):
            if isinstance(entry, Mapping):
                problems += _subject(entry, today, f"{_SUBJECT}[{i}]")
        return problems
    if not isinstance(subject, Mapping):
        return []
    problems = _subject(subject, today, _SUBJECT)
    if "awardedDate" in credential_or_subject_doc and _SUBJECT in credential_or_subject_doc:
        problems += _awarded(credential_or_subject_doc, subject, today)
    return problems


def _awarded(doc: Mapping[str, Any], subject: Mapping[str, Any], today: date) -> list[FactProblem]:
    """An Open Badges 3.0 ``awardedDate`` at the credential's root (none of the TalentProof
    schemas admits one; checked when a document carries it)."""
    c = _Checker(today)
    birth = _birth(c, subject, _SUBJECT)
    c.problems.clear()  # the subject's own problems are reported by `_subject`
    awarded = c.date(doc, "awardedDate", "", datetime_ok=True)
    if c.not_future("awardedDate", awarded):
        c.after_birth("awardedDate", awarded, birth)
    return c.problems


def subject_fact_problems(kind: str, subject: Mapping[str, Any], today: date) -> list[FactProblem]:
    """`fact_problems` of a bare ``credentialSubject`` of credential kind ``kind``
    (``DegreeCredential``, ``EmploymentCredential``, ``OpenBadgeCredential``); paths start with
    ``credentialSubject.``. Only the fields of ``kind`` are checked (plus ``birthDate``)."""
    if not isinstance(subject, Mapping):
        return []
    return _subject(subject, today, _SUBJECT, kind=kind)


def subject_facts_ok(kind: str, subject: Any, today: date) -> bool:
    """True only when ``subject_fact_problems(kind, subject, today)`` is empty (the reference);
    False when it is not, or may not be: the caller then asks the reference.

    Why: the bulk template's per-row check (~0.3 us against the reference's ~1.2 us): text
    dates parsed through the same cache, compared in place, no `_Checker` or field paths.
    Degree and employment subjects of plain JSON types; any other kind or value: the reference.
    tests/credential/test_claims_fast.py compares both on generated subjects.
    """
    if type(subject) is not dict:
        return False
    birth_text = subject.get("birthDate")
    birth: date | bool | None = None
    if birth_text is not None:
        if type(birth_text) is not str:
            return False
        birth = _parse_text(birth_text, False)
        if type(birth) is not date or birth < EARLIEST_BIRTH_DATE or birth > today:
            return False
    if kind == "DegreeCredential":
        outer, first, second = subject.get("degree"), "awardDate", ""
    elif kind == "EmploymentCredential":
        outer, first, second = subject.get("employment"), "startDate", "endDate"
    else:
        return not _subject(subject, today, _SUBJECT, kind=kind)
    if type(outer) is not dict:
        return not isinstance(outer, Mapping)  # a Mapping of another type: the reference
    start_text = outer.get(first)
    start: date | bool | None = None
    if start_text is not None:
        if type(start_text) is not str:
            return False
        start = _parse_text(start_text, False)
        if type(start) is not date or start > today:
            return False
        if type(birth) is date and start <= birth:
            return False
    end_text = outer.get(second) if second else None
    if end_text is None:
        return True
    if type(end_text) is not str:
        return False
    end = _parse_text(end_text, False)
    return type(end) is date and end <= today and (type(start) is not date or end >= start)


# --- the checks ---------------------------------------------------------------------------------


_Day = date  # the type: inside _Checker the name `date` is its method


class _Checker:
    def __init__(self, today: date) -> None:
        self.today = today
        self.problems: list[FactProblem] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append(FactProblem(field, message))

    def date(
        self, container: Mapping[str, Any], key: str, path: str, *, datetime_ok: bool = False
    ) -> _Day | None:
        """The date at ``container[key]``, or None (absent, or a problem recorded)."""
        value = container.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        parsed = _parse_text(value, datetime_ok) if isinstance(value, str) else None
        if isinstance(parsed, date):
            return parsed
        field = f"{path}.{key}" if path else key
        if parsed is None:
            self.add(field, f"expected a calendar date YYYY-MM-DD, found {_short(value)}")
        else:
            shown = value if len(value) <= 40 else value[:37] + "..."
            self.add(field, f"{shown} is not a calendar date")
        return None

    def not_future(self, field: str, value: _Day | None) -> bool:
        if value is not None and value > self.today:
            self.add(
                field,
                f"expected a date on or before {self.today.isoformat()}, found {value.isoformat()}",
            )
            return False
        return True

    def after_birth(self, field: str, value: _Day | None, birth: _Day | None) -> None:
        if value is not None and birth is not None and value <= birth:
            self.add(
                field,
                f"expected a date after the birthDate {birth.isoformat()}, found "
                f"{value.isoformat()}",
            )

    def ordered(
        self, start_name: str, start: _Day | None, end_field: str, end: _Day | None
    ) -> None:
        if start is not None and end is not None and end < start:
            self.add(
                end_field,
                f"expected a date on or after the {start_name} "
                f"{start.isoformat()}, found {end.isoformat()}",
            )


@lru_cache(maxsize=4096)  # pure; bulk rows repeat the same few dates (birthDate, awardDate...)
def _parse_text(value: str, datetime_ok: bool) -> date | bool | None:
    """The date a text states; None when it has not the form of one, False when it has the
    form but names no calendar date (2023-02-30)."""
    match = _DATE.fullmatch(value) or (_DATETIME.fullmatch(value) if datetime_ok else None)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _birth(c: _Checker, subject: Mapping[str, Any], path: str) -> date | None:
    """The subject's birth date when it is possible (problems recorded otherwise)."""
    birth = c.date(subject, "birthDate", path)
    if birth is None:
        return None
    field = f"{path}.birthDate"
    if birth < EARLIEST_BIRTH_DATE:
        c.add(
            field,
            f"expected a date on or after {EARLIEST_BIRTH_DATE.isoformat()}, found "
            f"{birth.isoformat()}",
        )
        return None
    return birth if c.not_future(field, birth) else None


@lru_cache(maxsize=256)
def _fields(path: str) -> tuple[str, ...]:
    """The dotted field names `_subject` reports under ``path`` (built once per path)."""
    degree = f"{path}.degree"
    job = f"{path}.employment"
    return (
        degree,
        f"{degree}.awardDate",
        job,
        f"{job}.startDate",
        f"{job}.endDate",
        f"{path}.activityStartDate",
        f"{path}.activityEndDate",
    )


def _subject(
    subject: Mapping[str, Any], today: date, path: str, *, kind: str | None = None
) -> list[FactProblem]:
    c = _Checker(today)
    birth = _birth(c, subject, path)
    where_degree, award_field, where_job, start_field, end_field, ob_start, ob_end = _fields(path)

    degree = subject.get("degree")
    if isinstance(degree, Mapping) and kind in (None, "DegreeCredential"):
        award = c.date(degree, "awardDate", where_degree)
        if c.not_future(award_field, award):
            c.after_birth(award_field, award, birth)

    job = subject.get("employment")
    if isinstance(job, Mapping) and kind in (None, "EmploymentCredential"):
        start = c.date(job, "startDate", where_job)
        end = c.date(job, "endDate", where_job)
        if c.not_future(start_field, start):
            c.after_birth(start_field, start, birth)
        if c.not_future(end_field, end):
            c.ordered("startDate", start, end_field, end)

    if kind in (None, "OpenBadgeCredential"):
        start = c.date(subject, "activityStartDate", path, datetime_ok=True)
        end = c.date(subject, "activityEndDate", path, datetime_ok=True)
        if c.not_future(ob_start, start):
            c.after_birth(ob_start, start, birth)
        if c.not_future(ob_end, end):
            c.ordered("activityStartDate", start, ob_end, end)
            c.after_birth(ob_end, end, birth)
    return c.problems
