"""``talentproof wallet serve``: the browser wallet, a static page served on this computer.

The page (wallet/static: index.html, core.js, wallet.js, style.css and the vendored jsQR 1.4.0)
makes and keeps the holder's key in the browser (WebCrypto Ed25519, a non-extractable CryptoKey
in IndexedDB) and talks to the issuer and the verifier the applicant chooses, nothing else. This
server only hands out those files, on 127.0.0.1 by default (a secure context for WebCrypto and
the camera), and logs nothing.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["STATIC", "WalletPageHandler", "make_server", "serve_command"]

STATIC = Path(__file__).resolve().parent / "static"
"""The page's files."""

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
