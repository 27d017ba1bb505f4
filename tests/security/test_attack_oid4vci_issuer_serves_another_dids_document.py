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

from collections.abc import Iterator
from typing import Any

import pytest

from talentproof.credential.keys import did_web_document
from tests.security.oid4vci_mill import (
    MillIssuer,
    accept_in_page,
    emptied_browser_wallet,
    mill_offer,
)
from tests.wallet.test_wallet_page import browser, page_url  # noqa: F401
from tests.wallet.wallet_helpers import ISSUER_KEY, issue

pytestmark = [pytest.mark.browser]

#: The institution the mill names as the issuer (a did:web it does not control).
VICTIM_DID = "did:web:hku.example"


class _Mill(MillIssuer):
    """The mill's OpenID4VCI issuer, which also serves a DID document for ``VICTIM_DID``."""

    display_name = "The University of Hong Kong"

    def do_GET(self) -> None:
        if self.path.endswith("/did.json"):
            self._send(
                200,
                did_web_document(
                    VICTIM_DID, {ISSUER_KEY.public_key.multibase: ISSUER_KEY.public_key}
                ),
            )
        else:
            super().do_GET()


@pytest.fixture
def mill() -> Iterator[tuple[str, type[_Mill]]]:
    with mill_offer(_Mill) as uri:
        yield uri, _Mill


def test_attack_a_mill_serving_another_institutions_did_document_is_not_listed_valid(
    browser: Any, page_url: str, mill: tuple[str, type[_Mill]]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    uri, handler = mill
    me = emptied_browser_wallet(browser, page_url)
    handler.credential = issue(
        "degree", me, issuer={"id": VICTIM_DID, "name": "The University of Hong Kong"}
    )
    status = accept_in_page(browser, uri)
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
