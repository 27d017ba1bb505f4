"""Attack: an institution governance removed (or suspended) on chain, whose signing key its
former staff still hold, signs new credentials, and an independent verifier resolving the
institution's did:web (@digitalbazaar/vc, eddsa-jcs-2022, Node, offline) accepts them (real
issuer service, Anvil).

The served ``did.json`` followed the registry's key windows only: a key governance revoked, or
whose window ended, left ``assertionMethod``, but removing the institution (final: the diploma
mill case) or suspending it touches no key window, so every key stayed an assertion method and a
credential signed after the removal verified. TalentProof's own verifier refuses it (check 6:
the anchoring issuer not active at anchor time; unanchored, check 4); a did:web verifier holds no
trusted signing time, so, as for a key whose window ended, the document lists the institution's
keys with no verification relationship while the registry shows it suspended or removed (a
reinstatement lists them again)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import time
from typing import Any

import pytest

from talentproof.credential import integrity
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer.db import SigningKey
from talentproof.issuer.store import institutions as institution_store
from talentproof.issuer.usecases.publication import KEY_RECORDS_TTL_S
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance

from .node_vc import messages, verify_with_vc

pytestmark = pytest.mark.integration


def _did(client: Any, slug: str) -> dict[str, Any]:
    r = client.get(f"/institutions/{slug}/did.json")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _after_a_read(client: Any, slug: str, before: dict[str, Any]) -> dict[str, Any]:
    """did.json once it changed, or as served after a few of its reads (it reads the registry at
    most every KEY_RECORDS_TTL_S): what a verifier resolving it then gets. The bound is for a
    loaded machine (CI: 2 cores under two test workers, each read a chain call); every caller
    expects a change, which ends the wait."""
    deadline = time.monotonic() + 30 * KEY_RECORDS_TTL_S
    while (now := _did(client, slug)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    return now


def _held_key(client: Any, service: Any, slug: str, inst: dict[str, Any]) -> Ed25519SigningKey:
    """A signing key of the institution, registered on chain with an open window, that its staff
    keep outside the service (what a removed institution's people still hold)."""
    key = Ed25519SigningKey.from_seed(hashlib.sha256(slug.encode() + b"held").digest())
    _governance(inst["_chain"]).add_signing_key(inst["chain_issuer_id"], key.public_key.raw)
    with service.session() as session:
        session.add(
            SigningKey(
                institution_id=institution_store.by_slug(session, slug).id,
                public_key_multibase=key.public_key.multibase,
                public_key_raw=key.public_key.raw,
                seed_enc=b"",
                active=False,
            )
        )
    return key


def _signed_now(template: dict[str, Any], key: Ed25519SigningKey, did: str) -> dict[str, Any]:
    unsigned = copy.deepcopy(template)
    unsigned.pop("proof")
    unsigned.pop("credentialStatus", None)  # a new credential the service never listed
    return integrity.sign(
        unsigned,
        key,
        verification_method=f"{did}#{key.public_key.multibase}",
        created=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )


def _setup(client: Any, service: Any, issuer_chain: Any) -> tuple[dict[str, Any], Any, Any]:
    inst = onboard(client)
    inst["_chain"] = issuer_chain
    slug, token = inst["slug"], inst["api_key"]["token"]
    issued = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    key = _held_key(client, service, slug, inst)
    return inst, issued["credential"], key


@pytest.mark.parametrize("action", ["remove", "suspend"])
def test_attack_a_removed_or_suspended_institutions_key_signs_nothing_a_did_web_verifier_accepts(
    client, service, issuer_chain, action
) -> None:  # type: ignore[no-untyped-def]
    inst, template, key = _setup(client, service, issuer_chain)
    slug = inst["slug"]
    before = _did(client, slug)
    assert key.public_key.multibase in str(before["assertionMethod"])
    control = _signed_now(template, key, inst["did"])
    result = verify_with_vc(control, [before])
    assert result["verified"], result  # the key asserts while the institution is active

    gov = _governance(issuer_chain)
    if action == "remove":
        gov.remove_issuer(inst["chain_issuer_id"])
    else:
        gov.suspend_issuer(inst["chain_issuer_id"])
    after = _after_a_read(client, slug, before)
    forged = _signed_now(template, key, inst["did"])
    result = verify_with_vc(forged, [after])
    assert not result["verified"], result
    assert any("not authorized" in m for m in messages(result)), messages(result)
    # still listed, so the document tells what the keys are
    assert key.public_key.multibase in str(after["verificationMethod"])
    assert not after.get("assertionMethod"), after

    if action == "suspend":  # a reinstatement lists the keys again
        gov.reinstate_issuer(inst["chain_issuer_id"])
        again = _after_a_read(client, slug, after)
        assert key.public_key.multibase in str(again["assertionMethod"])
        assert verify_with_vc(forged, [again])["verified"]
