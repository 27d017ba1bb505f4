"""Run every benchmark in bench/ and write what each printed to bench/results.md.

Benchmarks print figures and ratios measured in one run; they assert nothing about time.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Scripts run more than once, each run with its arguments (a section each): bulk issuance also
#: with the heaviest upload the limits accept (issue 12: peak memory within 1 GiB whatever the
#: file), a 900 MiB CSV of 1,000,000 rows.
RUNS = {"issuer_bulk.py": [[], ["--rows", "1000000", "--format", "csv", "--size-mib", "900"]]}


def main() -> int:
    # benchkit.py is the scripts' shared code, not a benchmark
    skip = {Path(__file__).name, "benchkit.py"}
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in skip)
    sections = [
        "# TalentProof benchmark results",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}); each figure beside its target "
        "and a reference measured in the same run.",
        "",
    ]
    failed = 0
    for script, args in ((s, a) for s in scripts for a in RUNS.get(s.name, [[]])):
        title = " ".join([script.stem, *args])
        print(f"== {title}", flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        print(proc.stdout, end="")
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr, file=sys.stderr)
        sections += [f"## {title}", "", "```", proc.stdout.rstrip(), "```", ""]
        if proc.returncode != 0:
            sections += [
                f"(exit code {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]})",
                "",
            ]
    (HERE / "results.md").write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
