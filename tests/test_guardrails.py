"""The private-import check (scripts/check_private_imports.py) finds what it is meant to find.

`make lint` runs the check on the code; this proves on small made-up modules that each kind of
reach is caught and that what is allowed is not flagged (issue 13, points 2 and 6).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_private_imports.py"
KNOWN = {
    "talentproof.credential",
    "talentproof.credential.jcs",
    "talentproof.credential._base58",
    "talentproof.ledger",
    "talentproof.ledger._internal",
    "talentproof.ledger._internal.rpc",
    "talentproof.verifier",
    "talentproof.verifier.engine",
}


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_private_imports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scan(check, tmp_path: Path, module: str, source: str) -> list[tuple[str, str]]:
    path = tmp_path / "m.py"
    path.write_text(source)
    return [(imported, name) for _, imported, name in check.scan(module, path, KNOWN)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a private name of another module, in the same package or another
        (
            "from talentproof.credential.jcs import _utf16_key",
            ("talentproof.credential.jcs", "_utf16_key"),
        ),
        # a private module of another package
        (
            "import talentproof.ledger._internal.rpc as rpc",
            ("talentproof.ledger._internal.rpc", "rpc"),
        ),
        ("from talentproof.ledger._internal import rpc", ("talentproof.ledger._internal", "*")),
        (
            "from talentproof.ledger._internal.rpc import Client",
            ("talentproof.ledger._internal.rpc", "*"),
        ),
        # an attribute reach through a module bound by an import
        (
            "from talentproof.credential import jcs\njcs._utf16_key('a')",
            ("talentproof.credential.jcs", "_utf16_key"),
        ),
    ],
)
def test_reaches_are_flagged(check, tmp_path, source, expected):
    assert expected in _scan(check, tmp_path, "talentproof.verifier.engine", source)


@pytest.mark.parametrize(
    "source",
    [
        "from talentproof.credential.jcs import canonicalize",  # public names
        "from talentproof.credential import _base58",  # a package's own private module
        "from talentproof.credential._base58 import b58encode",
        "from os import _exit",  # not ours
        "from talentproof.verifier.engine import __all__",  # dunders are not private
    ],
)
def test_allowed_imports_are_not_flagged(check, tmp_path, source):
    assert _scan(check, tmp_path, "talentproof.credential.integrity", source) == []


def test_relative_import_resolves_against_the_importer(check, tmp_path):
    found = _scan(
        check, tmp_path, "talentproof.credential.integrity", "from .jcs import _utf16_key"
    )
    assert found == [("talentproof.credential.jcs", "_utf16_key")]


# --------------------------------------------------------------------------- chain access


ROOT = SCRIPT.parent.parent
#: Packages that reach the chain only through `talentproof.ledger` (issue 13, point 2): no
#: JSON-RPC method of their own, no web3 or ABI codec of their own (the issuer's `ChainGateway`
#: reads and writes through `ledger.link.RegistryLink`).
LEDGER_USERS = ("verifier", "wallet", "talentproof", "credential", "issuer")
_CHAIN_LIBRARIES = ("web3", "eth_abi")  # (eth_account only turns keys into addresses)


def _chain_reaches(path: Path) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("eth_") and node.value[4:].isalpha():
                found.append(f"{path}:{node.lineno}: JSON-RPC method {node.value!r}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                if name and name.split(".")[0] in _CHAIN_LIBRARIES:
                    found.append(f"{path}:{node.lineno}: imports {name}")
    return found


@pytest.mark.parametrize("package", LEDGER_USERS)
def test_the_chain_is_reached_through_the_ledger_only(package: str) -> None:
    """A package above or beside the ledger names no JSON-RPC method and imports no web3 or ABI
    codec: its chain reads go through `ledger` (the verifier's through `ChainReader`)."""
    reaches = [r for p in sorted((ROOT / package).rglob("*.py")) for r in _chain_reaches(p)]
    assert reaches == []


def test_the_chain_reach_check_sees_a_reach(tmp_path: Path) -> None:
    """The control: the scan above flags a method name and a web3 import."""
    module = tmp_path / "m.py"
    module.write_text('from web3 import Web3\nreader.batch([("eth_getBlockByNumber", [])])\n')
    assert len(_chain_reaches(module)) == 2


# --------------------------------------------------------------------------- SQL in the store


_SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|COPY|PRAGMA)(\s|$)")
_SQL_CALLS = {"execute", "executemany", "exec_driver_sql", "raw_connection"}
_SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}


def _sql_outside_the_store(path: Path) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        # (an f-string's literal parts are Constant nodes too)
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and _SQL_TEXT.match(text) and text.split()[0].isupper():
            found.append(f"{path}:{node.lineno}: SQL text")
        call = node.func if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Attribute) and call.attr in _SQL_CALLS:
            found.append(f"{path}:{node.lineno}: {call.attr}()")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"{path}:{node.lineno}: imports sqlalchemy's {a.name}"
                for a in node.names
                if a.name in _SQL_BUILDERS
            ]
    return found


