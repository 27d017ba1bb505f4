"""The issuer API's answers given to the verifier in place of a credential (a new user saved the
answer of ``POST /credentials`` and verified it): each is refused as NOT_VERIFIABLE with a message
naming what it is and what to fetch instead, through the one input-detection path
(`inputs.item_from_json`: CLI file and folder, the service's ``/api/v1/verify`` documents). The
credential inside an answer is never verified in its place (the answer's own fields are not
signed): every answer here wraps a real, valid, anchored credential, so a silent unwrap would
read VALID.

The answers' shapes are those of `issuer.usecases.issuance.pending_body` (``POST /credentials``),
`issuer.usecases.credentials.anchor_status` (``GET /credentials/{id}/anchor``) and
`issuer.bulk._results` (a line of ``GET /bulk-jobs/{id}/results``)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.inputs import item_from_json
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, holder, issue
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_vc_api import vc_degree

pytestmark = pytest.mark.integration
runner = CliRunner()


def post_answer(cred: dict) -> dict:
    """The ``POST /credentials`` answer (202) for ``cred``."""
    cid = cred["id"]
    return {
        "id": cid,
        "status": "pending_anchor",
        "credentialHash": "0x" + "ab" * 32,
        "credential": cred,
        "poll": f"/credentials/{cid}/anchor",
        "links": {
            "self": f"/credentials/{cid}",
            "anchor": f"/credentials/{cid}/anchor",
            "qr_png": f"/credentials/{cid}/qr.png",
            "qr_svg": f"/credentials/{cid}/qr.svg",
        },
        "anchoring": "queued",
    }


def anchor_answer(cred: dict, status: str = "anchored") -> dict:
    """The ``GET /credentials/{id}/anchor`` answer for ``cred``."""
    return {
        "id": cred["id"],
        "status": status,
        "credentialHash": "0x" + "ab" * 32,
        "revoked": False,
        "suspended": False,
        "revocationReason": None,
        "suspensionReason": None,
        "batch": None,
        "chain": {"available": True},
        "waiting": None,
        "statusChanges": [],
    }


def bulk_line(cred: dict) -> dict:
    """A line of ``GET /bulk-jobs/{id}/results`` for ``cred``."""
    return {"row": 3, "id": cred["id"], "status": "anchored", "credential": cred}


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("answers")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    s = holder().public_key.did_key
    cred = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)
    (d / "degree.json").write_text(json.dumps(cred))
    return {"dir": d, "record": str(record), "rpc": vchain.rpc_url, "cred": cred, "vchain": vchain}


def run(env, *args):
    return runner.invoke(
        app, ["verify", "--rpc", env["rpc"], "--trust", env["record"], *map(str, args)]
    )


def test_the_wrapped_credential_is_valid_alone(env):
    """The control: what each answer wraps verifies VALID on its own."""
    r = run(env, env["dir"] / "degree.json")
    assert r.exit_code == 0, r.output
    assert "Result: VALID" in r.output


def test_post_credentials_answer_is_refused_naming_it(env, tmp_path):
    f = tmp_path / "cred.json"
    f.write_text(json.dumps(post_answer(env["cred"])))
    r = run(env, f)
    assert r.exit_code == 3, r.output
    assert "Result: NOT VERIFIABLE" in r.output
    out = " ".join(r.output.split())
    assert (
        "cred.json is the issuer API's answer to POST /credentials (status pending_anchor), "
        "not a credential" in out
    )
    cid = env["cred"]["id"]
    assert f"GET /credentials/{cid}" in out and f"GET /credentials/{cid}/anchor" in out
    assert "says anchored" in out
    assert "@context should be" not in out and "no anchor proof" not in out, out
    assert "Result: VALID" not in out and "Skipped: the credential could not be read" in out


def test_anchor_status_answer_is_refused_naming_it(env, tmp_path):
    f = tmp_path / "status.json"
    f.write_text(json.dumps(anchor_answer(env["cred"], "pending_anchor")))
    r = run(env, f, "--json")
    assert r.exit_code == 3, r.output
    data = json.loads(r.output)
    assert data["outcome"]["code"] == "NOT_VERIFIABLE"
    reason = data["outcome"]["reason"]
    assert "status.json is the issuer API's answer to GET /credentials/{id}/anchor" in reason
    assert "status pending_anchor" in reason and "not a credential" in reason
    assert f"GET /credentials/{env['cred']['id']}" in reason


def test_bulk_results_line_and_vc_api_body_are_refused(env, tmp_path):
    line = tmp_path / "line.json"
    line.write_text(json.dumps(bulk_line(env["cred"])))
    r = run(env, line, "--json")
    assert r.exit_code == 3, r.output
    reason = json.loads(r.output)["outcome"]["reason"]
    assert "line.json is a line of the issuer API's bulk-job results" in reason
    assert "not a credential" in reason
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"verifiableCredential": env["cred"], "options": {}}))
    r = run(env, body, "--json")
    assert r.exit_code == 3, r.output
    reason = json.loads(r.output)["outcome"]["reason"]
    assert "body.json is a W3C VC API body" in reason and "not a credential" in reason
    body.write_text(json.dumps({"verifiablePresentation": {"type": ["VerifiablePresentation"]}}))
    reason = json.loads(run(env, body, "--json").output)["outcome"]["reason"]
    assert "body.json is a W3C VC API body" in reason and "not a presentation" in reason


def test_folder_reports_the_answer_per_file_and_goes_on(env, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a_cred.json").write_text(json.dumps(post_answer(env["cred"])))
    (folder / "b_degree.json").write_text(json.dumps(env["cred"]))
    (folder / "c_status.json").write_text(json.dumps(anchor_answer(env["cred"])))
    r = run(env, folder)
    assert r.exit_code == 3, r.output
    assert "3 files at block" in r.output
    assert "1 valid, 0 invalid, 2 not verifiable" in r.output
    out = " ".join(r.output.split())
    assert "a_cred.json is the issuer API's answer to POST /credentials" in out
    assert "c_status.json is the issuer API's answer to GET /credentials/{id}/anchor" in out
    data = json.loads(run(env, folder, "--json", "--workers", "1").output)
    assert data["summary"]["outcomes"] == {"VALID": 1, "INVALID": 0, "NOT_VERIFIABLE": 2}


def test_service_refuses_an_answer_among_documents(env, tmp_path):
    settings = ServiceSettings(rpc_url=env["rpc"], trust=env["record"], domain="v.example.hk")
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/verify", json={"documents": [post_answer(env["cred"])]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] != "valid"
        assert body["outcome"]["code"] == "NOT_VERIFIABLE"
        assert (
            "document 1 is the issuer API's answer to POST /credentials (status pending_anchor)"
            in body["outcome"]["reason"]
        )
        r = client.post(
            "/api/v1/verify", json={"documents": [env["cred"], anchor_answer(env["cred"])]}
        )
        body = r.json()
        assert body["verdict"] != "valid" and body["outcome"]["code"] == "NOT_VERIFIABLE"
        assert "document 2 is the issuer API's answer to GET" in body["outcome"]["reason"]
        # the VC API endpoint runs the same detection on the credential it is given
        r = client.post(
            "/credentials/verify", json={"verifiableCredential": post_answer(env["cred"])}
        )
        assert "answer to POST /credentials" in r.text, r.text


def test_real_documents_are_not_taken_for_answers(env):
    """A credential or presentation (it has ``@context``) is never taken for an answer, even
    with members named like one's."""
    cred = dict(env["cred"], status="pending_anchor", credential={}, credentialHash="0x00")
    item = item_from_json(json.dumps(cred), "c.json")
    assert item.error is None and item.document == cred
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [env["cred"]],
    }
    assert item_from_json(json.dumps(vp), "p.json").error is None


