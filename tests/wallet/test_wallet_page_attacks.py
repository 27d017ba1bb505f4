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
