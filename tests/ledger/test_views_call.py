"""Bulk chain reads through ``contracts/utils/VerificationBatch.sol`` (``RegistryReader.verify_credentials``).

The batch contract's runtime code runs at an unused address through a state override. It calls
the registry's ``verifyCredential`` once per group of credentials sharing issuer, root, key and
type, and for the others of the group only ``credentialStatus``: an empty status record gets the
group's verdict. These tests prove, on real Anvil and Ganache, that it answers exactly what one
``eth_call`` per credential answers, for groups mixing every status at many as-of times and in any
order, that a failed inner call fails the whole read, and that a node without state overrides gets
one call per credential instead.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from eth_abi import decode as eth_abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger import reader as reader_module
from talentproof.ledger._internal.transport import HttpTransport
from talentproof.ledger._internal.verdict import (
    BATCH_ADDRESS,
    BatchCodec,
    Query,
    VerdictCodec,
    split_bytes_array,
)
from talentproof.ledger.abi import ContractABI
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import LedgerError
from talentproof.ledger.models import CredentialVerdict, StatusActor
from talentproof.ledger.reader import RegistryReader
from tests.chainkit import BADGE, DEGREE, holder, issue


class _Recording(HttpTransport):
    """The reader's transport, recording the JSON-RPC calls it sends."""

    sent: ClassVar[list[dict[str, Any]]] = []

    def post(self, body: bytes) -> Any:
        calls = json.loads(body)
        type(self).sent.extend(calls if isinstance(calls, list) else [calls])
        return super().post(body)


def _recording_reader(url: str, registry: str) -> tuple[RegistryReader, list[dict[str, Any]]]:
    cls = type("Recording", (_Recording,), {"sent": []})
    return RegistryReader(url, registry, transport=cls), cls.sent


def _batch_calls(sent: list[dict[str, Any]]) -> int:
    return sum(
        1 for c in sent if c["method"] == "eth_call" and c["params"][0]["to"] == BATCH_ADDRESS
    )


def _view_calls(sent: list[dict[str, Any]]) -> int:
    return sum(
        1 for c in sent if c["method"] == "eth_call" and c["params"][0]["to"] != BATCH_ADDRESS
    )


def _query(
    doc: dict[str, Any], key: bytes, kind: str = DEGREE
) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    plain, anchor = split_anchor(doc)
    return (
        did_hash(plain["issuer"]),
        anchor.merkle_root,
        credential_hash(plain),
        key,
        type_id(kind),
    )


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
def test_views_call_gives_the_verdicts_of_one_call_per_credential(chain, as_of):
    queries = _mixed_queries(chain)
    reader, sent = _recording_reader(chain.rpc_url, chain.deployment.registry)
    per_call_reader = RegistryReader(chain.rpc_url, chain.deployment.registry, batch_views=False)
    block = reader.block_number()
    per_call = per_call_reader.verify_credentials(queries, as_of, block)
    views = reader.verify_credentials(queries, as_of, block)
    assert (_batch_calls(sent), _view_calls(sent)) == (
        1,
        0,
    )  # the batch call, no per-credential call
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
    reader, sent = _recording_reader(vchain.rpc_url, vchain.deployment.registry)
    block = reader.block_number()
    # 21 credentials, and the degree levels' windows read once per degree batch (4 roots x 4
    # levels): 37 views, 10 calls, the last one short
    monkeypatch.setattr(reader_module, "BATCH_SIZE", 4)
    views = reader.verify_credentials(queries, 0, block)
    assert (_batch_calls(sent), _view_calls(sent)) == (10, 0)
    per_call = RegistryReader(vchain.rpc_url, vchain.deployment.registry, batch_views=False)
    assert views == per_call.verify_credentials(queries, 0, block)


