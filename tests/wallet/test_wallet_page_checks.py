"""The browser wallet's list says whether each credential is still valid, checked in headless
Chromium against an institution served here (its did:web document and status lists over HTTP,
signed with the Python code): the issuer's signature with the key its DID document lists, the
validity dates, the anchor proof's path and the revocation and suspension lists (their own
signatures checked). And the offline QR code: `talentproof wallet serve`'s ``POST /qr`` makes
it from the page, and the project's decoder reads the page's image back to the credential.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from talentproof.credential import integrity
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import Ed25519SigningKey, did_web_document
from talentproof.credential.qr import decode_image, decode_payload
from tests.pages import chromium_open

from .test_wallet_page import loaded, page_url, run_js  # noqa: F401  (page_url: a fixture)
from .wallet_helpers import ISSUER_KEY, issue

pytestmark = [pytest.mark.browser]

HOLDER = Ed25519SigningKey.from_seed(hashlib.sha256(b"page checks holder").digest())
OTHER_KEY = Ed25519SigningKey.from_seed(hashlib.sha256(b"not the issuer").digest())


class Institution:
    """An issuer's public documents on 127.0.0.1 (did:web:localhost%3A<port>:institutions:test):
    did.json and the revocation and suspension lists, any origin may read them."""

    def __init__(self) -> None:
        docs: dict[str, Any] = {}  # path -> JSON
        self.docs = docs
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                doc = docs.get(self.path)
                data = json.dumps(doc).encode() if doc is not None else b'{"detail":"no"}'
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "max-age=60")  # as the issuer's status lists
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://localhost:{self.port}/institutions/test"
        self.did = f"did:web:localhost%3A{self.port}:institutions:test"
        self.vm = f"{self.did}#{ISSUER_KEY.public_key.multibase}"
        self.docs["/institutions/test/did.json"] = did_web_document(
            self.did, {ISSUER_KEY.public_key.multibase: ISSUER_KEY.public_key}
        )
        self.set_status("revocation", set())
        self.set_status("suspension", set())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def status_entries(self, index: int) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{self.url}/status/{purpose}#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": str(index),
                "statusListCredential": f"{self.url}/status/{purpose}",
            }
            for purpose in ("revocation", "suspension")
        ]

    def set_status(
        self,
        purpose: str,
        indexes: set[int],
        key: Ed25519SigningKey = ISSUER_KEY,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> None:
        """Sign the ``purpose`` list with these bits set, dated ``valid_from`` (now: the issuer
        signs each list when it is read) and, when given, ``valid_until``."""
        import gzip

        bits = bytearray(16384)
        for i in indexes:
            bits[i // 8] |= 0x80 >> (i % 8)
        encoded = (
            "u"
            + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode()
        )
        url = f"{self.url}/status/{purpose}"
        doc = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.did,
            "validFrom": (valid_from or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": encoded,
            },
        }
        if valid_until is not None:
            doc["validUntil"] = valid_until.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.docs[f"/institutions/test/status/{purpose}"] = integrity.sign(
            doc,
            key,
            verification_method=f"{self.did}#{key.public_key.multibase}",
            created=datetime(2026, 11, 21, tzinfo=UTC),
        )

    def credential(self, kind: str, index: int, **overrides: Any) -> dict[str, Any]:
        """A credential of this institution about HOLDER, with status entries at ``index``."""
        return issue(
            kind,
            HOLDER.public_key.did_key,
            issuer={"id": self.did, "name": "Test Institution"},
            id=f"urn:uuid:{uuid.UUID(int=index + 1)}",
            status=self.status_entries(index),
            **overrides,
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def institution() -> Iterator[Institution]:
    inst = Institution()
    try:
        yield inst
    finally:
        inst.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_open(tmp_path_factory.mktemp("checks-profile"), 375, 1400) as driver:
        yield driver


def hold(browser: Any, page_url: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Put these entries ({credential, issuer}) in the page's IndexedDB (replacing what it held),
    reload, and wait for the checks: each credential id -> (data-state, its text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    loaded(browser, page_url)
    run_js(
        browser,
        """
        const d = await new Promise((ok, ko) => { const r = indexedDB.open('talentproof-wallet');
          r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
        await new Promise((ok, ko) => {
          const t = d.transaction('credentials', 'readwrite'), s = t.objectStore('credentials');
          s.clear();
          args[0].forEach((e, i) => s.put({id: e.credential.id, credential: e.credential,
            received: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), issuer: e.issuer}));
          t.oncomplete = ok; t.onerror = () => ko(t.error);
        });
        d.close();
        """,
        entries,
    )
    loaded(browser, page_url)
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "credentials").get_attribute("data-checked") == "true"
    )
    return {
        li.get_attribute("data-id"): (li.get_attribute("data-state"), li.text)
        for li in browser.find_elements(By.CSS_SELECTOR, "#credentials li.credential")
    }


def test_each_credential_is_checked_in_the_browser(
    browser: Any, page_url: str, institution: Institution
) -> None:
    valid = institution.credential("degree", 1)
    revoked = institution.credential("employment", 2)
    suspended = institution.credential("training", 3)
    tampered = copy.deepcopy(institution.credential("degree", 4))
    tampered["credentialSubject"]["degree"]["level"] = "doctorate"
    expired = institution.credential("training", 5, valid_until=datetime(2026, 11, 30, tzinfo=UTC))
    pending = institution.credential("employment", 6, anchored=False)
    broken_path = copy.deepcopy(institution.credential("degree", 7))
    broken_path["proof"][1]["path"][0] = "0x" + "00" * 32
    # signed by a key the institution's DID document does not list (its fragment names it)
    foreign = issue(
        "degree",
        HOLDER.public_key.did_key,
        issuer={"id": institution.did, "name": "Test Institution"},
        id=f"urn:uuid:{uuid.UUID(int=99)}",
        status=institution.status_entries(8),
    )
    foreign_signed = integrity.sign(
        {k: v for k, v in foreign.items() if k != "proof"},
        OTHER_KEY,
        verification_method=f"{institution.did}#{OTHER_KEY.public_key.multibase}",
        created=datetime(2026, 11, 21, tzinfo=UTC),
    )
    institution.set_status("revocation", {2})
    institution.set_status("suspension", {3})
    held = [valid, revoked, suspended, tampered, expired, pending, broken_path, foreign_signed]
    states = hold(browser, page_url, [{"credential": c, "issuer": institution.url} for c in held])
    assert {k: s for k, (s, _) in states.items()} == {
        valid["id"]: "valid",
        revoked["id"]: "revoked",
        suspended["id"]: "suspended",
        tampered["id"]: "signature-invalid",
        expired["id"]: "expired",
        pending["id"]: "pending",
        broken_path["id"]: "anchor-invalid",
        foreign_signed["id"]: "signature-invalid",
    }, states
    text = dict(states)
    assert "signature valid · not revoked · not suspended" in text[valid["id"]][1]
    assert "REVOKED" in text[revoked["id"]][1] and "revoked" in text[revoked["id"]][1]
    assert "signature invalid" in text[tampered["id"]][1]
    assert "expired 2026-11-30" in text[expired["id"]][1]
    # the did:web document and both lists were fetched from the institution, once per pass
    assert sorted(set(institution.requests)) == [
        "/institutions/test/did.json",
        "/institutions/test/status/revocation",
        "/institutions/test/status/suspension",
    ]
    assert len(institution.requests) == 3, institution.requests
    # the details say what was checked, and what the page cannot check
    from selenium.webdriver.common.by import By

    item = browser.find_element(By.CSS_SELECTOR, f"li[data-id='{valid['id']}']")
    item.find_element(By.CSS_SELECTOR, "details summary").click()
    details = item.find_element(By.CSS_SELECTOR, "details").text
    assert f"listed in {institution.did}'s DID document" in details, details
    assert "its Merkle path leads to the anchored root" in details
    assert "Not checked here: whether that root is on the ledger" in details
    browser.save_screenshot("/tmp/wallet-checks-375.png")


def test_revocation_is_seen_at_the_next_check(
    browser: Any, page_url: str, institution: Institution
) -> None:
    """The list is read again (no HTTP cache) when the page checks again."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cred = institution.credential("employment", 11)
    states = hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
    assert states[cred["id"]][0] == "valid"
    institution.set_status("revocation", {11})
    browser.find_element(By.ID, "recheck").click()
    from selenium.common.exceptions import StaleElementReferenceException

    # (the list is rendered again: an item read mid-render is read again)
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f"li[data-id='{cred['id']}']").get_attribute(
                "data-state"
            )
            == "revoked"
        )
    )


