"""Types of the C module credential/native_frame.c (built by the install)."""

from typing import Any

def split_block(parts: Any, blob: Any, lengths: Any, /) -> list[bytes | None] | None: ...
