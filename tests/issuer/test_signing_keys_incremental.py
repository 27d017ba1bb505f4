"""`ChainGateway.signing_keys` reads governance's signing-key revocations incrementally, as
`status_named` reads status events (`ChainGateway._scan_incremental`): a revocation mined after
the first read is seen by the next, which asks the node for the logs of the last few blocks, not
every block since the deployment; no new block, no log query at all. Real Anvil, real issuer
service; the JSON-RPC requests counted on the gateway's own HTTP transport."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.issuer.chain import STATUS_RESCAN_BLOCKS, ChainGateway

from .issuer_helpers import onboard
from .test_institution_state import _governance
from .test_status_named_incremental import _rpc

pytestmark = [pytest.mark.integration]


def _recording(gateway: ChainGateway) -> list[dict[str, Any]]:
    """The JSON-RPC requests the gateway sends from now on (its connections are made lazily,
    per thread, by ``endpoints.connect``: set before the first request)."""
    sent: list[dict[str, Any]] = []
    gateway.registry_link()  # builds the endpoints; sends nothing
    http = gateway.endpoints.connect  # the ledger's own HTTP transport class

    class Recording(http):  # type: ignore[misc,valid-type]
        def post(self, body: bytes) -> Any:
            calls = json.loads(body)
            sent.extend(calls if isinstance(calls, list) else [calls])
            return super().post(body)

    gateway.endpoints.connect = Recording
    return sent


def _log_queries(sent: list[dict[str, Any]]) -> list[int]:
    """The fromBlock of each eth_getLogs sent, and forget them."""
    out = [int(c["params"][0]["fromBlock"], 16) for c in sent if c["method"] == "eth_getLogs"]
    sent.clear()
    return out


def test_a_revocation_after_the_first_read_is_seen_without_a_scan_from_the_deployment(
    client: TestClient, service: Any, issuer_chain: dict[str, Any]
) -> None:
    inst = onboard(client)
    issuer_id = inst["chain_issuer_id"]
    active = Ed25519PublicKey.from_multibase(inst["signing_keys"][0]["publicKeyMultibase"]).raw
    spare, later = (
        Ed25519SigningKey.from_seed(
            hashlib.sha256(f"{inst['slug']} {n}".encode()).digest()
        ).public_key.raw
        for n in ("spare", "later")
    )
    gov = _governance(issuer_chain)
    gov.add_signing_key(issuer_id, spare)
    gov.add_signing_key(issuer_id, later)
    _rpc(issuer_chain, "anvil_mine", [hex(STATUS_RESCAN_BLOCKS * 2)])  # well past the deployment
    gateway = ChainGateway.from_settings(service.settings)  # its own cache, from nothing
    sent = _recording(gateway)
    deployed = gateway.deployment_block()
    keys = [active, spare, later]

    def states() -> list[str]:
        records = gateway.signing_keys(issuer_id, keys)
        full = ChainGateway.from_settings(service.settings).signing_keys(issuer_id, keys)
        assert records.revoked == full.revoked  # the reference: a gateway that read everything
        return [records.state(k) for k in keys]

    assert states() == ["valid", "valid", "valid"]
    assert _log_queries(sent) == [deployed]  # the first read scans from the deployment block
    head = gateway.head()[0]
    assert states() == ["valid", "valid", "valid"]
    assert _log_queries(sent) == []  # no new block: nothing asked

    gov.revoke_signing_key(issuer_id, spare)
    assert states() == ["valid", "revoked", "valid"]
    assert _log_queries(sent) == [max(deployed, head - STATUS_RESCAN_BLOCKS + 1)]

    head = gateway.head()[0]
    _rpc(issuer_chain, "anvil_mine", [hex(STATUS_RESCAN_BLOCKS * 2)])  # beyond the re-scan
    gov.revoke_signing_key(issuer_id, later)
    assert states() == ["valid", "revoked", "revoked"]
    (start,) = _log_queries(sent)
    assert start == head - STATUS_RESCAN_BLOCKS + 1 > deployed + STATUS_RESCAN_BLOCKS