def test_the_real_issuer_answers_are_recognised(client):
    """The answers the issuer API really gives (its app on SQLite, the session's Anvil), not
    copies of their shapes: ``POST /credentials`` (and its replay), ``GET /credentials/{id}/anchor``
    and the VC API's ``POST /credentials/issue``; the credential itself
    (``GET /credentials/{id}``) is taken as one."""
    token = onboard(client)["api_key"]["token"]
    posted = client.post(
        "/credentials", headers=bearer(token, **{"Idempotency-Key": "k1"}), json=degree_request()
    )
    assert posted.status_code == 202, posted.text
    cid = posted.json()["id"]
    replay = client.post(
        "/credentials", headers=bearer(token, **{"Idempotency-Key": "k1"}), json=degree_request()
    )
    status = client.get(f"/credentials/{cid}/anchor", headers=bearer(token))
    assert status.status_code == 200, status.text
    for answer, says in (
        (
            posted,
            "cred.json is the issuer API's answer to POST /credentials (status pending_anchor)",
        ),
        (
            replay,
            "cred.json is the issuer API's answer to POST /credentials (status pending_anchor)",
        ),
        (status, "cred.json is the issuer API's answer to GET /credentials/{id}/anchor"),
    ):
        item = item_from_json(answer.content, "cred.json")
        assert item.document is None and item.error is not None, answer.text
        assert says in item.error and f"GET /credentials/{cid}" in item.error, item.error
    inst = onboard(client)
    issued = client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"]),
        json={"credential": vc_degree(inst["did"]), "options": {}},
    )
    assert issued.status_code == 201, issued.text
    item = item_from_json(issued.content, "vc.json")
    assert item.document is None and "vc.json is a W3C VC API body" in (item.error or "")
    assert "POST /credentials/issue answers" in (item.error or "")
    own = client.get(f"/credentials/{cid}", headers=bearer(token))
    assert own.status_code == 200, own.text
    item = item_from_json(own.content, "cred.json")
    assert item.error is None and item.document == own.json()


