"""A JSON-RPC endpoint that dies on a raw transaction, in front of a real node (the attack tests
of the ``nonce too low`` failover answer, `talentproof.ledger.endpoints`).

`DyingEndpoint` forwards every request to ``upstream`` until it is armed and an
``eth_sendRawTransaction`` arrives. Then ``meanwhile(raw)`` runs (what happens on the chain while
the endpoint dies: another sender of the same account takes the nonce, say), the transaction is
passed on to ``upstream`` only if ``forward`` (a node that relayed it to its peers before dying),
and the endpoint is dead from then on: that request and every later one have their connection
closed without an answer, which the ledger's transport sees as a lost node (`ChainUnavailable`)
and fails over past.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class DyingEndpoint:
    """See the module. ``url`` is the endpoint; `close` stops it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.meanwhile: Callable[[str], None] | None = None
        self.forward = False
        self.armed = False
        self.dead = False
        #: the raw transaction the endpoint died on (0x-hex)
        self.died_on: str | None = None
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not owner.passes(body):
                    self.close_connection = True  # no answer: a node that died
                    return
                answer = owner.relay(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def arm(self, meanwhile: Callable[[str], None], *, forward: bool = False) -> None:
        """Die on the next raw transaction, running ``meanwhile(raw)`` first."""
        with self._lock:
            self.meanwhile, self.forward, self.armed = meanwhile, forward, True

    def relay(self, body: bytes) -> bytes:
        """``body`` sent to the upstream node; its answer."""
        request = urllib.request.Request(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bytes(answer.read())

    def passes(self, body: bytes) -> bool:
        """Whether the request gets an answer (see the module)."""
        with self._lock:
            if self.dead:
                return False
            if not self.armed:
                return True
            request = orjson.loads(body)
            if not (
                isinstance(request, dict) and request.get("method") == "eth_sendRawTransaction"
            ):
                return True
            self.dead = True
            raw = str(request["params"][0])
            self.died_on = raw
            meanwhile, forward = self.meanwhile, self.forward
        if meanwhile is not None:
            meanwhile(raw)
        if forward:
            self.relay(body)
        return False

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
