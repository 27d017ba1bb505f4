"""A network start whose signers each sealed their own block 1 (the stall seen twice in CI under
load: 2 and 3 signers at block 1 for 120 s) is brought onto one chain by `Network.wait_ready`.

How the split arises, reproduced here step by step on real geth nodes: every node is peered
before any signer seals (``start(seal=False)``), but a geth node that has not started sealing
(``miner_start``) nor finished a sync counts itself as "syncing" and throws away the blocks its
peers propagate ("Syncing, discarded propagated block"). When the in-turn signer of block 1 seals
first, the others discard its block; each then seals a block 1 of its own, and Clique's "signed
recently" rule (one block in any SIGNERS/2+1) forbids each to seal block 2 on top of its own.
The block broadcast told each peer only the parent's total difficulty (the genesis's), so
no sync towards the heavier chain ever starts: the split holds (checked here for longer than
geth's own 10 s sync cycle) until something changes.

`wait_ready` (what `talentproof network start` runs) must then bring every signer and the RPC
node onto one chain that goes past block 2. The signers are started one at a time, the in-turn
one first, each only once the next ones have discarded the blocks already sealed: with 3 signers
all three hold a different block 1.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from talentproof.ledger.network import Network, NetworkConfig, NodeLayout

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("network-start-split")]

HELD_S = 12.0  # the split is checked to hold this long: more than geth's 10 s sync cycle
QUIET_S = 3.0  # no block discarded for this long: every relayed copy has come (see `_split`)


def _until(what: str, done: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.2)


def _head(net: Network, name: str) -> int:
    return int(net.call(name, "eth_blockNumber"), 16)


def _sealed_one(net: Network, name: str) -> bool:
    return _head(net, name) >= 1


def _hash(net: Network, name: str, number: int) -> str:
    block = net.call(name, "eth_getBlockByNumber", [hex(number), False])
    return str(block["hash"]) if block else ""


def _sealer(net: Network, name: str, number: int) -> str:
    return str(net.call(name, "clique_getSigner", [_hash(net, name, number)])).lower()


def _discarded(net: Network, name: str, block_hash: str) -> int:
    """How many times `name` threw away block 1 `block_hash` (its log says so)."""
    log = net.log_of(name).read_text(errors="replace")
    short = f"{block_hash[2:8]}..{block_hash[-6:]}"  # geth's log shortens hashes
    return sum(
        block_hash in line or short in line
        for line in log.splitlines()
        if "Syncing, discarded propagated block" in line and re.search(r"number=1\b", line)
    )


def _split(net: Network) -> dict[str, str]:
    """Seal a block 1 on every signer, none of which any other signer imports; returns each
    signer's block 1 hash."""
    signers = net.signers
    ordered = sorted(signers, key=lambda n: n.signer.lower())
    in_turn = ordered[1 % len(ordered)]  # Clique: block n is in turn for signer n % count
    order: list[NodeLayout] = [in_turn] + [n for n in signers if n != in_turn]
    for index, signer in enumerate(order):
        net.start_sealing(signer.name)
        _until(f"{signer.name} sealing block 1", partial(_sealed_one, net, signer.name))
        assert _sealer(net, signer.name, 1) == signer.signer.lower(), "imported, not sealed"
        sealed = _hash(net, signer.name, 1)
        later = [n.name for n in order[index + 1 :]]
        for name in later:
            _until(
                f"{name} discarding {signer.name}'s block 1 (not sealing yet)",
                partial(_discarded, net, name, sealed),
            )
        # A block can come again later: announced by a peer that relayed it, it is fetched half
        # a second after (geth's arriveTimeout); the next signer starts only once every copy
        # was discarded (no new one for QUIET_S), or it would import the block instead.
        counts, since = [-1], time.monotonic()
        while later and time.monotonic() - since < QUIET_S:
            now = [_discarded(net, name, sealed) for name in later]
            if now != counts:
                counts, since = now, time.monotonic()
            time.sleep(0.2)
    return {n.name: _hash(net, n.name, 1) for n in signers}


@pytest.mark.parametrize("signers", [2, 3])
def test_signers_split_at_block_1_are_brought_onto_one_chain(
    tmp_path: Path, signers: int, caplog: pytest.LogCaptureFixture
) -> None:
    net = Network(tmp_path / "net", NetworkConfig(signers=signers, block_period=1))
    net.start(seal=False)
    try:
        ones = _split(net)
        assert len(set(ones.values())) == signers, ones  # every signer holds its own block 1
        held_until = time.monotonic() + HELD_S
        while time.monotonic() < held_until:  # and the split holds: no signer goes on
            assert {n.name: _head(net, n.name) for n in net.signers} == dict.fromkeys(ones, 1)
            time.sleep(0.5)
        began = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="talentproof.ledger.network"):
            net.wait_ready(120)
        took = time.monotonic() - began
        names = [n.name for n in net.layout]
        _until("every node at block 3", lambda: min(_head(net, n) for n in names) >= 3)
        chain = {n: [_hash(net, n, b) for b in (1, 2, 3)] for n in names}
        assert len({tuple(c) for c in chain.values()}) == 1, chain  # one chain on every node
        kept = chain[names[0]][0]
        assert kept in ones.values()
        in_turn = sorted(net.signers, key=lambda n: n.signer.lower())[1 % signers]
        assert kept == ones[in_turn.name]  # the heavier block 1 (in turn, difficulty 2) won
        # and it is wait_ready that brought the others onto it, saying so
        said = [r.getMessage() for r in caplog.records if "different chains" in r.getMessage()]
        lighter = sorted(n.name for n in net.signers if n != in_turn)
        assert said and f"{', '.join(lighter)} reconnected to {in_turn.name}," in said[0], said
        print(f"{signers} signers split at block 1: one chain after {took:.1f} s of wait_ready")
    finally:
        net.stop()
