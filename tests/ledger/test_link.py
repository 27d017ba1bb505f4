"""`ledger.link.RegistryLink`, the issuer's reads and writes, on a real Anvil: each read equals
the ledger's other reading of the same thing (`RegistryClient`'s views and events, the
`RegistryReader`'s head), a block past the head and an unknown transaction are None, and a
registry write sent by one of its `TxSender`s is decoded from its receipt."""

from __future__ import annotations

import os

import pytest

from talentproof.ledger.chain import type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.endpoints import RpcEndpoints
from talentproof.ledger.errors import ChainUnavailable
from talentproof.ledger.link import RegistryLink
from talentproof.ledger.models import AnchorRecord, IssuerInfo, TimeWindow
from talentproof.ledger.reader import RegistryReader

pytestmark = pytest.mark.integration


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


def test_a_link_to_no_node_fails_as_chain_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talentproof.ledger.nodes import free_port

    link = RegistryLink(RpcEndpoints(f"http://127.0.0.1:{free_port()}", 1.0), "0x" + "11" * 20)
    with pytest.raises(ChainUnavailable):
        link.head()
    with pytest.raises(ValueError, match="address"):
        RegistryLink(link.endpoints, "0x1234")
