"""JSON text read one way: an object giving a key twice is refused, naming the key.

RFC 8259 leaves a duplicate member's meaning to the reader: Python's ``json`` and orjson keep
the last value, other parsers the first, so one text is two documents. Every reader of a
credential, presentation or receipt the holder or the verifier is handed refuses it instead:
the verifier's inputs (`verifier.engine.parse_json`: files, payload texts, request bodies, the
OpenID4VP token), a QR payload's content (`credential.qr.payload`), the holder's ``present``
and ``receipt check``. `no_duplicate_keys` is the one rule (an ``object_pairs_hook``);
`loads` reads a text with it.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import CredentialError

__all__ = ["DuplicateKeyError", "loads", "no_duplicate_keys"]


class DuplicateKeyError(CredentialError, ValueError):
    """A JSON object gives ``key`` twice (its message starts ``duplicate key``); a
    ``ValueError`` too, as the other answers of a text that cannot be read."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s ``object_pairs_hook`` refusing a key given twice (`DuplicateKeyError`)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKeyError(k)
            seen.add(k)
    return out


def loads(text: str | bytes) -> Any:
    """``json.loads`` refusing a key given twice: raises `DuplicateKeyError` naming it, or
    ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``) for text that is not JSON,
    ``RecursionError`` for one nested too deeply."""
    return json.loads(text, object_pairs_hook=no_duplicate_keys)
