"""`issuer._http`: uvicorn's httptools protocol whose response writes of one event-loop step go
out in one socket write, with the same bytes in the same order."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

from talentproof.issuer._http import CoalescingHttpToolsProtocol, CoalescingTransport


class _Recording(asyncio.Transport):
    """The transport behind the coalescing one: records each write it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_writes_of_one_step_go_out_as_one_and_close_or_abort_act_in_order() -> None:
    async def run() -> _Recording:
        behind = _Recording()
        transport = CoalescingTransport(behind, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(memoryview(b"body"))
        transport.write(b"")
        assert behind.writes == [] and transport.get_write_buffer_size() == 7 + 23
        await asyncio.sleep(0)  # the end of this step
        assert behind.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.writelines([b"a", b"b"])
        transport.flush()  # the protocol flushes at the end of a response
        assert behind.writes[-1] == b"ab"
        await asyncio.sleep(0)
        assert len(behind.writes) == 2  # nothing written twice
        transport.write(b"last")
        transport.close()  # what was written before the close goes out before it
        assert behind.writes[-1] == b"last" and behind.events == ["close"]
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        return behind

    asyncio.run(run())

    async def aborted() -> _Recording:
        behind = _Recording()
        transport = CoalescingTransport(behind, asyncio.get_running_loop())
        transport.write(b"dropped")
        transport.abort()
        await asyncio.sleep(0)
        return behind

    behind = asyncio.run(aborted())
    assert behind.writes == [] and behind.events == ["abort"]


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    if scope["path"] == "/stream":  # a body in chunks over several steps
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"chunk%d;" % i, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"end"})
        return
    body = b'{"ok":true}'
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        while not rest.endswith(b"0\r\n\r\n"):
            rest += sock.recv(65536)
    else:
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_uvicorn_serves_whole_responses_through_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=CoalescingHttpToolsProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a figure
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for _ in range(2):  # keep-alive: two requests on one connection
                sock.sendall(b"POST /credentials HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                answer = _read_response(sock)
                assert answer.startswith(b"HTTP/1.1 202 Accepted\r\n")
                assert answer.endswith(b'\r\n\r\n{"ok":true}')
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            streamed = _read_response(sock)
            assert streamed.split(b"\r\n\r\n", 1)[1] == (
                b"7\r\nchunk0;\r\n7\r\nchunk1;\r\n7\r\nchunk2;\r\n3\r\nend\r\n0\r\n\r\n"
            )
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            closing = _read_response(sock)
            assert closing.endswith(b'{"ok":true}') and b"connection: close" in closing.lower()
            assert sock.recv(1) == b""  # closed after the whole answer
    finally:
        server.should_exit = True
        thread.join(10)
