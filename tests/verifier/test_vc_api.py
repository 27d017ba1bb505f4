"""The W3C VC API on the verifier (issue 14, point 4): ``POST /credentials/verify`` and
``POST /presentations/verify`` answer the product's verdict as ``{verified, checks, warnings,
errors}`` (FastAPI TestClient, real Anvil)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue, sign_presentation

pytestmark = pytest.mark.integration

DOMAIN = "verifier.example.hk"
CREDENTIAL_CHECKS = [
    "parse",
    "schema",
    "proof",
    "merkle-inclusion",
    "anchor",
    "issuer-accreditation",
    "signing-key",
    "status",
    "expiration",
]


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("vcapi") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record), domain=DOMAIN))
    hk = holder()
    uni = vchain.issuers["University of Hong Kong"]
    creds = {
        "degree": issue(vchain, uni, DEGREE, hk.public_key.did_key),
        "employment": issue(
            vchain, vchain.issuers["HSBC"], EMPLOYMENT, hk.public_key.did_key, start="2012-01-01"
        ),
    }
    with TestClient(app) as client:
        yield {"client": client, "creds": creds, "holder": hk, "vchain": vchain, "record": record}


def _verify(client, doc, **options):  # type: ignore[no-untyped-def]
    return client.post(
        "/credentials/verify", json={"verifiableCredential": doc, "options": options}
    )


def test_an_anchored_credential_verifies(setup) -> None:
    r = _verify(setup["client"], setup["creds"]["degree"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "verified": True,
        "checks": CREDENTIAL_CHECKS,
        "warnings": [],
        "errors": [],
    }
    # options.checks is accepted and changes nothing (every check runs)
    again = _verify(setup["client"], setup["creds"]["degree"], checks=["proof"])
    assert again.status_code == 200 and again.json()["checks"] == CREDENTIAL_CHECKS


def test_an_altered_credential_does_not_verify(setup) -> None:
    doc = copy.deepcopy(setup["creds"]["degree"])
    doc["credentialSubject"]["degree"]["level"] = "doctorate"
    r = _verify(setup["client"], doc)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False and set(body) == {"verified", "checks", "warnings", "errors"}
    assert [e.split(":")[0] for e in body["errors"]] == ["proof", "merkle-inclusion"], body
    assert "proof" not in body["checks"] and "parse" in body["checks"]


def test_a_revoked_credential_does_not_verify(setup) -> None:
    v = setup["vchain"]
    uni = v.issuers["University of Hong Kong"]
    doc = issue(v, uni, DEGREE, holder().public_key.did_key)
    assert _verify(setup["client"], doc).status_code == 200
    uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    r = _verify(setup["client"], doc)
    assert r.status_code == 400
    body = r.json()
    assert body["verified"] is False
    assert [e.split(":")[0] for e in body["errors"]] == ["status"]
    assert "Revoked" in body["errors"][0]
    assert "status" not in body["checks"] and "anchor" in body["checks"]


def test_a_credential_not_anchored_yet_is_not_verified(setup) -> None:
    """The product calls a pending credential INVALID (check 4: no anchor proof): 400."""
    pending, anchor = split_anchor(setup["creds"]["degree"])
    assert anchor is not None
    r = _verify(setup["client"], pending)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False
    assert body["checks"] == ["parse", "schema", "proof", "expiration"]
    assert body["errors"] == [
        "merkle-inclusion: The credential carries no anchor proof, so it cannot be checked "
        "against the ledger. A credential fetched from the institution before its batch was "
        "anchored has none: fetch it again once anchored (GET /credentials/{id}, or its QR "
        "code, which answers 409 until then)."
    ]
    assert [w.split(":")[0] for w in body["warnings"]] == [
        "anchor",
        "issuer-accreditation",
        "signing-key",
        "status",
    ]


def test_unreadable_and_misdirected_documents(setup) -> None:
    c = setup["client"]
    r = _verify(c, {"hello": "world"})
    assert r.status_code == 400 and r.json()["verified"] is False and r.json()["errors"]
    vp = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiablePresentation"}
    r = _verify(c, vp)
    assert r.status_code == 400 and r.json() == {
        "verified": False,
        "checks": [],
        "warnings": [],
        "errors": ["parse: a VerifiablePresentation; verify it at POST /presentations/verify"],
    }


MALFORMED = "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"
PARSING = "https://www.w3.org/TR/vc-data-model#PARSING_ERROR"


def _malformed(r, *expected: str, problem: str = MALFORMED) -> str:  # type: ignore[no-untyped-def]
    """A 400 VerificationResult for a request that is not a VC API verify request: nothing
    verified, the one error naming the member and what was expected, also as ProblemDetails."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"verified", "checks", "warnings", "errors", "problemDetails"}, body
    assert body["verified"] is False and body["checks"] == [] and body["warnings"] == []
    (error,) = body["errors"]
    (details,) = body["problemDetails"]
    assert details == {"type": problem, "title": problem.rpartition("#")[2], "detail": error}
    for text in expected:
        assert text in error, (text, error)
    return str(error)