@pytest.mark.parametrize(
    "doc",
    [
        {"status": [], "credential": {}},
        {"status": {"a": 1}, "credentialHash": "0x00", "id": ["x"]},
        {"status": "VALID\u202e", "credential": {"@context": []}, "id": "urn:uuid:\n"},
        {"verifiableCredential": None},
    ],
)
def test_odd_answers_are_refused_without_echoing_their_members(doc):
    """A status or id of any JSON type is no crash; only the issuer's own states and id form
    are echoed (the rest is unsigned text)."""
    item = item_from_json(json.dumps(doc), "x.json")
    assert item.document is None and item.error is not None
    assert item.error.startswith("x.json is ") and "not a credential" in item.error
    assert "VALID" not in item.error and "\n" not in item.error and "{id}" in item.error


def test_a_holder_key_file_is_named_not_judged_a_forgery(env, tmp_path):
    """`talentproof demo` writes the applicant's key file beside the credentials; verifying that
    folder reported it INVALID, '@context should be a list ...' (fresh-clone walk-through): an
    officer reads a forgery. A key file (``talentproof keygen``, the wallet's) is not a
    credential: NOT_VERIFIABLE, named as a private key file, its secret never echoed."""
    from talentproof.credential.cli import write_holder_key
    from talentproof.credential.keys import Ed25519SigningKey

    folder = tmp_path / "applicant"
    folder.mkdir()
    key = Ed25519SigningKey.generate()
    write_holder_key(folder / "holder-key.json", key, id_salt="s" * 43)
    (folder / "degree.json").write_text(json.dumps(env["cred"]))
    r = run(env, folder)
    assert r.exit_code == 3, r.output
    assert "1 valid, 0 invalid, 1 not verifiable" in r.output, r.output
    out = " ".join(r.output.split())
    assert "holder-key.json: this is not a credential" in out, out
    assert "looks like a private key" in out and "nothing of it is shown" in out, out
    assert key.multibase not in r.output and "s" * 43 not in r.output
    assert "@context should be" not in out
    data = json.loads(run(env, folder / "holder-key.json", "--json").output)
    assert data["outcome"]["code"] == "NOT_VERIFIABLE"
    assert key.multibase not in json.dumps(data)


def test_a_credential_fetched_before_its_anchor_is_named_not_called_never_anchored(env, tmp_path):
    """``GET /credentials/{id}`` answers the credential without its anchor proof (200) until its
    batch is anchored: a new user fetched it then and the verifier said "it was never anchored",
    which reads as a fake. Still INVALID (check 4: a file without its proof is not valid), but the
    message says what the file lacks and how to get the anchored one, in the CLI (text and
    --json) and the service the page reads (its ``message`` of the check, surface ``page``)."""
    from talentproof.credential.anchor import split_anchor

    pending, proof = split_anchor(env["cred"])
    assert proof is not None
    f = tmp_path / "pending.json"
    f.write_text(json.dumps(pending))

    def told(message: str) -> None:
        assert "never anchored" not in message, message
        assert "carries no anchor proof" in message, message
        assert "fetch it again" in message and "GET /credentials/{id}" in message, message
        assert "409" in message, message

    r = run(env, f)
    assert r.exit_code != 0 and "Result: INVALID" in r.output, r.output
    told(" ".join(r.output.split()))
    data = json.loads(run(env, f, "--json").output)
    assert data["outcome"]["code"] == "INVALID"
    (credential,) = data["credentials"]
    [inclusion] = [c for c in credential["checks"] if c["id"] == "merkle_inclusion"]
    assert inclusion["status"] == "fail"
    told(inclusion["message"])
    settings = ServiceSettings(rpc_url=env["rpc"], trust=env["record"], domain="v.example.hk")
    png = render_png(encode_payload(pending))
    with TestClient(create_app(settings)) as client:
        files = [("files", ("pending.png", png, "image/png"))]
        page = client.post("/api/v1/verify/image", files=files, data={"surface": "page"})
        api = client.post("/api/v1/verify", json={"documents": [pending]})
        for r in (page, api):
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["outcome"]["code"] == "INVALID", body["outcome"]
            (credential,) = body["credentials"]
            [inclusion] = [c for c in credential["checks"] if c["id"] == "merkle_inclusion"]
            assert inclusion["status"] == "fail"
            told(inclusion["message"])
