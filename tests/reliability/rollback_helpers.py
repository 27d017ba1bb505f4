"""What the rollback and reorganisation tests share: a real Anvil of their own (they revert and
reorganise it), a real issuer process on it, and the end check (every credential anchored
exactly once and verifying)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.issuer.issuer_helpers import settings_env
from tests.reliability.load_helpers import (
    issuer_settings,
    onboard,
    post_degree,
    tally,
    verify_documents,
)
from tests.reliability.service_process import ServiceProcess, issuer_process


def rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
    """One JSON-RPC call to the node; raises on an error answer."""
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=10
    ).json()
    if "error" in answer:
        raise AssertionError(f"{method}: {answer['error']}")
    return answer.get("result")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@dataclass
class Stack:
    """Anvil, the registry, an issuer process and one onboarded institution."""

    node: Any
    deployment: Any
    record: Path
    chain: dict[str, Any]
    data: Path
    issuer: ServiceProcess
    slug: str = ""
    token: str = ""
    issuer_id: int = 0
    account: str = ""
    accepted: list[str] = field(default_factory=list)

    @property
    def rpc_url(self) -> str:
        return str(self.node.rpc_url)

    def issue(self, count: int, tag: str) -> list[str]:
        """Issue ``count`` credentials over HTTP; their ids (all accepted)."""
        ids = []
        with httpx.Client(base_url=self.issuer.url, timeout=30) as http:
            for i in range(count):
                r = post_degree(http, self.token, f"{tag} {i}", i)
                assert r.status_code in (200, 201, 202), r.text
                ids.append(r.json()["id"])
        self.accepted.extend(ids)
        return ids

    def anchor_status(self, cred_id: str) -> str:
        r = httpx.get(
            f"{self.issuer.url}/credentials/{cred_id}/anchor",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    def signed_self_transfer(self, nonce: int, gas_price: int, chain_id: int) -> str:
        """A 0-value transfer to itself from the institution's chain account at ``nonce``, signed
        here; the raw transaction (hex)."""
        from eth_account import Account

        account = Account.from_key(self.institution_key())
        tx = {
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": gas_price,
            "nonce": nonce,
            "chainId": chain_id,
        }
        return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()

    def all_anchored(self, ids: list[str]) -> bool:
        """Whether the issuer reports every credential in ``ids`` anchored."""
        return all(self.anchor_status(c) == "anchored" for c in ids)

    def drained(self) -> dict[str, Any] | None:
        """The readiness body once nothing waits and nothing is being repaired, else None."""
        ready = self.issuer.ready()
        anchoring = ready["anchoring"]
        if (
            ready["status"] == "ready"
            and anchoring["pending_credentials"] == 0
            and anchoring["unconfirmed_batches"] == 0
            and anchoring.get("recovery") is None
        ):
            return ready
        return None

    def degraded(self) -> dict[str, Any] | None:
        """The readiness body while a recovery is reported, else None."""
        ready = self.issuer.ready()
        return ready if ready["anchoring"].get("recovery") else None

    def settings(self) -> Any:
        """The issuer's `IssuerSettings` (its database, its chain)."""
        return issuer_settings(self.chain, self.data)

    def institution_key(self) -> bytes:
        """The private key of the onboarded institution's chain account (from its database)."""
        from sqlalchemy import select

        from talentproof.issuer.db import InstitutionRow
        from talentproof.issuer.service import IssuerService

        service = IssuerService(self.settings())
        try:
            with service.sessions() as session:
                inst = session.scalar(
                    select(InstitutionRow).where(InstitutionRow.slug == self.slug)
                )
                assert inst is not None
                return service.account_key(inst)
        finally:
            service.close()

    def last_checkpoint(self) -> int | None:
        """The newest chain head the issuer's anchor watch recorded (its database)."""
        from talentproof.issuer.service import IssuerService
        from talentproof.issuer.store import anchor_watch

        service = IssuerService(self.settings())
        try:
            with service.sessions() as session:
                checkpoints = anchor_watch.load(session)["checkpoints"]
        finally:
            service.close()
        return int(checkpoints[-1][0]) if checkpoints else None

    def batch_rows(self) -> list[dict[str, Any]]:
        """The issuer's anchor batches (its database): id, state, tx hash and nonce, block,
        credential count."""
        from sqlalchemy import select

        from talentproof.issuer.db import AnchorBatch
        from talentproof.issuer.service import IssuerService

        service = IssuerService(self.settings())
        try:
            with service.sessions() as session:
                return [
                    {
                        "id": b.id,
                        "state": b.state,
                        "tx_hash": b.tx_hash,
                        "tx_nonce": b.tx_nonce,
                        "block": b.block_number,
                        "leaves": b.leaf_count,
                    }
                    for b in session.scalars(select(AnchorBatch).order_by(AnchorBatch.id))
                ]
        finally:
            service.close()

    def account_nonce(self) -> int:
        return int(rpc(self.rpc_url, "eth_getTransactionCount", [self.account, "latest"]), 16)


