"""Compile the Solidity contracts into the committed artifacts in ``contracts/build/``.

Usage::

    from talentproof.ledger.compiler import compile_contracts

    artifacts = compile_contracts()          # writes contracts/build/<Contract>.json
    artifacts["TalentProofRegistry"]["abi"]

The compiler is solc 0.8.37 from npm (``node_modules/solc``, solc-js) driven through
``scripts/solc``, a small executable that speaks solc's ``--version`` and ``--standard-json``
command line, so py-solc-x runs it like a native binary (``TALENTPROOF_SOLC`` or the
``solc_binary`` argument point elsewhere, e.g. a native solc 0.8.37). Every setting that changes
the bytecode is pinned in `COMPILER_SETTINGS`, and the artifacts are written with sorted keys and
fixed formatting, so that compiling the same sources always yields byte-identical files
(``talentproof contracts compile --check`` and ``tests/contracts/test_build_reproducible.py``
prove it).

Running the product never needs a compiler: `talentproof.ledger.artifacts` reads the committed
JSON files as package data.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import solcx
import typer
from eth_utils import keccak
from solcx.exceptions import SolcError
from solcx.wrapper import get_solc_version

import talentproof.contracts as contracts_package
from talentproof.ledger.errors import LedgerError

__all__ = [
    "COMPILER_SETTINGS",
    "SOLC_VERSION",
    "CompilationError",
    "build_input",
    "check_artifacts",
    "compile_contracts",
    "contracts_dir",
    "main",
    "register_compile_command",
    "render_artifact",
    "solc_binary",
]

_logger = logging.getLogger(__name__)

#: The only compiler version the artifacts are built with.
SOLC_VERSION = "0.8.37"

#: Pinned compiler settings (standard-json ``settings`` without ``outputSelection``).
#: - optimizer on with many runs: deployment is paid once, anchoring and revocation many times;
#: - ``paris``: no PUSH0 / MCOPY / TSTORE, for Ganache 7.9, GoQuorum and Besu;
#: - ``bytecodeHash: none``: the metadata hash (which covers comments and NatSpec) is left out of
#:   the bytecode, so the bytecode depends only on the code and the compiler version.
COMPILER_SETTINGS: dict[str, Any] = {
    "evmVersion": "paris",
    "optimizer": {"enabled": True, "runs": 10000},
    "metadata": {"bytecodeHash": "none"},
    "viaIR": False,
    "remappings": [],
}

_OUTPUT_SELECTION = {
    "*": {
        "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.methodIdentifiers",
            "metadata",
        ]
    }
}

_ARTIFACT_FORMAT = "talentproof-artifact-1"


class CompilationError(LedgerError):
    """The contracts could not be compiled (compiler missing, wrong version, or solc errors)."""


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def contracts_dir() -> Path:
    """The directory of the Solidity sources (the ``talentproof.contracts`` package)."""
    return Path(contracts_package.__file__).resolve().parent


def solc_binary() -> Path:
    """The solc executable: ``$TALENTPROOF_SOLC``, else the repository's ``scripts/solc``."""
    configured = os.environ.get("TALENTPROOF_SOLC")
    path = Path(configured) if configured else _repo_root() / "scripts" / "solc"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise CompilationError(
            f"expected an executable solc {SOLC_VERSION} at {path} "
            "(scripts/solc needs node and `npm ci`; or set TALENTPROOF_SOLC)"
        )
    return path


