"""An institution's published status lists show what governance did to its credentials (real
issuer service, Anvil).

The attack (on a third party's trust, not the TalentProof verifier's, which reads status from the
chain): governance revokes a fraudulent institution's credential, or a whole batch of it, or
suspends one pending an inquiry. The institution's service read the chain's status only for the
credentials it had changed itself, so its signed Bitstring Status Lists kept the bits clear: a
VC verifier trusting the list, and the holder's wallet (``wallet list`` reads the lists), saw
them in good standing. The lists now also read every credential and batch the registry's status
events name in the institution's namespace, whoever acted.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.statuslist import bit_is_set, decode_bitstring
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard
from tests.issuer.test_institution_state import _governance

pytestmark = pytest.mark.integration


def _bits(client: TestClient, slug: str, purpose: str, indexes: dict[str, int]) -> dict[str, bool]:
    r = client.get(f"/institutions/{slug}/status/{purpose}")
    assert r.status_code == 200, r.text
    assert r.headers["X-TalentProof-Ledger-State"] == "chain", r.headers
    bits = decode_bitstring(r.json()["credentialSubject"]["encodedList"])
    return {name: bit_is_set(bits, index) for name, index in indexes.items()}


def test_status_lists_show_governance_actions(
    client: TestClient, issuer_chain: dict[str, Any]
) -> None:
    inst, other = onboard(client), onboard(client)
    token = inst["api_key"]["token"]
    worker = client.app.state.worker  # type: ignore[attr-defined]

    def issue(tok: str, name: str) -> dict[str, Any]:
        r = client.post("/credentials", headers=bearer(tok), json=degree_request(name))
        assert r.status_code == 202, r.text
        worker.drain(30)  # each in its own batch
        anchor = client.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(tok)).json()
        assert anchor["status"] == "anchored", anchor
        return {**r.json(), "root": anchor["batch"]["merkleRoot"]}

    creds = {n: issue(token, n) for n in ("revoked", "in-batch", "suspended", "untouched")}
    theirs = issue(other["api_key"]["token"], "theirs")
    indexes = {
        n: int(c["credential"]["credentialStatus"][0]["statusListIndex"]) for n, c in creds.items()
    }
    gov = _governance(issuer_chain)
    issuer_id = inst["chain_issuer_id"]
    gov.governance_revoke_credential(issuer_id, creds["revoked"]["credentialHash"], "forged")
    gov.governance_revoke_batch(issuer_id, creds["in-batch"]["root"], "sold records")
    gov.governance_suspend_credential(issuer_id, creds["suspended"]["credentialHash"], "inquiry")
    assert _bits(client, inst["slug"], "revocation", indexes) == {
        "revoked": True,
        "in-batch": True,
        "suspended": False,
        "untouched": False,
    }
    assert _bits(client, inst["slug"], "suspension", indexes) == {
        "revoked": False,
        "in-batch": False,
        "suspended": True,
        "untouched": False,
    }
    # another institution's list: its own credential, untouched
    index = int(theirs["credential"]["credentialStatus"][0]["statusListIndex"])
    for purpose in ("revocation", "suspension"):
        assert _bits(client, other["slug"], purpose, {"theirs": index}) == {"theirs": False}
    # governance lifts its suspension: the bit clears again
    gov.governance_reinstate_credential(issuer_id, creds["suspended"]["credentialHash"], "ok")
    assert not _bits(client, inst["slug"], "suspension", indexes)["suspended"]
