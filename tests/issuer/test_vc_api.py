"""The W3C VC API on the issuer (issue 14, point 4): ``POST /credentials/issue`` and
``POST /credentials/status`` over the existing issuance and status-change use cases, on a real
Anvil."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from talentproof.credential import integrity
from talentproof.credential.anchor import split_anchor

from .issuer_helpers import bearer, degree_request, onboard, operator_headers

pytestmark = pytest.mark.integration

V2 = "https://www.w3.org/ns/credentials/v2"
TP = "https://talentproof.org/contexts/v1"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def vc_degree(did: str, field_of_study: str = "MSc Financial Technology") -> dict[str, Any]:
    """The unsigned VC 2.0 form of `degree_request`."""
    request = degree_request(field_of_study)
    return {
        "@context": [V2, TP],
        "type": ["VerifiableCredential", "DegreeCredential"],
        "issuer": did,
        "validFrom": "2026-07-01T00:00:00Z",
        "credentialSubject": request["credentialSubject"],
    }


def vc_badge(did: str) -> dict[str, Any]:
    subject = dict(degree_request()["credentialSubject"])
    del subject["degree"]
    subject["type"] = ["AchievementSubject"]
    subject["achievement"] = {
        "id": "urn:uuid:0f3c2a4e-1111-4222-8333-444455556666",
        "type": ["Achievement"],
        "name": "Smart-contract security",
        "description": "Smart-contract security",
        "criteria": {"narrative": "Passed the assessment"},
        "achievementType": "Certificate",
    }
    return {
        "@context": [V2, OB, TP],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"]},
        "credentialSubject": subject,
    }


@pytest.fixture
def inst(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return onboard(client)


def _issue(client, inst, credential, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"], **headers),
        json={"credential": credential, "options": {}},
    )


def test_issue_signs_the_credential_as_post_credentials_does(client, inst) -> None:
    r = _issue(client, inst, vc_degree(inst["did"]))
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["verifiableCredential"]
    vc = r.json()["verifiableCredential"]
    assert r.headers["Location"] == f"/credentials/{vc['id']}"
    assert vc["@context"] == [V2, TP]
    assert vc["type"] == ["VerifiableCredential", "DegreeCredential"]
    assert vc["issuer"] == {"id": inst["did"], "name": "University of Testing"}
    assert vc["validFrom"] == "2026-07-01T00:00:00Z"
    assert vc["credentialSubject"]["degree"]["fieldOfStudy"] == "MSc Financial Technology"
    assert [e["statusPurpose"] for e in vc["credentialStatus"]] == ["revocation", "suspension"]
    assert vc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert vc["proof"]["verificationMethod"].startswith(inst["did"] + "#")
    integrity.verify(vc)  # TalentProof's own signature check
    token = inst["api_key"]["token"]
    # the stored credential resource is this one; anchoring follows as for POST /credentials
    stored = client.get(r.headers["Location"], headers=bearer(token)).json()
    assert stored == vc
    assert client.get(f"{r.headers['Location']}/anchor", headers=bearer(token)).json()[
        "status"
    ] in ("pending_anchor", "batched")
    client.app.state.worker.drain(30)
    anchor = client.get(f"{r.headers['Location']}/anchor", headers=bearer(token)).json()
    assert anchor["status"] == "anchored", anchor
    anchored = client.get(r.headers["Location"], headers=bearer(token)).json()
    assert split_anchor(anchored)[0] == vc and split_anchor(anchored)[1] is not None


def test_issue_an_open_badge_with_an_issuer_profile(client) -> None:
    inst = onboard(client, types=["OpenBadgeCredential"])
    r = _issue(client, inst, vc_badge(inst["did"]))
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["issuer"] == {"id": inst["did"], "name": "University of Testing", "type": ["Profile"]}
    assert vc["name"] == "Smart-contract security"
    integrity.verify(vc)


def test_idempotency_key_replays_the_first_credential(client, inst) -> None:
    body = vc_degree(inst["did"])
    first = _issue(client, inst, body, **{"Idempotency-Key": "vc-1"})
    again = _issue(client, inst, body, **{"Idempotency-Key": "vc-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    other = _issue(client, inst, vc_degree(inst["did"], "Other"), **{"Idempotency-Key": "vc-1"})
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    listed = client.get("/credentials", headers=bearer(inst["api_key"]["token"])).json()
    assert len(listed["items"]) == 1, listed


def _refusal(client, inst, credential, options=None):  # type: ignore[no-untyped-def]
    r = client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"]),
        json={"credential": credential, "options": options or {}},
    )
    assert r.status_code == 422, r.text
    return r.json()


def test_a_credential_of_another_issuer_is_refused(client, inst) -> None:
    other = onboard(client)
    body = _refusal(client, inst, vc_degree(other["did"]))
    assert body["field"] == "credential.issuer" and other["did"] in body["message"]
    as_object = vc_degree(inst["did"])
    as_object["issuer"] = {"id": "did:web:evil.example"}
    assert _refusal(client, inst, as_object)["field"] == "credential.issuer"
    renamed = vc_degree(inst["did"])
    renamed["issuer"] = {"id": inst["did"], "name": "Harvard"}
    assert _refusal(client, inst, renamed)["field"] == "credential.issuer.name"


def test_an_issuer_profile_member_the_registry_cannot_vouch_for_is_refused(client) -> None:
    """What the verifier's check 6 refuses (tests/security/test_attack_issuer_profile_members.py)
    the issuer never signs: an issuer object holding more than the institution's DID, its
    registered name and a badge's ``type: ["Profile"]`` is refused naming the member, and so is
    a badge achievement's creator profile (the institution itself) holding more."""
    from tests.security.test_attack_issuer_profile_members import MEMBERS

    inst = onboard(client, types=["DegreeCredential", "OpenBadgeCredential"])
    for member, value in MEMBERS.items():
        for make in (vc_badge, vc_degree):
            doc = make(inst["did"])
            doc["issuer"] = {"id": inst["did"], "name": "University of Testing", member: value}
            body = _refusal(client, inst, doc)
            assert body["field"] == f"credential.issuer.{member}", (member, body)
            assert "cannot vouch" in body["message"] and repr(member) in body["message"], body
    beyond = vc_badge(inst["did"])
    beyond["issuer"] = {"id": inst["did"], "type": ["Profile", "Organization"]}
    assert _refusal(client, inst, beyond)["field"] == "credential.issuer.type"
    typed = vc_degree(inst["did"])
    typed["issuer"] = {"id": inst["did"], "type": ["Profile"]}
    assert _refusal(client, inst, typed)["field"] == "credential.issuer.type"
    for member in ("url", "image", "email"):  # a badge's creator is the issuer: no more either
        doc = vc_badge(inst["did"])
        doc["credentialSubject"]["achievement"]["creator"] = {
            "id": inst["did"],
            "type": ["Profile"],
            "name": "University of Testing",
            member: MEMBERS[member],
        }
        body = _refusal(client, inst, doc)
        field = f"credential.credentialSubject.achievement.creator.{member}"
        assert body["field"] == field and "cannot vouch" in body["message"], body
    listed = client.get("/credentials", headers=bearer(inst["api_key"]["token"])).json()
    assert listed["items"] == []  # nothing refused was signed or stored
    for badge_type in ("Profile", ["Profile"]):  # the issuer's own form is still issued
        doc = vc_badge(inst["did"])
        doc["issuer"] = {"id": inst["did"], "name": "University of Testing", "type": badge_type}
        doc["credentialSubject"]["achievement"]["creator"] = {"id": inst["did"], "type": badge_type}
        r = _issue(client, inst, doc)
        assert r.status_code == 201, r.text
        assert r.json()["verifiableCredential"]["issuer"] == {
            "id": inst["did"],
            "name": "University of Testing",
            "type": ["Profile"],
        }


