"""Red-team pass over the verifier service's presentation surfaces (real Anvil): the W3C VC API's
``/presentations/verify`` and the OpenID4VP response endpoint.

- **A domain the relying party names is compared.** ``options.domain`` without a challenge was
  compared with the verifier's own domain only, never with the presentation's proof: a holder's
  presentation made for another verifier (``domain: evil.example``) answered ``verified: true``
  to a relying party asking for its own domain. Now such a presentation is refused naming both
  domains (with a challenge the engine compares the domain, as before).
- **What a response writes on the officer's page is bounded.** A refused response is noted on
  the request for the officer's page; its text held whatever the sender wrote (the wallet's
  ``error_description``, a proof's purpose or challenge quoted in the reason), at any length the
  body limit allows: anyone who photographed the QR code could put a page of their own words
  (or megabytes, ten per request) under "Refused a response". Each note is now cut to
  `oid4vp.MAX_REFUSAL_CHARS`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.oid4vp import MAX_REFUSAL_CHARS
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, ID_SALT, holder, issue, sign_presentation
from tests.verifier.test_oid4vp import new_request, post, resolve

pytestmark = pytest.mark.integration

DOMAIN = "verifier.example.hk"


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("vp-surfaces") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url,
            trust=str(record),
            domain=DOMAIN,
            limits=VerifierLimits(oid4vp_requests_per_client=50),
        )
    )
    key = holder()
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, key.public_key.did_key
    )
    with TestClient(app) as client:
        yield {"client": client, "key": key, "degree": degree}


def _vp(setup: dict[str, Any], *, challenge: str, domain: str | list[str]) -> dict[str, Any]:
    if isinstance(domain, list):
        doc = create_presentation(
            [setup["degree"]],
            setup["key"],
            challenge=challenge,
            domain="x",
            created=datetime.now(UTC).replace(microsecond=0),
        )
        doc.pop("proof")
        return sign_presentation(doc, setup["key"], challenge=challenge, domain=domain)  # type: ignore[arg-type]
    return create_presentation(
        [setup["degree"]],
        setup["key"],
        challenge=challenge,
        domain=domain,
        created=datetime.now(UTC).replace(microsecond=0),
        identity_document_salt=ID_SALT,
    )


def test_attack_vc_api_domain_option_without_a_challenge_is_compared(setup):
    c = setup["client"]
    elsewhere = _vp(setup, challenge="another-verifiers-nonce", domain="evil.example")
    r = c.post(
        "/presentations/verify",
        json={"verifiablePresentation": elsewhere, "options": {"domain": DOMAIN}},
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False, body
    assert body["errors"][0].startswith("holder-binding"), body
    assert "'evil.example'" in body["errors"][0] and DOMAIN in body["errors"][0], body
    # a proof naming a list of domains, this verifier's among them, is taken (as the engine
    # takes it with a challenge)
    r = c.post(
        "/presentations/verify",
        json={
            "verifiablePresentation": _vp(setup, challenge="n", domain=["evil.example", DOMAIN]),
            "options": {"domain": DOMAIN},
        },
    )
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    # made for this verifier's domain: verified, with the warning that nothing binds it
    mine = _vp(setup, challenge="some-nonce", domain=DOMAIN)
    r = c.post(
        "/presentations/verify",
        json={"verifiablePresentation": mine, "options": {"domain": DOMAIN}},
    )
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    assert r.json()["warnings"][0].startswith("holder-binding: no options.challenge"), r.json()


def test_attack_a_refused_response_writes_a_bounded_note(setup):
    c = setup["client"]
    created = new_request(c)
    _, p = resolve(c, created)
    words = "VALID_MEETS: the applicant meets the profession, accept. " * 2000
    r = post(c, p, {"state": p["state"], "error": "access_denied", "error_description": words})
    assert r.status_code == 400, r.text
    # a proof purpose of the sender's choosing, quoted in the reason
    vp = sign_presentation(
        {k: v for k, v in _vp(setup, challenge=p["nonce"], domain=p["client_id"]).items()
         if k != "proof"},
        setup["key"],
        challenge=p["nonce"],
        domain=p["client_id"],
    )  # fmt: skip
    vp["proof"]["proofPurpose"] = "x" * 100_000
    r = post(c, p, {"state": p["state"], "vp_token": json.dumps({"degree": [vp]})})
    assert r.status_code == 400, r.text
    assert len(r.json()["error_description"]) <= MAX_REFUSAL_CHARS, len(r.text)
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "pending", polled
    notes = [x["error_description"] for x in polled["refusals"]]
    assert len(notes) == 2, notes
    assert all(len(n) <= MAX_REFUSAL_CHARS for n in notes), [len(n) for n in notes]
    assert notes[0].startswith("the wallet answered access_denied: VALID_MEETS"), notes[0][:80]
    assert notes[0].endswith("…"), notes[0][-20:]


def test_attack_answers_the_request_did_not_ask_for(setup, vchain):
    """What a wallet sends beside or instead of what the query asks is never left out of the
    verdict: an answer under a query id the request does not have is refused; an application
    larger than the limit (counted in credentials, not presentations) is refused whole and the
    request stays open; a revoked credential sent beside the ones asked for makes the
    application INVALID, it is not passed over."""
    c, key = setup["client"], setup["key"]
    created = new_request(c)
    _, p = resolve(c, created)

    def vp(creds: list[dict[str, Any]]) -> dict[str, Any]:
        return create_presentation(
            creds,
            key,
            challenge=p["nonce"],
            domain=p["client_id"],
            created=datetime.now(UTC).replace(microsecond=0),
            identity_document_salt=ID_SALT,
        )

    degree = setup["degree"]
    r = post(c, p, {"state": p["state"], "vp_token": json.dumps({"passport": [vp([degree])]})})
    assert r.status_code == 400 and "'passport' is not a credential query" in r.text, r.text
    # 17 credentials in two presentations (the limit counts credentials)
    token = {"degree": [vp([degree] * 9)], "employment": [vp([degree] * 8)]}
    r = post(c, p, {"state": p["state"], "vp_token": json.dumps(token)})
    assert r.status_code == 400 and "limit" in r.json()["error_description"], r.text
    assert c.get(f"/oid4vp/requests/{created['id']}").json()["state"] == "pending"
    # a revoked degree beside the valid one
    uni = vchain.issuers["University of Hong Kong"]
    revoked = issue(vchain, uni, DEGREE, key.public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    r = post(
        c, p, {"state": p["state"], "vp_token": json.dumps({"degree": [vp([degree, revoked])]})}
    )
    assert r.status_code == 200, r.text
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "answered" and polled["outcome"]["code"] == "INVALID", polled
