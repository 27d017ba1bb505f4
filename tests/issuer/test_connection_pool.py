"""A request takes at most one pooled database connection at a time: requests that each held one
while waiting for a second exhausted the pool together and waited on each other until its timeout
(seen as a 30 s stall of the whole HTTP process when 60 pending credentials' anchor status was
polled at once during issuance)."""

from __future__ import annotations

import contextlib

from .issuer_helpers import bearer, degree_request, onboard


def test_anchor_status_of_a_pending_credential_needs_one_connection(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    issued = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert issued.status_code == 202, issued.text
    cred_id = issued.json()["id"]
    assert client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).status_code == 200

    pool = service.engine.pool
    with contextlib.ExitStack() as held:
        # every connection of the pool but one is taken by other requests
        for _ in range(pool.size() + pool._max_overflow - 1):  # no public reader of the overflow
            held.enter_context(service.engine.connect())
        answer = client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "pending_anchor"
    assert "waiting" in body
