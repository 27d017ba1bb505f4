"""Anchoring on a multi-node permissioned network beside Anvil (issue 16.5): latency from issue to
anchored and final, sustained issuance, and gas per anchor, all measured in one run.

For each chain, in this order: Anvil (automine: a block per transaction, final once mined) and
the geth Clique network of `talentproof network start` (3 signers and a non-signing archive RPC
node, `talentproof.ledger.network`) at block periods of 1 s and 2 s (``--periods``), each fresh
in a temporary folder:

1. the registry is deployed from the operator account, then the real issuer process is started
   the way a user starts it (`talentproof issuer serve --workers 1`, SQLite, the anchoring worker
   inside, configured through its environment, printed below) with
   ``TALENTPROOF_ISSUER_CONFIRMATIONS`` = 1 on Anvil and ``--confirmations`` (default 3) on the
   network; ``--institutions`` institutions (default 3, each its own chain account) are onboarded
   through the operator API;
2. **latency, light load**: one credential every 0.5 s (the institutions in turn) for
   ``--latency-s`` seconds; each is then polled at ``GET /credentials/{id}/anchor`` every 0.2 s
   (at most ``POLL_CONCURRENCY`` polls in flight: see there):
   when the issuer records its batch mined (the block number appears) and when it reports it
   final (``anchored``: that many blocks deep, the anchor's block included). The issuer's batch
   waits up to ``TALENTPROOF_ISSUER_BATCH_MAX_WAIT_S`` (default 2 s) to fill, which is part of
   every figure;
3. **sustained issuance**: ``--clients`` keep-alive clients (default 6, spread over the
   institutions) each send their next ``POST /credentials`` when the last is answered, for
   ``--load-s`` seconds (default 30), with a tracked credential every 0.5 s as in 2 (latency under
   load). Figures: credentials accepted per second; credentials made final during the window
   (the issuer's ``talentproof_issuer_credentials_anchored_total``); the backlog when the load
   stops and the time until it is all final; accepted / (window + that drain) is the rate the
   whole path (issue, batch, anchor, confirmations) sustained;
4. **gas**: every ``RootAnchored`` event of the registry, its transaction's receipt: gas used per
   anchor (one anchor per transaction), leaves per anchor, anchors per block.

Percentiles are nearest rank; the polling adds up to 0.2 s to each latency. Asserts nothing about
time. On a shared 2-core machine the load generator, the issuer, and the chain's nodes share the
cores (the load average is printed). ``--results`` also puts this output in bench/results.md (its
own section, replaced; the other sections are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import math
import os
import random
import re
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from benchkit import degree_request, post_credential, write_results
from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.ledger.chain import connect
from talentproof.ledger.deploy import deploy_registry
from talentproof.ledger.network import network
from talentproof.ledger.nodes import anvil, dev_private_keys, free_port

HERE = Path(__file__).resolve().parent
OPERATOR = "bench-operator-token-0123456789"
TRACK_EVERY_S = 0.5
POLL_S = 0.2
#: Polls of the anchor status in flight at once. With every tracked credential polled at once
#: (30-60 in flight on the network) the issuer's HTTP process stopped answering for 30 s in one
#: 2 s run: ``sqlalchemy.exc.TimeoutError: QueuePool limit of size 8 overflow 10 reached`` in
#: ``GET /credentials/{id}/anchor``, which holds its session's pooled connection while
#: `LedgerStates.current` takes a second one (and may then read the chain); issuance waited
#: with it. Reproduced on Anvil: 60 pending credentials polled at once, over and over, while 6
#: clients issue: a 30 s stall and the same error (30 at once, or 60 without the issuing: none).
POLL_CONCURRENCY = 4
REFERENCE_KEY = dev_private_keys(2)[1]  # the test mnemonic's account 1, funded on both chains
ROOT_ANCHORED = Web3.keccak(text="RootAnchored(bytes32,uint32,uint32)")


@dataclass
class Chain:
    """One chain under test: where to reach it and how the issuer treats it."""

    label: str
    rpc_url: str
    operator_key: str
    confirmations: int
    period: int | None  # None: Anvil's automine
    client: str = ""
    setup_s: float = 0.0
    rpc_log: Path | None = None  # the network's RPC node's log (its reorganisations)


@dataclass
class Tracked:
    """One credential followed from its request to final."""

    sent: float
    token: str
    cred_id: str = ""
    answered: float = math.nan
    mined: float = math.nan
    final: float = math.nan
    leaves: int = 0


@dataclass
class Figures:
    """What one chain's run measured."""

    chain: Chain
    onboard_s: float = 0.0
    inclusion: list[float] = field(default_factory=list)
    light: list[Tracked] = field(default_factory=list)
    loaded: list[Tracked] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0
    window_s: float = 0.0
    final_in_window: int = 0
    backlog: int = 0
    drain_s: float = 0.0
    stages: list[tuple[float, float, float]] = field(default_factory=list)
    gas: list[int] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)
    anchor_blocks: list[int] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)
    blocks: int = 0
    reorgs: list[str] = field(default_factory=list)
    issuer_errors: list[str] = field(default_factory=list)


