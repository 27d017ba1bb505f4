"""Secrets at rest: signing-key seeds and chain-account keys are sealed with AES-256-GCM.

The key-encryption key is derived with scrypt from a passphrase (environment or secret file) and
a per-database random salt kept in ``issuer_meta``; each sealed value has its own random nonce
and is bound to its purpose and owner through the associated data, so a row copied to another
institution does not decrypt.

Idempotent replays of answers that carry a new API key (`seal_replay`, `open_replay`): the
stored answer holds the key sealed under a key derived from the vault key *and* the request's
Idempotency-Key, and the Idempotency-Key itself is stored only as an HMAC (`replay_id`), so the
database (even with the passphrase) does not give the API key back without the Idempotency-Key,
which only the retrying client knows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import ConfigurationError, KeyDecryptionError

_VERSION = b"\x01"
_SCRYPT_N = 2**15
_REPLAY_PREFIX = "sealed-replay:v1:"


class KeyVault:
    """Seals and opens small secrets with a key derived from the service passphrase."""

    def __init__(self, passphrase: str, salt: bytes) -> None:
        if not passphrase:
            raise ConfigurationError("key passphrase is empty; expected a non-empty passphrase")
        kek = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase.encode())
        self._aead = AESGCM(kek)
        # a separate key for idempotent replays (the vault key itself is not kept)
        self._replay_root = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"talentproof/replay/v1"
        ).derive(kek)

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

    def _replay_mac(self, label: bytes, principal: str, key: str) -> bytes:
        message = label + b"\0" + principal.encode() + b"\0" + key.encode()
        return hmac.new(self._replay_root, message, hashlib.sha256).digest()

    def replay_id(self, principal: str, key: str) -> str:
        """What is stored in place of an Idempotency-Key whose answer is sealed: an HMAC of it
        (66 characters), so the database does not hold the key that opens the answer."""
        return "h:" + self._replay_mac(b"id", principal, key).hex()

    def seal_replay(self, plaintext: str, *, principal: str, key: str) -> str:
        """Seal a secret of an answer (an API key) under a key derived from the vault key and
        the request's Idempotency-Key: a text for the stored JSON answer."""
        aead = AESGCM(self._replay_mac(b"seal", principal, key))
        nonce = os.urandom(12)
        sealed = nonce + aead.encrypt(nonce, plaintext.encode(), b"idempotent-replay")
        return _REPLAY_PREFIX + base64.urlsafe_b64encode(sealed).decode()

    def open_replay(self, sealed: str, *, principal: str, key: str) -> str:
        """Open a value sealed by :meth:`seal_replay` with the same caller and Idempotency-Key."""
        if not sealed.startswith(_REPLAY_PREFIX):
            raise KeyDecryptionError("the stored answer's secret is not sealed")
        raw = base64.urlsafe_b64decode(sealed[len(_REPLAY_PREFIX) :])
        try:
            aead = AESGCM(self._replay_mac(b"seal", principal, key))
            return aead.decrypt(raw[:12], raw[12:], b"idempotent-replay").decode()
        except InvalidTag as exc:
            raise KeyDecryptionError(
                "cannot open the stored answer: wrong passphrase or tampered value"
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
