"""A wallet keeps only credentials bound to its own key (``credentialSubject.id`` its
``did:key``, the key it proved to the issuer).

The attack: an issuer (a diploma mill, a compromised or look-alike service) answers the
wallet's credential request with a credential about another holder: another applicant's genuine
degree, copied from one of their presentations or offline QR codes. Both wallets stored it; the
CLI listed it VALID ("001  degree  VALID", signature valid; anchored), the page listed it too
(checked as any other: valid once its issuer's did:web document answers). A credential the
holder can never present (check 10: the presentation is signed by a key that is not the subject's;
the wallet's own DCQL matching leaves it out), shown to them as theirs and valid. Now the
credential is refused on receipt, naming the holder it is about, and nothing is stored (the
deferred transaction is dropped).

The issuer here is a plain HTTP server of the attacker's speaking OpenID4VCI (metadata, token,
nonce, credential and deferred endpoints); the wallets are the real ``talentproof wallet
accept`` and the browser wallet's page (headless Chromium).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.wallet.store import Wallet
from tests.security.oid4vci_mill import (
    MillIssuer,
    accept_in_page,
    emptied_browser_wallet,
    mill_offer,
)
from tests.wallet.test_wallet_page import browser, page_url, run_js  # noqa: F401
from tests.wallet.wallet_helpers import issue

#: The applicant the credential is really about (their wallet's key).
OTHER = Ed25519SigningKey.from_seed(bytes([42]) * 32).public_key.did_key


class _Issuer(MillIssuer):
    """An issuer of the attacker's: its credential (or deferred) endpoint sends ``credential``."""


@pytest.fixture
def mill() -> Iterator[tuple[str, type[_Issuer]]]:
    """(the offer URI, the handler) of the attacker's issuer."""
    _Issuer.credential = issue("degree", OTHER)
    with mill_offer(_Issuer) as uri:
        yield uri, _Issuer


@pytest.mark.parametrize("deferred", [False, True])
def test_attack_a_credential_about_another_holder_is_not_kept(
    tmp_path: Path, mill: tuple[str, type[_Issuer]], deferred: bool
) -> None:
    uri, handler = mill
    handler.deferred = deferred
    folder = tmp_path / "wallet"
    me = Wallet.init(folder).did()
    assert me != OTHER
    runner = CliRunner()
    got = runner.invoke(app, ["wallet", "accept", uri, "--wait", "5", "--wallet-dir", str(folder)])
    listed = runner.invoke(
        app, ["wallet", "list", "--offline", "--json", "--wallet-dir", str(folder)]
    )
    held = json.loads(listed.output)
    assert held["credentials"] == [], held  # VALID before: a degree this wallet cannot present
    assert not held["pending"], held
    assert got.exit_code != 0, got.output
    assert OTHER in got.output and me in got.output, got.output
    assert "not stored" in got.output, got.output


@pytest.mark.browser
@pytest.mark.parametrize("deferred", [False, True])
def test_attack_the_browser_wallet_keeps_no_credential_about_another_holder(
    browser: Any,
    page_url: str,
    mill: tuple[str, type[_Issuer]],
    deferred: bool,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    uri, handler = mill
    handler.deferred = deferred
    me = emptied_browser_wallet(browser, page_url)
    status = accept_in_page(browser, uri)
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "accept").is_enabled())
    items = browser.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
    assert items == [], [i.text for i in items]  # listed VALID before
    said = status.text
    assert status.get_attribute("data-state") == "error", said
    assert OTHER in said and me in said and "not stored" in said, said
    pending = run_js(
        browser,
        """
        const d = await new Promise((ok, ko) => { const r = indexedDB.open('talentproof-wallet');
          r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
        const n = await new Promise((ok, ko) => {
          const q = d.transaction('pending', 'readonly').objectStore('pending').count();
          q.onsuccess = () => ok(q.result); q.onerror = () => ko(q.error);
        });
        d.close();
        return n;
        """,
    )
    assert pending == 0, pending


def test_a_kept_transaction_delivering_a_credential_about_another_holder_is_dropped(
    tmp_path: Path, mill: tuple[str, type[_Issuer]]
) -> None:
    uri, handler = mill
    handler.deferred, handler.pending_polls = True, 1
    folder = tmp_path / "wallet"
    Wallet.init(folder)
    runner = CliRunner()
    wd = ["--wallet-dir", str(folder)]
    kept = runner.invoke(app, ["wallet", "accept", uri, "--wait", "0", *wd])
    assert kept.exit_code == 0 and "pending" in kept.output, kept.output
    refreshed = runner.invoke(app, ["wallet", "refresh", *wd])
    assert "dropped" in refreshed.output and OTHER in refreshed.output, refreshed.output
    held = json.loads(runner.invoke(app, ["wallet", "list", "--offline", "--json", *wd]).output)
    assert held["credentials"] == [] and not held["pending"], held
