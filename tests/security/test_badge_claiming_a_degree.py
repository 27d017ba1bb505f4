"""A training centre's badge cannot stand in for a degree or an employment (real Anvil).

The attack: a training centre accredited only for Open Badges (HKIB) signs and anchors a badge
about the applicant that says it is a doctorate (``achievementType: DoctoralDegree``, named "Doctor
of Philosophy ... 10 years at HSBC") and, since the Open Badges subject admits other properties,
carries a ``degree`` and an ``employment`` object of its own.

Earlier the badge was VALID (its issuer is accredited for badges) and only the policy kept it
out of the degree and employment criteria. But a VALID credential vouches for everything it says:
a VC API relying party reading ``credentialSubject.degree`` of a ``verified: true`` badge read a
doctorate no accredited party signed. TalentProof's claim members (``degree``, ``employment``)
are now refused in any credential but their own kind (check 2, `types.require_one_kind`): the
badge is INVALID, and the issuer refuses to sign one. The badge's own claims in OB's vocabulary
(``achievementType``, the name) stay a badge's, counted only for badge criteria.
"""

from __future__ import annotations

import pytest

from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from tests.chainkit import BADGE, holder, issue

pytestmark = pytest.mark.integration


def _claims(subject):  # type: ignore[no-untyped-def]
    subject["achievement"]["achievementType"] = "DoctoralDegree"
    subject["achievement"]["name"] = "Doctor of Philosophy (Computer Science); 10 years at HSBC"
    subject["degree"] = {
        "level": "doctorate",
        "fieldOfStudy": "Computer Science",
        "institution": {"name": "HKIB"},
        "awardDate": "2015-06-30",
    }
    subject["employment"] = {
        "employer": {"name": "HSBC", "id": "did:web:hsbc.com", "registrationId": "HK-1"},
        "startDate": "2010-01-01",
        "domains": ["blockchain in financial services"],
    }


def test_a_badge_carrying_a_degree_and_employment_is_refused_at_check_2(vchain):
    s = holder().public_key.did_key
    doc = issue(vchain, vchain.issuers["HKIB"], BADGE, s, tweak=_claims)
    report = vchain.verifier().verify_application(
        [Item("badge", doc)], policy=load_policy(DEFAULT_POLICY), profession="hk-dlt-expert"
    )
    assert report.verdict.value == "invalid", report.outcome
    assert report.outcome.outcome.value == "INVALID", report.outcome
    (cred,) = report.credentials
    failed = [c for c in cred.checks if c.status.value == "fail"]
    assert [c.number for c in failed] == [2], failed
    assert "credentialSubject.degree" in failed[0].message, failed[0].message


def test_a_badge_claiming_a_doctorate_in_its_own_words_counts_only_as_a_badge(vchain):
    def own_words(subject):  # type: ignore[no-untyped-def]
        subject["achievement"]["achievementType"] = "DoctoralDegree"
        subject["achievement"]["name"] = "Doctor of Philosophy (Computer Science); 10 years at HSBC"

    s = holder().public_key.did_key
    doc = issue(vchain, vchain.issuers["HKIB"], BADGE, s, tweak=own_words)
    report = vchain.verifier().verify_application(
        [Item("badge", doc)], policy=load_policy(DEFAULT_POLICY), profession="hk-dlt-expert"
    )
    assert report.verdict.value == "valid", report.outcome  # a badge its issuer may award
    assert report.outcome.outcome.value == "VALID_NOT_MET", report.outcome
    met = {c.id: c.met for c in report.profession.criteria}
    assert met == {"degree": False, "notable-firm-experience": False, "blockchain-in-finance": True}
