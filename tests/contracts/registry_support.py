"""Helpers of the contract tests: the deployed registry, actors, constants (see conftest.py).

The registry is deployed from the committed artifact (``contracts/build``) on web3's
`EthereumTesterProvider` (py-evm, its default fork). Revert data is read from eth-tester
directly (web3's tester provider stringifies it) and decoded against the artifact's ABI, so a
test compares the custom error's name and arguments.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3._utils.events import get_event_data

from talentproof.ledger.artifacts import (
    Artifact,
    abi_input_types,
    abi_signature,
    error_selectors,
    load_artifact,
)

DEGREE = Web3.keccak(text="DegreeCredential")
EMPLOYMENT = Web3.keccak(text="EmploymentCredential")
BADGE = Web3.keccak(text="OpenBadgeCredential")
KEY_1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
KEY_2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")


def h(label: str) -> bytes:
    """A deterministic 32-byte value for a test label (credential hash, root...)."""
    return Web3.keccak(text=label)


@dataclass
class Reverted:
    """A decoded custom error: its name and arguments by parameter name."""

    name: str
    args: dict[str, Any]


class Registry:
    """The deployed `TalentProofRegistry` with test helpers."""

    def __init__(self, w3: Web3, artifact: Artifact, address: str) -> None:
        self.w3 = w3
        self.artifact = artifact
        self.contract = w3.eth.contract(address=address, abi=list(artifact.abi))
        self.address = address
        self.tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
        self.deploy_receipt: Any = None
        self._errors = error_selectors(artifact.abi)
        self._events = {
            Web3.keccak(text=abi_signature(e)): e for e in artifact.abi if e["type"] == "event"
        }

    @property
    def functions(self) -> Any:
        return self.contract.functions

    def transact(self, fn: str, *args: Any, sender: str) -> Any:
        """Send `fn(*args)` from `sender`; assert it succeeded; return the receipt."""
        tx_hash = getattr(self.functions, fn)(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt.status == 1, f"{fn} failed"
        return receipt

    def call(self, fn: str, *args: Any) -> Any:
        return getattr(self.functions, fn)(*args).call()

    def record(self, fn: str, *args: Any) -> dict[str, Any]:
        """The struct view `fn(*args)` returns, as a dict by the ABI's field names."""
        (entry,) = (e for e in self.artifact.abi if e["type"] == "function" and e["name"] == fn)
        (struct,) = entry["outputs"]
        names = [c["name"] for c in struct["components"]]
        return dict(zip(names, self.call(fn, *args), strict=True))

    def revert_of(self, fn: str, *args: Any, sender: str, mine: bool = False) -> Reverted:
        """Run `fn(*args)` from `sender`, expecting a revert; return the decoded custom error.

        The revert data comes from an ``eth_call`` from `sender` (the same code path a
        transaction runs). With ``mine=True`` the transaction is also mined (fixed gas limit)
        and must fail on chain.
        """
        data = self.contract.encode_abi(fn, args=list(args))
        tx = {"from": sender, "to": self.address, "data": data, "gas": 3_000_000}
        try:
            self.tester.call(tx)
        except TransactionFailed as exc:
            raw = exc.args[0]
        else:
            raise AssertionError(f"{fn}{args} did not revert")
        if isinstance(raw, str) and raw.startswith(("b'", 'b"')):
            raw = ast.literal_eval(raw)  # eth-tester passes the revert bytes as their repr
        assert isinstance(raw, bytes), f"expected raw revert bytes, got {raw!r}"
        entry = self._errors.get(raw[:4])
        assert entry is not None, f"revert data {raw.hex()} is not a custom error of the ABI"
        values = abi_decode(abi_input_types(entry), raw[4:])
        names = [p["name"] for p in entry["inputs"]]
        if mine:
            tx_hash = self.w3.eth.send_transaction({**tx, "data": data})
            assert self.w3.eth.get_transaction_receipt(tx_hash).status == 0
        args = {
            name: Web3.to_checksum_address(value) if typ == "address" else value
            for name, value, typ in zip(names, values, abi_input_types(entry), strict=True)
        }
        return Reverted(entry["name"], args)

    def events(self, receipt: Any) -> list[tuple[str, dict[str, Any]]]:
        """Every event of the receipt emitted by the registry: (name, args), in order."""
        found = []
        for log in receipt.logs:
            assert log.address == self.address
            entry = self._events[bytes(log.topics[0])]
            decoded = get_event_data(self.w3.codec, entry, log)
            found.append((decoded.event, dict(decoded.args)))
        return found

    def timestamp_next(self, ts: int) -> None:
        """Make the next mined block carry timestamp `ts`."""
        self.w3.testing.timeTravel(ts)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest").timestamp)


