"""Several JSON-RPC endpoints of one chain, and the transport that fails over between them.

::

    endpoints = RpcEndpoints(parse_rpc_urls("http://rpc-1:8545,http://rpc-2:8545"), timeout=5.0)
    answer = endpoints.transport().post(body)      # this thread's FailoverTransport
    endpoints.down()                               # [EndpointStatus(url, up=False, detail, ...)]

`RpcEndpoints` is shared by every thread of a process: it knows which endpoint served last (the
*current* one, where every request starts) and which failed and why. `FailoverTransport` is one
thread's `~talentproof.ledger._internal.transport.Transport`: it keeps one connection per endpoint
(`HttpTransport`, the ledger's one HTTP exchange) and, when the current endpoint does not answer
(a refused or reset connection, a timeout, an HTTP status other than 200, a malformed answer:
every failure the transport raises as `ChainUnavailable`), sends the same request to the next
one, within what is left of the one request's ``timeout``: a request never blocks longer than
``timeout`` whatever the endpoints do. The endpoint that answered becomes the current one for every
thread (it stays current until it fails in turn; a recovered endpoint is not switched back to).
A JSON-RPC error answer is the node's answer, returned as is: no failover.

Every request the ledger sends is safe to send twice: reads are idempotent, and the only write is
``eth_sendRawTransaction`` of a transaction signed here, which has the same hash wherever it is
sent. When such a request failed on one endpoint (which may have received it and passed it on to
its peers) and the next endpoint answers that it already knows the transaction ("already known",
"known transaction", Anvil's "already imported"), the answer becomes the transaction's hash: it
was sent. An answer that its nonce is used ("nonce too low") means the same only if this
transaction took the nonce (mined, from the first send), not another one of the account's (another
process with the same key): the endpoint is asked (``eth_getTransactionByHash``, within what is
left of the timeout) and the answer becomes the hash only if it knows the transaction; if it does
not, the node's "nonce too low" is returned as it is (the sender retries with the chain's count,
as after a first send), and if it cannot tell (no answer, an error such as geth's "transaction
indexing is in progress") the hash is returned and `tx.TxSender.wait` and the anchoring worker
find out which transaction took the nonce, as after any send.

An endpoint marked down is tried last (still tried: the others may be down too); `check` probes
the endpoints (``eth_chainId``) and marks them up or down, and the services' ``/readyz`` report
`down` while any endpoint is.
"""

from __future__ import annotations

import functools
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from eth_utils import keccak

from talentproof.ledger._internal.transport import HttpTransport, Transport
from talentproof.ledger.errors import ChainUnavailable

__all__ = ["EndpointStatus", "FailoverTransport", "RpcEndpoints", "parse_rpc_urls"]

#: The answers to a re-sent ``eth_sendRawTransaction`` that mean the transaction was sent.
_SENT_ALREADY = ("already known", "known transaction", "already imported")
#: The answer that means it was sent only if this transaction took the nonce (see the module).
_NONCE_USED = "nonce too low"


def _port_digits(url: str) -> str | None:
    """The all-digit port written in ``url`` (None when there is none or it is not digits)."""
    netloc = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    port = netloc.rpartition("@")[2].rpartition("]")[2].rpartition(":")
    return port[2] if port[1] and port[2].isdigit() else None


