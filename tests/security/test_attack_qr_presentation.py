"""Every byte of a bound presentation's QR payload flipped, every field of its JSON changed (real
Anvil): none is VALID.

The presentation QR code (`talentproof present`: ``TP1:`` + Base45 of the binary form) is the
densest of the payloads: the holder is implied by the proof's raw key, each credential's subject
id by the holder, each Merkle root by the credential's own hash and path (only under the
holder's signature, which covers them), and the holder's identity-document salt rides along.
A flip the decoder still reads is a presentation that says something else, so it must fail a
check (the holder's proof, a credential's signature, inclusion, the anchor, check 12 against the
document number); only a flip that decodes to the very same presentation may stay VALID_MEETS.
The tamper corpus (`test_tamper.py`) flips single credentials' payloads; this is the bound
presentation's, judged as the officer's page judges it (challenge, domain, document number,
profession).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from talentproof.credential import qr as c_qr
from talentproof.credential.errors import CredentialError
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.engine import Item
from talentproof.verifier.inputs import item_from_json, item_from_text
from talentproof.verifier.policy import load_policy
from talentproof.verifier.report import Outcome
from talentproof.verifier.requirements import Domain
from tests.chainkit import ID_NUMBER, ID_SALT, dlt_expert_credentials, holder
from tests.security.test_tamper import single_field_changes

pytestmark = pytest.mark.integration

DOMAIN = "verifier.example.hk"
CHALLENGE = "Qm9yZGVyLWNvbnRyb2wtMQ"


def _bound_presentation(vchain: Any) -> dict[str, Any]:
    """A new holder's DLT-expert credentials in a presentation bound to CHALLENGE and DOMAIN,
    carrying the holder's identity-document salt."""
    key = holder()
    creds = dlt_expert_credentials(vchain, key.public_key.did_key)
    return create_presentation(
        list(creds.values()),
        key,
        challenge=CHALLENGE,
        domain=DOMAIN,
        created=datetime.now(UTC).replace(microsecond=0),
        identity_document_salt=ID_SALT,
    )


def _judge(vchain: Any, read: Callable[[Any], Item]) -> Callable[[Any], Outcome]:
    """The officer page's verdict on one presentation, as ``read`` makes it an item: challenge,
    domain, document number and the hk-dlt-expert profession of the application."""
    verifier, policy = vchain.verifier(), load_policy()

    def judge(presented: Any) -> Outcome:
        return verifier.verify_application(
            [read(presented)],
            Domain(DOMAIN),
            challenge=CHALLENGE,
            policy=policy,
            profession="hk-dlt-expert",
            application_date=datetime(2024, 3, 1, tzinfo=UTC).date(),
            id_number=ID_NUMBER,
        ).outcome.outcome

    return judge


def test_every_byte_of_a_bound_presentation_payload_flipped_is_not_valid(vchain) -> None:
    vp = _bound_presentation(vchain)
    text = c_qr.encode_payload(vp)
    assert c_qr.decode_payload(text) == vp
    judge = _judge(vchain, lambda payload_text: item_from_text(payload_text, "presentation"))
    assert judge(text) is Outcome.VALID_MEETS  # the untouched payload (so what follows is the flip)
    payload = c_qr.b45decode(text[len(c_qr.PREFIX) :])
    wrong: list[str] = []
    counts: dict[str, int] = {}
    for i in range(len(payload)):
        for mask in (0x01, 0xFF):
            flipped = payload[:i] + bytes([payload[i] ^ mask]) + payload[i + 1 :]
            changed = c_qr.PREFIX + c_qr.b45encode(flipped)
            try:
                same = c_qr.decode_payload(changed) == vp
            except CredentialError:
                same = False
            got = judge(changed)
            counts[got.value] = counts.get(got.value, 0) + 1
            if got in (Outcome.VALID, Outcome.VALID_MEETS, Outcome.VALID_NOT_MET) and not same:
                wrong.append(f"byte {i} ^ {mask:#04x}: {got.value}")
    print(
        f"\n[presentation payload] {len(payload)} bytes, two flips each: {dict(sorted(counts.items()))}"
    )
    assert not wrong, wrong[:10]
    assert counts.get("INVALID", 0) > len(payload) // 2  # many flips read, refused by a check


def test_every_single_field_change_of_a_bound_presentation_is_not_valid(vchain) -> None:
    """The same as JSON (the service's documents, the VC API, an OpenID4VP answer): every
    field of the presentation changed, deleted or added to (its holder, salt, proof options,
    each credential's claims, proofs and anchor entries): none VALID. The holder's proof covers
    every byte of it, so no change keeps its meaning."""
    vp = _bound_presentation(vchain)
    judge = _judge(vchain, lambda doc: item_from_json(json.dumps(doc), "presentation"))
    assert judge(vp) is Outcome.VALID_MEETS
    cases = list(single_field_changes(vp))
    assert len(cases) > 300
    counts: dict[str, int] = {}
    wrong = []
    for what, changed in cases:
        got = judge(changed)
        counts[got.value] = counts.get(got.value, 0) + 1
        if got in (Outcome.VALID, Outcome.VALID_MEETS, Outcome.VALID_NOT_MET):
            wrong.append(f"{what}: {got.value}")
    print(
        f"\n[presentation JSON] {len(cases)} single-field changes: {dict(sorted(counts.items()))}"
    )
    assert not wrong, wrong[:10]
