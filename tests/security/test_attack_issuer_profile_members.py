"""An accredited key signs a credential whose issuer profile describes another party (real
Anvil, the verifier's every surface).

The attack (red team, 2026-12-07): check 6 binds a credential's ``issuer.id`` to the anchoring
issuer's registered DID and its ``issuer.name`` to the registered name (ed27634), but an issuer
object may hold more: an Open Badges 3.0 ``Profile`` has ``url``, ``image``, ``description``,
``email``, ``phone``, ``address``, ``otherIdentifier``, ``endorsement``, ``official``,
``parentOrg``, ...; a VC Data Model 2.0 issuer object any member. A bank accredited for
employment signs, with its own key and under its own DID and name, an employment whose issuer
profile links HSBC's site and logo; HKIB's badge key a badge whose profile gives HSBC's e-mail,
address or identifier. They were ``verified: true`` on the VC API (VALID elsewhere), and a
relying party or wallet showing the verified issuer profile shows HSBC's logo and site. The
registry vouches for the issuer's DID and name only.

What must hold: the issuer object holds only what the registry vouches for and what
TalentProof's issuer writes (``id``, ``name``; an Open Badge's ``type: ["Profile"]``); any
other member fails check 6 naming it and saying the registry cannot vouch for it, with the
same verdict on every path: the CLI on the file, a folder with one and two workers (the C
recognizer of checks 1, 3 and 4 on and off), ``POST /api/v1/verify``, the page's route (scanned
payloads), the VC API (credential and bound presentation) and an OpenID4VP answer. A badge
achievement's ``creator`` profile, which check 6 binds to the issuer (its ``id`` and ``name``),
may hold no more (its ``type: ["Profile"]`` aside): a creator stating HSBC's site, logo, e-mail or
address fails the same way. The
controls, the issuer's own forms (the DID alone, ``{id, name}``, a badge's
``{id, name, type: ["Profile"]}``), stay VALID everywhere.
"""

from __future__ import annotations

import copy
import json
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

HSBC_SITE = "https://www.hsbc.com.hk"
#: One member of an issuer profile per entry, each describing HSBC (Open Badges 3.0 Profile
#: members, and what a VC Data Model 2.0 issuer object may hold).
MEMBERS: dict[str, Any] = {
    "url": HSBC_SITE,
    "image": {"id": f"{HSBC_SITE}/content/dam/hsbc/hk/images/hsbc-logo.svg", "type": "Image"},
    "description": "The Hongkong and Shanghai Banking Corporation Limited",
    "email": "enquiries@hsbc.com.hk",
    "phone": "+852 2233 3000",
    "address": {
        "type": ["Address"],
        "streetAddress": "1 Queen's Road Central",
        "addressLocality": "Hong Kong",
        "addressCountry": "HK",
    },
    "otherIdentifier": [
        {"type": "IdentifierEntry", "identifier": "did:web:hsbc.com.hk", "identifierType": "did"}
    ],
    "endorsement": [
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "issuer": "did:web:hkma.gov.hk",
            "credentialSubject": {"id": "did:web:hsbc.com.hk", "type": "EndorsementSubject"},
        }
    ],
    "official": "HSBC",
    "parentOrg": {"id": "did:web:hsbc.com", "type": ["Profile"], "name": "HSBC Holdings plc"},
    "sameAs": HSBC_SITE,
}


def _profile(issuer: Any, kind: str, member: str | None = None) -> dict[str, Any]:
    """The issuer object TalentProof's issuer writes for ``kind`` (with ``member`` of
    :data:`MEMBERS` added)."""
    out: dict[str, Any] = {"id": issuer.did, "name": issuer.name}
    if kind == BADGE:
        out["type"] = ["Profile"]
    if member is not None:
        out[member] = copy.deepcopy(MEMBERS[member])
    return out


class Creator(dict):  # type: ignore[type-arg]
    """A badge signed with the issuer's own profile whose achievement ``creator`` is this."""


def _creator(issuer: Any, member: str | None = None) -> Creator:
    out = Creator(id=issuer.did, type=["Profile"], name=issuer.name)
    if member is not None:
        out[member] = copy.deepcopy(MEMBERS[member])
    return out


