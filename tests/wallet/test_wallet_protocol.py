"""The protocol pieces of the wallet: offer URIs, the proof JWT, request objects, DCQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.credential.presentation import presentation_salt, verify_presentation
from talentproof.wallet.errors import BadUri, RequestNotSigned, VerifierRefused
from talentproof.wallet.oid4vci import (
    PRE_AUTHORIZED_GRANT,
    parse_offer,
    parse_offer_uri,
    proof_jwt,
    well_known_url,
)
from talentproof.wallet.oid4vp import (
    AuthorizationRequest,
    answer_warnings,
    claim_values,
    match_dcql,
    parse_request_uri,
    verify_request_object,
    vp_token,
)

from .wallet_helpers import issue

CI = "http://localhost:18000/institutions/hku"
HOLDER = Ed25519SigningKey.from_seed(bytes([9]) * 32)
VERIFIER = Ed25519SigningKey.from_seed(bytes([21]) * 32)
CLIENT_ID = "decentralized_identifier:" + VERIFIER.public_key.did_key


# --- offers -----------------------------------------------------------------------------------


def test_offer_uri_by_reference() -> None:
    url = f"{CI}/credential-offers/abc123"
    ref = parse_offer_uri(f"openid-credential-offer://?credential_offer_uri={quote(url, safe='')}")
    assert ref.uri == url and ref.offer is None


def test_offer_uri_by_value() -> None:
    offer = {
        "credential_issuer": CI,
        "credential_configuration_ids": ["DegreeCredential_ldp_vc"],
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "code-1"}},
    }
    ref = parse_offer_uri(
        "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer), safe="")
    )
    assert ref.offer == offer
    parsed = parse_offer(ref.offer)
    assert parsed.credential_issuer == CI
    assert parsed.configuration_ids == ("DegreeCredential_ldp_vc",)
    assert parsed.pre_authorized_code == "code-1" and parsed.tx_code is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "found nothing"),
        ("https://example.org/offer", "openid-credential-offer://"),
        ("openid4vp://?client_id=x&request_uri=y", "openid-credential-offer://"),
        ("openid-credential-offer://?foo=bar", "found neither parameter"),
        ("openid-credential-offer://?credential_offer_uri=ftp%3A%2F%2Fx", "an http(s) URL"),
        ("openid-credential-offer://?credential_offer=%7Bnot-json", "a JSON object"),
    ],
)
def test_bad_offer_uris_say_what_was_expected(text: str, says: str) -> None:
    with pytest.raises(BadUri, match="expected") as info:
        parse_offer_uri(text)
    assert says in str(info.value)


def test_offer_without_pre_authorized_grant_is_refused() -> None:
    with pytest.raises(BadUri, match="pre-authorized code grant"):
        parse_offer(
            {
                "credential_issuer": CI,
                "credential_configuration_ids": ["DegreeCredential_ldp_vc"],
                "grants": {"authorization_code": {}},
            }
        )


def test_well_known_segment_goes_between_host_and_path() -> None:
    assert (
        well_known_url(CI, "openid-credential-issuer")
        == "http://localhost:18000/.well-known/openid-credential-issuer/institutions/hku"
    )
    assert (
        well_known_url(CI + "/", "oauth-authorization-server")
        == "http://localhost:18000/.well-known/oauth-authorization-server/institutions/hku"
    )
    assert well_known_url("https://h.example", "x") == "https://h.example/.well-known/x"


def test_proof_jwt_header_and_claims() -> None:
    when = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    token = proof_jwt(HOLDER, audience=CI, nonce="n-1", issued_at=when)
    header = jwt.get_unverified_header(token)
    assert header == {
        "typ": "openid4vci-proof+jwt",
        "alg": "EdDSA",
        "kid": HOLDER.public_key.verification_method,
    }
    assert header["kid"].startswith("did:key:z6Mk") and "#z6Mk" in header["kid"]
    public = Ed25519PrivateKey.from_private_bytes(HOLDER.seed).public_key()
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience=CI)
    assert claims == {"aud": CI, "iat": int(when.timestamp()), "nonce": "n-1"}
    other = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["EdDSA"], audience=CI)


# --- request objects --------------------------------------------------------------------------

DCQL: dict[str, Any] = {
    "credentials": [
        {
            "id": "degree",
            "format": "ldp_vc",
            "meta": {"type_values": [["VerifiableCredential", "DegreeCredential"]]},
            "claims": [
                {"path": ["credentialSubject", "degree", "level"]},
                {"path": ["credentialSubject", "degree", "fieldOfStudy"]},
            ],
        },
        {
            "id": "employment",
            "format": "ldp_vc",
            "meta": {"type_values": [["VerifiableCredential", "EmploymentCredential"]]},
            "claims": [{"path": ["credentialSubject", "employment", "domains", None]}],
        },
        {
            "id": "training",
            "format": "ldp_vc",
            "meta": {"type_values": [["VerifiableCredential", "OpenBadgeCredential"]]},
            "claims": [{"path": ["credentialSubject", "achievement", "name"]}],
        },
    ],
    "credential_sets": [
        {"options": [["employment"]], "required": True},
        {"options": [["degree"], ["training"]], "required": True},
    ],
}


def _claims(**overrides: Any) -> dict[str, Any]:
    return {
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": "http://localhost:18001/oid4vp/responses/r1",
        "client_id": CLIENT_ID,
        "nonce": "nonce-1",
        "state": "state-1",
        "aud": "https://self-issued.me/v2",
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        "dcql_query": DCQL,
        **overrides,
    }


def _sign_request(
    claims: dict[str, Any], key: Ed25519SigningKey = VERIFIER, kid: str | None = None
) -> str:
    return jwt.encode(
        claims,
        Ed25519PrivateKey.from_private_bytes(key.seed),
        algorithm="EdDSA",
        headers={
            "typ": "oauth-authz-req+jwt",
            "kid": kid or VERIFIER.public_key.verification_method,
        },
    )


def test_request_uri_parsing() -> None:
    uri = (
        f"openid4vp://?client_id={quote(CLIENT_ID, safe='')}"
        f"&request_uri={quote('http://localhost:18001/oid4vp/requests/r1/request.jwt', safe='')}"
    )
    ref = parse_request_uri(uri)
    assert ref.client_id == CLIENT_ID
    assert ref.request_uri.endswith("/r1/request.jwt")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("openid-credential-offer://?credential_offer_uri=x", "openid4vp://"),
        ("openid4vp://?request_uri=http%3A%2F%2Fh%2Fr", "no client_id"),
        ("openid4vp://?client_id=x", "no request_uri"),
        (
            "openid4vp://?client_id=redirect_uri%3Ahttp%3A%2F%2Fh&request_uri=http%3A%2F%2Fh%2Fr",
            "decentralized_identifier:did:key",
        ),
        ("openid4vp://?dcql_query=%7B%7D&response_type=vp_token", "by reference"),
    ],
)
def test_bad_request_uris_say_what_was_expected(text: str, says: str) -> None:
    with pytest.raises(BadUri, match="expected") as info:
        parse_request_uri(text)
    assert says in str(info.value)


def test_request_object_signed_by_the_client_id_key_verifies() -> None:
    request = verify_request_object(_sign_request(_claims()), CLIENT_ID)
    assert request.nonce == "nonce-1" and request.state == "state-1"
    assert request.verifier_key == VERIFIER.public_key
    assert request.response_uri.endswith("/oid4vp/responses/r1")
    assert request.dcql_query == DCQL


def test_forged_request_object_is_refused() -> None:
    """Signed by another key, though its header and claims name the verifier's."""
    forger = Ed25519SigningKey.from_seed(bytes([66]) * 32)
    with pytest.raises(RequestNotSigned, match="does not verify with the key of the client_id"):
        verify_request_object(_sign_request(_claims(), key=forger), CLIENT_ID)


