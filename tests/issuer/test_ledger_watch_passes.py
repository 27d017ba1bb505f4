"""The ledger watch's periodic passes (`IssuerService.record_ledger_states`): each one runs
whatever another does, and the registry-name pass names in ``/readyz`` the institutions whose
name or DID differ from the registry's record of their issuer (real Anvil, real registry)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey
from talentproof.issuer.errors import LedgerUnavailable
from talentproof.issuer.store import institutions as institution_store
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import onboard, operator_headers
from tests.issuer.test_operator_withdraw_follows_the_chain import _governance

pytestmark = pytest.mark.integration


def _periodic_pass(service: Any) -> None:
    """The watch's pass now (the types, keys and names passes run at most every few seconds)."""
    service._types_read_at = -float("inf")
    service.record_ledger_states([])


def test_a_failing_types_pass_does_not_stop_the_key_pass(
    client: TestClient,
    service: Any,
    issuer_chain: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inst = onboard(client)
    slug = inst["slug"]
    r = client.get(f"/operator/institutions/{slug}", headers=operator_headers())
    (key,) = r.json()["signing_keys"]
    raw = Ed25519PublicKey.from_multibase(key["publicKeyMultibase"]).raw
    _governance(issuer_chain).revoke_signing_key(inst["chain_issuer_id"], raw)

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise LedgerUnavailable("the types read failed (test)")

    # the failure path: the types pass's one ledger read fails, every time
    monkeypatch.setattr(service.chain, "open_credential_types", unavailable)
    with caplog.at_level(logging.WARNING, logger="talentproof.issuer"):
        _periodic_pass(service)  # raised LedgerUnavailable before, and the key pass never ran
    r = client.get(f"/operator/institutions/{slug}", headers=operator_headers())
    (key,) = r.json()["signing_keys"]
    assert key["active"] is False, "the key pass did not run after the types pass failed"
    failed = [rec for rec in caplog.records if "types read failed" in rec.getMessage()]
    assert failed and slug in failed[0].getMessage(), [r.getMessage() for r in caplog.records]


def test_readyz_names_an_institution_whose_name_differs_from_the_registry(
    client: TestClient, service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    inst = onboard(client, name="University of Testing")
    slug = inst["slug"]
    other = onboard(client, name="Other College")
    _periodic_pass(service)
    body = client.get("/readyz").json()
    assert body["institutions"]["mismatched"] == [], body["institutions"]

    # written otherwise (case, punctuation): the verifier's check 6 accepts it, so not named
    with service.session() as session:
        institution_store.by_slug(session, slug).name = "UNIVERSITY  of testing."
    _periodic_pass(service)
    assert client.get("/readyz").json()["institutions"]["mismatched"] == []

    # another name, as a link made before the check (94516f4) may hold
    with service.session() as session:
        institution_store.by_slug(session, slug).name = "Harbour Polytechnic"
    with caplog.at_level(logging.WARNING, logger="talentproof.issuer"):
        _periodic_pass(service)
    body = client.get("/readyz").json()
    (entry,) = body["institutions"]["mismatched"]
    assert entry["slug"] == slug
    assert entry["stored"]["name"] == "Harbour Polytechnic"
    assert entry["onChain"]["name"] == "University of Testing"
    assert entry["stored"]["did"] == entry["onChain"]["did"]
    assert "registry" in body["institutions"]["note"]
    warned = [r.getMessage() for r in caplog.records if slug in r.getMessage()]
    assert warned and "Harbour Polytechnic" in warned[0], warned
    assert "name and DID in the issuer database" in warned[0], warned

    # a DID that differs is named too; the name put right, it leaves the list
    with service.session() as session:
        row = institution_store.by_slug(session, other["slug"])
        row.did = row.did + ":elsewhere"
        institution_store.by_slug(session, slug).name = "University of Testing"
    _periodic_pass(service)
    (entry,) = client.get("/readyz").json()["institutions"]["mismatched"]
    assert entry["slug"] == other["slug"]
    assert entry["stored"]["did"] == entry["onChain"]["did"] + ":elsewhere"
