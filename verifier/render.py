"""Human-readable rendering of reports: the outcome and the person first, then what each
credential says, a mark per check and per criterion, and the result line last."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from talentproof.credential.text import printable
from talentproof.verifier.policy import CriterionResult, ProfessionResult
from talentproof.verifier.report import (
    CheckResult,
    CredentialReport,
    Status,
    Verdict,
    claims_of,
)

MARKS = {Status.PASS: "✓", Status.FAIL: "✗", Status.ERROR: "!", Status.SKIPPED: "-"}
VERDICT_TEXT = {
    Verdict.VALID: "VALID",
    Verdict.INVALID: "INVALID",
    Verdict.ERROR: "CANNOT BE CONFIRMED (ledger unavailable)",
}
DOCUMENT_NOT_CHECKED = "not checked: compare the name and date of birth with the travel document"


def _check_line(c: CheckResult) -> str:
    return f"  {MARKS[c.status]} {c.number:>2}. {c.title}: {c.message}"


def _name(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("name") or "")
    return str(value or "")


def credential_says(r: CredentialReport) -> str | None:
    """One line: what the credential states (degree, dates, role, skills), whatever its verdict."""
    doc = r.credential
    if doc is None:
        return None
    s = claims_of(doc, r.kind) or {}  # (its own kind's claim only)
    deg = s.get("degree")
    if isinstance(deg, Mapping):
        return (
            f"{deg.get('level', '?')} degree in {deg.get('fieldOfStudy', '?')} from "
            f"{_name(deg.get('institution')) or '?'}, awarded {deg.get('awardDate', '?')}"
        )
    emp = s.get("employment")
    if isinstance(emp, Mapping):
        until = emp.get("endDate") or "present"
        domains = emp.get("domains")
        doms = f"; {', '.join(map(str, domains))}" if isinstance(domains, list) and domains else ""
        return (
            f"{emp.get('role', '?')} at {_name(emp.get('employer')) or '?'}, "
            f"{emp.get('startDate', '?')} to {until}{doms}"
        )
    ach = s.get("achievement")
    if isinstance(ach, Mapping):
        skills = [
            _name({"name": a.get("targetName")})
            for a in ach.get("alignment") or ()
            if isinstance(a, Mapping) and a.get("targetName")
        ]
        extra = f"; skills: {', '.join(skills)}" if skills else ""
        issued = str(doc.get("validFrom", "?"))[:10]
        return f"{ach.get('achievementType', 'badge')} '{ach.get('name', '?')}', issued {issued}{extra}"
    return None


def render_credential(r: CredentialReport) -> list[str]:
    """Lines for one credential's report."""
    # an input that could not be read at all is what makes the application NOT VERIFIABLE: its
    # heading says so (its JSON verdict stays INVALID: fail closed)
    verdict = "NOT VERIFIABLE (could not be read)" if r.unreadable else VERDICT_TEXT[r.verdict]
    head = f"{r.source}: {verdict}"
    who = r.issuer_name and (
        f"issued by {r.issuer_name}" + (f" ({r.issuer_did})" if r.issuer_did else "")
    )
    what = ", ".join(x for x in (r.kind, who) if x)
    if what:
        head += f"  ({what})"
    lines = [head]
    says = credential_says(r)
    if says:
        lines.append(f"    says: {says}")
    lines.extend(_check_line(c) for c in r.checks)
    if r.chain:
        at = r.chain.block_timestamp
        when = (
            " of " + datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
            if at > 0
            else ""
        )
        lines.append(
            f"    read at block {r.chain.block_number} {r.chain.block_hash}{when}"
            f" on chain {r.chain.chain_id}"
        )
    return lines


def _criterion_lines(c: CriterionResult, indent: int) -> list[str]:
    mark = "✓" if c.met else "✗"
    ev = f" [{', '.join(c.evidence)}]" if c.evidence else ""
    lines = [f"{' ' * indent}{mark} {c.title}: {c.reason}{ev}"]
    for ch in c.children:
        lines.extend(_criterion_lines(ch, indent + 4))
    return lines


def render_profession(p: ProfessionResult) -> list[str]:
    """Lines for a talent-list evaluation."""
    verdict = "MEETS" if p.met else "DOES NOT MEET"
    lines = [
        f"Talent List: {verdict} '{p.profession_name}' (facts as of the application date {p.as_of.isoformat()})"
    ]
    for c in p.criteria:
        lines.extend(_criterion_lines(c, 2))
    return lines


def person_lines(person: Mapping[str, Any] | None, *, confirmed: bool = True) -> list[str]:
    """The applicant's name and date of birth, and whether the travel document was compared
    (``confirmed`` False: the credentials did not verify, the name is only what they state)."""
    if not person:
        return ["Applicant: the credentials name no person (no name or date of birth)"]
    doc = " ".join(x for x in (person.get("documentType"), person.get("issuingCountry")) if x)
    if person.get("documentChecked"):
        state = (
            "MATCHES the document shown"
            if person.get("documentMatches")
            else "does NOT match the document shown"
        )
    else:
        state = DOCUMENT_NOT_CHECKED
    caveat = "" if confirmed else "   (as the credentials state it, not confirmed)"
    return [
        f"Applicant: {person.get('name')}   born {person.get('birthDate')}{caveat}",
        f"Identity document{(' (' + doc + ')') if doc else ''}: {state}",
    ]


def checked_at(report: Any) -> str:
    """The report's one time: "Checked at T" (now: the wall clock, which validity is judged at;
    check 8 names the block it read), or "Checked as of T" (an as-of time: validity and status
    both judged then). ``report``: an ``ApplicationReport`` (``as_of``, ``chain_as_of``)."""
    at = datetime.fromisoformat(str(report.as_of).replace("Z", "+00:00")).astimezone(UTC)
    text = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if report.chain_as_of:
        return f"Checked as of {text} (validity and status)"
    return f"Checked at {text}"


def render_application(report: Any) -> str:
    """The whole application report as text: outcome and applicant first, result line last."""
    outcome = report.outcome
    lines: list[str] = [f"{outcome.label}: {outcome.reason}"]
    if report.person is not None or any(r.credential is not None for r in report.credentials):
        confirmed = outcome.outcome.value in ("VALID", "VALID_MEETS", "VALID_NOT_MET")
        lines.extend(person_lines(report.person, confirmed=confirmed))
    else:
        lines.append("Applicant: no credential could be read")
    times = checked_at(report)
    if report.application_date:
        times += f"; facts as of the application date {report.application_date}"
    lines.extend([times, ""])
    for r in report.credentials:
        lines.extend(render_credential(r))
        lines.append("")
    for c in report.checks:
        lines.append(_check_line(c).strip())
    if report.checks:
        lines.append("")
    if report.profession is not None:
        lines.extend(render_profession(report.profession))
        lines.append("")
    lines.append(f"Result: {outcome.label}: {outcome.reason} [{outcome.outcome.value}]")
    return "\n".join(map(printable, lines))
