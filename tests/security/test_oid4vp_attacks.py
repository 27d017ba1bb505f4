"""Attacks on OpenID4VP presentation to the verifier service (issue 15.2) by a holder, one
accredited issuer key or someone who sees the officer's QR code, on a real Anvil chain.

What must hold (docs/threat-model.md, "OpenID4VC attack review"): the verdict on the
officer's page is the engine's over the credentials the holder proved, never something the
wallet's DCQL answer shapes; a credential counts only when its issuer is accredited for its
type and names itself; a duplicated credential counts once; a key nobody holds binds nothing;
the wallet's handle (in the QR code) never reads the verdict; a presentation's text is read
as strictly as any other input (duplicate keys refused).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential import integrity
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, EMPLOYMENT, ID_SALT, anchor_batch, build, holder, issue
from tests.verifier.test_oid4vp import answer, new_request, post, resolve

pytestmark = pytest.mark.integration

IDENTITY_POINT = bytes([1]) + bytes(31)
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet), as multibase ``z`` writes a proofValue."""
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("oid4vp-attacks") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url,
            trust=str(record),
            domain="verifier.example.hk",
            limits=VerifierLimits(oid4vp_requests_per_client=100),
        )
    )
    with TestClient(app) as client:
        yield {"client": client, "chain": vchain}


def vp(cred: dict[str, Any], key: Ed25519SigningKey, p: dict[str, Any]) -> dict[str, Any]:
    return create_presentation(
        [cred] if isinstance(cred, dict) else cred,
        key,
        challenge=p["nonce"],
        domain=p["client_id"],
        created=datetime.now(UTC).replace(microsecond=0),
        identity_document_salt=ID_SALT,
    )


def verdict(c: TestClient, created: dict[str, Any]) -> dict[str, Any]:
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "answered", polled
    return polled


def refused(c: TestClient, created: dict[str, Any], r: Any, words: str) -> None:
    assert r.status_code == 400, r.text
    assert words in r.json()["error_description"], r.json()
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "pending" and polled["outcome"] is None


def test_attack_degree_issuer_mints_an_employment_at_a_notable_firm(setup):
    """One accredited degree key (the university's) signs and anchors an EmploymentCredential
    naming HSBC, for an applicant whose real degree and training are valid: the wallet's answer
    satisfies the DCQL query, but the verdict is INVALID (type not accredited), never MEETS."""
    c, chain = setup["client"], setup["chain"]
    uni = chain.issuers["University of Hong Kong"]
    key = holder()
    s = key.public_key.did_key
    degree = issue(chain, uni, DEGREE, s)
    forged = issue(chain, uni, EMPLOYMENT, s, employer="HSBC", start="2012-01-01")
    training = issue(chain, chain.issuers["HKIB"], "OpenBadgeCredential", s)
    created = new_request(c)
    _, p = resolve(c, created)
    r = post(c, p, answer(p, {"degree": degree, "employment": forged, "training": training}, key))
    assert r.status_code == 200, r.text
    polled = verdict(c, created)
    assert polled["outcome"]["code"] == "INVALID", polled["outcome"]
    checks = {
        (x["id"], x["status"])
        for cr in polled["report"]["credentials"]
        for x in cr["checks"]
        if cr["kind"] == EMPLOYMENT
    }
    assert ("issuer_accreditation", "fail") in checks, checks
    assert not polled["report"]["profession"]["met"]


def test_attack_one_employment_presented_three_times_counts_once(setup):
    """Four years at HSBC (the profession asks five), presented three times (twice in one
    presentation, once more in another): still four years, VALID_NOT_MET."""
    c, chain = setup["client"], setup["chain"]
    key = holder()
    s = key.public_key.did_key
    degree = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s)
    job = issue(chain, chain.issuers["HSBC"], EMPLOYMENT, s, start="2023-01-01")
    created = new_request(c, applicationDate="2026-12-01")
    _, p = resolve(c, created)
    token = {
        "degree": [vp(degree, key, p)],
        "employment": [vp([job, job], key, p), vp(job, key, p)],
    }
    r = post(c, p, {"vp_token": json.dumps(token), "state": p["state"]})
    assert r.status_code == 200, r.text
    polled = verdict(c, created)
    assert polled["outcome"]["code"] == "VALID_NOT_MET", polled["outcome"]
    firm = next(
        x
        for x in polled["report"]["profession"]["criteria"]
        if x["id"] == "notable-firm-experience"
    )
    assert not firm["met"] and "only 3.9 years" in firm["reason"], firm


def test_attack_credential_bound_to_a_key_nobody_holds_is_not_presentable(setup):
    """A credential issued to the did:key of the Ed25519 identity point (small order), whose
    universal signature (R = identity, S = 0) OpenSSL accepts for every message: anyone holding
    a copy could sign its presentations. The holder proof is refused (libsodium's check)."""
    c, chain = setup["client"], setup["chain"]
    nobody = Ed25519PublicKey.from_raw(IDENTITY_POINT)
    degree = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, nobody.did_key)
    created = new_request(c)
    _, p = resolve(c, created)
    made = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://talentproof.org/contexts/v1"],
        "type": ["VerifiablePresentation"],
        "holder": nobody.did_key,
        "verifiableCredential": [degree],
        "identityDocumentSalt": ID_SALT,
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verificationMethod": nobody.verification_method,
            "proofPurpose": "authentication",
            "challenge": p["nonce"],
            "domain": p["client_id"],
            "proofValue": "z" + b58encode(IDENTITY_POINT + bytes(32)),
        },
    }
    form = {"vp_token": json.dumps({"degree": [made]}), "state": p["state"]}
    refused(c, created, post(c, p, form), "the holder's proof does not verify")