def test_the_issuer_store_owns_the_sql() -> None:
    """Outside issuer/store/ (and the schema, issuer/db.py, and its migrations) the issuer writes
    no SQL text, runs no statement itself, builds no query and opens no raw DB-API connection
    (issue 13, point 1): use cases and workers call the store's functions (the group commit its
    `store.cursor_session`). (ORM unit-of-work calls, ``session.get``/``add``, stay with the use
    cases.)"""
    issuer = ROOT / "issuer"
    reaches = [
        r
        for p in sorted(issuer.rglob("*.py"))
        if p.relative_to(issuer).parts[0] not in ("store", "migrations") and p.name != "db.py"
        for r in _sql_outside_the_store(p)
    ]
    assert reaches == []


def test_the_sql_check_sees_sql(tmp_path: Path) -> None:
    """The control: SQL text, a statement run, a query built and a raw connection opened are
    each flagged; prose that starts with an SQL word is not."""
    module = tmp_path / "m.py"
    module.write_text(
        "from sqlalchemy import select\n"
        'sql = f"INSERT INTO {table} VALUES (?)"\n'
        'copy = f"COPY {table} FROM STDIN"\n'
        "connection.execute(statement)\n"
        "raw = engine.raw_connection()\n"
        '"""Delete a job\'s upload once the job has ended."""\n'
    )
    assert len(_sql_outside_the_store(module)) == 5


# --------------------------------------------------------------------------- errors to HTTP


def _http_errors_in_route(path: Path) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.keyword) and node.arg == "status_code":
            value = node.value
            if (
                isinstance(value, ast.Constant)
                and isinstance(value.value, int)
                and value.value >= 400
            ):
                found.append(f"{path}:{value.lineno}: answers {value.value} itself")
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        found += [f"{path}:{node.lineno}: imports {n}" for n in names if n.startswith("sqlalchemy")]
    return found


def test_routes_map_no_error_to_http_themselves() -> None:
    """A route of the issuer's API answers no error status of its own and catches no database
    error (issue 13, point 1): the use cases raise domain errors (`issuer.errors`), and
    issuer/api/errors.py alone maps them to HTTP."""
    routes = ROOT / "issuer" / "api" / "routes"
    found = [r for p in sorted(routes.rglob("*.py")) for r in _http_errors_in_route(p)]
    assert found == []


def test_the_route_check_sees_an_error_answered_in_a_route(tmp_path: Path) -> None:
    """The control: an error status answered and a database error caught are each flagged; a
    success status is not."""
    module = tmp_path / "m.py"
    module.write_text(
        "from sqlalchemy.exc import SQLAlchemyError\n"
        "ok = ORJSONResponse(body, status_code=202)\n"
        "bad = ORJSONResponse(body, status_code=503)\n"
    )
    assert len(_http_errors_in_route(module)) == 2


# --------------------------------------------------------------------------- class names


#: Every folder of the distribution whose modules define classes (the `talentproof` namespace:
#: the CLI modules, the four packages, the wallet and the contracts' Python helpers).
DISTRIBUTION = ("talentproof", "credential", "ledger", "issuer", "verifier", "wallet", "contracts")
#: Class names deliberately defined in more than one module, each with its reason. Empty: every
#: class name says what it is once in the whole distribution.
SHARED_CLASS_NAMES: dict[str, str] = {}


def _class_definitions(paths: list[Path], root: Path) -> dict[str, list[str]]:
    """class name -> the modules (paths relative to ``root``) that define a class of that name,
    at any depth (nested and private classes included)."""
    import ast

    found: dict[str, list[str]] = {}
    for path in paths:
        module = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and module not in found.get(node.name, []):
                found.setdefault(node.name, []).append(module)
    return found


def _clashes(paths: list[Path], root: Path) -> dict[str, list[str]]:
    return {
        name: modules
        for name, modules in _class_definitions(paths, root).items()
        if len(modules) > 1 and name not in SHARED_CLASS_NAMES
    }


def test_no_class_name_is_defined_twice() -> None:
    """No class name is defined in two modules of the distribution (issue 13, point 5): a reader
    who meets ``Outcome`` or ``Credential`` in a traceback, a log or an import knows which one it
    is (an ORM row, a pydantic model, a verdict). A clash that is truly intended goes into
    SHARED_CLASS_NAMES with its reason."""
    paths = [p for package in DISTRIBUTION for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(paths) > 100  # the walk saw the distribution
    assert _clashes(paths, ROOT) == {}


def test_every_shared_class_name_is_still_shared() -> None:
    """An allow-listed name that is no longer defined twice leaves the allow-list."""
    paths = [p for package in DISTRIBUTION for p in sorted((ROOT / package).rglob("*.py"))]
    defined = _class_definitions(paths, ROOT)
    assert [n for n in SHARED_CLASS_NAMES if len(defined.get(n, [])) < 2] == []


def test_the_class_name_check_sees_a_clash(tmp_path: Path) -> None:
    """The control: the same name in two modules is flagged, nested or private; distinct names
    and one name defined twice in one module are not."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "m.py").write_text("class Outcome: ...\nclass Row: ...\nclass Row: ...\n")
    (tmp_path / "b" / "n.py").write_text(
        "class Outcome: ...\ndef f():\n    class _State: ...\nclass Other: ...\n"
    )
    (tmp_path / "b" / "o.py").write_text("class _State: ...\n")
    paths = sorted(tmp_path.rglob("*.py"))
    assert _clashes(paths, tmp_path) == {
        "Outcome": ["a/m.py", "b/n.py"],
        "_State": ["b/n.py", "b/o.py"],
    }