def parse_rpc_urls(value: str | Sequence[str], *, name: str = "RPC URL") -> tuple[str, ...]:
    """The JSON-RPC URLs in ``value``: one URL, several separated by commas, or a sequence.

    Each must be ``http(s)://host[:port][/path]``; none may repeat. Raises ``ValueError`` naming
    `name` (left out when empty), the entry and the expected form."""
    name = f"{name}: " if name else ""
    entries = value.split(",") if isinstance(value, str) else list(value)
    urls: list[str] = []
    for number, entry in enumerate(entries, 1):
        url = entry.strip() if isinstance(entry, str) else entry
        where = f" (entry {number} of {len(entries)})" if len(entries) > 1 else ""
        if not isinstance(url, str) or not url:
            raise ValueError(
                f"{name}expected one or more http(s):// JSON-RPC URLs separated by commas, "
                f"got an empty entry{where} in {value!r}"
            )
        try:
            parsed = urllib.parse.urlsplit(url)
            port_ok = parsed.port is None or parsed.port > 0
        except ValueError:
            parsed, port_ok = None, False
        digits = _port_digits(url)
        if digits is not None and not 1 <= int(digits) <= 65535:
            raise ValueError(
                f"{name}port {int(digits)} of {url!r}{where} is out of range (1-65535)"
            )
        if (
            parsed is None
            or parsed.scheme not in ("http", "https")
            or not parsed.hostname
            or not port_ok
            or parsed.fragment
        ):
            raise ValueError(
                f"{name}expected http(s)://host[:port][/path] JSON-RPC URLs separated by "
                f"commas, got {url!r}{where}"
            )
        if url in urls:
            raise ValueError(f"{name}{url!r} is listed twice in {value!r}")
        urls.append(url)
    if not urls:
        raise ValueError(f"{name}expected at least one http(s):// JSON-RPC URL, got none")
    return tuple(urls)


@dataclass(frozen=True)
class EndpointStatus:
    """What is known of one endpoint.

    Attributes:
        url: the endpoint.
        up: False from a failed request or probe until a request or probe succeeds.
        current: requests start here.
        detail: the last failure ("" while up).
        down_seconds: how long it has been down (None while up).
        failures: failed requests and probes so far.
    """

    url: str
    up: bool
    current: bool
    detail: str = ""
    down_seconds: float | None = None
    failures: int = 0

    def to_json(self) -> dict[str, Any]:
        """The status as a JSON object (``/readyz``)."""
        return {
            "url": self.url,
            "up": self.up,
            "current": self.current,
            "detail": self.detail or None,
            "downSeconds": None if self.down_seconds is None else round(self.down_seconds, 1),
            "failures": self.failures,
        }


class _EndpointState:
    """One endpoint's health as its callers saw it: down since when (None: up), why, how many
    failures in all, and when a request or probe last settled it."""

    __slots__ = ("checked", "detail", "down_since", "failures")

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.detail = ""
        self.failures = 0
        self.checked = 0.0  # time.monotonic() of the last request or probe that settled it


