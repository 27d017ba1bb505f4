"""Types of the C module credential/native_merkle.c (built by the install)."""

from typing import Any

def tree_root(hashes: Any, /) -> bytes | None: ...
