"""The project-wide error root (issue 13.5): every package's errors derive from it, exit codes
are chosen by type, and no two error classes share a name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from talentproof.errors import (
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    TalentProofError,
    exit_code,
)

PACKAGES = ("credential", "ledger", "issuer", "verifier", "wallet")

#: Exceptions that never leave their module's caller (control flow or a framework's own type),
#: each with where it is caught; every other exception class of the distribution is a
#: TalentProofError.
INTERNAL_SIGNALS = {
    "talentproof.issuer.anchoring.ConcurrentBatching": "caught by AnchorWorker (batch rolled back)",
    "talentproof.issuer.api.limits.BodyOverflow": "Starlette's HTTPException, rendered by api.errors",
    "talentproof.issuer.oid4vci_jwt.ProofRejected": "caught by usecases.oid4vci (invalid_proof)",
    "talentproof.ledger._internal.transport.Malformed": "caught by HttpTransport (ChainUnavailable)",
    "talentproof.ledger.tx.LeanDeclined": "caught by TxSender (web3, the reference twin, asks)",
    "talentproof.verifier.challenges.ChallengesFull": "caught by the service (503 Retry-After)",
    "talentproof.verifier.oid4vp_store.RequestsFull": "caught by verifier.oid4vp (503 Retry-After)",
}


def _all_exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the distribution, by dotted name."""
    found: dict[str, type[BaseException]] = {}
    # each subpackage is its own folder (pyproject's package-dir): walked one by one
    for top in ("talentproof", *(f"talentproof.{p}" for p in (*PACKAGES, "contracts"))):
        package = importlib.import_module(top)
        names = [top] + [
            info.name
            for info in pkgutil.walk_packages(package.__path__, f"{top}.")
            if top != "talentproof" or info.name.count(".") == 1  # the root's own modules
        ]
        for module_name in names:
            if ".migrations" in module_name or module_name.endswith("__main__"):
                continue
            module = importlib.import_module(module_name)
            for name, c in vars(module).items():
                exception = inspect.isclass(c) and issubclass(c, BaseException)
                if exception and c.__module__ == module_name:
                    found[f"{module_name}.{name}"] = c
    return found


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
        "wallet": "WalletError",
    }[pkg]
    assert TalentProofError in getattr(module, root).__bases__


def test_every_error_is_a_talentproof_error_and_names_are_unique() -> None:
    classes = _error_classes()
    assert all(issubclass(c, TalentProofError) for c in classes)
    names = [c.__name__ for c in classes]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_exception_of_the_distribution_is_under_the_root() -> None:
    """Not only the packages' errors.py: a command's error (``talentproof run``, ``demo``) too,
    so that the CLI prints its diagnostics and exits by type instead of a traceback."""
    classes = _all_exception_classes()
    outside = sorted(
        name
        for name, c in classes.items()
        if not issubclass(c, TalentProofError) and name not in INTERNAL_SIGNALS
    )
    assert outside == []
    assert set(INTERNAL_SIGNALS) <= set(classes)  # the allow-list names real classes only
    short = [name.rpartition(".")[2] for name in classes]
    assert sorted({n for n in short if short.count(n) > 1}) == []


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
