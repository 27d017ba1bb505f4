"""Ed25519 keys in Multikey form, did:key and did:web identifiers.

>>> key = Ed25519SigningKey.from_seed(bytes(32))
>>> key.public_key.did_key.startswith("did:key:z6Mk")
True

Multikey (W3C Controlled Identifiers / vc-di-eddsa): a public key is ``z`` + base58-btc of the
multicodec header ``0xed 0x01`` followed by the 32 raw bytes (so it starts with ``z6Mk``); a
secret key is ``z`` + base58-btc of ``0x80 0x26`` followed by the 32-byte seed (the 64-byte
seed||public form is accepted on input).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey as _CryptoPublicKey,
)
from nacl.bindings import crypto_sign as _sodium_sign
from nacl.bindings import crypto_sign_open as _sodium_open
from nacl.exceptions import BadSignatureError as _SodiumBadSignature

from ._base58 import b58decode, b58encode
from .errors import InvalidSignature, KeyMismatch, MalformedMultibase

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "Ed25519PublicKey",
    "Ed25519SigningKey",
    "did_web",
    "did_web_document",
    "resolve_verification_method",
    "sodium_address",
]

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"


def _multibase_decode(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise MalformedMultibase(
            f"{what}: expected multibase base58-btc text starting with 'z', found {value!r:.60}"
        )
    try:
        return b58decode(value[1:])
    except ValueError as exc:
        raise MalformedMultibase(f"{what}: {exc}") from exc


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what}: expected bytes, found {type(value).__name__}")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Ed25519PublicKey:
    """An Ed25519 public key (32 raw bytes) with its Multikey and did:key forms."""

    raw: bytes
    _key: _CryptoPublicKey = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: bytes) -> Ed25519PublicKey:
        """Build from the 32 raw key bytes."""
        if not isinstance(raw, bytes | bytearray) or len(raw) != 32:
            found = len(raw) if isinstance(raw, bytes | bytearray) else type(raw).__name__
            raise KeyMismatch(f"Ed25519 public key: expected 32 bytes, found {found}")
        raw = bytes(raw)
        try:
            key = _CryptoPublicKey.from_public_bytes(raw)
        except ValueError as exc:  # pragma: no cover - cryptography accepts any 32 bytes
            raise KeyMismatch(f"not an Ed25519 public key: {exc}") from exc
        return cls(raw, key)

    @classmethod
    def from_multibase(cls, value: str) -> Ed25519PublicKey:
        """Parse a ``z6Mk…`` Multikey ``publicKeyMultibase``."""
        data = _multibase_decode(value, "publicKeyMultibase")
        if data[:2] != ED25519_PUB_HEADER or len(data) != 34:
            raise MalformedMultibase(
                "publicKeyMultibase: expected multicodec ed25519-pub (0xed01) + 32 bytes, found "
                f"header {data[:2].hex() or '<empty>'} and {max(len(data) - 2, 0)} bytes"
            )
        return cls.from_raw(data[2:])

    @classmethod
    def from_did_key(cls, did: str) -> Ed25519PublicKey:
        """Parse ``did:key:z6Mk…`` (a fragment, if any, must name the same key)."""
        if not isinstance(did, str) or not did.startswith("did:key:"):
            raise MalformedMultibase(f"expected a did:key identifier, found {did!r:.80}")
        ident, _, fragment = did[len("did:key:") :].partition("#")
        key = cls.from_multibase(ident)
        if fragment and fragment != ident:
            raise KeyMismatch(
                f"verification method fragment #{fragment} does not name the key of {ident}"
            )
        return key

    @classmethod
    def from_verification_method(cls, vm: str) -> Ed25519PublicKey:
        """The key a self-describing verification method names.

        ``did:key:z6Mk…#z6Mk…`` (`from_did_key`), or any DID URL whose fragment is the key's
        Multikey, e.g. ``did:web:hku.hk#z6Mk…`` (the TalentProof issuer convention). Whether
        that key belongs to the DID is for the caller to establish (DID document or the
        on-chain key registry).
        """
        if not isinstance(vm, str) or not vm.startswith("did:"):
            raise MalformedMultibase(f"expected a DID URL, found {vm!r:.80}")
        if vm.startswith("did:key:"):
            return cls.from_did_key(vm)
        _, sep, fragment = vm.partition("#")
        if not sep or not fragment.startswith("z6Mk"):
            raise KeyMismatch(
                f"verification method {vm}: expected a fragment that is the key's Multikey (z6Mk…)"
            )
        return cls.from_multibase(fragment)

    @property
    def multibase(self) -> str:
        """The Multikey ``publicKeyMultibase`` (``z6Mk…``)."""
        return "z" + b58encode(ED25519_PUB_HEADER + self.raw)

    @property
    def did_key(self) -> str:
        """The holder/issuer DID ``did:key:z6Mk…``."""
        return "did:key:" + self.multibase

    @property
    def verification_method(self) -> str:
        """The did:key verification method ``did:key:z6Mk…#z6Mk…``."""
        mb = self.multibase
        return f"did:key:{mb}#{mb}"

    def did_document(self) -> dict[str, Any]:
        """The DID document a did:key resolves to (one Multikey verification method)."""
        vm = self.verification_method
        return {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": self.did_key,
            "verificationMethod": [
                {
                    "id": vm,
                    "type": "Multikey",
                    "controller": self.did_key,
                    "publicKeyMultibase": self.multibase,
                }
            ],
            "authentication": [vm],
            "assertionMethod": [vm],
            "capabilityInvocation": [vm],
            "capabilityDelegation": [vm],
        }

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check an Ed25519 signature; raises `InvalidSignature`.

        Verified by libsodium (PyNaCl), about twice as fast as OpenSSL (`cryptography`) here,
        and at least as strict: it accepts only what OpenSSL accepts (tested on the RFC 8032
        vectors, edge cases and mutations), and also refuses a public key or ``R`` of small
        order and a non-canonical public key encoding, which OpenSSL accepts (with such a key
        one signature can "verify" for every message). `verify_openssl` is the OpenSSL check.
        """
        if type(signature) is not bytes or type(data) is not bytes:
            signature, data = _as_bytes(signature, "signature"), _as_bytes(data, "data")
        if len(signature) != 64:  # (crypto_sign_open reads the first 64 bytes as the signature)
            raise InvalidSignature(f"Ed25519 signature: expected 64 bytes, found {len(signature)}")
        try:
            _sodium_open(signature + data, self.raw)
        except _SodiumBadSignature as exc:
            raise InvalidSignature("Ed25519 signature does not verify with this key") from exc

    def verify_openssl(self, signature: bytes, data: bytes) -> None:
        """`verify` with OpenSSL (`cryptography`), the less strict check; raises `InvalidSignature`."""
        try:
            self._key.verify(signature, data)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature("Ed25519 signature does not verify with this key") from exc

    def __repr__(self) -> str:
        return f"Ed25519PublicKey({self.multibase})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ed25519PublicKey) and hmac.compare_digest(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash(self.raw)


class Ed25519SigningKey:
    """An Ed25519 secret key. Never logged; `repr` shows only the public key."""

    __slots__ = ("_key", "_public", "_seed", "_sign", "_sodium_secret")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a `cryptography` key; prefer `generate`, `from_seed`, `from_multibase`."""
        self._key = private_key
        self._seed = private_key.private_bytes_raw()
        self._public = Ed25519PublicKey.from_raw(private_key.public_key().public_bytes_raw())
        # RFC 8032 Ed25519 is deterministic: libsodium's (PyNaCl) signature is byte for byte
        # cryptography's (tested), at about 1.6x the speed on the bulk signing hot path.
        secret = self._seed + self._public.raw  # libsodium's 64-byte secret key form
        self._sodium_secret = secret  # (`sodium_secret`)

        def _sign(data: bytes, _secret: bytes = secret) -> bytes:
            return _sodium_sign(data, _secret)[:64]  # signature || message

        self._sign = _sign

    @classmethod
    def generate(cls) -> Ed25519SigningKey:
        """A fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519SigningKey:
        """The key of a 32-byte seed."""
        if not isinstance(seed, bytes | bytearray) or len(seed) != 32:
            found = len(seed) if isinstance(seed, bytes | bytearray) else type(seed).__name__
            raise KeyMismatch(f"Ed25519 seed: expected 32 bytes, found {found}")
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @classmethod
    def from_multibase(cls, value: str) -> Ed25519SigningKey:
        """Parse a Multikey ``secretKeyMultibase`` (``0x8026`` + 32-byte seed, or seed||public)."""
        data = _multibase_decode(value, "secretKeyMultibase")
        if data[:2] != ED25519_PRIV_HEADER or len(data) not in (34, 66):
            raise MalformedMultibase(
                "secretKeyMultibase: expected multicodec ed25519-priv (0x8026) + 32 or 64 bytes, "
                f"found header {data[:2].hex() or '<empty>'} and {max(len(data) - 2, 0)} bytes"
            )
        key = cls.from_seed(data[2:34])
        if len(data) == 66 and data[34:] != key.public_key.raw:
            raise KeyMismatch("secretKeyMultibase: the appended public key is not the seed's key")
        return key

    @property
    def seed(self) -> bytes:
        """The 32-byte seed (secret)."""
        return self._seed

    @property
    def sodium_secret(self) -> bytes:
        """libsodium's 64-byte secret key form, seed || public key (secret): what
        ``crypto_sign`` takes, for the signing paths that call it directly
        (`RawEd25519Signer`, the C signing path credential/native_sign.c)."""
        return self._sodium_secret

    @property
    def multibase(self) -> str:
        """The Multikey ``secretKeyMultibase`` (secret)."""
        return "z" + b58encode(ED25519_PRIV_HEADER + self._seed)

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._sign(data)

    def __repr__(self) -> str:
        return f"Ed25519SigningKey(public_key={self._public.multibase})"


class RawEd25519Signer:
    """Ed25519 signatures of 64-byte messages (eddsa-jcs-2022's hashData) with libsodium's
    ``crypto_sign`` called directly through PyNaCl's cffi binding, into one buffer allocated
    once: the same signatures as `Ed25519SigningKey.sign` (RFC 8032 signing is deterministic),
    without the public wrapper's checks and two allocations per call (~3-4 us of ~40 us).
    `integrity.sign_many` and the bulk signing processes sign through it. Falls back to the
    key's own method when the binding is not there. One buffer: use it from one thread.
    """

    __slots__ = ("_buffer", "_call", "_null", "_out", "_secret", "sign")

    def __init__(self, key: Ed25519SigningKey) -> None:
        self._secret = key.sodium_secret
        self.sign: Callable[[bytes], bytes]
        try:
            # PyNaCl's binding (private, hence the fallback when it moves)
            from nacl._sodium import ffi, lib  # noqa: PLC0415 (optional: the fallback catches it)

            self._out = ffi.new("unsigned char[]", 128)  # signature || message
            self._buffer = ffi.buffer(self._out, 64)
            self._call, self._null = lib.crypto_sign, ffi.NULL
            self.sign = self._sign_direct
        except (ImportError, AttributeError):  # then PyNaCl's public wrapper, via the key
            self.sign = key.sign

    def _sign_direct(self, message: bytes) -> bytes:
        if len(message) != 64:
            raise ValueError("expected a 64-byte message (hashData)")
        if self._call(self._out, self._null, message, 64, self._secret) != 0:
            raise RuntimeError("libsodium crypto_sign failed")
        signature: bytes = self._buffer[:]  # a cffi buffer (untyped binding)
        return signature


def sodium_address(name: str) -> int | None:
    """The address of libsodium's function ``name`` (``crypto_sign``, ``crypto_sign_open``) as
    PyNaCl's cffi binding loaded it, for the C fast paths that call it without Python
    (credential/native_sign.c, native_verify.c); None when the binding (private to PyNaCl) is
    not there or lacks it: the callers then run their Python twins."""
    try:
        from nacl._sodium import ffi, lib  # noqa: PLC0415 (optional: None when it moves)

        return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))
    except (ImportError, AttributeError):
        return None


# --- did:web ----------------------------------------------------------------------------------


def did_web(host: str, path: str | Iterable[str] | None = None) -> str:
    """The did:web identifier of a host (and optional path): ``did:web:example.com:issuers:1``.

    A port is percent-encoded (``localhost%3A8000``) as the did:web method requires.
    """
    if not host or "/" in host:
        raise ValueError(f"did:web host: expected a host name, found {host!r}")
    parts = [quote(host.lower(), safe="")]
    if path:
        segments = path.strip("/").split("/") if isinstance(path, str) else list(path)
        parts += [quote(s, safe="") for s in segments if s]
    return "did:web:" + ":".join(parts)


def did_web_url(did: str) -> str:
    """The HTTPS URL of a did:web DID document (for documentation; this package never fetches)."""
    if not did.startswith("did:web:"):
        raise ValueError(f"expected a did:web identifier, found {did!r}")
    host, *segments = did[len("did:web:") :].split(":")
    path = "/".join(unquote(s) for s in segments) if segments else ".well-known"
    return f"https://{unquote(host)}/{path}/did.json"


def did_web_document(
    did: str, keys: Iterable[Ed25519PublicKey] | Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    """A did:web DID document listing Multikey verification methods ``did#key-1``, ….

    ``keys`` is a sequence (fragments ``key-1``, ``key-2``, …) or a mapping fragment -> key.
    Every key is referenced from ``assertionMethod`` and ``authentication``.
    """
    items = (
        list(keys.items())
        if isinstance(keys, Mapping)
        else [(f"key-{i}", k) for i, k in enumerate(keys, start=1)]
    )
    vms = [
        {
            "id": f"{did}#{frag}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.multibase,
        }
        for frag, key in items
    ]
    ids = [vm["id"] for vm in vms]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": vms,
        "assertionMethod": ids,
        "authentication": list(ids),
    }


def resolve_verification_method(
    vm: str, did_documents: Mapping[str, Mapping[str, Any]] | None = None
) -> Ed25519PublicKey:
    """The public key a verification method URL names.

    * did:key methods are resolved locally;
    * for any other DID (did:web) with a DID document in ``did_documents`` (DID -> document,
      supplied by the caller: this package never fetches), the method must be listed there;
    * without a DID document, a method whose fragment is the key's Multikey
      (``did:web:hku.hk#z6Mk…``) names that key; binding it to the DID is then the caller's job
      (TalentProof checks it against the issuer's keys registered on chain).

    Raises `KeyMismatch` for an unknown method, `MalformedMultibase` for a bad key encoding.
    """
    if not isinstance(vm, str) or not vm.startswith("did:"):
        raise KeyMismatch(f"verification method: expected a DID URL, found {vm!r:.80}")
    if vm.startswith("did:key:"):
        return _did_key_cached(vm)
    did = vm.split("#", 1)[0]
    doc = (did_documents or {}).get(did)
    if doc is None:
        if "#z6Mk" in vm:
            return _did_key_cached(vm)
        raise KeyMismatch(
            f"verification method {vm}: no DID document for {did} was supplied and the fragment "
            f"is not a Multikey"
        )
    for entry in doc.get("verificationMethod", ()):
        entry_id = entry.get("id", "")
        if entry_id.startswith("#"):
            entry_id = did + entry_id
        if entry_id == vm:
            if entry.get("type") not in ("Multikey", "Ed25519VerificationKey2020"):
                raise KeyMismatch(
                    f"verification method {vm}: expected type Multikey, found {entry.get('type')!r}"
                )
            return Ed25519PublicKey.from_multibase(entry.get("publicKeyMultibase", ""))
    raise KeyMismatch(f"verification method {vm} is not listed in the DID document of {did}")


DID_KEY_CACHE: dict[str, Ed25519PublicKey] = {}


def _did_key_cached(vm: str) -> Ed25519PublicKey:
    key = DID_KEY_CACHE.get(vm)
    if key is None:
        key = Ed25519PublicKey.from_verification_method(vm)
        if len(DID_KEY_CACHE) < 4096:
            DID_KEY_CACHE[vm] = key
    return key
