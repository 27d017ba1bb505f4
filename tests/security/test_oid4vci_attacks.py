"""Attacks on OpenID4VCI issuance (issue 15.1) by a wallet, a network attacker or one
institution's API key, on the real issuer service and Anvil (tests/issuer's fixtures).

- A key proof "signed" by a key nobody holds: the Ed25519 identity point (small order), for
  which one signature (R = identity, S = 0) verifies for every message under OpenSSL's check.
  A wallet must not get a credential bound to a key it does not hold.
- One institution's offer redeemed or served at another institution's endpoints, or its access
  token used there.
- A bulk offer row carrying what ``POST /credential-offers`` refuses (a member it does not take,
  a subject id): refused at the row, never an offer that fails when the wallet redeems it.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey
from talentproof.issuer.bulk import BulkRunner
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, onboard
from tests.issuer.test_oid4vci import (
    PRE_AUTH,
    Holder,
    c_nonce,
    ci_path,
    make_offer,
    oauth_error,
    offer_request,
    redeem,
    request_credential,
)

pytestmark = pytest.mark.integration

#: The Ed25519 identity point (0, 1): of order 1, so [k]A is the identity for every k.
IDENTITY_POINT = bytes([1]) + bytes(31)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def universal_proof(audience: str, nonce: str, *, jwk: bool) -> str:
    """A key proof for the identity point's did:key, with the signature R = identity, S = 0:
    [S]B = R + [k]A holds whatever the message, so no private key was needed to make it."""
    key = Ed25519PublicKey.from_raw(IDENTITY_POINT)
    header: dict[str, Any] = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA"}
    if jwk:
        header["jwk"] = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(IDENTITY_POINT)}
    else:
        header["kid"] = key.verification_method
    payload = {"aud": audience, "iat": int(time.time()), "nonce": nonce}
    signing_input = (
        _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(payload).encode())
    )
    return signing_input + "." + _b64url(IDENTITY_POINT + bytes(32))


def test_universal_signature_really_verifies_under_openssl() -> None:
    """The premise of the attack: OpenSSL's Ed25519 check (PyJWT's) accepts it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey as Crypto

    Crypto.from_public_bytes(IDENTITY_POINT).verify(IDENTITY_POINT + bytes(32), b"any message")


@pytest.mark.parametrize("jwk", [False, True], ids=["kid", "jwk"])
def test_attack_key_proof_by_a_small_order_key_is_refused(client: TestClient, jwk: bool) -> None:
    api_key = onboard(client)["api_key"]["token"]
    offer = make_offer(client, api_key)
    ci = offer["credentialOffer"]["credential_issuer"]
    access = redeem(client, offer).json()["access_token"]
    nonce = c_nonce(client, offer)
    r = request_credential(client, offer, access, universal_proof(ci, nonce, jwk=jwk))
    why = oauth_error(r, 400, "invalid_proof")
    assert "small order" in why or "does not verify" in why, why
    # the refused proof spent nothing: the real holder still gets the credential
    holder = Holder(61)
    r = request_credential(client, offer, access, holder.proof(ci, nonce))
    assert r.status_code == 202, r.text


def test_attack_one_institutions_offer_at_another_institutions_endpoints(
    client: TestClient,
) -> None:
    """An offer, its code and its access token work at the institution that made them only."""
    a = onboard(client, name="University of Testing")
    b = onboard(client, name="Other College")
    offer = make_offer(client, a["api_key"]["token"])
    grant = offer["credentialOffer"]["grants"][PRE_AUTH]
    other = f"/institutions/{b['slug']}"
    # the offer object is not served under the other institution
    assert client.get(f"{other}/credential-offers/{offer['id']}").status_code == 404
    # the pre-authorized code at the other institution's token endpoint
    r = client.post(
        f"{other}/token",
        data={
            "grant_type": PRE_AUTH,
            "pre-authorized_code": grant["pre-authorized_code"],
            "tx_code": offer["txCode"],
        },
    )
    oauth_error(r, 400, "invalid_grant")
    # (the failed attempt spent nothing) the access token at the other credential endpoint,
    # with a proof for the other institution's audience
    access = redeem(client, offer).json()["access_token"]
    holder = Holder(62)
    other_ci = offer["credentialOffer"]["credential_issuer"].replace(a["slug"], b["slug"])
    r = client.post(
        f"{other}/credential",
        headers=bearer(access),
        json={
            "credential_configuration_id": "DegreeCredential_ldp_vc",
            "proofs": {"jwt": [holder.proof(other_ci, c_nonce(client, offer))]},
        },
    )
    oauth_error(r, 401, "invalid_token")
    # a proof made for the other institution's audience at the right endpoint
    ci = offer["credentialOffer"]["credential_issuer"]
    r = request_credential(client, offer, access, holder.proof(other_ci, c_nonce(client, offer)))
    oauth_error(r, 400, "invalid_proof")
    # the credential comes out in the offering institution's name only
    r = request_credential(client, offer, access, holder.proof(ci, c_nonce(client, offer)))
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    done = client.post(
        f"{ci_path(offer)}/deferred_credential", headers=bearer(access), json=r.json()
    )
    credential = done.json()["credentials"][0]["credential"]
    assert credential["issuer"]["name"] == "University of Testing"
    assert credential["issuer"]["id"] == a["did"], (credential["issuer"], a)