def test_a_list_not_signed_by_the_issuer_or_an_unreachable_issuer_is_not_checked(
    browser: Any, page_url: str, institution: Institution
) -> None:
    cred = institution.credential("degree", 12)
    institution.set_status("revocation", {12}, key=OTHER_KEY)  # a forged list saying revoked
    states = hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
    state, text = states[cred["id"]]
    assert state == "unchecked" and "revocation not checked" in text, states
    # the institution is gone: the signature is still checked with the key the credential
    # names, the rest is "not checked (offline)"; a tampered one is still caught
    institution.close()
    tampered = copy.deepcopy(institution.credential("employment", 13))
    tampered["credentialSubject"]["employment"]["role"] = "Chief Executive"
    entries = [{"credential": c, "issuer": institution.url} for c in (cred, tampered)]
    states = hold(browser, page_url, entries)
    assert states[cred["id"]][0] == "unchecked", states
    assert "signature valid" in states[cred["id"]][1]
    assert states[tampered["id"]][0] == "signature-invalid", states


def test_an_old_or_expired_status_list_is_not_confirmed(
    browser: Any, page_url: str, institution: Institution
) -> None:
    """The twin of tests/security/test_attack_wallet_status_list_replayed.py: a genuinely signed
    list from before a revocation, replayed an hour later, reads "not confirmed (the status list
    is 60 minutes old ...)", never "not revoked" or "valid"; so does one past its validUntil or
    dated in the future. One within the bound (the issuer's 300 s stale serving + 60 s ttl)
    counts."""
    cred = institution.credential("degree", 14)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    institution.set_status("revocation", set(), valid_from=hour_ago)
    states = hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
    state, text = states[cred["id"]]
    assert state == "unchecked", states
    assert "not revoked" not in text and "valid" != state, text
    assert "revocation: not confirmed (the status list is 60 minutes old" in text, text
    assert "not suspended" in text, text  # the suspension list is fresh
    for valid_from, valid_until, words in (
        (hour_ago, datetime.now(UTC) - timedelta(seconds=5), "the status list expired"),
        (datetime.now(UTC) + timedelta(hours=1), None, "the status list is valid only from"),
    ):
        institution.set_status("revocation", set(), valid_from=valid_from, valid_until=valid_until)
        states = hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
        state, text = states[cred["id"]]
        assert state == "unchecked" and f"revocation: not confirmed ({words}" in text, states
    institution.set_status(
        "revocation", set(), valid_from=datetime.now(UTC) - timedelta(seconds=300)
    )
    states = hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
    assert states[cred["id"]][0] == "valid", states


