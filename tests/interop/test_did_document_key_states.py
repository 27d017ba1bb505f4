"""An independent verifier resolving the issuer's did:web (@digitalbazaar/vc, eddsa-jcs-2022,
Node, offline) follows the registry's key records through the served ``did.json`` (real issuer
service, Anvil): a credential signed with a key governance revoked on chain, or with a key whose
window ended, no longer verifies; one signed with the open key still does."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import time
from typing import Any

import pytest

from talentproof.credential import integrity
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.issuer.db import SigningKey
from talentproof.issuer.store import institutions as institution_store
from tests.issuer.issuer_helpers import (
    BACKGROUND_WAIT_S,
    bearer,
    degree_request,
    onboard,
    operator_headers,
)
from tests.issuer.test_institution_state import _governance

from .node_vc import messages, verify_with_vc

pytestmark = pytest.mark.integration


def _served(client: Any, slug: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    did_doc = client.get(f"/institutions/{slug}/did.json").json()
    lists = [
        client.get(f"/institutions/{slug}/status/{purpose}").json()
        for purpose in ("revocation", "suspension")
    ]
    return did_doc, lists


def _until_key_changes(client: Any, slug: str, key: str, before: dict[str, Any]) -> None:
    # did.json reads the key records at most every KEY_RECORDS_TTL_S (2 s): a pass ends within
    # a few reads; the bound is for a loaded machine
    deadline = time.monotonic() + BACKGROUND_WAIT_S
    while client.get(f"/institutions/{slug}/did.json").json() == before:
        assert time.monotonic() < deadline, f"did.json still vouches for {key}"
        time.sleep(0.2)


def _verified(client: Any, slug: str, doc: dict[str, Any]) -> dict[str, Any]:
    did_doc, lists = _served(client, slug)
    return verify_with_vc(doc, [did_doc], status_lists=lists)


def test_a_key_governance_revoked_no_longer_verifies_with_vc(client, issuer_chain) -> None:
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    old = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    new = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    for cred in (old, new):
        result = _verified(client, slug, cred["credential"])
        assert result["verified"], result
    old_key = old["credential"]["proof"]["verificationMethod"].rsplit("#", 1)[1]
    before = client.get(f"/institutions/{slug}/did.json").json()
    _governance(issuer_chain).revoke_signing_key(
        inst["chain_issuer_id"], Ed25519PublicKey.from_multibase(old_key).raw
    )
    _until_key_changes(client, slug, old_key, before)
    result = _verified(client, slug, old["credential"])
    assert not result["verified"], result
    assert any("offline document loader" in m for m in messages(result)), messages(result)
    result = _verified(client, slug, new["credential"])
    assert result["verified"], result


def test_a_key_whose_window_ended_no_longer_verifies_with_vc(client, service, issuer_chain) -> None:
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    key = Ed25519SigningKey.from_seed(hashlib.sha256(slug.encode() + b"window").digest())
    gov = _governance(issuer_chain)
    now = int(gov.w3.eth.get_block("latest")["timestamp"])
    gov.add_signing_key(inst["chain_issuer_id"], key.public_key.raw, now, now + 4)
    with service.session() as session:  # the institution's key, kept by a tool of its own
        session.add(
            SigningKey(
                institution_id=institution_store.by_slug(session, slug).id,
                public_key_multibase=key.public_key.multibase,
                public_key_raw=key.public_key.raw,
                seed_enc=b"",
                active=False,
            )
        )
    issued = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    unsigned = copy.deepcopy(issued["credential"])
    proof = unsigned.pop("proof")
    signed = integrity.sign(
        unsigned,
        key,
        verification_method=f"{inst['did']}#{key.public_key.multibase}",
        created=dt.datetime.fromisoformat(proof["created"].replace("Z", "+00:00")),
    )
    result = _verified(client, slug, signed)
    assert result["verified"], result
    before = client.get(f"/institutions/{slug}/did.json").json()
    # the chain's clock is moved past the window's end, not waited for (other tests move the
    # shared chain's clock ahead of this machine's)
    gov.w3.provider.make_request("evm_increaseTime", [5])
    gov.w3.provider.make_request("evm_mine", [])
    _until_key_changes(client, slug, key.public_key.multibase, before)
    did_doc, _lists = _served(client, slug)
    # still listed (with its end), but no longer an assertion method: the library refuses
    assert key.public_key.multibase in str(did_doc["verificationMethod"])
    result = _verified(client, slug, signed)
    assert not result["verified"], result
    assert any("not authorized" in m for m in messages(result)), messages(result)
    result = _verified(client, slug, issued["credential"])
    assert result["verified"], result
