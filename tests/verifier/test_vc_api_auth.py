"""The verifier's W3C VC API behind bearer tokens (issue 14, point 4): with
``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE`` set, ``POST /credentials/verify`` and
``POST /presentations/verify`` need ``Authorization: Bearer <token>`` (401 otherwise); unset,
they stay open. The officer's page and ``/api/v1`` stay public either way (FastAPI TestClient
over the real service and a real Anvil; the start-up checks through the real CLI)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.credential.presentation import create_presentation
from talentproof.errors import EXIT_USAGE, exit_code
from talentproof.ledger.nodes import free_port
from talentproof.verifier.errors import SettingsError
from talentproof.verifier.service import ServiceSettings, create_app
from talentproof.verifier.vc_api_tokens import TOKEN_PREFIX, new_token, token_line
from tests.chainkit import DEGREE, holder, issue

VARIABLE = "TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE"
DOMAIN = "verifier.example.hk"
VC_API = ("/credentials/verify", "/presentations/verify")


def _hashes_file(path: Path, *tokens: str) -> Path:
    path.write_text(
        "# the verifier's VC API tokens\n\n"
        + "".join(token_line(t, f"client-{i}") + "\n" for i, t in enumerate(tokens)),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def stack(vchain, tmp_path_factory) -> Any:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("vcapiauth")
    record = folder / "deployment.json"
    vchain.deployment.save(record)
    token, other = new_token(), new_token()
    tokens_file = _hashes_file(folder / "vc-api-tokens", token, other)
    base = {"rpc_url": vchain.rpc_url, "trust": str(record), "domain": DOMAIN}
    hk = holder()
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, hk.public_key.did_key)
    with (
        TestClient(create_app(ServiceSettings(**base))) as open_client,
        TestClient(
            create_app(ServiceSettings(**base, vc_api_tokens_file=tokens_file))
        ) as closed_client,
    ):
        yield {
            "open": open_client,
            "closed": closed_client,
            "token": token,
            "other": other,
            "degree": degree,
            "holder": hk,
            "record": record,
            "rpc_url": vchain.rpc_url,
            "tokens_file": tokens_file,
        }


def _body(path: str, stack: Any) -> dict[str, Any]:
    if path == "/credentials/verify":
        return {"verifiableCredential": stack["degree"], "options": {}}
    vp = create_presentation(
        [stack["degree"]],
        stack["holder"],
        challenge="unbound",
        domain=DOMAIN,
        created=datetime.now(UTC).replace(microsecond=0),
    )
    return {"verifiablePresentation": vp, "options": {}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused(r: Any, *, invalid_token: bool) -> str:
    """401 in the VC API's shape: nothing verified, the one error also a ProblemDetails; the
    challenge says Bearer (RFC 6750), ``error="invalid_token"`` for a token that was sent."""
    assert r.status_code == 401, r.text
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer "), challenge
    assert ('error="invalid_token"' in challenge) is invalid_token, challenge
    body = r.json()
    assert set(body) == {"verified", "checks", "warnings", "errors", "problemDetails"}, body
    assert body["verified"] is False and body["checks"] == [] and body["warnings"] == []
    (error,) = body["errors"]
    (details,) = body["problemDetails"]
    assert details["detail"] == error and details["title"] == "Unauthorized", details
    assert error.startswith("authorization: "), error
    return str(error)


@pytest.mark.integration
@pytest.mark.parametrize("path", VC_API)
def test_open_when_no_tokens_are_configured(stack: Any, path: str) -> None:
    r = stack["open"].post(path, json=_body(path, stack))
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True
    # a token sent to an open VC API is not looked at
    r = stack["open"].post(path, json=_body(path, stack), headers=_bearer("tpv_anything"))
    assert r.status_code == 200, r.text
    ready = stack["open"].get("/readyz").json()
    assert ready["vcApi"] == {"authentication": "open (no tokens configured)"}


@pytest.mark.integration
@pytest.mark.parametrize("path", VC_API)
def test_a_missing_or_wrong_token_is_401(stack: Any, path: str) -> None:
    c = stack["closed"]
    body = _body(path, stack)
    error = _refused(c.post(path, json=body), invalid_token=False)
    assert "Authorization: Bearer" in error
    for wrong in (
        _bearer(new_token()),  # well formed, not one of the verifier's
        _bearer(stack["token"][:-1]),  # the right one cut short
        _bearer(stack["token"] + "x"),
        _bearer(hashlib.sha256(stack["token"].encode()).hexdigest()),  # the hash is no token
        _bearer("tok en"),
    ):
        error = _refused(c.post(path, json=body, headers=wrong), invalid_token=True)
        assert stack["token"] not in error and "is not a VC API token" in error
    for other_scheme in (f"Basic {stack['token']}", stack["token"], "Bearer", "Bearer  "):
        r = c.post(path, json=body, headers={"Authorization": other_scheme})
        assert "Authorization: Bearer" in _refused(r, invalid_token=False)
    # authentication comes first: a malformed body without a token is a 401, not a 400
    r = c.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    _refused(r, invalid_token=False)


@pytest.mark.integration
@pytest.mark.parametrize("path", VC_API)
def test_the_right_token_verifies(stack: Any, path: str) -> None:
    c = stack["closed"]
    for token in (stack["token"], stack["other"]):
        r = c.post(path, json=_body(path, stack), headers=_bearer(token))
        assert r.status_code == 200, r.text
        assert r.json()["verified"] is True
    # the scheme is case-insensitive (RFC 7235), the token is not
    r = c.post(path, json=_body(path, stack), headers={"Authorization": f"bearer {stack['token']}"})
    assert r.status_code == 200, r.text
    r = c.post(path, json=_body(path, stack), headers=_bearer(stack["token"].upper()))
    assert r.status_code == 401
    # authenticated, a malformed body is the VC API's 400 problem as before
    r = c.post(
        path,
        content=b"{not json",
        headers={**_bearer(stack["token"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["problemDetails"][0]["title"] == "PARSING_ERROR"
    ready = c.get("/readyz").json()
    assert ready["vcApi"] == {"authentication": "bearer token required"}


@pytest.mark.integration
def test_the_page_and_the_product_api_stay_public(stack: Any) -> None:
    c = stack["closed"]
    assert "TalentProof verifier" in c.get("/").text
    assert c.get("/api/v1/professions").status_code == 200
    challenge = c.post("/api/v1/challenges")
    assert challenge.status_code == 200 and challenge.json()["domain"] == DOMAIN
    r = c.post("/api/v1/verify", json={"documents": [stack["degree"]]})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"]["code"] == "VALID"
    r = c.post(
        "/api/v1/applications/evaluate",
        json={"documents": [stack["degree"]], "profession": "hk-dlt-expert"},
    )
    assert r.status_code == 200, r.text
    assert c.get("/healthz").json()["status"] == "ok"
    assert c.get("/readyz").status_code == 200


@pytest.mark.integration
def test_the_openapi_document_declares_the_bearer_scheme_when_configured(stack: Any) -> None:
    closed = stack["closed"].get("/openapi.json").json()
    scheme = closed["components"]["securitySchemes"]["VcApiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, example in zip(VC_API, ("anchored-degree", "bound"), strict=True):
        op = closed["paths"][path]["post"]
        assert op["security"] == [{"VcApiToken": []}]
        assert "401" in op["responses"]
        assert example in op["requestBody"]["content"]["application/json"]["examples"]
        assert {"200", "400", "503"} <= set(op["responses"])
    for path, methods in closed["paths"].items():  # the product's own API: no security
        if path not in VC_API:
            assert all("security" not in op for op in methods.values()), path
    opened = stack["open"].get("/openapi.json").json()
    assert "VcApiToken" not in opened.get("components", {}).get("securitySchemes", {})
    for path in VC_API:
        op = opened["paths"][path]["post"]
        assert "security" not in op and "401" not in op["responses"]
        assert op["requestBody"]["content"]["application/json"]["examples"]


# --------------------------------------------------------------------------- the setting


def test_the_setting_reads_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token = new_token()
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    monkeypatch.setenv(VARIABLE, str(_hashes_file(tmp_path / "t", token)))
    settings = ServiceSettings()
    tokens = settings.vc_api_tokens
    assert tokens is not None and len(tokens) == 1
    assert tokens.accepts(token) and not tokens.accepts(new_token()) and not tokens.accepts("")
    assert token not in repr(settings)
    monkeypatch.delenv(VARIABLE)
    assert ServiceSettings().vc_api_tokens is None


@pytest.mark.parametrize(
    "content,expected",
    [
        ("", "no token hashes"),
        ("# only a comment\n\n", "no token hashes"),
        ("sha256:abcd\n", "line 1: expected sha256:<64 hex digits>"),
        ("sha256:" + "g" * 64 + "\n", "line 1: expected sha256:<64 hex digits>"),
        ("md5:" + "a" * 32 + "\n", "line 1: expected sha256:<64 hex digits>"),
        ("# ok\nsha256:" + "a" * 64 + "\n" + "tpv_secretvalue\n", "line 3: a plaintext token"),
    ],
)
def test_a_malformed_tokens_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "tokens"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setenv(VARIABLE, str(path))
    with pytest.raises(SettingsError) as err:
        ServiceSettings()
    message = str(err.value)
    assert message.startswith(f"{VARIABLE}: "), message
    assert expected in message, message
    assert "secretvalue" not in message  # a plaintext token put there by mistake is not echoed
    assert exit_code(err.value) == EXIT_USAGE


def test_an_unreadable_tokens_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for path in (tmp_path / "absent", tmp_path):  # missing; a folder
        monkeypatch.setenv(VARIABLE, str(path))
        with pytest.raises(SettingsError) as err:
            ServiceSettings()
        assert str(err.value).startswith(f"{VARIABLE}: cannot read {path}"), str(err.value)
    with pytest.raises(SettingsError) as err:  # given in code, the same check
        ServiceSettings(vc_api_tokens_file=tmp_path / "absent")
    assert str(err.value).startswith(f"{VARIABLE}: cannot read"), str(err.value)
    if os.geteuid() != 0:  # root reads a 000 file
        private = _hashes_file(tmp_path / "private", new_token())
        private.chmod(0)
        monkeypatch.setenv(VARIABLE, str(private))
        with pytest.raises(SettingsError) as err:
            ServiceSettings()
        assert "Permission denied" in str(err.value)


# --------------------------------------------------------------------------- the CLI


def test_verifier_token_prints_a_token_once_and_the_line_to_add(tmp_path: Path) -> None:
    from talentproof.cli import app

    out = CliRunner().invoke(app, ["verifier", "token", "--name", "border-system"])
    assert out.exit_code == 0, out.output
    token = next(w for w in out.output.split() if w.startswith(TOKEN_PREFIX))
    line = token_line(token, "border-system")
    assert line in out.output and VARIABLE in out.output
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert line == f"sha256:{digest} border-system"
    # --file appends the line (a private file) and the service accepts the token from it
    path = tmp_path / "vc-api-tokens"
    first = CliRunner().invoke(app, ["verifier", "token", "--file", str(path)])
    second = CliRunner().invoke(app, ["verifier", "token", "--file", str(path), "--name", "b"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = ServiceSettings(vc_api_tokens_file=path).vc_api_tokens
    assert tokens is not None and len(tokens) == 2
    for result in (first, second):
        minted = next(w for w in result.output.split() if w.startswith(TOKEN_PREFIX))
        assert tokens.accepts(minted)
        assert minted not in path.read_text()  # only its hash is kept
    bad = CliRunner().invoke(app, ["verifier", "token", "--name", "two words"])
    assert bad.exit_code == EXIT_USAGE and "--name" in bad.output


def _serve(stack: Any, port: int, tokens_file: Path) -> subprocess.Popen[str]:
    env = {**os.environ, VARIABLE: str(tokens_file)}
    env.pop("TALENTPROOF_DATA_DIR", None)
    argv = [sys.executable, "-m", "talentproof", "verifier", "serve", "--port", str(port)]
    argv += ["--rpc", stack["rpc_url"], "--trust", str(stack["record"])]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.integration
def test_verifier_serve_says_how_the_vc_api_is_guarded_at_start_up(
    stack: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("tpv_plaintext\n", encoding="utf-8")
    proc = _serve(stack, free_port(), bad)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_USAGE, out
    assert f"{VARIABLE}: line 1: a plaintext token" in out and "tpv_plaintext" not in out
    proc = _serve(stack, free_port(), stack["tokens_file"])
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while "VC API" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                break
            seen += line
        assert (
            "VC API (POST /credentials/verify, /presentations/verify): bearer token required "
            f"(2 tokens from {stack['tokens_file']})"
        ) in seen, seen
    finally:
        proc.terminate()
        proc.wait(10)
