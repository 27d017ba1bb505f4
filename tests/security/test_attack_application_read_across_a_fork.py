"""Attack: one application's credentials judged on two forks of the chain (real Anvil x2 of one
chain id behind one switching URL).

Within an application every chain read after the first is pinned to the first one's block, by
its number. Node A holds the revocation of the applicant's master's degree in block N; node B,
of the same chain (id, registry, history up to N-1), sealed another block N without it (a node on
a minority fork, or restored from an old state and sealing on its own). When the URL's node
changed between the reads (a load balancer, a failover), the bachelor's degree was read on A's
block N and the master's on B's block N: the node's chain id and block hash agreed with each
other for each read, and the application was VALID with a revoked degree in it. Every read of an
application must now be at the very block (hash) of its first: another block at that height is
NOT VERIFIABLE.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.nodes import anvil
from talentproof.verifier.engine import Item, Verifier
from tests.chainkit import DEGREE, anchor_batch, build, holder, populate, setup_chain, sign
from tests.security.test_attack_one_url_another_chain import SwitchingEndpoint

pytestmark = pytest.mark.integration


class ForkingEndpoint(SwitchingEndpoint):
    """Passes requests to ``upstream`` until one asks a block's chain id (the verifier's check
    of the first read), then to ``then``."""

    def __init__(self, upstream: str, then: str) -> None:
        super().__init__(upstream)
        self.then = then

    def relay(self, body: bytes) -> bytes:
        answer = super().relay(body)
        if b"eth_chainId" in body and b"eth_getBlockByNumber" in body:
            self.upstream = self.then
        return answer


@pytest.fixture
def forked(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with anvil(log_path=tmp_path / "a.log") as a:
        chain = populate(setup_chain(a))
        uni = chain.issuers["University of Hong Kong"]
        key = holder()
        s = key.public_key.did_key
        bachelor, master = anchor_batch(
            [
                sign(build(DEGREE, uni.did, s, institution=uni.name), uni.key),
                sign(build(DEGREE, uni.did, s, institution=uni.name, level="master"), uni.key),
            ],
            uni.client,
            chain.deployment,
        )
        state = chain.rpc("anvil_dumpState", [])["result"]
        with anvil(log_path=tmp_path / "b.log") as b:
            body = {"jsonrpc": "2.0", "id": 1, "method": "anvil_loadState", "params": [state]}
            req = urllib.request.Request(
                b.rpc_url, json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                assert json.loads(r.read()).get("result") is True
            uni.client.revoke_credential(credential_hash(split_anchor(master)[0]))  # A's block N
            mined = urllib.request.Request(
                b.rpc_url,
                json.dumps(
                    {"jsonrpc": "2.0", "id": 2, "method": "evm_mine", "params": []}
                ).encode(),
                {"Content-Type": "application/json"},
            )
            urllib.request.urlopen(mined, timeout=60).read()  # B's block N, without it
            endpoint = ForkingEndpoint(a.rpc_url, b.rpc_url)
            try:
                yield {
                    "endpoint": endpoint,
                    "record": str(chain.save_deployment(tmp_path)),
                    "bachelor": bachelor,
                    "master": master,
                    "a": a.rpc_url,
                    "b": b.rpc_url,
                }
            finally:
                endpoint.close()


def test_attack_an_application_is_not_judged_on_two_forks(forked) -> None:  # type: ignore[no-untyped-def]
    on_a = Verifier.from_deployment(forked["record"], forked["a"])
    alone = on_a.verify_application([Item("master.json", forked["master"])])
    assert alone.outcome.outcome.value == "INVALID", alone.outcome  # revoked on A
    verifier = Verifier.from_deployment(forked["record"], forked["endpoint"].url)
    report = verifier.verify_application(
        [Item("bachelor.json", forked["bachelor"]), Item("master.json", forked["master"])]
    )
    assert report.outcome.outcome.value != "VALID", report.to_json()["credentials"]
    assert report.outcome.outcome.value in ("NOT_VERIFIABLE", "INVALID"), report.outcome
