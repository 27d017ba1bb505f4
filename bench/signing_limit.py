"""The machine's raw Ed25519 signing limit, measured in the run that compares against it (issue
17.3): libsodium's ``crypto_sign`` of a 64-byte message (what eddsa-jcs-2022 signs: two SHA-256
digests) through PyNaCl's cffi binding, no wrapper, in ``processes`` processes at once, each
with its own key; the rate is all their signatures over the wall time from a common start to
the last one's end. `bench/issuer_bulk.py` sets bulk issuance beside it.

The verifying limit the same way (`raw_verify_rate`, issue 17.3's other half): libsodium's
``crypto_sign_open`` of a signed 64-byte message (what the verifier's check 3 runs, through
PyNaCl's cffi binding, no wrapper) in ``processes`` processes at once, and OpenSSL's (the
``cryptography`` package) beside it; `bench/verifier_perf.py` sets folder verification beside the
faster of the two.

Also runs alone: ``python bench/signing_limit.py [processes]``.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from typing import Any

#: Signatures per process and measurement (~0.5 s of a core).
SIGNS = 50_000


#: Verifications per process and measurement (~0.5-1 s of a core).
VERIFIES = 10_000


def _operation(name: str) -> Any:
    """A no-argument callable running one raw operation on a 64-byte message: ``sign``
    (libsodium ``crypto_sign``), ``verify`` (libsodium ``crypto_sign_open`` of the signed
    message) or ``verify-openssl`` (``cryptography``'s Ed25519 verify)."""
    from nacl._sodium import ffi, lib

    from talentproof.credential.keys import Ed25519SigningKey

    key = Ed25519SigningKey.from_seed(bytes(range(32)))
    secret = key.seed + key.public_key.raw
    message = bytes(range(64))
    signed = ffi.new("unsigned char[]", 128)
    null = ffi.NULL
    if name == "sign":
        sign = lib.crypto_sign
        return lambda: sign(signed, null, message, 64, secret)
    lib.crypto_sign(signed, null, message, 64, secret)
    signed_message = bytes(ffi.buffer(signed, 128))
    if name == "verify":
        opened, opened_len, pk, sodium_open = (
            ffi.new("unsigned char[]", 128),
            ffi.new("unsigned long long *"),
            key.public_key.raw,
            lib.crypto_sign_open,
        )
        assert sodium_open(opened, opened_len, signed_message, 128, pk) == 0

        return lambda: sodium_open(opened, opened_len, signed_message, 128, pk)
    if name == "verify-openssl":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        public, signature = (
            Ed25519PublicKey.from_public_bytes(key.public_key.raw),
            signed_message[:64],
        )
        return lambda: public.verify(signature, message)
    raise ValueError(f"operation: expected sign, verify or verify-openssl, found {name!r}")


def _run_from(start_at: float, count: int, name: str = "sign") -> tuple[float, float]:
    """Run ``count`` raw operations (`_operation`) from ``start_at`` (``time.monotonic``, shared
    by the processes of a machine); (when this process ended, its CPU seconds)."""
    call = _operation(name)
    for _ in range(min(2000, count)):  # warm: the first calls of a fresh process are slower
        call()
    while time.monotonic() < start_at:
        time.sleep(0.001)
    cpu = time.process_time()
    for _ in range(count):
        call()
    return time.monotonic(), time.process_time() - cpu


def _raw_rate(name: str, processes: int, count: int) -> tuple[float, float]:
    """(operations per second of ``processes`` processes at once, CPU seconds of one):
    spawned processes (this one may have threads), started together 1.5 s after they are
    asked to."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        start_at = time.monotonic() + 1.5  # after the spawned interpreters have started
        results = pool.starmap(_run_from, [(start_at, count, name)] * processes)
    wall = max(end for end, _cpu in results) - start_at
    cpu = sum(c for _end, c in results) / (processes * count)
    return processes * count / wall, cpu


def raw_sign_rate(processes: int = 2, count: int = SIGNS) -> tuple[float, float]:
    """(signatures per second of ``processes`` processes signing at once, CPU seconds of one
    signature)."""
    return _raw_rate("sign", processes, count)


def raw_verify_rate(
    processes: int = 2, count: int = VERIFIES, library: str = "libsodium"
) -> tuple[float, float]:
    """(verifications per second of ``processes`` processes verifying at once, CPU seconds of
    one): ``library`` ``libsodium`` (what the verifier runs) or ``openssl``."""
    if library not in ("libsodium", "openssl"):
        raise ValueError(f"library: expected libsodium or openssl, found {library!r}")
    return _raw_rate("verify" if library == "libsodium" else "verify-openssl", processes, count)


#: Issue 17.3: bulk issuance end to end at least this share of the raw signing rate.
TARGET_SHARE = 0.5


def limit_report(
    rows: int,
    rate: float,
    limits: list[tuple[float, float]],
    cpu_split: dict[str, float],
    phases: Any,
) -> list[str]:
    """Lines for `bench/issuer_bulk.py`: bulk issuance against the raw signing rate measured in
    the same run (``limits``: `raw_sign_rate` before and after the job), and where the time per
    credential goes: each process's CPU, the signature's own share of the signing processes', and
    the bulk runner thread's phases (``phases``: `issuer.bulk.PhaseTimes`), wall and CPU."""
    raw = sum(r for r, _ in limits) / len(limits)
    sign_cpu = sum(c for _, c in limits) / len(limits)
    share = rate / raw
    verdict = "PASS" if share >= TARGET_SHARE else "FAIL"
    lines = [
        "raw libsodium signing, 2 processes at once, this run: "
        + ", ".join(f"{r:,.0f}/s" for r, _ in limits)
        + f" (before and after the job; {sign_cpu * 1e6:.2f} us CPU a signature) -> bulk "
        f"issuance end to end {rate:,.0f}/s = {share:.0%} of {raw:,.0f}/s (target >= "
        f"{TARGET_SHARE:.0%}) {verdict}"
    ]
    us = 1e6 / rows
    signing = next((v for k, v in cpu_split.items() if k.startswith("signing")), 0.0)
    own = cpu_split.get("this process", 0.0)
    lines.append(
        f"where the time goes, per credential: wall {1e6 / rate:.1f} us (2 cores: "
        f"{2e6 / rate:.1f} core-us); CPU: signing processes {signing * us:.1f} us (the raw "
        f"signature {sign_cpu * 1e6:.1f} us of it, {sign_cpu * 1e6 / max(signing * us, 1e-9):.0%}"
        f"), this process {own * us:.1f} us, others "
        f"{(sum(cpu_split.values()) - signing - own) * us:.1f} us"
    )
    seconds = phases.seconds
    busy_wall = sum(w for name, (w, _c) in seconds.items() if name != "wait")
    lines.append(
        f"  bulk runner thread by phase over {phases.chunks} chunks (wall / its CPU, per "
        "credential): "
        + ", ".join(f"{name} {w * us:.1f} / {c * us:.1f} us" for name, (w, c) in seconds.items())
        + f"; busy (all but wait) {busy_wall * us:.1f} us wall: the pipeline's pace is the "
        + (
            "runner's (it waits little for signing)"
            if seconds["wait"][0] < 0.1 * busy_wall
            else "signing processes' (the runner waits for them)"
        )
    )
    return lines


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rate, per_sign = raw_sign_rate(n)
    print(
        f"raw libsodium signing, {n} processes at once: {rate:,.0f}/s ({per_sign * 1e6:.2f} us CPU each)"
    )
    for library in ("libsodium", "openssl"):
        rate, per_verify = raw_verify_rate(n, library=library)
        print(
            f"raw {library} verifying, {n} processes at once: {rate:,.0f}/s "
            f"({per_verify * 1e6:.2f} us CPU each)"
        )