def png_of_page_qr(browser: Any) -> bytes:
    """The QR image the page shows, pixel for pixel at its natural size (drawn on a canvas in
    the page: the CSP lets the page fetch nothing but http(s), so not its own blob: URL)."""
    data = run_js(
        browser,
        """
        const img = document.getElementById('qr-image');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        c.getContext('2d').drawImage(img, 0, 0);
        return c.toDataURL('image/png');
        """,
    )
    assert data.startswith("data:image/png;base64,")
    return base64.b64decode(data.split(",", 1)[1])


def test_offline_qr_from_the_page_decodes_to_the_credential(
    browser: Any, page_url: str, institution: Institution, tmp_path: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cred = institution.credential("degree", 21)
    hold(browser, page_url, [{"credential": cred, "issuer": institution.url}])
    browser.find_element(By.CSS_SELECTOR, f"li[data-id='{cred['id']}'] .show-qr").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "qr-status").get_attribute("data-state") in ("ok", "error")
    )
    assert browser.find_element(By.ID, "qr-status").get_attribute("data-state") == "ok", (
        browser.find_element(By.ID, "qr-status").text
    )
    browser.save_screenshot("/tmp/wallet-qr-375.png")
    png = png_of_page_qr(browser)
    decoded = decode_payload(decode_image(png))
    assert decoded == cred
    assert canonicalize(decoded) == canonicalize(cred)  # byte for byte: its signature holds
    # a screenshot of the dialog reads too (what a verifier's camera sees)
    shot = browser.find_element(By.ID, "qr-image").screenshot_as_png
    assert decode_payload(decode_image(shot)) == cred
    browser.find_element(By.ID, "qr-close").click()
    assert not browser.find_element(By.ID, "qr-view").is_displayed()


