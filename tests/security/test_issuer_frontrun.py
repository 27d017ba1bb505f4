"""Front-running of the issuer's ``anchorRoot`` by another accredited issuer (real Anvil).

A malicious institution that sees our pending root can anchor it first under its own issuer id.
The registry keeps anchors per (issuer, root) (issue 11), so that changes nothing for us: our
``anchorRoot`` still succeeds, the batch is anchored once under its own root (no re-batching),
and every credential verifies with the real verifier engine against the chain, read from our
issuer's anchor (the verifier names the issuer by the credential's DID). Before, our transaction
reverted ``AnchorAlreadyAnchored`` and the worker had to re-batch under a salted root.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import select
from web3 import Web3

from talentproof.issuer.db import AnchorBatch, CredentialRow
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment
from talentproof.ledger.tx import FeeConfig
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration

N = 5


def _squatter(chain: dict[str, Any]) -> Account:
    """A second, properly accredited issuer with its own funded account (the attacker)."""
    deployment = Deployment.load(chain["deployment_file"])
    gov = RegistryClient(chain["rpc_url"], deployment, chain["governor_key"])
    acct = Account.create()
    did = f"did:web:squatter-{acct.address[2:10].lower()}.example"  # a DID names one issuer
    issuer_id = gov.register_issuer("Squatter College", did, [acct.address])
    gov.add_signing_key(issuer_id, bytes([0xEE]) * 31 + bytes([issuer_id % 256]))
    gov.grant_credential_type(issuer_id, "DegreeCredential")
    gov.sender.transact({"to": acct.address, "value": 10**18}, label="fund squatter")  # type: ignore[union-attr]
    return acct


def _squatter_client(chain: dict[str, Any], acct: Any, tip: int | None = None) -> RegistryClient:
    fees = FeeConfig(max_priority_fee=tip) if tip is not None else None
    return RegistryClient(
        chain["rpc_url"], Deployment.load(chain["deployment_file"]), bytes(acct.key), fees=fees
    )


def _root_anchored(chain: dict[str, Any], issuer_id: int | None = None) -> list[tuple[bytes, int]]:
    from talentproof.ledger.artifacts import load_artifact

    w3 = Web3(Web3.HTTPProvider(chain["rpc_url"]))
    contract = w3.eth.contract(
        address=chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    filters = {"issuerId": issuer_id} if issuer_id is not None else {}
    return [
        (bytes(e["args"]["root"]), int(e["args"]["issuerId"]))
        for e in contract.events.RootAnchored().get_logs(from_block=0, argument_filters=filters)
    ]


def _issue(client: Any, token: str) -> list[str]:
    ids = []
    for i in range(N):
        r = client.post("/credentials", headers=bearer(token), json=degree_request(f"Front {i}"))
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    return ids


def _assert_anchored_despite_squatter(
    client: Any,
    service: Any,
    chain: dict[str, Any],
    inst: dict[str, Any],
    ids: list[str],
    squatted_root: bytes,
) -> None:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.report import Verdict
    from talentproof.verifier.trust import TrustedDeployment

    ours = inst["chain_issuer_id"]
    with service.sessions() as session:
        batches = {b.id: b for b in session.scalars(select(AnchorBatch))}
        creds = list(session.scalars(select(CredentialRow)))
    squatted = [b for b in batches.values() if b.root == squatted_root]
    assert len(squatted) == 1 and squatted[0].state == "anchored"  # not superseded
    assert {c.id for c in creds} == set(ids)
    live = {c.batch_id for c in creds}
    assert live == {squatted[0].id}, "the credentials stay in their batch"
    new = squatted[0]
    assert new.leaf_count == N  # no salt leaf: nothing was re-batched
    # our issuer anchored exactly one root, ours, once; the attacker's copy is its own record
    events = _root_anchored(chain)
    assert [r for r, i in events if i == ours] == [new.root]
    anchorers = [i for r, i in events if r == squatted_root]
    assert sorted(anchorers) == sorted([ours, next(i for i in anchorers if i != ours)])
    # every credential verifies with the verifier engine against the chain
    trust = TrustedDeployment.load(chain["deployment_file"])
    verifier = Verifier(RegistryReader(chain["rpc_url"], trust.registry), trust)
    token = inst["api_key"]["token"]
    for cred_id in ids:
        doc = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
        assert doc["proof"][-1]["merkleRoot"] == "0x" + new.root.hex()
        report = verifier.verify_document(doc)
        assert report.verdict is Verdict.VALID, report
    # the readiness view does not count the superseded batch as unconfirmed
    assert client.get("/readyz").json()["anchoring"]["unconfirmed_batches"] == 0


def test_root_squatted_before_sending_is_still_anchored_by_us_once(
    client,
    service,
    issuer_chain,
) -> None:
    inst = onboard(client)
    ids = _issue(client, inst["api_key"]["token"])
    worker = client.app.state.worker
    with service.sessions() as session:
        inst_id = session.scalar(
            select(CredentialRow.institution_id).where(CredentialRow.id == ids[0])
        )
    batch_id = worker.form_batch(inst_id, force=True)  # batch built (crash before send)
    with service.sessions() as session:
        batch = session.get(AnchorBatch, batch_id)
        root, leaves = batch.root, batch.leaf_count
    squatter = _squatter_client(issuer_chain, _squatter(issuer_chain))
    squatter.anchor_root(root, leaves)  # the attacker anchors our root first
    worker.drain(60)
    _assert_anchored_despite_squatter(client, service, issuer_chain, inst, ids, root)


def test_pending_anchor_front_run_in_the_mempool_changes_nothing(
    client,
    service,
    issuer_chain,
) -> None:
    """Anvil stops automining; our anchorRoot waits in the pool, the squatter copies its root
    with a higher tip, one block mines both; both succeed, each in its issuer's namespace."""
    inst = onboard(client)
    ids = _issue(client, inst["api_key"]["token"])
    squatter_acct = _squatter(issuer_chain)
    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    worker = client.app.state.worker
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            worker.drain(90)
        except BaseException as exc:
            errors.append(exc)

    w3.provider.make_request("evm_setAutomine", [False])
    thread = threading.Thread(target=drain)
    try:
        thread.start()
        deadline = time.monotonic() + 30
        sent = None
        while time.monotonic() < deadline and sent is None:
            with service.sessions() as session:
                sent = session.scalar(select(AnchorBatch).where(AnchorBatch.state == "sent"))
            time.sleep(0.05)
        assert sent is not None, "the worker never sent its anchorRoot"
        root = sent.root
        our_tip = int(w3.eth.get_transaction(sent.tx_hash)["maxPriorityFeePerGas"])
        squatter = _squatter_client(issuer_chain, squatter_acct, tip=our_tip * 4 + 1)  # outbids
        squatter.send("anchorRoot", root, sent.leaf_count, gas=300_000)
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    deadline = time.monotonic() + 90
    while thread.is_alive() and time.monotonic() < deadline:
        w3.provider.make_request("evm_mine", [])  # anything sent before automine came back
        thread.join(0.2)
    assert not thread.is_alive() and not errors, errors
    _assert_anchored_despite_squatter(client, service, issuer_chain, inst, ids, root)
