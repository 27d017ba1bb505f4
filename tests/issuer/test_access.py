"""The access matrix: each role and institution against each endpoint."""

from __future__ import annotations

import pytest

from .issuer_helpers import bearer, degree_request, new_slug, onboard, operator_headers

pytestmark = pytest.mark.integration

DENIED = {401, 403, 404}


def test_access_matrix(client, service) -> None:
    a = onboard(client)
    b = onboard(client)
    slug_a = a["slug"]
    full_a, full_b = a["api_key"]["token"], b["api_key"]["token"]

    def key(slug: str, scopes: list[str]) -> str:
        r = client.post(
            f"/operator/institutions/{slug}/api-keys",
            headers=operator_headers(),
            json={"scopes": scopes, "name": "+".join(scopes)},
        )
        assert r.status_code == 201, r.text
        return r.json()["token"]

    read_a, issue_a, revoke_a = (
        key(slug_a, ["read"]),
        key(slug_a, ["issue"]),
        key(slug_a, ["revoke"]),
    )
    revoked = client.post(
        f"/operator/institutions/{slug_a}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["issue", "read", "revoke"]},
    ).json()
    assert (
        client.post(
            f"/operator/institutions/{slug_a}/api-keys/{revoked['id']}/revoke",
            headers=operator_headers(),
        ).status_code
        == 200
    )

    cred_a = client.post("/credentials", headers=bearer(full_a), json=degree_request()).json()["id"]
    fresh = [
        client.post("/credentials", headers=bearer(full_a), json=degree_request(f"R{i}")).json()[
            "id"
        ]
        for i in range(10)
    ]
    # two suspended credentials for the reinstate endpoint
    assert (
        client.post(
            "/credentials/status-changes",
            headers=bearer(full_a),
            json={"action": "suspend", "credential_ids": fresh[8:], "reason": "setup"},
        ).status_code
        == 202  # queued; the worker applies it (drained below)
    )
    job_a = client.post(
        "/bulk-jobs",
        headers=bearer(full_a),
        data={"type": "DegreeCredential"},
        files={"file": ("rows.jsonl", b'{"id": "x"}\n', "application/x-ndjson")},
    ).json()["id"]
    c = onboard(client)  # the operator's state-changing endpoints act on institution C
    slug_c = c["slug"]
    c_keys = [
        client.post(
            f"/operator/institutions/{slug_c}/api-keys",
            headers=operator_headers(),
            json={"scopes": ["read"]},
        ).json()["id"]
        for _ in range(2)
    ]
    client.app.state.worker.drain(30)

    roles = {
        "anonymous": {},
        "malformed": {"Authorization": "Bearer nonsense"},
        "revoked_key": bearer(revoked["token"]),
        "operator": operator_headers(),
        "a_full": bearer(full_a),
        "a_read": bearer(read_a),
        "a_issue": bearer(issue_a),
        "a_revoke": bearer(revoke_a),
        "b_full": bearer(full_b),
    }
    # endpoint -> (method, path, json, roles allowed)
    pools = {"fresh": iter(fresh[:8]), "suspended": iter(fresh[8:])}
    endpoints = [
        ("POST", "/credentials", degree_request(), {"a_full", "a_issue", "b_full"}),
        ("GET", "/credentials", None, {"a_full", "a_read", "b_full"}),
        ("GET", f"/credentials/{cred_a}", None, {"a_full", "a_read"}),
        ("GET", f"/credentials/{cred_a}/anchor", None, {"a_full", "a_read"}),
        ("GET", f"/credentials/{cred_a}/qr.svg", None, {"a_full", "a_read"}),
        ("GET", f"/credentials/{cred_a}/qr.png", None, {"a_full", "a_read"}),
        ("POST", "fresh:revoke", {"reason": "test"}, {"a_full", "a_revoke"}),
        ("POST", "fresh:suspend", {"reason": "test"}, {"a_full", "a_revoke"}),
        ("POST", "suspended:reinstate", {"reason": "test"}, {"a_full", "a_revoke"}),
        ("POST", "fresh:status-changes", None, {"a_full", "a_revoke"}),
        ("POST", "/bulk-jobs", None, {"a_full", "a_issue", "b_full"}),
        ("GET", f"/bulk-jobs/{job_a}", None, {"a_full", "a_read"}),
        ("GET", f"/bulk-jobs/{job_a}/results", None, {"a_full", "a_read"}),
        ("GET", f"/bulk-jobs/{job_a}/errors", None, {"a_full", "a_read"}),
        ("POST", f"/operator/institutions/{slug_c}/status", {"status": "active"}, {"operator"}),
        ("POST", f"/operator/institutions/{slug_c}/signing-keys/rotate", None, {"operator"}),
        (
            "POST",
            f"/operator/institutions/{slug_c}/credential-types",
            {"grant": ["OpenBadgeCredential"]},
            {"operator"},
        ),
        (
            "POST",
            f"/operator/institutions/{slug_c}/api-keys/{c_keys[0]}/revoke",
            None,
            {"operator"},
        ),
        (
            "POST",
            f"/operator/institutions/{slug_c}/api-keys/{c_keys[1]}/rotate",
            None,
            {"operator"},
        ),
        ("GET", f"/operator/institutions/{slug_a}", None, {"operator"}),
        ("GET", "/operator/institutions", None, {"operator"}),
        ("GET", f"/operator/institutions/{slug_a}/api-keys", None, {"operator"}),
        ("POST", f"/operator/institutions/{slug_a}/api-keys", {"scopes": ["read"]}, {"operator"}),
        (
            "POST",
            "/operator/institutions",
            {"name": "X", "slug": "matrix-x", "credential_types": ["DegreeCredential"]},
            {"operator"},
        ),
    ]
    public = [
        f"/institutions/{slug_a}/did.json",
        "/healthz",
        "/readyz",
        "/metrics",
        f"/institutions/{slug_a}/status/revocation",
    ]
    failures = []
    for method, path, body, allowed in endpoints:
        for role, headers in roles.items():
            target, payload, files = path, body, None
            if path.startswith(("fresh:", "suspended:")):  # state-changing: a new credential each
                pool, action = path.split(":")
                cred = next(pools[pool]) if role in allowed else cred_a
                if action == "status-changes":
                    target = "/credentials/status-changes"
                    payload = {"action": "suspend", "credential_ids": [cred], "reason": "test"}
                else:
                    target = f"/credentials/{cred}/{action}"
            if path == "/operator/institutions" and method == "POST" and role == "operator":
                payload = {**body, "slug": new_slug("matrix")}
            if path == "/bulk-jobs":
                files = {"file": ("rows.jsonl", b'{"id": "x"}\n', "application/x-ndjson")}
                r = client.post(
                    target, headers=headers, files=files, data={"type": "DegreeCredential"}
                )
            else:
                r = client.request(method, target, headers=headers, json=payload)
            ok = r.status_code not in DENIED and r.status_code < 500
            if ok != (role in allowed):
                failures.append(f"{role} {method} {target}: {r.status_code} {r.text[:120]}")
            if role in ("anonymous", "malformed", "revoked_key"):
                if r.status_code != 401:
                    failures.append(f"{role} {method} {target}: expected 401, got {r.status_code}")
            elif (
                role == "b_full"
                and role not in allowed
                and ("/credentials/" in target or "/bulk-jobs/" in target)
                and r.status_code != 404
            ):  # another institution's credential: not found
                failures.append(f"{role} {method} {target}: expected 404, got {r.status_code}")
    for path in public:
        for role, headers in roles.items():
            r = client.get(path, headers=headers)
            if r.status_code != 200:
                failures.append(f"{role} GET {path}: {r.status_code}")
    assert not failures, "\n".join(failures)


