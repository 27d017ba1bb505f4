"""The ledger's JSON-RPC transport over TLS, and its reference twin: the same answers."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from talentproof.ledger._internal.transport import HttpTransport, StdlibTransport
from talentproof.ledger.errors import ChainUnavailable

_BODY = b'[{"jsonrpc":"2.0","id":1,"result":"0x7a69"}]'


class _Node(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).served += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    def log_message(self, *args: Any) -> None:
        pass


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "node.pem", tmp / "node.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture()
def tls_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[type[_Node], str]]:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted by the default context
    handler = type("Handler", (_Node,), {"served": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"https://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("transport", [HttpTransport, StdlibTransport])
def test_https_answers_over_one_kept_alive_connection(tls_node, transport):
    handler, url = tls_node
    t = transport(url, 5.0)
    assert t.post(b"[]") == t.post(b"[]") == [{"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}]
    assert handler.served == 2
    t.close()


def test_an_untrusted_certificate_is_chain_unavailable(tls_node, monkeypatch):
    _, url = tls_node
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(ChainUnavailable, match="unreachable"):
        HttpTransport(url, 5.0).post(b"[]")


def test_only_http_urls_are_accepted():
    for transport in (HttpTransport, StdlibTransport):
        with pytest.raises(ValueError, match="http"):
            transport("ws://127.0.0.1:8545", 1.0)