def test_qr_endpoint_serves_the_page_only(page_url: str, institution: Institution) -> None:
    cred = institution.credential("training", 22)
    body = json.dumps(cred)
    json_ct = {"Content-Type": "application/json"}
    ok = httpx.post(page_url + "qr", content=body, headers=json_ct)
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert decode_payload(decode_image(ok.content)) == cred
    assert int(ok.headers["x-qr-version"]) <= 40
    # another site's page: refused whatever it sends
    cross = httpx.post(
        page_url + "qr", content=body, headers={**json_ct, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and "only the wallet page" in cross.json()["error"]
    site = httpx.post(
        page_url + "qr", content=body, headers={**json_ct, "Sec-Fetch-Site": "cross-site"}
    )
    assert site.status_code == 403
    # a DNS name rebound to 127.0.0.1: same "origin" to the browser, but not this server's name
    port = page_url.rsplit(":", 1)[1].strip("/")
    rebound = httpx.post(
        page_url + "qr",
        content=body,
        headers={
            **json_ct,
            "Host": f"evil.example:{port}",
            "Origin": f"http://evil.example:{port}",
        },
    )
    assert rebound.status_code == 403
    named = httpx.post(
        page_url.replace("127.0.0.1", "localhost") + "qr", content=body, headers=json_ct
    )
    assert named.status_code == 200
    form = httpx.post(page_url + "qr", content=body, headers={"Content-Type": "text/plain"})
    assert form.status_code == 415 and "application/json" in form.json()["error"]
    big = httpx.post(page_url + "qr", content=" " * 300_000, headers=json_ct)
    assert big.status_code == 413
    notjson = httpx.post(page_url + "qr", content="{", headers=json_ct)
    assert notjson.status_code == 400 and "expected a credential as JSON" in notjson.json()["error"]
    other = httpx.post(page_url + "qr", content='{"a": 1}', headers=json_ct)
    assert other.status_code == 400 and "verifiable credential" in other.json()["error"]
    assert httpx.post(page_url + "elsewhere", content=body, headers=json_ct).status_code == 404


def test_merkle_path_and_status_bits_equal_the_python_ones(browser: Any, page_url: str) -> None:
    """The page's RFC 9162 root from an inclusion path, for every leaf of trees of 1 to 13
    leaves, is credential.merkle's root; its Bitstring Status List reading is
    wallet.inspect.status_bit's; a path one hash short or long is refused."""
    import gzip

    from talentproof.credential.merkle import MerkleTree
    from talentproof.wallet.inspect import status_bit

    loaded(browser, page_url)
    cases = []
    for size in range(1, 14):
        hashes = [hashlib.sha256(bytes([size, i])).digest() for i in range(size)]
        tree = MerkleTree(hashes)
        for i in range(size):
            p = tree.proof(i)
            anchor = {
                "leafIndex": p.leaf_index,
                "treeSize": p.tree_size,
                "path": ["0x" + h.hex() for h in p.path],
            }
            cases.append([hashes[i].hex(), anchor, tree.root.hex()])
    got = run_js(
        browser,
        """
        const un = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
        const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
        const out = [];
        for (const [leaf, anchor] of args[0]) out.push(hex(await W.anchorRoot(un(leaf), anchor)));
        const [leaf, anchor] = args[0][args[0].length - 1];
        const errors = [];
        for (const path of [anchor.path.slice(1), [...anchor.path, anchor.path[0]]]) {
          try { await W.anchorRoot(un(leaf), {...anchor, path}); errors.push(null); }
          catch (e) { errors.push(e.message); }
        }
        return {roots: out, errors};
        """,
        cases,
    )
    assert got["roots"] == [root for _, _, root in cases]
    assert all(e and "hashes" in e for e in got["errors"]), got["errors"]

    bits = bytearray(2048)
    for i in (0, 7, 8, 1000, 16383):
        bits[i // 8] |= 0x80 >> (i % 8)
    encoded = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits))).rstrip(b"=").decode()
    indexes = [0, 1, 6, 7, 8, 9, 999, 1000, 1001, 16382, 16383]
    page = run_js(
        browser,
        "const out = []; for (const i of args[1]) out.push(await W.statusBit(args[0], i));"
        "let outside; try { await W.statusBit(args[0], 16384); } catch (e) { outside = e.message; }"
        "return {out, outside};",
        encoded,
        indexes,
    )
    assert page["out"] == [status_bit(encoded, i) for i in indexes]
    assert page["out"].count(True) == 5
    assert "outside the list of 16384 entries" in page["outside"]


def test_the_status_list_dates_rule_is_the_same_in_both_wallets(
    browser: Any, page_url: str
) -> None:
    """The page's ``statusListDates`` and the CLI's `status_list_dates` agree on hand-made and
    hostile dates (fresh, at and past the bound, future, expired, missing, unreadable, not a
    string, offsets)."""
    from talentproof.wallet.inspect import STATUS_LIST_MAX_AGE_S, status_list_dates

    now = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)

    def at(seconds: float) -> str:
        return (now + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    docs: list[dict[str, Any]] = [
        {"validFrom": at(0)},
        {"validFrom": at(-STATUS_LIST_MAX_AGE_S)},
        {"validFrom": at(-STATUS_LIST_MAX_AGE_S - 1)},
        {"validFrom": at(-3600)},
        {"validFrom": at(-86400 * 16)},
        {"validFrom": at(59)},
        {"validFrom": at(61)},
        {"validFrom": at(-10), "validUntil": at(-1)},
        {"validFrom": at(-10), "validUntil": at(1)},
        {"validFrom": at(-10), "validUntil": 5},
        {"validFrom": at(-10), "validUntil": "yesterday"},
        {},
        {"validFrom": 1733572800},
        {"validFrom": "not a date"},
        {"validFrom": "2026-12-07T20:00:00+08:00"},
        {"validFrom": "2026-12-07T19:00:00+08:00"},
    ]
    loaded(browser, page_url)
    page = run_js(
        browser,
        "return args[0].map((d) => W.statusListDates(d, new Date(args[1])));",
        docs,
        now.isoformat(),
    )
    assert page == [status_list_dates(d, now) for d in docs]
