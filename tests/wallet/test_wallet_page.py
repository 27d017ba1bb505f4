"""The browser wallet (wallet/static, served by `talentproof wallet serve`) in headless Chromium:
its JCS, eddsa-jcs-2022 presentations and identity-document commitments equal the Python ones
(credential.jcs, credential.presentation, credential.person), and the page makes and keeps a key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from talentproof.credential.errors import InvalidSignature
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.person import commit_identity_document, new_salt
from talentproof.credential.presentation import presentation_salt, verify_presentation
from tests.interop.jsonld_support import assert_complete_in_both_processors
from tests.pages import chromium, chromium_open, wallet_page

from .wallet_helpers import issue

pytestmark = [pytest.mark.browser]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    with wallet_page() as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_open(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def loaded(browser: Any, url: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )
    return browser


def run_js(browser: Any, body: str, *args: Any) -> Any:
    """Run an async function body in the page (``W`` = window.TalentProofWallet); its result."""
    script = (
        "const done = arguments[arguments.length - 1]; const W = window.TalentProofWallet;"
        f"(async (args) => {{ {body} }})(Array.from(arguments).slice(0, -1))"
        ".then((r) => done({ok: r}), (e) => done({error: String(e && e.stack || e)}));"
    )
    out = browser.execute_async_script(script, *args)
    assert "error" not in out, out.get("error")
    return out["ok"]


def test_server_hands_out_the_page_with_its_headers_and_nothing_else(page_url: str) -> None:
    import httpx

    r = httpx.get(page_url)
    assert r.status_code == 200 and "TalentProof wallet" in r.text
    assert "connect-src http: https:" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    for name in ("core.js", "wallet.js", "jsQR.js", "style.css"):
        assert httpx.get(page_url + name).status_code == 200
    assert httpx.get(page_url + "jsQR.js").text.startswith("/*! jsQR 1.4.0")
    assert httpx.get(page_url + "../serve.py").status_code == 404
    assert httpx.get(page_url + "nothing/").status_code == 404


def test_wallet_serve_prints_its_url_and_stops_on_ctrl_c() -> None:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "talentproof", "wallet", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        assert "TalentProof wallet" in httpx.get(url.group(0)).text
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_jcs_equals_the_python_canonicalizer(browser: Any, page_url: str) -> None:
    loaded(browser, page_url)
    docs = [
        {"b": 1, "a": [True, None, 1.5, -0.0, 1e21, 1e-7, 1.2345678901234568e20], "é": "\u2028"},
        {"\U0001f600": 1, "\uffff": 2, "a\u0000": 'ctl\u0001\n\t"\\/', "": {}},
        {"num": [0.1, 100, 2.5e-5, 9007199254740991, 5e-324, 1.7976931348623157e308]},
        issue("degree", Ed25519SigningKey.from_seed(bytes(32)).public_key.did_key),
    ]
    for doc in docs:
        js = run_js(browser, "return W.canonicalize(args[0]);", doc)
        assert js.encode("utf-8") == canonicalize(doc), doc


def test_presentation_built_in_chromium_verifies_in_python(browser: Any, page_url: str) -> None:
    """The page's eddsa-jcs-2022 presentation for a given key (imported as a JWK) passes
    credential.presentation.verify_presentation, with its salt as identityDocumentSalt, and is
    complete JSON-LD in PyLD and jsonld.js safe mode (what it sends over OpenID4VP; issue 14.1)."""
    loaded(browser, page_url)
    seed = hashlib.sha256(b"browser wallet holder").digest()
    key = Ed25519SigningKey.from_seed(seed)
    did = key.public_key.did_key
    creds = [issue("degree", did), issue("employment", did)]
    salt = new_salt()
    jwk = {"kty": "OKP", "crv": "Ed25519", "d": b64url(seed), "x": b64url(key.public_key.raw)}
    vp = run_js(
        browser,
        """
        const [jwk, creds, salt] = args;
        const privateKey = await crypto.subtle.importKey("jwk", jwk, {name: "Ed25519"}, false, ["sign"]);
        const holder = {privateKey, publicKey: W.b64urlDecode(jwk.x)};
        if (W.didKey(holder.publicKey) !== args[3]) throw new Error("did:key differs");
        return W.createPresentation(creds, holder, {challenge: "nonce-123", domain:
          "decentralized_identifier:did:key:z6MkVerifier", salt});
        """,
        jwk,
        creds,
        salt,
        did,
    )
    got = verify_presentation(
        vp, challenge="nonce-123", domain="decentralized_identifier:did:key:z6MkVerifier"
    )
    assert [c["id"] for c in got] == [c["id"] for c in creds]
    assert presentation_salt(vp) == salt
    assert vp["holder"] == did
    assert vp["proof"]["verificationMethod"] == key.public_key.verification_method
    assert_complete_in_both_processors([("browser wallet presentation", vp)])
    # any change to what was signed is refused
    vp["identityDocumentSalt"] = new_salt()
    with pytest.raises(InvalidSignature):
        verify_presentation(
            vp, challenge="nonce-123", domain="decentralized_identifier:did:key:z6MkVerifier"
        )


def test_commitment_equals_person_commit_identity_document(browser: Any, page_url: str) -> None:
    loaded(browser, page_url)
    salt = new_salt()
    for doc_type, country, number in (
        ("HKID", "HK", "a 123456 (7)"),
        ("Passport", "GB", "123-456/789.0"),
        ("MainlandResidentIdentityCard", "CN", "11010519491231002X"),
    ):
        obj = run_js(
            browser, "return W.commitIdentityDocument(...args);", doc_type, country, number, salt
        )
        assert obj == {
            "documentType": doc_type,
            "issuingCountry": country,
            "commitment": commit_identity_document(doc_type, country, number, salt),
        }


def test_request_object_signature_is_checked_with_the_client_id_key(
    browser: Any, page_url: str
) -> None:
    """A JWT signed by the did:key verifies in the page; one signed by another key does not."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    loaded(browser, page_url)
    seed = hashlib.sha256(b"verifier").digest()
    verifier = Ed25519SigningKey.from_seed(seed)
    token = jwt.encode(
        {"client_id": "x", "nonce": "n"},
        Ed25519PrivateKey.from_private_bytes(seed),
        algorithm="EdDSA",
        headers={"typ": "oauth-authz-req+jwt"},
    )
    other = jwt.encode({"client_id": "x"}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    script = """
        const raw = W.rawOfDidKey(args[1]);
        try { return (await W.verifyJwt(args[0], raw)).payload; } catch (e) { return e.message; }
    """
    assert run_js(browser, script, token, verifier.public_key.did_key) == {
        "client_id": "x",
        "nonce": "n",
    }
    assert "does not verify" in run_js(browser, script, other, verifier.public_key.did_key)


def test_page_makes_a_key_and_keeps_it(browser: Any, page_url: str) -> None:
    from selenium.webdriver.common.by import By

    loaded(browser, page_url)
    browser.execute_async_script(
        "const done = arguments[0]; const r = indexedDB.deleteDatabase('talentproof-wallet');"
        "r.onsuccess = r.onerror = r.onblocked = () => done(true);"
    )
    loaded(browser, page_url)
    assert browser.find_element(By.ID, "key-create").is_displayed()
    browser.find_element(By.ID, "key-create").click()
    from selenium.webdriver.support.ui import WebDriverWait

    did = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "did").text)
    assert did.startswith("did:key:z6Mk")
    stored = run_js(
        browser,
        """
        const d = await new Promise((ok, ko) => { const r = indexedDB.open('talentproof-wallet');
          r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
        const h = await new Promise((ok) => { const g = d.transaction('holder').objectStore('holder')
          .get('holder'); g.onsuccess = () => ok(g.result); });
        d.close();
        return {type: h.privateKey.type, extractable: h.privateKey.extractable,
                alg: h.privateKey.algorithm.name, salt: h.salt};
        """,
    )
    assert stored["type"] == "private" and stored["extractable"] is False
    assert stored["alg"] == "Ed25519" and len(stored["salt"]) == 22
    loaded(browser, page_url)  # kept across reloads
    assert browser.find_element(By.ID, "did").text == did
    browser.find_element(By.ID, "doc-number").send_keys("A123456(7)")
    browser.find_element(By.ID, "commit").click()
    shown = json.loads(
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "commitment").text)
    )
    assert shown == {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": commit_identity_document("HKID", "HK", "A123456(7)", stored["salt"]),
    }


