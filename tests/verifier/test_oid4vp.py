"""OpenID4VP 1.0 on the verifier service (issue 15.2), end to end on a real chain: the officer
creates a request, the wallet (here: the test, with credential.presentation) reads the signed
request object, answers with direct_post, and the officer's poll shows the verdict; each
refusal the profile names (docs/openid4vc.md) is refused with 400 invalid_request and shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey as CryptoPub
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.dcql import KINDS, dcql_query
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.oid4vp_store import RequestStore
from talentproof.verifier.policy import load_policy
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import (
    ID_NUMBER,
    ID_SALT,
    dlt_expert_credentials,
    holder,
    sign_presentation,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("oid4vp") / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url,
            trust=str(record),
            domain="verifier.example.hk",
            limits=VerifierLimits(oid4vp_requests_per_client=50),
        )
    )
    hk = holder()
    s = hk.public_key.did_key
    creds = dlt_expert_credentials(vchain, s)
    with TestClient(app) as client:
        yield {"client": client, "creds": creds, "holder": hk, "app": app}


def new_request(c: TestClient, profession: str = "hk-dlt-expert", **kw: Any) -> dict[str, Any]:
    r = c.post("/oid4vp/requests", json={"profession": profession, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def resolve(c: TestClient, created: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a wallet does: read the URI, fetch the request object, check its signature with
    the key of the client_id's did:key. Returns (header, payload)."""
    uri = urlsplit(created["authorizationRequest"])
    assert uri.scheme == "openid4vp"
    q = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert q["request_uri"] == created["requestUri"]
    r = c.get(q["request_uri"])
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/oauth-authz-req+jwt"
    )
    assert r.headers["access-control-allow-origin"] == "*"
    header = jwt.get_unverified_header(r.text)
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "EdDSA"
    did = q["client_id"].removeprefix("decentralized_identifier:")
    assert header["kid"].split("#")[0] == did
    pub = CryptoPub.from_public_bytes(Ed25519PublicKey.from_did_key(did).raw)
    payload = jwt.decode(r.text, pub, algorithms=["EdDSA"], audience="https://self-issued.me/v2")
    assert payload["client_id"] == q["client_id"]
    return header, payload


def answer(
    payload: dict[str, Any],
    creds: dict[str, dict[str, Any]],
    key: Ed25519SigningKey,
    *,
    nonce: str | None = None,
    domain: str | None = None,
) -> dict[str, str]:
    """The wallet's direct_post form: one presentation per credential query."""
    token = {
        qid: [
            create_presentation(
                [cred],
                key,
                challenge=nonce or payload["nonce"],
                domain=domain or payload["client_id"],
                created=datetime.now(UTC).replace(microsecond=0),
                identity_document_salt=ID_SALT,  # the wallet discloses it to this verifier
            )
        ]
        for qid, cred in creds.items()
    }
    return {"vp_token": json.dumps(token), "state": payload["state"]}


def post(c: TestClient, payload: dict[str, Any], form: dict[str, str]) -> Any:
    return c.post(payload["response_uri"], data=form)


