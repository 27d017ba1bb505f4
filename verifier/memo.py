"""Caches of the engine, applied from outside the checks: each wraps a pure check (and its
rendering) with a key that holds *everything* the result depends on, by value.

- :class:`ChainChecksMemo`: checks 5-8 of credentials judged from equal verdicts (the
  credentials of one anchored batch read at one block usually get equal answers). Key: the
  verdict itself (a frozen, hashable value), the credential's type, key id, claimed issuer and
  anchor proof fields, the chain point it was read at, the trusted deployment and the required
  confirmations. Bounded: cleared at :data:`ChainChecksMemo.MAX` entries.
- :func:`validity`: check 9 by (validFrom text, validUntil text, as-of instant, its UTC offset
  and fold): equal instants in different time zones print differently.
- :func:`passing`: the passing results of checks 2 and 3, by type, and by key id and
  verification method.

Nothing here is keyed on ``id()``; a cached result is an immutable ``CheckResult``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from talentproof.verifier import checks
from talentproof.verifier.messages import render
from talentproof.verifier.report import CheckResult


class ChainChecksMemo:
    """Rendered checks 5-8 by everything they depend on (see the module docstring).

    The entry found or made last is tried first, by equality of the whole key (``==``, as the
    dict itself compares keys), without hashing it: a folder's credentials come batch by batch,
    and hashing the verdict (a nested frozen dataclass, hashed field by field in Python) cost
    more than the rest of checks 5-8 together. Equal keys, equal results, either way.
    """

    MAX = 4096

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[CheckResult, ...]] = {}
        self._last: tuple[tuple[Any, ...], tuple[CheckResult, ...]] | None = None

    def get(
        self, key: tuple[Any, ...], compute: Callable[[], tuple[CheckResult, ...]]
    ) -> tuple[CheckResult, ...]:
        """The results for ``key``, computed by ``compute`` the first time. A key that cannot be
        hashed (a field of an unexpected type) is computed afresh every time."""
        last = self._last
        if last is not None and last[0] == key:
            self._last = (key, last[1])  # the next equal key is then found by identity
            return last[1]
        try:
            found = self._entries.get(key)
        except TypeError:
            return compute()
        if found is None:
            found = compute()
            if len(self._entries) >= self.MAX:
                self._entries.clear()
            self._entries[key] = found
        self._last = (key, found)
        return found

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self._last = None


def validity(doc: Mapping[str, Any], as_of: datetime) -> CheckResult:
    """Check 9, rendered; cached when both dates are texts (or absent)."""
    vf, vu = doc.get("validFrom"), doc.get("validUntil")
    if (vf is None or type(vf) is str) and (vu is None or type(vu) is str):
        return _validity(vf, vu, as_of, as_of.utcoffset(), as_of.fold)
    return render(checks.validity(doc, as_of))


@functools.lru_cache(maxsize=1024)
def _validity(
    vf: str | None, vu: str | None, as_of: datetime, _offset: Any, _fold: int
) -> CheckResult:
    return render(checks.validity({"validFrom": vf, "validUntil": vu}, as_of))


_PASSES: dict[tuple[Any, ...], CheckResult] = {}


def passing(key: tuple[Any, ...], finding: checks.Finding) -> CheckResult:
    """A passing ``finding`` rendered once per ``key``: ``("schema", kind)`` for check 2,
    ``("signature", key id, verification method)`` for check 3 (what their results hold)."""
    found = _PASSES.get(key)
    if found is None:
        if len(_PASSES) >= 1024:
            _PASSES.clear()
        found = _PASSES[key] = render(finding)
    return found


__all__ = ["ChainChecksMemo", "passing", "validity"]