def test_api_key_rotation_and_institution_suspension(client) -> None:
    inst = onboard(client)
    slug, old = inst["slug"], inst["api_key"]
    assert client.get("/credentials", headers=bearer(old["token"])).status_code == 200
    rotated = client.post(
        f"/operator/institutions/{slug}/api-keys/{old['id']}/rotate", headers=operator_headers()
    )
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["scopes"] == old["scopes"]
    assert client.get("/credentials", headers=bearer(old["token"])).status_code == 401
    assert client.get("/credentials", headers=bearer(new["token"])).status_code == 200
    listed = client.get(
        f"/operator/institutions/{slug}/api-keys", headers=operator_headers()
    ).json()
    assert all("token" not in k and "secret_hash" not in k for k in listed)
    assert (
        client.post(
            f"/operator/institutions/{slug}/status",
            headers=operator_headers(),
            json={"status": "suspended"},
        ).status_code
        == 200
    )
    # a valid key of a suspended institution: 403 naming the suspension (401 is for bad keys)
    refused = client.get("/credentials", headers=bearer(new["token"]))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "institution_suspended"
    assert slug in refused.json()["message"] and "suspended" in refused.json()["message"]
    issued = client.post("/credentials", headers=bearer(new["token"]), json=degree_request())
    assert issued.status_code == 403 and issued.json()["error"] == "institution_suspended"
    assert client.get("/credentials", headers=bearer(old["token"])).status_code == 401
    assert client.get("/credentials", headers=bearer(new["token"] + "x")).status_code == 401
    assert (
        client.post(
            f"/operator/institutions/{slug}/status",
            headers=operator_headers(),
            json={"status": "active"},
        ).status_code
        == 200
    )
    assert client.get("/credentials", headers=bearer(new["token"])).status_code == 200


def test_api_keys_are_stored_hashed(client, service) -> None:
    from sqlalchemy import select

    from talentproof.issuer.db import ApiKey

    inst = onboard(client)
    token = inst["api_key"]["token"]
    secret = token.split("_", 2)[2]
    with service.sessions() as session:
        row = session.get(ApiKey, inst["api_key"]["id"])
        assert row is not None
        assert secret.encode() not in row.secret_hash and len(row.secret_hash) == 32
        assert all(secret not in (r.name or "") for r in session.scalars(select(ApiKey)))


def test_operator_grants_and_withdraws_types_on_chain(client, issuer_chain) -> None:
    from web3 import Web3

    from talentproof.ledger.artifacts import load_artifact

    inst = onboard(client, types=["DegreeCredential"])
    slug, token = inst["slug"], inst["api_key"]["token"]
    r = client.post(
        f"/operator/institutions/{slug}/credential-types",
        headers=operator_headers(),
        json={"grant": ["EmploymentCredential"], "withdraw": ["DegreeCredential"]},
    )
    assert r.status_code == 200 and r.json()["credential_types"] == ["EmploymentCredential"]
    assert (
        client.post("/credentials", headers=bearer(token), json=degree_request()).status_code == 403
    )
    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    registry = w3.eth.contract(
        address=issuer_chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    issuer_id = inst["chain_issuer_id"]
    _from, degree_until = registry.functions.credentialType(
        issuer_id, Web3.keccak(text="DegreeCredential")
    ).call()
    emp_from, emp_until = registry.functions.credentialType(
        issuer_id, Web3.keccak(text="EmploymentCredential")
    ).call()
    assert degree_until > 0 and emp_from > 0 and emp_until == 0
    r = client.post(
        f"/operator/institutions/{slug}/credential-types",
        headers=operator_headers(),
        json={"grant": ["Diploma"]},
    )
    assert r.status_code == 422
