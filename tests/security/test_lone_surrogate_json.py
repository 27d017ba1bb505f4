"""A JSON document holding a lone surrogate escape is refused at check 1, never a crash (real
Anvil: the CLI, the service and the VC API).

The attack needs no key: JSON text may write ``"\\ud800"``, a UTF-16 surrogate with no pair,
which is no Unicode character; I-JSON (RFC 7493) and JCS (RFC 8785) refuse it. The QR codec's
parser (orjson) refuses it, but a JSON file or a service's JSON document went through the
reference parser (``json.loads``), which takes it as a character that UTF-8 cannot encode, and
the schema validator then raised ``UnicodeEncodeError`` out of the engine: one such file beside an
applicant's valid credentials ended ``talentproof verify`` with a traceback, and
``POST /api/v1/verify`` (``documents``) and the VC API's ``/credentials/verify`` answered 500.
Such a document now fails check 1 as not readable, naming the character.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


def _with_lone_surrogate(doc: dict, escape: str = "\\ud800") -> str:  # type: ignore[type-arg]
    text = json.dumps(doc)
    name = json.dumps(doc["credentialSubject"]["name"])
    assert name in text
    return text.replace(name, name[:-1] + escape + '"', 1)


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("surrogate")
    record = vchain.save_deployment(d)
    uni = vchain.issuers["University of Hong Kong"]
    good = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    return {"vchain": vchain, "record": str(record), "dir": d, "good": good}


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "\\udbff\\u0041"])
def test_cli_reports_the_file_as_unreadable_instead_of_a_traceback(env, escape):
    good = env["dir"] / "good.json"
    good.write_text(json.dumps(env["good"]), "utf-8")
    bad = env["dir"] / "surrogate.json"
    bad.write_text(_with_lone_surrogate(env["good"], escape), "utf-8")
    r = runner.invoke(
        app,
        ["verify", "--rpc", env["vchain"].rpc_url, "--trust", env["record"], str(good), str(bad)],
    )
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (1, 3), r.output  # never VALID
    assert "Result:" in r.stdout and "surrogate" in r.stdout, r.stdout


def test_a_surrogate_pair_is_a_character_and_reads_as_before(env):
    """The control: a proper pair (U+1F600) is one character; the edited name breaks the
    signature (check 3), as any other edit does."""
    bad = env["dir"] / "pair.json"
    bad.write_text(_with_lone_surrogate(env["good"], "\\ud83d\\ude00"), "utf-8")
    r = runner.invoke(
        app, ["verify", "--rpc", env["vchain"].rpc_url, "--trust", env["record"], str(bad)]
    )
    assert r.exit_code == 1, r.output
    assert "surrogate" not in r.stdout, r.stdout


def test_service_and_vc_api_answer_instead_of_500(env):
    good, bad = json.dumps(env["good"]), _with_lone_surrogate(env["good"])
    body = '{"documents": [' + good + ", " + bad + "]}"
    vc_api = '{"verifiableCredential": ' + bad + "}"
    headers = {"content-type": "application/json"}
    with env["vchain"].service_client(env["record"], raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", content=body, headers=headers)
        assert r.status_code in (200, 422), (r.status_code, r.text[:300])
        if r.status_code == 200:
            assert r.json()["outcome"]["code"] in ("INVALID", "NOT_VERIFIABLE"), r.json()
        r = client.post("/credentials/verify", content=vc_api, headers=headers)
        assert r.status_code == 400, (r.status_code, r.text[:300])
        assert r.json()["verified"] is False
