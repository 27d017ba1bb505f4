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


#: On-chain DIDs of the parties these tests name (as the governing authority registered them).
DIDS = {
    "HSBC": "did:web:hsbc.com",
    "Ripple Labs Inc.": "did:web:ripple.com",
    "HKEX": "did:web:hkex.com.hk",
    "R3": "did:web:r3.com",
    "OSL Digital Securities Limited": "did:web:osl.com",
    "The University of Hong Kong": "did:web:hku.hk",
}


def stated_party(doc: dict) -> str:
    """The employer or awarding institution (or badge issuer) a credential names."""
    s = doc["credentialSubject"]
    if "employment" in s:
        return s["employment"]["employer"]["name"]
    if "degree" in s:
        inst = s["degree"]["institution"]
        return inst["name"] if isinstance(inst, dict) else inst
    return "HKIB"


def signed_by_itself(ref: str, doc: dict, verified: bool = True) -> PolicyInput:
    """The credential as issued by the very party it names (the honest case)."""
    name = stated_party(doc)
    did = DIDS.get(name) or "did:web:" + "-".join(name.lower().split()) + ".example"
    return PolicyInput(ref, doc, verified, did, name)


def inputs(*docs: dict, verified: bool = True) -> list[PolicyInput]:
    return [signed_by_itself(f"c{i}", d, verified) for i, d in enumerate(docs)]


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
    assert "8.8 years" in exp.reason  # 2018-01-01 .. 2026-11-01, Ripple matched by its DID
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
    assert not exp.met
    assert "Tiny Startup Ltd (did:web:tiny-startup-ltd.example) is not a listed firm" in exp.reason
    # the domain criterion does not care about the firm
    assert by_id(r, "blockchain-in-finance").met


def test_blockchain_knowledge_by_training_badge(policy):
    b = badge(
        "DLT for Banking",
        [
            {
                "type": ["Alignment"],
                "targetName": "Smart contracts",
                "targetUrl": "https://x",
                "targetFramework": "ECF-Fintech",
                "targetCode": "DLT-FS",
            }
        ],
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
    docs = [signed_by_itself("forged-degree", degree("doctorate"), False)]
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


def test_application_date_changes_years(policy):
    docs = inputs(degree(), employment("HSBC", "2020-01-01", None, [BFS]))
    assert not policy.evaluate("hk-dlt-expert", docs, date(2024, 1, 1)).met
    r = policy.evaluate("hk-dlt-expert", docs, date(2025, 1, 2))
    assert r.met
    assert "up to 2025-01-02" in by_id(r, "notable-firm-experience").reason


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
        (
            {
                "professions": [
                    {
                        "id": "p",
                        "name": "P",
                        "criteria": [{"id": "a", "title": "A", "degree": {"min_level": "phd"}}],
                    }
                ]
            },
            "professions[0].criteria[0].degree.min_level",
        ),
        (
            {
                "professions": [
                    {"id": "p", "name": "P", "criteria": [{"id": "a", "title": "A", "any_of": []}]}
                ]
            },
            "professions[0].criteria[0].any_of",
        ),
        (
            {
                "professions": [
                    {
                        "id": "p",
                        "name": "P",
                        "criteria": [{"id": "a", "title": "A", "employment": {"min_years": -1}}],
                    }
                ]
            },
            "professions[0].criteria[0].employment.min_years",
        ),
        (
            {
                "professions": [
                    {
                        "id": "p",
                        "name": "P",
                        "criteria": [
                            {
                                "id": "a",
                                "title": "A",
                                "degree": {"min_level": "master"},
                                "badge": {},
                            }
                        ],
                    }
                ]
            },
            "professions[0].criteria[0]",
        ),
    ],
)
def test_malformed_policy_names_the_field(mutation, where):
    data = {
        "format": "talentproof-policy/1",
        "name": "x",
        "professions": [
            {
                "id": "p",
                "name": "P",
                "criteria": [{"id": "a", "title": "A", "degree": {"min_level": "bachelor"}}],
            }
        ],
    }
    data.update(mutation)
    with pytest.raises(PolicyError) as exc:
        parse_policy(data)
    assert exc.value.where == where
    assert "expected" in str(exc.value)


