"""Single issuance: schema validation, accreditation, idempotency, chain outages, delivery."""

from __future__ import annotations

import io
import socket
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from talentproof.credential import integrity, merkle
from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519PublicKey
from talentproof.credential.merkle import InclusionProof, verify_inclusion
from talentproof.issuer.db import CredentialRow

from .issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "the body is not valid JSON (at character 0: Expecting value)"),
        (b'{"type": ', "the body is not valid JSON (at character 9"),
        (b"", "the body is empty"),
        (b"[1, 2]", "the body is not a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_said_so_with_no_field(
    client, body: bytes, says: str
) -> None:
    """FastAPI locates a JSON syntax error at ("body", character offset): the answer says the
    body is not JSON and where, never a field named after the offset ("field": "1")."""
    token = onboard(client)["api_key"]["token"]
    for path, headers in (
        ("/credentials", bearer(token, **{"Content-Type": "application/json"})),
        ("/operator/institutions", operator_headers(**{"Content-Type": "application/json"})),
    ):
        r = client.post(path, headers=headers, content=body)
        assert r.status_code == 422, (path, r.text)
        answer = r.json()
        assert answer["error"] == "invalid_request"
        assert says in answer["message"], (path, answer)
        assert answer["field"] == "", (path, answer)
        assert all(d["loc"] == ["body"] for d in answer["details"]), (path, answer)


def test_schema_violation_names_the_field(client) -> None:
    token = onboard(client)["api_key"]["token"]
    bad = degree_request()
    bad["credentialSubject"]["degree"]["level"] = "kindergarten"
    r = client.post("/credentials", headers=bearer(token), json=bad)
    assert r.status_code == 422
    assert r.json()["field"] == "credentialSubject.degree.level"
    assert "kindergarten" in r.json()["message"]
    r = client.post(
        "/credentials", headers=bearer(token), json={"type": "Diploma", "credentialSubject": {}}
    )
    assert r.status_code == 422 and r.json()["field"] == "type"


def test_unaccredited_type_is_refused(client) -> None:
    token = onboard(client, types=["EmploymentCredential"])["api_key"]["token"]
    r = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert r.status_code == 403 and r.json()["error"] == "not_accredited"


def test_idempotency_key_never_issues_twice(client, service) -> None:
    token = onboard(client)["api_key"]["token"]
    headers = bearer(token, **{"Idempotency-Key": "req-1"})
    first = client.post("/credentials", headers=headers, json=degree_request())
    again = client.post("/credentials", headers=headers, json=degree_request())
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CredentialRow)) == 1
    other = client.post("/credentials", headers=headers, json=degree_request("Other field"))
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    fresh = client.post(
        "/credentials", headers=bearer(token, **{"Idempotency-Key": "req-2"}), json=degree_request()
    )
    assert fresh.json()["id"] != first.json()["id"]


def test_a_replay_is_the_first_answer_byte_for_byte(client) -> None:
    """The stored result is rendered again: same status, body bytes and Location, marked
    replayed (the fast path of POST /credentials and the routes alike)."""
    inst = onboard(client)
    token = inst["api_key"]["token"]
    for path, kwargs in (
        ("/credentials", {"json": degree_request()}),
        (
            f"/operator/institutions/{inst['slug']}/api-keys",
            {"json": {"scopes": ["issue"], "name": "replayed"}},
        ),
    ):
        auth = operator_headers() if "operator" in path else bearer(token)
        headers = {**auth, "Idempotency-Key": f"bytes-{path}"}
        first = client.post(path, headers=headers, **kwargs)
        again = client.post(path, headers=headers, **kwargs)
        assert first.status_code == again.status_code and first.status_code in (201, 202)
        if "operator" not in path:  # an operator's new key is sealed and opened again
            assert again.content == first.content
        assert again.json() == first.json()
        assert again.headers.get("Location") == first.headers.get("Location")
        assert again.headers["Idempotent-Replayed"] == "true"
        if "operator" not in path:
            assert _raw_headers(again) == _raw_headers(first) + [(b"idempotent-replayed", b"true")]


def _raw_headers(response: Any) -> list[tuple[bytes, bytes]]:
    """The response's headers in order, without its date and the replay marker (at the end)."""
    raw = [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"date"]
    marker = [(k, v) for k, v in raw if k == b"idempotent-replayed"]
    return [(k, v) for k, v in raw if k != b"idempotent-replayed"] + marker


