"""Types of the C module credential/native_verify.c (built by the install)."""

from collections.abc import Callable
from typing import Any

def setup(
    crypto_sign_open: int,
    jcs_digests: Callable[..., tuple[bytes, bytes] | None],
    merkle_root: Callable[..., bytes | None],
    key_of: Callable[[str], bytes | None],
    /,
) -> None: ...
def offline(
    document: Any, /
) -> (
    tuple[dict[str, Any], int, str, bytes, int, int, tuple[bytes, ...], bytes, str, str, bytes]
    | None
): ...
def from_bytes(
    data: bytes, /
) -> (
    tuple[dict[str, Any], int, str, bytes, int, int, tuple[bytes, ...], bytes, str, str, bytes]
    | None
): ...
def set_forms(forms: dict[str, tuple[Any, ...]], /) -> None: ...
def form_kind(document: Any, /) -> str | None: ...
