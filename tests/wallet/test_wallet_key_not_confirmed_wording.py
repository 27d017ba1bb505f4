"""What an applicant reads when the wallet cannot confirm an issuer's key.

Both wallets read an issuer's keys only at the issuer's own did:web address (never from whoever
delivered the credential): an institution whose address cannot be read here (OSL's
did:web:osl.com under `make run`) leaves its credential "not confirmed". Tried as a new user,
the CLI said "could not be read: ConnectError" (an exception's class name) and the page showed
only the badge "issuer's key not confirmed", the reason folded away under "What was checked":
neither said whether the credential can still be shown to a verifier. Now both say, in plain
words and in view: the signature is valid, the wallet trusts a key only from the issuer's own
address (named), which could not be read, and the credential can still be presented because
the verifier checks the key on the ledger. The rule itself is unchanged: never "valid".

Real `talentproof wallet list` against a closed port and a server answering 404; the page in
headless Chromium receiving a credential from an issuer that does not control the DID it names.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.wallet.store import Wallet
from tests.security.test_attack_oid4vci_issuer_serves_another_dids_document import (  # noqa: F401
    VICTIM_DID,
    mill,
)
from tests.wallet.test_wallet_page import browser, loaded, page_url, run_js  # noqa: F401
from tests.wallet.wallet_helpers import issue


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def not_found() -> Iterator[int]:
    """A port answering 404 to everything (an issuer host without the DID document)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _list(folder: Path, *extra: str) -> str:
    result = CliRunner().invoke(app, ["wallet", "list", "--wallet-dir", str(folder), *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("answer", ["unreachable", "404"])
def test_cli_list_explains_a_key_it_could_not_confirm(
    tmp_path: Path, not_found: int, answer: str
) -> None:
    port = _closed_port() if answer == "unreachable" else not_found
    did = f"did:web:localhost%3A{port}"
    folder = tmp_path / "wallet"
    wallet = Wallet.init(folder)
    wallet.add_credential(
        issue("employment", wallet.did(), issuer={"id": did, "name": "OSL Digital Securities"})
    )
    rows = json.loads(_list(folder, "--json"))["credentials"]
    assert [r["validity"] for r in rows] == ["not confirmed"], rows  # the rule stays
    address = f"http://localhost:{port}/.well-known/did.json"
    key = rows[0]["issuerKey"]
    assert key.startswith("not confirmed"), key
    assert address in key, key
    assert "issuer's own address" in key, key
    assert "Error" not in key, key  # no exception class name (ConnectError before)
    if answer == "unreachable":
        assert "could not be reached" in key, key
    else:
        assert "answered HTTP 404" in key, key
    text = _list(folder)
    assert "NOT CONFIRMED" in text, text
    assert "Error" not in text, text
    flat = " ".join(text.split())
    # what it means for the applicant, said beside the credential
    assert "the signature is valid" in flat, text
    assert "You can still present it" in flat, text
    assert "the verifier checks the issuer's key on the ledger" in flat, text


def test_cli_list_says_nothing_more_of_a_confirmed_or_offline_credential(tmp_path: Path) -> None:
    folder = tmp_path / "wallet"
    wallet = Wallet.init(folder)
    wallet.add_credential(issue("employment", wallet.did()))
    text = _list(folder, "--offline")
    assert "You can still present it" not in " ".join(text.split()), text


@pytest.mark.browser
def test_page_explains_a_key_it_could_not_confirm_in_view(
    browser: Any,
    page_url: str,
    mill: tuple[str, Any],
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
    assert status.get_attribute("data-state") == "ok", status.text
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.ID, "credentials").get_attribute("data-checked") == "true"
            and d.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
        )
    )
    (item,) = browser.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
    assert item.get_attribute("data-state") == "unchecked", item.text  # never valid
    # .text is what is displayed: the "What was checked" details stay folded
    shown = " ".join(item.text.split())
    assert "issuer's key not confirmed" in shown, shown
    assert "https://hku.example/.well-known/did.json" in shown, shown
    assert "the signature is valid" in shown, shown
    assert "You can still share it" in shown, shown
    assert "the verifier checks the issuer's key on the ledger" in shown, shown
    # the list's footnote says where keys are read, not "fetched from that institution"
    foot = browser.find_element(By.CSS_SELECTOR, "#list-card > p.small").text
    assert "fetched from that institution" not in foot, foot
    assert "own did:web address" in foot, foot
