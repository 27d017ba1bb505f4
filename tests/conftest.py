"""Shared chain fixtures (owned by the ledger package; reused by the issuer and verifier tests).

Nodes (session scoped, one per pytest-xdist worker, each on its own free loopback port):

- ``anvil_node`` / ``ganache_node``: a running `LocalNode` (real Anvil / Ganache process).
- ``chain_node``: parametrized over both, so a test using it runs against Anvil AND Ganache.
- ``embedded_chain``: an in-process py-evm chain (`EmbeddedChain`: ``.w3``, ``.private_keys``).
- ``vchain`` / ``vchain_ganache``: Anvil / Ganache with the registry deployed and three
  accredited issuers, issuing real credentials (`tests.chainkit.Chain`; ledger and verifier tests).

Deployed registries (function scoped: a fresh `TalentProofRegistry` per test, so tests never see
each other's issuers or anchors; deploying costs a few milliseconds):

- ``deployed_anvil``, ``deployed_ganache``, ``deployed_chain`` (both clients), ``deployed_embedded``.
  Each is a `DeployedRegistry`: ``rpc_url`` (None when embedded), ``w3``, ``deployment``,
  ``governor`` (a `RegistryClient` signed by the deployer, admin and first governor),
  ``keys`` (funded dev keys), and ``setup_issuer(...)`` which registers an issuer with an account,
  a signing key and credential types and returns an `IssuerSetup` with a client for that account.

Tests using a real node are marked ``integration`` automatically.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account

from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment, deploy_registry
from talentproof.ledger.nodes import EmbeddedChain, LocalNode, NodeConfig, NodeKind, anvil, ganache
from talentproof.ledger.nodes import embedded_chain as _embedded

from .chainkit import Chain, populate, setup_chain

NODE_FIXTURES = frozenset(
    {
        "anvil_node",
        "ganache_node",
        "chain_node",
        "deployed_anvil",
        "deployed_ganache",
        "deployed_chain",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a real node as ``integration``."""
    for item in items:
        if NODE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@dataclass
class IssuerSetup:
    """An issuer registered on a test registry."""

    issuer_id: int
    name: str
    did: str
    account_key: str
    account: str
    signing_key: bytes
    types: tuple[str, ...]
    client: RegistryClient


@dataclass
class DeployedRegistry:
    """A freshly deployed registry on a test chain."""

    w3: Any
    deployment: Deployment
    keys: tuple[str, ...]
    rpc_url: str | None = None
    node: LocalNode | None = None
    _next_account: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def governor_key(self) -> str:
        """The deployer's key (admin and first governor)."""
        return self.keys[0]

    @property
    def governor(self) -> RegistryClient:
        """A client signed by the governor."""
        return self.client(self.governor_key)

    def client(self, key: str | None = None, **kwargs: Any) -> RegistryClient:
        """A `RegistryClient` on this registry signed by `key` (None: read-only)."""
        return RegistryClient(self.w3, self.deployment, key, **kwargs)

    def fresh_key(self) -> str:
        """A funded dev key not used by this registry yet (after the governor's)."""
        index = next(self._next_account)
        if index >= len(self.keys):
            raise RuntimeError(f"test registry ran out of funded dev accounts ({len(self.keys)})")
        return self.keys[index]

    def setup_issuer(
        self,
        name: str = "University of Hong Kong",
        did: str = "did:web:hku.hk",
        *,
        signing_key: bytes | None = None,
        types: Sequence[str] = ("DegreeCredential",),
        account_key: str | None = None,
    ) -> IssuerSetup:
        """Register an issuer with one account, one signing key and credential types."""
        key = account_key or self.fresh_key()
        account = Account.from_key(key).address
        gov = self.governor
        if gov.issuer_id_of_did(did):  # a DID names one issuer: a second default one gets a suffix
            did = f"{did}:{gov.issuer_count() + 1}"
        issuer_id = gov.register_issuer(name, did, [account])
        pub = signing_key if signing_key is not None else bytes([issuer_id]) * 32
        gov.add_signing_key(issuer_id, pub)
        for t in types:
            gov.grant_credential_type(issuer_id, t)
        return IssuerSetup(
            issuer_id=issuer_id,
            name=name,
            did=did,
            account_key=key,
            account=account,
            signing_key=pub,
            types=tuple(types),
            client=self.client(key),
        )


def _session_node(kind: NodeKind, tmp: pytest.TempPathFactory) -> Iterator[LocalNode]:
    """A real node of `kind` (20 funded dev accounts), stopped when the session ends."""
    log = tmp.mktemp(kind) / f"{kind}.log"
    with LocalNode(NodeConfig(kind=kind, accounts=20), log_path=log) as node:
        yield node


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    """A real Anvil process for the whole session (this xdist worker)."""
    yield from _session_node("anvil", tmp_path_factory)


@pytest.fixture(scope="session")
def ganache_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    """A real Ganache process for the whole session (this xdist worker)."""
    yield from _session_node("ganache", tmp_path_factory)


@pytest.fixture(params=["anvil", "ganache"])
def chain_node(request: pytest.FixtureRequest) -> LocalNode:
    """Runs the test once against Anvil and once against Ganache."""
    node: LocalNode = request.getfixturevalue(f"{request.param}_node")
    return node


@pytest.fixture(scope="session")
def embedded_chain() -> EmbeddedChain:
    """An in-process py-evm chain (no process, no network) for fast unit tests."""
    return _embedded(accounts=10)


@pytest.fixture(scope="session")
def embedded_w3(embedded_chain: EmbeddedChain) -> Any:
    """The `Web3` of the embedded chain."""
    return embedded_chain.w3


def _deploy_on_node(node: LocalNode) -> DeployedRegistry:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(node.rpc_url))
    deployment = deploy_registry(w3, node.private_keys[0])
    return DeployedRegistry(
        w3=w3, deployment=deployment, keys=node.private_keys, rpc_url=node.rpc_url, node=node
    )


@pytest.fixture
def deployed_anvil(anvil_node: LocalNode) -> DeployedRegistry:
    """A fresh registry on the session's Anvil."""
    return _deploy_on_node(anvil_node)


@pytest.fixture
def deployed_ganache(ganache_node: LocalNode) -> DeployedRegistry:
    """A fresh registry on the session's Ganache."""
    return _deploy_on_node(ganache_node)


@pytest.fixture
def deployed_chain(chain_node: LocalNode) -> DeployedRegistry:
    """A fresh registry, once on Anvil and once on Ganache."""
    return _deploy_on_node(chain_node)


@pytest.fixture
def deployed_embedded(embedded_chain: EmbeddedChain) -> DeployedRegistry:
    """A fresh registry on the embedded chain."""
    deployment = deploy_registry(embedded_chain.w3, embedded_chain.private_keys[0])
    return DeployedRegistry(
        w3=embedded_chain.w3, deployment=deployment, keys=embedded_chain.private_keys
    )


@pytest.fixture(scope="session")
def vchain() -> Iterator[Chain]:
    """Anvil with the registry deployed and three accredited issuers (`chainkit.populate`)."""
    with anvil() as node:
        yield populate(setup_chain(node))


@pytest.fixture(scope="session")
def vchain_ganache() -> Iterator[Chain]:
    """Ganache with the registry deployed and three accredited issuers (`chainkit.populate`)."""
    with ganache() as node:
        yield populate(setup_chain(node))
