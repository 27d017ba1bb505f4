"""The holder commands ``talentproof keygen`` and ``talentproof present``."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from talentproof.credential import qr
from talentproof.credential.cli import load_holder_key, register, write_holder_key
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import verify_presentation


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    return app


def test_keygen_writes_private_key_file(tmp_path: Path) -> None:
    out = tmp_path / "holder.json"
    result = CliRunner().invoke(_app(), ["keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    did = result.output.strip()
    assert did.startswith("did:key:z6Mk")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert load_holder_key(out).public_key.did_key == did
    again = CliRunner().invoke(_app(), ["keygen", "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def _write_creds(tmp_path: Path, anchored: dict[str, dict[str, Any]]) -> list[str]:
    paths = []
    for kind, doc in anchored.items():
        p = tmp_path / f"{kind}.json"
        p.write_text(json.dumps(doc))
        paths.append(str(p))
    return paths


def test_present_writes_bound_presentation_and_qr(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    key_file = tmp_path / "holder.json"
    write_holder_key(key_file, holder_key)
    out = tmp_path / "vp.json"
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *_write_creds(tmp_path, anchored),
            "--key",
            str(key_file),
            "--challenge",
            "n-123",
            "--domain",
            "verify.example",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    vp = json.loads(out.read_text())
    assert len(verify_presentation(vp, challenge="n-123", domain="verify.example")) == 3
    text = qr.decode_image((tmp_path / "vp.png").read_bytes())
    assert qr.decode_payload(text) == vp
    assert (tmp_path / "vp.svg").read_text().lstrip().startswith("<svg")
    assert "version" in result.output


def test_present_too_big_reports_excess(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    key_file = tmp_path / "holder.json"
    write_holder_key(key_file, holder_key)
    paths = _write_creds(tmp_path, anchored)
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *paths,
            *paths,
            "--key",
            str(key_file),
            "--challenge",
            "n",
            "--domain",
            "d",
            "--out",
            str(tmp_path / "vp.json"),
        ],
    )
    assert result.exit_code == 1
    assert "too large" in result.output and "does not fit" in result.output
    assert "Traceback" not in result.output


def test_present_names_a_key_file_that_is_not_json_and_a_credential_not_anchored(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    """Trying the README in a clean clone: `present ... --key data/governor-key` said only
    'Extra data: line 1 column 2 (char 1)', and a credential fetched before its anchor (no
    TalentProofAnchor) was presented in silence, to fail check 4 at the border."""
    creds = _write_creds(tmp_path, anchored)
    args = ["--challenge", "n-123", "--domain", "d", "--out", str(tmp_path / "vp.json")]
    governor = tmp_path / "governor-key"
    governor.write_text("0x" + "ab" * 32 + "\n")
    result = CliRunner().invoke(_app(), ["present", *creds, "--key", str(governor), *args])
    assert result.exit_code == 2, result.output
    assert "expected the holder's JSON key file that `talentproof keygen" in result.output
    key_file = tmp_path / "holder.json"
    write_holder_key(key_file, holder_key)
    result = CliRunner().invoke(_app(), ["present", *creds, "--key", str(key_file), *args])
    assert result.exit_code == 0 and "carries no anchor proof" not in result.output
    first = json.loads(Path(creds[0]).read_text())
    first["proof"] = [p for p in first["proof"] if p.get("type") != "TalentProofAnchor"]
    Path(creds[0]).write_text(json.dumps(first))
    result = CliRunner().invoke(_app(), ["present", *creds, "--key", str(key_file), *args])
    assert result.exit_code == 0, result.output
    assert f"warning: {creds[0]} carries no anchor proof" in result.output, result.output
    assert "check 4" in result.output and creds[1] not in result.output.split("warning:")[-1]


def test_present_with_bad_key_file_is_one_line(
    tmp_path: Path, anchored: dict[str, dict[str, Any]]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *_write_creds(tmp_path, anchored),
            "--key",
            str(bad),
            "--challenge",
            "n",
            "--domain",
            "d",
        ],
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_present_refuses_someone_elses_credential(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], other_key: Ed25519SigningKey
) -> None:
    key_file = tmp_path / "other.json"
    write_holder_key(key_file, other_key)
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *_write_creds(tmp_path, anchored),
            "--key",
            str(key_file),
            "--challenge",
            "n",
            "--domain",
            "d",
            "--out",
            str(tmp_path / "vp.json"),
        ],
    )
    assert result.exit_code == 1 and "not the holder" in result.output
    assert "credential 1 of " in result.output  # the first file given, counted from 1


def test_root_cli_has_holder_commands() -> None:
    from talentproof.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert "keygen" in result.output and "present" in result.output


def test_keygen_creates_the_folder_it_writes_into(tmp_path: Path) -> None:
    out = tmp_path / "applicant" / "keys" / "holder.json"
    result = CliRunner().invoke(_app(), ["keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_holder_key(out).public_key.did_key == result.output.strip()


def test_present_writes_into_a_new_folder_and_unwritable_output_is_one_line(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    key_file = tmp_path / "holder.json"
    write_holder_key(key_file, holder_key)
    creds = _write_creds(tmp_path, anchored)[:1]
    out = tmp_path / "for-the-officer" / "vp.json"
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *creds,
            "--key",
            str(key_file),
            "--challenge",
            "n",
            "--domain",
            "d",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out.parent / "vp.png").is_file() and (out.parent / "vp.svg").is_file()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            *creds,
            "--key",
            str(key_file),
            "--challenge",
            "n",
            "--domain",
            "d",
            "--out",
            str(out),
            "--png",
            str(blocker / "vp.png"),
        ],
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("error: cannot write")
        and "a-file is a file" in lines[0]
    )
    assert "Traceback" not in result.output
