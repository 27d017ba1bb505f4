"""Secrets and personal data stay out of the issuer's logs and out of its database file in clear.

One service (real Anvil) goes through issuance (single, bulk with a bad row), anchoring,
revocation, suspension, key rotation and an invalid request, with every ``talentproof`` log
record captured at DEBUG and rendered by the service's JSON formatter. None of these may appear
in the logs: the signing seed, the chain-account key, the key passphrase, the operator token,
any API key (token or secret part), holder names and DIDs, and subject data. Then the SQLite
database files (main file and WAL) are scanned byte for byte: the raw seed and account key,
their hex forms, the passphrase and the API key secrets never appear in them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from talentproof.issuer.bulk import BulkRunner
from talentproof.issuer.db import InstitutionRow, SigningKey
from talentproof.issuer.observability import JsonFormatter
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    OPERATOR_TOKEN,
    PASSPHRASE,
    bearer,
    degree_request,
    holder_did,
    onboard,
    operator_headers,
)

pytestmark = pytest.mark.integration

HOLDER_NAME = "Chan Siu Secret-Holder"
FIELD = "Quantum Ledger Forensics"
BULK_NAME = "Wong Bulk Privatename"
BULK_FIELD = "Bulk Secret Discipline"
REASON_NAME = "Lee Reason Person"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    loggers = [logging.getLogger("talentproof"), logging.getLogger()]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _request(i: int, name: str, field: str, seed: int) -> dict[str, Any]:
    req = degree_request(f"{field} {i}", seed_byte=seed)
    req["description"] = f"Awarded to {name}"  # the holder's name, inside the credential
    return req


def test_logs_and_database_hold_no_secret_or_personal_data(
    client,
    service,
    captured,
    tmp_path,
) -> None:
    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    extra = client.post(
        f"/operator/institutions/{slug}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["issue", "read", "revoke"], "name": "second"},
    ).json()["token"]
    # single issuance
    ids = []
    for i in range(3):
        r = client.post(
            "/credentials", headers=bearer(extra), json=_request(i, HOLDER_NAME, FIELD, 41)
        )
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    # an invalid request carrying personal data
    bad = _request(9, HOLDER_NAME, FIELD, 41)
    bad["credentialSubject"]["degree"]["awardDate"] = f"{HOLDER_NAME} 30/06"
    assert client.post("/credentials", headers=bearer(token), json=bad).status_code == 422
    # bulk, with one bad row
    rows = [orjson.dumps(_request(i, BULK_NAME, BULK_FIELD, 43)) for i in range(5)]
    broken = _request(5, BULK_NAME, BULK_FIELD, 43)
    broken["credentialSubject"]["degree"]["awardDate"] = f"{BULK_NAME}!"
    rows.append(orjson.dumps(broken))
    r = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", b"\n".join(rows) + b"\n", "application/x-ndjson")},
    )
    assert r.status_code == 202, r.text
    BulkRunner(service, processes=1).run_pending()
    job = client.get(f"/bulk-jobs/{r.json()['id']}", headers=bearer(token)).json()
    assert (job["succeeded"], job["failed"]) == (5, 1)
    client.app.state.worker.drain(30)
    # revocation and suspension (on chain), with reasons naming a person
    assert (
        client.post(
            f"/credentials/{ids[0]}/revoke",
            headers=bearer(token),
            json={"reason": f"{REASON_NAME} asked"},
        ).status_code
        == 202
    )  # queued, applied by the worker
    assert (
        client.post(
            f"/credentials/{ids[1]}/suspend", headers=bearer(token), json={"reason": REASON_NAME}
        ).status_code
        == 202
    )
    client.app.state.worker.drain(30)
    assert client.get(f"/institutions/{slug}/status/revocation").status_code == 200
    # key rotation (a new seed is generated, sealed and registered)
    assert (
        client.post(
            f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
        ).status_code
        == 200
    )

    with service.sessions() as session:
        inst_row = session.scalars(select(InstitutionRow).where(InstitutionRow.slug == slug)).one()
        key_rows = list(
            session.scalars(select(SigningKey).where(SigningKey.institution_id == inst_row.id))
        )
        seeds = [service.vault.open(k.seed_enc, context=f"signing-key:{k.id}") for k in key_rows]
        account_key = service.account_key(inst_row)
    assert len(seeds) == 2

    text = "\n".join(captured.lines)
    assert "credential issued" in text and "batch anchored" in text  # logs were captured
    assert "credential status changed" in text
    secrets_and_pii = {
        "operator token": OPERATOR_TOKEN,
        "passphrase": PASSPHRASE,
        "api key": token,
        "api key secret": token.split("_", 2)[2],
        "second api key": extra,
        "second api key secret": extra.split("_", 2)[2],
        "account key": account_key.hex(),
        "holder name": HOLDER_NAME,
        "holder did": holder_did(41),
        "bulk holder name": BULK_NAME,
        "bulk holder did": holder_did(43),
        "subject field": FIELD,
        "bulk subject field": BULK_FIELD,
        "reason naming a person": REASON_NAME,
    }
    for i, seed in enumerate(seeds):
        secrets_and_pii[f"seed {i}"] = seed.hex()
    leaked = [what for what, value in secrets_and_pii.items() if value in text]
    assert not leaked, f"found in the logs: {leaked}"

    # at rest: the database files never hold a key or secret in clear
    data_dir = Path(service.settings.data_dir)
    db_files = [p for p in data_dir.glob("issuer.db*") if p.is_file()]
    assert any(p.name == "issuer.db" for p in db_files)
    raw = b"".join(p.read_bytes() for p in db_files)
    assert HOLDER_NAME.encode() in raw  # the scan sees the database content (credentials)
    at_rest = {
        "account key": account_key,
        "account key hex": account_key.hex().encode(),
        "passphrase": PASSPHRASE.encode(),
        "operator token": OPERATOR_TOKEN.encode(),
        "api key secret": token.split("_", 2)[2].encode(),
        "second api key secret": extra.split("_", 2)[2].encode(),
    }
    for i, seed in enumerate(seeds):
        at_rest[f"seed {i}"] = seed
        at_rest[f"seed {i} hex"] = seed.hex().encode()
    found = [what for what, value in at_rest.items() if value in raw]
    assert not found, f"found in clear in the database files: {found}"
