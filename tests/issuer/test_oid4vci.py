"""OpenID4VCI 1.0 issuance, pre-authorized code flow (issue 15 point 1, docs/openid4vc.md): the
metadata, the offer (validated as POST /credentials), the token, nonce, credential and deferred
credential endpoints end to end on Anvil (the anchored credential passes TalentProof's
verifier), and every refusal with the protocol's error code: a replayed pre-authorized code, a
wrong transaction code (five kill the offer), an expired offer, a used, unknown or expired
c_nonce, a proof for another key or with a bad signature, audience, type or age, a missing,
unknown or expired token. Offers, tokens, nonces and transactions live in the database (a
restart keeps them; PostgreSQL too), and no secret is stored in clear."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text, update

from talentproof.credential import integrity
from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer.app import create_app
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import Oid4vciNonce, Oid4vciOffer, Oid4vciToken
from talentproof.issuer.settings import IssuerSettings

from .issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def offer_request(name: str = "MSc Financial Technology") -> dict[str, Any]:
    """A degree offer: `degree_request` without the subject's id."""
    body = degree_request(name)
    del body["credentialSubject"]["id"]
    return body


class Holder:
    """A wallet's Ed25519 key making OpenID4VCI key proofs (PyJWT, EdDSA)."""

    def __init__(self, seed_byte: int = 9) -> None:
        seed = bytes([seed_byte]) * 32
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = Ed25519SigningKey.from_seed(seed).public_key
        self.did = self.public.did_key

    def proof(
        self,
        audience: str,
        nonce: str | None,
        *,
        typ: str = "openid4vci-proof+jwt",
        kid: str | None = None,
        jwk: bool = False,
        iat: float | None = None,
        signer: Ed25519PrivateKey | None = None,
    ) -> str:
        header: dict[str, Any] = {"typ": typ}
        if jwk:
            x = base64.urlsafe_b64encode(self.public.raw).rstrip(b"=").decode()
            header["jwk"] = {"kty": "OKP", "crv": "Ed25519", "x": x}
        else:
            header["kid"] = kid or self.public.verification_method
        payload: dict[str, Any] = {"aud": audience, "iat": int(iat or time.time())}
        if nonce is not None:
            payload["nonce"] = nonce
        return jwt.encode(payload, signer or self.private, algorithm="EdDSA", headers=header)


def ci_path(offer: dict[str, Any]) -> str:
    """The path of the offer's Credential Issuer on the test client."""
    return urlsplit(offer["credentialOffer"]["credential_issuer"]).path


def make_offer(client: TestClient, token: str, body: dict[str, Any] | None = None) -> Any:
    r = client.post("/credential-offers", headers=bearer(token), json=body or offer_request())
    assert r.status_code == 201, r.text
    return r.json()


def redeem(client: TestClient, offer: dict[str, Any], tx_code: str | None = None) -> Any:
    grant = offer["credentialOffer"]["grants"][PRE_AUTH]
    return client.post(
        f"{ci_path(offer)}/token",
        data={
            "grant_type": PRE_AUTH,
            "pre-authorized_code": grant["pre-authorized_code"],
            "tx_code": offer["txCode"] if tx_code is None else tx_code,
        },
    )


def c_nonce(client: TestClient, offer: dict[str, Any]) -> str:
    r = client.post(f"{ci_path(offer)}/nonce")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
    return str(r.json()["c_nonce"])


def request_credential(
    client: TestClient,
    offer: dict[str, Any],
    access_token: str,
    proof: str,
    configuration: str | None = None,
) -> Any:
    return client.post(
        f"{ci_path(offer)}/credential",
        headers=bearer(access_token),
        json={
            "credential_configuration_id": configuration
            or offer["credentialOffer"]["credential_configuration_ids"][0],
            "proofs": {"jwt": [proof]},
        },
    )


