"""The full story against `talentproof run --chain anvil` and `--chain ganache` (one stack each).

The ``stack`` fixture is parametrized over both chains and module scoped: pytest runs every test
of one chain against one running stack, then stops it and starts the other. Each chain is its own
xdist group, so one worker owns one stack. The demo and the resumed seeding run on Anvil only.
"""

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

pytestmark = pytest.mark.integration

CHAINS = [
    pytest.param(chain, marks=pytest.mark.xdist_group(f"e2e-{chain}"))
    for chain in ("anvil", "ganache")
]
ANVIL_ONLY = pytest.mark.parametrize("stack", [CHAINS[0]], indirect=True)


@pytest.fixture(scope="module", params=CHAINS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    chain: str = request.param
    running = Stack(tmp_path_factory.mktemp(f"e2e-{chain}") / "data", chain=chain)
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def test_seeded_institutions_are_on_chain(stack: Stack) -> None:
    check_seeded_on_chain(stack)


def test_issue_anchor_verify_revoke(stack: Stack, tmp_path) -> None:
    check_story(stack, tmp_path)


@ANVIL_ONLY
def test_demo_walkthrough(stack: Stack, tmp_path) -> None:
    check_demo(stack, tmp_path)


@ANVIL_ONLY
def test_interrupted_seeding_resumes_with_a_new_key(stack: Stack, tmp_path) -> None:
    check_interrupted_seeding_resumes(stack, tmp_path)
