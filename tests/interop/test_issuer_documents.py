"""What the issuer serves, read by standard tools: its JSON-LD context (``GET /contexts/v1``),
its credentials (anchored: the proof set), status lists and DID documents expand and
canonicalize with PyLD and only the shipped contexts; the DID documents follow the DID Core
data model; the credentials and status lists verify with @digitalbazaar/vc (Node, offline)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import pytest

from talentproof.credential import contexts
from tests.issuer.issuer_helpers import bearer, degree_request, onboard

from .jsonld_support import canonicalize, expand_safely, missing_from_nquads
from .node_vc import verify_with_vc

pytestmark = pytest.mark.integration

# DID Core 3.1 / did:web: method-specific id of a host name (no IP), optional port, path
DID_SYNTAX = re.compile(
    r"^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+(?::(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+)*$"
)
DID_WEB_IP = re.compile(r"^did:web:(?:\d{1,3}(?:\.\d{1,3}){3}|%5B)", re.IGNORECASE)


def _complete(doc: dict[str, Any]) -> None:
    expand_safely(doc)
    missing = missing_from_nquads(doc, canonicalize(doc))
    assert not missing, missing


def did_web_url(did: str) -> str:
    """did:web resolution (the method spec): the https URL of the DID document."""
    assert did.startswith("did:web:"), did
    host, *path = did.removeprefix("did:web:").split(":")
    tail = "/".join(unquote(p) for p in path) + "/did.json" if path else ".well-known/did.json"
    return f"https://{unquote(host)}/{tail}"


def check_did_core(doc: dict[str, Any], served_at: str) -> None:
    """The DID Core data model checks a DID document must pass (as served at ``served_at``)."""
    did = doc["id"]
    assert DID_SYNTAX.match(did), did
    assert not DID_WEB_IP.match(did), f"did:web names an IP host: {did}"
    # the document is the one its DID resolves to (scheme aside: development serves http)
    assert did_web_url(did).split("://", 1)[1] == served_at.split("://", 1)[1], (did, served_at)
    ctx = doc["@context"]
    ctx = [ctx] if isinstance(ctx, str) else ctx
    assert ctx[0] == "https://www.w3.org/ns/did/v1"
    assert "https://w3id.org/security/multikey/v1" in ctx
    methods = doc["verificationMethod"]
    assert methods
    ids = set()
    for vm in methods:
        assert {"id", "type", "controller"} <= vm.keys(), vm
        assert vm["id"].startswith(did + "#") and DID_SYNTAX.match(vm["controller"])
        assert vm["type"] == "Multikey" and vm["publicKeyMultibase"].startswith("z6Mk"), vm
        ids.add(vm["id"])
    assert len(ids) == len(methods), "duplicate verification method ids"
    for relation in ("assertionMethod", "authentication"):
        for ref in doc.get(relation, []):
            target = ref if isinstance(ref, str) else ref["id"]
            assert target in ids, f"{relation} {target} resolves to no verification method"
    assert doc["assertionMethod"]
    _complete(doc)


def test_the_context_is_served_immutable_at_the_url_credentials_name(client) -> None:
    body = contexts.context_bytes(contexts.TALENTPROOF_V1)
    for path in ("/contexts/v1", "/contexts/talentproof-v1.jsonld"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/ld+json"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["etag"] == contexts.context_etag(contexts.TALENTPROOF_V1)
        assert r.content == body
        again = client.get(path, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and not again.content
        head = client.head(path)
        assert head.status_code == 200 and not head.content
    assert json.loads(body)["@context"]["@protected"] is True
    assert "/contexts/v1" in client.get("/openapi.json").json()["paths"]


def test_issued_documents_are_complete_json_ld_and_verify_with_vc(client) -> None:
    inst = onboard(client)
    token = inst["api_key"]["token"]
    issued = client.post("/credentials", headers=bearer(token), json=degree_request())
    assert issued.status_code == 202, issued.text
    cred_id = issued.json()["id"]
    pending = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    client.app.state.worker.drain(30)
    doc = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    assert [p["type"] for p in doc["proof"]] == ["DataIntegrityProof", "TalentProofAnchor"]
    slug = inst["slug"]
    did_doc = client.get(f"/institutions/{slug}/did.json").json()
    check_did_core(
        did_doc,
        f"{client.base_url}/institutions/{slug}/did.json".replace(
            "http://testserver", "http://localhost:8000"
        ),
    )
    issuer = doc["issuer"]["id"] if isinstance(doc["issuer"], dict) else doc["issuer"]
    assert issuer == did_doc["id"] and did_doc["id"].startswith("did:web:localhost%3A8000:")
    status_lists = [
        client.get(f"/institutions/{slug}/status/{purpose}").json()
        for purpose in ("revocation", "suspension")
    ]
    for document in (pending, doc, *status_lists):
        _complete(document)
    for document in (pending, doc, *status_lists):
        # the status is checked too (@digitalbazaar/vc-bitstring-status-list, served lists)
        result = verify_with_vc(document, [did_doc], status_lists=status_lists)
        assert result["verified"], (document.get("type"), result)
        if "credentialStatus" in document:
            assert [s["status"] for s in result["status"]] == [False, False], result