def test_idempotency_holds_across_processes_racing(client, service) -> None:
    """Concurrent retries with one key from several threads produce one credential."""
    from concurrent.futures import ThreadPoolExecutor

    token = onboard(client)["api_key"]["token"]
    headers = bearer(token, **{"Idempotency-Key": "race"})
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/credentials", headers=headers, json=degree_request()),
                range(8),
            )
        )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CredentialRow)) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_chain_down_issuance_is_queued_and_readyz_says_so(client, make_service) -> None:
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app
    from talentproof.issuer.errors import LedgerUnavailable

    token = onboard(client)["api_key"]["token"]
    offline = make_service(rpc_url=f"http://127.0.0.1:{_closed_port()}")
    with TestClient(create_app(offline, run_worker=False)) as down:
        assert down.get("/readyz").json()["chain"]["available"] is False  # the service notices
        r = down.post("/credentials", headers=bearer(token), json=degree_request())
        assert r.status_code == 202
        assert "ledger unavailable" in r.json()["anchoring"]
        ready = down.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["chain"]["available"] is False
        assert ready.json()["anchoring"]["pending_credentials"] == 1
        with pytest.raises(LedgerUnavailable):
            down.app.state.worker.run_once(force=True)
        assert (
            down.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(token)).json()[
                "status"
            ]
            == "pending_anchor"
        )
    # the ledger is back (the healthy service on the same database): it anchors the queue
    client.app.state.worker.drain(30)
    assert (
        client.get(f"/credentials/{r.json()['id']}/anchor", headers=bearer(token)).json()["status"]
        == "anchored"
    )
    assert client.get("/readyz").json()["status"] == "ready"


def test_anchored_credential_verifies_and_qr_round_trips(client, issuer_chain) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    cred_id = client.post("/credentials", headers=bearer(token), json=degree_request()).json()["id"]
    assert client.get(f"/credentials/{cred_id}/qr.png", headers=bearer(token)).status_code == 409
    client.app.state.worker.drain(30)
    doc = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    signed, anchor = split_anchor(doc)
    assert anchor is not None
    assert anchor.chain_id == issuer_chain["chain_id"]
    assert anchor.registry.lower() == issuer_chain["registry"].lower()
    verify_inclusion(
        merkle.credential_hash(signed),
        InclusionProof(anchor.leaf_index, anchor.tree_size, anchor.path),
        anchor.merkle_root,
    )
    # the signature verifies with the key the did:web document publishes
    did_doc = client.get(f"/institutions/{inst['slug']}/did.json").json()
    assert did_doc["id"] == inst["did"]
    integrity.verify(signed, did_documents={inst["did"]: did_doc})
    vm = signed["proof"]["verificationMethod"]
    assert vm in [m["id"] for m in did_doc["verificationMethod"]]
    png = client.get(f"/credentials/{cred_id}/qr.png", headers=bearer(token))
    assert png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    from talentproof.credential.qr import decode_payload, encode_payload

    assert decoded and decoded[0].text == encode_payload(doc)
    assert decode_payload(decoded[0].text) == doc
    svg = client.get(f"/credentials/{cred_id}/qr.svg", headers=bearer(token))
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text


def test_signing_key_rotation_registers_on_chain_and_publishes(client, issuer_chain) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    before = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    r = client.post(
        f"/operator/institutions/{inst['slug']}/signing-keys/rotate", headers=operator_headers()
    )
    assert r.status_code == 200
    keys = r.json()["signing_keys"]
    assert [k["active"] for k in keys] == [False, True]
    after = client.post("/credentials", headers=bearer(token), json=degree_request()).json()
    assert (
        before["credential"]["proof"]["verificationMethod"]
        != after["credential"]["proof"]["verificationMethod"]
    )
    did_doc = client.get(f"/institutions/{inst['slug']}/did.json").json()
    assert len(did_doc["verificationMethod"]) == 2
    from web3 import Web3

    from talentproof.ledger.artifacts import load_artifact

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    registry = w3.eth.contract(
        address=issuer_chain["registry"], abi=load_artifact("TalentProofRegistry").abi
    )
    new_raw = Ed25519PublicKey.from_multibase(keys[1]["publicKeyMultibase"]).raw
    valid_from, _until = registry.functions.signingKey(inst["chain_issuer_id"], new_raw).call()
    assert valid_from > 0
    client.app.state.worker.drain(30)
    for cred in (before, after):
        assert (
            client.get(f"/credentials/{cred['id']}/anchor", headers=bearer(token)).json()["status"]
            == "anchored"
        )


def test_operator_onboarding_while_chain_down_answers_503(make_service) -> None:
    from fastapi.testclient import TestClient

    from talentproof.issuer.app import create_app

    offline = make_service(rpc_url=f"http://127.0.0.1:{_closed_port()}")
    with TestClient(create_app(offline, run_worker=False)) as down:
        r = down.post(
            "/operator/institutions",
            headers=operator_headers(),
            json={"name": "X", "slug": "offline-x", "credential_types": ["DegreeCredential"]},
        )
        assert r.status_code == 503 and r.json()["error"] == "chain_unavailable"
        assert r.headers["Retry-After"] == "5"
        assert down.get("/operator/institutions", headers=operator_headers()).json() == []
