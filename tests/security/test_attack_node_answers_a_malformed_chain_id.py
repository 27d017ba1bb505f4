"""A node (or what answers at its URL) that gives ``eth_chainId`` a result that is no chain id
(null, a text that is no quantity, an object): the verification is NOT VERIFIABLE, never an
exception out of the verifier (a traceback from ``talentproof verify``, a 500 from the service).
The chain id is asked with each read's block since 9667704 (``RegistryReader.chain_id_at``,
one URL too), and at the start (``chain_id``): both read it as a node's answer, refused as
ChainUnavailable when it is none (real Anvil behind a rewriting endpoint)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talentproof.ledger.nodes import anvil
from talentproof.verifier.engine import Item, Verifier
from tests.chainkit import DEGREE, holder, issue, setup_chain
from tests.security.test_attack_one_url_another_chain import SwitchingEndpoint

pytestmark = pytest.mark.integration

NAME = "Malformed Chain Id University"
DID = "did:web:malformed-chain-id.example.hk"


class ChainIdRewriting(SwitchingEndpoint):
    """Relays to the node; every ``eth_chainId`` answer's result replaced by ``bad`` once
    ``armed`` (``only_with_block``: only in a batch beside a block's header, chain_id_at's)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.armed = False
        self.bad: Any = None
        self.only_with_block = False

    def relay(self, body: bytes) -> bytes:
        answer = super().relay(body)
        if not self.armed or b"eth_chainId" not in body:
            return answer
        if self.only_with_block and b"eth_getBlockByNumber" not in body:
            return answer
        sent, got = json.loads(body), json.loads(answer)
        calls = sent if isinstance(sent, list) else [sent]
        answers = got if isinstance(got, list) else [got]
        ids = {c["id"] for c in calls if c.get("method") == "eth_chainId"}
        for a in answers:
            if a.get("id") in ids:
                a["result"] = self.bad
        return json.dumps(got).encode()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("malformed-chain-id")
    with anvil(log_path=tmp / "a.log") as a:
        chain = setup_chain(a)
        uni = chain.add_issuer(NAME, (DEGREE,), did=DID)
        degree = issue(chain, uni, DEGREE, holder().public_key.did_key, institution=NAME)
        endpoint = ChainIdRewriting(a.rpc_url)
        try:
            yield {
                "endpoint": endpoint,
                "record": str(chain.save_deployment(Path(tmp))),
                "degree": degree,
            }
        finally:
            endpoint.close()


@pytest.mark.parametrize("bad", [None, "0xzz", {"chainId": 31337}, [], "31337x"])
@pytest.mark.parametrize("only_with_block", [False, True], ids=["every", "with-the-block"])
def test_a_malformed_chain_id_is_not_verifiable(node, bad, only_with_block) -> None:  # type: ignore[no-untyped-def]
    endpoint = node["endpoint"]
    endpoint.armed = False
    verifier = Verifier.from_deployment(node["record"], endpoint.url)
    if only_with_block:  # the chain id of the start read well; the one beside the block not
        verifier.node_chain_id()
    endpoint.bad, endpoint.only_with_block, endpoint.armed = bad, only_with_block, True
    try:
        report = verifier.verify_application([Item("degree.json", node["degree"])])
    finally:
        endpoint.armed = False
    assert report.outcome.outcome.value == "NOT_VERIFIABLE", report.to_json()["credentials"]
    # and the same node answering well again: VALID (the refusal was the answer's, not the test's)
    again = Verifier.from_deployment(node["record"], endpoint.url)
    assert again.verify_application(
        [Item("degree.json", node["degree"])]
    ).outcome.outcome.value == ("VALID")