def test_result_json_roundtrip(policy):
    from talentproof.verifier.policy import ProfessionResult

    r = policy.evaluate("hk-dlt-expert", inputs(degree()), AS_OF)
    assert ProfessionResult.from_json(r.to_json()) == r


# --------------------------------------------------------------------------- attacks (issue 11)

OSL = ("did:web:osl.com", "OSL Digital Securities Limited")


def test_attack_false_meets_employer_named_by_another_issuer(policy):
    """OSL is accredited for employment credentials; it signs one naming HSBC as the employer.
    Before: "14.9 years at HSBC", MEETS. Now the claim is not OSL's to make: it does not count,
    and the criterion says exactly why."""
    forged = PolicyInput("emp", employment("HSBC", "2012-01-01", None, [BFS]), True, *OSL)
    r = policy.evaluate("hk-dlt-expert", [signed_by_itself("deg", degree()), forged], AS_OF)
    assert not r.met
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met and exp.evidence == ()
    assert (
        "emp: employer 'HSBC' is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)"
        in exp.reason
    )
    assert "HSBC" not in exp.reason.split("is not the issuer")[1]
    # nor does it show blockchain knowledge through that employment
    assert not by_id(r, "blockchain-in-finance").children[0].met


def test_employment_signed_by_its_employer_counts_under_the_on_chain_name(policy):
    own = PolicyInput(
        "emp", employment("osl digital securities limited.", "2012-01-01", None, [BFS]), True, *OSL
    )
    r = policy.evaluate("hk-dlt-expert", [signed_by_itself("deg", degree()), own], AS_OF)
    exp = by_id(r, "notable-firm-experience")
    # name equal up to case and punctuation; the policy lists OSL by its DID, did:web:osl.com
    assert exp.met and "at OSL Digital Securities Limited up to 2026-11-01" in exp.reason


def test_attack_employer_id_of_another_party(policy):
    doc = employment("OSL Digital Securities Limited", "2012-01-01", None, [BFS])
    doc["credentialSubject"]["employment"]["employer"]["id"] = "did:web:hsbc.com"
    r = policy.evaluate("hk-dlt-expert", [PolicyInput("emp", doc, True, *OSL)], AS_OF)
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met
    assert (
        "(did:web:hsbc.com) is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)"
        in exp.reason
    )


def test_attack_degree_naming_another_institution(policy):
    """A training centre accredited for degrees signs a degree 'from' HKU."""
    fake = PolicyInput(
        "deg", degree("doctorate"), True, "did:web:diploma-mill.example", "Diploma Mill"
    )
    r = policy.evaluate("hk-dlt-expert", [fake], AS_OF)
    d = by_id(r, "degree")
    assert not d.met
    assert (
        "deg: awarding institution 'The University of Hong Kong' is not the issuer "
        "'Diploma Mill' (did:web:diploma-mill.example)" in d.reason
    )


def test_issuer_identity_unknown_never_counts(policy):
    """Without the ledger's record of the issuer (chain not read), no degree or employment counts."""
    r = policy.evaluate("hk-dlt-expert", [PolicyInput("deg", degree(), True)], AS_OF)
    d = by_id(r, "degree")
    assert not d.met and "identity on the ledger is unknown" in d.reason