def start_stack(tmp_path: Path, *, node_state: Path | None = None, **settings: Any) -> Stack:
    """A fresh Anvil (its state in ``node_state``, or kept nowhere), the registry, an issuer
    process, an institution."""
    from talentproof.ledger.nodes import LocalNode, NodeConfig, free_port

    node = LocalNode(
        NodeConfig(kind="anvil", port=free_port(), state_path=node_state),
        log_path=tmp_path / "anvil.log",
    ).start()
    return issuer_stack(node, tmp_path, **settings)


def issuer_stack(node: Any, tmp_path: Path, slug: str = "rollback-uni", **settings: Any) -> Stack:
    """The registry deployed on ``node`` (a started Anvil `LocalNode` or geth `Network`: its
    ``rpc_url`` and ``private_keys``), an issuer process on it, an institution (``slug``)."""
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import free_port

    deployment = deploy_registry(node.rpc_url, node.private_keys[0])
    record = tmp_path / "deployment.json"
    deployment.save(record)
    chain = {
        "rpc_url": node.rpc_url,
        "governor_key": node.private_keys[0],
        "deployment_file": record,
    }
    port = free_port()
    data = tmp_path / "issuer"
    values = {
        "public_url": f"http://127.0.0.1:{port}",
        "batch_max_wait_s": 0.2,
        "worker_poll_s": 0.1,
        "tx_timeout_s": 2,
        "rate_limit_per_s": 0,
        "log_level": "WARNING",
        "run_worker": "true",
        **settings,
    }
    env = {**os.environ, **settings_env(chain, data, **values)}
    issuer = issuer_process(env, port, tmp_path / "issuer.log")
    stack = Stack(node, deployment, record, chain, data, issuer, slug)
    issuer.start()
    inst = onboard(issuer.url, slug)
    stack.token = inst["api_key"]["token"]
    stack.issuer_id = int(inst["chain_issuer_id"])
    stack.account = str(inst.get("chain_account") or inst.get("account") or "")
    return stack


def final_check(
    stack: Stack, title: str, extra: dict[str, Any], *, revoked: frozenset[str] = frozenset()
) -> None:
    """Every accepted credential anchored exactly once and verifying (invalid, for those in
    ``revoked``); prints the counts."""
    from talentproof.verifier.report import Verdict

    found = tally(
        stack.settings(), stack.accepted, stack.rpc_url, stack.deployment.registry, stack.issuer_id
    )
    unanchored = found.unanchored
    assert not found.lost, f"{len(found.lost)} accepted credentials are missing"
    event_roots, anchored_roots = found.event_roots, found.anchored_roots
    reports, _ = verify_documents(stack.rpc_url, stack.record, found.docs)
    expected = [Verdict.INVALID if c in revoked else Verdict.VALID for c in stack.accepted]
    invalid = [r for r, want in zip(reports, expected, strict=True) if r.verdict is not want]
    print(f"\n--- {title} ---")
    for name, value in extra.items():
        print(f"{name}: {value}")
    print(
        f"credentials accepted {len(stack.accepted)}, anchored {len(stack.accepted) - len(unanchored)}, "
        f"verdicts as expected {len(reports) - len(invalid)}/{len(reports)} (valid, revoked "
        f"ones invalid: {len(revoked)}); batches anchored "
        f"{len(anchored_roots)}, RootAnchored events on the chain {len(event_roots)} "
        f"(distinct roots {len(set(event_roots))}); account nonce {stack.account_nonce()}"
    )
    found.check()
    assert not invalid, invalid[0]
