"""Helpers shared by the issuer tests (requests, headers, onboarding)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from talentproof.credential.examples import PERSON
from talentproof.credential.keys import Ed25519SigningKey

OPERATOR_TOKEN = "operator-test-token-0123456789"
PASSPHRASE = "issuer-test-passphrase"
_slugs = itertools.count(1)

PERSON_CSV_COLUMNS = (
    "credentialSubject.name",
    "birthDate",
    "identityDocument.documentType",
    "identityDocument.issuingCountry",
    "identityDocument.commitment",
)
"""The CSV columns of the person every subject names (after ``id``; ``name`` alone is the
credential's name, the subject's is ``credentialSubject.name``)."""
PERSON_CSV_CELLS = (PERSON["name"], PERSON["birthDate"], *PERSON["identityDocument"].values())
"""The sample person's cells for `PERSON_CSV_COLUMNS`."""
PERSON_CSV_HEADER = ",".join(PERSON_CSV_COLUMNS)
PERSON_CSV_ROW = ",".join(PERSON_CSV_CELLS)


def settings_env(chain: dict[str, Any], data_dir: Path, **extra: Any) -> dict[str, str]:
    """Environment variables configuring a service (also for subprocesses)."""
    env = {
        # The tests use the test mnemonic's public chain keys: development mode only.
        "TALENTPROOF_ISSUER_ENV": "development",
        "TALENTPROOF_ISSUER_DATA_DIR": str(data_dir),
        "TALENTPROOF_ISSUER_RPC_URL": chain["rpc_url"],
        "TALENTPROOF_ISSUER_DEPLOYMENT_FILE": str(chain["deployment_file"]),
        "TALENTPROOF_ISSUER_GOVERNOR_KEY": chain["governor_key"],
        "TALENTPROOF_ISSUER_KEY_PASSPHRASE": PASSPHRASE,
        "TALENTPROOF_ISSUER_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "TALENTPROOF_ISSUER_BATCH_MAX_WAIT_S": "0",
        "TALENTPROOF_ISSUER_BULK_PROCESSES": "1",
    }
    env.update({f"TALENTPROOF_ISSUER_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def operator_headers(**extra: str) -> dict[str, str]:
    """Headers of the bootstrap operator."""
    return {"Authorization": f"Bearer {OPERATOR_TOKEN}", **extra}


def new_slug(prefix: str = "inst") -> str:
    """A slug unique within the test session (the chain is shared)."""
    return f"{prefix}-{os.getpid()}-{next(_slugs)}"


def onboard(
    client: TestClient,
    *,
    types: list[str] | None = None,
    slug: str | None = None,
    name: str = "University of Testing",
) -> dict[str, Any]:
    """Onboard an institution through the operator API; returns its body (with api_key)."""
    response = client.post(
        "/operator/institutions",
        headers=operator_headers(),
        json={
            "name": name,
            "slug": slug or new_slug(),
            "credential_types": types or ["DegreeCredential", "EmploymentCredential"],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str, **extra: str) -> dict[str, str]:
    """Authorization header for an API key."""
    return {"Authorization": f"Bearer {token}", **extra}


def set_institution_status(client: TestClient, slug: str, status: str) -> None:
    """The operator sets institution ``slug``'s status (``active``, ``suspended``, ...)."""
    r = client.post(
        f"/operator/institutions/{slug}/status", headers=operator_headers(), json={"status": status}
    )
    assert r.status_code == 200, r.text


def stop_api_key(client: TestClient, slug: str, key_id: str, stop: str) -> None:
    """The operator stops a (stolen) API key of institution ``slug``: ``stop`` "key revoked"
    revokes the key, "institution suspended" suspends the institution."""
    if stop == "key revoked":
        url = f"/operator/institutions/{slug}/api-keys/{key_id}/revoke"
        r = client.post(url, headers=operator_headers())
        assert r.status_code == 200, r.text
    elif stop == "institution suspended":
        set_institution_status(client, slug, "suspended")
    else:
        raise ValueError(f"stop {stop!r}: expected 'key revoked' or 'institution suspended'")


def holder_did(seed_byte: int = 7) -> str:
    """A holder's did:key."""
    return Ed25519SigningKey.from_seed(bytes([seed_byte]) * 32).public_key.did_key


def degree_request(name: str = "MSc Financial Technology", seed_byte: int = 7) -> dict[str, Any]:
    """A valid DegreeCredential issue request."""
    return {
        "type": "DegreeCredential",
        "credentialSubject": {
            "id": holder_did(seed_byte),
            **PERSON,
            "degree": {
                "type": "Degree",
                "level": "master",
                "fieldOfStudy": name,
                "institution": {"name": "University of Testing"},
                "awardDate": "2026-06-30",
            },
        },
    }


def degree_subjects(count: int) -> list[dict[str, Any]]:
    """``count`` valid DegreeCredential subjects, of different holders and fields of study."""
    return [
        degree_request(f"Field {i}", seed_byte=i % 250 + 1)["credentialSubject"]
        for i in range(count)
    ]


def post_bulk_job(
    client: TestClient, token: str, subjects: list[dict[str, Any]], kind: str = "DegreeCredential"
) -> str:
    """``subjects`` uploaded as one JSONL bulk job of ``kind``; the job's id (the upload must be
    accepted: 202)."""
    content = b"".join(orjson.dumps(s) + b"\n" for s in subjects)
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.jsonl", content, "application/octet-stream")},
        data={"type": kind},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


#: A bound on waiting for a service's background work (a ledger watch's refresh every 2 s, a
#: worker's commit) on a loaded 2-core machine; never a performance figure: a pass ends when the
#: condition holds, only a failure waits it out.
BACKGROUND_WAIT_S = 120.0


def until(predicate: Callable[[], Any], timeout: float, step: float = 0.1) -> Any:
    """``predicate``'s first true value, asked every ``step`` seconds; its last (false) value once
    ``timeout`` seconds have passed (a service's background refresh, a worker's commit)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def migrate_to(engine: Any, revision: str, *, up: bool = True) -> None:
    """The issuer database behind ``engine`` upgraded (``up``) or downgraded to ``revision``."""
    from alembic import command
    from alembic.config import Config

    from talentproof.issuer import db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.upgrade if up else command.downgrade)(cfg, revision)


def insert_institution_row(connection: Any) -> None:
    """Institution 1 in raw SQL (the migration tests' rows hang from it): the columns the
    institutions table has had since 0001, so it stands at any revision."""
    import sqlalchemy as sa

    connection.execute(
        sa.text(
            "INSERT INTO institutions (slug, name, did, chain_account, chain_account_key_enc, "
            "credential_types, status, next_status_index, created_at) VALUES ('u', 'U', "
            "'did:web:u.example', '0x0', :key, 'DegreeCredential', 'active', 0, "
            "'2026-01-01 00:00:00+00:00')"
        ),
        {"key": b"\x00"},
    )


def check_added_column(
    url: str,
    *,
    table: str,
    column: str,
    before: str,
    insert: Callable[[Any], None],
    after_upgrade: Callable[[Any], None],
    fill: str,
    after_downgrade: Callable[[Any], None],
) -> None:
    """A migration that adds ``table.column`` checked on the database at ``url``: at revision
    ``before`` (the one before it) the column is absent and ``insert(connection)`` writes rows;
    migrated to head, the schema is the models' (db.py) and ``after_upgrade(connection)`` checks
    the rows kept; ``fill`` (SQL) sets the new column; downgraded to ``before`` the column is
    gone and ``after_downgrade(connection)`` checks the rows kept; upgraded again it is back."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from talentproof.issuer import db

    def columns() -> list[str]:
        with engine.connect() as c:
            return [col["name"] for col in sa.inspect(c).get_columns(table)]

    engine = db.make_engine(url)
    migrate_to(engine, before)
    assert column not in columns()
    with engine.begin() as c:
        insert_institution_row(c)
        insert(c)
    db.migrate(engine)
    with engine.connect() as c:  # the migrated schema is the models' (db.py)
        assert compare_metadata(MigrationContext.configure(c), db.Base.metadata) == []
        after_upgrade(c)
    with engine.begin() as c:
        c.execute(sa.text(fill))
    migrate_to(engine, before, up=False)
    assert column not in columns()
    with engine.connect() as c:
        after_downgrade(c)
    db.migrate(engine)
    assert column in columns()
    engine.dispose()


def worker_pass(worker: Any) -> tuple[threading.Thread, list[BaseException]]:
    """A thread (not started) that runs one forced pass of an anchoring ``worker``, and the
    list it puts what the pass raised in."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            worker.run_once(force=True)
        except BaseException as exc:
            errors.append(exc)

    return threading.Thread(target=run), errors


def run_worker_once(
    chain: dict[str, Any], data_dir: Path, crash_at: str | None, **settings: Any
) -> subprocess.CompletedProcess[str]:
    """``issuer worker --once`` in its own process on ``data_dir`` (killed at ``crash_at``)."""
    env = {**os.environ, **settings_env(chain, data_dir, **settings)}
    env.pop("TALENTPROOF_ISSUER_UNSAFE_CRASH_AT", None)
    if crash_at:
        env["TALENTPROOF_ISSUER_UNSAFE_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "talentproof.issuer.cli", "worker", "--once", "--timeout", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stored_bulk_rows(
    service: Any, job_id: str, requests: list[dict[str, Any]], kind: str = "DegreeCredential"
) -> list[Any]:
    """A bulk job's stored rows in row order, as (bulk row, batch, frame, stored document
    bytes, whole document, id, status index), each whole document read as the service reads it
    (a framed row's holes joined with its chunk's frame, migration 0011) and checked byte for
    byte against what `issue_credential` signs for its request (``requests[row - 1]``: a
    request, or a subject alone) with the same id, status index and time; every row issued
    once."""
    import datetime as dt

    from sqlalchemy import select

    from talentproof.credential.issuance import issue_credential
    from talentproof.issuer.db import CredentialRow, InstitutionRow

    with service.sessions() as session:
        creds = session.scalars(
            select(CredentialRow)
            .where(CredentialRow.bulk_job_id == job_id)
            .order_by(CredentialRow.bulk_row)
        ).all()
        inst = session.get(InstitutionRow, creds[0].institution_id)
        assert inst is not None
        identity = service.identity_for(inst)
        signer = service.signer_for(inst.id)[1]
        reader = service.credentials.documents
        rows = [
            (
                c.bulk_row,
                c.batch_id,
                c.frame_id,
                len(c.document),
                reader.document_bytes(session, c),
                c.id,
                c.status_index,
            )
            for c in creds
        ]
    assert [r[0] for r in rows] == list(range(1, len(requests) + 1))
    for row, _batch, _frame, _n, document, cred_id, index in rows:
        created = orjson.loads(document)["proof"]["created"]
        request = requests[row - 1]
        if "credentialSubject" not in request:
            request = {"credentialSubject": request}
        _signed, raw, _digest = issue_credential(
            kind,
            orjson.loads(orjson.dumps(request)),
            identity=identity,
            signer=signer,
            status_index=index,
            now=dt.datetime.fromisoformat(created.replace("Z", "+00:00")),
            credential_id=cred_id,
        )
        assert document == raw, f"row {row} differs from the reference issuance"
    return rows
