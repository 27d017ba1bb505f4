"""Connecting to a chain: a `Web3` from an RPC URL (or pass one through), and key handling."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_utils import keccak

from talentproof.ledger.errors import ChainUnavailable, LedgerError

__all__ = [
    "DEFAULT_RPC_URL",
    "as_web3",
    "connect",
    "did_hash",
    "load_private_key",
    "type_id",
    "web3_on",
]

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
OPERATOR_KEY_ENV = "TALENTPROOF_OPERATOR_KEY"


def type_id(name: str) -> bytes:
    """The on-chain credential type id: ``keccak256(name)`` (e.g. ``"DegreeCredential"``)."""
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"expected a credential type name such as 'DegreeCredential', got {name!r}"
        )
    return keccak(text=name)


def did_hash(did: str) -> bytes:
    """``keccak256`` of a DID's UTF-8 bytes: how the registry indexes issuers by DID
    (``issuerIdOfDid``, the first argument of ``verifyCredential``)."""
    if not isinstance(did, str) or not did:
        raise ValueError(f"an issuer DID must be a non-empty string, got {did!r}")
    return bytes(keccak(did.encode("utf-8")))


def connect(
    rpc_url: str | Sequence[str] = DEFAULT_RPC_URL, *, timeout: float = 10.0, check: bool = True
) -> Any:
    """A `web3.Web3` on `rpc_url` (HTTP): one URL, or several (comma-separated or a sequence)
    with failover between them (`web3_on`). With `check`, raise `ChainUnavailable` if it is
    down."""
    from web3 import Web3  # noqa: PLC0415 (web3 takes 0.7 s to import; the verifier's read path never needs it)

    from talentproof.ledger.endpoints import RpcEndpoints, parse_rpc_urls  # noqa: PLC0415 (with web3)

    urls = parse_rpc_urls(rpc_url)
    if len(urls) > 1:
        w3 = web3_on(RpcEndpoints(urls, timeout))
    else:
        rpc_url = urls[0]
        w3 = accept_poa_blocks(
            Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        )
    if check:
        from talentproof.ledger.tx import (  # noqa: PLC0415 (tx imports eth-account, 0.4 s, which the read-only verifier never needs)
            rpc_guard,
        )

        with rpc_guard("eth_chainId", ",".join(urls)):
            w3.eth.chain_id  # noqa: B018 - a probe
    return w3


def web3_on(endpoints: Any) -> Any:
    """A `web3.Web3` whose requests go through `endpoints` (an
    `~talentproof.ledger.endpoints.RpcEndpoints`: failover between its URLs, each request
    bounded by its timeout, transport failures raised as `ChainUnavailable`), reading
    proof-of-authority blocks (`accept_poa_blocks`)."""
    from web3 import Web3  # noqa: PLC0415 (web3 takes 0.7 s to import; the verifier's read path never needs it)

    from talentproof.ledger._internal.provider import EndpointsProvider  # noqa: PLC0415 (imports web3)

    return accept_poa_blocks(Web3(EndpointsProvider(endpoints)))


def accept_poa_blocks(w3: Any) -> Any:
    """Let `w3` read the blocks of a proof-of-authority chain; returns `w3`.

    Clique (geth), IBFT and QBFT (Besu, GoQuorum) keep the signers and seals in a block's
    ``extraData``, longer than the 32 bytes web3.py's validation allows: without this every
    block read (fee estimation, receipts' confirmations) fails with ``ExtraDataLengthError``.
    Harmless on other chains (Anvil, Ganache).
    """
    from web3.middleware import ExtraDataToPOAMiddleware  # noqa: PLC0415 (with web3, above)

    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def as_web3(w3_or_rpc: Any, *, timeout: float = 10.0) -> Any:
    """Accept a `Web3` or an RPC URL string."""
    if isinstance(w3_or_rpc, str):
        return connect(w3_or_rpc, timeout=timeout)
    if w3_or_rpc is None:
        raise ChainUnavailable("no chain given: expected a Web3 instance or an RPC URL")
    return w3_or_rpc


def load_private_key(
    *, key: str | None = None, key_file: str | Path | None = None, env: str = OPERATOR_KEY_ENV
) -> str:
    """The operator key from `key`, else `key_file`, else the environment variable `env`.

    Returns 0x-prefixed hex. Raises `LedgerError` naming what was expected.
    """
    source = "--key"
    value = key
    if value is None and key_file is not None:
        path = Path(key_file)
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise LedgerError(f"cannot read key file {path}: {exc.strerror}") from None
        source = f"key file {path}"
    if value is None:
        value = os.environ.get(env)
        source = f"${env}"
    if not value:
        raise LedgerError(
            f"no operator key: pass --key, --key-file, or set {env} (32-byte hex private key)"
        )
    text = value.strip().removeprefix("0x").removeprefix("0X")
    if len(text) != 64:
        raise LedgerError(f"operator key from {source} is not a 32-byte hex private key")
    try:
        bytes.fromhex(text)
    except ValueError:
        raise LedgerError(f"operator key from {source} is not hex") from None
    return "0x" + text.lower()
