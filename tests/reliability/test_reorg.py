"""A short reorganisation drops an anchoring transaction (issue 16.3 d), on Anvil's
``anvil_reorg``: the last two blocks are replaced by new ones in which the first anchor's
transaction is mined again (same transaction, the next block) and the second's is not. The
issuer detects the replaced block, re-reads both roots from the registry, reports the dropped
one pending again and re-anchors it; the re-included one is not anchored a second time. With
``TALENTPROOF_ISSUER_CONFIRMATIONS=3`` an anchor is reported final only three blocks deep. The
tests print the counts."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.reliability.rollback_helpers import Stack, final_check, rpc, start_stack, wait_for

pytestmark = pytest.mark.integration

#: Each ``stack.issue(n)`` must make exactly one batch (one anchor, one block): the tests name
#: the blocks and count the re-checked anchors. With the helpers' 0.2 s batch wait, the n POSTs
#: of a loaded machine may span two batches; a batch of exactly n leaves closes at the n-th
#: credential instead, and the wait (a bound, never reached) cannot close one earlier.
ONE_BATCH_WAIT_S = 600


def _batch(stack: Stack, cred_id: str) -> dict[str, object]:
    r = httpx.get(
        f"{stack.issuer.url}/credentials/{cred_id}/anchor",
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    batch: dict[str, object] = r.json()["batch"] or {}  # none yet: not batched
    return batch


def test_reorganisation_dropping_an_anchor_reanchors_it_once(tmp_path: Path) -> None:
    stack = start_stack(tmp_path, batch_max_leaves=10, batch_max_wait_s=ONE_BATCH_WAIT_S)
    try:
        first = stack.issue(10, "first")
        wait_for("the first credentials anchored", stack.drained)
        second = stack.issue(10, "second")
        wait_for("the second credentials anchored", stack.drained)
        a, b = _batch(stack, first[0]), _batch(stack, second[0])
        head = int(rpc(stack.rpc_url, "eth_blockNumber"), 16)
        assert b["blockNumber"] == head and a["blockNumber"] == head - 1, (a, b, head)
        raw_a = rpc(stack.rpc_url, "eth_getRawTransactionByHash", [a["txHash"]])

        rpc(stack.rpc_url, "evm_setAutomine", [False])
        # blocks head-1 and head replaced: a mined again in the second, b dropped
        rpc(stack.rpc_url, "anvil_reorg", [2, [[raw_a, 1]]])
        assert int(rpc(stack.rpc_url, "eth_blockNumber"), 16) == head

        degraded = wait_for("/readyz reporting the reorganisation", stack.degraded)
        recovery = degraded["anchoring"]["recovery"]
        # Anvil rolls back, then mines the new blocks: a poll between the two sees the head go
        # back, a poll after it sees another hash at the same height. Either names this block.
        assert recovery["problem"].startswith(
            (
                f"block {head} was replaced (reorganisation)",
                f"chain head went back from block {head} ",
            )
        ), recovery
        assert recovery["anchorsRechecked"] == 2 and recovery["anchorsReopened"] == 1, recovery
        statuses = {c: stack.anchor_status(c) for c in first + second}
        assert all(statuses[c] == "anchored" for c in first), "the re-included anchor was reopened"
        assert all(statuses[c] == "pending_anchor" for c in second), "the dropped anchor is final"
        moved = _batch(stack, first[0])["blockNumber"]
        assert moved == head, "the re-included anchor's new block was not recorded"

        rpc(stack.rpc_url, "evm_setAutomine", [True])
        wait_for("the dropped anchor re-anchored", stack.drained, timeout=120)
        final_check(
            stack,
            "reorganisation (anvil_reorg depth 2)",
            {
                "readyz while degraded": recovery["problem"],
                "first anchor's block before / after": f"{a['blockNumber']} / {moved}",
                "second anchor's block before / after": (
                    f"{b['blockNumber']} / {_batch(stack, second[0])['blockNumber']}"
                ),
                "credentials reported pending again": len(second),
            },
        )
    finally:
        stack.issuer.stop()
        stack.node.stop()


def test_anchor_is_final_only_after_the_configured_confirmations(tmp_path: Path) -> None:
    stack = start_stack(
        tmp_path, confirmations=3, batch_max_leaves=5, batch_max_wait_s=ONE_BATCH_WAIT_S
    )
    try:
        ids = stack.issue(5, "confirmations")
        mined = wait_for(
            "the anchor mined", lambda: _batch(stack, ids[0]).get("state") == "mined" or None
        )
        assert mined
        assert {stack.anchor_status(c) for c in ids} == {"pending_anchor"}
        block = int(str(_batch(stack, ids[0])["blockNumber"]))
        rpc(stack.rpc_url, "anvil_mine", [1])  # head = block + 1: two confirmations
        wait_for(
            "the head seen",
            lambda: int(rpc(stack.rpc_url, "eth_blockNumber"), 16) == block + 1 or None,
        )
        # the worker has seen that head (its recorded checkpoint), and still reports it pending
        wait_for("the worker seeing the head", lambda: stack.last_checkpoint() == block + 1 or None)
        assert stack.anchor_status(ids[0]) == "pending_anchor"

        # a reorganisation of the unconfirmed block drops the anchor: it is re-anchored
        rpc(stack.rpc_url, "evm_setAutomine", [False])
        depth = int(rpc(stack.rpc_url, "eth_blockNumber"), 16) - block + 1
        rpc(stack.rpc_url, "anvil_reorg", [depth, []])
        wait_for("the dropped unconfirmed anchor noticed", stack.degraded)
        rpc(stack.rpc_url, "evm_setAutomine", [True])
        wait_for(
            "the anchor re-mined",
            lambda: _batch(stack, ids[0]).get("state") == "mined" or None,
            timeout=120,
        )
        rpc(stack.rpc_url, "anvil_mine", [3])
        wait_for("every anchor final", stack.drained, timeout=120)
        final_block = int(str(_batch(stack, ids[0])["blockNumber"]))
        head = int(rpc(stack.rpc_url, "eth_blockNumber"), 16)
        assert head >= final_block + 2
        final_check(
            stack,
            "confirmations = 3",
            {
                "first mined in block": block,
                "re-anchored in block / final at head": f"{final_block} / {head}",
            },
        )
    finally:
        stack.issuer.stop()
        stack.node.stop()
