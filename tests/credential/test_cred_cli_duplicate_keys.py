"""``talentproof present`` reads a credential file as the verifier reads one: a member given
twice is refused, naming the key and the file.

The residual (red team, 2026-12-07): the verifier refuses a JSON document holding a key twice
(check 1; the QR decoder since e6ece91), since a parser keeping the first value and one keeping
the last read two different documents. The holder's ``present`` read its credential files with
``json.loads``, keeping the last: a file whose duplicate member comes before the signed one was
bundled into a presentation of another document than the file shows to a reader keeping the
first (a human, another wallet). Now it reads them with the helper the verifier's parse uses
(`credential.jsonread`): exit 2, the key and the file named, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from talentproof.credential.cli import register, write_holder_key
from talentproof.credential.keys import Ed25519SigningKey

#: (where, key, a member given before the signed one's text) of each duplicate.
DUPLICATES = [
    ("root", "id", '{"id": "urn:uuid:someone-else", '),
    ("credentialSubject", "name", '"credentialSubject": {"name": "SOMEONE Else", '),
    ("proof", "proofValue", None),
]


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    return app


def _with_duplicate(doc: dict[str, Any], where: str, key: str, head: str | None) -> str:
    text = json.dumps(doc)
    if where == "root":
        assert text.startswith("{")
        return head + text[1:]  # type: ignore[operator]
    if where == "proof":
        proofs = doc["proof"]
        first = proofs[0] if isinstance(proofs, list) else proofs
        marker = json.dumps(first)[:-1]
        assert marker in text
        return text.replace(marker, marker + ', "proofValue": "z1111"', 1)
    marker = f'"{where}": {{'
    assert marker in text
    return text.replace(marker, head, 1)  # type: ignore[arg-type]


def _present(tmp_path: Path, files: list[Path], holder_key: Ed25519SigningKey) -> Any:
    key_file = tmp_path / "holder.json"
    if not key_file.exists():
        write_holder_key(key_file, holder_key)
    return CliRunner().invoke(
        _app(),
        [
            "present",
            *map(str, files),
            "--key",
            str(key_file),
            "--challenge",
            "n-1",
            "--domain",
            "verify.example",
            "--out",
            str(tmp_path / "vp.json"),
        ],
    )


@pytest.mark.parametrize(("where", "key", "head"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_present_refuses_a_credential_file_holding_a_key_twice(
    tmp_path: Path,
    anchored: dict[str, dict[str, Any]],
    holder_key: Ed25519SigningKey,
    where: str,
    key: str,
    head: str | None,
) -> None:
    doc = anchored["degree"] if "degree" in anchored else next(iter(anchored.values()))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    bad = tmp_path / "twice.json"
    bad.write_text(_with_duplicate(doc, where, key, head))
    result = _present(tmp_path, [good, bad], holder_key)
    assert result.exit_code == 2, result.output
    assert repr(key) in result.output and str(bad) in result.output, result.output
    assert "twice" in result.output or "duplicate" in result.output, result.output
    assert not (tmp_path / "vp.json").exists()


def test_present_still_reads_the_same_files_without_a_duplicate(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    files = []
    for kind, doc in anchored.items():
        p = tmp_path / f"{kind}.json"
        p.write_text(json.dumps(doc, indent=1))
        files.append(p)
    result = _present(tmp_path, files, holder_key)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vp.json").exists()
