"""Where the browser wallet's answers go: before it sends a presentation, the page shows the
warnings of `wallet.oid4vp.answer_warnings` (the rule ``talentproof wallet present`` applies,
served by ``talentproof wallet serve`` at ``GET /answer-warnings``): a request whose
``response_uri`` is on another host than its ``request_uri``, or http off this computer. Sharing
then waits for an explicit confirmation, and nothing is sent without it. In headless Chromium
against verifiers served here (a signed request object, a response endpoint that records what
it receives).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.wallet.oid4vp import DID_PREFIX, answer_warnings
from tests.pages import chromium_open

from .test_wallet_page import loaded, page_url  # noqa: F401  (page_url: a fixture)
from .test_wallet_page_checks import Institution, hold, institution  # noqa: F401  (a fixture)
from .wallet_helpers import issue

pytestmark = [pytest.mark.browser]

VERIFIER_SEED = hashlib.sha256(b"answers verifier").digest()
VERIFIER = Ed25519SigningKey.from_seed(VERIFIER_SEED)
CLIENT_ID = DID_PREFIX + VERIFIER.public_key.did_key


class Endpoint:
    """A verifier's HTTP side on 127.0.0.1: ``GET /request`` the signed request object it is
    given, ``POST /response`` recorded (each form as a dict) and answered 200."""

    def __init__(self) -> None:
        self.request_object = ""
        self.received: list[dict[str, list[str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/request" and owner.request_object
                self.reply(200 if found else 404, owner.request_object or "no", "text/plain")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.received.append(parse_qs(body.decode()))
                self.reply(200, "{}", "application/json")

            def reply(self, code: int, text: str, content_type: str) -> None:
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ask(self, response_uri: str) -> str:
        """Sign a request whose answers go to ``response_uri``; the openid4vp:// URI of it."""
        claims = {
            "client_id": CLIENT_ID,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": response_uri,
            "nonce": f"n-{time.time_ns()}",
            "state": "s-1",
            "exp": int(time.time()) + 600,
            "client_metadata": {"client_name": "Test Verifier"},
            "dcql_query": {"credentials": [{"id": "degree", "format": "ldp_vc"}]},
        }
        self.request_object = jwt.encode(
            claims,
            Ed25519PrivateKey.from_private_bytes(VERIFIER_SEED),
            algorithm="EdDSA",
            headers={"typ": "oauth-authz-req+jwt"},
        )
        request_uri = f"http://127.0.0.1:{self.port}/request"
        return f"openid4vp://?client_id={quote(CLIENT_ID)}&request_uri={quote(request_uri)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoints() -> Iterator[tuple[Endpoint, Endpoint]]:
    """The verifier the QR code names, and another host the request may send answers to."""
    pair = (Endpoint(), Endpoint())
    try:
        yield pair
    finally:
        for e in pair:
            e.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_open(tmp_path_factory.mktemp("answers-profile"), 800, 1600) as driver:
        yield driver


