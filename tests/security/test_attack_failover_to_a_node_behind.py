"""Attack: a running verifier fails over to a node behind the chain it has already read, and
judges a revoked credential by that node's old state (real Anvil x2, the verifier service with
two RPC URLs and no head-age bound, its default).

The verifier service reads ``--rpc A,B``. It has been verifying on A; the applicant's degree was
revoked on A an hour ago (on the chain's clock). A goes down; B, a node that stopped following
the chain before the revocation (cut off, lagging, restored from an old state file), still
answers, and the service judged the degree by B's state: VALID. ``--max-head-age`` refuses such a
head against the machine's clock, but it is off by default (an idle Anvil's head is old yet
current), and a verifier need not be configured to know that a head sealed an hour before one it
has already read is not the chain's now: the chain's own clock says so. A head whose block time is
more than ``HEAD_BEHIND_SLACK_S`` before the newest head this verifier has read is now treated as
a stale one (the endpoint passed over; with none left, NOT VERIFIABLE, naming both heads).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.nodes import anvil
from talentproof.verifier.engine import Item, Verifier
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, holder, issue, populate, setup_chain

pytestmark = pytest.mark.integration


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Live node A and node B holding A's state from before the degree's revocation, which A
    mined an hour later on its clock; another degree, valid, to read on A first."""
    with anvil(log_path=tmp_path / "a.log") as a:
        chain = populate(setup_chain(a))
        uni = chain.issuers["University of Hong Kong"]
        revoked = issue(chain, uni, DEGREE, holder().public_key.did_key)
        other = issue(chain, uni, DEGREE, holder().public_key.did_key)
        state = chain.rpc("anvil_dumpState", [])["result"]
        with anvil(log_path=tmp_path / "b.log") as b:
            body = {"jsonrpc": "2.0", "id": 1, "method": "anvil_loadState", "params": [state]}
            req = urllib.request.Request(
                b.rpc_url, json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                assert json.loads(r.read()).get("result") is True
            chain.rpc("evm_increaseTime", [3600])
            uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
            yield {
                "a": a,
                "rpc": f"{a.rpc_url},{b.rpc_url}",
                "record": str(chain.save_deployment(tmp_path)),
                "revoked": revoked,
                "other": other,
            }


def test_attack_the_service_does_not_judge_by_a_node_behind_a_head_it_read(behind) -> None:  # type: ignore[no-untyped-def]
    app = create_app(ServiceSettings(rpc_url=behind["rpc"], trust=behind["record"]))
    with TestClient(app) as client:
        r = client.post("/api/v1/verify", json={"documents": [behind["revoked"]]})
        assert r.json()["outcome"]["code"] == "INVALID", r.text  # read on A: revoked
        r = client.post("/api/v1/verify", json={"documents": [behind["other"]]})
        assert r.json()["outcome"]["code"] == "VALID", r.text
        behind["a"].stop()  # A down: the reads fail over to B
        r = client.post("/api/v1/verify", json={"documents": [behind["revoked"]]})
        assert r.status_code == 200, r.text
        outcome = r.json()["outcome"]
        assert outcome["code"] == "NOT_VERIFIABLE", outcome
        message = json.dumps(r.json()["credentials"][0]["checks"])
        assert "older than" in message and "already read" in message, message
        r = client.post("/credentials/verify", json={"verifiableCredential": behind["revoked"]})
        assert r.json()["verified"] is False, r.text


def test_a_kept_verifier_does_not_judge_by_a_node_behind_a_head_it_read(behind) -> None:  # type: ignore[no-untyped-def]
    verifier = Verifier.from_deployment(behind["record"], behind["rpc"])
    first = verifier.verify_application([Item("other.json", behind["other"])])
    assert first.outcome.outcome.value == "VALID", first.outcome
    behind["a"].stop()
    report = verifier.verify_application([Item("revoked.json", behind["revoked"])])
    assert report.outcome.outcome.value == "NOT_VERIFIABLE", report.outcome
    # a verifier that never read A has nothing to compare B's head with (what --max-head-age
    # is for): B's old state, and the report names the block and its time
    fresh = Verifier.from_deployment(behind["record"], behind["rpc"])
    alone = fresh.verify_application([Item("revoked.json", behind["revoked"])])
    assert alone.chain is not None and alone.chain.block_timestamp > 0
