"""Types of the C module credential/_native.c (built by the install)."""

from collections.abc import Mapping
from typing import Any

def jcs_cuts(
    document: Mapping[str, Any], proof: Mapping[str, Any], /
) -> tuple[bytes, int, int, int, int, int, int] | None: ...
