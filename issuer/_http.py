"""uvicorn's httptools protocol, with a response's writes sent in one system call.

uvicorn writes a response's status line and headers when the app sends
``http.response.start`` and its body on ``http.response.body``: two ``send`` calls on the
socket, so two trips through the kernel's TCP stack and, on loopback, two wake-ups of the client,
which reads the head before the body has arrived. For the issuer's small JSON answers that was
about a seventh of an HTTP process's CPU per request.

`CoalescingHttpToolsProtocol` hands the protocol a transport that holds what is written during
one step of the event loop and writes it as one buffer at the end of that step (a callback
queued with ``call_soon``): the same bytes, in the same order, on the same connection, a few
microseconds later. A close (or an abort, which drops what is held, as the socket's own abort
does) acts on what was written before it. Everything else is the transport's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """An `asyncio.Transport` in front of ``transport`` whose writes within one event-loop step
    go out together (see the module's text)."""

    __slots__ = ("_flush_cb", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._flush_cb = self.flush

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        pending = self._pending
        if pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self._flush_cb)
        else:
            pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what is held now (also called at the end of the step it was written in)."""
        pending, self._pending = self._pending, None
        if pending:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        held = sum(len(chunk) for chunk in self._pending) if self._pending else 0
        return held + self._transport.get_write_buffer_size()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol on a `CoalescingTransport` (``Config(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]  # the whole answer, now
        super().on_response_complete()
