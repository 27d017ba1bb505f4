"""The committed contract artifacts (``contracts/build/*.json``), read as package data.

Usage::

    from talentproof.ledger.artifacts import artifact_hash, error_selectors, load_artifact

    registry = load_artifact("TalentProofRegistry")
    registry.abi, registry.bytecode, registry.compiler      # "0.8.37+commit.f401782d"
    artifact_hash("TalentProofRegistry")                     # "sha256:…" (deployment record)
    error_selectors(registry.abi)[bytes.fromhex("…")]         # the ABI entry of a custom error

Reading artifacts needs no compiler: they ship inside the ``talentproof.contracts`` package
(`talentproof.ledger.compiler` writes them).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from eth_utils import keccak

from talentproof.ledger.abi import canonical_type
from talentproof.ledger.errors import LedgerError

__all__ = [
    "Artifact",
    "ArtifactError",
    "abi_input_types",
    "abi_signature",
    "artifact_hash",
    "error_selectors",
    "load_artifact",
]

_PACKAGE = "talentproof.contracts"


class ArtifactError(LedgerError):
    """A contract artifact is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled, deployable contract.

    Attributes:
        name: the contract name, e.g. ``"TalentProofRegistry"``.
        abi: the ABI entries (a tuple, treat as read only).
        bytecode: the creation bytecode.
        deployed_bytecode: the runtime bytecode (what ``eth_getCode`` returns after deployment).
        compiler: the solc long version, e.g. ``"0.8.37+commit.f401782d"``.
        sha256: lowercase hex SHA-256 of the artifact file's bytes (see `artifact_hash`).
    """

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes
    compiler: str
    sha256: str


def _read(name: str) -> bytes:
    if not isinstance(name, str) or not name.isidentifier():
        raise ArtifactError(f"expected a contract name (identifier), got {name!r}")
    resource = resources.files(_PACKAGE).joinpath("build", f"{name}.json")
    try:
        return resource.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(
            f"no artifact for contract {name!r} in {_PACKAGE}/build "
            "(run `talentproof contracts compile`)"
        ) from None


def _hex_bytes(doc: Mapping[str, Any], key: str, name: str) -> bytes:
    value = doc.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ArtifactError(f"artifact {name}: expected {key} as 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ArtifactError(f"artifact {name}: {key} is not hex") from None


@functools.cache
def load_artifact(name: str) -> Artifact:
    """Load the artifact of contract `name` from ``talentproof.contracts/build/<name>.json``.

    Raises:
        ArtifactError: the artifact is missing or lacks abi / bytecode / compiler.
    """
    raw = _read(name)
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ArtifactError(f"artifact {name} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("abi"), list):
        raise ArtifactError(f"artifact {name}: expected a JSON object with an abi list")
    try:
        compiler = str(doc["compiler"]["version"])
    except (KeyError, TypeError):
        raise ArtifactError(f"artifact {name}: expected compiler.version") from None
    return Artifact(
        name=name,
        abi=tuple(doc["abi"]),
        bytecode=_hex_bytes(doc, "bytecode", name),
        deployed_bytecode=_hex_bytes(doc, "deployedBytecode", name),
        compiler=compiler,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def artifact_hash(name: str) -> str:
    """``"sha256:<hex>"`` of the artifact file of contract `name` (for the deployment record)."""
    return f"sha256:{load_artifact(name).sha256}"


def abi_input_types(entry: Mapping[str, Any]) -> list[str]:
    """The canonical ABI types of an entry's inputs, e.g. ``["uint32", "(uint64,bool)"]``."""
    return [canonical_type(p) for p in entry.get("inputs", ())]


def abi_signature(entry: Mapping[str, Any]) -> str:
    """The canonical signature of an ABI function, event or error, e.g. ``"AnchorEmptyBatch()"``."""
    types = ",".join(abi_input_types(entry))
    return f"{entry['name']}({types})"


def error_selectors(abi: Sequence[Mapping[str, Any]]) -> dict[bytes, Mapping[str, Any]]:
    """Map each custom error's 4-byte selector to its ABI entry, to decode revert data.

    >>> entry = {"type": "error", "name": "AnchorEmptyBatch", "inputs": []}
    >>> error_selectors([entry]) == {keccak(text="AnchorEmptyBatch()")[:4]: entry}
    True
    """
    selectors: dict[bytes, Mapping[str, Any]] = {}
    for entry in abi:
        if entry.get("type") != "error":
            continue
        selector = keccak(text=abi_signature(entry))[:4]
        if selector in selectors and abi_signature(selectors[selector]) != abi_signature(entry):
            raise ArtifactError(
                f"selector clash: {abi_signature(entry)} and {abi_signature(selectors[selector])}"
            )
        selectors[selector] = entry
    return selectors
