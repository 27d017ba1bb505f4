"""Attack (or accident): governance revokes an institution's signing key on the ledger (the
governance CLI, `revokeSigningKey`: a key it believes stolen), which the issuer service never
hears of.

Before: the service went on signing with the revoked key on every route until its operator
happened to rotate it: credentials in the institution's name that check 7 fails (INVALID, never
VALID), handed to applicants as if good, and a stolen key's holder kept the issuer's help. Now
the ledger watch retires, in the service's table, every active key the registry no longer holds
valid; issuance is refused with a reason that names the cause and the operator's remedy, and
after the rotation it signs again with the new key.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.keys import Ed25519PublicKey
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import (
    BACKGROUND_WAIT_S,
    bearer,
    degree_request,
    onboard,
    operator_headers,
    until,
)
from tests.issuer.test_operator_withdraw_follows_the_chain import _governance

pytestmark = pytest.mark.integration


def _keys(client: TestClient, slug: str) -> list[dict[str, Any]]:
    r = client.get(f"/operator/institutions/{slug}", headers=operator_headers())
    assert r.status_code == 200, r.text
    keys: list[dict[str, Any]] = r.json()["signing_keys"]
    return keys


def test_attack_signing_with_a_key_governance_revoked_on_the_ledger(
    client: TestClient, issuer_chain: Any
) -> None:
    inst = onboard(client)
    slug, headers = inst["slug"], bearer(inst["api_key"]["token"])
    assert client.post("/credentials", headers=headers, json=degree_request()).status_code == 202
    (key,) = _keys(client, slug)
    raw = Ed25519PublicKey.from_multibase(key["publicKeyMultibase"]).raw
    _governance(issuer_chain).revoke_signing_key(inst["chain_issuer_id"], raw)

    def refused() -> Any:
        r = client.post("/credentials", headers=headers, json=degree_request())
        return r if r.status_code == 409 else None

    r = until(refused, BACKGROUND_WAIT_S)
    assert r, "POST /credentials still signs with a key the ledger revoked"
    message = r.json()["message"]
    assert "revoked" in message and "signing-keys/rotate" in message, message
    (key,) = _keys(client, slug)
    assert key["active"] is False
    # the operator's remedy: a new key, registered on chain; issuance signs with it
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    r = until(
        lambda: (
            x
            if (
                x := client.post("/credentials", headers=headers, json=degree_request())
            ).status_code
            == 202
            else None
        ),
        BACKGROUND_WAIT_S,
    )
    assert r, "no issuance after the rotation"
    fresh = [k for k in _keys(client, slug) if k["active"]]
    assert len(fresh) == 1 and fresh[0]["publicKeyMultibase"] != key["publicKeyMultibase"]


def test_attack_running_bulk_job_of_a_key_the_ledger_revoked_stops(
    client: TestClient, issuer_chain: Any, make_service: Any
) -> None:
    """A bulk job signing with the key governance revokes stops at its next chunk, naming the
    cause; a key the operator rotated out (still valid on chain) does not stop its job."""
    from talentproof.issuer.bulk import BulkRunner
    from tests.security.test_attack_issuer_bulk_standing import _degree_rows, _job, _upload

    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    revoked = _upload(client, token, "DegreeCredential", _degree_rows(8))
    small = make_service(bulk_chunk_rows=2)
    runner = BulkRunner(small, processes=1, inline_rows=1000)
    runner.run_job(revoked, max_chunks=1)  # two rows stored: the job is running
    assert _job(client, token, revoked)["rows_done"] == 2
    (key,) = _keys(client, slug)
    raw = Ed25519PublicKey.from_multibase(key["publicKeyMultibase"]).raw
    _governance(issuer_chain).revoke_signing_key(inst["chain_issuer_id"], raw)
    assert until(lambda: not _keys(client, slug)[0]["active"], BACKGROUND_WAIT_S), (
        "the key was not retired"
    )
    runner.run_pending()
    status = _job(client, token, revoked)
    assert status["state"] == "failed" and "revoked on the ledger" in status["error"], status
    assert status["succeeded"] == 2, status

    # the operator's routine rotation: the old key stays valid on chain, its job goes on
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    rotated = _upload(client, token, "DegreeCredential", _degree_rows(8))
    runner.run_job(rotated, max_chunks=1)
    r = client.post(
        f"/operator/institutions/{slug}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200, r.text
    runner.run_pending()
    status = _job(client, token, rotated)
    assert (status["state"], status["succeeded"]) == ("done", 8), status


def test_attack_bulk_job_signing_when_the_ledger_revokes_its_key_stops_at_its_next_chunk(
    client: TestClient, issuer_chain: Any, make_service: Any
) -> None:
    """The key is revoked on chain while its job signs (chunks of 2 rows, 2,000 rows): once the
    ledger watch has retired it, the job stops at its next chunk, far from its end."""
    from tests.security.test_attack_issuer_bulk_standing import (
        _degree_rows,
        _job,
        _upload,
        signing_in_a_thread,
    )

    inst = onboard(client)
    slug, token = inst["slug"], inst["api_key"]["token"]
    job = _upload(client, token, "DegreeCredential", _degree_rows(2000))
    small = make_service(bulk_chunk_rows=2)
    with signing_in_a_thread(small, client, token, job):
        (key,) = _keys(client, slug)
        raw = Ed25519PublicKey.from_multibase(key["publicKeyMultibase"]).raw
        _governance(issuer_chain).revoke_signing_key(inst["chain_issuer_id"], raw)
        assert small.institutions.close_keys_the_ledger_closed() == [(slug, key["id"])]
        closed_at = _job(client, token, job)["rows_done"]
    status = _job(client, token, job)
    assert status["state"] == "failed" and "revoked on the ledger" in status["error"], status
    assert status["succeeded"] <= closed_at + 2 * 6, (closed_at, status)
    assert status["succeeded"] < 2000
