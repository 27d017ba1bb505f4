"""The ledger's fast paths give the answer their reference gives: the keep-alive JSON-RPC
transport (``ledger._internal.transport``) against the standard-library transport and a canned
HTTP server, and the flattened verdict decoder (``ledger._internal.verdict``) against the
generic eth-abi decoder.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger._internal.transport import HttpTransport, StdlibTransport
from talentproof.ledger._internal.verdict import VerdictCodec
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.reader import RegistryReader
from tests.chainkit import DEGREE, mixed_credentials

# --------------------------------------------------------------------------- raw transport


@pytest.mark.integration
def test_raw_transport_answers_exactly_as_the_ledger_reader(vchain):
    uni = vchain.issuers["University of Hong Kong"]
    reader = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    docs = mixed_credentials(vchain)
    queries = []
    for d in docs:
        plain, anchor = split_anchor(d)
        root = anchor.merkle_root if anchor else b"\x05" * 32
        queries.append(
            (
                did_hash(uni.did),
                bytes(root),
                credential_hash(plain),
                uni.key.public_key.raw,
                type_id(DEGREE),
            )
        )
    block = reader.block_number()
    stdlib = RegistryReader(vchain.rpc_url, vchain.deployment.registry, transport=StdlibTransport)
    fast = reader.verify_credentials(queries, 0, block)
    slow = [stdlib.verify_credential(*q, as_of=0, block=block) for q in queries]
    assert fast == slow
    assert fast[0].anchor.issuer_id == uni.issuer_id and fast[1].credential_revoked
    calls = [("eth_blockNumber", []), ("eth_chainId", [])]
    assert reader.batch(calls) == stdlib.batch(calls)


class _Canned(http.server.BaseHTTPRequestHandler):
    """A real HTTP server answering with a canned response chosen by the test."""

    protocol_version = "HTTP/1.1"
    mode = "chunked"
    served = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).served += 1
        body = b'[{"jsonrpc":"2.0","id":1,"result":"0x7a69"}]'
        if self.mode == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (body[:10], body[10:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif self.mode == "close-after":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        elif self.mode == "error":
            self.send_response(503)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"busy")
        else:  # not JSON
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def canned() -> Iterator[tuple[type[_Canned], str]]:
    handler = type("Handler", (_Canned,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str) -> Any:
    t = HttpTransport(url, 2.0)
    return t, t.post(b"[]")


def test_raw_transport_reads_chunked_and_closing_answers(canned):
    handler, url = canned
    t, answer = _post(url)
    assert answer == [
        {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}
    ]  # reassembled from two chunks
    handler.mode = "close-after"
    assert t.post(b"[]")[0]["result"] == "0x7a69"
    assert t.post(b"[]")[0]["result"] == "0x7a69"  # reconnected after the server's close
    assert handler.served == 3


def test_raw_transport_refuses_http_errors_and_non_json(canned):
    handler, url = canned
    handler.mode = "error"
    with pytest.raises(ChainUnavailable, match="HTTP 503"):
        _post(url)
    handler.mode = "garbage"
    with pytest.raises(ChainUnavailable, match="non-JSON"):
        _post(url)


def test_raw_transport_unreachable_node_is_chain_unavailable():
    t = HttpTransport("http://127.0.0.1:9/", 1.0)
    with pytest.raises(ChainUnavailable, match="unreachable"):
        t.post(b"[]")


# --------------------------------------------------------------------------- verdict decoding

_VERDICT_ABI_TYPE = (
    "((uint32,uint32,uint64,uint64,uint64),string,string,uint8,uint8,bool,uint64,uint64,bool,bool,"
    "uint64,uint64,bool,bool,bool,(uint64,uint64,uint64,uint32,bool,uint8,uint8),bool,uint64,uint64,uint64,"
    "uint32,uint8,uint8,uint64,uint8)"
)


def _random_verdict(rng):
    def u(bits):
        return rng.choice([0, 1, (1 << bits) - 1, rng.getrandbits(bits)])

    def b():
        return rng.random() < 0.5

    name = rng.choice(["", "University of Hong Kong", "香港大學 ✓", "x" * 70])
    return (
        (u(32), u(32), u(64), u(64), u(64)),
        name,
        "did:web:" + name.replace(" ", "-"),
        rng.randrange(4),
        rng.randrange(4),
        b(),
        u(64),
        u(64),
        b(),
        b(),
        u(64),
        u(64),
        b(),
        b(),
        b(),
        (u(64), u(64), u(64), u(32), b(), rng.randrange(3), rng.randrange(3)),
        b(),
        u(64),
        u(64),
        u(64),
        u(32),
        rng.randrange(3),
        rng.randrange(3),
        u(64),
        rng.randrange(4),
    )


def test_flat_verdict_decoder_equals_the_generic_abi_decoder():
    import random

    from eth_abi import encode

    from talentproof.ledger.abi import ContractABI
    from talentproof.ledger.artifacts import load_artifact
    from talentproof.ledger.models import CredentialVerdict

    abi = load_artifact("TalentProofRegistry").abi
    codec = VerdictCodec(abi)
    generic = ContractABI(abi).function("verifyCredential")
    rng = random.Random(7)
    for _ in range(200):
        data = encode([_VERDICT_ABI_TYPE], [_random_verdict(rng)])
        want = CredentialVerdict.from_struct(generic.decode(data), block_hash=b"\x01" * 32)
        assert codec.decode(data, b"\x01" * 32) == want
    # out of range words take the word-by-word path, which names the field
    data = bytearray(encode([_VERDICT_ABI_TYPE], [_random_verdict(rng)]))
    data[32 + 31] = 0  # anchor.issuerId low byte; then overflow its 32 bits:
    data[32 + 27] = 1
    with pytest.raises(LedgerError, match="issuer_id does not fit in 32 bits"):
        codec.decode(bytes(data))
    status_word = 32 + 32 * (5 + 2)  # issuerStatus: after the anchor and the two string offsets
    data = bytearray(encode([_VERDICT_ABI_TYPE], [_random_verdict(rng)]))
    data[status_word + 31] = 9  # within uint8, not an IssuerStatus
    with pytest.raises(LedgerError, match="does not decode"):
        codec.decode(bytes(data))
    # the actor enums (StatusActor) are decoded as such, not as IssuerStatus: 3 is out of range
    head_words = 5 + 2 + 12 + 7 + 4 + 5  # ... issuerId, revokedBy, suspendedBy, since, statusAsOf
    suspended_by_word = 32 + 32 * (head_words - 3)
    data = bytearray(encode([_VERDICT_ABI_TYPE], [_random_verdict(rng)]))
    data[suspended_by_word + 31] = 3
    with pytest.raises(LedgerError, match="does not decode"):
        codec.decode(bytes(data))
    data[suspended_by_word + 31] = 2
    assert codec.decode(bytes(data)).credential_suspended_by == 2
