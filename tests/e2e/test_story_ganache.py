"""The full story against `talentproof run --chain ganache` (one stack for the module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .stack import Stack
from .story import check_seeded_on_chain, check_story

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-ganache")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("e2e-ganache") / "data", chain="ganache")
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def test_seeded_institutions_are_on_chain(stack: Stack) -> None:
    check_seeded_on_chain(stack)


def test_issue_anchor_verify_revoke(stack: Stack, tmp_path) -> None:
    check_story(stack, tmp_path)

