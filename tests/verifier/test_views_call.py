"""Bulk chain reads through one ``eth_call`` of the views code (``fastread.VIEWS_CODE``).

The views code runs at an unused address through a state override and calls the registry's
``verifyCredential`` once per credential. These tests prove, on real Anvil and Ganache, that it
answers exactly what one ``eth_call`` per credential answers, that a failed inner call fails the
whole read, and that a node without state overrides gets one call per credential instead.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import LedgerError
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier import fastread

from .verifier_chainkit import BADGE, DEGREE, holder, issue


def _query(doc: dict[str, Any], key: bytes, kind: str = DEGREE) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    plain, anchor = split_anchor(doc)
    return (did_hash(plain["issuer"]), anchor.merkle_root, credential_hash(plain), key, type_id(kind))


def _mixed_queries(chain: Any) -> list[tuple[bytes, bytes, bytes, bytes, bytes]]:
    uni = chain.issuers["University of Hong Kong"]
    hsbc = chain.issuers["HSBC"]
    good = issue(chain, uni, DEGREE, holder().public_key.did_key, batch_with=2)
    revoked = issue(chain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    suspended = issue(chain, uni, DEGREE, holder().public_key.did_key)
    uni.client.suspend_credential(credential_hash(split_anchor(suspended)[0]))
    key = uni.key.public_key.raw
    return [
        _query(good, key),
        _query(revoked, key),
        _query(suspended, key),
        _query(good, hsbc.key.public_key.raw),  # another issuer's key
        _query(good, key, BADGE),  # a type the issuer is not accredited for
        (did_hash(uni.did), b"\x01" * 32, b"\x02" * 32, key, type_id(DEGREE)),  # never anchored
        _query(good, key),  # the same credential twice
    ]


@pytest.fixture(params=["anvil", "ganache"])
def chain(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("vchain" if request.param == "anvil" else "vchain_ganache")


@pytest.mark.integration
@pytest.mark.parametrize("as_of", [0, 1, 2**63])
def test_views_call_gives_the_verdicts_of_one_call_per_credential(chain, as_of, monkeypatch):
    queries = _mixed_queries(chain)
    reader = RegistryReader(chain.rpc_url, chain.deployment.registry)
    block = reader.block_number()
    monkeypatch.setattr(fastread, "USE_VIEWS_CALL", False)
    per_call = fastread.read_many(reader, queries, as_of, block)
    monkeypatch.setattr(fastread, "USE_VIEWS_CALL", True)

    def no_per_call(*a: Any) -> Any:
        raise AssertionError("the views call was not used")

    monkeypatch.setattr(fastread, "_per_call_results", no_per_call)
    views = fastread.read_many(reader, queries, as_of, block)
    assert views == per_call
    assert views == [reader.verify_credential(*q, as_of=as_of, block=block) for q in queries]
    later = as_of != 1  # as of 1970-01-01T00:00:01 nothing was revoked or suspended yet
    assert [v.credential_revoked for v in views[:3]] == [False, later, False]
    assert views[2].credential_suspended is later
    assert not views[3].key_registered and not views[4].type_accredited_at_anchor
    assert views[5].anchor.issuer_id == 0 and views[6] == views[0]
    assert {v.block_number for v in views} == {block}


@pytest.mark.integration
def test_views_call_splits_many_credentials_over_several_calls(vchain, monkeypatch):
    queries = _mixed_queries(vchain) * 3
    reader = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    block = reader.block_number()
    monkeypatch.setattr(fastread, "VIEWS_PER_CALL", 4)  # 21 credentials: 6 calls, the last one short
    views = fastread.read_many(reader, queries, 0, block)
    monkeypatch.setattr(fastread, "USE_VIEWS_CALL", False)
    assert views == fastread.read_many(reader, queries, 0, block)
    assert not getattr(reader, "_talentproof_no_views_call", False)


@pytest.mark.integration
def test_a_failing_inner_call_fails_the_whole_views_call(vchain):
    reader = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    t = fastread.transport_for(reader)
    assert t is not None
    codec = fastread._codec_for(reader)
    good = codec.encode(b"\x05" * 32, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32, 0)
    unknown = b"\xde\xad\xbe\xef" + good[4:]  # no such function: the registry reverts
    registry = bytes(12) + bytes.fromhex(reader.registry[2:])

    def call(data: bytes) -> Any:
        return t.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                  "params": [{"to": fastread.VIEWS_ADDRESS, "data": "0x" + data.hex()},
                                             "latest", {fastread.VIEWS_ADDRESS: {"code": "0x" + fastread.VIEWS_CODE.hex()}}]
                                  }).encode())

    ok = call(registry + good + good)
    parts = fastread.split_views_answer(bytes.fromhex(ok["result"][2:]), 2)
    assert parts[0] == parts[1] and codec.decode(parts[0]).anchor.issuer_id == 0
    failed = call(registry + good + unknown)
    assert "error" in failed and "result" not in failed


@pytest.mark.integration
def test_a_registry_address_without_code_is_an_error_not_a_verdict(vchain):
    reader = RegistryReader(vchain.rpc_url, "0x" + "42" * 20)
    q = (b"\x05" * 32, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32)
    with pytest.raises(LedgerError, match="returned no data"):
        fastread.read_many(reader, [q, q], 0, reader.block_number())


def test_views_answer_is_split_exactly():
    def word(n: int) -> bytes:
        return n.to_bytes(32, "big")

    data = word(3) + b"abc" + word(0) + word(2) + b"xy"
    assert fastread.split_views_answer(data, 3) == [b"abc", b"", b"xy"]
    with pytest.raises(LedgerError, match="expected 2 verdicts, found 3"):
        fastread.split_views_answer(data, 2)
    with pytest.raises(LedgerError, match="runs past the end"):
        fastread.split_views_answer(word(4) + b"abc", 1)
    with pytest.raises(LedgerError, match="truncated length word"):
        fastread.split_views_answer(word(3) + b"abc" + b"\x00" * 5, 2)
    with pytest.raises(LedgerError, match="runs past the end"):
        fastread.split_views_answer(word(2**255) + b"abc", 1)
    assert fastread.split_views_answer(b"", 0) == []
    with pytest.raises(LedgerError, match="expected hex data"):  # a node answering garbage
        fastread._unhex("0xnot-hex", "the views call")


class _NoOverrides(http.server.BaseHTTPRequestHandler):
    """A JSON-RPC proxy to a real node that refuses ``eth_call`` state overrides, as nodes
    without that extension do (error -32602), and forwards everything else."""

    protocol_version = "HTTP/1.1"
    upstream = ""
    refused = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        requests = body if isinstance(body, list) else [body]
        passed = [r for r in requests if not (r.get("method") == "eth_call" and len(r.get("params", [])) > 2)]
        answers = [{"jsonrpc": "2.0", "id": r["id"], "error": {"code": -32602, "message": "too many arguments"}}
                   for r in requests if r not in passed]
        type(self).refused += len(answers)
        if passed:
            req = urllib.request.Request(self.upstream, json.dumps(passed).encode(),
                                         {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                answers += json.loads(resp.read())
        out = json.dumps(answers if isinstance(body, list) else answers[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def no_overrides_node(vchain: Any) -> Iterator[tuple[type[_NoOverrides], str]]:
    handler = type("Handler", (_NoOverrides,), {"upstream": vchain.rpc_url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
def test_a_node_without_state_overrides_gets_one_call_per_credential(vchain, no_overrides_node):
    handler, url = no_overrides_node
    queries = _mixed_queries(vchain)
    direct = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    block = direct.block_number()
    reader = RegistryReader(url, vchain.deployment.registry)
    assert fastread.read_many(reader, queries, 0, block) == fastread.read_many(direct, queries, 0, block)
    assert handler.refused == 1 and reader._talentproof_no_views_call  # refused once, then not asked again
    fastread.read_many(reader, queries, 0, block)
    assert handler.refused == 1
