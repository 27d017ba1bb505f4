"""``talentproof wallet list`` says VALID only for a credential whose signing key the issuer's
DID document lists (read at the DID's did:web address), as the browser wallet does.

The attack: a diploma mill speaking OpenID4VCI delivers, bound to the applicant's key, a degree
whose issuer is another institution's did:web ("The University of Hong Kong"), signed with the
mill's own key and anchored to a root of its own. The CLI checked the signature with the key the
verification method names (``did:web:hku.example#z6Mk<mill key>``: self-describing) and read no
DID document: "VALID" (signature valid; anchored), a degree every verifier refuses (the
university's keys and roots are on the ledger, the mill's are not). Now, when the wallet is
online, a key the issuer's document does not list makes the signature invalid, and a document
that cannot be read leaves the credential "not confirmed", never valid (``--offline`` reads
nothing, as before, and says so).

Real ``talentproof wallet list``; the institutions' DID documents are served over HTTP here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519SigningKey, did_web_document
from talentproof.wallet.store import Wallet
from tests.wallet.wallet_helpers import ISSUER_KEY, issue

OTHER_KEY = Ed25519SigningKey.from_seed(hashlib.sha256(b"the university's real key").digest())


@pytest.fixture
def institutions() -> Iterator[tuple[str, str]]:
    """(the DID of an institution whose document lists the key the helpers sign with, the DID
    of one whose document lists another key), both served on the loopback."""
    docs: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            doc = docs.get(self.path)
            data = json.dumps(doc).encode()
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    good = f"did:web:localhost%3A{port}:institutions:good"
    real = f"did:web:localhost%3A{port}:institutions:real"
    key = ISSUER_KEY.public_key
    docs["/institutions/good/did.json"] = did_web_document(good, {key.multibase: key})
    docs["/institutions/real/did.json"] = did_web_document(
        real, {OTHER_KEY.public_key.multibase: OTHER_KEY.public_key}
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield good, real
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_attack_a_key_the_issuer_does_not_list_is_not_valid_in_wallet_list(
    tmp_path: Path, institutions: tuple[str, str]
) -> None:
    good, real = institutions
    folder = tmp_path / "wallet"
    wallet = Wallet.init(folder)
    me = wallet.did()
    named = {
        "listed": issue(
            "degree", me, id="urn:uuid:1", issuer={"id": good, "name": "University of Testing"}
        ),
        "another key": issue(
            "degree", me, id="urn:uuid:2", issuer={"id": real, "name": "Real University"}
        ),
        "unreadable": issue(
            "degree",
            me,
            id="urn:uuid:3",
            issuer={"id": "did:web:hku.example", "name": "The University of Hong Kong"},
        ),
    }
    for doc in named.values():
        wallet.add_credential(doc)
    runner = CliRunner()
    out = runner.invoke(app, ["wallet", "list", "--json", "--wallet-dir", str(folder)]).output
    rows = {row["id"]: row for row in json.loads(out)["credentials"]}
    got = {what: rows[doc["id"]]["validity"] for what, doc in named.items()}
    assert got == {
        "listed": "valid",
        "another key": "invalid",  # VALID before
        "unreadable": "not confirmed",  # VALID before
    }, rows
    assert "not in" in rows[named["another key"]["id"]]["signature"], rows
    assert "hku.example" in rows[named["unreadable"]["id"]]["issuerKey"], rows
    text = runner.invoke(app, ["wallet", "list", "--wallet-dir", str(folder)]).output
    assert "NOT CONFIRMED" in text, text
    # offline: nothing is read, and the list says so
    offline = runner.invoke(
        app, ["wallet", "list", "--offline", "--json", "--wallet-dir", str(folder)]
    ).output
    assert {r["issuerKey"] for r in json.loads(offline)["credentials"]} == {
        "not checked (offline)"
    }, offline
