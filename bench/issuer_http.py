"""Single-credential issuance over HTTP: `talentproof issuer serve` (uvicorn, SQLite, the
anchoring worker inside) against a local Anvil, driven by 32 concurrent keep-alive clients.

Prints requests/s and latency percentiles beside the targets (>= 600 req/s, p99 <= 50 ms), and
how many of the credentials were anchored by the end. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

TARGET_RPS = 600
TARGET_P99_MS = 50.0
OPERATOR = "bench-operator-token-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _request(i: int, holder: str) -> dict:
    return {
        "type": "DegreeCredential",
        "credentialSubject": {
            "id": holder,
            "degree": {
                "type": "Degree",
                "level": "master",
                "fieldOfStudy": f"Financial Technology {i}",
                "institution": {"name": "University of Benchmarks"},
                "awardDate": "2026-06-30",
            },
        },
    }


async def _drive(
    url: str, token: str, total: int, concurrency: int, holder: str
) -> tuple[list[float], float, int]:
    """Keep-alive HTTP/1.1 clients on raw asyncio streams (a light load generator: httpx
    costs more CPU per request than the server, on the same two cores)."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in counter:
                body = orjson.dumps(_request(i, holder))
                head = (
                    f"POST /credentials HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: Bearer {token}\r\nIdempotency-Key: bench-{i}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if b" 202 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start, errors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    from talentproof.credential.keys import Ed25519SigningKey
    from talentproof.ledger.deploy import deploy_registry
    from talentproof.ledger.nodes import anvil

    holder = Ed25519SigningKey.from_seed(b"\x07" * 32).public_key.did_key
    with (
        tempfile.TemporaryDirectory(prefix="tp-bench-http-") as tmp,
        anvil(log_path=Path(tmp) / "anvil.log") as node,
    ):
        base = Path(tmp)
        deploy_registry(node.rpc_url, node.private_keys[0]).save(base / "deployment.json")
        port = _free_port()
        env = {
            **os.environ,
            "TALENTPROOF_ISSUER_DATA_DIR": str(base / "data"),
            "TALENTPROOF_ISSUER_RPC_URL": node.rpc_url,
            "TALENTPROOF_ISSUER_DEPLOYMENT_FILE": str(base / "deployment.json"),
            "TALENTPROOF_ISSUER_ENV": "development",  # Anvil's public dev key as governor
            "TALENTPROOF_ISSUER_GOVERNOR_KEY": node.private_keys[0],
            "TALENTPROOF_ISSUER_KEY_PASSPHRASE": "bench",
            "TALENTPROOF_ISSUER_OPERATOR_TOKEN": OPERATOR,
            "TALENTPROOF_ISSUER_LOG_LEVEL": "WARNING",
            "TALENTPROOF_ISSUER_PUBLIC_URL": f"http://localhost:{port}",
        }
        log = (base / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "talentproof.issuer.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            r = httpx.post(
                f"{url}/operator/institutions",
                headers={"Authorization": f"Bearer {OPERATOR}"},
                json={
                    "name": "University of Benchmarks",
                    "slug": "bench",
                    "credential_types": ["DegreeCredential"],
                },
                timeout=60,
            )
            r.raise_for_status()
            token = r.json()["api_key"]["token"]
            asyncio.run(_drive(url, token, 300, args.concurrency, holder))  # warm-up
            server_cpu0, gen_cpu0 = _cpu_seconds(server.pid), time.process_time()
            latencies, elapsed, errors = asyncio.run(
                _drive(url, token, args.requests, args.concurrency, holder)
            )
            gen_cpu = time.process_time() - gen_cpu0
            server_cpu = _cpu_seconds(server.pid) - server_cpu0
            load = os.getloadavg()
            time.sleep(3)
            ready = httpx.get(f"{url}/readyz", timeout=10).json()
        finally:
            server.terminate()
            server.wait(30)
            log.close()
    latencies.sort()
    n = len(latencies)
    rps = n / elapsed
    p50 = latencies[n // 2] * 1000
    p99 = latencies[min(n - 1, int(n * 0.99))] * 1000
    print(f"requests: {n:,} at {args.concurrency} concurrent clients, {errors} non-202")
    print(
        f"throughput: {rps:,.0f} req/s (target >= {TARGET_RPS}: {rps / TARGET_RPS:.2f}x of target)"
    )
    print(
        f"latency: p50 {p50:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms, "
        f"p99 {p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms: {p99 / TARGET_P99_MS:.2f}x of limit)"
    )
    print(
        f"anchoring 3 s after the run: {ready['anchoring']['pending_credentials']} credentials not yet "
        f"batched, {ready['anchoring']['unconfirmed_batches']} batches unconfirmed; chain {ready['chain']['detail']}"
    )
    print(
        f"CPU during the run: load generator (this process) {gen_cpu:.1f} s = "
        f"{gen_cpu / n * 1e6:.0f} us/request ({gen_cpu / elapsed:.0%} of a core); server "
        f"{server_cpu:.1f} s = {server_cpu / n * 1e6:.0f} us/request "
        f"({server_cpu / elapsed:.0%} of a core) -> server alone on one full core: "
        f"{n / server_cpu:,.0f} req/s"
    )
    print(
        f"note: the load generator runs on the same 2 cores as the server; load average at the "
        f"end {load[0]:.1f} {load[1]:.1f} (others' work shares the cores too)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