@dataclass
class Actors:
    """Accounts of the scenario."""

    admin: str  # deployer: admin and first governor
    governor: str  # a second governor
    hku: str  # acts for issuer 1
    hku2: str  # a spare account, not assigned
    ust: str  # acts for issuer 2
    outsider: str  # no role at all
    other: str  # another account without a role


ISSUER_HKU = 1
ISSUER_UST = 2
HKU_DID = "did:web:hku.hk"
UST_DID = "did:web:hkust.edu.hk"


def did_hash(did: str) -> bytes:
    """keccak256 of the DID's UTF-8 bytes: the first argument of verifyCredential."""
    return bytes(Web3.keccak(text=did))


def _named(param: dict[str, Any], value: Any) -> Any:
    """A decoded ABI value with its tuples as dicts by component name (recursively)."""
    if param["type"] == "tuple":
        comps = param["components"]
        return {c["name"]: _named(c, v) for c, v in zip(comps, value, strict=True)}
    if param["type"] == "tuple[]":
        inner = {**param, "type": "tuple"}
        return [_named(inner, v) for v in value]
    return value


def verdict(
    reg: Registry,
    root: bytes,
    cred: bytes,
    key: bytes = KEY_1,
    type_id: bytes = DEGREE,
    as_of: int = 0,
    did: str = HKU_DID,
) -> dict[str, Any]:
    """verifyCredential for the issuer with DID `did`, as a dict by the ABI's field names."""
    (entry,) = (
        e for e in reg.artifact.abi if e["type"] == "function" and e["name"] == "verifyCredential"
    )
    values = reg.call("verifyCredential", did_hash(did), root, cred, key, type_id, as_of)
    return _named(entry["outputs"][0], values)


def deploy(w3: Web3) -> tuple[Registry, Actors]:
    """Deploy the registry from the committed artifact and set up the shared scenario.

    Issuer 1 (HKU, account `hku`, key KEY_1, type DEGREE) and issuer 2 (HKUST, account `ust`, no
    key or type); `governor` is a second governor.
    """
    # Move the chain's clock a day ahead of the wall clock: py-evm stamps a block with
    # max(parent + 1, wall clock), so from here on every block time is exactly what the tests set
    # with `timestamp_next` (or parent + 1), however slowly the tests run.
    w3.testing.timeTravel(int(time.time()) + 86_400)
    accounts = w3.eth.accounts
    actors = Actors(
        admin=accounts[0],
        governor=accounts[1],
        hku=accounts[2],
        hku2=accounts[3],
        ust=accounts[4],
        outsider=accounts[8],
        other=accounts[9],
    )
    artifact = load_artifact("TalentProofRegistry")
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor().transact({"from": actors.admin})
    )
    assert receipt.status == 1
    registry = Registry(w3, artifact, receipt.contractAddress)
    registry.deploy_receipt = receipt
    registry.transact("addGovernor", actors.governor, sender=actors.admin)
    registry.transact(
        "registerIssuer",
        "The University of Hong Kong",
        HKU_DID,
        [actors.hku],
        sender=actors.admin,
    )
    registry.transact("registerIssuer", "HKUST", UST_DID, [actors.ust], sender=actors.governor)
    registry.transact("addSigningKey", ISSUER_HKU, KEY_1, 0, 0, sender=actors.admin)
    registry.transact("grantCredentialType", ISSUER_HKU, DEGREE, 0, 0, sender=actors.admin)
    return registry, actors
