"""An attacker's OpenID4VCI servers on the loopback, shared by the wallet attacks
(tests/security/test_attack_oid4vci_*.py): plain HTTP servers speaking JSON with the CORS
headers the browser wallet needs, and the browser wallet driven through one offer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


class JsonHandler(BaseHTTPRequestHandler):
    """JSON answers any page may read (CORS), preflights allowed, nothing logged."""

    base = ""  # the server's URL, set by `serving`

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "WWW-Authenticate")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[JsonHandler], path: str = "") -> Iterator[str]:
    """``handler`` served on a free loopback port; ``handler.base`` (yielded) is its URL plus
    ``path``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.base = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler.base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class MillIssuer(JsonHandler):
    """A diploma mill's credential issuer at ``{base}/institutions/mill``: its metadata (its own
    authorization server, ``display_name``), a token and a nonce for anyone, and ``credential``
    from its credential endpoint, or from its deferred endpoint when ``deferred`` (after
    ``pending_polls`` answers of "still pending")."""

    display_name = "University of Testing"
    credential: dict[str, Any] = {}  # noqa: RUF012 (set by the test)
    deferred = False
    pending_polls = 0

    def do_GET(self) -> None:
        ci = f"{self.base}/institutions/mill"
        if self.path.startswith("/.well-known/openid-credential-issuer/"):
            self._send(
                200,
                {
                    "credential_issuer": ci,
                    "authorization_servers": [ci],
                    "credential_endpoint": f"{ci}/credential",
                    "nonce_endpoint": f"{ci}/nonce",
                    "deferred_credential_endpoint": f"{ci}/deferred_credential",
                    "display": [{"name": self.display_name}],
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
        elif self.path.endswith("/credential") and self.deferred:
            self._send(202, {"transaction_id": "tx", "interval": 1})
        elif self.path.endswith("/deferred_credential") and type(self).pending_polls > 0:
            type(self).pending_polls -= 1
            self._send(202, {"transaction_id": "tx", "interval": 1})
        else:
            self._send(200, {"credentials": [{"credential": self.credential}]})


@contextmanager
def mill_offer(handler: type[MillIssuer]) -> Iterator[str]:
    """``handler`` served, its state reset (``credential`` aside); yields an offer by value of a
    degree from it with a pre-authorized code and no transaction code."""
    handler.deferred, handler.pending_polls = False, 0
    with serving(handler) as base:
        offer = {
            "credential_issuer": f"{base}/institutions/mill",
            "credential_configuration_ids": ["DegreeCredential_ldp_vc"],
            "grants": {PRE_AUTH: {"pre-authorized_code": "c"}},
        }
        yield "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer), safe="")


_CLEAR_CREDENTIALS = """
const d = await new Promise((ok, ko) => { const r = indexedDB.open('talentproof-wallet');
  r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
await new Promise((ok, ko) => {
  const t = d.transaction('credentials', 'readwrite');
  t.objectStore('credentials').clear(); t.oncomplete = ok; t.onerror = () => ko(t.error);
});
d.close();
"""


def emptied_browser_wallet(browser: Any, page_url: str) -> str:
    """The wallet page loaded with no credential stored and a key (made if none): its DID."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.wallet.test_wallet_page import loaded, run_js

    loaded(browser, page_url)
    run_js(browser, _CLEAR_CREDENTIALS)
    loaded(browser, page_url)
    if browser.find_element(By.ID, "key-create").is_displayed():
        browser.find_element(By.ID, "key-create").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "did").text)
    did: str = browser.find_element(By.ID, "did").text
    return did


def accept_in_page(browser: Any, uri: str) -> Any:
    """The offer ``uri`` pasted and accepted on the wallet page: its status element once it
    says ``ok`` or ``error``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "offer-uri").send_keys(uri)
    browser.find_element(By.ID, "accept").click()
    status = browser.find_element(By.ID, "offer-status")
    WebDriverWait(browser, 30).until(
        lambda d: status.get_attribute("data-state") in ("ok", "error")
    )
    return status
