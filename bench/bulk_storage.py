"""The bulk runner's storage alone (issue 17.2/17.3): what one credential costs to store and to
read back with its anchor proof, without signing or a chain.

* SQLite, the service's engine, pragmas and schema: chunks of 8,192 rows (1.9 KB documents) stored
  as the runner stores them since migration 0007 (`bulk.insert_credentials`, the batch keeping
  its leaves, no audit path per row) beside the storage before it (each row its joined audit
  path, the batch no leaves; the same statement with ``proof_path``): bytes a row in the file
  (pages in use after a checkpoint) and CPU a row for Merkle + insert + commit (the first chunk
  of each database, which compiles the statements, not counted).
* Reading a path back (`usecases.credentials.AuditPaths`): derived from the batch's leaves, the
  first read of a batch (its tree built) and the next ones (cached), beside a path stored in the
  row; the answers are compared.
* The runner's fast paths beside their twins (``--fast-paths``, default on): the chunk's Merkle
  root in C (`merkle.tree_root`, credential/native_merkle.c) against ``MerkleTree(...).root``,
  and SQLite's insert (`bulk.insert_credentials`: statements of 64 rows, the shared values
  bound once) against one row a statement (``rows_per_statement=1``) and every value bound on
  every row (``by_statement``): CPU a row, alternating.
* Growth (``--grow N``, documents of ``--doc-bytes``): N chunks into one database as the
  runner stores them, with the service's `WalCheckpointer` running, printed every 10 chunks:
  insert, commit (its system CPU apart: the WAL written through the kernel) and checkpointer
  CPU a row, the WAL and file sizes. Where the 1,000,000-row job's storage steps up once the
  file passes ~2 GB; what a row's bytes cost (a whole document against its holes along the
  chunk's frame, migration 0011: ``--doc-bytes 1700`` against ``--doc-bytes 600``).
* PostgreSQL, when Debian's server is installed (a throwaway one is started, ``fsync=off`` as
  the tests run it): `bulk.insert_credentials` (one binary COPY a chunk) beside its reference
  (``by_statement``: psycopg's ``executemany``), this process's CPU and wall a row.

Alternating A/B rounds; prints medians and the rounds. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import update

from talentproof.credential import merkle
from talentproof.credential.merkle import MerkleTree
from talentproof.issuer import bulk
from talentproof.issuer.db import (
    AnchorBatch,
    BulkJob,
    CredentialRow,
    InstitutionRow,
    WalCheckpointer,
    make_engine,
    make_sessionmaker,
    migrate,
    table_of,
)
from talentproof.issuer.store import bulk_jobs
from talentproof.issuer.usecases.credentials import AuditPaths

N = 8192
JOB = "0123456789abcdef01234567"
DOC = os.urandom(950).hex().encode()  # 1,900 bytes, as a degree credential's JCS bytes


_PER_ROW = ["id", "credential_hash", "document", "status_index", "leaf_index", "bulk_row"]
_SHARED = ["institution_id", "kind", "batch_id", "bulk_job_id", "suspended", "created_at"]


def _database(url: str) -> Any:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add(
            InstitutionRow(
                slug="u",
                name="U",
                did="did:web:u.example",
                chain_account="0x" + "11" * 20,
                chain_account_key_enc=b"x",
                credential_types="DegreeCredential",
            )
        )
        s.flush()
        s.add(BulkJob(id=JOB, institution_id=1, kind="DegreeCredential", fmt="jsonl", path="p"))
    return engine, sessions


def _chunk(first: int) -> tuple[list[bytes], list[str]]:
    hashes = [os.urandom(32) for _ in range(N)]
    ids = [str(uuid.UUID(int=((first + i) << 64) | 0x7000_0000_8000_0000)) for i in range(N)]
    return hashes, ids


def _insert(
    s: Any,
    batch_id: int,
    hashes: list[bytes],
    ids: list[str],
    first: int,
    now: dt.datetime,
    by_statement: bool = False,
    rows_per_statement: int = bulk_jobs.ROWS_PER_STATEMENT,
) -> None:
    """One chunk of ``N`` credentials in batch ``batch_id`` through ``bulk.insert_credentials``
    (its leaves in order, status indexes and bulk rows from ``first``)."""
    bulk.insert_credentials(
        s.connection(),
        institution_id=1,
        kind="DegreeCredential",
        batch_id=batch_id,
        job_id=JOB,
        now=now,
        rows=[(ids[i], hashes[i], DOC, first + i, i, first + i) for i in range(N)],
        by_statement=by_statement,
        rows_per_statement=rows_per_statement,
    )


def _built_batch(s: Any, leaves: bytes, now: dt.datetime, root: bytes | None = None) -> Any:
    """A built (not anchored) batch of a chunk's ``leaves`` (its hashes joined), added and
    flushed in session ``s`` so that its id is known; ``root`` random unless given (nothing
    here reads it)."""
    batch = AnchorBatch(
        institution_id=1,
        root=os.urandom(32) if root is None else root,
        leaf_count=N,
        state="built",
        oldest_leaf_at=now,
        leaves=leaves,
    )
    s.add(batch)
    s.flush()
    return batch


def _store(sessions: Any, hashes: list[bytes], ids: list[str], first: int, paths: bool) -> None:
    """One chunk as the runner stores it (``paths``: as before migration 0007)."""
    now = dt.datetime.now(dt.UTC)
    tree = MerkleTree(hashes) if paths else None
    with sessions.begin() as s:
        batch = AnchorBatch(
            institution_id=1,
            root=tree.root if tree is not None else merkle.tree_root(b"".join(hashes)),
            leaf_count=N,
            state="anchored",
            oldest_leaf_at=now,
            leaves=None if paths else b"".join(hashes),
        )
        s.add(batch)
        s.flush()
        if not paths:
            _insert(s, batch.id, hashes, ids, first, now)
            return
        # the runner's statement before 0007: the same driver-level executemany, with the path
        assert tree is not None
        joined = tree.joined_paths()
        connection = s.connection()
        dialect = connection.dialect
        table = table_of(CredentialRow)
        shared = []
        for name, value in (
            ("institution_id", 1),
            ("kind", "DegreeCredential"),
            ("batch_id", batch.id),
            ("bulk_job_id", JOB),
            ("suspended", False),
            ("created_at", now),
        ):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            shared.append(process(value) if process is not None else value)
        tail = tuple(shared)
        columns = [*_PER_ROW, "proof_path", *_SHARED]
        connection.exec_driver_sql(
            f"INSERT INTO credentials ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [(ids[i], hashes[i], DOC, first + i, i, first + i, joined[i], *tail) for i in range(N)],
        )


def sqlite_storage(chunks: int, rounds: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {"leaves": [], "paths": []}
    for r in range(rounds):
        for kind in ("leaves", "paths") if r % 2 == 0 else ("paths", "leaves"):
            with tempfile.TemporaryDirectory(prefix="tp-bench-storage-") as tmp:
                engine, sessions = _database(f"sqlite:///{tmp}/s.db")
                cpu = 0.0
                for k in range(chunks):
                    hashes, ids = _chunk(k * N)
                    t0 = time.thread_time()
                    _store(sessions, hashes, ids, k * N, kind == "paths")
                    if k:  # the first chunk compiles the statements: not counted
                        cpu += time.thread_time() - t0
                with engine.connect() as c:
                    c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    pages = c.exec_driver_sql("PRAGMA page_count").scalar()
                    free = c.exec_driver_sql("PRAGMA freelist_count").scalar()
                    size = c.exec_driver_sql("PRAGMA page_size").scalar()
                engine.dispose()
            rows = chunks * N
            results[kind].append(((pages - free) * size / rows, cpu / (rows - N) * 1e6))
    print(f"SQLite, {chunks} chunks of {N:,} rows, 1.9 KB documents, {rounds} alternating rounds:")
    for kind, label in (
        ("leaves", "leaves in the batch, no path per row (since 0007)"),
        ("paths", "an audit path per row (before 0007)"),
    ):
        sizes = [b for b, _c in results[kind]]
        cpus = [c for _b, c in results[kind]]
        print(
            f"  {label}: {statistics.median(sizes):,.0f} bytes a row in the file, Merkle + insert "
            f"+ commit {statistics.median(cpus):.2f} us CPU a row (rounds: "
            + ", ".join(f"{c:.2f}" for c in cpus)
            + ")"
        )


def fast_paths(chunks: int, rounds: int) -> None:
    """The runner's Merkle root (`merkle.tree_root`, in C) and SQLite insert (statements of
    `bulk_jobs.ROWS_PER_STATEMENT` rows, the shared values bound once each) beside their twins
    (`MerkleTree`; one row a statement, and ``by_statement``), alternating, CPU a row."""
    roots: dict[str, list[float]] = {"C": [], "MerkleTree": []}
    for r in range(rounds * 4):
        hashes, _ids = _chunk(r * N)
        joined = b"".join(hashes)
        for kind in ("C", "MerkleTree") if r % 2 == 0 else ("MerkleTree", "C"):
            t0 = time.thread_time()
            root = merkle.tree_root(joined) if kind == "C" else MerkleTree(hashes).root
            roots[kind].append((time.thread_time() - t0) / N * 1e6)
            assert root == merkle.tree_root_reference(joined)
    ways = ("rows", "one", "bound")  # ROWS_PER_STATEMENT rows a statement, one, by_statement
    inserts: dict[str, list[float]] = {way: [] for way in ways}
    for r in range(rounds):
        for way in ways if r % 2 == 0 else ways[::-1]:
            with tempfile.TemporaryDirectory(prefix="tp-bench-storage-") as tmp:
                engine, sessions = _database(f"sqlite:///{tmp}/f.db")
                cpu = 0.0
                for k in range(chunks):
                    hashes, ids = _chunk(k * N)
                    now = dt.datetime.now(dt.UTC)
                    with sessions.begin() as s:
                        batch = _built_batch(s, b"".join(hashes), now)
                        t0 = time.thread_time()
                        _insert(
                            s,
                            batch.id,
                            hashes,
                            ids,
                            k * N,
                            now,
                            by_statement=way == "bound",
                            rows_per_statement=1 if way == "one" else bulk_jobs.ROWS_PER_STATEMENT,
                        )
                        if k:  # the first chunk compiles the statements: not counted
                            cpu += time.thread_time() - t0
                engine.dispose()
            inserts[way].append(cpu / ((chunks - 1) * N) * 1e6)
    print(f"the runner's fast paths, chunks of {N:,} rows, alternating (CPU a row, median):")
    for kind, label in (("C", "Merkle root in C (merkle.tree_root)"), ("MerkleTree", "MerkleTree")):
        print(f"  {label}: {statistics.median(roots[kind]):.3f} us ({len(roots[kind])} chunks)")
    for way, label in (
        (
            "rows",
            f"SQLite insert, {bulk_jobs.ROWS_PER_STATEMENT} rows a statement, the shared values "
            "bound once (the runner's)",
        ),
        ("one", "SQLite insert, one row a statement (rows_per_statement=1)"),
        ("bound", "SQLite insert, every value bound on every row (by_statement)"),
    ):
        got = inserts[way]
        print(
            f"  {label}: {statistics.median(got):.2f} us (rounds: "
            + ", ".join(f"{c:.2f}" for c in got)
            + ")"
        )


def grow(chunks: int) -> None:
    """``chunks`` chunks into one database as the runner stores them, the service's
    checkpointer running: CPU a row per 10 chunks (commit's system CPU apart) and sizes."""
    spent = [0.0]
    checkpoint = WalCheckpointer.checkpoint

    def timed(self: WalCheckpointer) -> tuple[int, int, int]:
        t0 = time.thread_time()
        try:
            return checkpoint(self)
        finally:
            spent[0] += time.thread_time() - t0

    window = 10
    with tempfile.TemporaryDirectory(prefix="tp-bench-storage-") as tmp:
        path = f"{tmp}/g.db"
        engine, sessions = _database(f"sqlite:///{path}")
        checkpointer = WalCheckpointer(engine)
        checkpointer.checkpoint = timed.__get__(checkpointer)  # type: ignore[method-assign]
        insert = commit = commit_sys = 0.0
        before, t_window = spent[0], time.perf_counter()
        print(f"growth: {chunks} chunks of {N:,} rows into one SQLite file, checkpointer on")
        for k in range(chunks):
            hashes, ids = _chunk(k * N)
            now = dt.datetime.now(dt.UTC)
            leaves = b"".join(hashes)
            with sessions() as s:
                t0 = time.thread_time()
                batch = _built_batch(s, leaves, now, root=merkle.tree_root(leaves))
                _insert(s, batch.id, hashes, ids, k * N, now)
                t1 = time.thread_time()
                sys0 = resource.getrusage(resource.RUSAGE_THREAD).ru_stime
                s.commit()
                commit_sys += resource.getrusage(resource.RUSAGE_THREAD).ru_stime - sys0
                t2 = time.thread_time()
            insert += t1 - t0
            commit += t2 - t1
            if (k + 1) % window == 0:
                rows = window * N
                wal = Path(path + "-wal")
                print(
                    f"  {(k + 1) * N:>9,} rows: insert {insert / rows * 1e6:.2f}, commit "
                    f"{commit / rows * 1e6:.2f} (system {commit_sys / rows * 1e6:.2f}), "
                    f"checkpointer {(spent[0] - before) / rows * 1e6:.2f} us CPU a row; wall "
                    f"{(time.perf_counter() - t_window) / rows * 1e6:.1f} us a row; WAL "
                    f"{(wal.stat().st_size if wal.exists() else 0) / 2**20:.0f} MiB, file "
                    f"{os.path.getsize(path) / 2**20:,.0f} MiB",
                    flush=True,
                )
                insert = commit = commit_sys = 0.0
                before, t_window = spent[0], time.perf_counter()
        checkpointer.stop()
        engine.dispose()


def reads(rounds: int) -> None:
    """A path derived from the batch's leaves (first read, then cached) against one stored."""
    with tempfile.TemporaryDirectory(prefix="tp-bench-storage-") as tmp:
        engine, sessions = _database(f"sqlite:///{tmp}/r.db")
        hashes, ids = _chunk(0)
        _store(sessions, hashes, ids, 0, paths=False)
        first: list[float] = []
        cached: list[float] = []
        stored: list[float] = []
        same = True
        with sessions() as s:
            creds = s.query(CredentialRow).order_by(CredentialRow.leaf_index).all()
            batch = s.get(AnchorBatch, creds[0].batch_id)
            joined = MerkleTree(hashes).joined_paths()
            for _ in range(rounds):
                paths = AuditPaths()
                t0 = time.perf_counter()
                got = paths.path(s, creds[77], batch)
                first.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                for cred in creds[:1000]:
                    paths.path(s, cred, batch)
                cached.append((time.perf_counter() - t0) / 1000)
                same &= b"".join(got or []) == joined[77]
        with sessions.begin() as s:  # the same rows with their paths stored, as before 0007
            s.execute(
                update(CredentialRow),
                [{"seq": c.seq, "proof_path": joined[c.leaf_index]} for c in creds],
            )
        with sessions() as s:
            creds = s.query(CredentialRow).order_by(CredentialRow.leaf_index).all()
            paths = AuditPaths()
            for _ in range(rounds):
                t0 = time.perf_counter()
                for cred in creds[:1000]:
                    got = paths.path(s, cred, batch)
                stored.append((time.perf_counter() - t0) / 1000)
            same &= b"".join(paths.path(s, creds[77], batch) or []) == joined[77]
        engine.dispose()
    print(
        f"reading a path (batch of {N:,} leaves, {rounds} rounds, wall): derived, first read of "
        f"the batch {statistics.median(first) * 1e3:.1f} ms (tree built), then "
        f"{statistics.median(cached) * 1e6:.1f} us a credential (tree cached); stored in the "
        f"row {statistics.median(stored) * 1e6:.1f} us; same paths: {same}"
    )


def _postgres() -> tuple[str, Any] | None:
    """A throwaway PostgreSQL server (Debian's package), its URL and a stop function."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        return None
    bindir = found[-1].parent
    tmp = Path(tempfile.mkdtemp(prefix="tp-bench-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp / "data"
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres"]
        + ["--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log")]
        + ["-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


def postgres_insert(chunks: int, rounds: int) -> None:
    server = _postgres()
    if server is None:
        print("PostgreSQL: not measured (Debian's postgresql package is not installed)")
        return
    url, stop = server
    try:
        engine, sessions = _database(url)
        got: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        first = 0
        for r in range(rounds * chunks):
            for by_statement in (False, True) if r % 2 == 0 else (True, False):
                hashes, ids = _chunk(first)
                now = dt.datetime.now(dt.UTC)
                t0, w0 = time.thread_time(), time.perf_counter()
                with sessions.begin() as s:
                    batch = _built_batch(s, b"".join(hashes), now)
                    _insert(s, batch.id, hashes, ids, first, now, by_statement=by_statement)
                if r:  # the first round warms both
                    got[by_statement].append(
                        ((time.thread_time() - t0) / N * 1e6, (time.perf_counter() - w0) / N * 1e6)
                    )
                first += N
        engine.dispose()
    finally:
        stop()
    print(f"PostgreSQL, chunks of {N:,} rows, alternating ({len(got[False])} each):")
    for by_statement, label in ((False, "binary COPY (the runner's)"), (True, "executemany")):
        cpu = statistics.median(c for c, _w in got[by_statement])
        wall = statistics.median(w for _c, w in got[by_statement])
        print(f"  {label}: {cpu:.2f} us CPU a row in this process, {wall:.2f} us wall")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=6, help="chunks of 8,192 rows per round")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--grow",
        type=int,
        default=0,
        metavar="N",
        help="only the growth check: N chunks into one file (130 = 1,064,960 rows, ~2.5 GB)",
    )
    parser.add_argument(
        "--doc-bytes",
        type=int,
        default=len(DOC),
        metavar="B",
        help="bytes a stored document in the growth check (1,900: a whole degree credential; "
        "~600: its holes along the chunk's frame, migration 0011)",
    )
    args = parser.parse_args()
    if args.doc_bytes != len(DOC):
        globals()["DOC"] = (DOC * (args.doc_bytes // len(DOC) + 1))[: args.doc_bytes]
    if args.grow:
        grow(args.grow)
        return 0
    fast_paths(args.chunks, args.rounds)
    sqlite_storage(args.chunks, args.rounds)
    reads(max(args.rounds, 3))
    if not args.no_postgres:
        postgres_insert(max(args.chunks // 2, 2), args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