def _request(i: int, holder: str, name: str) -> bytes:
    return degree_request(holder, f"Distributed Ledgers {i}", name)


# -- chains ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _chain(kind: str, period: int | None, base: Path, confirmations: int) -> Iterator[Chain]:
    started = time.perf_counter()
    if kind == "anvil":
        with anvil(log_path=base / "anvil.log") as node:
            chain = Chain("Anvil (automine)", node.rpc_url, node.private_keys[0], 1, None)
            chain.setup_s = time.perf_counter() - started
            yield chain
        return
    assert period is not None
    with network(base / f"network-{period}s", signers=3, block_period=period) as net:
        chain = Chain(
            f"geth Clique, 3 signers + RPC node, {period} s blocks",
            net.rpc_url,
            net.private_keys[0],
            confirmations,
            period,
        )
        chain.rpc_log = net.log_of(net.rpc_nodes[0].name)
        chain.setup_s = time.perf_counter() - started
        yield chain


# -- the issuer process ------------------------------------------------------------------------


class Issuer:
    """`talentproof issuer serve` on a free port, configured through its environment."""

    def __init__(self, base: Path, chain: Chain, extra: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "issuer.log"
        self.env = {
            "TALENTPROOF_ISSUER_DATA_DIR": str(base / "issuer"),
            "TALENTPROOF_ISSUER_RPC_URL": chain.rpc_url,
            "TALENTPROOF_ISSUER_DEPLOYMENT_FILE": str(base / "deployment.json"),
            "TALENTPROOF_ISSUER_ENV": "development",  # the test mnemonic's account 0 as governor
            "TALENTPROOF_ISSUER_GOVERNOR_KEY": chain.operator_key,
            "TALENTPROOF_ISSUER_KEY_PASSPHRASE": "bench",
            "TALENTPROOF_ISSUER_OPERATOR_TOKEN": OPERATOR,
            "TALENTPROOF_ISSUER_LOG_LEVEL": "WARNING",
            "TALENTPROOF_ISSUER_PUBLIC_URL": f"http://localhost:{self.port}",
            "TALENTPROOF_ISSUER_CONFIRMATIONS": str(chain.confirmations),
            **{f"TALENTPROOF_ISSUER_{k.upper()}": v for k, v in extra.items()},
        }
        self.command = [
            sys.executable, "-m", "talentproof", "issuer", "serve", "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def describe(self) -> str:
        shown = ", ".join(
            f"{k.removeprefix('TALENTPROOF_ISSUER_')}={'***' if 'KEY' in k or 'TOKEN' in k else v}"
            for k, v in self.env.items()
            if k not in ("TALENTPROOF_ISSUER_DATA_DIR", "TALENTPROOF_ISSUER_DEPLOYMENT_FILE")
        )
        return f"{shlex.join(['talentproof', *self.command[3:]])}; environment: {shown}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, env={**env, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the issuer exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit("the issuer did not answer /healthz within 90 s")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def onboard(self, slug: str, name: str) -> str:
        r = httpx.post(
            f"{self.url}/operator/institutions",
            headers={"Authorization": f"Bearer {OPERATOR}"},
            json={"name": name, "slug": slug, "credential_types": ["DegreeCredential"]},
            timeout=180,
        )
        if r.status_code != 201:
            raise SystemExit(f"onboarding {slug}: HTTP {r.status_code} {r.text[:500]}")
        return str(r.json()["api_key"]["token"])

    def anchored_total(self) -> int:
        return _anchored_total(httpx.get(f"{self.url}/metrics", timeout=10).text)

    def pending(self) -> int:
        ready = httpx.get(f"{self.url}/readyz", timeout=10).json()
        return int(ready["anchoring"]["pending_credentials"])


def _anchored_total(metrics: str) -> int:
    """Credentials the issuer reported final, over its processes (its /metrics text)."""
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if re.match(r"talentproof_issuer_credentials_anchored_total(\{| )", line)
        )
    )