def test_recognised_universities_are_matched_by_did():
    pol = parse_policy(
        {
            "format": "talentproof-policy/1",
            "name": "x",
            "professions": [
                {
                    "id": "p",
                    "name": "P",
                    "criteria": [
                        {
                            "id": "deg",
                            "title": "Degree",
                            "degree": {
                                "min_level": "bachelor",
                                "institutions": [
                                    {"did": "did:web:hku.hk", "name": "The University of Hong Kong"}
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )
    assert pol.evaluate("p", inputs(degree()), AS_OF).met
    # same name, another DID: not recognised
    other = PolicyInput("deg", degree(), True, "did:web:hku.example", "The University of Hong Kong")
    r = pol.evaluate("p", [other], AS_OF)
    assert not r.met
    assert (
        "The University of Hong Kong (did:web:hku.example) is not a recognised university"
        in r.criteria[0].reason
    )


def test_attack_fact_after_the_application_date_does_not_count(policy):
    """Facts have their own time: a degree awarded after the application date did not exist then."""
    doc = degree()
    doc["credentialSubject"]["degree"]["awardDate"] = "2026-06-30"
    r = policy.evaluate("hk-dlt-expert", inputs(doc), date(2026, 1, 15))
    d = by_id(r, "degree")
    assert not d.met and "not yet awarded on 2026-01-15 (awarded 2026-06-30)" in d.reason
    assert by_id(policy.evaluate("hk-dlt-expert", inputs(doc), date(2026, 7, 1)), "degree").met
    emp = policy.evaluate(
        "hk-dlt-expert", inputs(employment("HSBC", "2026-03-01", None, [BFS])), date(2026, 1, 15)
    )
    assert (
        "not yet employed on 2026-01-15 (started 2026-03-01)"
        in by_id(emp, "notable-firm-experience").reason
    )


def test_shipped_policy_names_firms_by_did(policy):
    firms = by_id_criterion(policy, "hk-dlt-expert", "notable-firm-experience").employers
    assert all(f.did.startswith("did:web:") for f in firms)
    dids = {f.name: f.did for f in firms}
    assert dids["OSL"] == "did:web:osl.com" and dids["HSBC"] == "did:web:hsbc.com"


def by_id_criterion(policy, profession, cid):
    return next(c for c in policy.profession(profession).criteria if c.id == cid)


@pytest.mark.parametrize(
    ("employers", "where"),
    [
        (["HSBC"], "employers[0]"),  # a bare name: firms are named by DID now
        ([{"name": "HSBC", "aliases": ["HSBC Holdings"]}], "employers[0]"),
        ([{"name": "HSBC"}], "employers[0].did"),
        ([{"did": "hsbc.com", "name": "HSBC"}], "employers[0].did"),
        ([{"did": "did:web:hsbc.com"}], "employers[0].name"),
        (
            [{"did": "did:web:hsbc.com", "name": "A"}, {"did": "did:web:hsbc.com", "name": "B"}],
            "employers[1].did",
        ),
    ],
)
def test_employers_must_be_dids(employers, where):
    data = {
        "format": "talentproof-policy/1",
        "name": "x",
        "professions": [
            {
                "id": "p",
                "name": "P",
                "criteria": [
                    {
                        "id": "a",
                        "title": "A",
                        "employment": {"employers": employers, "min_years": 1},
                    }
                ],
            }
        ],
    }
    with pytest.raises(PolicyError) as exc:
        parse_policy(data)
    assert exc.value.where == f"professions[0].criteria[0].employment.{where}"


def test_badge_completed_after_the_application_date_does_not_count(policy):
    b = badge("Blockchain in financial services")
    b["awardedDate"] = "2026-10-01T00:00:00Z"  # Open Badges 3.0: when it was awarded
    before = policy.evaluate("hk-dlt-expert", inputs(b), date(2026, 9, 1))
    train = by_id(before, "blockchain-in-finance").children[1]
    assert (
        not train.met and "not yet completed on 2026-09-01 (completed 2026-10-01)" in train.reason
    )
    after = policy.evaluate("hk-dlt-expert", inputs(b), date(2026, 10, 2))
    assert by_id(after, "blockchain-in-finance").children[1].met


def test_ongoing_employment_is_not_counted_beyond_today(policy):
    """An application date in the future cannot add years to an employment still going on."""
    docs = inputs(degree(), employment("HSBC", "2024-01-01", None, [BFS]))
    r = policy.evaluate("hk-dlt-expert", docs, date(2035, 1, 1), today=date(2026, 1, 1))
    exp = by_id(r, "notable-firm-experience")
    assert not exp.met and "only 2.0 years at HSBC up to 2026-01-01" in exp.reason


def test_refused_application_says_why_once_per_criterion(policy):
    """An application that is not valid counts no credential: each criterion says so once. A
    criterion of alternatives said it once per alternative before (joined '.;'), so the officer's
    page repeated one unreadable picture's reason five times in the Talent List box."""
    why = "the application is NOT VERIFIABLE: Could not read v10.jpg: no readable QR code."
    docs = inputs(degree("master"), employment("HSBC", "2018-01-01", None, [BFS]))
    r = policy.evaluate("hk-dlt-expert", docs, AS_OF, refused=why)
    assert not r.met
    for c in r.criteria:
        assert not c.met
        assert c.reason == f"no credential counts: {why}", c.reason
        for child in c.children:  # each alternative still says it too, below its parent
            assert child.reason == f"no credential counts: {why}"
