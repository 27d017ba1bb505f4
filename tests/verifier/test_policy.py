"""The talent-list policy engine on hand-made credential data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from talentproof.verifier.errors import PolicyError, UnknownProfession
from talentproof.verifier.policy import PolicyInput, load_policy, parse_policy

AS_OF = date(2026, 11, 1)
HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def degree(level: str = "bachelor", field: str = "Computer Science") -> dict:
    return {
        "type": ["VerifiableCredential", "DegreeCredential"],
        "credentialSubject": {
            "id": HOLDER,
            "degree": {
                "level": level,
                "fieldOfStudy": field,
                "institution": "The University of Hong Kong",
                "awardDate": "2015-06-30",
            },
        },
    }


def employment(employer: str, start: str, end: str | None, domains: list[str]) -> dict:
    emp = {
        "employer": {"name": employer, "registrationId": "HK-123"},
        "role": "Engineer",
        "startDate": start,
        "domains": domains,
    }
    if end:
        emp["endDate"] = end
    return {
        "type": ["VerifiableCredential", "EmploymentCredential"],
        "credentialSubject": {"id": HOLDER, "employment": emp},
    }


def badge(name: str, alignment: list[dict] | None = None) -> dict:
    return {
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {
            "id": HOLDER,
            "type": ["AchievementSubject"],
            "achievement": {
                "type": ["Achievement"],
                "name": name,
                "description": "...",
                "criteria": {"narrative": "..."},
                "achievementType": "Certificate",
                "alignment": alignment or [],
            },
        },
    }


BFS = "blockchain in financial services"


def inputs(*docs: dict, verified: bool = True) -> list[PolicyInput]:
    return [PolicyInput(f"c{i}", d, verified) for i, d in enumerate(docs)]


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def by_id(result, cid):
    return next(c for c in result.criteria if c.id == cid)


def test_dlt_expert_met_with_evidence(policy):
    docs = inputs(
        degree("master"),
        employment("HSBC", "2018-01-01", "2021-01-01", [BFS]),
        employment("Ripple Labs Inc.", "2021-01-01", None, ["payments"]),
    )
    r = policy.evaluate("hk-dlt-expert", docs, AS_OF)
    assert r.met
    assert by_id(r, "degree").evidence == ("c0",)
    exp = by_id(r, "notable-firm-experience")
    assert exp.met and set(exp.evidence) == {"c1", "c2"}
    assert "8.8 years" in exp.reason  # 2018-01-01 .. 2026-11-01, alias matched
    know = by_id(r, "blockchain-in-finance")
    assert know.met and know.evidence == ("c1",)


def test_degree_below_bachelor_is_unmet(policy):
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(degree("associate"), employment("HSBC", "2010-01-01", None, [BFS])),
        AS_OF,
    )
    d = by_id(r, "degree")
    assert not d.met and "associate is below bachelor" in d.reason
    assert not r.met


def test_too_few_years_is_unmet_and_says_how_many(policy):
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(degree(), employment("HSBC", "2024-01-01", "2026-01-01", [BFS])),
        AS_OF,
    )
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met
    assert "only 2.0 years" in exp.reason and "needs 5.0 years" in exp.reason


def test_overlapping_employments_are_counted_once(policy):
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(
            degree(),
            employment("HSBC", "2020-01-01", "2024-01-01", [BFS]),
            employment("HKEX", "2021-01-01", "2024-01-01", [BFS]),
        ),
        AS_OF,
    )
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met and "only 4.0 years" in exp.reason


def test_unlisted_firm_does_not_count(policy):
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(degree(), employment("Tiny Startup Ltd", "2010-01-01", None, [BFS])),
        AS_OF,
    )
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met and "Tiny Startup Ltd is not a listed firm" in exp.reason
    # the domain criterion does not care about the firm
    assert by_id(r, "blockchain-in-finance").met


def test_blockchain_knowledge_by_training_badge(policy):
    b = badge(
        "DLT for Banking",
        [{"type": ["Alignment"], "targetName": "Smart contracts", "targetUrl": "https://x",
          "targetFramework": "ECF-Fintech", "targetCode": "DLT-FS"}],
    )
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(degree(), employment("R3", "2015-01-01", None, ["software"]), b),
        AS_OF,
    )
    know = by_id(r, "blockchain-in-finance")
    assert know.met and know.evidence == ("c2",)
    assert [c.met for c in know.children] == [False, True]
    assert r.met


def test_blockchain_knowledge_unmet_explains_both_alternatives(policy):
    r = policy.evaluate(
        "hk-dlt-expert",
        inputs(degree(), employment("R3", "2015-01-01", None, ["software"]), badge("Cooking")),
        AS_OF,
    )
    know = by_id(r, "blockchain-in-finance")
    assert not know.met
    assert "none of the alternatives" in know.reason
    assert "'Cooking' is not aligned" in know.reason
    assert "no domain among" in know.reason


def test_missing_credentials_are_named(policy):
    r = policy.evaluate("hk-dlt-expert", [], AS_OF)
    assert not r.met
    assert all(not c.met for c in r.criteria)
    assert "no verified degree credential" in by_id(r, "degree").reason
    assert "no verified employment credential" in by_id(r, "notable-firm-experience").reason


def test_unverified_credentials_do_not_count(policy):
    docs = [PolicyInput("forged-degree", degree("doctorate"), False)]
    r = policy.evaluate("hk-dlt-expert", docs, AS_OF)
    d = by_id(r, "degree")
    assert not d.met and "forged-degree" in d.reason and "failed verification" in d.reason


def test_fintech_profession_uses_its_own_criteria(policy):
    docs = inputs(
        degree(),
        employment("Tiny Payments Ltd", "2019-01-01", None, ["digital payments"]),
        badge("Certified Fintech Professional"),
    )
    r = policy.evaluate("hk-fintech-professional", docs, AS_OF)
    assert r.met
    assert [c.id for c in r.criteria] == ["degree", "fintech-experience", "fintech-qualification"]
    # the same applicant is not a DLT expert: the firm is not listed
    assert not policy.evaluate("hk-dlt-expert", docs, AS_OF).met


def test_as_of_date_changes_years(policy):
    docs = inputs(degree(), employment("HSBC", "2020-01-01", None, [BFS]))
    assert not policy.evaluate("hk-dlt-expert", docs, date(2024, 1, 1)).met
    assert policy.evaluate("hk-dlt-expert", docs, date(2025, 1, 2)).met


def test_thresholds_are_data(tmp_path: Path):
    text = """