def test_request_object_is_the_profile(setup):
    c = setup["client"]
    created = new_request(c)
    assert created["expiresAt"].endswith("Z") and created["qr"].endswith("/qr.png")
    _, p = resolve(c, created)
    assert p["response_type"] == "vp_token" and p["response_mode"] == "direct_post"
    assert p["client_id"].startswith("decentralized_identifier:did:key:z6Mk")
    assert p["response_uri"].startswith("http://testserver/oid4vp/responses/")
    assert p["dcql_query"] == dcql_query(load_policy().profession("hk-dlt-expert"))
    assert p["client_metadata"]["vp_formats_supported"]["ldp_vc"]["cryptosuite_values"] == [
        "eddsa-jcs-2022"
    ]
    # the officer's handle (it reads the verdict) is not in the QR code
    assert created["id"] not in created["authorizationRequest"]
    png = c.get(created["qr"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert c.get(f"/oid4vp/requests/{created['id']}").json()["state"] == "pending"


def test_wallet_answer_gives_the_verdict_on_the_officers_poll(setup):
    c, creds = setup["client"], setup["creds"]
    created = new_request(c, idNumber=ID_NUMBER, applicationDate="2024-03-01")
    _, p = resolve(c, created)
    r = post(c, p, answer(p, creds, setup["holder"]))
    assert r.status_code == 200, r.text
    assert r.json() == {} and r.headers["access-control-allow-origin"] == "*"
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "answered"
    assert polled["outcome"]["code"] == "VALID_MEETS", polled["outcome"]
    report = polled["report"]
    assert report["profession"]["profession"] == "hk-dlt-expert" and report["profession"]["met"]
    assert report["applicationDate"] == "2024-03-01"
    assert report["person"]["documentChecked"] is True
    binding = [
        x for cr in report["credentials"] for x in cr["checks"] if x["id"] == "presentation_binding"
    ]
    assert len(binding) == 3 and all(x["status"] == "pass" for x in binding)
    # the same answer again is a replay
    again = post(c, p, answer(p, creds, setup["holder"]))
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    assert "already answered" in again.json()["error_description"]
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "answered" and "already answered" in str(polled["refusals"])


def test_not_meeting_profession_is_a_verdict_not_a_refusal(setup):
    c, creds = setup["client"], setup["creds"]
    created = new_request(c)
    _, p = resolve(c, created)
    r = post(c, p, answer(p, {"degree": creds["degree"]}, setup["holder"]))
    assert r.status_code == 200, r.text
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["outcome"]["code"] == "VALID_NOT_MET"


def refused(c: TestClient, created: dict[str, Any], r: Any, words: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_request" and words in body["error_description"], body
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "pending" and polled["outcome"] is None
    assert words in polled["refusals"][-1]["error_description"]


def test_response_to_another_request_is_refused(setup):
    c, creds = setup["client"], setup["creds"]
    first, second = new_request(c), new_request(c)
    _, p1 = resolve(c, first)
    _, p2 = resolve(c, second)
    # the first request's answer posted to the second's response URI: wrong state
    r = c.post(p2["response_uri"], data=answer(p1, creds, setup["holder"]))
    refused(c, second, r, "state is not this request's")
    # the right state, but presentations bound to the first request's nonce
    form = {**answer(p1, creds, setup["holder"]), "state": p2["state"]}
    refused(c, second, c.post(p2["response_uri"], data=form), "not this request's nonce")
    # bound to another verifier (domain)
    form = answer(p2, creds, setup["holder"], domain="decentralized_identifier:did:key:z6Mkx")
    refused(c, second, post(c, p2, form), "domain is not this verifier's client_id")
    # the second request still takes its own answer
    assert post(c, p2, answer(p2, creds, setup["holder"])).status_code == 200


def test_presentation_by_another_key_is_refused(setup):
    c, creds = setup["client"], setup["creds"]
    created = new_request(c)
    _, p = resolve(c, created)
    thief = Ed25519SigningKey.generate()
    vp = create_presentation(
        [creds["degree"]],
        setup["holder"],
        challenge=p["nonce"],
        domain=p["client_id"],
        created=datetime.now(UTC).replace(microsecond=0),
    )
    # another key signs a presentation claiming the credentials' holder
    stolen = dict(vp)
    stolen.pop("proof")
    stolen = sign_presentation(
        stolen,
        thief,
        challenge=p["nonce"],
        domain=p["client_id"],
    )
    form = {"vp_token": json.dumps({"degree": [stolen]}), "state": p["state"]}
    refused(c, created, post(c, p, form), "another key than the credentials' subject")
    # two presentations by two holders
    other = holder()
    mixed = {
        "degree": [json.loads(answer(p, creds, setup["holder"])["vp_token"])["degree"][0]],
        "employment": [
            create_presentation(
                [issue_for(setup, other)],
                other,
                challenge=p["nonce"],
                domain=p["client_id"],
                created=datetime.now(UTC).replace(microsecond=0),
            )
        ],
    }
    form = {"vp_token": json.dumps(mixed), "state": p["state"]}
    refused(c, created, post(c, p, form), "different holder keys")


def issue_for(setup: dict[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    """A credential of another holder: the HSBC employment re-signed would be another subject;
    an unsigned copy is enough here, the holder check comes first."""
    cred = json.loads(json.dumps(setup["creds"]["employment"]))
    cred["credentialSubject"]["id"] = key.public_key.did_key
    return cred


def test_expired_request_is_refused(setup):
    c, creds, app = setup["client"], setup["creds"], setup["app"]
    store: RequestStore = app.state.oid4vp.store
    created = new_request(c)
    _, p = resolve(c, created)
    clock = store.clock
    now = clock()
    store.clock = lambda: now + store.ttl + 1  # five minutes later
    try:
        assert c.get(f"/oid4vp/requests/{created['id']}").json()["state"] == "expired"
        r = post(c, p, answer(p, creds, setup["holder"]))
        assert r.status_code == 400 and "expired" in r.json()["error_description"]
        polled = c.get(f"/oid4vp/requests/{created['id']}").json()
        assert polled["state"] == "expired" and "expired" in str(polled["refusals"])
    finally:
        store.clock = clock


def test_malformed_responses_are_refused_clearly(setup):
    c = setup["client"]
    created = new_request(c)
    _, p = resolve(c, created)
    for form, words in [
        ({"state": p["state"]}, "vp_token is missing"),
        ({"state": p["state"], "vp_token": "[1]"}, "expected a JSON object"),
        ({"state": p["state"], "vp_token": '{"passport": [{}]}'}, "not a credential query"),
        ({"state": p["state"], "vp_token": '{"degree": {}}'}, "array of presentations"),
        ({"state": p["state"], "error": "access_denied"}, "the wallet answered access_denied"),
    ]:
        refused(c, created, post(c, p, form), words)
    r = c.post(p["response_uri"], json={"vp_token": {}, "state": p["state"]})
    assert r.status_code == 400 and "direct_post" in r.json()["error_description"]
    assert c.post("/oid4vp/responses/nope", data={"state": "x"}).status_code == 404
    assert c.get("/oid4vp/requests/nope").status_code == 404
    assert c.get("/oid4vp/requests/nope/request.jwt").status_code == 404
    assert c.post("/oid4vp/requests", json={"profession": "astronaut"}).status_code == 422
    pre = c.options(p["response_uri"])
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"


def test_requests_are_bounded_per_client():
    store = RequestStore(300, clock=lambda: 0.0, max_open=3, per_client=2)
    a1, a2 = store.create("a", "p"), store.create("a", "p")
    a3 = store.create("a", "p")  # a's own oldest makes room
    assert store.get(a1.id) is None and store.get(a2.id) and store.get(a3.id)
    store.create("b", "p")
    with pytest.raises(Exception, match="maximum of 3 open wallet requests"):
        store.create("c", "p")


@pytest.mark.parametrize("profession", sorted(load_policy().professions))
def test_dcql_of_every_shipped_profession(profession):
    """The reviewed mapping: one query per kind the criteria read, one required set per
    top-level criterion whose options are the kinds that can meet it."""
    prof = load_policy().profession(profession)
    q = dcql_query(prof)
    ids = [x["id"] for x in q["credentials"]]
    assert len(set(ids)) == len(ids)
    for cq in q["credentials"]:
        assert cq["format"] == "ldp_vc"
        kind = next(k for k in KINDS.values() if k.query_id == cq["id"])
        assert ["VerifiableCredential", kind.type] in cq["meta"]["type_values"]
    assert len(q["credential_sets"]) <= len(prof.criteria)
    assert all(s["required"] for s in q["credential_sets"])
    expected = {
        "hk-dlt-expert": [[["degree"]], [["employment"]], [["employment"], ["training"]]],
        "hk-fintech-professional": [[["degree"]], [["employment"]], [["training"]]],
    }
    assert [s["options"] for s in q["credential_sets"]] == expected[profession]
    degree = next(x for x in q["credentials"] if x["id"] == "degree")
    level = next(c for c in degree["claims"] if c["path"][-1] == "level")
    assert level["values"] == ["bachelor", "master", "doctorate"]
    employment = next(x for x in q["credentials"] if x["id"] == "employment")
    assert employment["multiple"] is True


def test_requests_and_responses_are_rate_limited(vchain, tmp_path):
    """Creating a request takes from the challenges' bucket, a response from the
    verifications' (issue 12's flood rules): past the burst, 429 with Retry-After."""
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    limits = VerifierLimits(
        challenge_burst=1, challenge_rate_per_s=0.001, verify_burst=1, verify_rate_per_s=0.001
    )
    app = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record), limits=limits))
    with TestClient(app) as c:
        created = new_request(c)
        again = c.post("/oid4vp/requests", json={"profession": "hk-dlt-expert"})
        assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
        _, p = resolve(c, created)
        first = c.post(p["response_uri"], data={"state": "x"})
        assert first.status_code == 400
        second = c.post(p["response_uri"], data={"state": "x"})
        assert second.status_code == 429 and "verification requests" in second.json()["detail"]