def test_a_type_the_institution_is_not_accredited_for_is_refused(client, inst) -> None:
    body = _refusal(client, inst, vc_badge(inst["did"]))  # accredited: degree and employment
    assert body["field"] == "credential.type"
    assert "not accredited to issue OpenBadgeCredential" in body["message"]
    unknown = vc_degree(inst["did"])
    unknown["type"] = ["VerifiableCredential", "DriverLicense"]
    assert _refusal(client, inst, unknown)["field"] == "credential.type"
    bare = vc_degree(inst["did"])
    bare["type"] = ["DegreeCredential"]
    assert _refusal(client, inst, bare)["field"] == "credential.type"


def test_a_body_failing_the_schemas_is_refused_naming_the_field(client, inst) -> None:
    bad_level = vc_degree(inst["did"])
    bad_level["credentialSubject"]["degree"]["level"] = "wizard"
    body = _refusal(client, inst, bad_level)
    assert body["field"] == "credential.credentialSubject.degree.level", body
    future = vc_degree(inst["did"])
    future["credentialSubject"]["degree"]["awardDate"] = "2999-01-01"
    assert (
        _refusal(client, inst, future)["field"] == "credential.credentialSubject.degree.awardDate"
    )
    not_text = vc_degree(inst["did"])
    not_text["validFrom"] = 5
    assert _refusal(client, inst, not_text)["field"] == "credential.validFrom"
    context = vc_degree(inst["did"])
    context["@context"] = [V2]
    assert _refusal(client, inst, context)["field"] == "credential.@context"
    for member, value in (
        ("id", "urn:uuid:mine"),
        ("proof", {"type": "DataIntegrityProof"}),
        ("credentialStatus", []),
        ("issuanceDate", "2026-01-01T00:00:00Z"),
        ("evidence", []),
    ):
        doc = vc_degree(inst["did"])
        doc[member] = value
        assert _refusal(client, inst, doc)["field"] == f"credential.{member}", member
    option = _refusal(client, inst, vc_degree(inst["did"]), {"credentialId": "x"})
    assert option["field"] == "options.credentialId"
    listed = client.get("/credentials", headers=bearer(inst["api_key"]["token"])).json()
    assert listed["items"] == []  # nothing refused was signed or stored


