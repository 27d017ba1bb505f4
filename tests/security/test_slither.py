"""Static analysis gate: slither finds nothing in contracts/ that is not justified in the source.

`scripts/slither` runs slither (pinned in scripts/slither-requirements.txt) with the project's
solc-js (`scripts/solc`, standard-json mode) over every detector, failing on any finding of any
impact and on unused suppression directives. These tests run it for real: once on the committed
contracts (must be clean) and once on a copy with one justification removed and one stray
directive added (must report both), so the gate itself is shown to bite.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "slither"
CONTRACTS = ROOT / "contracts"
DIRECTIVE = re.compile(r"^\s*//\s*slither-disable-next-line\s+([A-Za-z0-9_,-]+)\s*$")


def run_slither(target: Path) -> tuple[int, dict[str, Any], str]:
    """Run scripts/slither on `target` with JSON output; (exit code, report, stderr)."""
    proc = subprocess.run(
        [str(SCRIPT), str(target), "--json", "-"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"slither printed no JSON report (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return proc.returncode, report, proc.stderr


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    assert report["success"], f"slither failed: {report.get('error')}"
    return list((report.get("results") or {}).get("detectors", []))


def describe(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"[{f['impact']}] {f['check']}: {f['description'].strip()}" for f in items)


def test_contracts_have_no_unjustified_findings() -> None:
    code, report, _ = run_slither(CONTRACTS)
    items = findings(report)
    assert items == [], "unjustified slither findings:\n" + describe(items)
    assert code == 0


def test_every_suppression_states_its_reason() -> None:
    """Each directive names detectors only and sits right under a `// Why: ...` comment block."""
    count = 0
    for sol in sorted(CONTRACTS.rglob("*.sol")):
        lines = sol.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "slither-disable" not in line:
                continue
            count += 1
            where = f"{sol.relative_to(ROOT)}:{i + 1}"
            assert DIRECTIVE.match(line), (
                f"{where}: expected `// slither-disable-next-line <detectors>`"
            )
            block = []
            j = i - 1
            while (
                j >= 0 and lines[j].strip().startswith("//") and "slither-disable" not in lines[j]
            ):
                block.insert(0, lines[j].strip())
                j -= 1
            assert block and block[0].startswith("// Why: ") and len(" ".join(block)) > 40, (
                f"{where}: a suppression needs its reason in a `// Why: ...` comment right above it"
            )
    assert count > 0, "no suppression directives found: did the contracts move?"


def test_gate_reports_an_unjustified_finding_and_a_stray_directive(tmp_path: Path) -> None:
    """Remove one justification and add one unused directive in a copy: both must be reported."""
    copy = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, copy, ignore=shutil.ignore_patterns("build", "*.py", "__pycache__"))
    view = copy / "VerificationView.sol"
    text = view.read_text(encoding="utf-8")
    directive = "        // slither-disable-next-line incorrect-equality,timestamp\n        if (issuerId == 0) {"
    assert directive in text
    text = text.replace(directive, "        if (issuerId == 0) {")
    stray = "        verdict.blockNumber = block.number;"
    assert stray in text
    text = text.replace(stray, "        // slither-disable-next-line reentrancy-eth\n" + stray)
    view.write_text(text, encoding="utf-8")

    code, report, _ = run_slither(copy)
    items = findings(report)
    checks = {(f["check"], f["impact"]) for f in items}
    assert ("incorrect-equality", "Medium") in checks, describe(items)
    assert ("timestamp", "Low") in checks, describe(items)
    assert ("unused-ignore-directive", "Informational") in checks, describe(items)
    flagged = [f for f in items if f["check"] == "incorrect-equality"]
    assert all("VerificationView.verifyCredential" in f["description"] for f in flagged)
    assert code != 0