def test_request_object_signed_by_its_own_key_for_another_client_id_is_refused() -> None:
    """A forger's own valid signature, presented under the verifier's client_id."""
    forger = Ed25519SigningKey.from_seed(bytes([66]) * 32)
    token = _sign_request(_claims(), key=forger, kid=forger.public_key.verification_method)
    with pytest.raises(RequestNotSigned, match="expected a key of the client_id"):
        verify_request_object(token, CLIENT_ID)
    forged_id = "decentralized_identifier:" + forger.public_key.did_key
    with pytest.raises(RequestNotSigned, match="is not the QR code's"):
        verify_request_object(token, forged_id)


def test_altered_request_object_is_refused() -> None:
    header, payload, signature = _sign_request(_claims()).split(".")
    other = _sign_request(_claims(nonce="another")).split(".")[1]
    with pytest.raises(RequestNotSigned, match="does not verify"):
        verify_request_object(f"{header}.{other}.{signature}", CLIENT_ID)
    assert payload != other


def test_unsigned_request_object_is_refused() -> None:
    token = jwt.encode(_claims(), key=None, algorithm="none")  # type: ignore[arg-type]  # PyJWT's alg none takes no key
    with pytest.raises(RequestNotSigned, match="expected alg EdDSA"):
        verify_request_object(token, CLIENT_ID)
    with pytest.raises(RequestNotSigned, match="expected a signed JWT"):
        verify_request_object("not a jwt", CLIENT_ID)


def test_expired_request_object_says_so() -> None:
    token = _sign_request(_claims(exp=int(time.time()) - 600))
    with pytest.raises(VerifierRefused, match="expired"):
        verify_request_object(token, CLIENT_ID)


def test_request_object_for_another_flow_is_refused() -> None:
    with pytest.raises(RequestNotSigned, match="expected response_mode direct_post"):
        verify_request_object(_sign_request(_claims(response_mode="fragment")), CLIENT_ID)


