"""The command-line wallet attacked by a malicious verifier or issuer (real HTTP, real wallet).

- **What a verifier or issuer writes cannot rewrite the wallet's screen.** ``talentproof wallet
  present`` printed the verifier's words raw before asking "Send?": the DCQL query ids and claim
  paths of a request object the verifier signs itself, and the credentials' text, which their
  issuer writes (``wallet list`` and ``accept`` print the latter too). A query id holding
  terminal control sequences (ESC [1A ESC [2K: cursor up, erase the line; ESC [8m: hide what
  follows) replaced the line naming where the answers go with a host of the verifier's
  choosing and hid the "WARNING: the answers go to ..., not to ..." line and the prompt: the
  holder typed "y" to a consent screen the verifier drew. Every control, format and separator
  character the wallet prints is now shown escaped (``\\x1b``, ``\\n``: `credential.text.printable`,
  as the verifier's CLI and both pages do).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier.oid4vp import oid4vp_state, request_object
from talentproof.wallet.store import Wallet

from .wallet_helpers import issue

ESC = "\x1b"
#: Cursor up, erase the line, draw a line of the attacker's, then hide everything after it.
FAKE = (
    f"{ESC}[1A{ESC}[2K\r  answers go to verifier.immd.gov.hk (https://verifier.immd.gov.hk){ESC}[8m"
)


def _hostile(out: str) -> list[str]:
    return [
        f"U+{ord(ch):04X}"
        for ch in out
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
    ]


class _Verifier(BaseHTTPRequestHandler):
    """A verifier of the attacker's: its own key, its own signed request object."""

    request_object = ""
    answers: list[bytes] = []  # noqa: RUF012 (the test's record of what it received)

    def do_GET(self) -> None:
        body = self.request_object.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/oauth-authz-req+jwt")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.answers.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_verifier() -> Iterator[tuple[str, type[_Verifier]]]:
    """(the openid4vp:// URI, the handler) of a request whose DCQL query id and claim path carry
    terminal control sequences, answered to another host than the request's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Verifier)
    port = server.server_address[1]
    st = oid4vp_state(Ed25519SigningKey.generate(), ttl=300, max_open=10, per_client=10)
    req = st.store.create("attacker", "hk-dlt-expert")
    degree, other = "degree" + FAKE, "other" + FAKE
    query = {
        "credentials": [
            {
                "id": degree,
                "format": "ldp_vc",
                "meta": {"type_values": [["DegreeCredential"]]},
                "claims": [{"path": ["credentialSubject", "name"]}],
            },
            {
                "id": other,
                "format": "ldp_vc",
                "claims": [{"path": ["credentialSubject", "name" + FAKE]}],
            },
        ],
        "credential_sets": [{"options": [[degree]]}, {"options": [[other]], "required": False}],
    }
    # the answers go to "localhost", the request came from 127.0.0.1: the wallet warns
    _Verifier.request_object = request_object(st, req, f"http://localhost:{port}", query)
    _Verifier.answers = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    uri = (
        f"openid4vp://?client_id={st.client_id}"
        f"&request_uri=http://127.0.0.1:{port}/oid4vp/requests/{req.ref}/request.jwt"
    )
    try:
        yield uri, _Verifier
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _wallet(tmp_path: Path) -> tuple[Path, Wallet]:
    folder = tmp_path / "wallet"
    wallet = Wallet.init(folder)
    return folder, wallet


def test_attack_a_verifiers_words_cannot_draw_the_consent_screen(
    tmp_path: Path, hostile_verifier: tuple[str, type[_Verifier]]
) -> None:
    uri, handler = hostile_verifier
    folder, wallet = _wallet(tmp_path)
    wallet.add_credential(issue("degree", wallet.did()))
    result = CliRunner().invoke(
        app,
        ["wallet", "present", uri, "--offline", "--wallet-dir", str(folder)],
        input="n\n",
        color=True,  # as on a terminal: the control sequences are written, not stripped
    )
    out = result.output
    assert result.exit_code == 1 and "nothing sent" in out, out
    assert _hostile(out) == [], out
    assert "WARNING: the answers go to localhost" in out, out
    assert "\\x1b[8m" in out, out  # shown, escaped
    assert handler.answers == []


def test_attack_an_issuers_words_cannot_rewrite_the_list(tmp_path: Path) -> None:
    folder, wallet = _wallet(tmp_path)
    me = wallet.did()
    wallet.add_credential(
        issue(
            "employment",
            me,
            issuer={"id": "did:web:hsbc.com.hk", "name": "HSBC" + FAKE},
            role="Engineer" + FAKE,
            valid_until=None,
        )
    )
    result = CliRunner().invoke(
        app, ["wallet", "list", "--offline", "--wallet-dir", str(folder)], color=True
    )
    out = result.output
    assert result.exit_code == 0, out
    assert _hostile(out) == [], out
    assert "HSBC\\x1b[1A" in out, out


def test_attack_a_credential_under_a_held_ones_id_is_kept_beside_it(tmp_path: Path) -> None:
    """Any issuer (or a verifier that saw a presentation) can write the id of a credential the
    holder holds. The wallet replaced the held credential with whatever came under its id: one
    offer from anyone deleted the holder's degree. Now only the same signed credential replaces
    it (its anchored copy), and a credential that is not is kept beside it."""
    _, wallet = _wallet(tmp_path)
    me = wallet.did()
    genuine = issue("degree", me)
    wallet.add_credential(genuine)
    forged = issue(
        "degree",
        me,
        id=genuine["id"],
        issuer={"id": "did:web:diploma-mill.example", "name": "The University of Hong Kong"},
        level="doctorate",
    )
    wallet.add_credential(forged)  # as `wallet accept` stores what an issuer sends
    held = [s.document for s in wallet.credentials()]
    assert genuine in held and forged in held and len(held) == 2, held
    # the same signed credential: stored once, the anchored copy kept over an unanchored one
    unanchored = issue("degree", me, anchored=False)
    assert unanchored == {**genuine, "proof": genuine["proof"][0]}
    wallet.add_credential(unanchored)
    wallet.add_credential(genuine)
    held = [s.document for s in wallet.credentials()]
    assert held.count(genuine) == 1 and unanchored not in held and len(held) == 2, held
    # and a credential named by that id is not whichever came first: the wallet asks which
    folder = tmp_path / "wallet"
    result = CliRunner().invoke(app, ["wallet", "qr", genuine["id"], "--wallet-dir", str(folder)])
    assert result.exit_code == 1, result.output
    assert "2 credentials have the id" in result.output, result.output
    assert "did:web:hku.hk" in result.output and "did:web:diploma-mill.example" in result.output
    out = tmp_path / "qr.png"
    result = CliRunner().invoke(
        app, ["wallet", "qr", "001", "--out", str(out), "--wallet-dir", str(folder)]
    )
    assert result.exit_code == 0 and out.exists(), result.output


@pytest.mark.parametrize("command", ["present", "accept"])
def test_attack_a_second_code_in_the_picture_is_not_answered_in_silence(
    tmp_path: Path, command: str
) -> None:
    """A picture of the officer's (or the institution's) QR code with a second code of the same
    kind beside it, an attacker's sticker on the counter or a screen it shares: the wallet read
    the first one zxing found, wherever it sat, and answered it: the holder's credentials and
    salt to the attacker's verifier, or the institution's transaction code to the attacker's
    token endpoint (with the real offer photographed too, the holder's credential bound to the
    attacker's key). A picture holding two different codes of the kind asked for is refused,
    naming how many; the same code twice is one."""
    from talentproof.credential.qr import render_png
    from tests.qr_pictures import gray, side_by_side, two_codes

    folder, _ = _wallet(tmp_path)
    a, b = two_codes("openid4vp" if command == "present" else "openid-credential-offer")
    picture = tmp_path / "two.png"
    picture.write_bytes(side_by_side(gray(render_png(a)), gray(render_png(b)), gap=40))
    args = ["wallet", command, "--image", str(picture), "--wallet-dir", str(folder)]
    result = CliRunner().invoke(app, [*args, *(["--tx-code", "123456"] * (command == "accept"))])
    assert result.exit_code == 2, result.output
    assert "2 different" in result.output, result.output
    # the same code twice is that code (read on: here it fails later, at the network)
    picture.write_bytes(side_by_side(gray(render_png(a)), gray(render_png(a)), gap=40))
    result = CliRunner().invoke(app, [*args, *(["--tx-code", "123456"] * (command == "accept"))])
    assert "different" not in result.output, result.output
