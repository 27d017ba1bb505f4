"""Attack: a folder's files judged on two forks of the chain (real Anvil x2 of one chain id
behind one switching URL).

A folder is judged at one block, pinned by its number when it starts, every chunk read at that
number. Node A holds the revocation of a master's degree in block N; node B, of the same chain
(id, registry, history up to N-1), sealed another block N without it. When the URL's node changed
between two chunks (a load balancer, a failover), the bachelor's degree was read on A's block N
and the master's on B's (each read's chain id and block hash agreeing with each other): the
revoked degree VALID in a folder "at block N". Every chunk of a worker must now be read at the
block (hash) its first was: another block at that number is NOT VERIFIABLE.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talentproof.verifier import bulk
from tests.security.test_attack_application_read_across_a_fork import forked
from tests.security.test_attack_one_url_another_chain import SwitchingEndpoint

pytestmark = pytest.mark.integration
__all__ = ["forked"]


def test_attack_a_folder_is_not_judged_on_two_forks(forked, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bulk, "CHUNK", 1)  # one file a chunk: the node changes between them
    monkeypatch.setattr(bulk, "TASK", 1)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a-bachelor.json").write_text(json.dumps(forked["bachelor"]))
    (folder / "b-master.json").write_text(json.dumps(forked["master"]))
    results, _, _ = bulk.run_folder(
        folder, rpc=forked["endpoint"].url, trust=forked["record"], workers=1, full=True
    )
    codes = {Path(r["source"]).stem: r["outcome"]["code"] for r in results}
    assert codes["a-bachelor"] == "VALID", codes  # read on A
    assert codes["b-master"] in ("NOT_VERIFIABLE", "INVALID"), codes  # revoked on A


class HeadThenFork(SwitchingEndpoint):
    """Passes requests to ``upstream`` (node A) until the folder's head is read (the block its
    files are pinned to), then every later one to ``then`` (node B, another block at that
    height): each worker's first read is already on B's fork."""

    def __init__(self, upstream: str, then: str) -> None:
        super().__init__(upstream)
        self.then = then

    def relay(self, body: bytes) -> bytes:
        answer = super().relay(body)
        if b"eth_blockNumber" in body or (b"eth_getBlockByNumber" in body and b"latest" in body):
            self.upstream = self.then
        return answer


@pytest.mark.parametrize("workers", [1, 2])
def test_attack_a_folder_whose_workers_read_another_fork_from_the_start(  # type: ignore[no-untyped-def]
    forked, tmp_path, monkeypatch, workers
) -> None:
    """The head the folder is pinned to is read on A (block N holds the master's revocation);
    the node answering changes before any file is read: every worker's first read (so every
    read) is at B's block N. Each worker compared its reads with its own first only: both
    degrees VALID 'at block N' (A's number, B's state). They must be compared with the very
    block the folder was pinned to."""
    monkeypatch.setattr(bulk, "CHUNK", 1)
    monkeypatch.setattr(bulk, "TASK", 1)
    endpoint = HeadThenFork(forked["a"], forked["b"])
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a-bachelor.json").write_text(json.dumps(forked["bachelor"]))
    (folder / "b-master.json").write_text(json.dumps(forked["master"]))
    try:
        results, _, _ = bulk.run_folder(
            folder, rpc=endpoint.url, trust=forked["record"], workers=workers, full=True
        )
    finally:
        endpoint.close()
    assert endpoint.upstream == forked["b"]  # (the head was read, then the node changed)
    codes = {Path(r["source"]).stem: r["outcome"]["code"] for r in results}
    assert codes["b-master"] in ("NOT_VERIFIABLE", "INVALID"), codes  # revoked in A's block N
    assert codes["a-bachelor"] == "NOT_VERIFIABLE", codes  # read on B's block N: not the one