def holding_a_degree(browser: Any, page_url: str, institution: Institution) -> None:
    """The page with a key and one valid degree about it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    loaded(browser, page_url)
    if browser.find_element(By.ID, "key-create").is_displayed():
        browser.find_element(By.ID, "key-create").click()
    did = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "did").text)
    degree = issue(
        "degree",
        did,
        issuer={"id": institution.did, "name": "Test Institution"},
        id="urn:uuid:00000000-0000-0000-0000-000000000001",
        status=institution.status_entries(1),
    )
    held = hold(browser, page_url, [{"credential": degree, "issuer": institution.url}])
    assert [state for state, _ in held.values()] == ["valid"], held


def open_request(browser: Any, uri: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = browser.find_element(By.ID, "request-uri")
    box.clear()
    box.send_keys(uri)
    browser.find_element(By.ID, "open-request").click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "consent").is_displayed())
    return browser


def sent(browser: Any) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.ID, "present-status").get_attribute("data-state") in ("ok", "error")
        )
    )
    text: str = browser.find_element(By.ID, "present-status").text
    return text


def test_answers_to_another_host_are_warned_and_sent_only_when_confirmed(
    browser: Any,
    page_url: str,
    institution: Institution,
    endpoints: tuple[Endpoint, Endpoint],
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    verifier, elsewhere = endpoints
    holding_a_degree(browser, page_url, institution)
    response_uri = f"http://localhost:{elsewhere.port}/response"
    open_request(browser, verifier.ask(response_uri))
    warning = browser.find_element(By.ID, "consent-warning")
    assert warning.is_displayed()
    assert warning.get_attribute("role") == "alert"
    assert f"The answers go to localhost:{elsewhere.port}" in warning.text
    assert f"not to 127.0.0.1:{verifier.port} where the request came from" in warning.text
    assert f"I trust localhost:{elsewhere.port}" in warning.text
    share = browser.find_element(By.ID, "send")
    assert not share.is_enabled()
    browser.find_element(By.ID, "present-card").screenshot(str(tmp_path / "answers-warning.png"))

    # Share is disabled; even enabled by hand (or by a script), nothing goes without the tick
    browser.execute_script("document.getElementById('send').disabled = false")
    share.click()
    assert "Not sent: confirm where the answers go" in sent(browser)
    assert elsewhere.received == [] and verifier.received == []

    browser.find_element(By.ID, "consent-confirm").click()
    assert share.is_enabled()
    browser.find_element(By.ID, "consent-confirm").click()  # untick: disabled again
    assert not share.is_enabled()
    browser.find_element(By.ID, "consent-confirm").click()
    share.click()
    assert sent(browser).startswith("Sent."), sent(browser)
    assert verifier.received == []
    assert len(elsewhere.received) == 1
    token = json.loads(elsewhere.received[0]["vp_token"][0])
    assert list(token) == ["degree"]


def test_answers_to_the_requests_own_host_are_not_warned(
    browser: Any,
    page_url: str,
    institution: Institution,
    endpoints: tuple[Endpoint, Endpoint],
) -> None:
    from selenium.webdriver.common.by import By

    verifier, elsewhere = endpoints
    holding_a_degree(browser, page_url, institution)
    open_request(browser, verifier.ask(f"http://127.0.0.1:{verifier.port}/response"))
    assert not browser.find_element(By.ID, "consent-warning").is_displayed()
    share = browser.find_element(By.ID, "send")
    assert share.is_enabled()
    share.click()
    assert sent(browser).startswith("Sent."), sent(browser)
    assert len(verifier.received) == 1 and elsewhere.received == []


@pytest.mark.parametrize(
    ("request_uri", "response_uri", "warned"),
    [
        ("https://v.example/r/1", "https://v.example/responses/1", []),
        ("http://127.0.0.1:8002/r/1", "http://127.0.0.1:8002/responses/1", []),
        ("http://localhost:8002/r/1", "http://localhost:8002/responses/1", []),
        ("https://v.example/r/1", "https://evil.example/responses/1", ["evil.example"]),
        ("https://v.example/r/1", "https://v.example:8443/responses/1", ["v.example:8443"]),
        ("http://v.example/r/1", "http://v.example/responses/1", ["unencrypted"]),
        (
            "https://v.example/r/1",
            "http://evil.example/responses/1",
            ["evil.example", "unencrypted"],
        ),
    ],
)
def test_answer_warnings_endpoint_is_the_clis_rule(
    page_url: str, request_uri: str, response_uri: str, warned: list[str]
) -> None:
    """``GET /answer-warnings`` answers `answer_warnings`, the rule `wallet present` applies."""
    r = httpx.get(
        page_url + "answer-warnings",
        params={"request_uri": request_uri, "response_uri": response_uri},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    warnings = r.json()["warnings"]
    assert warnings == answer_warnings(request_uri, response_uri)
    assert len(warnings) == len(warned)
    for warning, word in zip(warnings, warned, strict=True):
        assert word in warning


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"response_uri": "https://v.example/x"}, "request_uri"),
        ({"request_uri": "https://v.example/x"}, "response_uri"),
        (
            {"request_uri": "ftp://v.example/x", "response_uri": "https://v.example/x"},
            "request_uri",
        ),
        (
            {"request_uri": "https://v.example/x", "response_uri": "https://:99999/x"},
            "response_uri",
        ),
        (
            {"request_uri": "https://v.example/x", "response_uri": "https://v:port/x"},
            "response_uri",
        ),
    ],
)
def test_answer_warnings_endpoint_names_what_it_expected(
    page_url: str, query: dict[str, str], named: str
) -> None:
    r = httpx.get(page_url + "answer-warnings", params=query)
    assert r.status_code == 400
    assert r.json()["error"].startswith(f"{named}: expected an http(s) URL")
