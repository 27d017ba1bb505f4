"""An institution's did:web document vouches only for the keys the registry holds valid (real
issuer service, Anvil).

The attack (on a third party's trust, not the TalentProof verifier's, which judges the key at the
anchor's time on chain): governance revokes an institution's signing key after a compromise
(``revokeSigningKey``). The institution's ``did.json`` kept listing it under ``assertionMethod``,
so a verifier resolving the did:web (a VC library, the wallet page) accepted whatever the thief
signed with it. Now a key governance revoked leaves the document; a key whose window ended on its
schedule stays listed with ``expires`` but no verification relationship; a key the registry
never registered for the institution is not listed; the registry is read at most every two
seconds, and with no read of it the document is refused (503), never the service's own list.
"""

from __future__ import annotations

import hashlib
import socket
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential import integrity
from talentproof.credential.errors import KeyMismatch
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.issuer.db import SigningKey
from talentproof.issuer.errors import LedgerUnavailable
from talentproof.issuer.store import institutions as institution_store
from talentproof.issuer.usecases.publication import KEY_RECORDS_TTL_S
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    BACKGROUND_WAIT_S,
    bearer,
    degree_request,
    onboard,
    operator_headers,
    until,
)
from tests.issuer.test_institution_state import _governance

pytestmark = pytest.mark.integration
#: did.json reads the registry's key records at most every KEY_RECORDS_TTL_S (2 s): a pass ends
#: within a few reads; the bound is for a loaded machine, not a figure.
WAIT_S = BACKGROUND_WAIT_S


def did_json(client: TestClient, slug: str) -> dict[str, Any]:
    r = client.get(f"/institutions/{slug}/did.json")
    assert r.status_code == 200, r.text
    assert r.headers["X-TalentProof-Ledger-State"] == "chain", r.headers
    doc: dict[str, Any] = r.json()
    return doc


