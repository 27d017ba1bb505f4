"""Documents built by other implementations, sent to the verifier's standards surfaces (the W3C
VC API's ``/credentials/verify`` and ``/presentations/verify``, the OpenID4VP response), by
someone holding one accredited key or only the holder's copy (real Anvil).

What must hold: ``verified`` is true only for what the product's own verdict calls VALID; a
shape the product does not verify is refused with 400 naming it, never a 500 and never a
verdict about something else:

- a proof set (the issuer's proof beside a second Data Integrity proof, or beside a proof of a
  suite the product does not verify) is refused whole, not judged by its one good entry;
- a presentation's credentials given as JSON text or as an ``EnvelopedVerifiableCredential``
  (a ``data:`` URL of a valid credential) are not unwrapped and taken;
- a credential whose ``validFrom`` is still to come, or whose ``validUntil`` has passed, is not
  verified; its error says which;
- a credential carrying a ``credentialStatus`` that points at a status list on someone else's
  server (its issuer signed it) is judged by the ledger: the verifier fetches nothing (no
  request leaves for the URL a document names);
- a presentation whose holder is not its credentials' subject is not verified, with or
  without a challenge.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from talentproof.credential import integrity
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import create_presentation
from tests.chainkit import (
    DEGREE,
    anchor_batch,
    build,
    holder,
    issue,
    sign,
    sign_presentation,
)

pytestmark = pytest.mark.integration

DOMAIN = "verifier.example.hk"


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = vchain.save_deployment(tmp_path_factory.mktemp("std-docs"))
    key = holder()
    degree = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, key.public_key.did_key
    )
    with vchain.service_client(record, domain=DOMAIN) as client:
        yield {"client": client, "chain": vchain, "key": key, "degree": degree}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _vp(
    creds: list[Any], key: Ed25519SigningKey, challenge: str = "n", domain: str = DOMAIN
) -> dict[str, Any]:
    """A presentation of ``creds`` (whatever they are) signed by ``key`` as its holder."""
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": key.public_key.did_key,
        "verifiableCredential": creds,
    }
    return sign_presentation(doc, key, challenge=challenge, domain=domain)


def _not_verified(r: Any, *words: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False, body
    text = json.dumps(body).lower()
    for w in words:
        assert w.lower() in text, (w, body)
    return body


def _challenge(c: Any) -> str:
    return str(c.post("/api/v1/challenges").json()["challenge"])


# --------------------------------------------------------------------------- proof sets


def test_attack_a_credential_proof_set_is_not_judged_by_its_good_entry(setup):
    c, degree = setup["client"], setup["degree"]
    ok = c.post("/credentials/verify", json={"verifiableCredential": degree})
    assert ok.status_code == 200 and ok.json()["verified"] is True, ok.text
    stranger = Ed25519SigningKey.generate()
    unsigned = {k: v for k, v in degree.items() if k != "proof"}
    second = integrity.sign(
        dict(unsigned),
        stranger,
        verification_method=stranger.public_key.verification_method,
        created=_now(),
    )["proof"]
    foreign = {
        "type": "Ed25519Signature2020",
        "verificationMethod": stranger.public_key.verification_method,
        "proofPurpose": "assertionMethod",
        "proofValue": "z" + "1" * 80,
    }
    for extra in (second, foreign):
        doc = {**degree, "proof": [*degree["proof"], extra]}
        r = c.post("/credentials/verify", json={"verifiableCredential": doc})
        _not_verified(r, "proof set")


def test_attack_a_presentation_proof_set_is_not_judged_by_its_good_entry(setup):
    c, key, degree = setup["client"], setup["key"], setup["degree"]
    ch = _challenge(c)
    vp = _vp([degree], key, challenge=ch)
    other = Ed25519SigningKey.generate()
    unsigned = {k: v for k, v in vp.items() if k != "proof"}
    second = sign_presentation(unsigned, other, challenge=ch, domain=DOMAIN)["proof"]
    doc = {**vp, "proof": [vp["proof"], second]}
    r = c.post(
        "/presentations/verify",
        json={"verifiablePresentation": doc, "options": {"challenge": ch}},
    )
    _not_verified(r, "holder-binding", "proof set")
    # and without a challenge (only the holder's proof is checked)
    r = c.post("/presentations/verify", json={"verifiablePresentation": doc})
    _not_verified(r, "holder-binding", "proof set")


# --------------------------------------------------------------------------- wrapped credentials


def test_attack_credentials_as_text_or_enveloped_are_not_unwrapped(setup):
    c, key, degree = setup["client"], setup["key"], setup["degree"]
    data_url = "data:application/vc+ld+json;base64," + base64.b64encode(
        json.dumps(degree).encode()
    ).decode("ascii")
    enveloped = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": data_url,
        "type": "EnvelopedVerifiableCredential",
    }
    for wrapped in (json.dumps(degree), enveloped, data_url):
        for options in ({}, {"challenge": _challenge(c)}):
            vp = _vp([wrapped], key, challenge=options.get("challenge", "n"))
            r = c.post(
                "/presentations/verify",
                json={"verifiablePresentation": vp, "options": options},
            )
            _not_verified(r)
    # an enveloped credential at /credentials/verify is not a credential of this product
    r = c.post("/credentials/verify", json={"verifiableCredential": enveloped})
    _not_verified(r, "schema")


# --------------------------------------------------------------------------- validity window


def test_attack_not_yet_valid_or_expired_is_not_verified(setup):
    c, chain = setup["client"], setup["chain"]
    uni = chain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    now = datetime.now(UTC)
    future = issue(chain, uni, DEGREE, s, valid_from=now + timedelta(days=30))
    passed = issue(
        chain,
        uni,
        DEGREE,
        s,
        valid_from=now - timedelta(days=30),
        valid_until=now - timedelta(days=1),
    )
    r = c.post("/credentials/verify", json={"verifiableCredential": future})
    _not_verified(r, "expiration", "not yet valid")
    r = c.post("/credentials/verify", json={"verifiableCredential": passed})
    _not_verified(r, "expiration", "expired")


# --------------------------------------------------------------------------- no fetching


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append(self.path)
        body = b'{"revoked": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_attack_a_status_list_url_in_a_credential_is_never_fetched(setup, listener):
    """The university signs a degree whose ``credentialStatus`` names a status list (and the
    ``issuer`` profile an image, the subject an ``id`` URL) on a server of the sender's choosing,
    inside the verifier's network: the verdict is the ledger's, and no request reaches it."""
    c, chain = setup["client"], setup["chain"]
    uni = chain.issuers["University of Hong Kong"]
    key = holder()
    doc = build(DEGREE, uni.did, key.public_key.did_key, institution=uni.name)
    doc["credentialStatus"] = [
        {
            "id": f"{listener}/status/1#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "7",
            "statusListCredential": f"{listener}/status/1",
        }
    ]
    (cred,) = anchor_batch([sign(doc, uni.key)], uni.client, chain.deployment)
    r = c.post("/credentials/verify", json={"verifiableCredential": cred})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    ch = _challenge(c)
    vp = create_presentation([cred], key, challenge=ch, domain=DOMAIN, created=_now())
    r = c.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": {"challenge": ch}}
    )
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    assert _Recorder.seen == [], _Recorder.seen


# --------------------------------------------------------------------------- holder


def test_attack_a_holder_presenting_someone_elses_credential(setup):
    c, degree = setup["client"], setup["degree"]
    thief = holder()
    for options in ({}, {"challenge": _challenge(c)}):
        vp = _vp([degree], thief, challenge=options.get("challenge", "n"))
        r = c.post("/presentations/verify", json={"verifiablePresentation": vp, "options": options})
        _not_verified(r, "holder-binding")


# --------------------------------------------------------------------------- issuer's name


def test_attack_an_issuer_naming_itself_after_another_institution_is_not_verified(setup):
    """Another implementation holding the university's accredited key signs a degree whose
    ``issuer`` is the university's DID but the name ``HSBC``; HKIB's badge key signs a badge
    whose issuer profile is named after the university. Check 6 compared the DID only: both were
    ``verified: true``, and a relying party reading the verified credential (a wallet shows
    ``issuer.name``) saw HSBC or the university vouching. A name that is not the registry's (up
    to case, punctuation and spacing) fails check 6 naming both."""
    c, chain = setup["client"], setup["chain"]
    uni, hkib = chain.issuers["University of Hong Kong"], chain.issuers["HKIB"]
    s = holder().public_key.did_key

    def named(name: str) -> dict[str, Any]:
        doc = build(DEGREE, uni.did, s, institution=uni.name)
        doc["issuer"] = {"id": uni.did, "name": name}
        (cred,) = anchor_batch([sign(doc, uni.key)], uni.client, chain.deployment)
        return cred

    badge = issue(chain, hkib, "OpenBadgeCredential", s, issuer_name=uni.name)
    for cred in (named("HSBC"), badge):
        r = c.post("/credentials/verify", json={"verifiableCredential": cred})
        body = _not_verified(r, "issuer-accreditation")
        claimed = cred["issuer"]["name"]
        assert any(claimed in e and "registered" in e for e in body["errors"]), body
    # the registry's name, up to case, punctuation and spacing, is the issuer's own
    for name in (uni.name, "university of hong kong.", "  University  of Hong Kong "):
        r = c.post("/credentials/verify", json={"verifiableCredential": named(name)})
        assert r.status_code == 200 and r.json()["verified"] is True, (name, r.text)
