"""The wallet folder: the holder key, the identity-document salt, credentials and transactions.

Layout (the folder 0700, every file 0600)::

    <wallet>/key.json              the holder key file, in `talentproof keygen`'s format
                                   (Multikey JSON with secretKeyMultibase and idSalt)
    <wallet>/credentials/<n>.json  one received credential each
    <wallet>/pending/<n>.json      an OpenID4VCI deferred transaction not finished yet
    <wallet>/trusted-issuers.json  the credential issuers the holder named (``accept
                                   --issuer``): the only ones a transaction code is sent to

The key file is `talentproof keygen`'s own format, so an existing key file can be imported
(`Wallet.init` with ``import_key``) and the wallet's key used with ``talentproof present``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talentproof.credential import jsonread
from talentproof.credential.cli import load_holder_id_salt, load_holder_key, write_holder_key
from talentproof.credential.errors import CredentialError
from talentproof.credential.integrity import ANCHOR_PROOF_TYPE as ANCHOR
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.person import new_salt

from .errors import WalletError, WalletMissing

__all__ = ["DEFAULT_WALLET_DIR", "KEY_FILE", "StoredCredential", "Wallet", "same_credential"]

DEFAULT_WALLET_DIR = Path("~/.talentproof/wallet")
KEY_FILE = "key.json"
_CREDENTIALS = "credentials"
_PENDING = "pending"
_TRUSTED = "trusted-issuers.json"


@dataclass(frozen=True)
class StoredCredential:
    """A credential in the wallet: its file and its JSON."""

    path: Path
    document: dict[str, Any]

    @property
    def name(self) -> str:
        """The file's stem: how `wallet qr` and `wallet list` name it."""
        return self.path.stem


