"""The reverse interop direction (issue 14, points 2 and 4): documents signed by Digital
Bazaar's libraries (Node, tests/interop/js/sign.mjs: @digitalbazaar/vc 7.3.0,
@digitalbazaar/data-integrity 2.5.0, @digitalbazaar/eddsa-jcs-2022-cryptosuite 1.0.0,
@digitalbazaar/ed25519-multikey 1.3.1) checked by TalentProof, through the W3C VC API of both
services on a real Anvil.

The facts these tests pin:

* a credential the library signs with an accredited institution's key passes TalentProof's
  signature check (`credential.integrity.verify`); signed with the same ``created``, its
  ``proofValue`` is TalentProof's own, byte for byte (eddsa-jcs-2022 is deterministic);
* at the verifier's ``POST /credentials/verify`` such a credential is not verified: its
  signature check passes (``proof`` in ``checks``) but it carries no anchor (the issuer anchors
  only what it signs), so the product's verdict is INVALID: 400 with the one error
  ``merkle-inclusion: The credential carries no anchor proof, so it cannot be checked against
  the ledger. ...`` (and how to fetch the anchored one);
* a presentation the library builds (``vc.createPresentation``, holder a did:key) and signs
  (``vc.signPresentation``, eddsa-jcs-2022, the verifier's challenge and domain) around a
  credential issued through ``POST /credentials/issue`` and anchored verifies at
  ``POST /presentations/verify`` (200); the same presentation again, one signed for another
  challenge, and one signed by another key are refused (400, ``holder-binding``).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from talentproof.credential import examples, integrity
from talentproof.credential.issuance import CONTEXTS
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.issuer.db import InstitutionRow
from talentproof.verifier.service import ServiceSettings, create_app
from tests.issuer.issuer_helpers import bearer, degree_request, onboard

from .node_vc import ROOT

pytestmark = [
    pytest.mark.integration,
]

SIGN = ROOT / "tests" / "interop" / "js" / "sign.mjs"
DOMAIN = "verifier.example.hk"
HOLDER_SEED = bytes([7]) * 32  # the subject of `degree_request` (issuer_helpers.holder_did)
NEVER_ANCHORED = (
    "merkle-inclusion: The credential carries no anchor proof, so it cannot be checked against "
    "the ledger. A credential fetched from the institution before its batch was anchored has "
    "none: fetch it again once anchored (GET /credentials/{id}, or its QR code, which answers "
    "409 until then)."
)


def sign_with_vc(
    document: Any,
    seed: bytes,
    controller: str,
    *,
    created: str | None = None,
    presentation: bool = False,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Digital Bazaar's signer (tests/interop/js/sign.mjs): ``document`` (a credential; for a
    presentation, the list of credentials it holds) signed with the Ed25519 key of ``seed``,
    verification method ``controller#<publicKeyMultibase>``. Returns the signed document."""
    args = ["node", str(SIGN), "--seed", seed.hex(), "--controller", controller]
    if created is not None:
        args += ["--created", created]
    if presentation:
        args.append("--presentation")
    if challenge is not None:
        args += ["--challenge", challenge]
    if domain is not None:
        args += ["--domain", domain]
    run = subprocess.run(
        [*args, "-"],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert "error" not in out, out
    assert out["requested"] == []  # eddsa-jcs-2022: the library loaded nothing to sign
    signed: dict[str, Any] = out["document"]
    return signed


@pytest.fixture
def verifier(issuer_chain: dict[str, Any]) -> Iterator[TestClient]:
    """The verifier service trusting the issuer tests' deployment."""
    app = create_app(
        ServiceSettings(
            rpc_url=issuer_chain["rpc_url"],
            trust=str(issuer_chain["deployment_file"]),
            domain=DOMAIN,
        )
    )
    with TestClient(app) as client:
        yield client


def _vc(did: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://talentproof.org/contexts/v1"],
        "type": ["VerifiableCredential", "DegreeCredential"],
        "issuer": did,
        "validFrom": "2026-07-01T00:00:00Z",
        "credentialSubject": degree_request()["credentialSubject"],
    }


def _issued(client: TestClient, inst: dict[str, Any]) -> dict[str, Any]:
    r = client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"]),
        json={"credential": _vc(inst["did"]), "options": {}},
    )
    assert r.status_code == 201, r.text
    vc: dict[str, Any] = r.json()["verifiableCredential"]
    return vc


def _institution_seed(service: Any, slug: str) -> bytes:
    with service.session() as session:
        institution_id = session.execute(
            select(InstitutionRow.id).where(InstitutionRow.slug == slug)
        ).scalar_one()
    _key_id, signer = service.signer_for(institution_id)
    seed: bytes = signer.key.seed
    return seed


def test_a_credential_signed_by_the_library_passes_talentproofs_signature_check(
    client: TestClient, service: Any, verifier: TestClient
) -> None:
    inst = onboard(client)
    seed = _institution_seed(service, inst["slug"])
    ours = _issued(client, inst)
    unsigned = {k: v for k, v in ours.items() if k != "proof"}
    # the same credential and proof options: the library's signature is TalentProof's
    theirs = sign_with_vc(unsigned, seed, inst["did"], created=ours["proof"]["created"])
    integrity.verify(theirs)
    assert theirs["proof"]["verificationMethod"] == ours["proof"]["verificationMethod"]
    assert theirs["proof"]["proofValue"] == ours["proof"]["proofValue"]
    # a credential the issuer never signed (its own id), signed by the library now
    fresh = {**unsigned, "id": f"urn:uuid:{uuid.uuid4()}"}
    signed = sign_with_vc(fresh, seed, inst["did"])
    integrity.verify(signed)
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["proof"]["proofPurpose"] == "assertionMethod"
    # the service: the signature check passes, the verdict is not VALID (nothing anchored it)
    r = verifier.post("/credentials/verify", json={"verifiableCredential": signed, "options": {}})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["verified"] is False
    assert body["checks"] == ["parse", "schema", "proof", "expiration"]
    assert body["errors"] == [NEVER_ANCHORED]
    # a signature by another key fails the proof check
    forged = sign_with_vc(fresh, bytes(32), inst["did"])
    with pytest.raises(integrity.ProofError):
        integrity.verify({**forged, "proof": {**forged["proof"], **_method(signed)}})
    r = verifier.post(
        "/credentials/verify",
        json={"verifiableCredential": {**forged, "proof": {**forged["proof"], **_method(signed)}}},
    )
    assert r.status_code == 400 and r.json()["errors"][0].startswith("proof:")


