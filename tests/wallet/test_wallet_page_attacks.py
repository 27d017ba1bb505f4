"""The browser wallet attacked by a malicious issuer (headless Chromium): a credential sent under
the id of one the holder holds is kept beside it, never over it.

The page kept its credentials in IndexedDB keyed by the credential's ``id``, and a received
credential was put under that key: any issuer (or a verifier that saw one of the holder's
presentations) could write the id of the holder's degree into a credential of its own and
delete the degree with one offer. The page now decides where a received credential goes as
``wallet/store.py`` does (`storageKey` in core.js, the twin of ``Wallet.add_credential``'s rule,
checked here against it): the same signed credential is kept once, its anchored copy over an
unanchored one; any other credential gets a key of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from talentproof.wallet.store import Wallet, same_credential

from .test_wallet_page import browser, loaded, page_url, run_js  # noqa: F401  (fixtures)
from .wallet_helpers import issue

pytestmark = [pytest.mark.browser]


def test_attack_a_credential_under_a_held_ones_id_is_kept_beside_it(
    browser: Any,
    page_url: str,
    tmp_path: Path,
) -> None:
    me = Wallet.init(tmp_path / "w").did()
    genuine = issue("degree", me)
    forged = issue(
        "degree",
        me,
        id=genuine["id"],
        issuer={"id": "did:web:diploma-mill.example", "name": "The University of Hong Kong"},
        level="doctorate",
    )
    unanchored = issue("degree", me, anchored=False)
    assert same_credential(genuine, unanchored) and not same_credential(genuine, forged)
    loaded(browser, page_url)
    held = [{"id": genuine["id"], "credential": genuine}]
    got = run_js(
        browser,
        """
        const [held, forged, genuine, unanchored] = args;
        const slot = W.storageKey(held, forged);
        return {
          forged: slot, sameForged: W.sameCredential(genuine, forged),
          sameUnanchored: W.sameCredential(genuine, unanchored),
          unanchoredOverAnchored: W.storageKey(held, unanchored),
          anchoredOverUnanchored: W.storageKey([{id: "k", credential: unanchored}], genuine),
          again: W.storageKey(held, genuine),
        };
        """,
        held,
        forged,
        genuine,
        unanchored,
    )
    assert got["forged"]["skip"] is False and got["forged"]["key"] != genuine["id"], got
    assert got["forged"]["key"].startswith(genuine["id"] + "#"), got
    assert got["sameForged"] is False and got["sameUnanchored"] is True, got
    assert got["unanchoredOverAnchored"] == {"skip": True, "key": genuine["id"]}, got
    assert got["anchoredOverUnanchored"] == {"skip": False, "key": "k"}, got
    assert got["again"] == {"skip": False, "key": genuine["id"]}, got
    # the CLI wallet's rule, on the same credentials
    wallet = Wallet(tmp_path / "w")
    for doc in (genuine, forged, unanchored, genuine):
        wallet.add_credential(doc)
    held_docs = [s.document for s in wallet.credentials()]
    assert len(held_docs) == 2 and genuine in held_docs and forged in held_docs, held_docs


@pytest.mark.parametrize(
    ("field", "status", "scheme"),
    [
        ("offer-uri", "offer-status", "openid-credential-offer"),
        ("request-uri", "present-status", "openid4vp"),
    ],
)
def test_attack_a_second_code_in_the_picture_is_not_read_in_silence(
    browser: Any,
    page_url: str,
    tmp_path: Path,
    field: str,
    status: str,
    scheme: str,
) -> None:
    """The page's scanner (jsQR) read one code of a picture, whichever it found (often the
    smaller): beside the institution's offer or the officer's request, an attacker's sticker got
    the transaction code or the holder's credentials and salt. A picture with two different
    codes is refused now (the code found is painted over and the picture read again); the same
    code twice is one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from talentproof.credential.qr import render_png
    from tests.qr_pictures import gray, side_by_side, two_codes

    a, b = two_codes(scheme)
    loaded(browser, page_url)

    def scan(picture: bytes) -> tuple[str, str]:
        path = tmp_path / "picture.png"
        path.write_bytes(picture)
        browser.execute_script(
            "document.getElementById(arguments[0]).value = '';"
            "document.getElementById(arguments[1]).textContent = '';",
            field,
            status,
        )
        box = browser.find_element(By.CSS_SELECTOR, f"[data-target='{field}']")
        box.find_element(By.CSS_SELECTOR, ".scan-file").send_keys(str(path))
        WebDriverWait(browser, 30).until(
            lambda d: (
                d.find_element(By.ID, status).text
                or d.find_element(By.ID, field).get_attribute("value")
            )
        )
        return (
            browser.find_element(By.ID, field).get_attribute("value") or "",
            browser.find_element(By.ID, status).text,
        )

    # codes of two sizes (of one size jsQR reads neither: "no QR code found"): it read the
    # small one beside the large, and the large one beside a smaller one
    for big, small in ((6, 3), (8, 4)):
        picture = side_by_side(gray(render_png(a, scale=big)), gray(render_png(b, scale=small)))
        value, said = scan(picture)
        assert value == "" and "2 different QR codes" in said, (big, small, value, said)
    value, _ = scan(side_by_side(gray(render_png(a, scale=6)), gray(render_png(a, scale=3))))
    assert value == a