@pytest.mark.integration
def test_a_chunk_of_degrees_reads_its_level_windows_in_the_same_call(vchain):
    # The bulk verifier's chunk: 256 degrees of one issuer and root. Their verdicts and the
    # issuer's 4 level windows of that root (260 views) go in one VerificationBatch call: a
    # second call for the 4 windows cost the node as much as ~64 more views (Anvil, issue 13.7)
    issuer, root, _, key, degree = _mixed_queries(vchain)[0]
    queries = [(issuer, root, i.to_bytes(32, "big"), key, degree) for i in range(256)]
    reader, sent = _recording_reader(vchain.rpc_url, vchain.deployment.registry)
    block = reader.block_number()
    views = reader.verify_credentials(queries, 0, block)
    assert (_batch_calls(sent), _view_calls(sent)) == (1, 0)
    [call] = [c for c in sent if c["method"] == "eth_call"]
    assert len(call["params"][0]["data"]) == 2 + 2 * (4 + 4 * 32 + 260 * 160)  # 260 views
    assert {len(v.type_scopes) for v in views} == {4}
    per_call = RegistryReader(vchain.rpc_url, vchain.deployment.registry, batch_views=False)
    assert views == per_call.verify_credentials(queries, 0, block)


#: The statuses a credential of a group can have (labels of `_groups`), each set up in its
#: issuer's namespace before the reads.
_STATUSES = (
    "revoked",  # by its issuer
    "suspended",
    "reinstated",  # suspended, then reinstated
    "governance revoked",
    "governance suspended",
    "governance reinstated",
    "suspended twice",  # suspended, reinstated, suspended again: an earlier closed interval
    "listed a",  # revoked together (revokeCredentials: one time for both)
    "listed b",
    "suspended then revoked",
)
_VALID = tuple(f"valid {i}" for i in range(3))
_SCOPED = "Scoped University"


_SCENARIOS: dict[str, tuple[list[tuple[str, str]], list[Query], list[int]]] = {}


def _groups(chain: Any) -> tuple[list[tuple[str, str]], list[Query], list[int]]:
    """`_groups_on` once per chain (the session's)."""
    if chain.rpc_url not in _SCENARIOS:
        _SCENARIOS[chain.rpc_url] = _groups_on(chain)
    return _SCENARIOS[chain.rpc_url]