def oauth_error(r: Any, status: int, error: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error, body
    assert r.headers["cache-control"] == "no-store"
    return str(body["error_description"])


@pytest.fixture
def institution(client: TestClient) -> dict[str, Any]:
    return onboard(client)


@pytest.fixture
def api_key(institution: dict[str, Any]) -> str:
    return str(institution["api_key"]["token"])


# -- metadata ---------------------------------------------------------------------------------


def test_metadata_per_institution(client: TestClient, institution: dict[str, Any]) -> None:
    slug = institution["slug"]
    ci = f"http://localhost:8000/institutions/{slug}"
    meta = client.get(f"/.well-known/openid-credential-issuer/institutions/{slug}").json()
    assert meta["credential_issuer"] == ci
    assert meta["credential_endpoint"] == f"{ci}/credential"
    assert meta["nonce_endpoint"] == f"{ci}/nonce"
    assert meta["deferred_credential_endpoint"] == f"{ci}/deferred_credential"
    assert meta["display"] == [{"name": "University of Testing"}]
    configs = meta["credential_configurations_supported"]
    assert set(configs) == {"DegreeCredential_ldp_vc", "EmploymentCredential_ldp_vc"}
    degree = configs["DegreeCredential_ldp_vc"]
    assert degree["format"] == "ldp_vc"
    assert degree["credential_definition"]["type"] == ["VerifiableCredential", "DegreeCredential"]
    assert degree["credential_definition"]["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert degree["cryptographic_binding_methods_supported"] == ["did:key"]
    assert degree["credential_signing_alg_values_supported"] == ["eddsa-jcs-2022"]
    assert degree["proof_types_supported"] == {
        "jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}
    }
    server = client.get(f"/.well-known/oauth-authorization-server/institutions/{slug}").json()
    assert server["issuer"] == ci and server["token_endpoint"] == f"{ci}/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert server["grant_types_supported"] == [PRE_AUTH]
    missing = client.get("/.well-known/openid-credential-issuer/institutions/nobody")
    assert missing.status_code == 404


def test_wallet_endpoints_answer_cors_for_any_origin(
    client: TestClient, institution: dict[str, Any]
) -> None:
    slug = institution["slug"]
    origin = {"Origin": "http://127.0.0.1:9999"}
    meta = client.get(f"/.well-known/openid-credential-issuer/institutions/{slug}", headers=origin)
    assert meta.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in meta.headers
    preflight = client.options(
        f"/institutions/{slug}/credential",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    refused = client.post(f"/institutions/{slug}/credential", headers=origin, json={})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    assert "WWW-Authenticate" in refused.headers["access-control-expose-headers"]
    # the public documents the browser wallet checks credentials with: did:web and status lists
    did_doc = client.get(f"/institutions/{slug}/did.json", headers=origin)
    assert did_doc.status_code == 200 and did_doc.headers["access-control-allow-origin"] == "*"
    listed = client.get(f"/institutions/{slug}/status/revocation", headers=origin)
    assert listed.headers["access-control-allow-origin"] == "*", listed.text
    # the institution's own API is not opened to other origins
    other = client.get("/credentials", headers=origin)
    assert "access-control-allow-origin" not in other.headers


# -- the offer --------------------------------------------------------------------------------


def test_offer_is_validated_as_post_credentials(client: TestClient, api_key: str) -> None:
    with_id = degree_request()
    r = client.post("/credential-offers", headers=bearer(api_key), json=with_id)
    assert r.status_code == 422 and r.json()["field"] == "credentialSubject.id", r.text
    bad = offer_request()
    bad["credentialSubject"]["degree"]["level"] = "kindergarten"
    r = client.post("/credential-offers", headers=bearer(api_key), json=bad)
    assert r.status_code == 422 and r.json()["field"] == "credentialSubject.degree.level"
    future = offer_request()
    future["credentialSubject"]["degree"]["awardDate"] = "2999-01-01"
    r = client.post("/credential-offers", headers=bearer(api_key), json=future)
    assert r.status_code == 422 and "awardDate" in r.json()["field"], r.text
    other_institution = offer_request()
    other_institution["credentialSubject"]["degree"]["institution"] = {"name": "Another U"}
    r = client.post("/credential-offers", headers=bearer(api_key), json=other_institution)
    assert r.status_code == 422 and r.json()["field"].endswith("institution.name"), r.text
    badge = {"type": "OpenBadgeCredential", "credentialSubject": {}}
    r = client.post("/credential-offers", headers=bearer(api_key), json=badge)
    assert r.status_code == 403 and r.json()["error"] == "not_accredited"
    assert client.post("/credential-offers", json=offer_request()).status_code == 401


def test_offer_uri_tx_code_and_qr(client: TestClient, api_key: str) -> None:
    made = client.post("/credential-offers", headers=bearer(api_key), json=offer_request())
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    offer = made.json()
    assert len(offer["txCode"]) == 6 and offer["txCode"].isdigit()
    assert made.headers["location"] == f"{ci_path(offer)}/credential-offers/{offer['id']}"
    uri = urlsplit(offer["credentialOfferUri"])
    assert uri.scheme == "openid-credential-offer"
    (by_reference,) = parse_qs(uri.query)["credential_offer_uri"]
    ci = offer["credentialOffer"]["credential_issuer"]
    assert by_reference == f"{ci}/credential-offers/{offer['id']}"
    served = client.get(urlsplit(by_reference).path)
    assert served.status_code == 200 and served.json() == offer["credentialOffer"]
    grant = served.json()["grants"][PRE_AUTH]
    assert grant["tx_code"] == {
        "input_mode": "numeric",
        "length": 6,
        "description": grant["tx_code"]["description"],
    }
    assert served.json()["credential_configuration_ids"] == ["DegreeCredential_ldp_vc"]
    qr = client.get(offer["qr"])
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG")
    assert client.get("/credential-offers/nope/qr.png").status_code == 404


# -- end to end ---------------------------------------------------------------------------------


def test_pre_authorized_flow_end_to_end_anchored_and_verified(
    client: TestClient, service: Any, api_key: str, issuer_chain: dict[str, Any]
) -> None:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.report import Verdict
    from talentproof.verifier.trust import TrustedDeployment

    holder = Holder()
    offer = make_offer(client, api_key)
    ci = offer["credentialOffer"]["credential_issuer"]
    token = redeem(client, offer)
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    access = token.json()
    assert access["token_type"] == "Bearer" and access["expires_in"] == 600
    r = request_credential(
        client, offer, access["access_token"], holder.proof(ci, c_nonce(client, offer))
    )
    assert r.status_code == 202, r.text
    transaction = r.json()
    assert set(transaction) == {"transaction_id", "interval"} and transaction["interval"] >= 1
    deferred = f"{ci_path(offer)}/deferred_credential"
    headers = bearer(access["access_token"])
    pending = client.post(deferred, headers=headers, json={"transaction_id": "other"})
    oauth_error(pending, 400, "invalid_transaction_id")
    waiting = client.post(deferred, headers=headers, json=transaction)
    assert waiting.status_code == 202 and waiting.json() == transaction
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    done = client.post(deferred, headers=headers, json=transaction)
    assert done.status_code == 200, done.text
    (entry,) = done.json()["credentials"]
    anchored = entry["credential"]
    signed, anchor = split_anchor(anchored)
    assert anchor is not None
    subject = anchored["credentialSubject"]
    assert subject["id"] == holder.did
    assert subject["degree"]["fieldOfStudy"] == "MSc Financial Technology"
    integrity.verify(signed)
    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    report = Verifier(
        RegistryReader(issuer_chain["rpc_url"], trust.registry), trust
    ).verify_document(anchored)
    assert report.verdict == Verdict.VALID, report
    # the same credential the institution reads through its own API
    own = client.get(f"/credentials/{anchored['id']}", headers=bearer(api_key)).json()
    assert own == anchored
    # no secret in clear in the database
    grant = offer["credentialOffer"]["grants"][PRE_AUTH]
    secrets_given = [grant["pre-authorized_code"], access["access_token"], offer["txCode"]]
    with service.engine.connect() as conn:
        for table in ("oid4vci_offers", "oid4vci_tokens", "oid4vci_transactions"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                cells = repr(tuple(row)) + " ".join(c.hex() for c in row if isinstance(c, bytes))
                for secret in secrets_given:
                    assert secret not in cells, (table, secret)


def test_proof_by_jwk_header_binds_that_key(client: TestClient, api_key: str) -> None:
    holder = Holder(21)
    offer = make_offer(client, api_key)
    ci = offer["credentialOffer"]["credential_issuer"]
    access = redeem(client, offer).json()["access_token"]
    r = request_credential(
        client, offer, access, holder.proof(ci, c_nonce(client, offer), jwk=True)
    )
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    done = client.post(
        f"{ci_path(offer)}/deferred_credential", headers=bearer(access), json=r.json()
    )
    assert done.json()["credentials"][0]["credential"]["credentialSubject"]["id"] == holder.did


# -- refusals: token endpoint ------------------------------------------------------------------


def test_a_replayed_pre_authorized_code_is_refused(client: TestClient, api_key: str) -> None:
    offer = make_offer(client, api_key)
    assert redeem(client, offer).status_code == 200
    assert "already used" in oauth_error(redeem(client, offer), 400, "invalid_grant")


def test_five_wrong_tx_codes_kill_the_offer(client: TestClient, api_key: str) -> None:
    offer = make_offer(client, api_key)
    wrong = f"{(int(offer['txCode']) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        description = oauth_error(redeem(client, offer, wrong), 400, "invalid_grant")
        assert f"{left} attempts left" in description
    assert "dead" in oauth_error(redeem(client, offer, wrong), 400, "invalid_grant")
    # the right code no longer helps
    assert "dead" in oauth_error(redeem(client, offer), 400, "invalid_grant")


def test_token_request_errors(client: TestClient, api_key: str, service: Any) -> None:
    offer = make_offer(client, api_key)
    token_url = f"{ci_path(offer)}/token"
    code = offer["credentialOffer"]["grants"][PRE_AUTH]["pre-authorized_code"]
    r = client.post(token_url, data={"grant_type": "authorization_code", "code": "x"})
    oauth_error(r, 400, "unsupported_grant_type")
    oauth_error(client.post(token_url, data={"grant_type": PRE_AUTH}), 400, "invalid_request")
    r = client.post(token_url, data={"grant_type": PRE_AUTH, "pre-authorized_code": code})
    assert "tx_code" in oauth_error(r, 400, "invalid_request")
    r = client.post(token_url, json={"grant_type": PRE_AUTH, "pre-authorized_code": code})
    oauth_error(r, 400, "invalid_request")
    r = client.post(
        token_url,
        data={"grant_type": PRE_AUTH, "pre-authorized_code": "guess", "tx_code": "000000"},
    )
    assert "unknown" in oauth_error(r, 400, "invalid_grant")
    # the code at another institution's token endpoint is unknown there
    other = onboard(client)["slug"]
    r = client.post(
        f"/institutions/{other}/token",
        data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": offer["txCode"]},
    )
    oauth_error(r, 400, "invalid_grant")
    # an expired offer
    with service.engine.begin() as conn:
        conn.execute(
            update(Oid4vciOffer).where(Oid4vciOffer.id == offer["id"]).values(expires_unix=1)
        )
    assert "expired" in oauth_error(redeem(client, offer), 400, "invalid_grant")


# -- refusals: credential endpoint ------------------------------------------------------------


@pytest.fixture
def redeemed(client: TestClient, api_key: str) -> dict[str, Any]:
    offer = make_offer(client, api_key)
    offer["access_token"] = redeem(client, offer).json()["access_token"]
    offer["ci"] = offer["credentialOffer"]["credential_issuer"]
    return offer


def test_nonce_is_single_use_and_expires(
    client: TestClient, redeemed: dict[str, Any], service: Any
) -> None:
    holder, ci, access = Holder(), redeemed["ci"], redeemed["access_token"]
    r = request_credential(client, redeemed, access, holder.proof(ci, "never-issued"))
    oauth_error(r, 400, "invalid_nonce")
    stale = c_nonce(client, redeemed)
    with service.engine.begin() as conn:
        conn.execute(update(Oid4vciNonce).where(Oid4vciNonce.nonce == stale).values(expires_unix=1))
    r = request_credential(client, redeemed, access, holder.proof(ci, stale))
    oauth_error(r, 400, "invalid_nonce")
    used = c_nonce(client, redeemed)
    assert request_credential(client, redeemed, access, holder.proof(ci, used)).status_code == 202


def test_a_used_nonce_is_refused(client: TestClient, api_key: str) -> None:
    holder = Holder()
    first, second = make_offer(client, api_key), make_offer(client, api_key)
    ci = first["credentialOffer"]["credential_issuer"]
    nonce = c_nonce(client, first)
    a = redeem(client, first).json()["access_token"]
    b = redeem(client, second).json()["access_token"]
    assert request_credential(client, first, a, holder.proof(ci, nonce)).status_code == 202
    r = request_credential(client, second, b, holder.proof(ci, nonce))
    assert "used" in oauth_error(r, 400, "invalid_nonce")


@pytest.mark.parametrize(
    "case",
    [
        "signed by another key",
        "kid of another key",
        "wrong audience",
        "wrong typ",
        "stale iat",
        "no nonce",
        "not a JWT",
        "HS256",
    ],
)
def test_bad_proofs_are_refused(client: TestClient, redeemed: dict[str, Any], case: str) -> None:
    holder, other, ci = Holder(), Holder(33), redeemed["ci"]
    nonce = c_nonce(client, redeemed)
    proof = {
        "signed by another key": lambda: holder.proof(ci, nonce, signer=other.private),
        "kid of another key": lambda: holder.proof(ci, nonce, kid=other.public.verification_method),
        "wrong audience": lambda: holder.proof("http://localhost:8000/institutions/x", nonce),
        "wrong typ": lambda: holder.proof(ci, nonce, typ="JWT"),
        "stale iat": lambda: holder.proof(ci, nonce, iat=time.time() - 3600),
        "no nonce": lambda: holder.proof(ci, None),
        "not a JWT": lambda: "not-a-jwt",
        "HS256": lambda: jwt.encode(
            {"aud": ci, "iat": int(time.time()), "nonce": nonce},
            "k" * 32,
            algorithm="HS256",
            headers={"typ": "openid4vci-proof+jwt", "kid": holder.public.verification_method},
        ),
    }[case]()
    r = request_credential(client, redeemed, redeemed["access_token"], proof)
    oauth_error(r, 400, "invalid_proof")
    # the nonce of a refused proof is not spent by it: a good proof still goes through
    good = holder.proof(ci, nonce)
    assert request_credential(client, redeemed, redeemed["access_token"], good).status_code == 202


def test_credential_request_errors(client: TestClient, redeemed: dict[str, Any]) -> None:
    holder, ci, access = Holder(), redeemed["ci"], redeemed["access_token"]
    url = f"{ci_path(redeemed)}/credential"
    proof = holder.proof(ci, c_nonce(client, redeemed))
    r = request_credential(client, redeemed, access, proof, "EmploymentCredential_ldp_vc")
    oauth_error(r, 400, "unknown_credential_configuration")
    r = client.post(url, headers=bearer(access), json={"credential_configuration_id": "x"})
    oauth_error(r, 400, "unknown_credential_configuration")
    r = client.post(
        url,
        headers=bearer(access),
        json={"credential_configuration_id": "DegreeCredential_ldp_vc", "proofs": {"jwt": []}},
    )
    oauth_error(r, 400, "invalid_credential_request")
    r = client.post(
        url,
        headers=bearer(access),
        content=b"{",
    )
    oauth_error(r, 400, "invalid_credential_request")
    # tokens: missing, unknown, expired
    for headers in ({}, bearer("tpoat_unknown"), bearer("tpk_x_y")):
        r = client.post(url, headers=headers, json={})
        oauth_error(r, 401, "invalid_token")
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # the token at another institution's credential endpoint
    other = onboard(client)["slug"]
    r = client.post(f"/institutions/{other}/credential", headers=bearer(access), json={})
    oauth_error(r, 401, "invalid_token")
    # one credential per token
    assert request_credential(client, redeemed, access, proof).status_code == 202
    again = request_credential(
        client, redeemed, access, holder.proof(ci, c_nonce(client, redeemed))
    )
    assert "already redeemed" in oauth_error(again, 400, "invalid_credential_request")


def test_a_suspended_institution_or_revoked_key_issues_nothing(
    client: TestClient, institution: dict[str, Any], api_key: str
) -> None:
    slug, holder = institution["slug"], Holder()
    offers = [make_offer(client, api_key) for _ in range(2)]
    tokens = [redeem(client, o).json()["access_token"] for o in offers]
    key_id = institution["api_key"]["id"]
    r = client.post(
        f"/operator/institutions/{slug}/api-keys/{key_id}/revoke", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    proof = holder.proof(
        offers[0]["credentialOffer"]["credential_issuer"], c_nonce(client, offers[0])
    )
    r = request_credential(client, offers[0], tokens[0], proof)
    assert "revoked" in oauth_error(r, 400, "credential_request_denied")
    r = client.post(
        f"/operator/institutions/{slug}/status",
        headers=operator_headers(),
        json={"status": "suspended"},
    )
    assert r.status_code == 200, r.text
    proof = holder.proof(
        offers[1]["credentialOffer"]["credential_issuer"], c_nonce(client, offers[1])
    )
    r = request_credential(client, offers[1], tokens[1], proof)
    assert "suspended" in oauth_error(r, 400, "credential_request_denied")


def test_an_expired_access_token_is_refused(
    client: TestClient, redeemed: dict[str, Any], service: Any
) -> None:
    with service.engine.begin() as conn:
        conn.execute(update(Oid4vciToken).values(expires_unix=1))
    proof = Holder().proof(redeemed["ci"], c_nonce(client, redeemed))
    r = request_credential(client, redeemed, redeemed["access_token"], proof)
    assert "expired" in oauth_error(r, 401, "invalid_token")


# -- persistence --------------------------------------------------------------------------------


def test_offers_tokens_and_nonces_survive_a_restart(make_service: Any) -> None:
    first = make_service()
    with TestClient(create_app(first, run_worker=False)) as client:
        key = onboard(client)["api_key"]["token"]
        offer = make_offer(client, key)
        access = redeem(client, offer).json()["access_token"]
        nonce = c_nonce(client, offer)
    first.close()
    again = make_service()
    with TestClient(create_app(again, run_worker=False)) as client:
        ci = offer["credentialOffer"]["credential_issuer"]
        served = client.get(urlsplit(ci).path + f"/credential-offers/{offer['id']}")
        assert served.json() == offer["credentialOffer"]
        r = request_credential(client, offer, access, Holder().proof(ci, nonce))
        assert r.status_code == 202, r.text
        oauth_error(redeem(client, offer), 400, "invalid_grant")


def test_the_flow_on_postgresql(make_service: Any, pg_url: str) -> None:
    service = make_service(database_url=pg_url)
    with TestClient(create_app(service, run_worker=False)) as client:
        key = onboard(client)["api_key"]["token"]
        offer = make_offer(client, key)
        ci = offer["credentialOffer"]["credential_issuer"]
        oauth_error(
            redeem(client, offer, "000000" if offer["txCode"] != "000000" else "1"),
            400,
            "invalid_grant",
        )
        access = redeem(client, offer).json()["access_token"]
        oauth_error(redeem(client, offer), 400, "invalid_grant")
        nonce = c_nonce(client, offer)
        r = request_credential(client, offer, access, Holder().proof(ci, nonce))
        assert r.status_code == 202, r.text
        client.app.state.worker.drain(30)  # type: ignore[attr-defined]
        done = client.post(
            f"{ci_path(offer)}/deferred_credential", headers=bearer(access), json=r.json()
        )
        assert done.status_code == 200, done.text
        assert split_anchor(done.json()["credentials"][0]["credential"])[1] is not None


# -- bulk jobs with offers -------------------------------------------------------------------


def test_a_bulk_job_with_offers_makes_one_offer_per_row(
    client: TestClient, service: Any, api_key: str
) -> None:
    subject = offer_request()["credentialSubject"]
    with_id = {**subject, "id": Holder().did}
    bad_level = json.loads(json.dumps(subject))
    bad_level["degree"]["level"] = "kindergarten"
    rows = [subject, with_id, {"credentialSubject": subject, "name": "Degree"}, bad_level]
    content = "\n".join(json.dumps(r) for r in rows) + "\n{not json\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(api_key),
        files={"file": ("rows.jsonl", content.encode(), "application/octet-stream")},
        data={"type": "DegreeCredential", "offers": "true"},
    )
    assert r.status_code == 202 and r.json()["offers"] is True, r.text
    job = r.json()["id"]
    BulkRunner(service, processes=1).run_pending()
    status = client.get(f"/bulk-jobs/{job}", headers=bearer(api_key)).json()
    assert status["state"] == "done" and status["offers"] is True, status
    assert (status["succeeded"], status["failed"]) == (2, 3), status
    errors = [
        json.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job}/errors", headers=bearer(api_key)
        ).text.splitlines()
    ]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "credentialSubject.id"),
        (4, "credentialSubject.degree.level"),
        (5, ""),
    ], errors
    results = [
        json.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job}/results", headers=bearer(api_key)
        ).text.splitlines()
    ]
    assert [r["row"] for r in results] == [1, 3]
    assert all(r["status"] == "offered" and len(r["txCode"]) == 6 for r in results)
    # each row's offer works end to end, with the row's claims
    first = results[0]
    (reference,) = parse_qs(urlsplit(first["credentialOfferUri"]).query)["credential_offer_uri"]
    offer = {
        "credentialOffer": client.get(urlsplit(reference).path).json(),
        "txCode": first["txCode"],
    }
    ci = offer["credentialOffer"]["credential_issuer"]
    # the address the institution sends with each code (the wallet's --issuer): the offer's own
    assert all(r["credentialIssuer"] == ci for r in results), results
    access = redeem(client, offer).json()["access_token"]
    holder = Holder(44)
    r = request_credential(client, offer, access, holder.proof(ci, c_nonce(client, offer)))
    assert r.status_code == 202, r.text
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    done = client.post(
        f"{ci_path(offer)}/deferred_credential", headers=bearer(access), json=r.json()
    )
    credential = done.json()["credentials"][0]["credential"]
    assert credential["credentialSubject"]["id"] == holder.did
    assert credential["credentialSubject"]["name"] == subject["name"]
    again = client.get(f"/bulk-jobs/{job}/results", headers=bearer(api_key)).text.splitlines()
    assert json.loads(again[0])["status"] == "issued"
    assert json.loads(again[0])["txCode"] == first["txCode"]


