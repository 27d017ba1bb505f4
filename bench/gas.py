"""Gas benchmark of TalentProofRegistry on a real Anvil (started here, on a free loopback port).

    .venv/bin/python bench/gas.py [--markdown PATH]

Deploys the committed artifact (contracts/build/TalentProofRegistry.json), sets up one issuer
with a key and a type, then measures each operation's ``gasUsed`` (transactions signed locally
with eth-account from Anvil's well-known development keys; no unlocked accounts) and the
verification view's ``eth_estimateGas``. Prints a table: figure | measured | target | reference.
The references are OpenAttestation's DocumentStore on Anvil (issue 47,886; revoke 47,980), which
checks no issuer accreditation. Nothing is asserted: the script reports, the reader judges
(``ok`` / ``OVER`` compares with the target).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.nodes import anvil, dev_private_keys

# Anvil's accounts 0 (admin and governor) and 1 (acts for the issuer): public dev keys.
DEPLOYER_KEY, ISSUER_KEY = dev_private_keys(2)
DEGREE = Web3.keccak(text="DegreeCredential")
FIRST_CHANGE_TARGET = 55_000  # a credential's first revocation or suspension (issue 11)
ED25519_KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


class Bench:
    """Sends locally signed transactions and records their gas."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.chain_id = w3.eth.chain_id
        artifact = load_artifact("TalentProofRegistry")
        self.abi = list(artifact.abi)
        self.bytecode = artifact.bytecode
        self.registry: Any = None

    def send(self, key: str, tx: dict[str, Any]) -> Any:
        account = Account.from_key(key)
        tx = {
            **tx,
            "from": account.address,
            "chainId": self.chain_id,
            "nonce": self.w3.eth.get_transaction_count(account.address),
            "maxFeePerGas": 2 * self.w3.eth.gas_price + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        tx["gas"] = self.w3.eth.estimate_gas(tx) * 12 // 10 + 10_000
        tx.pop("from")
        signed = Account.sign_transaction(tx, key)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if receipt.status != 1:
            sys.exit(f"error: transaction {tx_hash.hex()} failed")
        return receipt

    def deploy(self) -> int:
        # the constructor takes no arguments: the creation code is the whole payload
        receipt = self.send(DEPLOYER_KEY, {"data": "0x" + self.bytecode.hex()})
        self.registry = self.w3.eth.contract(address=receipt.contractAddress, abi=self.abi)
        return int(receipt.gasUsed)

    def call(self, key: str, fn: str, *args: Any) -> int:
        data = self.registry.encode_abi(fn, args=list(args))
        receipt = self.send(key, {"to": self.registry.address, "data": data})
        return int(receipt.gasUsed)


def measure(url: str) -> list[tuple[str, float, float | None, str]]:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    bench = Bench(w3)
    issuer = Account.from_key(ISSUER_KEY).address
    rows: list[tuple[str, float, float | None, str]] = []
    rows.append(
        (
            "deploy TalentProofRegistry",
            bench.deploy(),
            None,
            "OA DocumentStore 1,040,472 (published)",
        )
    )
    rows.append(
        (
            "registerIssuer (1 account)",
            bench.call(
                DEPLOYER_KEY,
                "registerIssuer",
                "The University of Hong Kong",
                "did:web:hku.hk",
                [issuer],
            ),
            None,
            "",
        )
    )
    rows.append(
        ("addSigningKey", bench.call(DEPLOYER_KEY, "addSigningKey", 1, ED25519_KEY, 0, 0), None, "")
    )
    rows.append(
        (
            "grantCredentialType",
            bench.call(DEPLOYER_KEY, "grantCredentialType", 1, DEGREE, 0, 0),
            None,
            "",
        )
    )

    anchors = {
        count: bench.call(ISSUER_KEY, "anchorRoot", Web3.keccak(text=f"root-{count}"), count)
        for count in (1, 4096, 2**32 - 1)
    }
    worst = max(anchors.values())
    per_count = " / ".join(f"{g:,}" for g in anchors.values())
    rows.append(
        (
            f"anchorRoot (leaf counts 1 / 4096 / 2^32-1: {per_count})",
            worst,
            55_000,
            "OA DocumentStore.issue 47,886 (no permission check)",
        )
    )
    rows.append(
        (
            "revokeCredential (one; a credential's first status change)",
            bench.call(ISSUER_KEY, "revokeCredential", Web3.keccak(text="cred-single")),
            FIRST_CHANGE_TARGET,
            "OA DocumentStore.revoke 47,980; 48,578 before the history and actor fields",
        )
    )
    hashes = [Web3.keccak(text=f"cred-{i}") for i in range(256)]
    total = bench.call(ISSUER_KEY, "revokeCredentials", hashes)
    rows.append(
        (
            f"revokeCredentials (256 in one tx, total {total:,}) per credential",
            total / 256,
            25_000,
            "OA bulkIssue of 256 roots ~24.3k per hash (calc)",
        )
    )
    rows.append(
        (
            "revokeBatch (whole root)",
            bench.call(ISSUER_KEY, "revokeBatch", Web3.keccak(text="root-1")),
            50_000,
            "",
        )
    )
    rows.append(
        (
            "suspendCredential (first; a credential's first status change)",
            bench.call(ISSUER_KEY, "suspendCredential", Web3.keccak(text="s")),
            FIRST_CHANGE_TARGET,
            "48,780 before the history and actor fields",
        )
    )
    rows.append(
        (
            "reinstateCredential",
            bench.call(ISSUER_KEY, "reinstateCredential", Web3.keccak(text="s")),
            None,
            "31,444 before",
        )
    )
    rows.append(
        (
            "suspendCredential (second, after a reinstatement: the closed interval kept)",
            bench.call(ISSUER_KEY, "suspendCredential", Web3.keccak(text="s")),
            None,
            "one more fresh slot for the past interval (indexed by the suspension count)",
        )
    )
    bench.call(ISSUER_KEY, "reinstateCredential", Web3.keccak(text="s"))
    rows.append(
        (
            "suspendCredential (third)",
            bench.call(ISSUER_KEY, "suspendCredential", Web3.keccak(text="s")),
            None,
            "",
        )
    )
    rows.append(
        (
            "revokeCredential (of a suspended credential: a later change, same slot)",
            bench.call(ISSUER_KEY, "revokeCredential", Web3.keccak(text="s")),
            None,
            "",
        )
    )
    rows.append(
        (
            "governanceRevokeCredential (first status change, 28-byte reason)",
            bench.call(
                DEPLOYER_KEY,
                "governanceRevokeCredential",
                1,
                Web3.keccak(text="cred-gov"),
                "court order 2026/123 applies",
            ),
            FIRST_CHANGE_TARGET,
            "",
        )
    )
    rows.append(
        (
            "governanceSuspendCredential (first status change, 28-byte reason)",
            bench.call(
                DEPLOYER_KEY,
                "governanceSuspendCredential",
                1,
                Web3.keccak(text="cred-gov-s"),
                "investigation 2026/124 open",
            ),
            FIRST_CHANGE_TARGET,
            "",
        )
    )
    view = bench.registry.functions.verifyCredential(
        Web3.keccak(text="did:web:hku.hk"),
        Web3.keccak(text="root-4096"),
        hashes[0],
        ED25519_KEY,
        DEGREE,
        0,
    ).estimate_gas()
    rows.append(
        (
            "verifyCredential (eth_estimateGas of the view)",
            view,
            None,
            "read only, no fee in eth_call",
        )
    )
    return rows


def render(rows: list[tuple[str, float, float | None, str]], client: str) -> str:
    lines = [
        f"Gas of TalentProofRegistry on {client} (solc 0.8.37, optimizer runs 10000, evm paris)",
        "",
        "| figure | measured | target | verdict | reference |",
        "|---|---:|---:|---|---|",
    ]
    for name, gas, target, reference in rows:
        shown = f"{gas:,.0f}" if float(gas).is_integer() else f"{gas:,.1f}"
        verdict = "" if target is None else ("ok" if gas <= target else "OVER")
        target_text = "" if target is None else f"<= {target:,.0f}"
        lines.append(f"| {name} | {shown} | {target_text} | {verdict} | {reference} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    with anvil() as node:
        url = node.rpc_url
        client = Web3(Web3.HTTPProvider(url)).client_version
        rows = measure(url)
    table = render(rows, client)
    print(table, end="")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