class RpcEndpoints:
    """The JSON-RPC endpoints of one chain, shared by a process's threads (see the module).

    Args:
        urls: the endpoints (`parse_rpc_urls` output, or a string it accepts), in preference
            order: the first is current until it fails.
        timeout: the longest one request may take, failovers included (seconds).
        connect: builds one thread's connection to one endpoint from ``(url, timeout)``;
            default `HttpTransport`.
    """

    def __init__(
        self,
        urls: str | Sequence[str],
        timeout: float = 5.0,
        *,
        connect: Callable[[str, float], Transport] = HttpTransport,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout: expected seconds > 0, got {timeout!r}")
        self.urls = parse_rpc_urls(urls)
        self.timeout = float(timeout)
        self.connect = connect
        #: times the current endpoint changed because a request failed over
        self.failovers = 0
        self._current = 0
        self._states = [_EndpointState() for _ in self.urls]
        self._lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"RpcEndpoints({','.join(self.urls)!r}, current={self.current!r})"

    @property
    def current(self) -> str:
        """The endpoint requests start at."""
        return self.urls[self._current]

    def transport(self) -> FailoverTransport:
        """This thread's transport (created on first use)."""
        t: FailoverTransport | None = getattr(self._local, "transport", None)
        if t is None:
            t = self._local.transport = FailoverTransport(self)
        return t

    def close(self) -> None:
        """Close this thread's connections (other threads' close when they end)."""
        t: FailoverTransport | None = getattr(self._local, "transport", None)
        if t is not None:
            t.close()

    # -- what is known --------------------------------------------------------------------------

    def order(self) -> list[int]:
        """The endpoints to try, by index: those up (the current one first), then those down
        (the current one first: it may have failed only on a request that timed out)."""
        with self._lock:
            current, states = self._current, self._states
            return sorted(
                range(len(self.urls)),
                key=lambda i: (states[i].down_since is not None, i != current, i),
            )

    def attempts(self) -> Iterator[int]:
        """`order`, computed only when the current endpoint is down or has just failed (a
        request's common case costs no lock and no sort)."""
        current = self._current
        if self._states[current].down_since is None:
            yield current
            yield from (i for i in self.order() if i != current)
        else:
            yield from self.order()

    def mark_up(self, index: int, *, served: bool = False) -> None:
        """Endpoint `index` answered; with `served` (a request) it becomes the current one."""
        state = self._states[index]
        if state.down_since is None and (not served or index == self._current):
            state.checked = time.monotonic()  # nothing changes: no lock on a request's path
            return
        with self._lock:
            state = self._states[index]
            state.down_since, state.detail, state.checked = None, "", time.monotonic()
            if served and index != self._current:
                self._current = index
                self.failovers += 1

    def mark_down(self, index: int, detail: str) -> None:
        """Endpoint `index` failed (`detail` says how)."""
        with self._lock:
            state = self._states[index]
            now = time.monotonic()
            if state.down_since is None:
                state.down_since = now
            state.detail, state.checked = detail, now
            state.failures += 1

    def mark_current_down(self, detail: str) -> None:
        """The current endpoint answered but cannot be relied on (e.g. a verifier found its head
        too old, `detail`): mark it down, so that the next request starts at another one."""
        self.mark_down(self._current, detail)

    def status(self) -> list[EndpointStatus]:
        """Every endpoint's status, in configuration order."""
        now = time.monotonic()
        with self._lock:
            return [
                EndpointStatus(
                    url,
                    state.down_since is None,
                    index == self._current,
                    state.detail,
                    None if state.down_since is None else now - state.down_since,
                    state.failures,
                )
                for index, (url, state) in enumerate(zip(self.urls, self._states, strict=True))
            ]

    def down(self) -> list[EndpointStatus]:
        """The endpoints marked down."""
        return [s for s in self.status() if not s.up]

    def check(self, *, max_age: float = 0.0, timeout: float | None = None) -> list[EndpointStatus]:
        """Probe (``eth_chainId``) every endpoint not settled by a request or probe in the last
        `max_age` seconds, on this thread, each probe bounded by `timeout` (default the
        endpoints' timeout); mark each up or down. Returns `status`."""
        limit = self.timeout if timeout is None else min(timeout, self.timeout)
        now = time.monotonic()
        with self._lock:
            due = [i for i, s in enumerate(self._states) if now - s.checked >= max_age]
        body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        for index in due:
            probe = self.connect(self.urls[index], limit)
            try:
                answer = probe.post(body)
                if not isinstance(answer, dict) or not isinstance(answer.get("result"), str):
                    raise ChainUnavailable(
                        f"eth_chainId on {self.urls[index]} answered {str(answer)[:200]}"
                    )
            except ChainUnavailable as exc:
                self.mark_down(index, str(exc))
            else:
                self.mark_up(index)
            finally:
                probe.close()
        return self.status()


class FailoverTransport:
    """One thread's `Transport` over `RpcEndpoints` (see the module): a request goes to the
    current endpoint, and on a transport failure to the next, within the request's timeout."""

    def __init__(self, endpoints: RpcEndpoints) -> None:
        self.endpoints = endpoints
        self.timeout = endpoints.timeout
        self._connections: dict[int, Transport] = {}

    @property
    def url(self) -> str:
        """The current endpoint (where the next request starts)."""
        return self.endpoints.current

    def close(self) -> None:
        """Drop this thread's connections."""
        for conn in self._connections.values():
            conn.close()

    def _connection(self, index: int) -> Transport:
        conn = self._connections.get(index)
        if conn is None:
            conn = self._connections[index] = self.endpoints.connect(
                self.endpoints.urls[index], self.timeout
            )
        return conn

    def post(self, body: bytes) -> Any:
        """Send one JSON-RPC request (or batch) body; the parsed JSON answer of the first
        endpoint that answers. Raises `ChainUnavailable` naming every endpoint's failure when
        none answers within the timeout."""
        endpoints = self.endpoints
        deadline = time.monotonic() + self.timeout
        failures: list[str] = []
        for attempt, index in enumerate(endpoints.attempts()):
            # the first attempt has the whole budget; a later one what is left of it
            left = self.timeout if not attempt else min(self.timeout, deadline - time.monotonic())
            if left <= 0.001:
                failures.append(f"{endpoints.urls[index]} not tried (timeout)")
                continue
            conn = self._connection(index)
            conn.timeout = left
            try:
                answer = conn.post(body)
            except ChainUnavailable as exc:
                endpoints.mark_down(index, str(exc))
                failures.append(str(exc))
                continue
            endpoints.mark_up(index, served=True)
            if not attempt:
                return answer
            return _sent_already(
                body, answer, functools.partial(self._knows, conn, deadline=deadline)
            )
        raise ChainUnavailable(
            f"no JSON-RPC endpoint answered within {self.timeout:g} s: " + "; ".join(failures)
        )

    @staticmethod
    def _knows(conn: Transport, tx_hash: str, deadline: float) -> bool | None:
        """Whether the endpoint behind ``conn`` knows transaction ``tx_hash`` (pooled or mined),
        within what is left until ``deadline``; None when it cannot tell (no time left, no
        answer, an error answer)."""
        left = deadline - time.monotonic()
        if left <= 0.001:
            return None
        conn.timeout = left
        body = orjson.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionByHash", "params": [tx_hash]}
        )
        try:
            answer = conn.post(body)
        except ChainUnavailable:
            return None
        if not isinstance(answer, dict) or "result" not in answer:
            return None
        return answer["result"] is not None