def _groups_on(chain: Any) -> tuple[list[tuple[str, str]], list[Query], list[int]]:
    """Credentials of nine groups (issuer DID, root, key, type) mixing valid ones with every
    status of `_STATUSES`, interleaved group by group; the status changes happen a few seconds
    apart. Returns the (group, label) of each query, the queries, and the times the statuses
    changed (block timestamps)."""
    uni = chain.issuers["University of Hong Kong"]
    hsbc = chain.issuers["HSBC"]
    scoped = chain.issuers.get(_SCOPED) or chain.add_issuer(
        _SCOPED, ("DegreeCredential#level=master",), fresh_account=True
    )
    gov = chain.governor
    nonce = os.urandom(8).hex()  # the session's chain is shared: credentials of this scenario
    h = {label: keccak(text=f"{nonce} {label}") for label in (*_STATUSES, *_VALID)}
    times: list[int] = []

    def step(tx: Any, *args: Any) -> None:
        chain.rpc("evm_increaseTime", [3])
        tx(*args)
        times.append(chain.latest_timestamp())

    root, batch_revoked_root, scoped_root = (os.urandom(32) for _ in range(3))
    uni.client.anchor_root(root, 64)
    uni.client.anchor_root(batch_revoked_root, 64)
    scoped.client.anchor_root(scoped_root, 64)
    for client, issuer_id in ((uni.client, uni.issuer_id), (scoped.client, scoped.issuer_id)):
        step(client.revoke_credential, h["revoked"])
        step(client.suspend_credential, h["suspended"])
        step(client.suspend_credential, h["reinstated"])
        step(client.reinstate_credential, h["reinstated"])
        step(gov.governance_revoke_credential, issuer_id, h["governance revoked"], "forged")
        step(gov.governance_suspend_credential, issuer_id, h["governance suspended"], "inquiry")
        step(gov.governance_suspend_credential, issuer_id, h["governance reinstated"], "inquiry")
        step(gov.governance_reinstate_credential, issuer_id, h["governance reinstated"], "cleared")
        step(client.suspend_credential, h["suspended twice"])
        step(client.reinstate_credential, h["suspended twice"])
        step(client.suspend_credential, h["suspended twice"])
        step(client.revoke_credentials, [h["listed a"], h["listed b"]])
        step(client.suspend_credential, h["suspended then revoked"])
        step(client.revoke_credential, h["suspended then revoked"])
    step(uni.client.revoke_batch, batch_revoked_root)
    key, degree = uni.key.public_key.raw, type_id(DEGREE)
    groups = {
        "valid batch": (did_hash(uni.did), root, key, degree),
        "type not granted": (did_hash(uni.did), root, key, type_id(BADGE)),
        "another issuer's key": (did_hash(uni.did), root, hsbc.key.public_key.raw, degree),
        "revoked batch": (did_hash(uni.did), batch_revoked_root, key, degree),
        "root never anchored": (did_hash(uni.did), os.urandom(32), key, degree),
        "unknown issuer DID": (keccak(text=f"did:web:{nonce}.example"), root, key, degree),
        "root of another issuer": (did_hash(hsbc.did), root, hsbc.key.public_key.raw, degree),
        "level-scoped degrees": (
            did_hash(scoped.did),
            scoped_root,
            scoped.key.public_key.raw,
            degree,
        ),
        "unknown key of no issuer": (did_hash(uni.did), root, os.urandom(32), os.urandom(32)),
    }
    labels = list(_STATUSES + _VALID)
    # a group's first query is revoked in some groups and valid in others; groups interleave
    members = {g: labels[k % 3 :] + labels[: k % 3] for k, g in enumerate(groups)}
    named: list[tuple[str, str]] = []
    for row in itertools.zip_longest(*members.values()):
        named.extend((g, label) for g, label in zip(groups, row, strict=True) if label)
    queries = [
        (groups[g][0], groups[g][1], h[label], groups[g][2], groups[g][3]) for g, label in named
    ]
    return named, queries, times


def _as_of_times(times: list[int], ganache: bool) -> list[int]:
    """As-of times: now, before everything, far ahead, and just before the first status change and
    at every one of the first issuer's (each a different state); on Ganache, whose EVM is far
    slower, now and the first suspension of "suspended twice" (an earlier closed interval)."""
    if ganache:
        return [0, times[8]]
    return [0, 1, 2**63, times[0] - 1, *times[:14]]


def _ganache(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["chain"] == "ganache")


#: The statuses that end in a revocation.
_REVOKED = {"revoked", "governance revoked", "listed a", "listed b", "suspended then revoked"}
#: The groups whose root the issuer named by their DID never anchored: no status counts there.
_UNANCHORED = {"root never anchored", "unknown issuer DID", "root of another issuer"}


def _assert_statuses(named: list[tuple[str, str]], views: list[CredentialVerdict]) -> None:
    """Credentials with a status are never read as valid: in an anchored group each revoked one
    is revoked from its revocation time on, each other one carries its status record; valid ones
    and every one of an unanchored group have an empty status."""
    for (group, label), v in zip(named, views, strict=True):
        status = v.credential_status
        if label in _VALID or group in _UNANCHORED:
            assert (group in _UNANCHORED) is (v.anchor.issuer_id == 0), (group, label)
            assert status.revoked_at == status.suspended_at == 0, (group, label)
            assert not (v.credential_revoked or v.credential_suspended), (group, label)
            continue
        assert status.revoked_at or status.suspended_at, (group, label)
        if label in _REVOKED:
            assert v.credential_revoked is (v.as_of >= status.revoked_at), (group, label)
            if v.credential_revoked:
                assert v.credential_revoked_by is not StatusActor.NONE, (group, label)


