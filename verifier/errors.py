"""The verifier's errors: one root, specific leaves.

A verification *outcome* (a credential that fails a check) is not an exception: it is a
:class:`~talentproof.verifier.report.CheckResult` with status ``fail``. Exceptions here are for
input the verifier cannot take (usage errors), broken policy files, and receipts that do not
re-check.
"""

from __future__ import annotations

from typing import Any

from talentproof.errors import EXIT_FAILURE, EXIT_USAGE, TalentProofError


class VerifierError(TalentProofError):
    """Root of every error raised by :mod:`talentproof.verifier` (input or configuration the
    verifier cannot take: a usage error, exit code 2, unless a leaf says otherwise)."""

    exit_code = EXIT_USAGE


class InputError(VerifierError):
    """The input is not something the verifier can read (a usage error, CLI exit code 2)."""


class InputTooLarge(InputError):
    """The input exceeds the verifier's size limits."""

    def __init__(self, what: str, size: int, limit: int, unit: str = "bytes") -> None:
        amount = f"has {size} {unit}" if unit == "credentials" else f"is {size} {unit}"
        super().__init__(f"{what} {amount}; the limit is {limit} {unit}")
        self.what = what
        self.unit = unit
        self.size = size
        self.limit = limit


class PolicyError(VerifierError):
    """A talent-list policy file is malformed; the message names the field and what was expected."""

    def __init__(self, where: str, expected: str, found: object = None) -> None:
        detail = f"{where}: expected {expected}"
        if found is not None:
            detail += f", found {found!r:.200}"
        super().__init__(detail)
        self.where = where
        self.expected = expected
        self.found = found


class UnknownProfession(PolicyError):
    """The requested profession is not in the policy."""

    def __init__(self, profession: str, known: list[str]) -> None:
        super().__init__("profession", f"one of {', '.join(sorted(known)) or '(none)'}", profession)
        self.profession = profession


class TrustConfigError(VerifierError):
    """The trusted deployment (record or registry address) is missing or malformed."""


class ReceiptError(VerifierError):
    """A verification receipt is malformed, its signature is invalid, or it does not re-check."""

    exit_code = EXIT_FAILURE


class SettingsError(VerifierError, ValueError):
    """A ``TALENTPROOF_VERIFIER_*`` setting of the service is not valid; the message names the
    variable, what was expected and what was found."""


def settings_problem(exc: Any, prefix: str) -> str:
    """The first problem of a pydantic ``ValidationError`` of settings read with ``prefix``, as
    ``"<VARIABLE>: expected ..., found '...'"``."""
    err = exc.errors()[0]
    loc = str(err["loc"][0]) if err.get("loc") else ""
    var = loc.upper() if loc.upper().startswith("TALENTPROOF_") else prefix + loc.upper()
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "value_error" and ctx.get("error"):  # a validator's own message says it all
        return f"{var}: {ctx['error']}"
    if "ge" in ctx:
        expected = f"at least {_number(ctx['ge'])}"
    elif "gt" in ctx:
        expected = f"more than {_number(ctx['gt'])}"
    elif kind.startswith(("int_", "float_")):
        expected = "a number"
    else:
        expected = err.get("msg", "a valid value").lower().removeprefix("input should be ")
    return f"{var}: expected {expected}, found {err.get('input')!r}"


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ChallengeError(VerifierError):
    """A presentation challenge is unknown, expired or already used."""
