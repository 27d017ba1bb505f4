"""Issue 12, points 1 and 2: no secret at rest in clear, private files, bulk uploads removed.

The attack: someone who can read the issuer's data folder (a backup, another local user, a
copied disk image) must find no API key, operator token, signing seed or chain key in clear, in
any file or any table row, idempotent replays included; and the folder and every file the
product writes in it must be private to the service's user.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import MetaData, select, text

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import IdempotencyRecord, InstitutionRow, SigningKey
from tests.issuer.conftest import (  # noqa: F401
    client,
    issuer_chain,
    make_service,
    pg_server,
    pg_url,
    service,
)
from tests.issuer.issuer_helpers import (
    OPERATOR_TOKEN,
    PASSPHRASE,
    bearer,
    degree_request,
    new_slug,
    operator_headers,
    settings_env,
)

pytestmark = pytest.mark.integration


def _encodings(value: bytes | str) -> dict[str, bytes]:
    """The forms a secret could take at rest: raw, hex (both cases), base64, base64url, and for
    32-byte keys base58 multibase; texts also as UTF-8 and base64 of their UTF-8."""
    raw = value.encode() if isinstance(value, str) else value
    forms = {
        "raw": raw,
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
    }
    if isinstance(value, bytes) and len(value) == 32:
        forms["multibase"] = Ed25519SigningKey.from_seed(value).multibase.encode()
    return forms


def _onboard(client: Any, token: str, idem: str | None, slug: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return client.post(
        "/operator/institutions",
        headers=headers,
        json={
            "name": "University of Testing",
            "slug": slug or new_slug("sealed"),
            "credential_types": ["DegreeCredential"],
        },
    )


def _scan_tables(service: Any) -> bytes:
    """Every value of every row of every table, as bytes (bytes as they are, others as text)."""
    meta = MetaData()
    meta.reflect(service.engine)
    parts: list[bytes] = []
    with service.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\n".join(parts)


def _scan_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _same_body(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        b, option=orjson.OPT_SORT_KEYS
    )


def test_no_secret_at_rest_in_clear_idempotent_replays_included(client, service) -> None:
    data_dir = Path(service.settings.data_dir)
    tokens: dict[str, str] = {}
    # an operator key from the database (CLI bootstrap) beside the configured one
    db_operator = service.create_operator_key("second operator")
    tokens["db operator key"] = db_operator

    # onboarding with an Idempotency-Key, by each operator, and its replay
    slug = new_slug("sealed")
    first = _onboard(client, OPERATOR_TOKEN, "onboard-once-1", slug)
    assert first.status_code == 201, first.text
    again = _onboard(client, OPERATOR_TOKEN, "onboard-once-1", slug)
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _same_body(again.json(), first.json())  # the retrying client gets its key back
    assert again.json()["api_key"]["token"].startswith("tpk_")
    tokens["onboarding key"] = first.json()["api_key"]["token"]
    second = _onboard(client, db_operator, "onboard-once-2")
    assert second.status_code == 201, second.text
    tokens["onboarding key (db operator)"] = second.json()["api_key"]["token"]

    # a replay with another operator's credentials is not that operator's answer
    other = _onboard(client, db_operator, "onboard-once-1")
    assert other.status_code == 201 and other.headers.get("Idempotent-Replayed") is None
    tokens["onboarding key (other operator)"] = other.json()["api_key"]["token"]

    # API key creation and rotation with an Idempotency-Key, replayed
    body = {"scopes": ["issue", "read"], "name": "sealed"}
    made = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(**{"Idempotency-Key": "create-1"}),
        json=body,
    )
    assert made.status_code == 201, made.text
    replay = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(**{"Idempotency-Key": "create-1"}),
        json=body,
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == made.json()
    tokens["created key"] = made.json()["token"]
    key_id = made.json()["id"]
    rotated = client.post(
        f"/operator/institutions/{slug}/api-keys/{key_id}/rotate",
        headers=operator_headers(**{"Idempotency-Key": "rotate-1"}),
    )
    assert rotated.status_code == 201, rotated.text
    replay = client.post(
        f"/operator/institutions/{slug}/api-keys/{key_id}/rotate",
        headers=operator_headers(**{"Idempotency-Key": "rotate-1"}),
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == rotated.json()
    tokens["rotated key"] = rotated.json()["token"]
    # the same Idempotency-Key for another request is still refused
    assert (
        client.post(
            f"/operator/institutions/{slug}/api-keys",
            headers=operator_headers(**{"Idempotency-Key": "create-1"}),
            json={"scopes": ["read"]},
        ).status_code
        == 409
    )
    # a signing-key rotation (a new seed, sealed)
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate",
        headers=operator_headers(**{"Idempotency-Key": "rotate-signing-1"}),
    )
    assert r.status_code == 200, r.text

    # the keys work: issuance, bulk (its upload is removed once the job ends)
    key = tokens["rotated key"]
    issued = client.post(
        "/credentials",
        headers=bearer(key, **{"Idempotency-Key": "i-1"}),
        json=degree_request("Sealed Studies"),
    )
    assert issued.status_code == 202, issued.text
    rows = b"\n".join(orjson.dumps(degree_request(f"Bulk Sealed {i}")) for i in range(3)) + b"\n"
    job = client.post(
        "/bulk-jobs",
        headers=bearer(key),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", rows, "application/x-ndjson")},
    )
    assert job.status_code == 202, job.text
    BulkRunner(service, processes=1).run_pending()
    client.app.state.worker.drain(30)

    # every secret of every kind, in every encoding
    with service.sessions() as session:
        insts = list(session.scalars(select(InstitutionRow)))
        keys = list(session.scalars(select(SigningKey)))
        seeds = {
            f"seed {k.id}": service.vault.open(k.seed_enc, context=f"signing-key:{k.id}")
            for k in keys
        }
        accounts = {f"chain key {i.slug}": service.account_key(i) for i in insts}
    assert len(seeds) >= 4 and len(accounts) >= 3
    secrets: dict[str, bytes | str] = {
        "operator token": OPERATOR_TOKEN,
        "passphrase": PASSPHRASE,
        "governor key": service.settings.secret("governor_key") or "",
        **seeds,
        **accounts,
    }
    for what, token in tokens.items():
        secrets[what] = token
        secrets[f"{what} (secret part)"] = token.split("_", 2)[2]
    governor = secrets.pop("governor key")
    assert isinstance(governor, str)
    secrets["governor key"] = bytes.fromhex(governor.removeprefix("0x"))
    needles = {
        f"{what} [{form}]": blob
        for what, value in secrets.items()
        for form, blob in _encodings(value).items()
    }

    def _check(where: str, haystack: bytes) -> list[str]:
        return [f"{needle} in {where}" for needle, blob in needles.items() if blob in haystack]

    # the scans see what they should: credentials are in the tables and the files
    rows_blob = _scan_tables(service)
    assert b"Sealed Studies" in rows_blob
    files = _scan_files(data_dir)
    assert any(name.startswith("issuer.db") for name in files)
    assert any(b"Sealed Studies" in blob for blob in files.values())
    found = _check("table rows", rows_blob)
    for name, blob in files.items():
        found += _check(name, blob)
    assert not found, f"secrets at rest in clear: {found}"
    # the stored answers hold neither the Idempotency-Keys of operators nor a key in clear
    with service.sessions() as session:
        stored = list(session.scalars(select(IdempotencyRecord)))
    operator_rows = [r for r in stored if r.key.startswith("h:")]
    assert len(operator_rows) >= 6
    assert not any(r.key in ("onboard-once-1", "create-1", "rotate-1") for r in stored)
    assert all(b"tpk_" not in r.body for r in stored)

    service.close()  # after the last checkpoint too
    files = _scan_files(data_dir)
    found = [hit for name, blob in files.items() for hit in _check(name, blob)]
    assert not found, f"secrets at rest in clear after shutdown: {found}"


def test_clear_replays_from_before_are_scrubbed(make_service) -> None:
    service = make_service()
    data_dir = Path(service.settings.data_dir)
    leaked = "tpk_0123456789abcdef_LEAKEDsecretLEAKEDsecretLEAKEDsecret0000"
    with service.session() as session:
        session.add(
            IdempotencyRecord(
                principal="env-operator",
                key="old-key",
                fingerprint=b"x",
                status_code=201,
                body=orjson.dumps({"id": "0123456789abcdef", "token": leaked}),
                headers="{}",
            )
        )
        session.add(
            IdempotencyRecord(
                principal="abc",
                key="kept",
                fingerprint=b"x",
                status_code=202,
                body=orjson.dumps({"id": "urn:uuid:1"}),
                headers="{}",
            )
        )
        session.execute(text("DELETE FROM issuer_meta WHERE key = 'replays_sealed'"))
    service.close()
    restarted = make_service()
    with restarted.sessions() as session:
        keys = {r.key for r in session.scalars(select(IdempotencyRecord))}
    assert keys == {"kept"}
    restarted.close()
    blob = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert leaked.encode() not in blob


# -- point 2: private files -----------------------------------------------------------------------


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) readable or writable by group or others."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        if mode != expected:
            loose.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return loose


def test_data_folder_is_private_and_bulk_uploads_are_removed(
    issuer_chain,
    tmp_path,
    make_service,
) -> None:
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app

    # a folder from before: world-readable, with a world-readable database
    data_dir = tmp_path
    os.chmod(data_dir, 0o755)
    service = make_service()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    old_umask = os.umask(0o022)  # the test process's usual umask: the service must not rely on it
    try:
        with TestClient(create_app(service, run_worker=False)) as http:
            inst = _onboard(http, OPERATOR_TOKEN, None).json()
            key = inst["api_key"]["token"]
            assert (
                http.post(
                    "/credentials", headers=bearer(key), json=degree_request("Private Files")
                ).status_code
                == 202
            )
            rows = b"\n".join(orjson.dumps(degree_request(f"Private Bulk {i}")) for i in range(4))
            rows += b"\n{not json}\n"
            r = http.post(
                "/bulk-jobs",
                headers=bearer(key),
                data={"type": "DegreeCredential"},
                files={"file": ("rows.jsonl", rows, "application/x-ndjson")},
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            uploads = list((data_dir / "bulk").iterdir())
            assert len(uploads) == 1
            assert stat.S_IMODE(uploads[0].stat().st_mode) == 0o600
            assert stat.S_IMODE((data_dir / "bulk").stat().st_mode) == 0o700
            BulkRunner(service, processes=1).run_pending()
            http.app.state.worker.drain(30)
            # the upload is gone once the job ended; its results and errors stay downloadable
            assert list((data_dir / "bulk").iterdir()) == []
            status = http.get(f"/bulk-jobs/{job_id}", headers=bearer(key)).json()
            assert (status["state"], status["succeeded"], status["failed"]) == ("done", 4, 1)
            results = http.get(f"/bulk-jobs/{job_id}/results", headers=bearer(key))
            assert results.status_code == 200
            assert len(results.content.splitlines()) == 4
            assert b"Private Bulk 3" in results.content
            errors = http.get(f"/bulk-jobs/{job_id}/errors", headers=bearer(key))
            assert len(errors.content.splitlines()) == 1
            assert not _loose(data_dir), _loose(data_dir)
            # an upload left behind by a job that ended (the service stopped in between) is
            # removed when the bulk runner starts
            leftover = data_dir / "bulk" / f"{job_id}.jsonl"
            leftover.write_bytes(rows)
            assert BulkRunner(service, processes=1).remove_ended_uploads() == 1
            assert not leftover.exists()
            assert http.get(f"/bulk-jobs/{job_id}/results", headers=bearer(key)).status_code == 200
    finally:
        os.umask(old_umask)
    service.close()
    assert not _loose(data_dir), _loose(data_dir)


def test_existing_world_readable_database_is_made_private(make_service, tmp_path) -> None:
    make_service().close()
    for path in [tmp_path, *tmp_path.glob("issuer.db*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    make_service().close()
    assert not _loose(tmp_path), _loose(tmp_path)


def test_commands_write_private_files(issuer_chain, tmp_path) -> None:
    """`issuer migrate` (any issuer command) in development mode with the usual umask 022:
    the data folder 0700, the database, its WAL, the generated passphrase and operator token
    0600; the development stack's logs and the node's log too."""
    data_dir = tmp_path / "data"
    env = {**os.environ, **settings_env(issuer_chain, data_dir)}
    for name in ("TALENTPROOF_ISSUER_KEY_PASSPHRASE", "TALENTPROOF_ISSUER_OPERATOR_TOKEN"):
        env.pop(name)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.umask(0o022); "
            "from talentproof.cli import main; sys.argv = ['talentproof', 'issuer', 'migrate']; main()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = {p.name for p in data_dir.iterdir()}
    assert {"issuer.db", "issuer-passphrase", "issuer-operator-token"} <= names
    assert not _loose(data_dir), _loose(data_dir)

    # talentproof run's service logs
    from talentproof.devstack import Service

    logs = tmp_path / "stack" / "logs"
    old = os.umask(0o022)
    try:
        svc = Service(
            "x",
            [sys.executable, "-c", "print('hello')"],
            "http://127.0.0.1:1/healthz",
            logs / "x.log",
            {},
        )
        svc.start()
        assert svc.process is not None
        svc.process.wait(30)
    finally:
        os.umask(old)
    assert (logs / "x.log").read_text().strip() == "hello"
    assert not _loose(logs), _loose(logs)


def test_private_helpers(tmp_path) -> None:
    from talentproof.private import open_private, private_dir, private_file, tighten_tree

    old = os.umask(0o022)
    try:
        folder = tmp_path / "a" / "b"
        folder.mkdir(parents=True)
        (folder / "f").write_text("x")
        os.chmod(tmp_path / "a", 0o755)
        tighten_tree(tmp_path / "a")
        assert not _loose(tmp_path / "a")
        private_dir(tmp_path / "c")
        private_file(tmp_path / "c" / "db")
        with open_private(tmp_path / "c" / "log") as handle:
            handle.write(b"line\n")
        assert not _loose(tmp_path / "c")
    finally:
        os.umask(old)


@pytest.mark.postgres
def test_operator_replays_sealed_on_postgres(make_service, pg_url) -> None:
    """The same on PostgreSQL: the replay gives the key back, no table row holds it, and a
    clear answer stored before is scrubbed at start-up."""
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app

    service = make_service(database_url=pg_url)
    assert service.engine.dialect.name == "postgresql"
    with TestClient(create_app(service, run_worker=False)) as http:
        slug = new_slug("pg-sealed")
        first = _onboard(http, OPERATOR_TOKEN, "pg-onboard", slug)
        again = _onboard(http, OPERATOR_TOKEN, "pg-onboard", slug)
        assert first.status_code == again.status_code == 201, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert _same_body(first.json(), again.json())
        token = first.json()["api_key"]["token"]
        assert token.encode() not in _scan_tables(service)
        assert token.split("_", 2)[2].encode() not in _scan_tables(service)
        leaked = "tpk_0123456789abcdef_LEAKEDsecretLEAKEDsecretLEAKEDsecret0000"
        with service.session() as session:
            session.add(
                IdempotencyRecord(
                    principal="env-operator",
                    key="old-key",
                    fingerprint=b"x",
                    status_code=201,
                    body=orjson.dumps({"token": leaked}),
                    headers="{}",
                )
            )
            session.execute(text("DELETE FROM issuer_meta WHERE key = 'replays_sealed'"))
    service.close()
    restarted = make_service(database_url=pg_url)
    assert leaked.encode() not in _scan_tables(restarted)
    assert b"pg-onboard" not in _scan_tables(restarted)
