"""What a verification requires: composable policy objects, separate from the checks.

A :class:`Requirements` value holds every requirement the checks consult: the confirmations an
anchor needs (check 5), the domain and challenge a bound presentation must name (check 10), the
as-of time (checks 5, 8 and 9) and the block the chain is read at. Each requirement is a small
object that states one of them; :class:`AllOf` composes them, and
:meth:`Requirements.with_` applies them to a base (the verifier's own)::

    verifier = Verifier.from_deployment("data/deployment.json", "http://127.0.0.1:8545",
                                        MinConfirmations(6), Domain("border.example"))
    report = verifier.verify_application(items, Challenge(value), AsOf(date(2026, 1, 1)))

Like sigstore's ``AllOf``, an empty :class:`AllOf` is refused: it would look like a requirement
and require nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

#: The domain bound presentations must name when the verifier is not given its own.
DEFAULT_DOMAIN = "talentproof-verifier"


@dataclass(frozen=True, slots=True)
class Requirements:
    """Everything a verification requires (defaults: the verifier's usual requirements).

    ``challenge`` set asks for a presentation bound to it (check 10); ``challenge_problem``
    (e.g. "already used") fails check 10 whatever the presentation says. ``as_of`` None means
    now; ``at_block`` None means the latest block; ``chain_as_of`` overrides the as-of time
    sent to the chain (0 = the block's time).
    """

    min_confirmations: int = 1
    domain: str = DEFAULT_DOMAIN
    challenge: str | None = None
    challenge_problem: str | None = None
    as_of: datetime | date | None = None
    at_block: int | None = None
    chain_as_of: int | None = None

    def with_(self, *requirements: Requirement) -> Requirements:
        """These requirements with ``requirements`` applied in order (a later one wins)."""
        out = self
        for r in requirements:
            out = r.apply(out)
        return out


class Requirement(Protocol):
    """One requirement: applied to the requirements so far, it returns them with its own."""

    def apply(self, base: Requirements) -> Requirements:
        """``base`` with this requirement."""
        ...


@dataclass(frozen=True, slots=True)
class MinConfirmations:
    """Check 5: the anchor's block and at least ``blocks - 1`` more (1 = any mined block)."""

    blocks: int

    def __post_init__(self) -> None:
        if isinstance(self.blocks, bool) or not isinstance(self.blocks, int) or self.blocks < 1:
            raise ValueError(
                f"min confirmations: expected an integer of at least 1, found {self.blocks!r}"
            )

    def apply(self, base: Requirements) -> Requirements:
        return replace(base, min_confirmations=self.blocks)


@dataclass(frozen=True, slots=True)
class Domain:
    """Check 10: the domain a bound presentation must name (this verifier's)."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"domain: expected a non-empty text, found {self.name!r}")

    def apply(self, base: Requirements) -> Requirements:
        return replace(base, domain=self.name)


@dataclass(frozen=True, slots=True)
class Challenge:
    """Check 10: a presentation bound to ``value`` is required (bare credentials then fail).
    ``problem`` (e.g. "already used", from the challenge store) fails the check outright."""

    value: str
    problem: str | None = None

    def apply(self, base: Requirements) -> Requirements:
        return replace(base, challenge=self.value, challenge_problem=self.problem)


@dataclass(frozen=True, slots=True)
class AsOf:
    """Checks 5, 8 and 9: judge status and validity as of ``when`` (exact history on chain);
    a credential anchored after ``when`` fails check 5 (a date means 00:00 UTC that day,
    today's date now: ``checks.today_means_now``).
    Without it the as-of is now: the read block's own time on chain, so nothing it can see
    was anchored after it."""

    when: datetime | date

    def apply(self, base: Requirements) -> Requirements:
        return replace(base, as_of=self.when)


@dataclass(frozen=True, slots=True)
class AtBlock:
    """Read the chain at block ``number`` (receipts re-check with it); ``chain_as_of``
    overrides the as-of time sent to the chain, which check 5 compares with the anchor time (a
    block before the anchor reads it as not anchored, whatever the as-of)."""

    number: int
    chain_as_of: int | None = None

    def apply(self, base: Requirements) -> Requirements:
        return replace(base, at_block=self.number, chain_as_of=self.chain_as_of)


@dataclass(frozen=True, slots=True, init=False)
class AllOf:
    """Several requirements as one (applied in order)."""

    requirements: tuple[Requirement, ...]

    def __init__(self, *requirements: Requirement) -> None:
        if not requirements:
            # An empty AllOf would read as a requirement and require nothing: an API-misuse trap.
            raise ValueError("AllOf: expected at least one requirement")
        object.__setattr__(self, "requirements", requirements)

    def apply(self, base: Requirements) -> Requirements:
        return base.with_(*self.requirements)


__all__ = [
    "DEFAULT_DOMAIN",
    "AllOf",
    "AsOf",
    "AtBlock",
    "Challenge",
    "Domain",
    "MinConfirmations",
    "Requirement",
    "Requirements",
]
