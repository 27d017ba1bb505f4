"""Paths into a JSON document (a tuple of member names and item numbers) for the tests that
mutate credentials member by member: every path, the value at one, a copy with one set or
removed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

__all__ = ["get_at", "paths", "set_at", "without"]


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path in ``value``, itself (``()``) first, then depth first."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*path, i))


def get_at(doc: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path``."""
    for part in path:
        doc = doc[part]
    return doc


def set_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``doc`` with ``value`` at ``path`` (``value`` itself for ``()``)."""
    if not path:
        return value
    out = copy.deepcopy(doc)
    get_at(out, path[:-1])[path[-1]] = value
    return out


def without(doc: Any, path: tuple[Any, ...]) -> Any:
    """A deep copy of ``doc`` without the member or item at ``path``."""
    out = copy.deepcopy(doc)
    del get_at(out, path[:-1])[path[-1]]
    return out
