"""JSON-RPC over HTTP(S): the one transport of the ledger's reads, and its reference twin.

`HttpTransport` keeps one connection per thread and writes each request with one ``sendall``;
`StdlibTransport` does the same exchange through ``http.client`` (the previous transport, kept as
the reference twin for the differential test and the ``bench/verifier_perf.py`` row). Both take
the JSON-RPC body as bytes and return the parsed JSON answer; every transport failure raises
`~talentproof.ledger.errors.ChainUnavailable`.

Writes go through web3.py's ``HTTPProvider`` (`talentproof.ledger.chain.connect`): its signing,
nonce and receipt handling is what `talentproof.ledger.tx` builds on, and a write costs a block,
not a round trip.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import urllib.parse
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from talentproof.ledger.errors import ChainUnavailable

__all__ = ["RECV", "HttpTransport", "Malformed", "StdlibTransport", "Transport"]

#: Bytes asked of each recv (below glibc's mmap threshold: no map/unmap per read).
RECV = 65536


class Transport(Protocol):
    """One connection to a JSON-RPC endpoint (used by one thread).

    ``timeout`` bounds each socket operation of a request; a caller may lower it between
    requests (`talentproof.ledger.endpoints.FailoverTransport` gives a second endpoint only
    what is left of the first's budget) and the next request honours it.
    """

    timeout: float

    @property
    def url(self) -> str:
        """The endpoint requests go to."""
        ...

    def post(self, body: bytes) -> Any:
        """Send one JSON-RPC request (or batch) body; the parsed JSON answer."""
        ...

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        ...


class Malformed(Exception):
    """The answer is not well-formed HTTP/1.1 (raised inside `HttpTransport`)."""


class HttpTransport:
    """JSON-RPC over one keep-alive HTTP/1.1 socket: one ``sendall`` per request, TCP_NODELAY.

    ``http.client`` sends the headers and the body in two writes and parses the answer's headers
    with the ``email`` package: that costs more than the node's own work for one view call. This
    transport writes one request and reads one response (``Content-Length`` or chunked); anything
    else (a status other than 200, a closed socket twice in a row, a malformed head) raises
    ``ChainUnavailable``. ``http://`` and ``https://`` URLs (TLS with the default context); one
    transport per thread and process (a forked child opens its own connection).
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"expected an http(s):// JSON-RPC URL, got {url!r}")
        self.url, self.timeout = url, timeout
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        self._tls = ssl.create_default_context() if parsed.scheme == "https" else None
        host, port, path = self.host, self.port, self.path
        self._sock: socket.socket | None = None
        self._sock_timeout = timeout  # the open socket's timeout (set again when `timeout` changes)
        self._buf = b""
        self._pid = os.getpid()
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            "Connection: keep-alive\r\nContent-Length: "
        ).encode("latin-1")

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

    def _connect(self) -> socket.socket:
        if self._sock is None or self._pid != os.getpid():
            self._sock, self._buf, self._pid = None, b"", os.getpid()  # never share a forked socket
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            self._sock, self._sock_timeout = sock, self.timeout
        elif self._sock_timeout != self.timeout:
            self._sock.settimeout(self.timeout)
            self._sock_timeout = self.timeout
        return self._sock

    def _fill(self, sock: socket.socket) -> None:
        data = sock.recv(RECV)
        if not data:
            raise ConnectionResetError("the node closed the connection")
        self._buf += data

    def _read_exact(self, sock: socket.socket, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill(sock)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_line(self, sock: socket.socket) -> bytes:
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line, self._buf = self._buf[:i], self._buf[i + 2 :]
                return line
            if len(self._buf) > 65536:
                raise Malformed("HTTP header line too long")
            self._fill(sock)

    def _exchange(self, body: bytes) -> tuple[int, bytes, bool]:
        sock = self._connect()
        sock.sendall(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = self._read_line(sock)
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise Malformed(f"not an HTTP status line: {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        close = parts[0] == b"HTTP/1.0"
        while True:
            line = self._read_line(sock)
            if not line:
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit():
                    raise Malformed(f"bad Content-Length {value[:40]!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                low = value.lower()
                close = b"close" in low or (close and b"keep-alive" not in low)
        if chunked:
            pieces = []
            while True:
                size_line = self._read_line(sock).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise Malformed(f"bad chunk size {size_line[:40]!r}") from None
                if size == 0:
                    while self._read_line(sock):  # trailers
                        pass
                    break
                pieces.append(self._read_exact(sock, size))
                if self._read_exact(sock, 2) != b"\r\n":
                    raise Malformed("chunk not followed by CRLF")
            data = b"".join(pieces)
        elif length is not None:
            data = self._read_exact(sock, length)
        else:  # body until the server closes
            try:
                while True:
                    self._fill(sock)
            except ConnectionResetError:
                pass
            data, self._buf, close = self._buf, b"", True
        return status, data, close

    def post(self, body: bytes) -> Any:
        """Send one JSON-RPC request (or batch) body; the parsed JSON answer."""

        def exchange() -> tuple[int, bytes]:
            try:
                status, data, close = self._exchange(body)
            except Malformed as exc:
                self.close()
                raise ChainUnavailable(
                    f"JSON-RPC endpoint {self.url} answered malformed HTTP: {exc}"
                ) from None
            if close:
                self.close()
            return status, data

        # one retry: the node may have closed an idle keep-alive
        return _post_with_retry(self.url, self.close, exchange, (TimeoutError, OSError))


class StdlibTransport:
    """The reference twin of `HttpTransport`: the same exchange through ``http.client``."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"expected an http(s):// JSON-RPC URL, got {url!r}")
        self.url, self.timeout = url, timeout
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, body: bytes) -> Any:
        """Send one JSON-RPC request (or batch) body; the parsed JSON answer."""
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}

        def exchange() -> tuple[int, bytes]:
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=self.timeout)
            elif self._conn.timeout != self.timeout:
                self._conn.timeout = self.timeout
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(self.timeout)
            self._conn.request("POST", self._path, body=body, headers=headers)
            resp = self._conn.getresponse()
            return resp.status, resp.read()

        # one retry: the server may have closed an idle keep-alive
        return _post_with_retry(
            self.url, self.close, exchange, (TimeoutError, OSError, http.client.HTTPException)
        )


def _post_with_retry(
    url: str,
    close: Callable[[], None],
    exchange: Callable[[], tuple[int, bytes]],
    retryable: tuple[type[Exception], ...],
) -> Any:
    """Run ``exchange`` (one retry on a ``retryable`` error that is no timeout); the parsed JSON.

    Shared by both transports: any error closes the connection (``close``); an HTTP status
    other than 200, a non-JSON answer or a second failure raise `ChainUnavailable`.
    """
    last: Exception | None = None
    for attempt in range(2):
        try:
            status, data = exchange()
        except retryable as exc:
            close()
            last = exc
            if isinstance(exc, TimeoutError) or attempt == 1:
                break
            continue
        if status != 200:
            close()
            raise ChainUnavailable(
                f"JSON-RPC endpoint {url} answered HTTP {status}: {data[:200]!r}"
            )
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            close()
            raise ChainUnavailable(f"JSON-RPC endpoint {url} answered non-JSON: {exc}") from None
    raise ChainUnavailable(f"chain unreachable at {url}: {last}") from last