def test_issue_needs_an_institution_key_with_issue_scope(client, inst) -> None:
    body = {"credential": vc_degree(inst["did"]), "options": {}}
    assert client.post("/credentials/issue", json=body).status_code == 401
    assert (
        client.post("/credentials/issue", json=body, headers=bearer("tpk_x_y")).status_code == 401
    )
    read_only = client.post(
        f"/operator/institutions/{inst['slug']}/api-keys",
        headers=operator_headers(),
        json={"scopes": ["read"]},
    )
    assert read_only.status_code == 201, read_only.text
    token = read_only.json()["token"]
    refused = client.post("/credentials/issue", json=body, headers=bearer(token))
    assert refused.status_code == 403 and "'issue'" in refused.json()["message"]


def test_status_revokes_suspends_and_reinstates(client, inst) -> None:
    token = inst["api_key"]["token"]
    a = _issue(client, inst, vc_degree(inst["did"], "A")).json()["verifiableCredential"]
    b = _issue(client, inst, vc_degree(inst["did"], "B")).json()["verifiableCredential"]
    client.app.state.worker.drain(30)

    def status(cred_id: str, value: str, reason: str = "audit", **headers: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/credentials/status",
            headers=bearer(token, **headers),
            json={
                "credentialId": cred_id,
                "credentialStatus": [{"type": "BitstringStatusListEntry", "status": value}],
                "reason": reason,
            },
        )

    r = status(a["id"], "revoked", **{"Idempotency-Key": "st-1"})
    assert r.status_code == 202, r.text  # queued: no worker runs in this test's process
    assert r.json()["state"] == "pending" and r.json()["action"] == "revoke"
    assert r.headers["Location"] == r.json()["poll"]
    replay = status(a["id"], "revoked", **{"Idempotency-Key": "st-1"})
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert status(a["id"], "revoked").status_code == 409  # revocation is final, queued or not
    assert status(b["id"], "suspended").status_code == 202
    assert status(b["id"], "reinstated").status_code == 202
    client.app.state.worker.drain(30)
    assert service_state(client, token, a["id"]) == "revoked"
    assert service_state(client, token, b["id"]) == "active"
    # refusals
    assert status(b["id"], "revoked", reason=" ").json()["field"] == "reason"
    bad = status(b["id"], "expired")
    assert bad.status_code == 422 and bad.json()["field"] == "credentialStatus.0.status"
    wrong_type = client.post(
        "/credentials/status",
        headers=bearer(token),
        json={
            "credentialId": b["id"],
            "credentialStatus": [{"type": "StatusList2021Entry", "status": "revoked"}],
            "reason": "x",
        },
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["field"] == "credentialStatus.0.type"
    assert status("urn:uuid:nope", "revoked").status_code == 404
    other = onboard(client)
    foreign = client.post(
        "/credentials/status",
        headers=bearer(other["api_key"]["token"]),
        json={
            "credentialId": b["id"],
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "revoked"}],
            "reason": "not mine",
        },
    )
    assert foreign.status_code == 404


def service_state(client, token: str, cred_id: str) -> str:  # type: ignore[no-untyped-def]
    anchor = client.get(f"/credentials/{cred_id}/anchor", headers=bearer(token)).json()
    if anchor["revoked"]:
        return "revoked"
    return "suspended" if anchor["suspended"] else "active"


