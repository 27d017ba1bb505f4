"""The project-wide error root (issue 13.5): every package's errors derive from it, exit codes
are chosen by type, and no two error classes share a name."""

from __future__ import annotations

import importlib
import inspect

import pytest

from talentproof.errors import (
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    TalentProofError,
    exit_code,
)

PACKAGES = ("credential", "ledger", "issuer", "verifier")


def _error_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for pkg in PACKAGES:
        module = importlib.import_module(f"talentproof.{pkg}.errors")
        found += [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, BaseException)
            and c.__module__ == module.__name__
            and not c.__name__.startswith("_")
        ]
    return found


@pytest.mark.parametrize("pkg", PACKAGES)
def test_package_roots_derive_from_the_project_root(pkg: str) -> None:
    module = importlib.import_module(f"talentproof.{pkg}.errors")
    root = {
        "credential": "CredentialError",
        "ledger": "LedgerError",
        "issuer": "IssuerError",
        "verifier": "VerifierError",
    }[pkg]
    assert TalentProofError in getattr(module, root).__bases__


def test_every_error_is_a_talentproof_error_and_names_are_unique() -> None:
    classes = _error_classes()
    assert all(issubclass(c, TalentProofError) for c in classes)
    names = [c.__name__ for c in classes]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_exit_codes_by_type() -> None:
    from talentproof.issuer.errors import IssuerError, LedgerUnavailable
    from talentproof.ledger.errors import ChainUnavailable, LedgerError
    from talentproof.verifier.errors import InputError, ReceiptError

    assert exit_code(ChainUnavailable("down")) == EXIT_UNAVAILABLE == 3
    assert exit_code(LedgerUnavailable("down")) == EXIT_UNAVAILABLE
    assert exit_code(LedgerError("x")) == exit_code(IssuerError("x")) == EXIT_FAILURE == 1
    assert exit_code(InputError("x")) == EXIT_USAGE == 2
    assert exit_code(ReceiptError("x")) == EXIT_FAILURE
    assert exit_code(ValueError("x")) == EXIT_FAILURE


def test_diagnostics_adds_the_hint() -> None:
    exc = TalentProofError("the node is down")
    assert exc.diagnostics() == "the node is down"
    exc.hint = "start it with `make run`"
    assert exc.diagnostics() == "the node is down\nstart it with `make run`"
