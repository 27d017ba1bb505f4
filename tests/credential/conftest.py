"""Fixtures for the credential package tests (helpers live in _cred_support)."""

from ._cred_support import anchored, holder_key, issuer_key, other_key

__all__ = ["anchored", "holder_key", "issuer_key", "other_key"]