@pytest.mark.integration
def test_groups_mixing_every_status_give_the_verdicts_of_one_call_per_credential(chain, request):
    """The reader's batch read (a group's verdict shared by its credentials with an empty status
    record, the others read in full) against one ``verifyCredential`` call per credential at the
    same block, field by field, at as-of times around every status change."""
    named, queries, times = _groups(chain)
    reader, sent = _recording_reader(chain.rpc_url, chain.deployment.registry)
    reader.timeout = 60.0
    per_call = RegistryReader(
        chain.rpc_url, chain.deployment.registry, batch_views=False, timeout=60.0
    )
    block = reader.block_number()
    for as_of in _as_of_times(times, _ganache(request)):
        sent.clear()
        views = reader.verify_credentials(queries, as_of, block)
        assert (_batch_calls(sent), _view_calls(sent)) == (1, 0)
        expected = per_call.verify_credentials(queries, as_of, block)
        for n, v, e in zip(named, views, expected, strict=True):
            assert v == e, (as_of, n)
        _assert_statuses(named, views)
        scoped = [v for (g, _), v in zip(named, views, strict=True) if g == "level-scoped degrees"]
        assert {s.name for v in scoped for s in v.type_scopes if s.granted} == {
            "DegreeCredential#level=master"
        }
    now = reader.verify_credentials(queries, 0, block)
    assert [v.credential_revoked for v in now] == [
        label in _REVOKED and group not in _UNANCHORED for group, label in named
    ]
    assert [v.credential_suspended for v in now] == [
        label in {"suspended", "governance suspended", "suspended twice", "suspended then revoked"}
        and group not in _UNANCHORED
        for group, label in named
    ]


@pytest.mark.integration
def test_the_batch_contract_answers_each_credential_exactly_in_any_order(chain, request):
    """``VerificationBatch`` called directly (no reader regrouping): interleaved groups, groups
    in runs, reversed, and a group whose first credentials are revoked: every item is byte for
    byte one ``eth_call`` of ``verifyCredential``."""
    named, queries, times = _groups(chain)
    t = HttpTransport(chain.rpc_url, 60.0)
    registry = chain.deployment.registry
    block = RegistryReader(chain.rpc_url, registry).block_number()
    view = VerdictCodec(load_artifact("TalentProofRegistry").abi)
    batch = _batch_codec()
    in_runs = sorted(range(len(queries)), key=lambda i: named[i][0])
    revoked_first = sorted(in_runs, key=lambda i: (named[i][0], named[i][1].startswith("valid")))
    orders = [list(range(len(queries))), in_runs, in_runs[::-1], revoked_first]
    for as_of in (times[8],) if _ganache(request) else (0, times[8], 2**63):
        one_each = [_eth_call(t, registry, view.encode(*q, as_of), block) for q in queries]
        for order in orders:
            qs = [queries[i] for i in order]
            raw = _eth_call(
                t, BATCH_ADDRESS, batch.encode(registry, qs, as_of), block, batch.override
            )
            items = batch.split(raw, len(qs))
            assert list(eth_abi_decode(["bytes[]"], raw)[0]) == items  # the reference decoder
            assert items == [one_each[i] for i in order], (as_of, order)


