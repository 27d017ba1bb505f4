"""An independent OpenID4VP 1.0 wallet presents to TalentProof's verifier (issue 15, points 2
and 4): tests/interop/js/oid4vp_wallet.mjs, on the OpenWallet Foundation's
``@openid4vc/openid4vp`` 0.4.6 (``Openid4vpClient``: the request resolved by reference, its
EdDSA signature checked with ``jose`` 6.2.17 against the client_id's did:key), ``dcql`` 3.0.0
(the credentials chosen by our DCQL query) and Digital Bazaar's ``@digitalbazaar/vc`` 7.3.0 (the
presentations built and signed, eddsa-jcs-2022, challenge = nonce, domain = client_id), answers
a request made by ``POST /oid4vp/requests`` of a real verifier (uvicorn, on Anvil) with
``direct_post``. The officer's poll then shows VALID_MEETS; the replayed response and a
presentation signed by another key are refused with 400 invalid_request."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier.service import ServiceSettings, create_app
from talentproof.wallet.oid4vp import (
    fetch_request_object,
    match_dcql,
    parse_request_uri,
    send_response,
    vp_token,
)
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, ID_SALT, issue
from tests.pages import free_port, served

from .jsonld_support import assert_complete_in_both_processors
from .node_vc import ROOT

pytestmark = [
    pytest.mark.integration,
]

WALLET = Path(__file__).with_name("js") / "oid4vp_wallet.mjs"


@pytest.fixture(scope="module")
def verifier_url(vchain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The verifier service on the loopback (uvicorn in a thread), on the session's chain."""
    record = tmp_path_factory.mktemp("oid4vp-interop") / "deployment.json"
    vchain.deployment.save(record)
    port = free_port()
    app = create_app(
        ServiceSettings(
            rpc_url=vchain.rpc_url, trust=str(record), public_url=f"http://127.0.0.1:{port}"
        )
    )
    with served(app, port) as url:
        yield url


@pytest.fixture(scope="module")
def wallet(vchain: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The holder's seed and a file of their three anchored credentials."""
    seed = secrets.token_bytes(32)
    did = Ed25519SigningKey.from_seed(seed).public_key.did_key
    creds = [
        issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, did),
        issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, did, start="2012-01-01"),
        issue(vchain, vchain.issuers["HKIB"], BADGE, did),
    ]
    path = tmp_path_factory.mktemp("wallet") / "credentials.json"
    path.write_text(json.dumps(creds))
    return {"seed": seed.hex(), "did": did, "file": str(path)}


def run_wallet(request_uri: str, wallet: dict[str, Any], *extra: str) -> dict[str, Any]:
    run = subprocess.run(
        [
            "node",
            str(WALLET),
            "--request",
            request_uri,
            "--seed",
            wallet["seed"],
            "--credentials",
            wallet["file"],
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_openid4vp_client_library_presents_and_the_verdict_arrives(
    verifier_url: str, wallet: dict[str, Any]
) -> None:
    with httpx.Client(base_url=verifier_url, timeout=30) as http:
        created = http.post("/oid4vp/requests", json={"profession": "hk-dlt-expert"})
        assert created.status_code == 201, created.text
        got = run_wallet(created.json()["authorizationRequest"], wallet, "--replay")
        assert got["client"]["prefix"] == "decentralized_identifier"
        assert got["client"]["identifier"].startswith("did:key:z6Mk")
        assert got["version"] == 100  # the library reads it as OpenID4VP 1.0 (final)
        assert got["dcql"]["satisfied"] is True
        assert sorted(got["dcql"]["matched"]) == ["degree", "employment", "training"]
        assert got["status"] == 200 and got["body"] == {}, got
        replay = got["replay"]
        assert replay["status"] == 400 and replay["body"]["error"] == "invalid_request"
        assert "already answered" in replay["body"]["error_description"]
        polled = http.get(f"/oid4vp/requests/{created.json()['id']}").json()
    assert polled["state"] == "answered"
    assert polled["outcome"]["code"] == "VALID_MEETS", polled["outcome"]
    assert len(polled["report"]["credentials"]) == 3
    assert "already answered" in polled["refusals"][-1]["error_description"]


def test_a_presentation_signed_by_another_key_is_refused(
    verifier_url: str, wallet: dict[str, Any]
) -> None:
    with httpx.Client(base_url=verifier_url, timeout=30) as http:
        created = http.post("/oid4vp/requests", json={"profession": "hk-fintech-professional"})
        got = run_wallet(
            created.json()["authorizationRequest"],
            wallet,
            "--signer-seed",
            secrets.token_bytes(32).hex(),
        )
        assert got["status"] == 400 and got["body"]["error"] == "invalid_request", got
        assert "another key" in got["body"]["error_description"]
        polled = http.get(f"/oid4vp/requests/{created.json()['id']}").json()
    assert polled["state"] == "pending" and polled["refusals"]


def test_the_project_wallets_presentations_are_complete_json_ld_and_meet(
    verifier_url: str, wallet: dict[str, Any]
) -> None:
    key = Ed25519SigningKey.from_seed(bytes.fromhex(wallet["seed"]))
    with open(wallet["file"], encoding="utf-8") as f:
        credentials = json.load(f)
    with httpx.Client(base_url=verifier_url, timeout=30) as http:
        created = http.post("/oid4vp/requests", json={"profession": "hk-dlt-expert"})
        assert created.status_code == 201, created.text
        reference = parse_request_uri(created.json()["authorizationRequest"])
        request = fetch_request_object(http, reference)
        match = match_dcql(request.dcql_query, credentials, holder=wallet["did"])
        assert not match.missing and {"degree", "employment"} <= set(match.chosen)
        token = vp_token(
            match.chosen, key, request=request, salt=ID_SALT, created=datetime.now(UTC)
        )
        assert_complete_in_both_processors(
            (f"OpenID4VP presentation {qid}", vp) for qid, vps in token.items() for vp in vps
        )
        send_response(http, request, token)
        polled = http.get(f"/oid4vp/requests/{created.json()['id']}").json()
    assert polled["state"] == "answered"
    assert polled["outcome"]["code"] == "VALID_MEETS", polled["outcome"]