format: talentproof-policy/1
name: test
professions:
  - id: p
    name: P
    criteria:
      - id: exp
        title: Two years anywhere in DLT
        employment: {domains: [dlt], min_years: 2}
"""
    f = tmp_path / "p.yaml"
    f.write_text(text)
    pol = load_policy(f)
    docs = inputs(employment("Anyone", "2023-01-01", None, ["DLT"]))
    assert pol.evaluate("p", docs, AS_OF).met
    f.write_text(text.replace("min_years: 2", "min_years: 4"))
    assert not load_policy(f).evaluate("p", docs, AS_OF).met


def test_unknown_profession(policy):
    with pytest.raises(UnknownProfession, match="hk-dlt-expert"):
        policy.evaluate("astronaut", [], AS_OF)


@pytest.mark.parametrize(
    ("mutation", "where"),
    [
        ({"format": "v0"}, "format"),
        ({"professions": []}, "professions"),
        ({"professions": [{"id": "p", "name": "P", "criteria": [{"id": "a", "title": "A",
          "degree": {"min_level": "phd"}}]}]}, "professions[0].criteria[0].degree.min_level"),
        ({"professions": [{"id": "p", "name": "P", "criteria": [{"id": "a", "title": "A",
          "any_of": []}]}]}, "professions[0].criteria[0].any_of"),
        ({"professions": [{"id": "p", "name": "P", "criteria": [{"id": "a", "title": "A",
          "employment": {"min_years": -1}}]}]}, "professions[0].criteria[0].employment.min_years"),
        ({"professions": [{"id": "p", "name": "P", "criteria": [{"id": "a", "title": "A",
          "degree": {"min_level": "master"}, "badge": {}}]}]}, "professions[0].criteria[0]"),
    ],
)
def test_malformed_policy_names_the_field(mutation, where):
    data = {"format": "talentproof-policy/1", "name": "x",
            "professions": [{"id": "p", "name": "P", "criteria": [
                {"id": "a", "title": "A", "degree": {"min_level": "bachelor"}}]}]}
    data.update(mutation)
    with pytest.raises(PolicyError) as exc:
        parse_policy(data)
    assert exc.value.where == where
    assert "expected" in str(exc.value)


def test_result_json_roundtrip(policy):
    from talentproof.verifier.policy import ProfessionResult

    r = policy.evaluate("hk-dlt-expert", inputs(degree()), AS_OF)
    assert ProfessionResult.from_json(r.to_json()) == r
