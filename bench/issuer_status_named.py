"""Benchmark: `ChainGateway.status_named` (incremental) beside `status_named_full` (its
reference: every status event since the deployment block) against a real Anvil with ``--events``
governance revocations in one issuer's namespace spread over ``--blocks`` more blocks (prints
figures, asserts only that both answer the same).

    flock /tmp/bench.lock .venv/bin/python bench/issuer_status_named.py [--events 1000] [--results]

Rows: wall and CPU (this process) per read, median of ``--n``: the full scan; the incremental
read when no block came since (the 2 s cached read's common case on a chain with 2-12 s blocks);
and after one new block holding one more event.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchkit import write_results
from eth_utils import keccak

from talentproof.issuer.chain import ChainGateway
from talentproof.ledger.chain import connect
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import deploy_registry
from talentproof.ledger.nodes import anvil


def _measure(fn: Callable[[], object], n: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=2_000, help="empty blocks mined besides")
    parser.add_argument("--n", type=int, default=30, help="samples per row")
    parser.add_argument("--results", action="store_true", help="write bench/results.md")
    args = parser.parse_args()
    with anvil() as node, tempfile.TemporaryDirectory() as tmp:
        w3 = connect(node.rpc_url)
        dep = deploy_registry(w3, node.private_keys[0])
        record = dep.save(Path(tmp) / "deployment.json")
        gov = RegistryClient(w3, dep, node.private_keys[0])
        issuer_id = gov.register_issuer("Bench U", "did:web:bench.example", [node.accounts[1]])
        for n in range(args.events):
            gov.governance_revoke_credential(issuer_id, keccak(b"c%d" % n), "bench")
            if n % 100 == 0:
                w3.provider.make_request("anvil_mine", [hex(args.blocks // 10 or 1)])
        gateway = ChainGateway(rpc_url=node.rpc_url, deployment_file=record, governor_key=None)
        assert gateway.status_named(issuer_id) == gateway.status_named_full(issuer_id)
        extra = [args.events]

        def one_more() -> None:
            gov.governance_revoke_credential(issuer_id, keccak(b"c%d" % extra[0]), "bench")
            extra[0] += 1

        full = _measure(lambda: gateway.status_named_full(issuer_id), args.n)
        idle = _measure(lambda: gateway.status_named(issuer_id), args.n)
        walls, cpus = [], []
        for _ in range(args.n):
            one_more()
            w, c = time.perf_counter(), time.process_time()
            gateway.status_named(issuer_id)
            cpus.append(time.process_time() - c)
            walls.append(time.perf_counter() - w)
        new = statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3
        assert gateway.status_named(issuer_id) == gateway.status_named_full(issuer_id)
        head = w3.eth.block_number
    lines = [
        f"{extra[0]} status events of one issuer, chain head {head} (Anvil), median of {args.n}",
        f"{'read':<48} {'wall ms':>8} {'CPU ms':>8}",
    ]
    for name, (wall, cpu) in (
        ("status_named_full (every event since deployment)", full),
        ("status_named, no new block", idle),
        ("status_named, one new block with one event", new),
    ):
        lines.append(f"{name:<48} {wall:>8.2f} {cpu:>8.2f}")
    text = "\n".join(lines)
    print(text)
    if args.results:
        write_results(text, "issuer_status_named")


if __name__ == "__main__":
    main()