def test_a_csv_offers_job_with_name_for_the_subject_s_name_names_the_columns(
    client: TestClient, service: Any, api_key: str
) -> None:
    """The offers path of a CSV job says what the signing path says (`csv_missing_hint`): a
    ``name`` column for the person's name is the credential's, and the row's error names the
    CSV's columns and ``credentialSubject.name``."""

    def cells(obj: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for k, v in obj.items():
            out += cells(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, str(v))]
        return out

    columns, values = zip(*cells(offer_request()["credentialSubject"]), strict=True)
    assert columns[0] == "name" and all("," not in v for v in values)
    content = ",".join(columns) + "\n" + ",".join(values) + "\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(api_key),
        files={"file": ("rows.csv", content.encode(), "text/csv")},
        data={"type": "DegreeCredential", "offers": "true"},
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    BulkRunner(service, processes=1).run_pending()
    (error,) = [
        json.loads(line)
        for line in client.get(
            f"/bulk-jobs/{job}/errors", headers=bearer(api_key)
        ).text.splitlines()
    ]
    assert error["field"] == "credentialSubject.name", error
    assert "no column credentialSubject.name" in error["message"], error
    assert f"(its columns: {', '.join(columns)})" in error["message"], error


def _bulk_offer_expiries(client: TestClient, service: Any, api_key: str) -> list[float]:
    """Run a bulk job with offers of two rows; each row's offer expiry (UNIX seconds)."""
    subject = offer_request()["credentialSubject"]
    content = f"{json.dumps(subject)}\n{json.dumps(subject)}\n"
    r = client.post(
        "/bulk-jobs",
        headers=bearer(api_key),
        files={"file": ("rows.jsonl", content.encode(), "application/octet-stream")},
        data={"type": "DegreeCredential", "offers": "true"},
    )
    assert r.status_code == 202, r.text
    BulkRunner(service, processes=1).run_pending()
    lines = client.get(f"/bulk-jobs/{r.json()['id']}/results", headers=bearer(api_key)).text
    results = [json.loads(line) for line in lines.splitlines()]
    assert [x["status"] for x in results] == ["offered", "offered"], results
    return [_unix(x["expiresAt"]) for x in results]


