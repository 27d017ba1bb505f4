"""A service holding a `SigningPool` that is killed (SIGKILL: no shutdown runs) leaves no process
behind: its signing processes, the forkserver they were forked from and the resource tracker all
end on their own. Before, they lived on forever (about 200 MiB a crash), holding the pipes they
inherited (a parent reading the service's stdout never saw its end)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_bulk_pool import _alive

pytestmark = pytest.mark.integration

WAIT_S = 30  # a generous bound on the orphans' own ending, not a performance figure

#: The owner: starts a pool of 2, writes the ids (to a file: an orphan would hold a pipe open)
#: of everything the pool started, then kills itself as a crash would.
_OWNER = """
import os, signal, sys
from multiprocessing import forkserver, resource_tracker
from talentproof.issuer._bulkpool import SigningPool

if __name__ == "__main__":
    pool = SigningPool(2)
    pool.start()
    workers = pool.pids()
    assert len(workers) == 2, workers
    # the standard library's private pids: no public reader names the forkserver and tracker
    server = forkserver._forkserver._forkserver_pid
    tracker = resource_tracker._resource_tracker._pid
    lines = [f"worker {pid}" for pid in workers] + [f"forkserver {server}"]
    if tracker is not None:
        lines.append(f"resource_tracker {tracker}")
    path = sys.argv[1]
    with open(path + ".tmp", "w") as out:
        out.write("\\n".join(lines) + "\\n")
    os.replace(path + ".tmp", path)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _started_at(pid: int) -> bytes | None:
    """The process's start time (field 22 of /proc/<pid>/stat): tells a survivor from a new
    process that was given the same id."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def test_killed_owner_leaves_no_signing_process(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    log = tmp_path / "owner.log"
    with open(log, "wb") as out:
        # output to a file, not a pipe: this test must not hang on what it looks for
        owner = subprocess.run(
            [sys.executable, "-c", _OWNER, str(pids_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
    assert owner.returncode == -signal.SIGKILL, log.read_text()
    started: dict[int, tuple[str, bytes | None]] = {}
    for line in pids_file.read_text().splitlines():
        what, pid = line.split()
        started[int(pid)] = (what, _started_at(int(pid)))
    assert sum(what == "worker" for what, _ in started.values()) == 2, started
    assert any(what == "forkserver" for what, _ in started.values()), started

    def survivors() -> list[str]:
        return [
            f"{what} {pid}"
            for pid, (what, since) in started.items()
            if since is not None and _alive(pid) and _started_at(pid) == since
        ]

    deadline = time.monotonic() + WAIT_S
    try:
        while survivors() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not survivors(), f"alive {WAIT_S} s after their owner was killed: {survivors()}"
    finally:
        for line in survivors():  # a failed run leaves no orphan either
            os.kill(int(line.split()[1]), signal.SIGKILL)


#: A process that runs the signing processes' watch on ``argv[1]`` (its pidfd, or without
#: ``os.pidfd_open`` the once-a-second look) and says when it ended: it exits only through it.
_WATCHER = """
import os, sys, time
if sys.argv[2] == "no-pidfd":
    del os.pidfd_open
from talentproof.issuer._bulkpool import exit_with

exit_with(int(sys.argv[1]))
time.sleep(3600)
"""


@pytest.mark.parametrize("how", ["pidfd", "no-pidfd"])
def test_watch_ends_the_process_when_its_owner_ends(how: str, tmp_path: Path) -> None:
    # the owner is left a zombie (killed, not reaped): it has ended all the same
    owner = subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL)
    log = tmp_path / "watcher.log"
    with open(log, "wb") as out:
        watcher = subprocess.Popen(
            [sys.executable, "-c", _WATCHER, str(owner.pid), how],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        time.sleep(2)  # the watcher imports and starts watching (not a measured figure)
        assert watcher.poll() is None, log.read_text()
        os.kill(owner.pid, signal.SIGKILL)
        assert watcher.wait(timeout=WAIT_S) == 0, log.read_text()
    finally:
        for proc in (watcher, owner):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