def _signed(issuer: Any, kind: str, subject: str, profile: Any) -> dict[str, Any]:
    if isinstance(profile, Creator):
        doc = build(kind, issuer.did, subject, issuer_name=issuer.name)
        doc["issuer"] = _profile(issuer, kind)
        doc["credentialSubject"]["achievement"]["creator"] = dict(profile)
        return sign_credential(doc, issuer.key)
    if kind == DEGREE:
        doc = build(kind, issuer.did, subject, institution=issuer.name)
    elif kind == EMPLOYMENT:
        doc = build(kind, issuer.did, subject, employer=issuer.name, start="2012-01-01")
    else:
        doc = build(kind, issuer.did, subject, issuer_name=issuer.name)
    doc["issuer"] = profile
    return sign_credential(doc, issuer.key)


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("issuer-profile-members")
    record = vchain.save_deployment(d)
    uni = vchain.issuers["University of Hong Kong"]
    hkib = vchain.issuers["HKIB"]
    # a bank accredited for employment, not HSBC, naming itself as registered
    bank = vchain.issuers.get("Bank of East Asia") or vchain.add_issuer(
        "Bank of East Asia", (EMPLOYMENT,), fresh_account=True
    )
    key = holder()
    s = key.public_key.did_key
    by_kind = {DEGREE: uni, EMPLOYMENT: bank, BADGE: hkib}
    # the attacks: every member on a badge (the Open Badges Profile); the site and the logo on
    # a degree and an employment too; a type beyond Profile on a badge, any type on a degree
    plans: list[tuple[str, str, Any]] = [(BADGE, m, _profile(hkib, BADGE, m)) for m in MEMBERS]
    for kind in (DEGREE, EMPLOYMENT):
        for m in ("url", "image"):
            plans.append((kind, m, _profile(by_kind[kind], kind, m)))
    plans.append((BADGE, "type", {**_profile(hkib, BADGE), "type": ["Profile", "Organization"]}))
    plans.append((DEGREE, "type", {**_profile(uni, DEGREE), "type": ["Profile"]}))
    # a badge's achievement creator is the issuer itself (check 6): its profile no more either
    for m in ("url", "image", "email", "address"):
        plans.append((BADGE, f"creator-{m}", _creator(hkib, m)))
    # the controls: the issuer's own forms
    controls: list[tuple[str, str, Any]] = [
        (DEGREE, "did alone", uni.did),
        (DEGREE, "id and name", _profile(uni, DEGREE)),
        (EMPLOYMENT, "id and name", _profile(bank, EMPLOYMENT)),
        (BADGE, "id, name, type Profile", _profile(hkib, BADGE)),
        (BADGE, "creator id, name, type Profile", _creator(hkib)),
    ]
    attacks: dict[str, dict[str, Any]] = {}
    # HSBC's own employment, in its own name (the profession counts HSBC's, not the other bank's)
    hsbc = vchain.issuers["HSBC"]
    honest: dict[str, dict[str, Any]] = {
        f"{EMPLOYMENT}-hsbc": anchor_batch(
            [_signed(hsbc, EMPLOYMENT, s, _profile(hsbc, EMPLOYMENT))],
            hsbc.client,
            vchain.deployment,
        )[0]
    }
    for kind, issuer in by_kind.items():
        mine = [(label, profile) for k, label, profile in plans if k == kind]
        ours = [(label, profile) for k, label, profile in controls if k == kind]
        signed = [_signed(issuer, kind, s, p) for _, p in mine + ours]
        anchored = anchor_batch(signed, issuer.client, vchain.deployment)
        for i, ((label, _), cred) in enumerate(zip(mine + ours, anchored, strict=True)):
            name = f"{kind}-{label}".replace(" ", "_").replace(",", "")
            (attacks if i < len(mine) else honest)[name] = cred
    folder = d / "folder"
    folder.mkdir()
    for name, doc in {**attacks, **honest}.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "key": key,
            "attacks": attacks,
            "honest": honest,
            "folder": folder,
            "client": client,
        }


def _member_of(name: str) -> str:
    return name.split("-", 1)[1].removeprefix("creator-")


def _refused(message: str, member: str) -> bool:
    return repr(member) in message and "cannot vouch" in message


def _single_surfaces(env: dict[str, Any], name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Each single-credential surface's answer for ``doc``: (verdict, check 6's message)."""
    return single_surfaces(env, name, doc, 6)


def test_attack_an_issuer_profile_describing_another_party_is_not_verified(env):  # type: ignore[no-untyped-def]
    wrong: dict[str, Any] = {}
    for name, doc in env["attacks"].items():
        member = _member_of(name)
        for surface, (verdict, message) in _single_surfaces(env, name, doc).items():
            expected = "not verified 400" if surface.startswith("vc api") else "INVALID"
            if verdict != expected or not _refused(message, member):
                wrong[f"{name} / {surface}"] = (verdict, message[:300])
    for mode, results in folder_verdicts(env).items():
        for name in env["attacks"]:
            verdict, text = results[name]
            if verdict != "INVALID" or not _refused(text, _member_of(name)):
                wrong[f"{name} / folder {mode}"] = (verdict, text[:300])
    assert not wrong, json.dumps(wrong, indent=1)


def test_attack_an_issuer_profile_in_an_openid4vp_answer_is_not_verified(env):  # type: ignore[no-untyped-def]
    honest = env["honest"]
    slot = {DEGREE: "degree", EMPLOYMENT: "employment", BADGE: "training"}
    base = {
        "degree": honest[f"{DEGREE}-id_and_name"],
        "employment": honest[f"{EMPLOYMENT}-hsbc"],
        "training": honest[f"{BADGE}-id_name_type_Profile"],
    }
    assert openid4vp_outcome(env, base)[0] == "VALID_MEETS"
    wrong: dict[str, Any] = {}
    for name, doc in env["attacks"].items():
        kind = name.split("-", 1)[0]
        verdict, text = openid4vp_outcome(env, {**base, slot[kind]: doc})
        if verdict != "INVALID" or not _refused(text.replace('\\"', '"'), _member_of(name)):
            wrong[name] = (verdict, text[:400])
    assert not wrong, json.dumps(wrong, indent=1)


def test_the_issuers_own_profiles_stay_valid_everywhere(env):  # type: ignore[no-untyped-def]
    wrong: dict[str, Any] = {}
    for name, doc in env["honest"].items():
        for surface, (verdict, message) in _single_surfaces(env, name, doc).items():
            if verdict != "VALID":
                wrong[f"{name} / {surface}"] = (verdict, message[:300])
    for mode, results in folder_verdicts(env).items():
        for name in env["honest"]:
            if results[name][0] != "VALID":
                wrong[f"{name} / folder {mode}"] = (results[name][0], results[name][1][:300])
    assert not wrong, json.dumps(wrong, indent=1)