def _unix(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_bulk_offers_last_longer_than_single_ones_and_both_are_settings(
    make_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An institution mailing offers to hundreds of applicants needs them to live for days:
    a bulk job's offers last TALENTPROOF_ISSUER_OID4VCI_BULK_OFFER_TTL_S (14 days by default),
    an offer made on its own ..._OID4VCI_OFFER_TTL_S (15 minutes). The expiry the results give
    is the offer's stored one, which the token endpoint checks."""
    monkeypatch.setenv("TALENTPROOF_ISSUER_OID4VCI_BULK_OFFER_TTL_S", "259200")
    monkeypatch.setenv("TALENTPROOF_ISSUER_OID4VCI_OFFER_TTL_S", "600")
    from_env = IssuerSettings()
    assert (from_env.oid4vci_bulk_offer_ttl_s, from_env.oid4vci_offer_ttl_s) == (259200, 600)
    monkeypatch.delenv("TALENTPROOF_ISSUER_OID4VCI_BULK_OFFER_TTL_S")
    monkeypatch.delenv("TALENTPROOF_ISSUER_OID4VCI_OFFER_TTL_S")
    defaults = IssuerSettings()
    assert (defaults.oid4vci_bulk_offer_ttl_s, defaults.oid4vci_offer_ttl_s) == (14 * 86400, 900)
    monkeypatch.setenv("TALENTPROOF_ISSUER_OID4VCI_BULK_OFFER_TTL_S", "0")
    with pytest.raises(ValidationError, match="oid4vci_bulk_offer_ttl_s"):
        IssuerSettings()
    monkeypatch.delenv("TALENTPROOF_ISSUER_OID4VCI_BULK_OFFER_TTL_S")

    for overrides, bulk_ttl in (
        ({}, 14 * 86400),
        ({"oid4vci_bulk_offer_ttl_s": 3 * 86400}, 3 * 86400),
    ):
        service = make_service(**overrides)
        with TestClient(create_app(service, run_worker=False)) as client:
            key = onboard(client)["api_key"]["token"]
            before = int(time.time())
            single = _unix(make_offer(client, key)["expiresAt"])
            expiries = _bulk_offer_expiries(client, service, key)
            after = int(time.time())
            assert before + 900 <= single <= after + 900
            for expiry in expiries:
                assert before + bulk_ttl <= expiry <= after + bulk_ttl, (expiry, bulk_ttl)
        service.close()


# -- withdrawing one offer --------------------------------------------------------------------


def test_one_offer_is_withdrawn_alone(
    client: TestClient, institution: dict[str, Any], api_key: str
) -> None:
    """An institution withdraws one pending offer (an applicant's letter gone astray, a wrong
    name): its pre-authorized code and transaction code redeem nothing after, and its offer
    object and QR code are gone; its other offers are untouched. Revoking the API key (which
    stopped every offer it made) was the only way before."""
    slug = institution["slug"]
    offer, other = make_offer(client, api_key), make_offer(client, api_key)
    r = client.post(f"/credential-offers/{offer['id']}/withdraw", headers=bearer(api_key))
    assert r.status_code == 200, r.text
    assert r.json() == {"id": offer["id"], "status": "withdrawn"}
    assert "withdrawn" in oauth_error(redeem(client, offer), 400, "invalid_grant")
    assert client.get(f"{ci_path(offer)}/credential-offers/{offer['id']}").status_code == 404
    assert client.get(f"/credential-offers/{offer['id']}/qr.png").status_code == 404
    # withdrawing it again says the same; the other offer is redeemed as before
    r = client.post(f"/credential-offers/{offer['id']}/withdraw", headers=bearer(api_key))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    assert redeem(client, other).status_code == 200
    # a redeemed offer is the wallet's already: revoke its credential instead
    r = client.post(f"/credential-offers/{other['id']}/withdraw", headers=bearer(api_key))
    assert r.status_code == 409 and "revoke" in r.text, r.text
    # authenticated as the other issuing endpoints: no key, a read key, another institution
    third = make_offer(client, api_key)
    path = f"/credential-offers/{third['id']}/withdraw"
    assert client.post(path).status_code == 401
    read = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["read"]},
    )
    assert read.status_code == 201, read.text
    assert client.post(path, headers=bearer(read.json()["token"])).status_code == 403
    stranger = onboard(client)
    r = client.post(path, headers=bearer(stranger["api_key"]["token"]))
    assert r.status_code == 404, r.text
    assert (
        client.post("/credential-offers/nothing/withdraw", headers=bearer(api_key)).status_code
        == 404
    )
    assert redeem(client, third).status_code == 200
