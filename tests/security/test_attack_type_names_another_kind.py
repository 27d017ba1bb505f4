"""An accredited key signs a credential whose ``type`` names another kind beside its own (real
Anvil, the verifier's every surface).

The attack (red team, 2026-12-07): a credential's kind is the last entry of its ``type``; check 2
validates it against that kind's schema and check 6 asks the registry whether the signer was
accredited for that kind. The schemas ask only that ``type`` start with
``VerifiableCredential`` and *contain* the kind, so other entries were free: HSBC, accredited for
employment credentials only, signed an employment typed ``["VerifiableCredential",
"DegreeCredential", "EmploymentCredential"]``; the university, accredited for degrees, a degree
typed also ``EmploymentCredential``; HKIB, accredited for badges, a badge typed also
``DegreeCredential``. Each came back VALID on every surface, ``verified: true`` from the W3C VC
API: a relying party (or a wallet matching a DCQL ``type_values`` query) that reads ``type`` as
VC Data Model 2.0 defines it (``"DegreeCredential" in type``) read a degree signed by a bank the
registry never accredited for degrees, with TalentProof's word that it verified. The registry
vouches for one kind per credential: the kind it accredited the signer for.

Now a credential's ``type`` is ``VerifiableCredential`` and its kind, nothing else (an Open
Badge may also say ``AchievementCredential``, its other name in Open Badges 3.0): any other entry
fails check 2, naming the field, on every surface; the issuer's own forms stay VALID.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder
from tests.chainkit import sign as sign_credential
from tests.security.surfaces import (
    folder_verdicts,
    openid4vp_outcome,
    single_surfaces,
)

pytestmark = pytest.mark.integration

#: (label, kind, the type list signed): the attacks.
ATTACKS: list[tuple[str, str, list[str]]] = [
    ("employment-typed-degree", EMPLOYMENT, ["VerifiableCredential", DEGREE, EMPLOYMENT]),
    (
        "employment-typed-w3c-degree",
        EMPLOYMENT,
        ["VerifiableCredential", "UniversityDegreeCredential", EMPLOYMENT],
    ),
    ("degree-typed-employment", DEGREE, ["VerifiableCredential", EMPLOYMENT, DEGREE]),
    ("badge-typed-degree", BADGE, ["VerifiableCredential", DEGREE, BADGE]),
]
#: The issuer's own forms (and the Open Badges 3.0 alias of a badge's kind): VALID.
CONTROLS: list[tuple[str, str, list[str]]] = [
    ("employment", EMPLOYMENT, ["VerifiableCredential", EMPLOYMENT]),
    ("degree", DEGREE, ["VerifiableCredential", DEGREE]),
    ("badge", BADGE, ["VerifiableCredential", BADGE]),
    ("badge-achievement", BADGE, ["VerifiableCredential", "AchievementCredential", BADGE]),
]


@pytest.fixture(scope="module")
def env(vchain: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("type-names-another-kind")
    record = vchain.save_deployment(d)
    by_kind = {
        DEGREE: vchain.issuers["University of Hong Kong"],
        EMPLOYMENT: vchain.issuers["HSBC"],
        BADGE: vchain.issuers["HKIB"],
    }
    key = holder()
    s = key.public_key.did_key
    docs: dict[str, dict[str, Any]] = {}
    for kind, issuer in by_kind.items():
        plans = [(label, types) for label, k, types in ATTACKS + CONTROLS if k == kind]
        signed = []
        for _, types in plans:
            if kind == DEGREE:
                doc = build(kind, issuer.did, s, institution=issuer.name)
            elif kind == EMPLOYMENT:
                doc = build(kind, issuer.did, s, employer=issuer.name, start="2012-01-01")
            else:
                doc = build(kind, issuer.did, s, issuer_name=issuer.name)
            doc["type"] = list(types)
            signed.append(sign_credential(doc, issuer.key))
        for (label, _), cred in zip(
            plans, anchor_batch(signed, issuer.client, vchain.deployment), strict=True
        ):
            docs[label] = cred
    folder = d / "folder"
    folder.mkdir()
    for name, doc in docs.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "key": key,
            "docs": docs,
            "folder": folder,
            "client": client,
        }


def _surfaces(env: dict[str, Any], name: str) -> dict[str, tuple[str, str]]:
    """Each single-credential surface's answer for the credential ``name``: (verdict, check 2's
    message or the VC API's errors)."""
    return single_surfaces(env, name, env["docs"][name], 2, qr_text=True)


def test_attack_a_type_naming_another_kind_is_not_verified(env: dict[str, Any]) -> None:
    wrong: dict[str, Any] = {}
    for name, _, _ in ATTACKS:
        for surface, (verdict, message) in _surfaces(env, name).items():
            expected = "not verified 400" if surface.startswith("vc api") else "INVALID"
            if verdict != expected or "type" not in message:
                wrong[f"{name} / {surface}"] = (verdict, message[:300])
    for mode, results in folder_verdicts(env).items():
        for name, _, _ in ATTACKS:
            verdict, text = results[name]
            if verdict != "INVALID" or '"schema"' not in text:
                wrong[f"{name} / folder {mode}"] = (verdict, text[:300])
    assert not wrong, json.dumps(wrong, indent=1)


def test_attack_in_an_openid4vp_answer(env: dict[str, Any]) -> None:
    """The employment typed also as a degree, given for the degree the request asks for beside
    the holder's honest employment and badge: not VALID, never MEETS."""
    docs = env["docs"]
    base = {"degree": docs["degree"], "employment": docs["employment"], "training": docs["badge"]}
    assert openid4vp_outcome(env, base)[0] == "VALID_MEETS"
    for slot, name in (("degree", "employment-typed-degree"), ("training", "badge-typed-degree")):
        verdict, text = openid4vp_outcome(env, {**base, slot: docs[name]})
        assert verdict == "INVALID", (name, text[:600])


def test_the_issuers_own_type_lists_stay_valid_everywhere(env: dict[str, Any]) -> None:
    wrong: dict[str, Any] = {}
    for name, _, _ in CONTROLS:
        for surface, (verdict, message) in _surfaces(env, name).items():
            if verdict != "VALID":
                wrong[f"{name} / {surface}"] = (verdict, message[:300])
    for mode, results in folder_verdicts(env).items():
        for name, _, _ in CONTROLS:
            if results[name][0] != "VALID":
                wrong[f"{name} / folder {mode}"] = (results[name][0], results[name][1][:300])
    assert not wrong, json.dumps(wrong, indent=1)
