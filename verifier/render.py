"""Human-readable rendering of reports: a mark per check and per criterion."""

from __future__ import annotations

from talentproof.verifier.policy import CriterionResult, ProfessionResult
from talentproof.verifier.report import CheckResult, CredentialReport, Status, Verdict

MARKS = {Status.PASS: "✓", Status.FAIL: "✗", Status.ERROR: "!", Status.SKIPPED: "-"}
VERDICT_TEXT = {
    Verdict.VALID: "VALID",
    Verdict.INVALID: "INVALID",
    Verdict.ERROR: "CANNOT BE CONFIRMED (ledger unavailable)",
}


def _check_line(c: CheckResult) -> str:
    return f"  {MARKS[c.status]} {c.number:>2}. {c.title}: {c.message}"


def render_credential(r: CredentialReport) -> list[str]:
    """Lines for one credential's report."""
    head = f"{r.source}: {VERDICT_TEXT[r.verdict]}"
    what = ", ".join(x for x in (r.kind, r.issuer_name and f"issued by {r.issuer_name}") if x)
    if what:
        head += f"  ({what})"
    lines = [head]
    lines.extend(_check_line(c) for c in r.checks)
    if r.chain:
        lines.append(f"    read at block {r.chain.block_number} {r.chain.block_hash} on chain {r.chain.chain_id}")
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
    lines = [f"Talent List: {verdict} '{p.profession_name}' (as of {p.as_of.isoformat()})"]
    for c in p.criteria:
        lines.extend(_criterion_lines(c, 2))
    return lines


def render_application(report) -> str:
    """The whole application report as text."""
    lines: list[str] = []
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
    lines.append(f"Result: {VERDICT_TEXT[report.verdict]}")
    return "\n".join(lines)