# -- load --------------------------------------------------------------------------------------


class Load:
    """Closed-loop keep-alive clients on raw asyncio streams (a light load generator: it runs on
    the same two cores as the issuer and the chain's nodes)."""

    def __init__(self, url: str, holder: str) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.holder = holder
        self.accepted = 0
        self.refused = 0

    async def _one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str, body: bytes,
        key: str,
    ) -> None:  # fmt: skip
        status_line = await post_credential(reader, writer, self.host, token, key, body)
        if b" 202 " in status_line:
            self.accepted += 1
        else:
            self.refused += 1

    async def client(self, n: int, token: str, name: str, until: float) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            i = 0
            while time.perf_counter() < until:
                i += 1
                body = _request(i, self.holder, name)
                await self._one(reader, writer, token, body, f"load-{n}-{i}")
        finally:
            writer.close()


async def _follow(
    client: httpx.AsyncClient,
    item: Tracked,
    body: bytes,
    key: str,
    deadline: float,
    polls: asyncio.Semaphore,
) -> None:
    """Issue one credential and poll its anchor state until final."""
    headers = {"Authorization": f"Bearer {item.token}", "Idempotency-Key": key}
    r = await client.post(
        "/credentials", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    item.answered = time.perf_counter()
    if r.status_code != 202:
        raise SystemExit(f"POST /credentials: HTTP {r.status_code} {r.text[:300]}")
    item.cred_id = r.json()["id"]
    auth = {"Authorization": f"Bearer {item.token}"}
    while time.perf_counter() < deadline:
        await asyncio.sleep(POLL_S)
        async with polls:
            r = await client.get(f"/credentials/{item.cred_id}/anchor", headers=auth)
        if r.status_code != 200:
            continue  # a 429 while the load runs: poll again
        state = r.json()
        now = time.perf_counter()
        batch = state.get("batch") or {}
        if math.isnan(item.mined) and batch.get("blockNumber") is not None:
            item.mined = now
        if state["status"] == "anchored":
            item.final = now
            item.leaves = int(batch.get("treeSize") or 0)
            return
    raise SystemExit(f"credential {item.cred_id} not final within the deadline")


async def _tracked_series(
    url: str, tokens: list[tuple[str, str]], holder: str, seconds: float, tag: str
) -> list[Tracked]:
    """One tracked credential every TRACK_EVERY_S for ``seconds``, each followed to final."""
    items: list[Tracked] = []
    tasks = []
    polls = asyncio.Semaphore(POLL_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            due = start + i * TRACK_EVERY_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            token, name = tokens[i % len(tokens)]
            item = Tracked(sent=time.perf_counter(), token=token)
            items.append(item)
            body = _request(10**6 + i, holder, name)
            tasks.append(
                asyncio.create_task(
                    _follow(client, item, body, f"{tag}-{i}", time.perf_counter() + 180, polls)
                )
            )
            i += 1
        await asyncio.gather(*tasks)
    return items


@dataclass
class AtStop:
    """The issuer's counts read the moment the load stops."""

    window_s: float = 0.0
    stopped: float = 0.0
    final_total: int = 0
    backlog: int = 0


async def _sustained(
    url: str, tokens: list[tuple[str, str]], holder: str, clients: int, seconds: float
) -> tuple[Load, AtStop, list[Tracked]]:
    load = Load(url, holder)
    start = time.perf_counter()
    until = start + seconds
    workers = [load.client(n, *tokens[n % len(tokens)], until) for n in range(clients)]
    tracked = asyncio.ensure_future(_tracked_series(url, tokens, holder, seconds, "loaded"))
    await asyncio.gather(*workers)
    at_stop = AtStop(window_s=time.perf_counter() - start, stopped=time.perf_counter())
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        metrics, ready = await asyncio.gather(client.get("/metrics"), client.get("/readyz"))
    at_stop.final_total = _anchored_total(metrics.text)
    at_stop.backlog = int(ready.json()["anchoring"]["pending_credentials"])
    return load, at_stop, await tracked


# -- reference: a plain transaction's inclusion ----------------------------------------------------


def inclusion_times(rpc_url: str, key: str, samples: int, spread_s: float) -> list[float]:
    """Seconds from sending a plain transfer to its receipt, for ``samples`` transfers sent at
    random moments over ``spread_s`` seconds (consecutive nonces of one account, signed here),
    receipts polled every 0.02 s: what the chain alone adds to any transaction."""
    w3 = connect(rpc_url, timeout=30)
    account = Account.from_key(key)
    chain_id = w3.eth.chain_id
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    base_fee = int(w3.eth.get_block("latest")["baseFeePerGas"])
    moments = sorted(random.uniform(0, spread_s) for _ in range(samples))
    sent: list[tuple[float, bytes]] = []
    times: dict[bytes, float] = {}
    start = time.perf_counter()
    deadline = time.monotonic() + spread_s + 120
    while len(times) < samples:  # send each at its moment, poll the receipts in between
        if time.monotonic() > deadline:
            raise SystemExit("reference transfers not mined within 120 s")
        while len(sent) < samples and time.perf_counter() >= start + moments[len(sent)]:
            tx = {
                "to": account.address, "value": 1, "gas": 21_000, "nonce": nonce + len(sent),
                "chainId": chain_id, "maxFeePerGas": 4 * base_fee + 10**9,
                "maxPriorityFeePerGas": 10**9,
            }  # fmt: skip
            raw = Account.sign_transaction(tx, key).raw_transaction
            at = time.perf_counter()
            sent.append((at, bytes(w3.eth.send_raw_transaction(raw))))
        for at, tx_hash in sent:
            if tx_hash not in times:
                with contextlib.suppress(TransactionNotFound):
                    if w3.eth.get_transaction_receipt(tx_hash) is not None:
                        times[tx_hash] = time.perf_counter() - at
        time.sleep(0.02)
    return [times[h] for _, h in sent]


# -- where an anchor's time goes (the issuer's own records) ------------------------------------------


def batch_stages(database: Path) -> list[tuple[float, float, float]]:
    """Per anchored batch, from the issuer's database after it stopped: (its oldest credential
    accepted -> batch formed, formed -> transaction sent, sent -> recorded final), seconds."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT oldest_leaf_at, created_at, tx_sent_at, anchored_at FROM anchor_batches "
            "WHERE state = 'anchored'"
        ).fetchall()
    out = []
    for row in rows:
        oldest, formed, sent, final = (datetime.fromisoformat(v) for v in row)
        out.append(
            (
                (formed - oldest).total_seconds(),
                (sent - formed).total_seconds(),
                (final - sent).total_seconds(),
            )
        )
    return out


# -- gas -----------------------------------------------------------------------------------------


def _anchors(rpc_url: str, registry: str) -> tuple[list[int], list[int], list[int]]:
    """(gas used, leaves, block) of every RootAnchored event of the registry."""
    w3 = connect(rpc_url, timeout=30)
    logs = w3.eth.get_logs(
        {"address": Web3.to_checksum_address(registry), "fromBlock": 0, "toBlock": "latest",
         "topics": [ROOT_ANCHORED]}
    )  # fmt: skip
    gas, leaves, blocks = [], [], []
    for log in logs:
        receipt = w3.eth.get_transaction_receipt(log["transactionHash"])
        gas.append(int(receipt["gasUsed"]))
        leaves.append(int.from_bytes(bytes(log["data"])[-32:], "big"))
        blocks.append(int(log["blockNumber"]))
    return gas, leaves, blocks


# -- one chain -------------------------------------------------------------------------------------


def run_chain(
    kind: str, period: int | None, args: argparse.Namespace, holder: str, say: Any
) -> Figures:
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tp-bench-net-")))
        else:
            base = args.keep / ("anvil" if period is None else f"network-{period}s")
            base.mkdir(parents=True, exist_ok=False)
        with _chain(kind, period, base, args.confirmations) as chain:
            figures = Figures(chain)
            load0 = os.getloadavg()[0]
            chain.client = connect(chain.rpc_url).client_version
            figures.inclusion = inclusion_times(
                chain.rpc_url, REFERENCE_KEY, args.reference_txs, 2.0 * (period or 1)
            )
            deployment = deploy_registry(chain.rpc_url, chain.operator_key)
            deployment.save(base / "deployment.json")
            extra = dict(item.split("=", 1) for item in args.setting)
            issuer = Issuer(base, chain, extra)
            say(f"{chain.label}: {chain.client}, up in {chain.setup_s:.1f} s")
            say(f"  issuer: {issuer.describe()}")
            issuer.start()
            try:
                started = time.perf_counter()
                tokens = []
                for n in range(args.institutions):
                    name = f"University of Benchmarks {n + 1}"
                    tokens.append((issuer.onboard(f"bench-{n + 1}", name), name))
                figures.onboard_s = time.perf_counter() - started
                figures.light = asyncio.run(
                    _tracked_series(issuer.url, tokens, holder, args.latency_s, "light")
                )
                base_final = issuer.anchored_total()
                load, at_stop, figures.loaded = asyncio.run(
                    _sustained(issuer.url, tokens, holder, args.clients, args.load_s)
                )
                figures.window_s = at_stop.window_s
                figures.final_in_window = at_stop.final_total - base_final
                figures.accepted, figures.refused = load.accepted, load.refused
                figures.backlog = at_stop.backlog
                deadline = time.monotonic() + 300
                while issuer.pending() > 0:
                    if time.monotonic() > deadline:
                        raise SystemExit("the backlog was not final within 300 s")
                    time.sleep(0.1)
                figures.drain_s = time.perf_counter() - at_stop.stopped
                figures.gas, figures.leaves, figures.anchor_blocks = _anchors(
                    chain.rpc_url, deployment.registry
                )
                figures.blocks = connect(chain.rpc_url).eth.block_number
                if chain.rpc_log is not None:
                    figures.reorgs = [
                        re.sub(r".*Chain reorg detected\s+", "", line).strip()
                        for line in chain.rpc_log.read_text(errors="replace").splitlines()
                        if "Chain reorg detected" in line
                    ]
            finally:
                issuer.stop()
            figures.stages = batch_stages(base / "issuer" / "issuer.db")
            log = issuer.log.read_text(errors="replace").splitlines()
            figures.issuer_errors = [
                line[:200]
                for line in log
                if '"level":"ERROR"' in line or '"level":"WARNING"' in line or "Error:" in line
            ]
            figures.load = (load0, os.getloadavg()[0])
    return figures


# -- report --------------------------------------------------------------------------------------


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _pair(values: list[float]) -> str:
    return f"{_q(values, 0.5):5.2f} / {_q(values, 0.95):5.2f}"


def _table(title: str, head: str, rows: Iterable[str]) -> list[str]:
    """One table of the report: its title between blank lines, the head, a rule, the rows."""
    return ["", title, "", head, "-" * len(head), *rows]


def report(all_figures: list[Figures], args: argparse.Namespace) -> list[str]:
    lines = _table(
        f"latency in seconds, p50 / p95 (nearest rank); light load: one tracked credential every "
        f"{TRACK_EVERY_S:g} s for {args.latency_s:g} s; under load: {args.clients} closed-loop "
        f"clients over {args.institutions} institutions for {args.load_s:g} s, a tracked "
        f"credential every {TRACK_EVERY_S:g} s beside them",
        f"{'chain':<22} | {'conf':>4} | {'issue->202':>13} | {'issue->mined':>13} | "
        f"{'issue->final':>13} | {'mined->final':>13} | {'under load: issue->final':>24} | "
        f"{'transfer->receipt':>17}",
        (
            f"{_short(f.chain):<22} | {f.chain.confirmations:>4} | "
            f"{_pair([t.answered - t.sent for t in f.light]):>13} | "
            f"{_pair([t.mined - t.sent for t in f.light]):>13} | "
            f"{_pair([t.final - t.sent for t in f.light]):>13} | "
            f"{_pair([t.final - t.mined for t in f.light]):>13} | "
            f"{_pair([t.final - t.sent for t in f.loaded]):>24} | {_pair(f.inclusion):>17}"
            for f in all_figures
        ),
    )
    lines += _table(
        "sustained issuance (credentials/s); final = reported anchored after the confirmations",
        f"{'chain':<22} | {'accepted/s':>10} | {'non-202':>7} | {'final/s in window':>17} | "
        f"{'backlog at stop':>15} | {'drain s':>7} | {'accepted/(window+drain)':>23}",
        (
            f"{_short(f.chain):<22} | {f.accepted / f.window_s:>10,.0f} | {f.refused:>7} | "
            f"{f.final_in_window / f.window_s:>17,.0f} | {f.backlog:>15,} | {f.drain_s:>7.1f} | "
            f"{f.accepted / (f.window_s + f.drain_s):>23,.0f}"
            for f in all_figures
        ),
    )
    lines += _table(
        "gas per anchor (anchorRoot, one root per transaction), every anchor of the run",
        f"{'chain':<22} | {'anchors':>7} | {'gas min / median / max':>24} | "
        f"{'leaves per anchor median / max':>30} | {'anchors per block (max)':>23}",
        (
            f"{_short(f.chain):<22} | {len(f.gas):>7} | "
            f"{f'{min(f.gas):,} / {int(_q(f.gas, 0.5)):,} / {max(f.gas):,}':>24} | "
            f"{f'{int(_q(f.leaves, 0.5)):,} / {max(f.leaves):,}':>30} | "
            f"{max(collections.Counter(f.anchor_blocks).values()):>23}"
            for f in all_figures
        ),
    )
    lines += _table(
        "where an anchor's time goes (the issuer's records of every anchored batch, both phases), "
        "p50 / p95 seconds",
        f"{'chain':<22} | {'oldest credential -> batch formed':>33} | "
        f"{'formed -> transaction sent':>26} | {'sent -> recorded final':>22}",
        (
            f"{_short(f.chain):<22} | {_pair([s[0] for s in f.stages]):>33} | "
            f"{_pair([s[1] for s in f.stages]):>26} | {_pair([s[2] for s in f.stages]):>22}"
            for f in all_figures
        ),
    )
    lines += [""]
    for f in all_figures:
        if f.chain.rpc_log is not None:
            dropped = sum(int(m) for r in f.reorgs for m in re.findall(r"drop=(\d+)", r))
            lines.append(
                f"{_short(f.chain)}: {f.blocks} blocks in the run, {len(f.reorgs)} reorganisation(s) "
                f"seen by the RPC node ({dropped} block(s) dropped in all; its log)"
            )
    for f in all_figures:
        first = f" (first: {f.issuer_errors[0]})" if f.issuer_errors else ""
        lines.append(
            f"{_short(f.chain)}: issuer log warnings and errors: {len(f.issuer_errors)}{first}"
        )
    for f in all_figures:
        lines.append(
            f"{_short(f.chain)}: onboarding {args.institutions} institutions {f.onboard_s:.1f} s; "
            f"load average {f.load[0]:.1f} before, {f.load[1]:.1f} after (2 cores, others' work "
            "included)"
        )
    return lines


def _short(chain: Chain) -> str:
    return "Anvil (automine)" if chain.period is None else f"geth Clique {chain.period} s"


def _code_state() -> str:
    """The commit measured, and the measured packages' files changed since it (a shared checkout:
    others' work in progress runs too)."""

    def git(*command: str) -> str:
        done = subprocess.run(
            ["git", *command], cwd=HERE.parent, capture_output=True, text=True, check=False
        )
        return done.stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = git("status", "--porcelain", "--", "issuer", "ledger", "credential", "contracts")
    files = [line[3:] for line in changed.splitlines()]
    return f"code: commit {head}" + (
        f" with uncommitted changes in {', '.join(files)}" if files else " (no uncommitted changes)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", default="1,2", help="Clique block periods, comma separated")
    parser.add_argument("--no-anvil", action="store_true", help="skip the Anvil run")
    parser.add_argument(
        "--confirmations",
        type=int,
        default=3,
        help="TALENTPROOF_ISSUER_CONFIRMATIONS on the network",
    )
    parser.add_argument("--latency-s", type=float, default=15.0, help="light-load series length")
    parser.add_argument("--load-s", type=float, default=30.0, help="sustained-load window")
    parser.add_argument("--clients", type=int, default=6, help="closed-loop clients")
    parser.add_argument("--institutions", type=int, default=3, help="institutions (accounts)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra issuer setting, e.g. BATCH_MAX_WAIT_S=0.5 (TALENTPROOF_ISSUER_ prefix "
        "implied; printed with the others)",
    )
    parser.add_argument(
        "--reference-txs", type=int, default=10, help="plain transfers timed per chain (reference)"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep each chain's folder (nodes' and issuer's logs) under this"
    )
    parser.add_argument(
        "--results", action="store_true", help="also write this output to bench/results.md"
    )
    args = parser.parse_args()
    try:
        periods = [int(p) for p in args.periods.split(",") if p.strip()]
    except ValueError:
        parser.error(f"--periods: expected whole seconds separated by commas, got {args.periods!r}")
    if any(not 1 <= p <= 30 for p in periods):
        parser.error("--periods: expected block periods of 1 to 30 seconds")
    for name in ("confirmations", "clients", "institutions", "reference_txs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected a positive whole number")
    if args.latency_s <= 0 or args.load_s <= 0:
        parser.error("--latency-s, --load-s: expected positive seconds")
    if any("=" not in item for item in args.setting):
        parser.error("--setting: expected NAME=VALUE")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    holder = Ed25519SigningKey.from_seed(b"\x07" * 32).public_key.did_key
    say(
        f"issue 16.5: anchoring latency and sustained issuance on the geth Clique network beside "
        f"Anvil, one run; {os.cpu_count()} cores shared by the load generator, the issuer and "
        "the chain's nodes"
    )
    say(_code_state())
    runs = ([("anvil", None)] if not args.no_anvil else []) + [("network", p) for p in periods]
    started = time.perf_counter()
    figures = [run_chain(kind, period, args, holder, say) for kind, period in runs]
    for line in report(figures, args):
        say(line)
    say(f"whole run {time.perf_counter() - started:.0f} s")
    if args.results:
        write_results("\n".join(out), Path(__file__).stem)
        print(f"wrote the {Path(__file__).stem} section of {HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
