"""A stale RPC node serves the registry as it was before a revocation (real Anvil, two nodes).

The attack: the verifier reads the registry at the latest block of the node it is pointed at.
A node cut off from the signers, lagging, or run by an attacker serves an old state: a credential
revoked after that node's head reads VALID there. Node B is started from node A's state dumped
before the revocation (``anvil_dumpState``/``anvil_loadState``); the revocation is then mined on A
only. Defence: the verifier's ``max_head_age`` (``--max-head-age``,
``TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S``): a head whose block time is older than that bound makes
the chain checks NOT_VERIFIABLE, naming the head; with several URLs a stale endpoint is passed
over for the next one. Every report states the block number, hash and time it was read at.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.nodes import anvil
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier.engine import Item, Verifier
from talentproof.verifier.report import CheckId, Status, Verdict
from talentproof.verifier.trust import TrustedDeployment
from tests.chainkit import DEGREE, Chain, holder, issue, populate, setup_chain

pytestmark = pytest.mark.integration

#: The bound the tests use (seconds); the stale node's head is made older than it by waiting
#: (BOUND + 1.5 s). The live node's head must stay younger than it from its block (whose time is
#: a whole second, up to 1 s before the mining) to the read, which on a loaded machine can take
#: more than the second that a bound of 2 s left: a bound, not a figure.
BOUND = 5


@pytest.fixture(scope="module")
def nodes() -> Iterator[tuple[Chain, str, dict]]:
    """(the live chain A, stale node B's URL, the credential revoked on A after B's copy)."""
    with anvil() as a:
        chain = populate(setup_chain(a))
        uni = chain.issuers["University of Hong Kong"]
        doc = issue(chain, uni, DEGREE, holder().public_key.did_key)
        state = chain.rpc("anvil_dumpState", [])["result"]
        with anvil() as b:
            req = urllib.request.Request(
                b.rpc_url,
                json.dumps(
                    {"jsonrpc": "2.0", "id": 1, "method": "anvil_loadState", "params": [state]}
                ).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = json.loads(r.read())
            assert answer.get("result") is True, answer
            uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
            yield chain, b.rpc_url, doc


def _verifier(chain: Chain, rpc: str, **kw) -> Verifier:  # type: ignore[no-untyped-def]
    trust = TrustedDeployment.from_record(chain.deployment.to_json())
    return Verifier(RegistryReader(rpc, trust.registry), trust, **kw)


def _status(report, check: CheckId) -> Status:  # type: ignore[no-untyped-def]
    return next(c.status for c in report.checks if c.id is check)


def _stale(chain: Chain) -> None:
    """Let B's head grow older than BOUND, and give A a fresh head."""
    time.sleep(BOUND + 1.5)
    chain.rpc("evm_mine", [])


def test_the_live_node_reads_the_revocation(nodes) -> None:  # type: ignore[no-untyped-def]
    chain, _, doc = nodes
    r = _verifier(chain, chain.rpc_url).verify_document(doc)
    assert r.verdict is Verdict.INVALID
    assert _status(r, CheckId.STATUS) is Status.FAIL


def test_without_a_bound_the_stale_node_reads_valid(nodes) -> None:  # type: ignore[no-untyped-def]
    """What the bound is for: unbounded (the default, for a dev chain that mines only on
    transactions) the stale node's old state is all the verifier sees."""
    chain, stale, doc = nodes
    r = _verifier(chain, stale).verify_document(doc)
    assert r.verdict is Verdict.VALID  # the old state: the revocation is not on B
    # ... but the report says which block, and when, it was judged at
    assert r.chain is not None and r.chain.block_timestamp > 0


def test_a_stale_head_is_not_verifiable(nodes) -> None:  # type: ignore[no-untyped-def]
    chain, stale, doc = nodes
    _stale(chain)
    r = _verifier(chain, stale, max_head_age=BOUND).verify_document(doc)
    assert r.verdict is Verdict.ERROR
    anchor = next(c for c in r.checks if c.id is CheckId.ANCHOR)
    assert anchor.status is Status.ERROR
    error = anchor.message
    assert "head" in error and "old" in error and "max head age" in error, error
    app = _verifier(chain, stale, max_head_age=BOUND).verify_application([Item("c", doc)])
    assert app.outcome.to_json()["code"] == "NOT_VERIFIABLE"


