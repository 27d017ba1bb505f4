"""A wallet's key proof with claims outside what OpenID4VCI 1.0 appendix F.1 allows (real issuer
service, Anvil; tests/issuer's fixtures).

PyJWT parses the payload with Python's ``json``, which reads ``NaN``, ``Infinity`` and ``1e400``
(infinity) as numbers, and the issuer skipped PyJWT's own ``iat`` check (it bounds the skew
itself):

- ``"iat": NaN`` passed the freshness check (``abs(now - NaN) > 300`` is false): a proof dated
  no time at all was accepted (202, a credential issued);
- ``"iat": Infinity`` or ``1e400`` raised ``OverflowError`` while the refusal's message was
  written, and an integer beyond a float (10**400) while the skew was computed: HTTP 500
  instead of ``invalid_proof``;
- ``"aud": [the issuer, another issuer]`` was accepted (PyJWT takes a list that holds the
  audience); F.1 makes ``aud`` the Credential Issuer Identifier, one string, so a proof is
  for one issuer.

Each is now ``invalid_proof`` naming the claim, and the nonce is not spent by it. Already
refused, kept (each fails with its check removed from ``issuer/oid4vci_jwt.py``): a proof dated
an hour ahead, a header naming its key both by ``kid`` and ``jwk``, an ``x5c`` chain beside
``kid``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import onboard
from tests.issuer.test_oid4vci import (
    Holder,
    c_nonce,
    make_offer,
    oauth_error,
    redeem,
    request_credential,
)

pytestmark = pytest.mark.integration


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_proof(holder: Holder, payload_text: str) -> str:
    """A proof JWT whose payload is ``payload_text`` as written (JSON that Python's parser
    reads, not necessarily what JSON allows), signed by the holder's key."""
    header = {
        "typ": "openid4vci-proof+jwt",
        "alg": "EdDSA",
        "kid": holder.public.verification_method,
    }
    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(payload_text.encode())
    return signing_input + "." + _b64url(holder.private.sign(signing_input.encode("ascii")))


CASES = {
    "iat NaN": ('{{"aud": "{ci}", "iat": NaN, "nonce": "{nonce}"}}', "iat"),
    "iat Infinity": ('{{"aud": "{ci}", "iat": Infinity, "nonce": "{nonce}"}}', "iat"),
    "iat 1e400": ('{{"aud": "{ci}", "iat": 1e400, "nonce": "{nonce}"}}', "iat"),
    "iat -Infinity": ('{{"aud": "{ci}", "iat": -Infinity, "nonce": "{nonce}"}}', "iat"),
    "iat 10**400": ('{{"aud": "{ci}", "iat": 1' + "0" * 400 + ', "nonce": "{nonce}"}}', "iat"),
    "aud of two issuers": (
        '{{"aud": ["{ci}", "https://other.example/institutions/x"], "iat": {now}, '
        '"nonce": "{nonce}"}}',
        "aud",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_attack_a_proof_with_claims_f1_does_not_allow_is_refused(
    client: TestClient,
    case: str,
) -> None:
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    access = redeem(client, offer).json()["access_token"]
    ci = offer["credentialOffer"]["credential_issuer"]
    holder = Holder()
    nonce = c_nonce(client, offer)
    template, claim = CASES[case]
    proof = raw_proof(holder, template.format(ci=ci, nonce=nonce, now=int(time.time())))
    r = request_credential(client, offer, access, proof)
    said = oauth_error(r, 400, "invalid_proof")
    assert f"'s {claim} " in said, said
    # the nonce of a refused proof is not spent: a good proof still goes through
    good: Any = holder.proof(ci, nonce)
    assert request_credential(client, offer, access, good).status_code == 202


def _proof_with_header(holder: Holder, header: dict[str, Any], ci: str, nonce: str) -> str:
    payload = {"aud": ci, "iat": int(time.time()), "nonce": nonce}
    signing_input = (
        _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(payload).encode())
    )
    return signing_input + "." + _b64url(holder.private.sign(signing_input.encode("ascii")))


#: Already refused, kept: a proof dated an hour ahead; a header naming its key twice (kid and
#: jwk: which one binds?) or by an X.509 chain.
REFUSED = ("iat an hour ahead", "kid and jwk", "x5c beside kid")


@pytest.mark.parametrize("case", REFUSED)
def test_attack_a_proof_dated_ahead_or_naming_its_key_twice_is_refused(
    client: TestClient, case: str
) -> None:
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    access = redeem(client, offer).json()["access_token"]
    ci = offer["credentialOffer"]["credential_issuer"]
    holder, other = Holder(), Holder(33)
    nonce = c_nonce(client, offer)
    base = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": holder.public.verification_method}
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(other.public.raw)}
    proof = {
        "iat an hour ahead": lambda: holder.proof(ci, nonce, iat=time.time() + 3600),
        "kid and jwk": lambda: _proof_with_header(holder, {**base, "jwk": jwk}, ci, nonce),
        "x5c beside kid": lambda: _proof_with_header(holder, {**base, "x5c": ["MIIB"]}, ci, nonce),
    }[case]()
    oauth_error(request_credential(client, offer, access, proof), 400, "invalid_proof")
    assert request_credential(client, offer, access, holder.proof(ci, nonce)).status_code == 202