def y4m_of(png: bytes, width: int = 640, height: int = 480) -> bytes:
    """One video frame (YUV4MPEG2, 4:2:0) showing the picture on white, for Chromium's fake
    camera (--use-file-for-fake-video-capture)."""
    import io

    from PIL import Image

    frame = Image.new("L", (width, height), 255)
    picture = Image.open(io.BytesIO(png)).convert("L")
    picture.thumbnail((height - 40, height - 40))
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    chroma = bytes([128]) * (width // 2) * (height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    return header + b"FRAME\n" + frame.tobytes() + chroma + chroma


def test_camera_scan_reads_an_offer(page_url: str, tmp_path: Any) -> None:
    """Scan with camera: getUserMedia (Chromium's fake camera showing a QR code), jsQR on each
    frame, the offer URI lands in the field and the scanner closes."""
    from talentproof.credential.qr import render_png

    offer = "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2Foffer%2F1"
    video = tmp_path / "camera.y4m"
    video.write_bytes(y4m_of(render_png(offer, scale=6)))
    driver = chromium(
        tmp_path / "profile",
        extra=(
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ),
    )
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        loaded(driver, page_url)
        driver.find_element(By.CSS_SELECTOR, "#offer-card .scan-camera").click()
        got = WebDriverWait(driver, 60).until(
            lambda d: d.find_element(By.ID, "offer-uri").get_attribute("value")
        )
        assert got == offer
        assert not driver.find_element(By.ID, "scanner").is_displayed()
    finally:
        driver.quit()
