"""go-ethereum (geth) built from the Go module proxy, once, cached by version.

geth v1.13.x is the last release line that runs a Clique proof-of-authority network (signers
named in the genesis, voted in and out), which is what `talentproof.ledger.network` starts.
Neither Besu nor GoQuorum can be installed from the project's registries; geth is a Go module::

    go install github.com/ethereum/go-ethereum/cmd/geth@v1.13.15

`geth_binary()` returns the cached binary, building it first when it is missing:

- the cache is ``<repository>/.cache/geth/<version>/geth`` (``TALENTPROOF_GETH_CACHE`` moves
  the ``.cache/geth`` folder; ``TALENTPROOF_GETH`` names a ready binary and skips all this);
- the build runs under an exclusive lock file (``<cache>/<version>.lock``), so concurrent
  callers (pytest workers, two `make` runs) build once and the others wait and reuse it; it
  installs into a temporary folder and renames the binary into place, so a binary in the cache
  is always whole;
- Go 1.23 and newer refuse geth 1.13's ``memsize`` dependency (it links to a runtime symbol by
  ``go:linkname``) unless the linker gets ``-checklinkname=0``; it is passed when the Go in use
  is 1.23 or newer;
- Go's own module and build caches (``go env GOMODCACHE GOCACHE``) are used as they are, so a
  rebuild after the binary was deleted is quick.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from talentproof.ledger.errors import NodeError

__all__ = [
    "GETH_MODULE",
    "GETH_VERSION",
    "build_geth",
    "cache_root",
    "cached_geth",
    "geth_binary",
    "geth_version",
    "go_version",
]

GETH_MODULE = "github.com/ethereum/go-ethereum/cmd/geth"
GETH_VERSION = "v1.13.15"
"""The geth release the network runs: the last line with Clique (v1.14 removed block sealing)."""

_ENV_BINARY = "TALENTPROOF_GETH"
_ENV_CACHE = "TALENTPROOF_GETH_CACHE"
_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+$")
_BUILD_TIMEOUT_S = 1800.0


def _repo_root() -> Path | None:
    """The repository holding this package (the folder with pyproject.toml above it), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "ledger").is_dir():
            return parent
    return None


def cache_root() -> Path:
    """Where built geth binaries are kept: ``$TALENTPROOF_GETH_CACHE``, else the repository's
    ``.cache/geth``, else ``$XDG_CACHE_HOME/talentproof/geth``."""
    env = os.environ.get(_ENV_CACHE)
    if env:
        return Path(env)
    root = _repo_root()
    if root is not None:
        return root / ".cache" / "geth"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "talentproof" / "geth"


def _check_version(version: str) -> None:
    if not _VERSION_RE.match(version):
        raise NodeError(f"geth version {version!r}: expected a release tag like {GETH_VERSION}")


def cached_geth(version: str = GETH_VERSION, *, root: Path | None = None) -> Path:
    """The path of the cached binary for `version` (it may not exist yet)."""
    _check_version(version)
    return (root or cache_root()) / version / "geth"


def geth_version(binary: Path) -> str:
    """The version a geth binary reports (``1.13.15-stable``)."""
    try:
        out = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise NodeError(f"cannot run {binary}: {exc}") from exc
    match = re.search(r"^Version:\s*(\S+)", out.stdout, re.MULTILINE)
    if out.returncode != 0 or match is None:
        raise NodeError(
            f"{binary} version exited {out.returncode} without a version: "
            f"{(out.stdout + out.stderr)[-400:]}"
        )
    return match.group(1)


def _matches(binary: Path, version: str) -> bool:
    if not binary.is_file():
        return False
    try:
        return geth_version(binary).split("-")[0] == version.lstrip("v")
    except NodeError:
        return False


def _go() -> str:
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if found is None:
        raise NodeError(
            "go not found on PATH (nor /usr/local/go/bin/go): building geth needs Go 1.21 or "
            f"newer, or set {_ENV_BINARY} to a geth {GETH_VERSION} binary"
        )
    return found


def go_version(go: str | None = None) -> tuple[int, int]:
    """The (major, minor) version of the Go toolchain that would build geth."""
    go = go or _go()
    out = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
    )
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or match is None:
        raise NodeError(f"`{go} env GOVERSION` said {(out.stdout + out.stderr).strip()!r}")
    return int(match.group(1)), int(match.group(2))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_geth(
    version: str = GETH_VERSION,
    *,
    root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build geth `version` into the cache unless it is there already; returns the binary.

    Safe to call from several processes at once (one builds, the others wait on the lock).
    Raises `NodeError` with the Go toolchain's own output when the build fails.
    """
    target = cached_geth(version, root=root)
    if _matches(target, version):
        return target
    with _locked(target.parent.with_name(f"{version}.lock")):
        if _matches(target, version):  # built by whoever held the lock before us
            return target
        go = _go()
        major_minor = go_version(go)
        ldflags = ["-ldflags=-checklinkname=0"] if major_minor >= (1, 23) else []
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
        env = {**os.environ, "GOBIN": str(staging), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "1"}
        cmd = [go, "install", *ldflags, f"{GETH_MODULE}@{version}"]
        if log is not None:
            log(
                f"building geth {version} with go{major_minor[0]}.{major_minor[1]}: {' '.join(cmd)}"
            )
        started = time.monotonic()
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env=env,
                timeout=_BUILD_TIMEOUT_S,
                check=False,
                cwd=staging,
            )
            built = staging / "geth"
            if done.returncode != 0 or not built.is_file():
                raise NodeError(
                    f"building geth {version} failed (exit {done.returncode}) running "
                    f"{' '.join(cmd)}:\n{(done.stdout + done.stderr)[-4000:]}"
                )
            os.replace(built, target)
        except subprocess.TimeoutExpired:
            raise NodeError(
                f"building geth {version} took longer than {_BUILD_TIMEOUT_S:g} s"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if not _matches(target, version):
            raise NodeError(f"{target} was built but does not report version {version}")
        if log is not None:
            log(f"built {target} in {time.monotonic() - started:.0f} s")
        return target


def geth_binary(version: str = GETH_VERSION, *, log: Callable[[str], None] | None = None) -> Path:
    """A runnable geth: ``$TALENTPROOF_GETH`` if set, else the cached build (built if missing)."""
    env = os.environ.get(_ENV_BINARY)
    if env:
        path = Path(env)
        if not path.is_file():
            raise NodeError(f"{_ENV_BINARY}={env} does not exist")
        return path
    return build_geth(version, log=log)