@pytest.mark.integration
def test_a_group_of_one_batch_costs_the_node_a_fraction_of_a_view_per_credential(chain):
    """64 valid credentials of one issuer, root, key and type with 4 revoked ones among them:
    the verdicts read in full are the group's first and the revoked ones; the 63 others cost one
    ``credentialStatus`` read each. The whole read fits in 1.2 M gas, where 68 separate views
    take ~3.6 M (~53 k each)."""
    named, queries, _ = _groups(chain)
    valid_group = [q for (g, _), q in zip(named, queries, strict=True) if g == "valid batch"]
    issuer, root, _, key, degree = valid_group[0]
    revoked = [
        q[2]
        for (g, label), q in zip(named, queries, strict=True)
        if g == "valid batch" and label in {"revoked", "listed a", "listed b", "governance revoked"}
    ]
    group = [(issuer, root, os.urandom(32), key, degree) for _ in range(64)]
    for k, hash_ in enumerate(revoked):
        group.insert(7 + 13 * k, (issuer, root, hash_, key, degree))
    t = HttpTransport(chain.rpc_url, 60.0)
    registry = chain.deployment.registry
    block = RegistryReader(chain.rpc_url, registry).block_number()
    batch = _batch_codec()
    view = VerdictCodec(load_artifact("TalentProofRegistry").abi)
    data = "0x" + batch.encode(registry, group, 0).hex()
    answer = t.post(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_call",
                "params": [
                    {"to": BATCH_ADDRESS, "data": data, "gas": hex(1_200_000)},
                    hex(block),
                    batch.override,
                ],
            }
        ).encode()
    )
    assert "result" in answer, answer
    items = batch.split(bytes.fromhex(answer["result"][2:]), len(group))
    assert items == [_eth_call(t, registry, view.encode(*q, 0), block) for q in group]
    verdicts = [view.decode(x) for x in items]
    assert [v.credential_revoked for v in verdicts] == [q[2] in revoked for q in group]


def _batch_codec() -> BatchCodec:
    artifact = load_artifact("VerificationBatch")
    return BatchCodec(artifact.abi, artifact.deployed_bytecode)


@pytest.mark.integration
def test_a_failing_inner_call_fails_the_whole_views_call(vchain):
    t = HttpTransport(vchain.rpc_url)
    batch = _batch_codec()
    codec = VerdictCodec(load_artifact("TalentProofRegistry").abi)
    q = (b"\x05" * 32, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32)

    def call(registry: str) -> Any:
        data = batch.encode(registry, [q, q], 0)
        return t.post(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_call",
                    "params": [
                        {"to": BATCH_ADDRESS, "data": "0x" + data.hex()},
                        "latest",
                        batch.override,
                    ],
                }
            ).encode()
        )

    ok = call(vchain.deployment.registry)
    parts = batch.split(bytes.fromhex(ok["result"][2:]), 2)
    assert parts[0] == parts[1] and codec.decode(parts[0]).anchor.issuer_id == 0
    failed = call(BATCH_ADDRESS)  # the batch code has no verifyCredential: the inner call reverts
    assert "error" in failed and "result" not in failed


@pytest.mark.integration
def test_a_registry_address_without_code_is_an_error_not_a_verdict(vchain):
    reader = RegistryReader(vchain.rpc_url, "0x" + "42" * 20)
    q = (b"\x05" * 32, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32)
    with pytest.raises(LedgerError, match="returned no data"):
        reader.verify_credentials([q, q], 0, reader.block_number())


def test_batch_calldata_equals_eth_abi_encoding():
    batch = _batch_codec()
    fn = ContractABI(load_artifact("VerificationBatch").abi).function("verifyCredentials")
    registry = "0x" + "ab" * 20
    queries = [tuple(bytes([i * 5 + k]) * 32 for k in range(5)) for i in range(3)]
    for qs in (queries, queries[:1], []):
        assert batch.encode(registry, qs, 2**63) == fn.encode(registry, list(qs), 2**63)
    with pytest.raises(ValueError, match="32-byte"):
        batch.encode(registry, [(b"\x01" * 31, *queries[0][1:])], 0)


def test_views_answer_is_split_exactly():
    items = [b"abc", b"", b"x" * 40, bytes(range(256)) * 3]
    data = abi_encode(["bytes[]"], [items])
    assert split_bytes_array(data, 4) == items  # the reference: eth-abi's encoding
    assert split_bytes_array(abi_encode(["bytes[]"], [[]]), 0) == []
    with pytest.raises(LedgerError, match="expected 3 verdicts, found 4"):
        split_bytes_array(data, 3)
    with pytest.raises(LedgerError, match=r"truncated|runs past the end"):
        split_bytes_array(data[:-64], 4)
    with pytest.raises(LedgerError, match="truncated"):
        split_bytes_array(data[:100], 4)
    with pytest.raises(LedgerError, match="truncated"):
        split_bytes_array(b"", 0)
    huge = bytearray(data)
    huge[32 * 3 - 1] = 0xFF  # the first item's offset far past the end
    huge[32 * 3 - 2] = 0xFF
    with pytest.raises(LedgerError, match=r"truncated|runs past the end"):
        split_bytes_array(bytes(huge), 4)
    length = bytearray(data)
    length[32 * 6] = 1  # the first item's length (word 6) past the end
    with pytest.raises(LedgerError, match="runs past the end"):
        split_bytes_array(bytes(length), 4)


