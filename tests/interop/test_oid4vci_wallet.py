"""An independent OpenID4VCI 1.0 wallet receives a TalentProof credential (issue 15, points 1
and 4): tests/interop/js/oid4vci_wallet.mjs, on the OpenWallet Foundation's
``@openid4vc/openid4vci`` 0.4.6 (``Openid4vciClient``) with ``jose`` 6.2.17, redeems an offer
made by ``POST /credential-offers`` against a real issuer (uvicorn, its anchoring worker running,
on Anvil): it resolves the offer by reference and the metadata at their well-known paths,
refuses nothing in them, is refused a wrong transaction code with ``invalid_grant``, takes the
token with the right one, a ``c_nonce``, proves its Ed25519 key (a did:key ``kid``, or a
``jwk``), gets the deferred answer and polls the deferred endpoint until the anchored credential
comes. That credential names the wallet's key, passes TalentProof's verifier and Digital
Bazaar's ``@digitalbazaar/vc`` (with its status read from the served status lists), and is
complete JSON-LD in PyLD and jsonld.js safe mode, anchored and not (issue 14, point 1)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.issuer.app import create_app
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier.engine import Verifier
from talentproof.verifier.report import Verdict
from talentproof.verifier.trust import TrustedDeployment
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.pages import free_port, served

from .jsonld_support import assert_complete_in_both_processors
from .node_vc import ROOT, messages, verify_with_vc

pytestmark = [
    pytest.mark.integration,
]

WALLET = Path(__file__).with_name("js") / "oid4vci_wallet.mjs"


@pytest.fixture
def issuer_url(make_service: Any) -> Iterator[str]:
    """A real issuer on the loopback (uvicorn in a thread, anchoring worker running)."""
    port = free_port()
    service = make_service(public_url=f"http://127.0.0.1:{port}", oid4vci_deferred_interval_s=1)
    with served(create_app(service, run_worker=True), port) as url:
        yield url


def run_wallet(offer_uri: str, tx_code: str, *extra: str) -> dict[str, Any]:
    run = subprocess.run(
        ["node", str(WALLET), "--offer", offer_uri, "--tx-code", tx_code, *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


@pytest.mark.parametrize("key", ["did", "jwk"])
def test_openid4vci_client_library_receives_the_anchored_credential(
    issuer_url: str, issuer_chain: dict[str, Any], key: str
) -> None:
    with httpx.Client(base_url=issuer_url, timeout=30) as http:
        inst = onboard(http)  # type: ignore[arg-type]
        body = degree_request()
        del body["credentialSubject"]["id"]
        offer = http.post("/credential-offers", headers=bearer(inst["api_key"]["token"]), json=body)
        assert offer.status_code == 201, offer.text
        wrong = f"{(int(offer.json()['txCode']) + 1) % 10**6:06d}"
        got = run_wallet(
            offer.json()["credentialOfferUri"],
            offer.json()["txCode"],
            "--key",
            key,
            "--wrong-tx-code",
            wrong,
        )
        slug = inst["slug"]
        did_document = http.get(f"/institutions/{slug}/did.json").json()
        status_lists = [
            http.get(f"/institutions/{slug}/status/{p}").json()
            for p in ("revocation", "suspension")
        ]
    assert got["version"] == "V1", got["version"]  # 1.0 Final, not a draft
    assert got["configurationId"] == "DegreeCredential_ldp_vc"
    assert got["wrongTxCode"]["error"] == "invalid_grant", got["wrongTxCode"]
    assert set(got["issued"]) >= {"transaction_id", "interval"}, got["issued"]
    anchored = got["anchored"]
    assert anchored is not None, got
    signed, anchor = split_anchor(anchored)
    assert anchor is not None
    assert anchored["credentialSubject"]["id"] == got["holder"]
    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    verifier = Verifier(RegistryReader(issuer_chain["rpc_url"], trust.registry), trust)
    report = verifier.verify_document(anchored)
    assert report.verdict == Verdict.VALID, report
    for form in (anchored, signed):
        result = verify_with_vc(form, [did_document], status_lists=status_lists)
        assert result["verified"], messages(result)
        assert len(result["status"]) == 2 and not any(s["status"] for s in result["status"])
    assert_complete_in_both_processors(
        [("OpenID4VCI anchored", anchored), ("OpenID4VCI signed", signed)]
    )
