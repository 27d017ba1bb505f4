"""Types of the C module credential/native.c (built by the install)."""

from collections.abc import Mapping
from typing import Any

def jcs_cuts(
    document: Mapping[str, Any], proof: Mapping[str, Any], /
) -> tuple[bytes, int, int, int, int, int, int] | None: ...
def json_guard(raw: bytes, doc: Any, /) -> bool: ...
def merkle_root(
    credential_hash: bytes, leaf_index: int, tree_size: int, path: Any, /
) -> bytes | None: ...
def jcs_digests(
    document: Mapping[str, Any], proof: Mapping[str, Any], /
) -> tuple[bytes, bytes] | None: ...