class _NoOverrides(http.server.BaseHTTPRequestHandler):
    """A JSON-RPC proxy to a real node that refuses ``eth_call`` state overrides, as nodes
    without that extension do (error -32602), and forwards everything else."""

    protocol_version = "HTTP/1.1"
    upstream = ""
    refused = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        requests = body if isinstance(body, list) else [body]
        passed = [
            r
            for r in requests
            if not (r.get("method") == "eth_call" and len(r.get("params", [])) > 2)
        ]
        answers = [
            {
                "jsonrpc": "2.0",
                "id": r["id"],
                "error": {"code": -32602, "message": "too many arguments"},
            }
            for r in requests
            if r not in passed
        ]
        type(self).refused += len(answers)
        if passed:
            req = urllib.request.Request(
                self.upstream, json.dumps(passed).encode(), {"Content-Type": "application/json"}
            )
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
    assert reader.verify_credentials(queries, 0, block) == direct.verify_credentials(
        queries, 0, block
    )
    assert handler.refused == 1  # refused once, then not asked again:
    reader.verify_credentials(queries, 0, block)
    assert handler.refused == 1


def _eth_call(t: HttpTransport, to: str, data: bytes, block: int, *extra: Any) -> bytes:
    answer = t.post(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_call",
                "params": [{"to": to, "data": "0x" + data.hex()}, hex(block), *extra],
            }
        ).encode()
    )
    assert "result" in answer, answer
    return bytes.fromhex(answer["result"][2:])


