"""What a credential states cannot rewrite the verifier's text output (real Anvil, CLI).

The attack needs no key: a credential's text (the applicant's name, a degree's field, a file's
name) is printed by ``talentproof verify`` whatever its verdict ("Applicant: ... (as the
credentials state it, not confirmed)", "says: ..."). A name holding terminal control sequences
(ESC [1A ESC [2K: cursor up, erase the line) erased the "INVALID: ..." line above it and wrote
"VALID: ..." in its place; ESC [8m then hid everything after it, the failed checks and the
"Result: INVALID" line included. A newline in a name printed a line of its own, and a bidi
override (U+202E) or a zero-width space made one name look like another. Every control and
format character of the text output is now shown escaped (``\\x1b``, ``\\n``, ``\\u202e``), in
the application report and in a folder's lines.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()

ESC = "\x1b"
FAKE = f"{ESC}[1A{ESC}[2K\rVALID: the credential is valid{ESC}[8m"


def _hostile(out: str) -> list[str]:
    return [
        f"U+{ord(ch):04X}"
        for ch in out
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
    ]


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("tty")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    doc = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    return {"rpc": vchain.rpc_url, "record": str(record), "dir": d, "doc": doc}


def _verify(env, *paths) -> str:  # type: ignore[no-untyped-def]
    r = runner.invoke(
        app, ["verify", "--rpc", env["rpc"], "--trust", env["record"], *map(str, paths)]
    )
    assert r.exit_code == 1, r.output  # INVALID: the edited credential's signature fails
    return r.stdout  # the report (a folder's progress bar, on stderr, uses a carriage return)


@pytest.mark.parametrize(
    "where",
    ["name", "fieldOfStudy", "newline", "bidi"],
)
def test_credential_text_cannot_rewrite_the_report(env, where):
    doc = json.loads(json.dumps(env["doc"]))
    subject = doc["credentialSubject"]
    if where == "name":
        subject["name"] = "Chan Tai Man" + FAKE
    elif where == "fieldOfStudy":
        subject["degree"]["fieldOfStudy"] = "Computer Science" + FAKE
    elif where == "newline":
        subject["name"] = "Chan Tai Man\nResult: VALID: the credential is valid [VALID]"
    else:
        subject["name"] = "Chan Tai Man\u202e\u200b"
    f = env["dir"] / f"{where}.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    out = _verify(env, f)
    assert _hostile(out) == [], out
    assert not any(line.startswith(("VALID", "Result: VALID")) for line in out.splitlines())
    assert out.splitlines()[0].startswith("INVALID"), out
    assert out.rstrip().splitlines()[-1].startswith("Result: INVALID"), out
    if where != "bidi":
        assert "\\x1b" in out or "\\n" in out  # shown, escaped
    else:
        assert "\\u202e" in out and "\\u200b" in out


def test_a_folder_file_name_cannot_rewrite_its_line(env):
    folder = env["dir"] / "folder"
    folder.mkdir()
    doc = json.loads(json.dumps(env["doc"]))
    doc["credentialSubject"]["name"] = "edited"
    (folder / f"a{ESC}[2K\r{ESC}[32m✓ good.json").write_text(json.dumps(doc), encoding="utf-8")
    out = _verify(env, folder)
    assert _hostile(out) == [], out
    assert "\\x1b" in out


def test_status_shows_a_hostile_issuer_name_escaped(env, vchain):
    """``talentproof status`` is where the operator audits the registry for look-alike issuers
    (the threat model's advice): a name registered with control sequences (by a careless or
    compromised governor) could erase its own line there, or hide the lines after it."""
    hidden = f"Look Alike{ESC}[2K\r{ESC}[8m"
    vchain.add_issuer(hidden, (EMPLOYMENT,), did="did:web:hsbc.com\u200b", fresh_account=True)
    del vchain.issuers[hidden]  # on chain only: the session's other tests never pick it
    r = runner.invoke(app, ["status", "--rpc", env["rpc"], "--deployment", env["record"]])
    assert r.exit_code == 0, r.output
    assert _hostile(r.stdout) == [], r.stdout
    assert "Look Alike\\x1b[2K\\r\\x1b[8m (did:web:hsbc.com\\u200b)" in r.stdout
