"""The node's chain id, cached once, must not vouch for another endpoint's reads (real Anvil x2).

Check 5 binds a credential to the trusted chain: "the payload's chain id must equal the node's,
and the node's must equal the trusted record's" - what refuses a credential anchored on another
chain holding a registry at the same address (a test network deployed with the public
development key, where anyone is governor and registers "the university" with its DID and a key
of their own). The verifier reads the node's chain id once (``Verifier.node_chain_id``) and keeps
it; with several JSON-RPC endpoints (``--rpc A,B``, ``TALENTPROOF_VERIFIER_RPC_URL``) its reads
fail over to the next endpoint when the current one stops answering. If that next endpoint is
on another chain (a misconfigured standby, a staging node behind the same name), the cached id,
read from the first endpoint, kept vouching for the reads of the second: the attacker's
doctorate, anchored on chain 4242 and naming 31337 in its (unsigned) anchor entry, was VALID on
the long-running service (``/api/v1/verify``, the VC API) and in a folder worker after its first
chunk.

Now every read's chain id is that of the endpoint that served it: the verdict of another chain
fails check 5 (the node's chain is not the trusted one), on every path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.ledger.nodes import anvil, free_port
from talentproof.verifier import bulk
from talentproof.verifier.engine import Item, Verifier
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, anchor_batch, build, holder, issue, setup_chain, sign

pytestmark = pytest.mark.integration

NAME = "Chain Bound University"
DID = "did:web:chain-bound.example.hk"


@pytest.fixture
def two_chains(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The trusted chain A (31337) and the attacker's chain B (4242): the same registry address
    (the same deployer key and nonce), on B the same issuer name and DID with the attacker's
    key. A's honest degree; B's forged doctorate naming chain 31337 in its anchor entry."""
    with (
        anvil(chain_id=31337, log_path=tmp_path / "a.log") as node_a,
        anvil(chain_id=4242, log_path=tmp_path / "b.log") as node_b,
    ):
        a, b = setup_chain(node_a), setup_chain(node_b)
        assert a.deployment.registry == b.deployment.registry
        uni_a = a.add_issuer(NAME, (DEGREE,), did=DID)
        uni_b = b.add_issuer(NAME, (DEGREE,), did=DID)
        honest = issue(a, uni_a, DEGREE, holder().public_key.did_key, institution=NAME)
        doc = build(DEGREE, DID, holder().public_key.did_key, institution=NAME, level="doctorate")
        forged = anchor_batch([sign(doc, uni_b.key)], uni_b.client, b.deployment, chain_id=31337)[0]
        # the same forgery naming its own chain (what a verifier trusting a bare registry
        # address, no chain id, compares with the node's)
        doc = build(DEGREE, DID, holder().public_key.did_key, institution=NAME, level="doctorate")
        own_chain = anchor_batch([sign(doc, uni_b.key)], uni_b.client, b.deployment)[0]
        record = a.save_deployment(tmp_path)
        yield {
            "node_a": node_a,
            "rpc": f"{node_a.rpc_url},{node_b.rpc_url}",
            "record": str(record),
            "honest": honest,
            "forged": forged,
            "own_chain": own_chain,
            "registry": a.deployment.registry,
        }


def _failed_check(report: dict[str, Any]) -> int | None:
    for cred in report["credentials"]:
        for check in cred["checks"]:
            if check["status"] == "fail":
                return int(check["number"])
    return None


def test_the_service_does_not_judge_another_chain_by_the_first_endpoint_chain_id(two_chains):
    app = create_app(ServiceSettings(rpc_url=two_chains["rpc"], trust=two_chains["record"]))
    with TestClient(app) as client:
        r = client.post("/api/v1/verify", json={"documents": [two_chains["honest"]]})
        assert r.json()["outcome"]["code"] == "VALID", r.text  # read on A: its chain id kept
        two_chains["node_a"].stop()  # A stops answering: the reads fail over to B
        r = client.post("/api/v1/verify", json={"documents": [two_chains["forged"]]})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["outcome"]["code"] == "INVALID", report["outcome"]
        assert _failed_check(report) == 5, report
        r = client.post("/credentials/verify", json={"verifiableCredential": two_chains["forged"]})
        assert r.json()["verified"] is False, r.text


def test_a_folder_worker_does_not_judge_another_chain_by_its_first_chain_id(two_chains):
    """What a folder worker (one `Verifier` for all its chunks) does after its first chunk."""
    verifier = Verifier.from_deployment(two_chains["record"], two_chains["rpc"])
    first = bulk.verify_files_bulk(verifier, [Item("honest.json", two_chains["honest"])])
    assert first[0]["outcome"]["code"] == "VALID", first
    two_chains["node_a"].stop()
    for native in (True, False):
        bulk.NATIVE, was = native, bulk.NATIVE
        try:
            got = bulk.verify_files_bulk(verifier, [Item("forged.json", two_chains["forged"])])
        finally:
            bulk.NATIVE = was
        assert got[0]["outcome"]["code"] == "INVALID", got
        assert _failed_check(got[0]) == 5, got
    report = verifier.verify_application([Item("forged.json", two_chains["forged"])])
    assert report.outcome.outcome.value == "INVALID", report.outcome


def test_a_bare_registry_address_is_pinned_to_the_chain_first_read(two_chains):
    """Trusting a registry address without a chain id (``--trust 0x...``) means the chain the
    node reports; with several endpoints, the chain the first read was on: a failover to a
    node of another chain holding a registry at that address makes its credentials fail check
    5, whichever chain id their anchor entry names."""
    verifier = Verifier.from_deployment(two_chains["registry"], two_chains["rpc"])
    first = verifier.verify_application([Item("honest.json", two_chains["honest"])])
    assert first.outcome.outcome.value == "VALID", first.outcome
    two_chains["node_a"].stop()
    for name in ("forged", "own_chain"):
        report = verifier.verify_application([Item(f"{name}.json", two_chains[name])])
        assert report.outcome.outcome.value == "INVALID", (name, report.outcome)
        assert _failed_check(report.to_json()) == 5, (name, report.to_json())
        got = bulk.verify_files_bulk(verifier, [Item(f"{name}.json", two_chains[name])])
        assert got[0]["outcome"]["code"] == "INVALID", (name, got)


def test_honest_reads_through_a_failover_stay_valid(vchain, tmp_path, monkeypatch):
    """The control: endpoints of one chain (the first refusing connections) give the verdicts
    one endpoint gives, in the folder with one and two workers and for one file."""
    monkeypatch.setattr(bulk, "CHUNK", 2)  # 5 files: three tasks in two forked workers
    monkeypatch.setattr(bulk, "TASK", 2)
    uni = vchain.issuers["University of Hong Kong"]
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(5):
        doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, batch_with=2)
        (folder / f"{i}.json").write_text(json.dumps(doc))
    record = vchain.save_deployment(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    base = ["verify", "--rpc", f"{dead},{vchain.rpc_url}", "--trust", str(record)]
    for workers in ("1", "2"):
        r = CliRunner().invoke(app, [*base, str(folder), "--json", "--workers", workers])
        assert r.exit_code == 0, r.output
        codes = {x["source"]: x["outcome"]["code"] for x in json.loads(r.output)["results"]}
        assert set(codes.values()) == {"VALID"} and len(codes) == 5, codes
    r = CliRunner().invoke(app, [*base, str(folder / "0.json"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["chain"]["chainId"] == vchain.deployment.chain_id
