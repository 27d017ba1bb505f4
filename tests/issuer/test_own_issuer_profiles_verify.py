"""The issuer's own credentials of every kind pass check 6's issuer-profile rule (real Anvil).

Check 6 refuses an issuer object holding anything the registry cannot vouch for (only ``id``,
``name`` and an Open Badge's ``type: ["Profile"]``: `credential.types.unvouched_issuer_members`,
tests/security/test_attack_issuer_profile_members.py). What the issuer service signs, through
every way it issues (``POST /credentials``, the W3C VC API, a bulk job signed by the template
and the C signer), must be exactly `types.issuer_profile` and verify VALID once anchored.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from talentproof.credential.types import (
    DEGREE,
    EMPLOYMENT,
    OPEN_BADGE,
    issuer_profile,
    unvouched_issuer_members,
)
from talentproof.issuer.bulk import BulkRunner

from .issuer_helpers import bearer, degree_request, onboard, post_bulk_job
from .test_vc_api import TP, V2, vc_badge

pytestmark = pytest.mark.integration

NAME = "University of Testing"


def _subject(kind: str, seed: int) -> dict[str, Any]:
    subject = copy.deepcopy(degree_request(f"Field {seed}", seed_byte=seed)["credentialSubject"])
    if kind == DEGREE:
        return subject
    del subject["degree"]
    if kind == EMPLOYMENT:
        subject["employment"] = {
            "type": "Employment",
            "employer": {"name": NAME, "registrationId": "HK-0000001"},
            "role": "Blockchain engineer",
            "seniority": "senior",
            "startDate": "2019-03-01",
            "responsibilities": ["settlement on a permissioned ledger"],
            "domains": ["blockchain in financial services"],
        }
        return subject
    badge = vc_badge("did:web:unused.example")["credentialSubject"]
    return {**subject, "type": badge["type"], "achievement": badge["achievement"]}


def _vc_api_body(kind: str, did: str, seed: int) -> dict[str, Any]:
    if kind == OPEN_BADGE:
        body = vc_badge(did)
        body["credentialSubject"] = _subject(kind, seed)
        return body
    return {
        "@context": [V2, TP],
        "type": ["VerifiableCredential", kind],
        "issuer": did,
        "credentialSubject": _subject(kind, seed),
    }


def test_every_way_the_issuer_signs_writes_its_own_profile_and_verifies_valid(
    client, service, issuer_chain
) -> None:
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.report import Verdict
    from talentproof.verifier.trust import TrustedDeployment

    inst = onboard(client, types=[DEGREE, EMPLOYMENT, OPEN_BADGE])
    token = inst["api_key"]["token"]
    ids: dict[str, str] = {}
    seed = 30
    for kind in (DEGREE, EMPLOYMENT, OPEN_BADGE):
        seed += 3
        r = client.post(
            "/credentials",
            headers=bearer(token),
            json={"type": kind, "credentialSubject": _subject(kind, seed)},
        )
        assert r.status_code == 202, r.text
        ids[f"{kind} POST /credentials"] = r.json()["credential"]["id"]
        r = client.post(
            "/credentials/issue",
            headers=bearer(token),
            json={"credential": _vc_api_body(kind, inst["did"], seed + 1), "options": {}},
        )
        assert r.status_code == 201, r.text
        ids[f"{kind} VC API"] = r.json()["verifiableCredential"]["id"]
        job = post_bulk_job(client, token, [_subject(kind, seed + 2)], kind)
        BulkRunner(service, processes=1).run_pending()
        (row,) = [
            orjson.loads(line)
            for line in client.get(
                f"/bulk-jobs/{job}/results", headers=bearer(token)
            ).text.splitlines()
        ]
        ids[f"{kind} bulk"] = row["credential"]["id"]
    client.app.state.worker.drain(60)
    trust = TrustedDeployment.load(issuer_chain["deployment_file"])
    verifier = Verifier(RegistryReader(issuer_chain["rpc_url"], trust.registry), trust)
    wrong = {}
    for how, cid in ids.items():
        doc = client.get(f"/credentials/{cid}", headers=bearer(token)).json()
        kind = doc["type"][-1]
        assert doc["issuer"] == issuer_profile(inst["did"], NAME, kind), (how, doc["issuer"])
        assert unvouched_issuer_members(kind, doc["issuer"]) == ()
        report = verifier.verify_document(doc)
        if report.verdict != Verdict.VALID:
            wrong[how] = [c.message for c in report.checks if c.status.value != "pass"]
    assert not wrong, wrong
    assert len(ids) == 9
