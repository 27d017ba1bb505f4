"""Replay of a holder's presentation across the verifier's protocols and across verifiers, on a
real Anvil chain: a presentation is bound to the one exchange it was made for.

- made for an OpenID4VP request (its nonce, the verifier's ``client_id``), replayed to the same
  service's ``/api/v1`` (with the nonce given as the challenge) and the VC API's
  ``/presentations/verify`` (the nonce as ``options.challenge``): the nonce is no challenge of
  theirs and the domain is not theirs;
- made for a ``/api/v1/challenges`` challenge (the service's domain), posted as an OpenID4VP
  answer with the request's state: not the request's nonce nor its ``client_id``;
- answered to one verifier's OpenID4VP request, replayed to another verifier's (another key,
  another ``client_id``) with that request's state: refused, the request stays open.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.presentation import create_presentation
from talentproof.verifier.limits import VerifierLimits
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import ID_SALT, dlt_expert_credentials, holder
from tests.verifier.test_oid4vp import answer, new_request, post, resolve

pytestmark = pytest.mark.integration


def _app(vchain: Any, record: str) -> Any:
    return create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url,
            trust=record,
            domain="verifier.example.hk",
            limits=VerifierLimits(oid4vp_requests_per_client=50),
        )
    )


@pytest.fixture(scope="module")
def setup(vchain, tmp_path_factory):
    record = tmp_path_factory.mktemp("oid4vp-cross") / "deployment.json"
    vchain.deployment.save(record)
    hk = holder()
    s = hk.public_key.did_key
    creds = dlt_expert_credentials(vchain, s)
    # two verifier services: each makes its own key (its own client_id)
    with (
        TestClient(_app(vchain, str(record))) as one,
        TestClient(_app(vchain, str(record))) as two,
    ):
        yield {"one": one, "two": two, "creds": creds, "holder": hk}


def _pending(c: TestClient, created: dict[str, Any], r: Any, words: str) -> None:
    assert r.status_code == 400, r.text
    assert words in r.json()["error_description"], r.json()
    polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "pending" and polled["outcome"] is None, polled


def test_attack_an_oid4vp_presentation_replayed_to_the_api_and_the_vc_api(setup):
    c, creds = setup["one"], setup["creds"]
    created = new_request(c)
    _, p = resolve(c, created)
    form = answer(p, creds, setup["holder"])
    vps = [v[0] for v in json.loads(form["vp_token"]).values()]
    # the API: the nonce is not a challenge this service issued, the domain is not its own.
    # (Without a challenge the API asks for no binding: check 10 is skipped, as for credentials
    # given bare, which anyone who received this presentation could extract and send.)
    r = c.post(
        "/api/v1/applications/evaluate",
        json={"documents": vps, "profession": "hk-dlt-expert", "challenge": p["nonce"]},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"]["code"].startswith("INVALID"), out["outcome"]
    binding = [
        x for cr in out["credentials"] for x in cr["checks"] if x["id"] == "presentation_binding"
    ]
    assert len(binding) == 3 and all(x["status"] == "fail" for x in binding), binding
    # the VC API with the nonce as its challenge: not verified
    r = c.post(
        "/presentations/verify",
        json={"verifiablePresentation": vps[0], "options": {"challenge": p["nonce"]}},
    )
    assert r.status_code == 400 and r.json()["verified"] is False, r.text
    # the request itself still takes its own answer once
    assert post(c, p, form).status_code == 200


def test_attack_an_api_challenge_presentation_posted_as_an_oid4vp_answer(setup):
    c, creds = setup["one"], setup["creds"]
    ch = c.post("/api/v1/challenges").json()
    created = new_request(c)
    _, p = resolve(c, created)
    bound = {
        qid: [
            create_presentation(
                [cred],
                setup["holder"],
                challenge=ch["challenge"],
                domain=ch["domain"],
                created=datetime.now(UTC).replace(microsecond=0),
                identity_document_salt=ID_SALT,
            )
        ]
        for qid, cred in creds.items()
    }
    form = {"vp_token": json.dumps(bound), "state": p["state"]}
    _pending(c, created, post(c, p, form), "not this request's nonce")
    # the nonce right but the API's domain: still another verifier's presentation
    form = answer(p, creds, setup["holder"], domain=ch["domain"])
    _pending(c, created, post(c, p, form), "domain is not this verifier's client_id")


def test_attack_an_answer_to_one_verifier_replayed_to_another(setup):
    one, two, creds = setup["one"], setup["two"], setup["creds"]
    first = new_request(one)
    _, p1 = resolve(one, first)
    form = answer(p1, creds, setup["holder"])
    assert post(one, p1, form).status_code == 200
    assert one.get(f"/oid4vp/requests/{first['id']}").json()["outcome"]["code"] == "VALID_MEETS"
    second = new_request(two)
    _, p2 = resolve(two, second)
    assert p2["client_id"] != p1["client_id"]
    # the first verifier's answer, with the second request's state (read from its request object)
    replay = {**form, "state": p2["state"]}
    _pending(two, second, two.post(p2["response_uri"], data=replay), "not this request's nonce")
    # even re-signed by the holder for the second nonce, one's client_id is not two's
    again = answer(p2, creds, setup["holder"], domain=p1["client_id"])
    _pending(two, second, two.post(p2["response_uri"], data=again), "domain is not this verifier")