# --- DCQL -------------------------------------------------------------------------------------


def test_claim_paths() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}}
    assert claim_values(doc, ["a", "b", None, "c"]) == [1, 2]
    assert claim_values(doc, ["a", "b", 2, "d"]) == [3]
    assert claim_values(doc, ["a", "x"]) == []
    assert claim_values(doc, ["a", "b", 7]) == []


def test_dcql_picks_credentials_per_query_and_set() -> None:
    me = HOLDER.public_key.did_key
    deg, emp, badge = issue("degree", me), issue("employment", me), issue("training", me)
    match = match_dcql(DCQL, [badge, emp, deg], holder=me)
    assert match.missing == []
    assert match.chosen == {"employment": [emp], "degree": [deg]}  # the first option of the set
    assert match.requested["degree"] == [
        ["credentialSubject", "degree", "level"],
        ["credentialSubject", "degree", "fieldOfStudy"],
    ]
    # without a degree, the training alternative satisfies the second set
    match = match_dcql(DCQL, [badge, emp], holder=me)
    assert match.missing == [] and match.chosen == {"employment": [emp], "training": [badge]}


def test_dcql_reports_what_is_missing() -> None:
    me = HOLDER.public_key.did_key
    match = match_dcql(DCQL, [issue("degree", me)], holder=me)
    assert match.missing == ["employment"]
    match = match_dcql(DCQL, [issue("employment", me)], holder=me)
    assert match.missing == ["degree or training"]


def test_dcql_takes_only_the_holders_credentials_and_checks_values() -> None:
    me = HOLDER.public_key.did_key
    someone = Ed25519SigningKey.from_seed(bytes([3]) * 32).public_key.did_key
    query = {
        "credentials": [
            {
                "id": "degree",
                "format": "ldp_vc",
                "meta": {"type_values": [["VerifiableCredential", "DegreeCredential"]]},
                "claims": [
                    {"path": ["credentialSubject", "degree", "level"], "values": ["doctorate"]}
                ],
            }
        ]
    }
    assert match_dcql(query, [issue("degree", someone)], holder=me).missing == ["degree"]
    assert match_dcql(query, [issue("degree", me)], holder=me).missing == ["degree"]
    phd = issue("degree", me, level="doctorate")
    assert match_dcql(query, [issue("degree", me), phd], holder=me).chosen == {"degree": [phd]}
    assert match_dcql(
        {"credentials": [{**query["credentials"][0], "format": "jwt_vc_json"}]}, [phd], holder=me
    ).missing == ["degree"]


def test_vp_token_is_one_bound_presentation_per_query() -> None:
    me = HOLDER.public_key.did_key
    deg, emp = issue("degree", me), issue("employment", me)
    request = AuthorizationRequest(
        client_id=CLIENT_ID,
        verifier_key=Ed25519PublicKey.from_did_key(VERIFIER.public_key.did_key),
        nonce="nonce-1",
        state="state-1",
        response_uri="http://localhost:18001/oid4vp/responses/r1",
        dcql_query=DCQL,
        claims={},
    )
    salt = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    token = vp_token(
        {"degree": [deg], "employment": [emp]},
        HOLDER,
        request=request,
        salt=salt,
        created=datetime.now(UTC),
    )
    assert set(token) == {"degree", "employment"}
    for qid, cred in (("degree", deg), ("employment", emp)):
        (vp,) = token[qid]
        assert verify_presentation(vp, challenge="nonce-1", domain=CLIENT_ID) == [cred]
        assert presentation_salt(vp) == salt
        assert vp["holder"] == me


@pytest.mark.parametrize(
    ("request_uri", "response_uri", "warned"),
    [
        ("https://verifier.example/oid4vp/requests/r", "https://verifier.example/oid4vp/x", []),
        ("http://127.0.0.1:8001/oid4vp/requests/r", "http://127.0.0.1:8001/oid4vp/x", []),
        (
            "https://verifier.example/oid4vp/requests/r",
            "https://collector.example/oid4vp/x",
            ["the answers go to collector.example, not to verifier.example"],
        ),
        (
            "http://127.0.0.1:8001/oid4vp/requests/r",
            "http://127.0.0.1:9999/oid4vp/x",
            ["the answers go to 127.0.0.1:9999, not to 127.0.0.1:8001"],
        ),
        (
            "http://verifier.example/oid4vp/requests/r",
            "http://verifier.example/oid4vp/x",
            ["unencrypted (http://verifier.example)"],
        ),
    ],
)
def test_the_holder_is_warned_where_the_answers_go(
    request_uri: str, response_uri: str, warned: list[str]
) -> None:
    """A signed request names its own response URI: the wallet says so when it is not the host
    the request came from, or not encrypted off this computer (and `present --yes` then sends
    nothing)."""
    warnings = answer_warnings(request_uri, response_uri)
    assert len(warnings) == len(warned), warnings
    for warning, says in zip(warnings, warned, strict=True):
        assert says in warning
