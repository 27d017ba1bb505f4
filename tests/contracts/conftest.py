"""Fixtures for the contract tests: one deployment per module on py-evm, a snapshot per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import EthereumTesterProvider, Web3

from .registry_support import Actors, Registry, deploy


@pytest.fixture(scope="module")
def chain() -> tuple[Registry, Actors]:
    """A fresh py-evm chain with the registry deployed (see `registry_support.deploy`)."""
    return deploy(Web3(EthereumTesterProvider()))


@pytest.fixture
def reg(chain: tuple[Registry, Actors]) -> Iterator[Registry]:
    """The module's registry, with every change of the test rolled back afterwards."""
    registry, _ = chain
    snapshot = registry.w3.testing.snapshot()
    yield registry
    registry.w3.testing.revert(snapshot)


@pytest.fixture
def who(chain: tuple[Registry, Actors]) -> Actors:
    """The scenario's accounts."""
    return chain[1]
