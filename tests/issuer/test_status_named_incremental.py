"""`ChainGateway.status_named` scans the registry's status events incrementally (from the block
it scanned last, a few blocks back) and answers what `status_named_full`, its reference (every
event since the deployment block), answers: after each kind of status event, after more blocks
than it scans again, for another institution, and after the chain went back (``evm_revert``:
an event it had seen is gone, another takes its height). Real Anvil, real issuer service."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.chain import STATUS_RESCAN_BLOCKS, ChainGateway

from .issuer_helpers import bearer, degree_request, onboard
from .test_institution_state import _governance

pytestmark = [pytest.mark.integration]


def _rpc(issuer_chain: dict[str, Any], method: str, params: list[Any] | None = None) -> Any:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return w3.provider.make_request(method, params or [])["result"]


def _same(gateway: ChainGateway, issuer_id: int) -> tuple[set[bytes], set[bytes]]:
    incremental = gateway.status_named(issuer_id)
    assert incremental == gateway.status_named_full(issuer_id)
    return incremental


def test_incremental_status_named_answers_what_a_full_scan_answers(
    client: TestClient, service: Any, issuer_chain: dict[str, Any]
) -> None:
    inst, other = onboard(client), onboard(client)
    worker = client.app.state.worker  # type: ignore[attr-defined]

    def issue(token: str, name: str) -> dict[str, Any]:
        r = client.post("/credentials", headers=bearer(token), json=degree_request(name))
        assert r.status_code == 202, r.text
        worker.drain(30)  # each in its own batch
        anchor = client.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(token)).json()
        return {**r.json(), "root": anchor["batch"]["merkleRoot"]}

    token = inst["api_key"]["token"]
    creds = [issue(token, f"named {n}") for n in range(5)]
    theirs = issue(other["api_key"]["token"], "theirs")
    digest = [bytes.fromhex(c["credentialHash"].removeprefix("0x")) for c in creds]
    issuer_id, other_id = inst["chain_issuer_id"], other["chain_issuer_id"]
    gateway = ChainGateway.from_settings(service.settings)  # its own cache, from nothing
    gov = _governance(issuer_chain)

    assert _same(gateway, issuer_id) == (set(), set())
    gov.governance_revoke_credential(issuer_id, creds[0]["credentialHash"], "forged")
    assert _same(gateway, issuer_id) == ({digest[0]}, set())
    assert _same(gateway, issuer_id) == ({digest[0]}, set())  # no new block: nothing scanned
    gov.governance_suspend_credential(issuer_id, creds[1]["credentialHash"], "inquiry")
    _rpc(issuer_chain, "anvil_mine", [hex(STATUS_RESCAN_BLOCKS * 2)])  # beyond the re-scan
    gov.governance_revoke_batch(issuer_id, creds[2]["root"], "sold records")
    r = client.post(
        f"/credentials/{creds[3]['id']}/suspend", headers=bearer(token), json={"reason": "own"}
    )
    assert r.status_code == 202, r.text
    worker.drain(30)  # the institution's own change, through the service
    hashes, roots = _same(gateway, issuer_id)
    assert hashes == {digest[0], digest[1], digest[3]}, hashes
    assert roots == {bytes.fromhex(creds[2]["root"].removeprefix("0x"))}, roots
    assert _same(gateway, other_id) == (set(), set())  # another institution's namespace
    gov.governance_revoke_credential(other_id, theirs["credentialHash"], "forged")
    assert _same(gateway, other_id)[0] == {bytes.fromhex(theirs["credentialHash"][2:])}
    assert _same(gateway, issuer_id) == (hashes, roots)

    # the chain goes back: an event the gateway saw is gone
    snapshot = _rpc(issuer_chain, "evm_snapshot")
    gov.governance_suspend_credential(issuer_id, creds[4]["credentialHash"], "gone")
    assert digest[4] in _same(gateway, issuer_id)[0]
    assert _rpc(issuer_chain, "evm_revert", [snapshot]) is True
    assert _same(gateway, issuer_id) == (hashes, roots)
    # ... and again, another event mined at the height of the one it saw (same number, new hash)
    snapshot = _rpc(issuer_chain, "evm_snapshot")
    gov = _governance(issuer_chain)  # the governor's nonce went back too
    gov.governance_suspend_credential(issuer_id, creds[4]["credentialHash"], "gone")
    assert digest[4] in _same(gateway, issuer_id)[0]
    assert _rpc(issuer_chain, "evm_revert", [snapshot]) is True
    gov = _governance(issuer_chain)
    gov.governance_revoke_credential(issuer_id, creds[1]["credentialHash"], "same height")
    assert _same(gateway, issuer_id) == (hashes, roots)
    assert digest[4] not in gateway.status_named(issuer_id)[0]
