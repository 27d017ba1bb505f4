"""The browser wallet reads an issuer's keys at the issuer's did:web address, never from whoever
delivered the credential.

The page checked a held credential's signature with the key "the issuer's DID document lists",
fetching that document from the credential issuer the credential was received from
(``<credential issuer>/did.json``) for whatever DID the credential names. The attack: a diploma
mill speaking OpenID4VCI delivers, bound to the applicant's key, a degree whose issuer is
another institution's did:web ("The University of Hong Kong"), signed with the mill's key, and
serves at its own ``/did.json`` a document with that DID's ``id`` listing the mill's key. The
page listed it VALID ("signature valid · ... listed in did:web:...'s DID document"); the
verifier refuses it (the university's keys and roots are on the ledger, the mill's are not).
Now the document is read at the did:web address of the DID; when that cannot be read (here:
the mill does not control it) the delivering issuer's copy is still read (so that a revocation
in its status lists shows) but never vouches: "issuer's key not confirmed", never valid.

The mill is a plain HTTP server of the attacker's; the wallet is the page in headless Chromium,
accepting the offer through its own form.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from talentproof.credential.keys import did_web_document
from tests.wallet.test_wallet_page import browser, loaded, page_url, run_js  # noqa: F401
from tests.wallet.wallet_helpers import ISSUER_KEY, issue

pytestmark = [pytest.mark.browser]

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: The institution the mill names as the issuer (a did:web it does not control).
VICTIM_DID = "did:web:hku.example"


class _Mill(BaseHTTPRequestHandler):
    """The mill's OpenID4VCI issuer, which also serves a DID document for ``VICTIM_DID``."""

    base = ""
    credential: dict[str, Any] = {}  # noqa: RUF012 (set by the test)
    served: list[str] = []  # noqa: RUF012 (the paths asked for)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.end_headers()

    def do_GET(self) -> None:
        type(self).served.append(self.path)
        ci = f"{self.base}/institutions/mill"
        if self.path.endswith("/did.json"):
            self._send(
                200,
                did_web_document(
                    VICTIM_DID, {ISSUER_KEY.public_key.multibase: ISSUER_KEY.public_key}
                ),
            )
        elif self.path.startswith("/.well-known/openid-credential-issuer/"):
            self._send(
                200,
                {
                    "credential_issuer": ci,
                    "authorization_servers": [ci],
                    "credential_endpoint": f"{ci}/credential",
                    "nonce_endpoint": f"{ci}/nonce",
                    "display": [{"name": "The University of Hong Kong"}],
                },
            )
        else:
            self._send(200, {"issuer": ci, "token_endpoint": f"{ci}/token"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/token"):
            self._send(200, {"access_token": "t", "token_type": "Bearer", "expires_in": 600})
        elif self.path.endswith("/nonce"):
            self._send(200, {"c_nonce": "n"})
        else:
            self._send(200, {"credentials": [{"credential": self.credential}]})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def mill() -> Iterator[tuple[str, type[_Mill]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Mill)
    _Mill.base = f"http://127.0.0.1:{server.server_address[1]}"
    _Mill.served = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    offer = {
        "credential_issuer": f"{_Mill.base}/institutions/mill",
        "credential_configuration_ids": ["DegreeCredential_ldp_vc"],
        "grants": {PRE_AUTH: {"pre-authorized_code": "c"}},
    }
    try:
        yield "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer)), _Mill
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_attack_a_mill_serving_another_institutions_did_document_is_not_listed_valid(
    browser: Any, page_url: str, mill: tuple[str, type[_Mill]]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    uri, handler = mill
    loaded(browser, page_url)
    run_js(
        browser,
        """
        const d = await new Promise((ok, ko) => { const r = indexedDB.open('talentproof-wallet');
          r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
        await new Promise((ok, ko) => {
          const t = d.transaction('credentials', 'readwrite');
          t.objectStore('credentials').clear(); t.oncomplete = ok; t.onerror = () => ko(t.error);
        });
        d.close();
        """,
    )
    loaded(browser, page_url)
    if browser.find_element(By.ID, "key-create").is_displayed():
        browser.find_element(By.ID, "key-create").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "did").text)
    me = browser.find_element(By.ID, "did").text
    handler.credential = issue(
        "degree", me, issuer={"id": VICTIM_DID, "name": "The University of Hong Kong"}
    )
    browser.find_element(By.ID, "offer-uri").send_keys(uri)
    browser.find_element(By.ID, "accept").click()
    status = browser.find_element(By.ID, "offer-status")
    WebDriverWait(browser, 30).until(
        lambda d: status.get_attribute("data-state") in ("ok", "error")
    )
    assert status.get_attribute("data-state") == "ok", status.text  # bound to my key: kept
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.ID, "credentials").get_attribute("data-checked") == "true"
            and d.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
        )
    )
    items = browser.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
    states = [(i.get_attribute("data-state"), i.text) for i in items]
    assert len(states) == 1, states
    assert states[0][0] != "valid", states  # VALID before: the mill's own copy vouched
    assert states[0][0] == "unchecked", states
    assert "issuer's key not confirmed" in states[0][1], states
