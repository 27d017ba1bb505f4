"""What a credential or the chain states cannot disguise itself or reorder the verifier's page
(real Anvil, the service, headless Chromium).

The page wrote a credential's and the ledger's text (an issuer's name and DID, an employer, a
file name, reasons that quote them) as text nodes, so the browser applied what it carried: an
issuer registered as "HS<ZWSP>BC<U+202E>" read as "HSBC", and its right-to-left override
reversed what followed it on the line: the issuer's DID, shown beside its name so the officer
can tell look-alikes apart, read backwards. Every control and format character of such text is
now shown escaped as the CLI prints it (``\\u202e``, ``\\u200b``: ``credential.text.printable`` and its
twin ``printable`` in app.js, checked to agree below), and each piece of untrusted text is
isolated (``<bdi>``), so even a right-to-left name cannot move the words around it. The
browser wallet's page (its list of credentials, its consent screen) does the same, with its own
twin (``printable`` in wallet/static/core.js).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential.qr import encode_payload, render_png
from talentproof.credential.text import printable
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue
from tests.pages import chromium_open, verifier_service, wallet_page

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# an issuer name that renders as "HSBC" and reverses the rest of its line
HOSTILE = "HS\u200bBC\u202e"
HOSTILE_DID = "did:web:hsbc-look-alike.example"

# characters the page and the CLI must escape alike, and some they must leave as they are
HIDDEN = (
    "\x00\x07\t\n\r\x1b\x7f\x85\x9b\xad\u061c\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
    "\ufff9\U000e0001\U000e0041"
)
SHOWN = "HSBC é 中文 עברית العربية \u00a0\u3000\\\"'<>&\U0001f600\u0301"


@pytest.fixture(scope="module")
def server(vchain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with verifier_service(vchain, tmp_path_factory.mktemp("page-text")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_open(tmp_path_factory.mktemp("chromium-profile"), 1200, 2400) as driver:
        yield driver


def _hidden_in(text: str) -> list[str]:
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
    ]


# The x positions, on screen, of the characters of the first text node under ``root`` that
# holds ``needle``, from its first character to its last: increasing when it reads left to right.
_POSITIONS = """
const [root, needle] = arguments;
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const at = n.data.indexOf(needle);
  if (at < 0) continue;
  const xs = [];
  for (let i = at; i < at + needle.length; i++) {
    const r = document.createRange();
    r.setStart(n, i);
    r.setEnd(n, i + 1);
    xs.push(r.getBoundingClientRect().left);
  }
  return xs;
}
return null;
"""


def test_a_hostile_issuer_name_is_shown_escaped_and_moves_nothing(
    vchain: Any, server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    real = vchain.issuers.get(HOSTILE)
    fake = vchain.add_issuer(HOSTILE, (EMPLOYMENT,), did=HOSTILE_DID, fresh_account=True)
    if real is None:  # on chain only: the session's other tests never pick it
        del vchain.issuers[HOSTILE]
    s = holder().public_key.did_key
    emp = issue(vchain, fake, EMPLOYMENT, s, start="2010-01-01")
    deg = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s, level="master")
    files = []
    for name, doc in (("employment", emp), ("degree", deg)):
        f = tmp_path / f"{name}.png"
        f.write_bytes(render_png(encode_payload(doc), scale=5))
        files.append(f)

    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "profession")).options) > 1)
    Select(browser.find_element(By.ID, "profession")).select_by_value("hk-dlt-expert")
    browser.find_element(By.ID, "files").send_keys("\n".join(str(f) for f in files))
    browser.find_element(By.ID, "verify").click()
    verdict = wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    browser.save_screenshot(str(tmp_path / "hostile-issuer.png"))

    # the look-alike is accredited for employment, but it is not HSBC: valid, does not meet
    assert verdict.get_attribute("data-outcome") == "VALID_NOT_MET"
    label = browser.execute_script("return document.getElementById('verdict-label').innerText")
    assert label == "DOES NOT MEET THE PROFESSION (credentials valid)"

    # nothing the page shows carries a control or format character: each is shown escaped
    page = browser.execute_script("return document.getElementById('result').innerText")
    assert _hidden_in(page) == [], page
    shown = printable(HOSTILE)
    assert shown == "HS\\u200bBC\\u202e"
    card = browser.find_element(By.ID, "credential-0")
    card_text = browser.execute_script("return arguments[0].innerText", card)
    assert f"issued by {shown}" in card_text, card_text
    assert f"({HOSTILE_DID})" in card_text, card_text
    assert shown in browser.find_element(By.CSS_SELECTOR, "#credential-0 dl.claims").text

    # and what follows the name reads left to right as written: the DID, and the name itself
    # (before: "HSBC.(mrif detsil a ton si (elpmaxe.ekila-kool-cbsh:bew:did)" at the top)
    reason = browser.find_element(By.ID, "verdict-reason")
    for root, needle in (
        (reason, f"({HOSTILE_DID}) is not a listed firm"),
        (card, HOSTILE_DID),
        (browser.find_element(By.ID, "profession-result"), f"({HOSTILE_DID}) is not a listed"),
    ):
        xs = browser.execute_script(_POSITIONS, root, needle)
        assert xs is not None, (needle, root.text)
        assert xs == sorted(xs), (needle, xs)
    # the name is set apart from the words around it (its own isolated element)
    isolated = browser.execute_script(
        """const out = [];
        const walker = document.createTreeWalker(arguments[0], NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          if (!n.data.includes('HS')) continue;
          let e = n.parentElement;
          while (e && getComputedStyle(e).unicodeBidi !== 'isolate') e = e.parentElement;
          out.push(e !== null && arguments[0].contains(e));
        }
        return out;""",
        card,
    )
    assert isolated and all(isolated), isolated


def test_the_page_and_the_cli_escape_the_same_characters(server: str, browser: Any) -> None:
    """app.js's ``printable`` is the twin of ``credential.text.printable``: the same characters escaped,
    the same way, and the others left as they are."""
    browser.get(server + "/")
    for ch in HIDDEN + SHOWN:
        assert unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in SHOWN
        page = browser.execute_script("return printable(arguments[0])", f"a{ch}b")
        assert page == printable(f"a{ch}b"), (f"U+{ord(ch):04X}", page)
    assert all(printable(ch) != ch for ch in HIDDEN)
    assert all(printable(ch) == ch for ch in SHOWN)
    whole = HIDDEN + SHOWN
    assert browser.execute_script("return printable(arguments[0])", whole) == printable(whole)


@pytest.fixture(scope="module")
def wallet_url() -> Iterator[str]:
    with wallet_page() as url:
        yield url


def test_the_wallet_page_shows_a_hostile_issuer_name_escaped(
    browser: Any, wallet_url: str, tmp_path: Path
) -> None:
    """The browser wallet lists what its credentials state (the issuer's name, the employer):
    the same name neither looks like "HSBC" nor reverses the validity date after it."""
    from selenium.webdriver.common.by import By

    from tests.wallet.test_wallet_page_checks import hold
    from tests.wallet.wallet_helpers import issue as wallet_issue

    holder_did = holder().public_key.did_key
    doc = wallet_issue(
        "employment",
        holder_did,
        issuer={"id": "did:web:localhost%3A9", "name": HOSTILE},
        id="urn:uuid:00000000-0000-4000-8000-00000000abcd",
    )
    held = hold(browser, wallet_url, [{"credential": doc, "issuer": "http://127.0.0.1:9"}])
    assert list(held) == [doc["id"]], held
    browser.save_screenshot(str(tmp_path / "wallet.png"))
    li = browser.find_element(By.CSS_SELECTOR, "#credentials li.credential")
    text = browser.execute_script("return arguments[0].innerText", li)
    assert _hidden_in(text) == [], text
    assert f"issued by {printable(HOSTILE)} · " in text, text
    meta = li.find_element(By.CSS_SELECTOR, ".meta")
    after = " · no expiry date" if "no expiry date" in meta.text else " · valid until"
    xs = browser.execute_script(_POSITIONS, meta, after)
    assert xs is not None and xs == sorted(xs), (meta.text, xs)


def test_the_wallet_and_the_cli_escape_the_same_characters(browser: Any, wallet_url: str) -> None:
    browser.get(wallet_url)
    for ch in HIDDEN + SHOWN:
        page = browser.execute_script(
            "return window.TalentProofWallet.printable(arguments[0])", f"a{ch}b"
        )
        assert page == printable(f"a{ch}b"), (f"U+{ord(ch):04X}", page)
    whole = HIDDEN + SHOWN
    assert browser.execute_script(
        "return window.TalentProofWallet.printable(arguments[0])", whole
    ) == printable(whole)
