"""The wallets send a transaction code only to a credential issuer the holder trusts
(OpenID4VCI 1.0 section 13.4.2, "Transaction Code Phishing": wallets are RECOMMENDED to
interact with trusted Credential Issuers only and to reject offers from unrecognised issuer
URLs).

The attack: whoever sees an applicant's offer (its QR code on a desk, a forwarded e-mail: the
genuine pre-authorized code) but not the transaction code the institution sent separately
forwards the applicant a copy whose ``credential_issuer`` is a host of the attacker's, whose
metadata calls itself by the institution's name and lists its own token endpoint. The wallet
posted the genuine pre-authorized code with the transaction code the applicant typed there;
with both, the attacker redeems the offer at the real issuer with its own key (the earlier
attack on the offer's ``authorization_server``, test_attack_oid4vci_offer_names_another_token_
endpoint.py, shows it ends VALID at the verifier).

Real issuer (uvicorn, anchoring worker, Anvil), the real ``talentproof wallet accept`` and the
browser wallet's page (headless Chromium); the attacker's issuer a plain HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.wallet.store import Wallet
from tests.interop.test_oid4vci_wallet import issuer_url  # noqa: F401
from tests.issuer.conftest import issuer_chain, make_service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_oid4vci import PRE_AUTH
from tests.security.oid4vci_mill import JsonHandler, emptied_browser_wallet, serving
from tests.wallet.test_wallet_page import browser, loaded, page_url, run_js  # noqa: F401

pytestmark = [pytest.mark.integration]


class _AttackersIssuer(JsonHandler):
    """The attacker's credential issuer at ``{base}``: metadata in the institution's name, its
    own authorization server, a token endpoint that keeps every form posted to it and answers
    as a wrong transaction code would."""

    forms: list[dict[str, str]] = []  # noqa: RUF012 (the test's record of what it received)
    display_name = "University of Testing"

    def do_GET(self) -> None:
        if self.path.startswith("/.well-known/openid-credential-issuer"):
            self._send(
                200,
                {
                    "credential_issuer": self.base,
                    "authorization_servers": [self.base],
                    "credential_endpoint": f"{self.base}/credential",
                    "nonce_endpoint": f"{self.base}/nonce",
                    "display": [{"name": self.display_name}],
                },
            )
        else:
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
def attacker() -> Iterator[type[_AttackersIssuer]]:
    _AttackersIssuer.forms = []
    with serving(_AttackersIssuer, "/institutions/hku"):
        yield _AttackersIssuer


def copied_offer(issuer_url: str, host: str | None) -> tuple[str, str, str]:
    """A genuine offer to the applicant with its ``credential_issuer`` set to ``host`` (kept
    when None): (the
    forwarded offer URI, the transaction code the institution sent the applicant, the genuine
    credential issuer)."""
    with httpx.Client(base_url=issuer_url, timeout=30) as http:
        inst = onboard(http)  # type: ignore[arg-type]
        body = degree_request()
        del body["credentialSubject"]["id"]
        r = http.post("/credential-offers", headers=bearer(inst["api_key"]["token"]), json=body)
        assert r.status_code == 201, r.text
    offer = r.json()["credentialOffer"]
    genuine = offer["credential_issuer"]
    offer["credential_issuer"] = host or genuine
    uri = "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer), safe="")
    return uri, r.json()["txCode"], genuine


def test_attack_an_offer_on_the_attackers_host_gets_no_tx_code(
    issuer_url: str, attacker: type[_AttackersIssuer], tmp_path: Path
) -> None:
    uri, tx_code, genuine = copied_offer(issuer_url, attacker.base)
    folder = tmp_path / "victim"
    Wallet.init(folder)
    for trusted in ([], ["--issuer", genuine]):
        result = CliRunner().invoke(
            app,
            [
                "wallet", "accept", uri, "--tx-code", tx_code, "--wait", "0",
                "--wallet-dir", str(folder), *trusted,
            ],
        )  # fmt: skip
        out = result.output
        assert attacker.forms == [], (trusted, attacker.forms, out)
        assert result.exit_code != 0, out
        # the holder is told where the offer comes from, and that nothing was sent
        assert attacker.base in out and "not one you trust" in out, out
        assert "Nothing was sent" in out, out


def test_the_trusted_issuer_is_remembered_and_a_stranger_still_refused(
    issuer_url: str, attacker: type[_AttackersIssuer], tmp_path: Path
) -> None:
    """The holder names the institution's address once (``--issuer``, as the institution gave
    it with the code): the wallet keeps it, its next offer needs no ``--issuer``; an offer
    from another host is still refused."""
    folder = tmp_path / "holder"
    Wallet.init(folder)
    real, tx_code, genuine = copied_offer(issuer_url, None)
    wd = ["--wallet-dir", str(folder), "--wait", "0"]
    result = CliRunner().invoke(app, ["wallet", "accept", real, "--tx-code", tx_code, *wd])
    assert result.exit_code != 0 and "not one you trust" in result.output, result.output
    assert f"--issuer {genuine}" in result.output, result.output
    result = CliRunner().invoke(
        app, ["wallet", "accept", real, "--tx-code", tx_code, "--issuer", genuine, *wd]
    )
    assert result.exit_code == 0, result.output
    assert Wallet(folder).trusted_issuers() == [genuine]
    uri2, tx2, _ = copied_offer(issuer_url, attacker.base)
    result = CliRunner().invoke(app, ["wallet", "accept", uri2, "--tx-code", tx2, *wd])
    assert result.exit_code != 0 and attacker.forms == [], (result.output, attacker.forms)


@pytest.mark.browser
def test_attack_the_browser_wallet_sends_no_tx_code_to_the_attackers_host(
    issuer_url: str, attacker: type[_AttackersIssuer], browser: Any, page_url: str
) -> None:
    uri, tx_code, _genuine = copied_offer(issuer_url, attacker.base)
    loaded(browser, page_url)
    said = run_js(
        browser,
        """
        const [uri, txCode] = args;
        try {
          const offer = await W.resolveOffer(uri);
          await W.acceptOffer(offer, txCode, null);
          return "accepted";
        } catch (e) { return String(e.message); }
        """,
        uri,
        tx_code,
    )
    assert attacker.forms == [], (said, attacker.forms)
    assert "not one you trust" in said, said


@pytest.mark.browser
def test_the_wallet_page_shows_the_issuers_address_before_the_code_goes(
    issuer_url: str, attacker: type[_AttackersIssuer], browser: Any, page_url: str
) -> None:
    """The page, given the copied offer and the code, asks first: it names the offer's
    address and sends nothing until the holder confirms it as the institution's."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    uri, tx_code, _genuine = copied_offer(issuer_url, attacker.base)
    emptied_browser_wallet(browser, page_url)
    run_js(browser, "localStorage.removeItem('talentproof-trusted-issuers');")
    run_js(browser, "document.getElementById('offer-uri').value = args[0];", uri)
    browser.find_element(By.ID, "tx-code").send_keys(tx_code)
    browser.find_element(By.ID, "accept").click()
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.find_element(By.ID, "offer-trust").is_displayed()
            or d.find_element(By.ID, "offer-status").get_attribute("data-state") == "error"
        )
    )
    said = browser.find_element(By.ID, "offer-status").text
    assert browser.find_element(By.ID, "offer-trust").is_displayed(), said
    assert attacker.base in browser.find_element(By.ID, "offer-trust-text").text
    assert "Nothing was sent" in browser.find_element(By.ID, "offer-status").text
    assert attacker.forms == [], attacker.forms
