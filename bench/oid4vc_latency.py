"""The applicant's waits over OpenID4VCI and OpenID4VP (issue 15's closing note), measured on a
local stack: `talentproof run --chain anvil` (chain, issuer, verifier, seeded institutions) in a
fresh data folder on free ports, with the settings `make run` uses (the issuer's anchor batch
waits up to 2 s to fill; ``--batch-wait`` changes it).

- **Offer to credential in the wallet**: the institution's ``POST /credential-offers`` to the
  anchored credential in the CLI wallet, by the wallet's own code (`IssuanceClient.accept` of
  wallet/oid4vci.py: offer, metadata, token, c_nonce, credential request answered 202, then the
  deferred credential endpoint polled at the issuer's ``interval`` until the anchored form
  arrives). Split into the protocol part (offer creation to the 202) and the wait for the anchor
  batch (the 202 to the anchored credential). A second series polls the deferred endpoint every
  0.1 s instead of the issuer's interval (3 s): when the anchored form became available, so the
  wallet's share of the wait is visible.
- **Request to verdict**: the officer's ``POST /oid4vp/requests`` (hk-dlt-expert) to the verdict
  readable at ``GET /oid4vp/requests/{id}``, the wallet answering with wallet/oid4vp.py as
  `talentproof wallet present --yes` does (request object fetched and its signature checked,
  the credentials checked with the issuers' status lists, DCQL matched, presentations signed,
  ``direct_post``). The officer's page itself polls every 1.5 s; the figure here polls every
  0.05 s.

Each figure: median and p95 (nearest rank) over ``--runs`` runs (default 10), in seconds.
Asserts nothing about time. ``--results`` also puts this output in bench/results.md (its own
section, replaced; the other sections are kept).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchkit import write_results

from talentproof.credential.person import commit_identity_document
from talentproof.demo import demo_subjects
from talentproof.ledger.nodes import free_port
from talentproof.wallet.inspect import sort_for_presentation
from talentproof.wallet.oid4vci import IssuanceClient, parse_offer_uri
from talentproof.wallet.oid4vp import (
    fetch_request_object,
    match_dcql,
    parse_request_uri,
    send_response,
    vp_token,
)
from talentproof.wallet.store import Wallet

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROFESSION = "hk-dlt-expert"
ID_NUMBER = "A123456(7)"
SLUGS = ("harbour-university", "osl", "hk-blockchain-academy")  # degree, employment, training


class LocalStack:
    """`python -m talentproof run` in ``data_dir`` on free ports (stopped with SIGINT)."""

    def __init__(self, data_dir: Path, batch_wait: float | None) -> None:
        self.data_dir = data_dir
        self.ports = {"chain": free_port(), "issuer": free_port(), "verifier": free_port()}
        self.batch_wait = batch_wait
        self.log = data_dir.parent / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['issuer']}"

    @property
    def verifier_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['verifier']}"

    def api_key(self, slug: str) -> str:
        seed = json.loads((self.data_dir / "dev-keys.json").read_text())
        return str(seed["institutions"][slug]["api_key"])

    def start(self, timeout: float = 180.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTPROOF_")}
        if self.batch_wait is not None:
            env["TALENTPROOF_ISSUER_BATCH_MAX_WAIT_S"] = str(self.batch_wait)
        command = [sys.executable, "-m", "talentproof", "run", "--data-dir", str(self.data_dir)]
        for name, port in self.ports.items():
            command += [f"--{name}-port", str(port)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=REPO, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while b"running; Ctrl-C stops everything" not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"talentproof run did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _quantiles(values: list[float]) -> tuple[float, float]:
    """(median, p95 by nearest rank)."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _row(label: str, values: list[float]) -> str:
    median, p95 = _quantiles(values)
    return f"{label:<74} | {median:>7.3f} | {p95:>7.3f} | {min(values):>7.3f} | {max(values):>7.3f}"


def issue_once(
    stack: LocalStack,
    wallet: Wallet,
    client: httpx.Client,
    slug: str,
    request: dict[str, Any],
    sleep: Callable[[float], None],
) -> tuple[float, float]:
    """One offer redeemed by the wallet: (offer creation to the 202, the 202 to the anchored
    credential), seconds."""
    body = json.loads(json.dumps(request))
    del body["credentialSubject"]["id"]
    marks: dict[str, float] = {}

    def progress(line: str) -> None:
        if line.startswith("signed;"):  # IssuanceClient.accept: the credential request answered 202
            marks["deferred"] = time.perf_counter()

    started = time.perf_counter()
    r = client.post(
        f"{stack.issuer_url}/credential-offers",
        json=body,
        headers={"Authorization": f"Bearer {stack.api_key(slug)}"},
    )
    if r.status_code != 201:
        raise SystemExit(f"POST /credential-offers: HTTP {r.status_code} {r.text[:300]}")
    made = r.json()
    outcome = IssuanceClient(wallet.key(), client, sleep=sleep).accept(
        parse_offer_uri(made["credentialOfferUri"]), made["txCode"], timeout=120, progress=progress
    )
    done = time.perf_counter()
    if not outcome.credentials or "deferred" not in marks:
        raise SystemExit(f"{slug}: no anchored credential within 120 s ({outcome.pending})")
    if len(wallet.credentials()) < len(SLUGS):  # the applicant's three, as a wallet holds them
        for credential in outcome.credentials:
            wallet.add_credential(credential)
    return marks["deferred"] - started, done - marks["deferred"]


