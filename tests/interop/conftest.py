"""The interop tests reuse the issuer tests' service on a real Anvil (tests/issuer/conftest.py)."""

import pytest

from tests.issuer.conftest import client, issuer_chain, make_service, service

from .node_vc import node_ready

__all__ = ["client", "issuer_chain", "make_service", "service"]


@pytest.fixture(autouse=True)
def _node_harness() -> None:
    """The independent implementations run under Node from node_modules (`make setup` installs
    both): missing, the interop tests fail saying so, never skip."""
    problem = node_ready()
    if problem is not None:
        pytest.fail(f"the interop harness cannot run: {problem}")
