"""The full story against `talentproof run --chain anvil` (one stack for the module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .stack import Stack
from .story import (
    check_demo,
    check_interrupted_seeding_resumes,
    check_seeded_on_chain,
    check_story,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-anvil")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("e2e-anvil") / "data", chain="anvil")
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def test_seeded_institutions_are_on_chain(stack: Stack) -> None:
    check_seeded_on_chain(stack)


def test_issue_anchor_verify_revoke(stack: Stack, tmp_path) -> None:
    check_story(stack, tmp_path)


def test_demo_walkthrough(stack: Stack, tmp_path) -> None:
    check_demo(stack, tmp_path)


def test_interrupted_seeding_resumes_with_a_new_key(stack: Stack, tmp_path) -> None:
    check_interrupted_seeding_resumes(stack, tmp_path)