def _source_files(root: Path) -> list[Path]:
    files = sorted(
        [*root.glob("*.sol"), *root.glob("interfaces/*.sol"), *root.glob("utils/*.sol")],
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not files:
        raise CompilationError(f"expected Solidity sources (*.sol) in {root}, found none")
    return files


def build_input(root: Path | None = None) -> dict[str, Any]:
    """The standard-json input for every ``*.sol`` under `root` (default: `contracts_dir`).

    Source unit names are ``contracts/<path>`` (POSIX), given inline, in sorted order.
    """
    root = contracts_dir() if root is None else root
    sources = {
        f"contracts/{path.relative_to(root).as_posix()}": {"content": path.read_text("utf-8")}
        for path in _source_files(root)
    }
    settings = copy.deepcopy(COMPILER_SETTINGS)
    settings["outputSelection"] = _OUTPUT_SELECTION
    return {"language": "Solidity", "sources": sources, "settings": settings}


def _run_solc(input_data: Mapping[str, Any], binary: Path) -> dict[str, Any]:
    try:
        version = get_solc_version(binary)
    except (OSError, SolcError, ValueError) as exc:
        raise CompilationError(f"cannot run {binary} --version: {exc}") from exc
    if str(version) != SOLC_VERSION:
        raise CompilationError(f"expected solc {SOLC_VERSION}, {binary} is solc {version}")
    try:
        output: dict[str, Any] = solcx.compile_standard(dict(input_data), solc_binary=binary)
    except SolcError as exc:
        raise CompilationError(f"solc reported errors:\n{exc.message}") from exc
    except OSError as exc:
        raise CompilationError(f"cannot run {binary}: {exc}") from exc
    return output


def _hex(code: str) -> str:
    return "0x" + code.lower()


def render_artifact(artifact: Mapping[str, Any]) -> bytes:
    """The canonical file form: sorted keys, two-space indent, UTF-8, one trailing newline."""
    text = json.dumps(artifact, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _artifacts_from_output(
    input_data: Mapping[str, Any], output: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    sources = {
        name: {
            "keccak256": "0x" + _keccak(entry["content"].encode("utf-8")).hex(),
            "sha256": hashlib.sha256(entry["content"].encode("utf-8")).hexdigest(),
        }
        for name, entry in input_data["sources"].items()
    }
    settings = {k: v for k, v in input_data["settings"].items() if k != "outputSelection"}
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in sorted(output.get("contracts", {}).items()):
        for contract_name, compiled in sorted(contracts.items()):
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and abstract modules: nothing to deploy
                continue
            if contract_name in artifacts:
                raise CompilationError(f"two deployable contracts are named {contract_name}")
            metadata = json.loads(compiled["metadata"])
            artifacts[contract_name] = {
                "format": _ARTIFACT_FORMAT,
                "contractName": contract_name,
                "sourceName": source_name,
                "abi": compiled["abi"],
                "bytecode": _hex(bytecode),
                "deployedBytecode": _hex(compiled["evm"]["deployedBytecode"]["object"]),
                "methodIdentifiers": compiled["evm"]["methodIdentifiers"],
                "metadata": compiled["metadata"],
                "compiler": {"name": "solc", "version": metadata["compiler"]["version"]},
                "settings": settings,
                "sources": sources,
            }
    if not artifacts:
        raise CompilationError("the compiler produced no deployable contract")
    return artifacts


def _keccak(data: bytes) -> bytes:
    return keccak(data)


def compile_contracts(
    *,
    source_dir: Path | None = None,
    build_dir: Path | None = None,
    solc: Path | None = None,
    write: bool = True,
) -> dict[str, dict[str, Any]]:
    """Compile every contract and (unless ``write=False``) write ``build/<Contract>.json``.

    Args:
        source_dir: the Solidity sources (default: the ``talentproof.contracts`` directory).
        build_dir: where artifacts go (default: ``<source_dir>/build``). Artifact files of
            contracts that no longer exist are deleted.
        solc: the solc executable (default: `solc_binary`).
        write: False compiles only.

    Returns:
        ``{contract name: artifact}`` for each deployable (non-abstract) contract; the artifact
        holds abi, bytecode, deployedBytecode, methodIdentifiers, metadata, compiler, settings,
        sources (sha256 and keccak256 of each source).

    Raises:
        CompilationError: no compiler, the wrong version, or a compilation error. Warnings are
            logged.
    """
    root = contracts_dir() if source_dir is None else source_dir
    input_data = build_input(root)
    output = _run_solc(input_data, solc_binary() if solc is None else solc)
    for diagnostic in output.get("errors", []):
        _logger.warning("solc: %s", diagnostic.get("formattedMessage", diagnostic))
    artifacts = _artifacts_from_output(input_data, output)
    if write:
        _write(artifacts, root / "build" if build_dir is None else build_dir)
    return artifacts


def _write(artifacts: Mapping[str, Mapping[str, Any]], build_dir: Path) -> None:
    build_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{name}.json" for name in artifacts}
    for stale in build_dir.glob("*.json"):
        if stale.name not in wanted:
            _logger.info("removing stale artifact %s", stale)
            stale.unlink()
    for name, artifact in artifacts.items():
        path = build_dir / f"{name}.json"
        data = render_artifact(artifact)
        if path.exists() and path.read_bytes() == data:
            continue
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        _logger.info("wrote %s", path)


def check_artifacts(
    *,
    source_dir: Path | None = None,
    build_dir: Path | None = None,
    solc: Path | None = None,
    fresh: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Recompile without writing; return the artifact files that differ (empty: all identical).

    `fresh` may pass the result of an earlier ``compile_contracts(write=False)`` to compare.
    """
    root = contracts_dir() if source_dir is None else source_dir
    build = root / "build" if build_dir is None else build_dir
    if fresh is None:
        fresh = compile_contracts(source_dir=root, solc=solc, write=False)
    differing = []
    for name, artifact in sorted(fresh.items()):
        path = build / f"{name}.json"
        if not path.exists() or path.read_bytes() != render_artifact(artifact):
            differing.append(str(path))
    committed = {p.stem for p in build.glob("*.json")}
    differing.extend(str(build / f"{n}.json") for n in sorted(committed - fresh.keys()))
    return differing


def register_compile_command(app: Any) -> None:
    """Add ``contracts compile`` to the typer `app` (``talentproof contracts compile``).

    If `app` already has a ``contracts`` group, pass that group's Typer instead and the command
    is registered as ``compile`` directly on it (see `_add_compile`).
    """
    group = typer.Typer(
        help="Solidity contracts: compile the committed artifacts.", no_args_is_help=True
    )
    _add_compile(group)
    app.add_typer(group, name="contracts")


def _add_compile(group: typer.Typer) -> None:
    @group.command("compile")
    def compile_command(
        check: bool = typer.Option(
            False, "--check", help="Compile without writing; exit 1 if contracts/build differs."
        ),
    ) -> None:
        """Compile contracts/*.sol with the pinned solc into contracts/build/<Contract>.json."""
        try:
            if check:
                differing = check_artifacts()
                if differing:
                    typer.echo(
                        "error: committed artifacts differ from a fresh compile: "
                        + ", ".join(differing),
                        err=True,
                    )
                    raise typer.Exit(1)
                typer.echo("contracts/build is up to date")
                return
            artifacts = compile_contracts()
        except CompilationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        for name, artifact in sorted(artifacts.items()):
            size = (len(artifact["deployedBytecode"]) - 2) // 2
            typer.echo(f"{name}: {size} bytes deployed, solc {artifact['compiler']['version']}")


def main(argv: list[str] | None = None) -> int:
    """``scripts/compile [--check]``: compile (or check) the artifacts; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--check"]):
        print("usage: scripts/compile [--check]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args == ["--check"]:
            differing = check_artifacts()
            if differing:
                print(
                    "error: artifacts differ from a fresh compile: " + ", ".join(differing),
                    file=sys.stderr,
                )
                return 1
            print("contracts/build is up to date")
            return 0
        artifacts = compile_contracts()
    except CompilationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, artifact in sorted(artifacts.items()):
        size = (len(artifact["deployedBytecode"]) - 2) // 2
        print(f"{name}: {size} bytes deployed, solc {artifact['compiler']['version']}")
    return 0
