"""What the verifier trusts: one registry deployment on one chain."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talentproof.verifier.errors import TrustConfigError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True, slots=True)
class TrustedDeployment:
    """The registry the verifier trusts, and optionally the chain id it must be on.

    ``chain_id`` None means "the chain id the node reports" (a bare registry address was given);
    a deployment record pins it.
    """

    registry: str
    chain_id: int | None = None
    deployment_block: int = 0

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.registry):
            raise TrustConfigError(
                f"registry address: expected 0x followed by 40 hex digits, found {self.registry!r}"
            )

    def same_registry(self, address: str) -> bool:
        """True when ``address`` is this registry (hex case ignored)."""
        return isinstance(address, str) and address.lower() == self.registry.lower()

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> TrustedDeployment:
        """From a deployment record (docs/architecture.md "Deployment record")."""
        try:
            return cls(
                registry=str(data["registry"]),
                chain_id=int(data["chainId"]),
                deployment_block=int(data.get("deploymentBlock") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrustConfigError(
                f"deployment record: expected chainId and registry, found {sorted(data)}"
            ) from exc

    @classmethod
    def load(cls, path: str | Path) -> TrustedDeployment:
        """Read a deployment record file."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise TrustConfigError(
                f"deployment record {path}: cannot be read ({exc.strerror})"
            ) from exc
        except ValueError as exc:
            raise TrustConfigError(f"deployment record {path}: expected JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise TrustConfigError(f"deployment record {path}: expected a JSON object")
        return cls.from_record(data)

    @classmethod
    def parse(cls, value: str) -> TrustedDeployment:
        """A registry address, or the path of a deployment record."""
        if _ADDRESS.match(value):
            return cls(registry=value)
        return cls.load(value)