def _write_private(path: Path, doc: Mapping[str, Any] | list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _signed_part(document: Mapping[str, Any]) -> Any:
    """The credential as its issuer signed it: its proofs without the anchor proof."""
    proof = document.get("proof")
    entries = proof if isinstance(proof, list) else [proof]
    kept = [p for p in entries if not (isinstance(p, Mapping) and p.get("type") == ANCHOR)]
    return {**document, "proof": kept[0] if len(kept) == 1 else kept}


def _anchored(document: Mapping[str, Any]) -> bool:
    proof = document.get("proof")
    return isinstance(proof, list) and any(
        isinstance(p, Mapping) and p.get("type") == ANCHOR for p in proof
    )


def _issuer_text(document: Mapping[str, Any]) -> str:
    issuer = document.get("issuer")
    return str(issuer.get("id") if isinstance(issuer, Mapping) else issuer)


def same_credential(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether ``a`` and ``b`` are one signed credential (equal but for the anchor proof)."""
    return bool(_signed_part(a) == _signed_part(b))


class Wallet:
    """One wallet folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser()

    @property
    def key_file(self) -> Path:
        return self.root / KEY_FILE

    # --- creation and the key ---------------------------------------------------------------

    @classmethod
    def init(cls, root: Path, *, import_key: Path | None = None) -> Wallet:
        """Create the wallet: a new key and salt, or those of an existing ``talentproof keygen``
        key file (a key file without ``idSalt`` gets a new salt). Refuses a folder that already
        holds a key."""
        wallet = cls(root)
        if wallet.key_file.exists():
            raise WalletError(
                f"{wallet.key_file} exists: this folder already holds a wallet (its key is "
                f"{wallet.did()}); choose another with --wallet-dir"
            )
        if import_key is not None:
            try:
                key = load_holder_key(import_key)
                salt = load_holder_id_salt(import_key) or new_salt()
            except (ValueError, CredentialError) as exc:
                raise WalletError(
                    f"cannot import {import_key}: expected a `talentproof keygen` key file ({exc})"
                ) from exc
        else:
            key, salt = Ed25519SigningKey.generate(), new_salt()
        _private_dir(wallet.root)
        _private_dir(wallet.root / _CREDENTIALS)
        _private_dir(wallet.root / _PENDING)
        write_holder_key(wallet.key_file, key, id_salt=salt)
        return wallet

    def _require(self) -> None:
        if not self.key_file.exists():
            raise WalletMissing(f"no wallet in {self.root}: expected {self.key_file}")

    def key(self) -> Ed25519SigningKey:
        """The holder key."""
        self._require()
        try:
            return load_holder_key(self.key_file)
        except ValueError as exc:
            raise WalletMissing(str(exc)) from exc

    def salt(self) -> str:
        """The identity-document salt."""
        self._require()
        try:
            salt = load_holder_id_salt(self.key_file)
        except ValueError as exc:
            raise WalletMissing(str(exc)) from exc
        if salt is None:
            raise WalletMissing(f"{self.key_file} has no idSalt")
        return salt

    def did(self) -> str:
        """The holder's did:key."""
        return self.key().public_key.did_key

    # --- credentials ------------------------------------------------------------------------

    def credentials(self) -> list[StoredCredential]:
        """Every stored credential, oldest file name first."""
        self._require()
        folder = self.root / _CREDENTIALS
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:  # read as the verifier reads a file: a key given twice is refused, named
                doc = jsonread.loads(path.read_bytes())
            except jsonread.DuplicateKeyError as exc:
                raise WalletError(
                    f"{path}: a JSON object in it gives the key {exc.key!r} twice (the "
                    "verifier refuses such a credential); remove the file or fix it"
                ) from None
            except (OSError, ValueError, RecursionError):
                continue
            if isinstance(doc, dict):
                out.append(StoredCredential(path, doc))
        return out

    def add_credential(self, credential: Mapping[str, Any]) -> StoredCredential:
        """Store a credential. The same signed credential (equal but for its anchor proof) is
        stored once: an anchored copy replaces an unanchored one, never the other way round.
        Another credential under a held one's ``id`` is stored beside it, never over it: the id
        is whatever its issuer writes, and any issuer (or whoever saw a presentation) can reuse
        the id of a credential the holder holds."""
        self._require()
        folder = self.root / _CREDENTIALS
        _private_dir(folder)
        cred_id = credential.get("id")
        for stored in self.credentials():
            if cred_id is not None and same_credential(stored.document, credential):
                if _anchored(stored.document) and not _anchored(credential):
                    return stored  # keep the anchored copy
                path = stored.path
                break
        else:
            existing = {p.stem for p in folder.glob("*.json")}
            n = len(existing) + 1
            while f"{n:03d}" in existing:
                n += 1
            path = folder / f"{n:03d}.json"
        _write_private(path, credential)
        return StoredCredential(path, dict(credential))

    def find(self, selector: str) -> StoredCredential:
        """The credential a user names: its number in `wallet list` (``1``, ``001``), its file
        name, or its ``id``."""
        creds = self.credentials()
        for stored in creds:
            if selector in (stored.name, stored.path.name):
                return stored
        by_id = [(i, s) for i, s in enumerate(creds, 1) if s.document.get("id") == selector]
        if len(by_id) > 1:  # an id is its issuer's word: two issuers may write one
            raise WalletError(
                f"{len(by_id)} credentials have the id {selector!r} (numbers "
                f"{', '.join(str(i) for i, _ in by_id)} in `talentproof wallet list`, from "
                f"{', '.join(_issuer_text(s.document) for _, s in by_id)}): name one by its number"
            )
        if by_id:
            return by_id[0][1]
        if selector.isdigit() and 1 <= int(selector) <= len(creds):
            return creds[int(selector) - 1]
        raise WalletError(
            f"no credential {selector!r} in {self.root}: expected its number or id as "
            f"`talentproof wallet list` shows them ({len(creds)} stored)"
        )

    # --- trusted credential issuers ---------------------------------------------------------

    def trusted_issuers(self) -> list[str]:
        """The credential issuers the holder has named as its institutions' (``accept
        --issuer``): a transaction code goes to no other (OpenID4VCI 1.0 section 13.4.2)."""
        self._require()
        try:
            doc = json.loads((self.root / _TRUSTED).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise WalletError(f"{self.root / _TRUSTED}: unreadable ({exc})") from exc
        if not isinstance(doc, list) or not all(isinstance(u, str) for u in doc):
            raise WalletError(f"{self.root / _TRUSTED}: expected a JSON list of URLs")
        return doc

    def trust_issuer(self, url: str) -> None:
        """Keep ``url`` among the trusted credential issuers."""
        known = self.trusted_issuers()
        if url not in known:
            _write_private(self.root / _TRUSTED, [*known, url])

    # --- deferred transactions --------------------------------------------------------------

    def add_pending(self, transaction: Mapping[str, Any]) -> Path:
        """Keep a deferred issuance transaction to finish later."""
        self._require()
        folder = self.root / _PENDING
        _private_dir(folder)
        digest = hashlib.sha256(
            f"{transaction['credential_issuer']}\0{transaction['transaction_id']}".encode()
        ).hexdigest()[:16]
        path = folder / f"{digest}.json"
        _write_private(path, transaction)
        return path

    def pending(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """The deferred transactions kept, oldest file first."""
        self._require()
        folder = self.root / _PENDING
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict):
                yield path, doc

    @staticmethod
    def drop_pending(path: Path) -> None:
        """Forget a finished (or dead) transaction."""
        path.unlink(missing_ok=True)
