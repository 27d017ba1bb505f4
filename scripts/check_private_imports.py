#!/usr/bin/env python3
"""Fail when a module reaches into another module's private names (issue 13, points 2 and 6).

A name is private when it starts with one underscore (dunders are not). Flagged, in the
packages (every folder of pyproject's package-dir: credential/, ledger/, issuer/, verifier/, wallet/,
contracts/, talentproof/; read from pyproject, so a new package is covered as it is added):

- ``from talentproof.x.y import _name`` (a private function, class or constant of another
  module, in any package, the importing package's own included);
- ``import talentproof.x._mod`` / ``from talentproof.x import _mod`` / ``from talentproof.x._mod
  import name`` from *another* top-level package (a package's private modules are its own; what
  two packages share goes in an ``_internal`` package with public names, imported by its owner);
- ``mod._name`` where ``mod`` was bound by importing a talentproof module.

Relative imports are resolved against the importing module. ``BASELINE`` below lists the
violations that existed when the check was added, in code that was being refactored at the time;
the list may only shrink (a new reach fails; an entry that no longer occurs is reported, to be
removed).

tests/ and scripts/ are held to the same rule (tests/<package>/ counts as that package's own, so
it may use that package's private modules, never a private name). Usage:
scripts/check_private_imports.py [--bench]   (--bench also lists what bench/ reaches, allowed
there: a benchmark may time a package's internal strategy directly).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Owner areas of the baseline: the refactors of issue 13 under way when the check was added.
_CREDENTIAL = "credential format refactor (credential/)"
_ISSUER = "issuer layering refactor (issuer/)"
_VERIFIER = "verifier engine refactor (verifier/)"

# "importer -> imported:name" (modules without the talentproof. prefix) -> owner area.
# Remove entries as the refactors land; never add one for new code.
BASELINE: dict[str, str] = {}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _modules() -> dict[str, Path]:
    """Every module of the distribution, by dotted name, from pyproject's package-dir."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    found: dict[str, Path] = {}
    for package, folder in mapping.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            rel = path.relative_to(base).with_suffix("")
            parts = [p for p in rel.parts if p != "__pycache__"]
            if any(not p.isidentifier() for p in parts):
                continue  # alembic's versions/ and the like are not importable modules
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.setdefault(".".join([package, *parts]), path)
    return found


def _short(module: str) -> str:
    return module.removeprefix("talentproof.")


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _private_module_of_other_package(importer: str, imported: str) -> bool:
    parts = imported.split(".")
    return (
        imported.startswith("talentproof.")
        and _top(imported) != _top(importer)
        and any(_private(p) for p in parts[2:])
    )


def _test_module(parts: tuple[str, ...], known: set[str]) -> str:
    """The dotted name a file of tests/, bench/ or scripts/ is checked as: tests/<package>/...
    are that package's own tests (``talentproof.<package>.tests...``), so they may use its
    private modules (its ``_internal`` package) as its modules may; private names stay flagged."""
    if len(parts) > 2 and parts[0] == "tests" and f"talentproof.{parts[1]}" in known:
        return ".".join(("talentproof", parts[1], "tests", *parts[2:]))
    return ".".join(parts)


def scan(module: str, path: Path, known: set[str]) -> list[tuple[int, str, str]]:
    """(line, imported module, private name or module) for each reach into a private name."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str, str]] = []
    bound: dict[str, str] = {}  # local name -> the talentproof module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("talentproof"):
                    continue
                if _private_module_of_other_package(module, alias.name):
                    found.append((node.lineno, alias.name, alias.name.rsplit(".", 1)[-1]))
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound["talentproof"] = "talentproof"
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module)
            if not source.startswith("talentproof") or source.split(".")[2:3] == ["tests"]:
                continue  # not the distribution's (a test's relative import of its conftest)
            if _private_module_of_other_package(module, source):
                found.append((node.lineno, source, "*"))
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in known:  # a submodule
                    if _private_module_of_other_package(module, full):
                        found.append((node.lineno, source, alias.name))
                    bound[alias.asname or alias.name] = full
                elif _private(alias.name) and source != module:
                    found.append((node.lineno, source, alias.name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            found.append((node.lineno, bound[node.value.id], node.attr))
    return found


def main(argv: list[str]) -> int:
    modules = _modules()
    known = set(modules)
    seen: set[str] = set()
    failures: list[str] = []
    for module, path in sorted(modules.items()):
        for line, source, name in scan(module, path, known):
            key = f"{_short(module)} -> {_short(source)}:{name}"
            seen.add(key)
            if key not in BASELINE:
                failures.append(f"{path.relative_to(ROOT)}:{line}: {module} uses {source}:{name}")
    for key in sorted(set(BASELINE) - seen):  # a warning, so a refactor's CI stays green
        print(f"note: baseline entry no longer occurs, remove it from BASELINE: {key}")
    # Tests and scripts use the packages through their public names too (a differential test
    # compares a fast path with its twin through the names the module publishes for that).
    for folder in ("tests", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            for line, source, name in scan(_test_module(rel.parts, known), path, known):
                failures.append(
                    f"{path.relative_to(ROOT)}:{line}: {'.'.join(rel.parts)} uses {source}:{name}"
                )
    if "--bench" in argv:  # benchmarks may time a package's internal strategies directly
        for path in sorted((ROOT / "bench").rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            for line, source, name in scan(_test_module(rel.parts, known), path, known):
                print(f"(allowed in bench/) {path.relative_to(ROOT)}:{line}: {source}:{name}")
    for failure in failures:
        print(failure)
    if failures:
        print(
            f"{len(failures)} private cross-module import(s); see scripts/check_private_imports.py"
        )
        return 1
    print(f"private imports: OK ({len(BASELINE)} baselined, {len(modules)} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