def test_a_stale_endpoint_among_several_is_passed_over(nodes) -> None:  # type: ignore[no-untyped-def]
    chain, stale, doc = nodes
    _stale(chain)
    r = _verifier(chain, f"{stale},{chain.rpc_url}", max_head_age=BOUND).verify_document(doc)
    assert r.verdict is Verdict.INVALID  # read on A: the revocation
    assert _status(r, CheckId.STATUS) is Status.FAIL
    # B alone twice (every endpoint stale): not verifiable, never VALID
    r = _verifier(chain, f"{stale},{stale}/", max_head_age=BOUND).verify_document(doc)
    assert r.verdict is Verdict.ERROR


def test_cli_max_head_age(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talentproof.cli import app

    chain, stale, doc = nodes
    _stale(chain)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps(chain.deployment.to_json()))
    base = ["verify", str(path), "--trust", str(record), "--json"]
    res = CliRunner().invoke(app, [*base, "--rpc", stale])
    assert res.exit_code == 0, res.output  # unbounded: the stale VALID
    assert json.loads(res.output)["chain"]["blockTimestamp"] > 0
    human = CliRunner().invoke(app, [*base[:-1], "--rpc", stale])
    assert " of 20" in human.output and "read at block" in human.output, human.output
    res = CliRunner().invoke(app, [*base, "--rpc", stale, "--max-head-age", str(BOUND)])
    assert res.exit_code == 3, res.output  # not verifiable
    chain.rpc("evm_mine", [])  # the live node's head fresh for this read, after three runs
    res = CliRunner().invoke(
        app, [*base, "--rpc", f"{stale},{chain.rpc_url}", "--max-head-age", str(BOUND)]
    )
    assert res.exit_code == 1, res.output  # invalid: read on the live node


def test_cli_folder_max_head_age(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A folder's reads are pinned to one head: a stale one is refused (or passed over)."""
    from talentproof.cli import app

    chain, stale, doc = nodes
    _stale(chain)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "c.json").write_text(json.dumps(doc))
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps(chain.deployment.to_json()))
    base = ["verify", str(folder), "--trust", str(record), "--workers", "1"]
    res = CliRunner().invoke(app, [*base, "--rpc", stale])
    assert res.exit_code == 0, res.output  # unbounded: the stale VALID
    res = CliRunner().invoke(app, [*base, "--rpc", stale, "--max-head-age", str(BOUND)])
    assert res.exit_code == 3, res.output
    assert "max head age" in res.output, res.output
    chain.rpc("evm_mine", [])  # the live node's head fresh for this read, after two runs
    res = CliRunner().invoke(
        app, [*base, "--rpc", f"{stale},{chain.rpc_url}", "--max-head-age", str(BOUND)]
    )
    assert res.exit_code == 1, res.output


def test_service_setting(nodes, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The service reads TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S: stale node, not verifiable."""
    from fastapi.testclient import TestClient

    from talentproof.verifier.service import create_app
    from talentproof.verifier.settings import ServiceSettings

    chain, stale, doc = nodes
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps(chain.deployment.to_json()))
    body = {"documents": [doc]}
    with TestClient(create_app(ServiceSettings(rpc_url=stale, trust=str(record)))) as c:
        r = c.post("/api/v1/verify", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "valid"  # unbounded: the stale VALID
        assert r.json()["chain"]["blockTimestamp"] > 0
    monkeypatch.setenv("TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S", str(BOUND))
    _stale(chain)
    with TestClient(create_app(ServiceSettings(rpc_url=stale, trust=str(record)))) as c:
        r = c.post("/api/v1/verify", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["outcome"]["code"] == "NOT_VERIFIABLE", r.json()["outcome"]
        assert "max head age" in json.dumps(r.json())
