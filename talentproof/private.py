"""Private files: what the product writes in its data folder is readable by its own user only.

The data folder holds the issuer's database (personal data, sealed keys), its write-ahead log,
bulk uploads, logs, the verifier's receipt key and, under `talentproof run`, the development
secrets. Every long-running command (`issuer serve` / `worker`, `verifier serve`,
`talentproof run`, `node start`) sets the process umask to 0o077 (`restrict_umask`), so
whatever it or its children (SQLite, Anvil, uvicorn) create is 0600 (folders 0700); the data
folder itself is made 0700 (`private_dir`) and files that must exist before a library opens them
(the SQLite database, whose WAL and shared-memory files SQLite creates with the database's own
mode) are created 0600 or brought to 0600 (`private_file`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: The umask of the product's processes: no access for group and others.
PRIVATE_UMASK = 0o077


def restrict_umask() -> int:
    """Set the process umask to `PRIVATE_UMASK` (at least as strict as before); returns the
    previous umask."""
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its missing parents) with mode 0700, or bring an existing folder
    to 0700; returns ``path``."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # not ours: leave it (the owner decides)
        if stat.S_IMODE(path.stat().st_mode) != 0o700:
            os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if absent, else bring it to 0600; returns ``path``."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        with contextlib.suppress(PermissionError):
            if stat.S_IMODE(path.stat().st_mode) != 0o600:
                os.chmod(path, 0o600)
    return path


def open_private(path: Path, mode: str = "ab"):  # type: ignore[no-untyped-def]
    """``open(path, mode)`` for writing (text in UTF-8), the file created (or kept) with mode
    0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    if "a" in mode:
        flags |= os.O_APPEND
    elif "w" in mode:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    with contextlib.suppress(PermissionError):
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8")


def tighten_tree(root: Path) -> None:
    """Bring every folder under ``root`` (itself included) to 0700 and every file to 0600:
    a data folder written before the product restricted its modes."""
    root = Path(root)
    if not root.is_dir():
        return
    private_dir(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            with contextlib.suppress(OSError):
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o700)
        for name in filenames:
            with contextlib.suppress(OSError):
                full = os.path.join(dirpath, name)
                if not os.path.islink(full) and stat.S_IMODE(os.lstat(full).st_mode) & 0o077:
                    os.chmod(full, stat.S_IMODE(os.lstat(full).st_mode) & 0o700)