@pytest.mark.parametrize("kind", ["EmploymentCredential", "OpenBadgeCredential"])
def test_the_other_kinds_signed_by_the_library_pass_talentproofs_signature_check(
    kind: str, client: TestClient, service: Any
) -> None:
    """The degree above; employment and Open Badge credentials too: issued through the VC API,
    signed again by the library with the institution's key and the same ``created``, the
    library's proof is TalentProof's byte for byte and passes its signature check."""
    inst = onboard(client, types=[kind])
    seed = _institution_seed(service, inst["slug"])
    holder = Ed25519SigningKey.from_seed(HOLDER_SEED).public_key.did_key
    own_party = {"EmploymentCredential": {"employer_name": "University of Testing"}}
    subject = examples.BUILDERS[kind](holder, **own_party.get(kind, {}))["credentialSubject"]
    unsigned_request = {
        "@context": CONTEXTS[kind],
        "type": ["VerifiableCredential", kind],
        "issuer": inst["did"],
        "credentialSubject": subject,
    }
    r = client.post(
        "/credentials/issue",
        headers=bearer(inst["api_key"]["token"]),
        json={"credential": unsigned_request, "options": {}},
    )
    assert r.status_code == 201, r.text
    ours = r.json()["verifiableCredential"]
    unsigned = {k: v for k, v in ours.items() if k != "proof"}
    theirs = sign_with_vc(unsigned, seed, inst["did"], created=ours["proof"]["created"])
    integrity.verify(theirs)
    assert theirs["proof"] == ours["proof"]
    with pytest.raises(integrity.ProofError):  # and a claim changed after signing fails it
        integrity.verify({**theirs, "validFrom": "2020-01-01T00:00:00Z"})


def _method(doc: dict[str, Any]) -> dict[str, str]:
    return {"verificationMethod": doc["proof"]["verificationMethod"]}


def test_a_presentation_built_and_signed_by_the_library_verifies(
    client: TestClient, verifier: TestClient
) -> None:
    inst = onboard(client)
    cred_id = _issued(client, inst)["id"]
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    anchored = client.get(f"/credentials/{cred_id}", headers=bearer(inst["api_key"]["token"]))
    credential = anchored.json()
    assert [p["type"] for p in credential["proof"]] == ["DataIntegrityProof", "TalentProofAnchor"]
    holder = Ed25519SigningKey.from_seed(HOLDER_SEED).public_key.did_key
    assert credential["credentialSubject"]["id"] == holder

    ch = verifier.post("/api/v1/challenges").json()
    assert ch["domain"] == DOMAIN
    vp = sign_with_vc(
        [credential],
        HOLDER_SEED,
        holder,
        presentation=True,
        challenge=ch["challenge"],
        domain=ch["domain"],
    )
    assert vp["type"] == ["VerifiablePresentation"] and vp["holder"] == holder
    assert vp["proof"]["proofPurpose"] == "authentication"
    assert vp["proof"]["challenge"] == ch["challenge"] and vp["proof"]["domain"] == DOMAIN
    options = {"challenge": ch["challenge"], "domain": ch["domain"]}
    r = verifier.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": options}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "verified": True,
        "checks": [
            "parse",
            "schema",
            "proof",
            "merkle-inclusion",
            "anchor",
            "issuer-accreditation",
            "signing-key",
            "status",
            "expiration",
            "holder-binding",
        ],
        "warnings": [],
        "errors": [],
    }
    # the same presentation again: its challenge is used
    again = verifier.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": options}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0].startswith("holder-binding: The challenge")

    # signed for another challenge than the one the verifier asks for
    ch = verifier.post("/api/v1/challenges").json()
    other = sign_with_vc(
        [credential], HOLDER_SEED, holder, presentation=True, challenge="c-0", domain=DOMAIN
    )
    r = verifier.post(
        "/presentations/verify",
        json={"verifiablePresentation": other, "options": {"challenge": ch["challenge"]}},
    )
    assert r.status_code == 400 and r.json()["verified"] is False
    assert r.json()["errors"][0].startswith("holder-binding: The presentation is not bound")

    # signed by another key (its own did:key as holder): not the credential's subject
    ch = verifier.post("/api/v1/challenges").json()
    thief_seed = bytes([9]) * 32
    thief = Ed25519SigningKey.from_seed(thief_seed).public_key.did_key
    stolen = sign_with_vc(
        [credential],
        thief_seed,
        thief,
        presentation=True,
        challenge=ch["challenge"],
        domain=DOMAIN,
    )
    r = verifier.post(
        "/presentations/verify",
        json={"verifiablePresentation": stolen, "options": {"challenge": ch["challenge"]}},
    )
    assert r.status_code == 400 and r.json()["verified"] is False
    assert r.json()["errors"][0].startswith("holder-binding: The presentation is not bound")
    assert "HolderMismatch" in r.json()["errors"][0]
