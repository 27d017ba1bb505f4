"""`make run` sets up only what running the product needs (fresh-clone walk-through).

`make run` depended on `setup`, which builds geth from the Go module proxy (`talentproof network
build`): 2-3 minutes cold, and on a machine without Go (README's requirements for `make run`
name Python, a C compiler and Node.js, not Go) `make run` stopped with "go not found" before
starting anything. `talentproof run` needs geth only with `--chain network`, which builds it on
demand (`ledger.geth.geth_binary`). Now `run` sets up the Python venv and the npm toolchain;
`make setup` and `make test` still build geth.

The real Makefile, dry-run (`make -n`) in a folder holding it and the files its rules name, with
no stamps: what each target would do on a fresh clone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(tmp_path: Path, target: str) -> str:
    make = shutil.which("make")
    assert make is not None, "expected GNU make on PATH (the README's setup runs it)"
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (
        "pyproject.toml",
        "package.json",
        "package-lock.json",
        "scripts/slither-requirements.txt",
        "scripts/setup-system",
        "ledger/geth.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    out = subprocess.run(
        [make, "-n", target], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_make_run_sets_up_python_and_node_but_builds_no_geth(tmp_path: Path) -> None:
    plan = _dry_run(tmp_path, "run")
    assert "pip install" in plan and "npm ci" in plan, plan
    assert "talentproof run" in plan, plan
    assert "network build" not in plan, plan  # geth (Go) was built here before


def test_make_setup_still_builds_geth(tmp_path: Path) -> None:
    assert "network build" in _dry_run(tmp_path, "setup")