@pytest.mark.parametrize("path", ["/credentials/verify", "/presentations/verify"])
def test_a_body_that_is_not_json_is_a_400_problem(setup, path: str) -> None:
    c = setup["client"]
    member = "verifiableCredential" if path.startswith("/credentials") else "verifiablePresentation"
    json_type = {"Content-Type": "application/json"}
    r = c.post(path, content=b"{not json", headers=json_type)
    _malformed(r, "not JSON", member, problem=PARSING)
    r = c.post(path, content=b"", headers=json_type)
    _malformed(r, "empty", member)
    r = c.post(path, content=b"[1, 2]", headers=json_type)
    _malformed(r, "a JSON object", member)
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # curl -d without -H
    r = c.post(path, content=b"verifiableCredential=x", headers=form)
    _malformed(r, "Content-Type: application/json", member)


def test_a_malformed_credential_request_is_a_400_problem(setup) -> None:
    c = setup["client"]
    degree = setup["creds"]["degree"]
    error = _malformed(c.post("/credentials/verify", json={}), "verifiableCredential")
    assert "missing" in error and "JSON object" in error
    _malformed(
        c.post("/credentials/verify", json={"verifiableCredential": [], "options": {}}),
        "verifiableCredential",
        "a JSON object",
        "got an array",
    )
    _malformed(
        c.post("/credentials/verify", json={"verifiableCredential": "TP1:abc"}),
        "verifiableCredential",
        "got a string",
    )
    # a member the request does not have, named with the members it has
    _malformed(
        c.post("/credentials/verify", json={"verifiableCredential": degree, "x": 1}),
        "x:",
        "verifiableCredential",
        "options",
    )
    _malformed(
        c.post("/credentials/verify", json={"verifiableCredential": degree, "options": []}),
        "options",
        "a JSON object",
    )
    # a bare credential cannot be bound: the option is refused, pointing at presentations
    _malformed(_verify(c, degree, challenge="abc"), "options.challenge", "options.checks")
    _malformed(_verify(c, degree, checks="proof"), "options.checks", "list")


def test_a_malformed_presentation_request_is_a_400_problem(setup) -> None:
    c = setup["client"]
    error = _malformed(
        c.post("/presentations/verify", json={"verifiableCredential": {}}),
        "verifiablePresentation",
    )
    assert "missing" in error
    _malformed(
        c.post("/presentations/verify", json={"verifiablePresentation": 7}),
        "verifiablePresentation",
        "got a number",
    )
    vp = {"type": ["VerifiablePresentation"]}
    _malformed(_present(c, vp, challenge=12), "options.challenge", "string")
    _malformed(_present(c, vp, domain=None, nonce="n"), "options.nonce", "options.challenge")


def test_a_bare_credential_as_the_body_is_told_to_wrap_it(setup) -> None:
    """New-user trial: a credential posted as the body said only "verifiableCredential:
    missing"; it now says the body looks like a credential and shows the wrapper. Never
    verified in its place (nothing is checked: 400 with no checks)."""
    c = setup["client"]
    degree = setup["creds"]["degree"]
    error = _malformed(c.post("/credentials/verify", json=degree), "verifiableCredential")
    assert "looks like a credential" in error, error
    assert '{"verifiableCredential": <the credential>}' in error, error
    error = _malformed(c.post("/presentations/verify", json=degree), "verifiablePresentation")
    assert "looks like a credential" in error and "POST /credentials/verify" in error, error
    vp = _vp(setup, "c1", creds=[degree])
    error = _malformed(c.post("/presentations/verify", json=vp), "verifiablePresentation")
    assert '{"verifiablePresentation": <the presentation>}' in error, error
    # an unrelated body keeps the plain sentence: no guess of a credential
    error = _malformed(c.post("/credentials/verify", json={"x": 1}), "verifiableCredential")
    assert "looks like" not in error, error


def test_the_product_api_keeps_its_422_detail(setup) -> None:
    """Only the VC API routes answer a malformed body with a 400 problem."""
    r = setup["client"].post("/api/v1/verify", content=b"{not json")
    assert r.status_code == 422 and "detail" in r.json()