def test_the_vc_api_is_in_the_openapi_document_with_examples(client) -> None:
    doc = client.get("/openapi.json").json()
    issue = doc["paths"]["/credentials/issue"]["post"]
    status = doc["paths"]["/credentials/status"]["post"]
    assert issue["tags"] == ["VC API"] and status["tags"] == ["VC API"]
    examples = issue["requestBody"]["content"]["application/json"]["examples"]
    assert {"degree", "open-badge"} <= set(examples)
    assert examples["degree"]["value"]["credential"]["type"][-1] == "DegreeCredential"
    assert "201" in issue["responses"] and "422" in issue["responses"]
    assert "example" in issue["responses"]["201"]["content"]["application/json"]
    assert {"revoke", "suspend", "reinstate"} <= set(
        status["requestBody"]["content"]["application/json"]["examples"]
    )
    assert {"200", "202"} <= set(status["responses"])


def test_the_existing_issue_route_is_unchanged(client, inst) -> None:
    r = client.post("/credentials", headers=bearer(inst["api_key"]["token"]), json=degree_request())
    assert r.status_code == 202 and r.json()["status"] == "pending_anchor"
    vc = copy.deepcopy(r.json()["credential"])
    integrity.verify(vc)


def test_the_openapi_examples_issue(client) -> None:
    inst = onboard(client, types=["DegreeCredential", "OpenBadgeCredential"])
    doc = client.get("/openapi.json").json()
    examples = doc["paths"]["/credentials/issue"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    for name, example in examples.items():
        body = copy.deepcopy(example["value"])
        issuer = body["credential"]["issuer"]
        if isinstance(issuer, dict):
            issuer["id"] = inst["did"]
        else:
            body["credential"]["issuer"] = inst["did"]
        r = client.post("/credentials/issue", headers=bearer(inst["api_key"]["token"]), json=body)
        assert r.status_code == 201, (name, r.text)


def _malformed(r, field: str, *expected: str) -> str:  # type: ignore[no-untyped-def]
    """A 422 refusal naming ``field`` and saying what was expected."""
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request" and body.get("field", "") == field, body
    for text in expected:
        assert text in body["message"], (text, body["message"])
    return str(body["message"])


def test_a_malformed_issue_body_is_refused_naming_what_was_expected(client, inst) -> None:
    headers = bearer(inst["api_key"]["token"], **{"Content-Type": "application/json"})
    post = client.post
    r = post("/credentials/issue", headers=headers, content=b"{not json")
    _malformed(r, "", "not JSON", "credential")
    r = post("/credentials/issue", headers=headers, content=b"[]")
    _malformed(r, "", "JSON object", "credential")
    r = post("/credentials/issue", headers=headers, content=b"")
    _malformed(r, "", "empty", "credential")
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}  # curl -d alone
    r = post("/credentials/issue", headers=form, content=b"credential=x")
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["message"]
    issue = {"headers": bearer(inst["api_key"]["token"])}
    _malformed(post("/credentials/issue", json={}, **issue), "credential", "credential", "object")
    _malformed(post("/credentials/issue", json={"credential": []}, **issue), "credential", "object")
    _malformed(
        post("/credentials/issue", json={"credential": vc_degree(inst["did"]), "x": 1}, **issue),
        "x",
        "credential",
        "options",
    )
    _malformed(
        post(
            "/credentials/issue",
            json={"credential": vc_degree(inst["did"]), "options": []},
            **issue,
        ),
        "options",
        "object",
    )


def test_a_malformed_status_body_is_refused_naming_what_was_expected(client, inst) -> None:
    h = {"headers": bearer(inst["api_key"]["token"])}
    post = client.post
    _malformed(post("/credentials/status", json={}, **h), "credentialId", "credentialId")
    entry = {"type": "BitstringStatusListEntry", "status": "revoked"}
    body = {"credentialId": "urn:uuid:x", "credentialStatus": "revoked", "reason": "r"}
    _malformed(post("/credentials/status", json=body, **h), "credentialStatus", "list")
    body["credentialStatus"] = [{"type": "BitstringStatusListEntry"}]
    _malformed(post("/credentials/status", json=body, **h), "credentialStatus.0.status", "status")
    body["credentialStatus"] = [entry]
    body["status"] = True  # the newer draft's member: named, with the members taken
    _malformed(post("/credentials/status", json=body, **h), "status", "credentialStatus")
