"""``talentproof wallet serve``: the browser wallet, a static page served on this computer.

The page (wallet/static: index.html, core.js, wallet.js, style.css and the vendored jsQR 1.4.0)
makes and keeps the holder's key in the browser (WebCrypto Ed25519, a non-extractable CryptoKey
in IndexedDB) and talks to the issuer and the verifier the applicant chooses, nothing else. This
server only hands out those files, on 127.0.0.1 by default (a secure context for WebCrypto and
the camera), and logs nothing.

It also makes the offline single-credential QR code (``POST /qr``, the credential's JSON in,
a PNG out; `talentproof.credential.qr`, as ``talentproof wallet qr`` makes it): the TP1 format
compresses with preset DEFLATE dictionaries that the browser's CompressionStream cannot use, so
the page hands the credential to this process, the applicant's own, on this computer. Only the
page itself may ask (same origin, JSON, at most `MAX_QR_BODY` bytes).

And before the page sends a presentation, what the holder should know about where it goes
(``GET /answer-warnings?request_uri=...&response_uri=...``: `wallet.oid4vp.answer_warnings`,
the rule ``talentproof wallet present`` applies, as ``{"warnings": [...]}``), so the page and
the CLI warn alike.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import typer

__all__ = ["MAX_QR_BODY", "STATIC", "WalletPageHandler", "make_server", "serve_command"]

STATIC = Path(__file__).resolve().parent / "static"
"""The page's files."""

MAX_QR_BODY = 256 * 1024
"""The largest credential ``POST /qr`` reads (bytes of JSON); one QR code holds far less."""

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # the page's own files; fetch() to any http(s) issuer or verifier the applicant chooses
    "Content-Security-Policy": (
        "default-src 'self'; connect-src http: https:; img-src 'self' data: blob:; "
        "media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Permissions-Policy": "camera=(self)",
}


class WalletPageHandler(SimpleHTTPRequestHandler):
    """Static files from `STATIC` with the page's security headers; no directory listings."""

    def end_headers(self) -> None:
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        """The page's files; ``GET /answer-warnings``: `answer_warnings` of the query's URLs."""
        path, _, query = self.path.partition("?")
        if path != "/answer-warnings":
            super().do_GET()
            return
        # (loaded on the first request answered: `talentproof wallet` starts without httpx/jwt)
        from .oid4vp import answer_warnings  # noqa: PLC0415

        params = parse_qs(query, keep_blank_values=True)
        uris = {name: (params.get(name) or [""])[0] for name in ("request_uri", "response_uri")}
        for name, uri in uris.items():
            parts = urlsplit(uri)
            try:
                parts.port  # noqa: B018  (raises ValueError for a port that is not one)
            except ValueError:
                parts = urlsplit("")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                self._answer(
                    400,
                    {
                        "error": f"{name}: expected an http(s) URL (the presentation request's), "
                        f"found {uri[:80]!r}"
                    },
                )
                return
        warnings = answer_warnings(uris["request_uri"], uris["response_uri"])
        self._answer(200, {"warnings": warnings})

    def do_POST(self) -> None:
        """``POST /qr``: the offline QR code (PNG) of the credential in the body."""
        if self.path.split("?", 1)[0] != "/qr":
            self._answer(404, {"error": "not found: the only POST is /qr"})
            return
        # the page itself only: a cross-site form or fetch carries another Origin (or a
        # Sec-Fetch-Site other than same-origin), and cannot send application/json without a
        # preflight this server never grants; a Host other than this server's own address (a
        # DNS name rebound to it) is refused too
        host = self.headers.get("Host", "")
        origin = self.headers.get("Origin")
        site = self.headers.get("Sec-Fetch-Site")
        if (
            not self._own_host(host)
            or (origin is not None and origin != f"http://{host}")
            or site not in (None, "same-origin")
        ):
            self._answer(403, {"error": "only the wallet page served here may ask for a QR code"})
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._answer(415, {"error": "expected Content-Type application/json (a credential)"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, {"error": "expected a Content-Length"})
            return
        if not 0 < length <= MAX_QR_BODY:
            self._answer(
                413, {"error": f"expected a credential of 1 to {MAX_QR_BODY} bytes, got {length}"}
            )
            return
        body = self.rfile.read(length)
        try:
            credential = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            self._answer(400, {"error": f"expected a credential as JSON: {exc}"})
            return
        # (loaded on the first QR code: `talentproof wallet` starts without them)
        from talentproof.credential.errors import CredentialError  # noqa: PLC0415
        from talentproof.credential.qr import (  # noqa: PLC0415
            encode_payload,
            qr_version,
            render_png,
        )

        if not isinstance(credential, dict) or "VerifiableCredential" not in (
            credential.get("type") or []
        ):
            self._answer(400, {"error": "expected a verifiable credential (a JSON object)"})
            return
        try:
            payload = encode_payload(credential)
            png = render_png(payload, scale=4)
        except CredentialError as exc:
            self._answer(422, {"error": f"this credential cannot be put in a QR code: {exc}"})
            return
        self._answer(
            200,
            png,
            "image/png",
            {"X-QR-Version": str(qr_version(payload)), "X-QR-Characters": str(len(payload))},
        )

    def _own_host(self, host: str) -> bool:
        """Whether a Host header names this server: this port, at an IP address or localhost
        (never another DNS name: one rebound to this address is another site)."""
        bound = self.server.server_address
        if not isinstance(bound, tuple):  # (an AF_UNIX socket: no host names it)
            return False
        name, sep, port = host.lower().rpartition(":")
        if not sep or port != str(bound[1]):
            return False
        if name == "localhost":
            return True
        try:
            ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
        except ValueError:
            return False
        return True

    def _answer(
        self,
        code: int,
        body: bytes | dict[str, Any],
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def list_directory(self, path: Any) -> None:
        self.send_error(404, "not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        """No request log: the page's URLs say nothing, and nothing else is served."""


def make_server(host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server of the wallet page (port 0: a free port; read ``server.server_address``)."""
    handler = functools.partial(WalletPageHandler, directory=str(STATIC))
    return ThreadingHTTPServer((host, port), handler)


def serve_command(
    port: Annotated[int, typer.Option("--port", "-p", help="the port to listen on")] = 8765,
    host: Annotated[
        str,
        typer.Option(
            help="the address to listen on (keep 127.0.0.1: WebCrypto and the camera "
            "need a secure context, which localhost is)"
        ),
    ] = "127.0.0.1",
) -> None:
    """The browser wallet: serve the page locally and print its URL (Ctrl-C stops)."""
    try:
        server = make_server(host, port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port} ({exc.strerror or exc})", err=True)
        raise typer.Exit(2) from exc
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"wallet page: http://{shown}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
