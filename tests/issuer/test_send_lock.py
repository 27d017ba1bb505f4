"""The per-account send lock (issue 16.4): every transaction the issuer sends from one chain
account (the governor's onboarding, grants, withdrawals and key rotations; an institution's
anchors and status changes) is serialised across the replicas on one database, from the nonce
read to the broadcast, so two replicas never sign the same nonce; a wait longer than its bound
answers 503 ``chain_account_busy``, never blocks for ever."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .issuer_helpers import new_slug, operator_headers

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

THREADS_PER_REPLICA = 3


@pytest.fixture
def block_chain(tmp_path: Path) -> Any:
    """A fresh Anvil mining a block every second (transactions wait in its pool, as on a real
    network), with the registry deployed."""
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import LocalNode, NodeConfig

    node = LocalNode(
        NodeConfig(kind="anvil", block_time=1), log_path=tmp_path / "anvil.log"
    ).start()
    try:
        deployment = deploy_registry(node.rpc_url, node.private_keys[0])
        record = tmp_path / "deployment.json"
        deployment.save(record)
        yield {
            "rpc_url": node.rpc_url,
            "governor_key": node.private_keys[0],
            "deployment_file": record,
            "registry": deployment.registry,
        }
    finally:
        node.stop()


def _replica(make_service: Any, pg_url: str, chain: dict[str, Any], **extra: Any) -> Any:
    """A service as one replica runs it: its own ledger gateway (nonce cache), the shared
    database."""
    return make_service(
        database_url=pg_url,
        rpc_url=chain["rpc_url"],
        deployment_file=chain["deployment_file"],
        governor_key=chain["governor_key"],
        tx_timeout_s=20,
        **extra,
    )


def _operator_story(client: TestClient, answers: list[tuple[str, int, str]]) -> None:
    """Onboard an institution, grant it a type, rotate its key: five governor transactions
    and more, each answer recorded."""
    slug = new_slug("lock")
    r = client.post(
        "/operator/institutions",
        headers=operator_headers(),
        json={"name": "Lock University", "slug": slug, "credential_types": ["DegreeCredential"]},
    )
    answers.append(("onboard", r.status_code, r.text[:300]))
    if r.status_code != 201:
        return
    r = client.post(
        f"/operator/institutions/{slug}/credential-types",
        headers=operator_headers(),
        json={"grant": ["EmploymentCredential"], "withdraw": []},
    )
    answers.append(("grant", r.status_code, r.text[:300]))
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    answers.append(("rotate", r.status_code, r.text[:300]))


def test_two_replicas_send_from_the_governor_account_concurrently(
    make_service: Any, pg_url: str, block_chain: dict[str, Any], caplog: Any
) -> None:
    from web3 import Web3

    from talentproof.issuer.app import create_app
    from talentproof.ledger.artifacts import load_artifact

    replicas = [_replica(make_service, pg_url, block_chain) for _ in range(2)]
    answers: list[tuple[str, int, str]] = []
    with (
        TestClient(create_app(replicas[0], run_worker=False)) as one,
        TestClient(create_app(replicas[1], run_worker=False)) as two,
    ):
        threads = [
            threading.Thread(target=_operator_story, args=(client, answers))
            for client in (one, two)
            for _ in range(THREADS_PER_REPLICA)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        institutions = one.get("/operator/institutions", headers=operator_headers()).json()

    failed = [a for a in answers if a[1] >= 300]
    print(f"\n{len(answers)} operator requests on 2 replicas, {len(failed)} failed")
    assert not failed, failed
    assert len(answers) == 3 * 2 * THREADS_PER_REPLICA

    # every transaction landed: each institution registered with its key, both types and the
    # rotated key on chain
    w3 = Web3(Web3.HTTPProvider(block_chain["rpc_url"]))
    registry = w3.eth.contract(
        address=block_chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    ours = [i for i in institutions if i["slug"].startswith("lock-")]
    assert len(ours) == 2 * THREADS_PER_REPLICA
    assert len({i["chain_issuer_id"] for i in ours}) == len(ours)
    now = w3.eth.get_block("latest")["timestamp"]
    for inst in ours:
        issuer_id = inst["chain_issuer_id"]
        for name in ("DegreeCredential", "EmploymentCredential"):
            assert registry.functions.isAccreditedAt(
                issuer_id, Web3.keccak(text=name), now
            ).call(), (inst["slug"], name)
        assert len(inst["signing_keys"]) == 2
        for key in inst["signing_keys"]:
            raw = _raw_key(key["publicKeyMultibase"])
            assert registry.functions.isKeyValidAt(issuer_id, raw, now).call(), inst["slug"]
        assert w3.eth.get_balance(inst["chain_account"]) > 0  # the funding transfer landed
    assert not [r for r in caplog.records if "nonce" in r.getMessage().lower()]


def _raw_key(multibase: str) -> bytes:
    from talentproof.credential.keys import Ed25519PublicKey

    return Ed25519PublicKey.from_multibase(multibase).raw


def test_a_send_lock_held_too_long_answers_503_not_a_hang(
    make_service: Any, pg_url: str, issuer_chain: dict[str, Any]
) -> None:
    from eth_account import Account

    from talentproof.issuer.app import create_app
    from talentproof.issuer.store.sendlock import AccountSendLock

    service = _replica(make_service, pg_url, issuer_chain, send_lock_timeout_s=1)
    governor = Account.from_key(issuer_chain["governor_key"]).address
    other = AccountSendLock(service.engine, timeout_s=5)  # another replica, sending
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.hold(governor):
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with TestClient(create_app(service, run_worker=False)) as client:
            slug = new_slug("busy")
            r = client.post(
                "/operator/institutions",
                headers=operator_headers(),
                json={"name": "Busy U", "slug": slug, "credential_types": ["DegreeCredential"]},
            )
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["error"] == "chain_account_busy", body
            assert governor.lower() in body["message"].lower() and "1" in body["message"]
            assert r.headers["Retry-After"]
            release.set()
            holder.join(10)
            # the lock free again: the same request goes through
            r = client.post(
                "/operator/institutions",
                headers=operator_headers(),
                json={"name": "Busy U", "slug": slug, "credential_types": ["DegreeCredential"]},
            )
            assert r.status_code == 201, r.text
    finally:
        release.set()
        holder.join(10)
