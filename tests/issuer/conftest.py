"""Fixtures of the issuer tests: a real Anvil with the registry deployed, a service on a fresh
database per test (SQLite by default; PostgreSQL where a test asks for ``pg_url``), an operator
token and an onboarded institution."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .issuer_helpers import settings_env

_slugs = itertools.count(1)


def deployed_chain(node: Any, base: Path) -> dict[str, Any]:
    """``node`` with a TalentProofRegistry deployed by its first key, as the issuer tests read
    it (the deployment record saved in ``base``)."""
    from talentproof.ledger.deploy import deploy_registry

    deployment = deploy_registry(node.rpc_url, node.private_keys[0])
    record = base / "deployment.json"
    deployment.save(record)
    return {
        "rpc_url": node.rpc_url,
        "governor_key": node.private_keys[0],
        "deployment_file": record,
        "chain_id": deployment.chain_id,
        "registry": deployment.registry,
        "node": node,
    }


@pytest.fixture(scope="session")
def issuer_chain(anvil_node: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The session's Anvil (tests/conftest.py) with a TalentProofRegistry for the issuer tests."""
    return deployed_chain(anvil_node, tmp_path_factory.mktemp("issuer-chain"))


@pytest.fixture
def make_service(issuer_chain: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Build services on this test's data folder (database URL overridable)."""
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings

    made: list[IssuerService] = []

    def _make(**overrides: Any) -> IssuerService:
        fields = {
            k.removeprefix("TALENTPROOF_ISSUER_").lower(): v
            for k, v in settings_env(issuer_chain, tmp_path).items()
        }
        fields.update(overrides)
        service = IssuerService(IssuerSettings(**fields))
        made.append(service)
        return service

    yield _make
    for service in made:
        service.close()


@pytest.fixture
def service(make_service):  # type: ignore[no-untyped-def]
    """A service on SQLite in the test's folder."""
    return make_service()


@pytest.fixture
def client(service) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client on the app; workers are driven explicitly by the tests."""
    from talentproof.issuer.app import create_app

    with TestClient(create_app(service, run_worker=False)) as test_client:
        yield test_client


# -- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL server (Debian's package) on a free loopback port.

    Runs as the ``postgres`` user (PostgreSQL refuses root); yields a base URL without database.
    """
    bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (Debian package)")
    tmp = Path(tempfile.mkdtemp(prefix="tp-pg-"))
    data = tmp / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(tmp / "log"),
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh database on the session server."""
    import psycopg

    name = f"t{os.getpid()}_{next(_slugs)}_{int(time.time() * 1000) % 100000}"
    with psycopg.connect(pg_server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_server}/{name}"


def read_json(path: Path) -> Any:
    """JSON file content."""
    return json.loads(path.read_text())
