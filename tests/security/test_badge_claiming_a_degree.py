"""A training centre's badge cannot stand in for a degree or an employment (real Anvil).

The attack: a training centre accredited only for Open Badges (HKIB) signs and anchors a badge
about the applicant that says it is a doctorate (``achievementType: DoctoralDegree``, named "Doctor
of Philosophy ... 10 years at HSBC") and, since the Open Badges subject admits other properties,
carries a ``degree`` and an ``employment`` object of its own. The badge is VALID (its issuer is
accredited for badges), but the policy reads facts by the credential's type: a badge counts only
for badge criteria, never for "bachelor's degree or above" nor for years at a notable firm. Already
refused; kept because no other test shows a badge's own claims cannot reach the degree and
employment criteria.
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


def test_a_badge_claiming_a_doctorate_and_employment_counts_only_as_a_badge(vchain):
    s = holder().public_key.did_key
    doc = issue(vchain, vchain.issuers["HKIB"], BADGE, s, tweak=_claims)
    report = vchain.verifier().verify_application(
        [Item("badge", doc)], policy=load_policy(DEFAULT_POLICY), profession="hk-dlt-expert"
    )
    assert report.verdict.value == "valid", report.outcome  # a badge its issuer may award
    assert report.outcome.outcome.value == "VALID_NOT_MET", report.outcome
    met = {c.id: c.met for c in report.profession.criteria}
    assert met == {"degree": False, "notable-firm-experience": False, "blockchain-in-finance": True}
