"""The interop tests reuse the issuer tests' service on a real Anvil (tests/issuer/conftest.py)."""

from tests.issuer.conftest import client, issuer_chain, make_service, service

__all__ = ["client", "issuer_chain", "make_service", "service"]
