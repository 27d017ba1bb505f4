"""`ledger.link.RegistryLink`, the issuer's reads and writes, on a real Anvil: each read equals
the ledger's other reading of the same thing (`RegistryClient`'s views and events, the
`RegistryReader`'s head), a block past the head and an unknown transaction are None, and a
registry write sent by one of its `TxSender`s is decoded from its receipt.

The three facades share one registry access (`ledger._internal.views`): their typed reads
(issuer, key, type, anchor and status records) give the same records over their three
transports, an address without the registry is the same error on each, and the one block-head
decoder reads the node's form and web3's alike and refuses anything else, naming what it
expected."""

from __future__ import annotations

import dataclasses
import os

import pytest

from talentproof.ledger._internal.views import as_query, block_head
from talentproof.ledger.chain import type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.link import RegistryLink
from talentproof.ledger.models import AnchorRecord, BlockHead, IssuerInfo, TimeWindow
from talentproof.ledger.reader import RegistryReader


@pytest.mark.integration
def test_the_link_reads_what_the_client_and_the_reader_read(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    d = deployed_anvil
    gov = RegistryClient(d.w3, d.deployment, d.governor_key)
    issuer_id = gov.register_issuer("Link U", "did:web:link.example", [])
    gov.grant_credential_type(issuer_id, "DegreeCredential")
    key = os.urandom(32)
    gov.add_signing_key(issuer_id, key)
    gov.revoke_signing_key(issuer_id, key)
    link = RegistryLink(RpcEndpoints(d.rpc_url, 5.0), d.deployment.registry.lower())

    assert link.registry == d.deployment.registry  # checksummed
    assert link.chain_id() == d.deployment.chain_id
    assert IssuerInfo.from_struct(link.call("issuer", issuer_id), issuer_id=issuer_id) == (
        gov.issuer(issuer_id)
    )
    window = TimeWindow.from_struct(
        link.call("credentialType", issuer_id, type_id("DegreeCredential"))
    )
    assert window == gov.credential_type(issuer_id, "DegreeCredential") and window.registered
    assert not AnchorRecord.from_struct(link.call("anchor", issuer_id, bytes(32))).anchored

    head = link.head()
    assert head == RegistryReader(d.rpc_url, d.deployment.registry).head()
    assert link.block(head.number) == head
    assert link.block(head.number + 1000) is None  # past the head
    assert link.receipt_block("0x" + "ab" * 32) is None  # a transaction the node never saw

    names = ("SigningKeyAdded", "SigningKeyRevoked")
    events = link.events(names, d.deployment.deployment_block, issuerId=issuer_id)
    assert [e.name for e in events] == ["SigningKeyAdded", "SigningKeyRevoked"]
    assert events == gov.events("SigningKeyAdded", issuerId=issuer_id) + gov.events(
        "SigningKeyRevoked", issuerId=issuer_id
    )
    assert link.events(names, head.number, head.number, issuerId=issuer_id) == events[1:]
    start = d.deployment.deployment_block
    assert link.events(names, start, start, issuerId=issuer_id) == []  # before the issuer
    assert link.events(names, d.deployment.deployment_block, issuerId=issuer_id + 1) == []


@pytest.mark.integration
def test_a_write_through_a_link_sender_is_decoded_from_its_receipt(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    d = deployed_anvil
    link = RegistryLink(RpcEndpoints(d.rpc_url, 5.0), d.deployment.registry)
    sender = link.sender(d.governor_key, expected_chain_id=d.deployment.chain_id, timeout=30.0)
    pending = sender.send(
        {"to": link.registry, "data": link.calldata("registerIssuer", "W", "did:web:w.x", [])},
        label="registerIssuer",
    )
    receipt = sender.wait(pending)
    (event,) = [e for e in link.receipt_events(receipt) if e.name == "IssuerRegistered"]
    issuer_id = int(event.args["issuerId"])
    assert link.receipt_block(pending.tx_hash) == int(receipt["blockNumber"])
    assert IssuerInfo.from_struct(link.call("issuer", issuer_id), issuer_id=issuer_id).did == (
        "did:web:w.x"
    )


@pytest.mark.integration
def test_a_link_to_no_node_fails_as_chain_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talentproof.ledger.nodes import free_port

    link = RegistryLink(RpcEndpoints(f"http://127.0.0.1:{free_port()}", 1.0), "0x" + "11" * 20)
    with pytest.raises(ChainUnavailable):
        link.head()
    with pytest.raises(ValueError, match="address"):
        RegistryLink(link.endpoints, "0x1234")


@pytest.mark.integration
def test_the_three_facades_read_each_record_the_same(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    d = deployed_anvil
    iss = d.setup_issuer("Three U", "did:web:three.example", types=("DegreeCredential",))
    root, credential = os.urandom(32), os.urandom(32)
    before = d.w3.eth.block_number
    anchored = iss.client.anchor_root(root, 2)
    iss.client.suspend_credential(credential)
    facades = {
        "governance client": d.governor,
        "read-only client": d.client(),
        "issuer link": RegistryLink(RpcEndpoints(d.rpc_url, 5.0), d.deployment.registry),
        "verifier reader": RegistryReader(d.rpc_url, d.deployment.registry),
    }
    i, key = iss.issuer_id, iss.signing_key
    reads = {
        name: (
            f.issuer(i),
            f.issuer_count(),
            f.issuer_id_of_did(iss.did),
            f.issuer_of_account(iss.account),
            f.issuer_accounts(i),
            f.signing_key(i, key),
            f.signing_key(i, bytes(32)),
            f.credential_type(i, "DegreeCredential"),
            f.credential_type(i, type_id("DegreeCredential")),
            f.anchor(i, root),
            f.anchor(i, root, block=before),
            f.anchor(i, os.urandom(32)),
            f.credential_status(i, credential),
            f.credential_status_at(i, credential, 2**40),
            f.is_governor(d.governor.account),
        )
        for name, f in facades.items()
    }
    expected = reads["governance client"]
    assert expected[0].did == "did:web:three.example" and expected[5].registered
    assert not expected[6].registered and expected[7] == expected[8] and expected[7].registered
    assert expected[9] is not None and expected[9].block_number == anchored.block_number
    assert expected[10] is None and expected[11] is None  # before it was anchored; never
    assert expected[13] == (False, True) and expected[14] is True
    for name, answer in reads.items():
        assert answer == expected, name


@pytest.mark.integration
def test_an_address_without_the_registry_is_one_error_on_every_facade(deployed_anvil) -> None:  # type: ignore[no-untyped-def]
    d = deployed_anvil
    nowhere = "0x" + "42" * 20
    facades = [
        RegistryClient(d.w3, dataclasses.replace(d.deployment, registry=nowhere), d.governor_key),
        RegistryClient(d.w3, dataclasses.replace(d.deployment, registry=nowhere)),
        RegistryLink(RpcEndpoints(d.rpc_url, 5.0), nowhere),
        RegistryReader(d.rpc_url, nowhere),
    ]
    for f in facades:
        with pytest.raises(
            LedgerError, match=f"issuer returned no data: is the registry at {nowhere}"
        ):
            f.issuer(1)
        with pytest.raises(ValueError, match="Merkle root must be 32 bytes"):
            f.anchor(1, b"short")


_HASH = "0x" + "ab" * 32


@pytest.mark.parametrize(
    "block",
    [
        {"number": "0x10", "hash": _HASH, "timestamp": "0x5f5e100", "extra": "ignored"},
        {"number": 16, "hash": bytes.fromhex("ab" * 32), "timestamp": 100_000_000},
    ],
    ids=["node", "web3"],
)
def test_the_block_head_decoder_reads_the_node_and_web3_forms_alike(block) -> None:  # type: ignore[no-untyped-def]
    assert block_head(block) == BlockHead(16, _HASH, 100_000_000)


@pytest.mark.parametrize(
    "block",
    [
        None,
        "0x10",
        [],
        {},
        {"number": "0x10", "hash": _HASH},  # no timestamp
        {"number": "0x10", "hash": None, "timestamp": "0x1"},
        {"number": None, "hash": _HASH, "timestamp": "0x1"},
        {"number": True, "hash": _HASH, "timestamp": "0x1"},
        {"number": "0xzz", "hash": _HASH, "timestamp": "0x1"},
        {"number": "-0x1", "hash": _HASH, "timestamp": "0x1"},
        {"number": "0x-1", "hash": _HASH, "timestamp": "0x1"},
        {"number": -1, "hash": _HASH, "timestamp": 1},
        {"number": "0x1", "hash": _HASH, "timestamp": 1.5},
        {"number": "0x1", "hash": "0x" + "ab" * 31, "timestamp": "0x1"},  # 31 bytes
        {"number": "0x1", "hash": "ab" * 32, "timestamp": "0x1"},  # no 0x
        {"number": "0x1", "hash": "0x" + "zz" * 32, "timestamp": "0x1"},
        {"number": "0x1", "hash": b"\xab" * 33, "timestamp": "0x1"},
    ],
)
def test_the_block_head_decoder_refuses_what_is_no_block(block) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ChainUnavailable,
        match=r"expected the latest block \(number, hash, timestamp\).* from http://node",
    ):
        block_head(block, "http://node", "the latest block")


def test_the_verification_query_takes_bytes_or_hex_and_names_what_is_not_32_bytes() -> None:
    parts = [bytes([i]) * 32 for i in range(5)]
    forms = [parts, [bytearray(p) for p in parts], ["0x" + p.hex() for p in parts]]
    for form in forms:
        query = as_query(*form)
        assert query == tuple(parts) and all(type(q) is bytes for q in query)
    names = [
        "issuer DID hash",
        "Merkle root",
        "credential hash",
        "signing key",
        "credential type id",
    ]
    for i, name in enumerate(names):
        for bad in (parts[i][:31], parts[i] + b"\x00", "0x" + "zz" * 32, 7, None, "0x" + "ab" * 31):
            args = list(parts)
            args[i] = bad
            with pytest.raises(ValueError, match=f"^{name} must be 32 bytes"):
                as_query(*args)
