"""Benchmark: the verifier's read path against a real Anvil (prints figures, asserts nothing).

    .venv/bin/python bench/rpc.py [--n 500]

Compares, per credential verification view:
- `RegistryReader.verify_credential` (raw JSON-RPC batch over one keep-alive connection),
- `RegistryClient.verify_credential` (web3.py ``eth_call`` + the same ABI decoding),
- a bare ``eth_blockNumber`` round trip (the transport floor),
and the local ABI encode+decode cost alone, and the verdict decode of the ledger's codec
(``ledger._internal.verdict.VerdictCodec``) beside its reference twin, eth-abi.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from eth_utils import keccak

from talentproof.ledger._internal.verdict import VerdictCodec
from talentproof.ledger.chain import connect, did_hash, type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import deploy_registry
from talentproof.ledger.models import CredentialVerdict
from talentproof.ledger.nodes import anvil
from talentproof.ledger.reader import RegistryReader


def _measure(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    samples.sort()
    return statistics.median(samples) * 1e3, samples[int(len(samples) * 0.95) - 1] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="samples per measurement")
    args = parser.parse_args()
    dh = did_hash("did:web:bench.example")
    root, cred, key, tid = (
        keccak(b"bench-root"),
        keccak(b"bench-cred"),
        b"\x11" * 32,
        type_id("DegreeCredential"),
    )
    with anvil() as node:
        w3 = connect(node.rpc_url)
        dep = deploy_registry(w3, node.private_keys[0])
        gov = RegistryClient(w3, dep, node.private_keys[0])
        issuer_id = gov.register_issuer("Bench U", "did:web:bench.example", [node.accounts[1]])
        gov.add_signing_key(issuer_id, key)
        gov.grant_credential_type(issuer_id, tid)
        RegistryClient(w3, dep, node.private_keys[1]).anchor_root(root, 1024)

        reader = RegistryReader(node.rpc_url, dep.registry)
        fn = reader.abi.function("verifyCredential")  # eth-abi: the reference twin of the codec
        codec = VerdictCodec(reader.abi.abi)
        data = fn.encode(dh, root, cred, key, tid, 0)
        [result] = reader.batch(
            [("eth_call", [{"to": dep.registry, "data": "0x" + data.hex()}, "latest"])]
        )
        raw = bytes.fromhex(result[2:])
        assert codec.decode(raw) == CredentialVerdict.from_struct(fn.decode(raw), block_hash=b"")
        rows = {
            "reader.verify_credential (batch: eth_call + block)": _measure(
                lambda: reader.verify_credential(dh, root, cred, key, tid), args.n
            ),
            "web3 RegistryClient.verify_credential": _measure(
                lambda: gov.verify_credential(dh, root, cred, key, tid), max(50, args.n // 5)
            ),
            "raw eth_blockNumber round trip": _measure(reader.block_number, args.n),
            "ABI encode + decode only (eth-abi)": _measure(
                lambda: fn.decode(raw) and fn.encode(dh, root, cred, key, tid, 0), args.n
            ),
            "verdict decode: VerdictCodec (ledger._internal.verdict)": _measure(
                lambda: codec.decode(raw), args.n
            ),
            "verdict decode: eth-abi + CredentialVerdict (reference)": _measure(
                lambda: CredentialVerdict.from_struct(fn.decode(raw), block_hash=b""), args.n
            ),
        }
    print(f"{'measurement':55s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, (p50, p95) in rows.items():
        print(f"{name:55s} {p50:8.3f} {p95:8.3f}")
    fast = rows["reader.verify_credential (batch: eth_call + block)"][0]
    slow = rows["web3 RegistryClient.verify_credential"][0]
    print(
        f"speed-up of the raw reader over web3: {slow / fast:.1f}x (target: p50 <= 2 ms per credential)"
    )


if __name__ == "__main__":
    main()