def _sent_already(body: bytes, answer: Any, knows: Callable[[str], bool | None]) -> Any:
    """``answer`` to a request that failed on another endpoint first: an
    ``eth_sendRawTransaction`` the endpoint says it already has (or whose nonce is used, when
    ``knows(hash)`` does not say the endpoint lacks it) answers the transaction's hash instead
    (see the module)."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return answer
    if isinstance(request, dict) and isinstance(answer, dict):
        return _as_sent(request, answer, knows)
    if isinstance(request, list) and isinstance(answer, list):
        by_id = {r.get("id"): r for r in request if isinstance(r, dict)}
        return [
            _as_sent(by_id[a.get("id")], a, knows)
            if isinstance(a, dict) and a.get("id") in by_id
            else a
            for a in answer
        ]
    return answer


def _as_sent(
    request: dict[str, Any], answer: dict[str, Any], knows: Callable[[str], bool | None]
) -> dict[str, Any]:
    if request.get("method") != "eth_sendRawTransaction" or "error" not in answer:
        return answer
    error = answer["error"]
    message = str(error.get("message", "") if isinstance(error, dict) else error).lower()
    params = request.get("params")
    nonce_used = _NONCE_USED in message
    if (
        not (nonce_used or any(m in message for m in _SENT_ALREADY))
        or not isinstance(params, list)
        or not params
    ):
        return answer
    try:
        raw = bytes.fromhex(str(params[0]).removeprefix("0x"))
    except ValueError:
        return answer
    tx_hash = "0x" + keccak(raw).hex()
    if nonce_used and knows(tx_hash) is False:
        return answer  # another transaction took the nonce: the node's answer as it is
    return {"jsonrpc": "2.0", "id": answer.get("id"), "result": tx_hash}
