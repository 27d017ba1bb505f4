"""The committed artifacts are exactly what the pinned compiler produces from the sources."""

from __future__ import annotations

import json
import subprocess

import pytest
from solcx.wrapper import get_solc_version

from talentproof.ledger import compiler
from talentproof.ledger.compiler import (
    COMPILER_SETTINGS,
    SOLC_VERSION,
    CompilationError,
    compile_contracts,
    contracts_dir,
    render_artifact,
    solc_binary,
)

BUILD = contracts_dir() / "build"


@pytest.fixture(scope="module")
def fresh() -> dict:
    return compile_contracts(write=False)


def test_committed_artifacts_are_byte_identical_to_a_fresh_compile(fresh):
    committed = sorted(p.name for p in BUILD.glob("*.json"))
    assert committed == sorted(f"{name}.json" for name in fresh)
    for name, artifact in fresh.items():
        assert (BUILD / f"{name}.json").read_bytes() == render_artifact(artifact), (
            f"contracts/build/{name}.json is stale: run `talentproof contracts compile`"
        )


def test_artifact_pins_compiler_and_settings(fresh):
    artifact = fresh["TalentProofRegistry"]
    assert artifact["compiler"]["version"].startswith(f"{SOLC_VERSION}+commit.")
    assert artifact["settings"] == COMPILER_SETTINGS
    assert artifact["settings"]["evmVersion"] == "paris"
    metadata = json.loads(artifact["metadata"])
    assert metadata["settings"]["evmVersion"] == "paris"
    assert metadata["settings"]["optimizer"] == {"enabled": True, "runs": 10000}
    assert metadata["settings"]["metadata"]["bytecodeHash"] == "none"
    # every source is recorded with its hash, and the metadata agrees
    sources = {p.relative_to(contracts_dir()).as_posix() for p in contracts_dir().rglob("*.sol")}
    assert set(artifact["sources"]) == {f"contracts/{s}" for s in sources}
    for name, used in metadata["sources"].items():  # the sources this contract is built from
        assert used["keccak256"] == artifact["sources"][name]["keccak256"]
    assert set(metadata["sources"]) < set(artifact["sources"])  # not utils/VerificationBatch.sol


def test_compile_errors_are_reported(tmp_path):
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Broken.sol").write_text("pragma solidity 0.8.37;\ncontract Broken { function f( }\n")
    with pytest.raises(CompilationError, match="solc reported errors"):
        compile_contracts(source_dir=src, write=False)


def test_a_directory_without_sources_is_refused(tmp_path):
    with pytest.raises(CompilationError, match=r"expected Solidity sources"):
        compile_contracts(source_dir=tmp_path, write=False)


def test_wrapper_speaks_solc_version_for_py_solc_x():
    out = subprocess.run(
        [str(solc_binary()), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith(
        "solc, the solidity compiler commandline interface\nVersion: 0.8.37+commit."
    )
    assert str(get_solc_version(solc_binary())) == SOLC_VERSION
    bad = subprocess.run([str(solc_binary()), "--bin"], capture_output=True, text=True, check=False)
    assert bad.returncode != 0
    assert "unsupported option --bin" in bad.stderr


def test_wrong_compiler_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "solc"
    fake.write_text(
        "#!/bin/sh\necho 'solc, the solidity compiler commandline interface'\n"
        "echo 'Version: 0.8.20+commit.a1b79de6.Linux.g++'\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("TALENTPROOF_SOLC", str(fake))
    with pytest.raises(CompilationError, match=r"expected solc 0\.8\.37, .* is solc 0\.8\.20"):
        compile_contracts(write=False)
    monkeypatch.setenv("TALENTPROOF_SOLC", str(tmp_path / "missing"))
    with pytest.raises(CompilationError, match="expected an executable solc"):
        compiler.solc_binary()


def test_check_artifacts_finds_a_stale_file(fresh, tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    committed = (BUILD / "TalentProofRegistry.json").read_bytes()
    (build / "TalentProofRegistry.json").write_bytes(committed)
    (build / "VerificationBatch.json").write_bytes((BUILD / "VerificationBatch.json").read_bytes())
    assert compiler.check_artifacts(build_dir=build, fresh=fresh) == []
    (build / "TalentProofRegistry.json").write_bytes(
        committed.replace(b'"runs": 10000', b'"runs": 200')
    )
    (build / "Old.json").write_text("{}")
    assert compiler.check_artifacts(build_dir=build, fresh=fresh) == [
        str(build / "TalentProofRegistry.json"),
        str(build / "Old.json"),
    ]


def test_cli_compile_reports_a_missing_compiler_in_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from talentproof.cli import app

    monkeypatch.setenv("TALENTPROOF_SOLC", str(tmp_path / "no-solc"))
    for args in (["contracts", "compile"], ["contracts", "compile", "--check"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1
        assert "error: expected an executable solc 0.8.37" in result.output
        assert "Traceback" not in result.output
    assert compiler.main(["--bogus"]) == 2
