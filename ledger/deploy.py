"""Deploying the registry and the deployment record (docs/architecture.md, "Deployment record").

::

    dep = deploy_registry("http://127.0.0.1:8545", operator_key)
    dep.save(Path("data/deployment.json"))
    dep = ensure_deployed(w3, operator_key, Path("data/deployment.json"))  # reuse if still there
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eth_utils import is_address, to_checksum_address

from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import as_web3
from talentproof.ledger.errors import DeploymentError, ErrorDecoder
from talentproof.ledger.tx import FeeConfig, TxSender, endpoint_of, rpc_guard

__all__ = [
    "REGISTRY_CONTRACT",
    "Deployment",
    "deploy_registry",
    "ensure_deployed",
    "registry_code_matches",
]

REGISTRY_CONTRACT = "TalentProofRegistry"


def _sha_label(digest: str) -> str:
    return digest if digest.startswith("sha256:") else f"sha256:{digest}"


@dataclass(frozen=True)
class Deployment:
    """Where the registry lives: the JSON deployment record, as a value object."""

    chain_id: int
    registry: str
    deployment_block: int
    deployer: str
    compiler: str
    artifacts: Mapping[str, str] = field(default_factory=dict)
    deployed_at: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise DeploymentError(f"chainId must be a positive integer, got {self.chain_id!r}")
        for name in ("registry", "deployer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not is_address(value):
                raise DeploymentError(f"{name} must be a 20-byte hex address, got {value!r}")
            object.__setattr__(self, name, to_checksum_address(value))
        if not isinstance(self.deployment_block, int) or self.deployment_block < 0:
            raise DeploymentError(
                f"deploymentBlock must be a non-negative integer, got {self.deployment_block!r}"
            )
        object.__setattr__(self, "artifacts", MappingProxyType(dict(self.artifacts)))

    def __hash__(self) -> int:
        return hash((self.chain_id, self.registry, self.deployment_block))

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object of docs/architecture.md."""
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "deploymentBlock": self.deployment_block,
            "deployer": self.deployer,
            "compiler": self.compiler,
            "artifacts": dict(self.artifacts),
            "deployedAt": self.deployed_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """Parse a record; raises `DeploymentError` naming the missing or bad field."""
        if not isinstance(data, Mapping):
            raise DeploymentError(
                f"deployment record must be a JSON object, got {type(data).__name__}"
            )
        missing = [
            k for k in ("chainId", "registry", "deploymentBlock", "deployer") if k not in data
        ]
        if missing:
            raise DeploymentError(f"deployment record lacks {', '.join(missing)}")
        artifacts = data.get("artifacts", {})
        if not isinstance(artifacts, Mapping):
            raise DeploymentError(
                "deployment record: artifacts must be an object of name -> sha256"
            )
        return cls(
            chain_id=data["chainId"],
            registry=data["registry"],
            deployment_block=data["deploymentBlock"],
            deployer=data["deployer"],
            compiler=str(data.get("compiler", "")),
            artifacts={str(k): str(v) for k, v in artifacts.items()},
            deployed_at=str(data.get("deployedAt", "")),
        )

    def save(self, path: str | Path) -> Path:
        """Write the record atomically (temp file + rename); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(self.to_json(), fh, indent=2)
                fh.write("\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read a record written by `save` (or `talentproof deploy`)."""
        source = Path(path)
        try:
            data = json.loads(source.read_text())
        except FileNotFoundError:
            raise DeploymentError(
                f"no deployment record at {source} (run `talentproof deploy`)"
            ) from None
        except (OSError, ValueError) as exc:
            raise DeploymentError(f"cannot read deployment record {source}: {exc}") from None
        return cls.from_json(data)


def _registry_artifact(artifact: Any | None) -> Any:
    if artifact is not None:
        return artifact
    return load_artifact(REGISTRY_CONTRACT)


def _hexbytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def deploy_registry(
    w3_or_rpc: Any,
    operator_key: str | bytes,
    *,
    artifact: Any | None = None,
    confirmations: int = 1,
    fees: FeeConfig | None = None,
    timeout: float = 120.0,
) -> Deployment:
    """Deploy `TalentProofRegistry` from `operator_key` (admin and first governor) and return the record."""
    w3 = as_web3(w3_or_rpc)
    art = _registry_artifact(artifact)
    sender = TxSender(
        w3,
        operator_key,
        fees=fees,
        error_decoder=ErrorDecoder(art.abi),
        confirmations=confirmations,
        timeout=timeout,
    )
    chain_id = sender.check_chain()
    sender.expected_chain_id = chain_id
    receipt = sender.transact({"data": _hexbytes(art.bytecode)}, label=f"deploy {art.name}")
    address = receipt.get("contractAddress")
    if not address:
        raise DeploymentError(
            f"deployment transaction {receipt['transactionHash'].hex()} created no contract"
        )
    with rpc_guard("eth_getCode", endpoint_of(w3)):
        code = bytes(w3.eth.get_code(address))
        block = w3.eth.get_block(receipt["blockNumber"])
    if not code:
        raise DeploymentError(f"no code at {address} after deployment")
    deployed_at = datetime.fromtimestamp(int(block["timestamp"]), tz=UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return Deployment(
        chain_id=chain_id,
        registry=address,
        deployment_block=int(receipt["blockNumber"]),
        deployer=sender.address,
        compiler=str(art.compiler),
        artifacts={art.name: _sha_label(str(art.sha256))},
        deployed_at=deployed_at,
    )


def registry_code_matches(w3: Any, deployment: Deployment, artifact: Any | None = None) -> bool:
    """True if the node serves `deployment.chain_id` and the artifact's runtime code is at the address.

    The record's artifact hash must also equal the current artifact's (a recompiled contract
    means a new deployment).
    """
    art = _registry_artifact(artifact)
    with rpc_guard("eth_chainId/eth_getCode", endpoint_of(w3)):
        if int(w3.eth.chain_id) != deployment.chain_id:
            return False
        code = bytes(w3.eth.get_code(deployment.registry))
    if not code:
        return False
    recorded = deployment.artifacts.get(art.name)
    if recorded is not None and recorded != _sha_label(str(art.sha256)):
        return False
    expected = _hexbytes(art.deployed_bytecode) if art.deployed_bytecode else b""
    return not expected or code == expected


def ensure_deployed(
    w3_or_rpc: Any,
    operator_key: str | bytes,
    path: str | Path,
    *,
    artifact: Any | None = None,
    confirmations: int = 1,
    fees: FeeConfig | None = None,
) -> Deployment:
    """Reuse the record at `path` if its registry is still on that chain, else deploy and save.

    A record naming another chain, an address without the registry's code (fresh node), or an
    older artifact is replaced by a new deployment.
    """
    w3 = as_web3(w3_or_rpc)
    record_path = Path(path)
    if record_path.exists():
        existing = Deployment.load(record_path)
        if registry_code_matches(w3, existing, artifact):
            return existing
    deployment = deploy_registry(
        w3, operator_key, artifact=artifact, confirmations=confirmations, fees=fees
    )
    deployment.save(record_path)
    return deployment
