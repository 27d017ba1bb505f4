"""Secrets at rest: signing-key seeds and chain-account keys are sealed with AES-256-GCM.

The key-encryption key is derived with scrypt from a passphrase (environment or secret file) and
a per-database random salt kept in ``issuer_meta``; each sealed value has its own random nonce
and is bound to its purpose and owner through the associated data, so a row copied to another
institution does not decrypt.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import ConfigurationError, KeyDecryptionError

_VERSION = b"\x01"
_SCRYPT_N = 2**15


class KeyVault:
    """Seals and opens small secrets with a key derived from the service passphrase."""

    def __init__(self, passphrase: str, salt: bytes) -> None:
        if not passphrase:
            raise ConfigurationError("key passphrase is empty; expected a non-empty passphrase")
        kek = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase.encode())
        self._aead = AESGCM(kek)

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        """Encrypt ``plaintext``; ``context`` (e.g. ``signing-key:3``) must match on opening."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, *, context: str) -> bytes:
        """Decrypt a value sealed by :meth:`seal` under the same ``context``."""
        if len(sealed) < 29 or sealed[:1] != _VERSION:
            raise KeyDecryptionError(f"sealed value for {context} is malformed")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context.encode())
        except InvalidTag as exc:
            raise KeyDecryptionError(
                f"cannot decrypt {context}: wrong passphrase or tampered value"
            ) from exc


def new_salt() -> bytes:
    """A fresh random salt for a new database."""
    return secrets.token_bytes(16)


def dev_passphrase(data_dir: Path, name: str = "issuer-passphrase") -> str:
    """A random secret kept in ``<data_dir>/<name>`` (mode 0600), created if absent.

    Used only when no passphrase (or, in development, no operator token) is configured, so a
    development service starts with no setup.
    """
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()