def test_attack_offer_of_a_type_the_institution_is_not_accredited_for(
    client: TestClient,
) -> None:
    """A degree-only institution offers an employment, single and in bulk: refused."""
    key = onboard(client, types=["DegreeCredential"])["api_key"]["token"]
    employment = {
        "type": "EmploymentCredential",
        "credentialSubject": offer_request()["credentialSubject"],
    }
    r = client.post("/credential-offers", headers=bearer(key), json=employment)
    assert r.status_code == 403 and r.json()["error"] == "not_accredited", r.text
    content = json.dumps(offer_request()["credentialSubject"]).encode() + b"\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(key),
        files={"file": ("rows.jsonl", content, "application/octet-stream")},
        data={"type": "EmploymentCredential", "offers": "true"},
    )
    assert r.status_code == 403 and r.json()["error"] == "not_accredited", r.text


def test_attack_bulk_offer_row_with_a_member_post_credential_offers_refuses(
    client: TestClient, service: Any
) -> None:
    """A bulk offers row is refused at its row for what ``POST /credential-offers`` refuses
    (an ``issuer`` member, an unknown one, a subject id), so that no offer is made that the
    wallet's credential request would then fail on (a server error, its nonce spent)."""
    key = onboard(client)["api_key"]["token"]
    subject = offer_request()["credentialSubject"]
    single = client.post(
        "/credential-offers",
        headers=bearer(key),
        json={"type": "DegreeCredential", "credentialSubject": subject, "issuer": "did:web:x"},
    )
    assert single.status_code == 422, single.text
    rows = [
        {"credentialSubject": subject, "issuer": "did:web:evil.example"},
        {"credentialSubject": subject, "proof": {}},
        {"credentialSubject": subject, "validFrom": 1700000000},
        {"credentialSubject": subject},
    ]
    content = "\n".join(json.dumps(r) for r in rows).encode() + b"\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(key),
        files={"file": ("rows.jsonl", content, "application/octet-stream")},
        data={"type": "DegreeCredential", "offers": "true"},
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    BulkRunner(service, processes=1).run_pending()
    errors = [
        json.loads(line)
        for line in client.get(f"/bulk-jobs/{job}/errors", headers=bearer(key)).text.splitlines()
    ]
    assert [e["row"] for e in errors] == [1, 2, 3], errors
    assert [e["field"] for e in errors] == ["issuer", "proof", "validFrom"], errors
    results = [
        json.loads(line)
        for line in client.get(f"/bulk-jobs/{job}/results", headers=bearer(key)).text.splitlines()
    ]
    assert [x["row"] for x in results] == [4]
    # the row that was offered is redeemed end to end
    (reference,) = parse_qs(urlsplit(results[0]["credentialOfferUri"]).query)[
        "credential_offer_uri"
    ]
    offer = {
        "credentialOffer": client.get(urlsplit(reference).path).json(),
        "txCode": results[0]["txCode"],
    }
    access = redeem(client, offer).json()["access_token"]
    ci = offer["credentialOffer"]["credential_issuer"]
    r = request_credential(client, offer, access, Holder(63).proof(ci, c_nonce(client, offer)))
    assert r.status_code == 202, r.text
