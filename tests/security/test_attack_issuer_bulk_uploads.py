"""A bulk upload refused by its Idempotency-Key leaves nothing on disk (real issuer service).

An institution's client that sends a second, different file under an Idempotency-Key it already
used is refused (409: the key is the first upload's). The second file was stored before the key
was looked up, and the refusal left it in the data folder's ``bulk/`` for ever: names, birth
dates and document commitments of every row, outside any job, never deleted (uploads live only
while their job is queued or running, docs/threat-model.md). Each such retry added a file.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.bulk import BulkRunner
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration


def _post(client: TestClient, token: str, content: bytes, key: str) -> Any:
    return client.post(
        "/bulk-jobs",
        headers=bearer(token, **{"Idempotency-Key": key}),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", content, "application/x-ndjson")},
    )


def test_attack_upload_refused_by_its_idempotency_key_is_not_kept(
    client: TestClient, service: Any
) -> None:
    token = onboard(client)["api_key"]["token"]
    folder = service.settings.data_dir / "bulk"
    first = orjson.dumps(degree_request("First")) + b"\n"
    other = orjson.dumps(degree_request("Other")) + b"\n"
    r = _post(client, token, first, "upload-1")
    assert r.status_code == 202, r.text
    kept = sorted(folder.iterdir())
    assert len(kept) == 1, kept  # the job's upload
    for _ in range(3):
        refused = _post(client, token, other, "upload-1")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "idempotency_key_reused", refused.text
    again = _post(client, token, first, "upload-1")  # the same file: the first job replayed
    assert again.status_code == 202 and again.json()["id"] == r.json()["id"], again.text
    assert sorted(folder.iterdir()) == kept
    BulkRunner(service, processes=1).run_pending()
    assert sorted(folder.iterdir()) == []  # the job ended: its upload is deleted too
