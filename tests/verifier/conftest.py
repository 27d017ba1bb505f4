"""Verifier test fixtures: a real Anvil (and Ganache) node with a deployed registry and issuers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from talentproof.ledger.nodes import anvil, ganache

from .verifier_chainkit import BADGE, DEGREE, EMPLOYMENT, Chain, setup_chain


def _populate(chain: Chain) -> Chain:
    chain.add_issuer("University of Hong Kong", (DEGREE,))
    chain.add_issuer("HSBC", (EMPLOYMENT,))
    chain.add_issuer("HKIB", (BADGE,))
    return chain


@pytest.fixture(scope="session")
def vchain() -> Iterator[Chain]:
    """Anvil with the registry deployed and three accredited issuers."""
    with anvil() as node:
        yield _populate(setup_chain(node))


@pytest.fixture(scope="session")
def vchain_ganache() -> Iterator[Chain]:
    """Ganache with the registry deployed and three accredited issuers."""
    with ganache() as node:
        yield _populate(setup_chain(node))