def methods(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {vm["publicKeyMultibase"]: vm for vm in doc["verificationMethod"]}


def asserting(doc: dict[str, Any]) -> set[str]:
    assert doc["authentication"] == doc["assertionMethod"]
    return {ref.rsplit("#", 1)[1] for ref in doc["assertionMethod"]}


def add_key_row(service: Any, institution_id: int, key: Ed25519SigningKey) -> None:
    """A key the service lists as retired (it never signs: no seed), e.g. one a consortium
    tool registered with a window."""
    with service.session() as session:
        session.add(
            SigningKey(
                institution_id=institution_id,
                public_key_multibase=key.public_key.multibase,
                public_key_raw=key.public_key.raw,
                seed_enc=b"",
                active=False,
            )
        )


def test_did_json_drops_a_key_governance_revoked(
    client: TestClient, service: Any, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    old = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert old.status_code == 202, old.text
    signed = old.json()["credential"]
    old_key = signed["proof"]["verificationMethod"].rsplit("#", 1)[1]
    rotated = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["signing_keys"][-1]["publicKeyMultibase"]
    # a normal rotation: the old key stays open on chain (credentials signed with it may still
    # wait for their anchor), so the document still vouches for it
    doc = did_json(client, slug)
    assert asserting(doc) == {old_key, new_key}
    integrity.verify(signed, did_documents={inst["did"]: doc})

    gov = _governance(issuer_chain)
    gov.revoke_signing_key(inst["chain_issuer_id"], Ed25519PublicKey.from_multibase(old_key).raw)

    def dropped() -> dict[str, Any] | None:
        d = did_json(client, slug)
        return d if old_key not in methods(d) else None

    doc = until(dropped, WAIT_S, step=0.2)
    assert doc is not None, "the revoked key is still listed"
    assert set(methods(doc)) == {new_key} and asserting(doc) == {new_key}
    # a verifier resolving the did:web no longer finds the compromised key
    with pytest.raises(KeyMismatch, match="not listed"):
        integrity.verify(signed, did_documents={inst["did"]: doc})
    fresh = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    integrity.verify(fresh["credential"], did_documents={inst["did"]: doc})


def test_did_json_keeps_an_ended_key_without_relationships_and_omits_unregistered(
    client: TestClient, service: Any, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    slug = inst["slug"]
    with service.sessions() as session:
        institution_id = institution_store.by_slug(session, slug).id
    scheduled = Ed25519SigningKey.from_seed(hashlib.sha256(slug.encode() + b"window").digest())
    stranger = Ed25519SigningKey.from_seed(hashlib.sha256(slug.encode() + b"stranger").digest())
    gov = _governance(issuer_chain)
    now = int(gov.w3.eth.get_block("latest")["timestamp"])
    gov.add_signing_key(inst["chain_issuer_id"], scheduled.public_key.raw, now, now + 4)
    add_key_row(service, institution_id, scheduled)
    add_key_row(service, institution_id, stranger)  # never registered on chain

    doc = did_json(client, slug)
    listed = methods(doc)
    active = inst["signing_keys"][0]["publicKeyMultibase"]
    assert set(listed) == {active, scheduled.public_key.multibase}, listed
    assert asserting(doc) == {active, scheduled.public_key.multibase}
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 4))
    assert listed[scheduled.public_key.multibase]["expires"] == expires
    assert "expires" not in listed[active]

    # the window's scheduled end passes (a block after it carries the chain's "now"). The
    # chain's clock is moved, not waited for: other tests move the shared chain's clock ahead
    # of this machine's, and a wait for it took 241 s in CI.
    gov.w3.provider.make_request("evm_increaseTime", [5])
    gov.w3.provider.make_request("evm_mine", [])
    assert int(gov.w3.eth.get_block("latest")["timestamp"]) > now + 4

    def ended() -> dict[str, Any] | None:
        d = did_json(client, slug)
        return d if scheduled.public_key.multibase not in asserting(d) else None

    doc = until(ended, WAIT_S, step=0.2)
    assert doc is not None, "the ended key still asserts"
    listed = methods(doc)
    assert set(listed) == {active, scheduled.public_key.multibase}
    assert listed[scheduled.public_key.multibase]["expires"] == expires
    assert asserting(doc) == {active}


def test_did_json_is_refused_without_a_read_of_the_registry(
    client: TestClient, make_service: Any
) -> None:
    inst = onboard(client)
    # the same database, a ledger nobody answers at: no read of the keys, no document
    offline = make_service(rpc_url="http://127.0.0.1:9", rpc_timeout_s=0.5)
    with pytest.raises(LedgerUnavailable):
        offline.did_document(inst["slug"])
    # nor does the next request wait for the RPC timeout again
    started = time.monotonic()
    with pytest.raises(LedgerUnavailable):
        offline.did_document(inst["slug"])
    assert time.monotonic() - started < 0.25


def test_did_json_does_not_wait_again_for_a_node_that_hangs(
    client: TestClient, make_service: Any
) -> None:
    """A node that accepts the connection and never answers (not one that refuses it, as port 9
    above): the failed read's time is when it ended, so the next request within the key cache's
    TTL is refused at once instead of waiting for the RPC timeout again (the read used to be
    stamped when it started, which an RPC timeout above the TTL had already put out of it)."""
    inst = onboard(client)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # accepted by the kernel, never read nor answered
        port = hung.getsockname()[1]
        timeout_s = KEY_RECORDS_TTL_S + 1.0
        offline = make_service(rpc_url=f"http://127.0.0.1:{port}", rpc_timeout_s=timeout_s)
        with pytest.raises(LedgerUnavailable):
            offline.did_document(inst["slug"])
        with pytest.raises(LedgerUnavailable, match="did not answer the last read of the keys"):
            offline.did_document(inst["slug"])


def test_did_json_asks_the_ledger_again_while_requests_keep_coming(
    client: TestClient, make_service: Any
) -> None:
    """The refusal at once after a failed read ("did not answer the last read") lasts one key
    cache TTL from that read, not from the last refusal: a refusal stamped itself as a failed
    read, so requests coming more often than every TTL never asked the ledger again, even once
    it answered, and did.json stayed refused (or stale) for as long as they kept coming."""
    inst = onboard(client)
    offline = make_service(rpc_url="http://127.0.0.1:9", rpc_timeout_s=0.5)
    with pytest.raises(LedgerUnavailable):
        offline.did_document(inst["slug"])
    failed_at = time.monotonic()
    asked_again = False
    while time.monotonic() - failed_at < KEY_RECORDS_TTL_S + 3.0:
        time.sleep(KEY_RECORDS_TTL_S / 4)
        with pytest.raises(LedgerUnavailable) as refused:
            offline.did_document(inst["slug"])
        if "did not answer the last read of the keys" not in str(refused.value):
            asked_again = True  # (the ledger read again: port 9 refuses it once more)
            break
    assert asked_again, "every request within the TTL of the previous refusal was refused unread"