def _vp(setup, challenge: str | None, domain: str = DOMAIN, creds=None):  # type: ignore[no-untyped-def]
    return create_presentation(
        creds or [setup["creds"]["degree"], setup["creds"]["employment"]],
        setup["holder"],
        challenge=challenge,
        domain=domain,
        created=datetime.now(UTC).replace(microsecond=0),
    )


def _present(client, vp, **options):  # type: ignore[no-untyped-def]
    return client.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": options}
    )


def test_a_bound_presentation_verifies_once(setup) -> None:
    c = setup["client"]
    ch = c.post("/api/v1/challenges").json()
    vp = _vp(setup, ch["challenge"])
    r = _present(c, vp, challenge=ch["challenge"], domain=ch["domain"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "verified": True,
        "checks": [*CREDENTIAL_CHECKS, "holder-binding", "same-applicant"],
        "warnings": [],
        "errors": [],
    }
    replay = _present(c, vp, challenge=ch["challenge"], domain=ch["domain"])
    assert replay.status_code == 400
    errors = replay.json()["errors"]
    assert [e.split(" ")[0] for e in errors] == ["holder-binding", "holder-binding"]
    assert "already used" in errors[0] or "was not issued" in errors[0]


def test_a_presentation_for_another_challenge_or_holder_is_refused(setup) -> None:
    c = setup["client"]
    ch = c.post("/api/v1/challenges").json()
    wrong = _present(c, _vp(setup, "another-challenge"), challenge=ch["challenge"])
    assert wrong.status_code == 400 and wrong.json()["verified"] is False
    assert all(e.startswith("holder-binding") for e in wrong.json()["errors"])
    ch = c.post("/api/v1/challenges").json()
    thief = holder()  # signs the holder's credentials as its own presentation
    stolen = {k: v for k, v in _vp(setup, ch["challenge"]).items() if k != "proof"}
    stolen["holder"] = thief.public_key.did_key
    stolen = sign_presentation(
        stolen,
        thief,
        challenge=ch["challenge"],
        domain=DOMAIN,
    )
    other_key = _present(c, stolen, challenge=ch["challenge"], domain=DOMAIN)
    assert other_key.status_code == 400
    assert other_key.json()["errors"][0].startswith("holder-binding")
    ch = c.post("/api/v1/challenges").json()
    unknown = _present(c, _vp(setup, "not-issued"), challenge="not-issued")
    assert unknown.status_code == 400
    assert "was not issued by this verifier" in unknown.json()["errors"][0]
    other_domain = _present(
        c,
        _vp(setup, ch["challenge"], "evil.example"),
        challenge=ch["challenge"],
        domain="evil.example",
    )
    assert other_domain.status_code == 400 and other_domain.json()["verified"] is False
    assert other_domain.json()["errors"][0].startswith("holder-binding: options.domain")


def test_an_unbound_presentation_verifies_with_a_warning(setup) -> None:
    c = setup["client"]
    vp = _vp(setup, "whatever", creds=[setup["creds"]["degree"]])
    r = _present(c, vp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True and body["checks"] == CREDENTIAL_CHECKS
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith("holder-binding: no")
    tampered = copy.deepcopy(vp)
    tampered["holder"] = holder().public_key.did_key
    r = _present(c, tampered)
    assert r.status_code == 400 and r.json()["errors"][0].startswith("holder-binding")
    r = _present(c, setup["creds"]["degree"])  # a credential is not a presentation
    assert r.status_code == 400 and r.json()["errors"][0].startswith("parse: not a Verifiable")


def test_the_chain_down_is_503_never_verified(setup) -> None:
    app = create_app(
        ServiceSettings(rpc_url="http://127.0.0.1:9", trust=str(setup["record"]), domain=DOMAIN)
    )
    with TestClient(app) as client:
        r = _verify(client, setup["creds"]["degree"])
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    body = r.json()
    assert body["verified"] is False
    assert body["checks"] == ["parse", "schema", "proof", "merkle-inclusion", "expiration"]
    assert [e.split(":")[0] for e in body["errors"]] == [
        "anchor",
        "issuer-accreditation",
        "signing-key",
        "status",
    ]


def test_the_vc_api_is_in_the_openapi_document_with_examples(setup) -> None:
    doc = setup["client"].get("/openapi.json").json()
    for path, example in (
        ("/credentials/verify", "anchored-degree"),
        ("/presentations/verify", "bound"),
    ):
        op = doc["paths"][path]["post"]
        assert op["tags"] == ["VC API"]
        assert example in op["requestBody"]["content"]["application/json"]["examples"]
        assert {"200", "400", "503"} <= set(op["responses"])
        assert "422" not in op["responses"]  # a malformed request is a 400 problem
        assert op["responses"]["200"]["content"]["application/json"]["example"]["verified"]
