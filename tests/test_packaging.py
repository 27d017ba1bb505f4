"""The package builds quietly and ships every data file (fresh-clone walk-through: `make run`'s
``pip install -e .`` printed ~300 lines of setuptools' "Package would be ignored" for the data
folders pyproject did not list: contracts/build, the migrations, the professions, the static
pages). Built from a copy of the tracked files, as a fresh clone would."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The data files the services read at run time, by source folder -> installed folder.
DATA = {
    "contracts": (
        "talentproof/contracts",
        ("*.sol", "build/*.json", "interfaces/*.sol", "utils/*.sol"),
    ),
    "credential/contexts": ("talentproof/credential/contexts", ("*.jsonld", "index.json")),
    "credential/schemas": ("talentproof/credential/schemas", ("*.json",)),
    "issuer/migrations": ("talentproof/issuer/migrations", ("*.py", "*.mako", "versions/*.py")),
    "verifier/professions": ("talentproof/verifier/professions", ("*.yaml",)),
    "verifier/static": ("talentproof/verifier/static", ("*.html", "*.js", "*.css")),
    "wallet/static": ("talentproof/wallet/static", ("*.html", "*.js", "*.css")),
}


def _tracked_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def test_the_wheel_builds_quietly_with_every_data_file(tmp_path: Path) -> None:
    assert shutil.which("git"), "git lists the tracked files this test builds from"
    src = tmp_path / "src"
    _tracked_copy(src)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheel"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "would be ignored" not in log, log[log.find("would be ignored") - 500 :][:2000]
    (wheel,) = (tmp_path / "wheel").glob("talentproof-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, (installed, patterns) in DATA.items():
        for pattern in patterns:
            for path in (ROOT / folder).glob(pattern):
                if (src / folder / path.relative_to(ROOT / folder)).is_file():  # tracked
                    expected.add(f"{installed}/{path.relative_to(ROOT / folder).as_posix()}")
    assert len(expected) > 40
    assert expected <= shipped, sorted(expected - shipped)
