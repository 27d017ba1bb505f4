"""The verifier's surfaces driven alike by the attack tests that compare them (check 2's line
breaks, check 6's issuer profiles, a status change read at once): the CLI on one file, the
folder verification with 1 and 2 workers, its C fast path on and off, the VC API's
presentation and an OpenID4VP answer. ``env`` holds the chain (``chain``), the saved
deployment record (``record``), the folder of attack files (``folder``), the service's test
client (``client``) and the holder's key (``key``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload
from talentproof.verifier import bulk
from tests.chainkit import ID_SALT
from tests.verifier.test_oid4vp import answer, new_request, post, resolve

runner = CliRunner()


def cli_verify(env: dict[str, Any], *args: str) -> dict[str, Any]:
    """``talentproof verify ... --json`` on ``env``'s chain and deployment: its JSON report (the
    exit code 0 or 1, a verdict)."""
    r = runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args, "--json"]
    )
    assert r.exit_code in (0, 1), r.output
    return dict(json.loads(r.output))


def check_message(report: dict[str, Any], number: int) -> str:
    """The message of check ``number`` in the report of one credential."""
    (cred,) = report["credentials"]
    (found,) = [c for c in cred["checks"] if int(c["number"]) == number]
    return str(found["message"])


def single_surfaces(
    env: dict[str, Any], name: str, doc: dict[str, Any], check: int, *, qr_text: bool = False
) -> dict[str, tuple[str, str]]:
    """Each single-credential surface's answer for ``doc`` (saved as ``<folder>/<name>.json``):
    (verdict, check ``check``'s message) from the CLI on the file (and, with ``qr_text``, on its
    QR text), ``/api/v1/verify``, the page's route; (VALID or "not verified <HTTP status>", the
    errors) from the VC API's credential and presentation (`vc_api_presentation`)."""
    c = env["client"]
    out: dict[str, tuple[str, str]] = {}
    report = cli_verify(env, str(Path(env["folder"]) / f"{name}.json"))
    out["cli file"] = (report["outcome"]["code"], check_message(report, check))
    if qr_text:
        report = cli_verify(env, encode_payload(doc))
        out["cli qr text"] = (report["outcome"]["code"], check_message(report, check))
    r = c.post("/api/v1/verify", json={"documents": [doc]})
    assert r.status_code == 200, r.text
    out["api documents"] = (r.json()["outcome"]["code"], check_message(r.json(), check))
    r = c.post("/api/v1/verify/image", data={"payloads": [encode_payload(doc)]})
    assert r.status_code == 200, r.text
    out["page payloads"] = (r.json()["outcome"]["code"], check_message(r.json(), check))
    r = c.post("/credentials/verify", json={"verifiableCredential": doc})
    body = r.json()
    out["vc api credential"] = (
        "VALID" if body["verified"] else f"not verified {r.status_code}",
        " ".join(body.get("errors", [])),
    )
    out["vc api presentation"] = vc_api_presentation(env, [doc])
    return out


def folder_verdicts(env: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """The folder's verdict and report per file (by its stem), for 1 and 2 workers, C on and
    off, keyed ``workers=N C=on|off``."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    was = bulk.NATIVE
    try:
        for native in (True, False):
            bulk.NATIVE = native
            for workers in ("1", "2"):
                report = cli_verify(env, str(env["folder"]), "--workers", workers)
                out[f"workers={workers} C={'on' if native else 'off'}"] = {
                    Path(x["source"]).stem: (x["outcome"]["code"], json.dumps(x))
                    for x in report["results"]
                }
    finally:
        bulk.NATIVE = was
    return out


def vc_api_presentation(env: dict[str, Any], docs: list[dict[str, Any]]) -> tuple[str, str]:
    """``docs`` presented by ``env["key"]``'s holder to the VC API (``/presentations/verify``,
    with a fresh challenge): ("VALID" or "not verified <HTTP status>", its errors joined)."""
    c = env["client"]
    challenge = c.post("/api/v1/challenges").json()
    vp = create_presentation(
        docs,
        env["key"],
        challenge=challenge["challenge"],
        domain=challenge["domain"],
        created=datetime.now(UTC).replace(microsecond=0),
        identity_document_salt=ID_SALT,
    )
    r = c.post(
        "/presentations/verify",
        json={
            "verifiablePresentation": vp,
            "options": {"challenge": challenge["challenge"], "domain": challenge["domain"]},
        },
    )
    body = r.json()
    verdict = "VALID" if body["verified"] else f"not verified {r.status_code}"
    return verdict, " ".join(body.get("errors", []))


def openid4vp_outcome(env: dict[str, Any], creds: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """``creds`` (by query id) answered by ``env["key"]``'s holder to a new OpenID4VP request of
    the service: (its outcome code, the polled request as JSON)."""
    c = env["client"]
    created = new_request(c)
    _, p = resolve(c, created)
    r = post(c, p, answer(p, creds, env["key"]))
    assert r.status_code == 200, r.text
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    return str(polled["outcome"]["code"]), json.dumps(polled)