def present_once(stack: LocalStack, wallet: Wallet, client: httpx.Client) -> dict[str, float]:
    """One officer's request answered by the wallet: the steps' durations (s)."""
    key = wallet.key()
    t0 = time.perf_counter()
    r = client.post(
        f"{stack.verifier_url}/oid4vp/requests",
        json={"profession": PROFESSION, "idNumber": ID_NUMBER},
    )
    if r.status_code != 201:
        raise SystemExit(f"POST /oid4vp/requests: HTTP {r.status_code} {r.text[:300]}")
    made = r.json()
    t1 = time.perf_counter()
    request = fetch_request_object(client, parse_request_uri(made["authorizationRequest"]))
    t2 = time.perf_counter()
    usable, _held_back = sort_for_presentation(
        ((s.name, s.document) for s in wallet.credentials()), datetime.now(UTC), client
    )
    match = match_dcql(
        request.dcql_query, [c.document for c in usable], holder=key.public_key.did_key
    )
    if match.missing:
        raise SystemExit(f"the wallet cannot answer: {match.missing}")
    token = vp_token(
        match.chosen, key, request=request, salt=wallet.salt(), created=datetime.now(UTC)
    )
    t3 = time.perf_counter()
    send_response(client, request, token)
    t4 = time.perf_counter()
    while True:
        state = client.get(f"{stack.verifier_url}/oid4vp/requests/{made['id']}").json()
        if state["state"] != "pending":
            break
        if time.perf_counter() - t4 > 60:
            raise SystemExit("no verdict within 60 s of the response")
        time.sleep(0.05)
    t5 = time.perf_counter()
    code = (state.get("outcome") or {}).get("code")
    if code != "VALID_MEETS":
        raise SystemExit(f"expected the verdict VALID_MEETS, found {state['state']} {code}")
    return {
        "total": t5 - t0,
        "create": t1 - t0,
        "fetch": t2 - t1,
        "prepare": t3 - t2,
        "post": t4 - t3,
        "verdict": t5 - t4,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each flow (default 10)")
    parser.add_argument(
        "--batch-wait",
        type=float,
        default=None,
        help="TALENTPROOF_ISSUER_BATCH_MAX_WAIT_S for the stack (default: the issuer's, 2 s)",
    )
    parser.add_argument(
        "--results", action="store_true", help="also write this output to bench/results.md"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: expected a positive number of runs")
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    with tempfile.TemporaryDirectory(prefix="tp-oid4vc-bench-") as tmp:
        stack = LocalStack(Path(tmp) / "data", args.batch_wait)
        started = time.perf_counter()
        stack.start()
        try:
            setup = time.perf_counter() - started
            folder = Path(tmp) / "wallet"
            wallet = Wallet.init(folder)
            id_doc = {
                "documentType": "HKID",
                "issuingCountry": "HK",
                "commitment": commit_identity_document("HKID", "HK", ID_NUMBER, wallet.salt()),
            }
            requests = demo_subjects(wallet.did(), id_doc)
            say(
                f"talentproof run --chain anvil (up in {setup:.1f} s); issuer anchor batch wait "
                f"{args.batch_wait if args.batch_wait is not None else 2.0:g} s, deferred "
                f"interval 3 s; {args.runs} runs each; seconds"
            )
            say(f"{'figure':<74} | {'median':>7} | {'p95':>7} | {'min':>7} | {'max':>7}")
            say("-" * 114)
            with httpx.Client(timeout=60) as client:
                shipped: list[tuple[float, float]] = []
                fine: list[tuple[float, float]] = []
                slugs = itertools.cycle(SLUGS)
                for series, sleep in ((shipped, time.sleep), (fine, _fine_sleep)):
                    for _ in range(args.runs):
                        slug = next(slugs)
                        series.append(
                            issue_once(stack, wallet, client, slug, requests[slug], sleep)
                        )
                presented = [present_once(stack, wallet, client) for _ in range(args.runs)]
            say(_row("offer to anchored credential in the wallet (polling as shipped)",
                     [a + b for a, b in shipped]))  # fmt: skip
            say(_row("  protocol: offer created -> metadata, token, nonce, credential 202",
                     [a for a, _ in shipped]))  # fmt: skip
            say(_row("  wait: 202 -> anchored credential (deferred endpoint every 3 s)",
                     [b for _, b in shipped]))  # fmt: skip
            say(_row("offer to anchored credential, deferred endpoint polled every 0.1 s",
                     [a + b for a, b in fine]))  # fmt: skip
            say(_row("  wait: 202 -> anchored form available (the anchor batch itself)",
                     [b for _, b in fine]))  # fmt: skip
            say(_row("request created to verdict (wallet/oid4vp.py answering)",
                     [p["total"] for p in presented]))  # fmt: skip
            for key, label in (
                ("create", "  officer: POST /oid4vp/requests"),
                ("fetch", "  wallet: request object fetched, its signature checked"),
                ("prepare", "  wallet: status lists read, DCQL matched, 2 presentations signed"),
                ("post", "  wallet: direct_post answered (the verifier checks on the chain)"),
                ("verdict", "  verdict readable at GET /oid4vp/requests/{id} after that"),
            ):
                say(_row(label, [p[key] for p in presented]))
        finally:
            stack.stop()
    if args.results:
        write_results("\n".join(out), Path(__file__).stem)
        print(f"wrote the {Path(__file__).stem} section of {HERE / 'results.md'}")
    return 0


def _fine_sleep(seconds: float) -> None:
    """The deferred poll's sleep, at most 0.1 s (instead of the issuer's interval)."""
    time.sleep(min(seconds, 0.1))


if __name__ == "__main__":
    raise SystemExit(main())