@pytest.mark.integration
@pytest.mark.parametrize("as_of", [0, 2**63])
def test_a_group_s_empty_statuses_share_one_encoding_and_decode_to_the_per_call_answers(
    chain, as_of
):
    """The batch answer writes a verdict read in full once; a credential of the same group (issuer,
    root, key, type) as the template before it, with an empty status record, gets an offset
    pointing at the template's encoding. Decoded as the ABI's ``bytes[]`` it holds exactly the raw
    answer of one ``eth_call`` per credential, in order."""
    mixed = _mixed_queries(chain)
    good, revoked, suspended, other_key, badge, never, _ = mixed
    never2 = (never[0], b"\x03" * 32, b"\x04" * 32, never[3], never[4])  # equal verdict, other root
    good2 = (*good[:2], os.urandom(32), *good[3:])  # another credential of good's batch
    queries = [good, good2, good, revoked, suspended, suspended, good, never, never2, badge]
    queries += [other_key, other_key, good]
    t = HttpTransport(chain.rpc_url)
    registry = chain.deployment.registry
    block = RegistryReader(chain.rpc_url, registry).block_number()
    view = VerdictCodec(load_artifact("TalentProofRegistry").abi)
    one_each = [_eth_call(t, registry, view.encode(*q, as_of), block) for q in queries]
    batch = _batch_codec()
    raw = _eth_call(t, BATCH_ADDRESS, batch.encode(registry, queries, as_of), block, batch.override)
    assert list(eth_abi_decode(["bytes[]"], raw)[0]) == one_each  # the reference decoder
    assert batch.split(raw, len(queries)) == one_each
    offsets = [int.from_bytes(raw[64 + 32 * i : 96 + 32 * i], "big") for i in range(len(queries))]
    # 0 is good's group template (the next query is of its group, its status is empty): 1, 2 and
    # 6 share it; suspended (4, 5) has a status: both read in full; 10 is other_key's template,
    # 11 shares it; 12 is good's group again after another template: read in full
    shared = {1: 0, 2: 0, 6: 0, 11: 10}
    assert [offsets[shared.get(i, i)] for i in range(len(queries))] == offsets
    assert len(set(offsets)) == len(queries) - len(shared)
    written = sum(32 + -(-len(v) // 32) * 32 for i, v in enumerate(one_each) if i not in shared)
    assert len(raw) == 32 * (2 + len(queries)) + written
    reader = RegistryReader(chain.rpc_url, registry)
    per_call = RegistryReader(chain.rpc_url, registry, batch_views=False)
    assert reader.verify_credentials(queries, as_of, block) == per_call.verify_credentials(
        queries, as_of, block
    )


#: Runtime code answering any call with ``W`` bytes (the first argument word), all zero but
#: the word at index ``j`` (the second), which holds ``v`` (the third): mstore(j * 32, v),
#: return(0, W). Placed at a registry address by a state override, it gives the batch contract
#: answers of every length and content, which no registry state gives.
_ANSWER_CODE = bytes.fromhex(
    "600435"  # PUSH1 0x04 CALLDATALOAD: W
    "602435"  # PUSH1 0x24 CALLDATALOAD: j
    "604435"  # PUSH1 0x44 CALLDATALOAD: v
    "90"
    "60051b"
    "52"  # SWAP1, j << 5, MSTORE: mstore(j * 32, v)
    "6000"
    "f3"  # PUSH1 0 RETURN: return(0, W)
)
_ANSWERER = "0x" + "a5" * 20


def _answer(length: int, index: int, value: int) -> bytes:
    out = bytearray(max(length, 32 * index + 32))
    out[32 * index : 32 * index + 32] = value.to_bytes(32, "big")
    return bytes(out[:length])


@pytest.mark.integration
def test_answers_of_any_length_and_content_are_copied_exactly(chain):
    """Answers of 1-43 words, some with a partial last word, each differing from the all-zero
    answer before it in one word, at every position: the batch answer holds every one exactly.
    Two queries of one group (the same first, second, fourth and fifth word) whose first answer
    is not shaped like a verdict (its first word is not the offset 0x20) are both read in full:
    only a verdict can be a group's template."""
    batch = _batch_codec()
    t = HttpTransport(chain.rpc_url)
    block = RegistryReader(chain.rpc_url, chain.deployment.registry).block_number()
    queries: list[tuple[bytes, ...]] = []
    expected: list[bytes] = []

    def q(length: int, index: int, value: int) -> None:
        queries.append(tuple(x.to_bytes(32, "big") for x in (length, index, value, 0, 0)))
        expected.append(_answer(length, index, value))

    for words in (40, 41, 42, 43, 1, 2, 3, 5):
        for length in (32 * words, 32 * words - 7):
            for index in range(-(-length // 32)):
                q(length, 0, 0)
                q(length, 0, 0)  # the same group, not a verdict: read again
                q(length, index, 1 << (8 * (index % 32)))  # one bit in one word
    override = {**batch.override, _ANSWERER: {"code": "0x" + _ANSWER_CODE.hex()}}
    raw = b""
    got: list[bytes] = []
    for i in range(0, len(queries), 256):
        part = queries[i : i + 256]
        raw = _eth_call(t, BATCH_ADDRESS, batch.encode(_ANSWERER, part, 0), block, override)
        assert list(eth_abi_decode(["bytes[]"], raw)[0]) == batch.split(raw, len(part))
        got += batch.split(raw, len(part))
    assert got == expected
    one = [queries[0], queries[1], queries[2]]
    raw = _eth_call(t, BATCH_ADDRESS, batch.encode(_ANSWERER, one, 0), block, override)
    assert batch.split(raw, 3) == expected[:3]
    assert len(raw) == 32 * (2 + 3) + 3 * (32 + 1280)  # each answer written in full