def test_attack_the_wallets_handle_does_not_read_the_verdict(setup):
    """Whoever photographs the QR code has the request's ``ref``; only the officer's ``id``
    reads the verdict and the report (the applicant's personal data)."""
    c = setup["client"]
    created = new_request(c)
    _, p = resolve(c, created)
    ref = p["response_uri"].rsplit("/", 1)[1]
    assert ref != created["id"]
    assert c.get(f"/oid4vp/requests/{ref}").status_code == 404
    assert c.get(f"/oid4vp/requests/{ref}/qr.png").status_code == 404
    # and the officer's id is not a response URI
    r = c.post(f"/oid4vp/responses/{created['id']}", data={"state": p["state"]})
    assert r.status_code == 404


def test_attack_presentation_text_with_a_duplicate_key_is_refused(setup):
    """A presentation sent as JSON text whose ``holder`` appears twice: another parser would
    read the first one. Refused as every other input with a duplicate key is."""
    c, chain = setup["client"], setup["chain"]
    key = holder()
    degree = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, key.public_key.did_key)
    created = new_request(c)
    _, p = resolve(c, created)
    text = json.dumps(vp(degree, key, p))
    assert text.startswith("{")
    doubled = '{"holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", ' + text[1:]
    form = {"vp_token": json.dumps({"degree": [doubled]}), "state": p["state"]}
    refused(c, created, post(c, p, form), "duplicate key")


def test_attack_host_header_does_not_choose_where_wallets_send_their_answers(setup):
    """Anyone may ask for a request (no authentication). With a forged ``Host`` header the
    verifier signed a request object whose ``response_uri`` (and ``request_uri``) pointed at the
    attacker's host: shown to an applicant, the genuine signature and client_id sent their
    credentials and identity-document salt there. The URIs are the service's own address (or
    its configured public URL), never the Host header."""
    c = setup["client"]
    r = c.post(
        "/oid4vp/requests", json={"profession": "hk-dlt-expert"}, headers={"Host": "evil.example"}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert "evil.example" not in created["authorizationRequest"], created
    assert "evil.example" not in created["requestUri"] + created["qr"], created
    _, p = resolve(c, created)
    assert p["response_uri"].startswith("http://testserver/oid4vp/responses/"), p


def test_attack_borrowed_employment_under_the_holders_key_is_invalid(setup):
    """A friend's employment at HSBC issued to the applicant's own key (the holder binding
    holds: every credential is about the presenting key) but naming the friend: check 11."""
    c, chain = setup["client"], setup["chain"]
    key = holder()
    s = key.public_key.did_key
    degree = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s)
    friend = {"name": "WONG Siu Ming", "birthDate": "1985-02-03"}
    job = issue(chain, chain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01", person=friend)
    training = issue(chain, chain.issuers["HKIB"], "OpenBadgeCredential", s)
    created = new_request(c)
    _, p = resolve(c, created)
    r = post(c, p, answer(p, {"degree": degree, "employment": job, "training": training}, key))
    assert r.status_code == 200, r.text
    polled = verdict(c, created)
    assert polled["outcome"]["code"] == "INVALID", polled["outcome"]
    assert (
        "same applicant" in polled["outcome"]["reason"]
        or "different people" in (polled["outcome"]["reason"])
    ), polled["outcome"]


def test_attack_key_id_naming_another_institution_is_credited_to_the_signer(setup):
    """The university signs a degree whose verification method names HSBC's DID
    (``did:web:hsbc.com#<the university's key>``): the key is the university's, registered to
    it, so the credential is the university's and is credited to it, never to HSBC."""
    c, chain = setup["client"], setup["chain"]
    uni, hsbc = chain.issuers["University of Hong Kong"], chain.issuers["HSBC"]
    key = holder()
    doc = build(DEGREE, uni.did, key.public_key.did_key, institution=uni.name)
    signed = integrity.sign(
        doc,
        uni.key,
        verification_method=f"{hsbc.did}#{uni.key.public_key.multibase}",
        created=datetime.now(UTC).replace(microsecond=0),
    )
    (degree,) = anchor_batch([signed], uni.client, chain.deployment)
    created = new_request(c)
    _, p = resolve(c, created)
    r = post(c, p, answer(p, {"degree": degree}, key))
    assert r.status_code == 200, r.text
    report = verdict(c, created)["report"]
    (cred,) = report["credentials"]
    assert cred["issuerDid"] == uni.did and cred["issuerName"] == uni.name, cred
    criterion = next(x for x in report["profession"]["criteria"] if x["id"] == "degree")
    assert (
        criterion["met"]
        and uni.did in criterion["reason"]
        and hsbc.did not in str(report["profession"])
    )
