"""Where the store's SQLite lock files sit: beside the database file's real path.

Every lock among the processes and replicas on one SQLite database (the anchoring lease
`store.lease`, the per-account send lock `store.sendlock`, the writers' lock `store.locks`) is
an ``flock`` on a file named ``<db>-<suffix>``. ``<db>`` must name the database *file*, not the
URL's text: a replica reaching the file through a symlink to it, or as an SQLite ``file:`` URI,
would otherwise lock a file of its own, and two holders of what must be one lock would run
(issue 16 debt). So ``<db>`` is the file's real path: symlinks and ``..`` resolved, an SQLite URI
filename read as its path. An in-memory database has no lock file (its locks are this
process's).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from sqlalchemy.engine import Engine


def sqlite_file(engine: Engine) -> str | None:
    """The real path (symlinks and ``..`` resolved) of an SQLite engine's database file; None
    for an in-memory database (no file name, ``:memory:``, a ``file:`` URI with
    ``mode=memory``). A ``file:`` name with ``uri=true`` is an SQLite URI filename (its path
    read from ``file:/path``, ``file:///path``, ``file://localhost/path`` or a relative
    ``file:name``, percent-decoded); without it, ``file:...`` is the file's literal name."""
    if engine.dialect.name != "sqlite":
        raise ValueError(f"a lock file needs an SQLite database, not {engine.dialect.name!r}")
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    query = engine.url.query
    if database.startswith("file:") and str(query.get("uri", "")).lower() in ("true", "1"):
        if str(query.get("mode", "")).lower() == "memory":
            return None
        path = database.removeprefix("file:")
        if path.startswith("//"):  # an authority: empty or localhost (SQLite refuses others)
            authority, _, rest = path[2:].partition("/")
            if authority not in ("", "localhost"):
                raise ValueError(
                    f"SQLite URI {database!r}: expected file:///path or file://localhost/path"
                )
            path = "/" + rest
        path = urllib.parse.unquote(path)
        if not path or path == ":memory:":
            return None
        database = path
    return os.path.realpath(database)


def lock_path(engine: Engine, suffix: str) -> Path | None:
    """The lock file ``<db>-<suffix>`` of an SQLite engine's database, ``<db>`` the database
    file's real path (`sqlite_file`); None for an in-memory database."""
    database = sqlite_file(engine)
    return None if database is None else Path(f"{database}-{suffix}")
