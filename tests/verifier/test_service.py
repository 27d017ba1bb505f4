"""The verifier service over HTTP (FastAPI TestClient, real chain)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("svc") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(
        ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record), domain="verifier.example.hk")
    )
    hk = holder()
    s = hk.public_key.did_key
    creds = {
        "degree": issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s),
        "employment": issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01"),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
    }
    with TestClient(app) as client:
        yield {"client": client, "creds": creds, "holder": hk, "vchain": vchain}


def test_verify_payload(setup):
    c = setup["client"]
    r = c.post("/api/v1/verify", json={"payloads": [encode_payload(setup["creds"]["degree"])]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "valid"
    checks = body["credentials"][0]["checks"]
    assert [x["number"] for x in checks] == list(range(1, 11))
    assert body["chain"]["blockHash"].startswith("0x")


def test_verify_documents_against_profession(setup):
    c = setup["client"]
    docs = list(setup["creds"].values())
    r = c.post("/api/v1/verify", json={"documents": docs, "profession": "hk-dlt-expert"})
    body = r.json()
    assert body["verdict"] == "valid"
    assert body["profession"]["met"] is True
    assert {x["id"] for x in body["profession"]["criteria"]} == {
        "degree",
        "notable-firm-experience",
        "blockchain-in-finance",
    }
    assert body["checks"][0]["id"] == "same_applicant" and body["checks"][0]["status"] == "pass"


def test_verify_image_upload(setup):
    c = setup["client"]
    png = render_png(encode_payload(setup["creds"]["employment"]))
    r = c.post(
        "/api/v1/verify/image",
        files=[("files", ("emp.png", png, "image/png"))],
        data={"profession": "hk-fintech-professional"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "valid"
    assert body["credentials"][0]["source"] == "emp.png"
    assert body["profession"]["met"] is False  # one employment credential alone is not enough


def test_revoked_credential_is_invalid_with_reason(setup):
    v = setup["vchain"]
    uni = v.issuers["University of Hong Kong"]
    doc = issue(v, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    r = setup["client"].post("/api/v1/verify", json={"documents": [doc]})
    body = r.json()
    assert body["verdict"] == "invalid"
    status = next(x for x in body["credentials"][0]["checks"] if x["id"] == "credential_status")
    assert status["status"] == "fail" and "Revoked" in status["message"]


def test_challenge_is_single_use(setup):
    c = setup["client"]
    ch = c.post("/api/v1/challenges").json()
    assert ch["domain"] == "verifier.example.hk"
    vp = create_presentation(
        [setup["creds"]["degree"]],
        setup["holder"],
        challenge=ch["challenge"],
        domain=ch["domain"],
        created=datetime.now(UTC).replace(microsecond=0),
    )
    payload = encode_payload(vp)
    first = c.post(
        "/api/v1/verify", json={"payloads": [payload], "challenge": ch["challenge"]}
    ).json()
    assert first["verdict"] == "valid", first
    binding = next(
        x for x in first["credentials"][0]["checks"] if x["id"] == "presentation_binding"
    )
    assert binding["status"] == "pass"
    replay = c.post(
        "/api/v1/verify", json={"payloads": [payload], "challenge": ch["challenge"]}
    ).json()
    assert replay["verdict"] == "invalid"
    binding = next(
        x for x in replay["credentials"][0]["checks"] if x["id"] == "presentation_binding"
    )
    assert binding["status"] == "fail" and "already used" in binding["message"]


def test_professions_listed(setup):
    ids = [p["id"] for p in setup["client"].get("/api/v1/professions").json()]
    assert ids == ["hk-dlt-expert", "hk-fintech-professional"]


def test_unknown_profession_is_422(setup):
    r = setup["client"].post("/api/v1/verify", json={"payloads": ["x"], "profession": "astronaut"})
    assert r.status_code == 422 and "astronaut" in r.json()["detail"]


def test_empty_request_is_422(setup):
    assert setup["client"].post("/api/v1/verify", json={}).status_code == 422


def test_openapi_has_examples(setup):
    spec = setup["client"].get("/openapi.json").json()
    assert "/api/v1/verify" in spec["paths"] and "/api/v1/verify/image" in spec["paths"]
    assert spec["components"]["schemas"]["VerifyRequest"]["examples"]


def test_openapi_summaries_say_what_each_endpoint_does(setup):
    """The /docs page listed the officer's endpoints as FastAPI's names of their functions
    ('New Challenge', 'Verify', 'Verify Image', 'Evaluate', 'Professions'; seen in a screenshot
    from a clean clone)."""
    paths = setup["client"].get("/openapi.json").json()["paths"]
    for path, method, words in (
        ("/api/v1/challenges", "post", "single-use challenge"),
        ("/api/v1/verify", "post", "Verify one application"),
        ("/api/v1/verify/image", "post", "QR code pictures"),
        ("/api/v1/applications/evaluate", "post", "Talent List profession"),
        ("/api/v1/professions", "get", "Talent List professions"),
    ):
        assert words in paths[path][method]["summary"], (path, paths[path][method]["summary"])


def test_the_image_upload_form_fields_are_described_as_the_json_request_s(setup):
    spec = setup["client"].get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/api/v1/verify/image"]["post"]["requestBody"]["content"]
    ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    form, json_body = schemas[ref]["properties"], schemas["VerifyRequest"]["properties"]
    for field in ("profession", "asOf", "applicationDate", "idNumber", "idSalt", "challenge"):
        assert form[field].get("description"), field
        assert form[field]["description"] == json_body[field]["description"], field
    assert "today's date" in form["asOf"]["description"]


def test_page_and_health(setup):
    c = setup["client"]
    assert "TalentProof verifier" in c.get("/").text
    assert c.get("/static/app.js").status_code == 200
    h = c.get("/healthz").json()
    assert h["status"] == "ok" and h["chainId"] == setup["vchain"].deployment.chain_id


def test_evaluate_application_endpoint(setup):
    c = setup["client"]
    docs = list(setup["creds"].values())
    body = c.post(
        "/api/v1/applications/evaluate",
        json={"documents": docs, "profession": "hk-fintech-professional"},
    ).json()
    assert body["profession"]["profession"] == "hk-fintech-professional"
    crit = {x["id"]: x["met"] for x in body["profession"]["criteria"]}
    # the HKIB badge is aligned to the ECF-Fintech framework: it counts as the qualification
    assert crit == {"degree": True, "fintech-experience": True, "fintech-qualification": True}
    assert body["profession"]["met"] is True
    assert c.post("/api/v1/applications/evaluate", json={"documents": docs}).status_code == 422


def test_application_date_id_number_and_the_one_outcome(setup):
    """The API takes the application date and the travel document's number; the answer says the
    outcome, the person and both times (issue 11)."""
    from tests.chainkit import ID_NUMBER, ID_SALT, PERSON

    c = setup["client"]
    docs = list(setup["creds"].values())
    body = {
        "documents": docs,
        "profession": "hk-dlt-expert",
        "applicationDate": "2024-03-01",
        "idNumber": ID_NUMBER,
        "idSalt": ID_SALT,
    }
    r = c.post("/api/v1/applications/evaluate", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["outcome"]["code"] == "VALID_MEETS", data["outcome"]
    assert data["applicationDate"] == "2024-03-01" and data["asOf"].startswith(
        str(datetime.now(UTC).year)
    )
    assert data["profession"]["applicationDate"] == "2024-03-01"
    assert data["person"] == {
        "name": PERSON["name"],
        "birthDate": PERSON["birthDate"],
        "documentType": "HKID",
        "issuingCountry": "HK",
        "documentChecked": True,
        "documentMatches": True,
    }
    assert [x["id"] for x in data["checks"]] == ["same_applicant", "identity_document"]
    assert data["credentials"][1]["claims"]["employment"]["employer"]["name"] == "HSBC"
    assert data["credentials"][1]["issuerDid"] == "did:web:hsbc.com"
    wrong = c.post("/api/v1/verify", json={**body, "idNumber": "B765432(1)"}).json()
    assert wrong["outcome"]["code"] == "INVALID" and "check 12" in wrong["outcome"]["reason"]
    assert (
        wrong["person"]["documentChecked"] is True and wrong["person"]["documentMatches"] is False
    )
    # a profession not met: valid credentials, VALID_NOT_MET, never "valid" alone
    only_degree = c.post(
        "/api/v1/verify", json={"documents": docs[:1], "profession": "hk-dlt-expert"}
    ).json()
    assert only_degree["verdict"] == "valid" and only_degree["outcome"]["code"] == "VALID_NOT_MET"


def test_a_read_text_that_is_no_talentproof_payload_is_invalid_as_the_cli_says(setup, tmp_path):
    """A QR code holding readable text that is not a TalentProof payload (``TP9:...``, a format
    this verifier does not read) is INVALID, check 1 naming the prefix, not "could not be read":
    the service's report marks each credential ``unreadable`` as the CLI's heading decides it
    (`CredentialReport.unreadable`), so the page titles the card as the CLI does. A picture with
    no code at all is the unreadable one (NOT_VERIFIABLE)."""
    from PIL import Image
    from typer.testing import CliRunner

    from talentproof.cli import app as cli

    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    other = tmp_path / "tp9.png"
    other.write_bytes(render_png("TP9:HELLO WORLD"))
    record = tmp_path / "deployment.json"
    setup["vchain"].deployment.save(record)
    for path, outcome, unreadable, heading in (
        (other, "INVALID", False, "tp9.png: INVALID"),
        (blank, "NOT_VERIFIABLE", True, "blank.png: NOT VERIFIABLE (could not be read)"),
    ):
        files = [("files", (path.name, path.read_bytes(), "image/png"))]
        body = setup["client"].post("/api/v1/verify/image", files=files).json()
        assert body["outcome"]["code"] == outcome, body["outcome"]
        (credential,) = body["credentials"]
        assert credential["unreadable"] is unreadable, credential
        args = ["verify", str(path), "--deployment", str(record), "--rpc", setup["vchain"].rpc_url]
        said = CliRunner().invoke(cli, args).output
        assert f"\n{heading}\n" in said, said
