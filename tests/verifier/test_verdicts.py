"""One verdict, said one way (issue 11): the outcome, the CLI's result line and exit code, the
person beside it, and the offline attacks (impossible facts, another person, the wrong travel
document). No chain needed: reports are built from their parts, checks 1-4 run offline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier import checks as verifier_checks
from talentproof.verifier import cli
from talentproof.verifier.engine import ApplicationReport, Verifier
from talentproof.verifier.messages import render
from talentproof.verifier.policy import CriterionResult, ProfessionResult
from talentproof.verifier.render import render_application
from talentproof.verifier.report import (
    CHECKS,
    CheckId,
    CheckResult,
    CredentialReport,
    Outcome,
    Status,
)
from talentproof.verifier.trust import TrustedDeployment
from tests.chainkit import DEGREE, EMPLOYMENT, ID_NUMBER, ID_SALT, PERSON, build, holder, sign

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SUBJECT = holder().public_key.did_key


def _checks(fail: CheckId | None = None, status: Status = Status.FAIL) -> tuple[CheckResult, ...]:
    out = []
    for cid in CHECKS:
        if cid in (CheckId.SAME_APPLICANT, CheckId.IDENTITY_DOCUMENT):
            continue
        if cid is fail:
            out.append(CheckResult(cid, status, f"{cid.value} went wrong"))
        elif cid is CheckId.BINDING:
            out.append(CheckResult(cid, Status.SKIPPED, "not requested"))
        else:
            out.append(CheckResult(cid, Status.PASS, "ok"))
    return tuple(out)


def _cred(source: str = "degree.png", **kw) -> CredentialReport:
    doc = build(DEGREE, "did:web:hku.hk", SUBJECT, institution="HKU")
    return CredentialReport(
        source=source,
        checks=kw.pop("checks", _checks()),
        credential=doc,
        kind=DEGREE,
        subject_id=SUBJECT,
        issuer_name="HKU",
        issuer_did="did:web:hku.hk",
        **kw,
    )


def _prof(met: bool) -> ProfessionResult:
    return ProfessionResult(
        "hk-dlt-expert",
        "DLT expert",
        date(2026, 1, 15),
        (
            CriterionResult("degree", "Bachelor's degree", True, "ok"),
            CriterionResult(
                "exp",
                "Notable firms",
                met,
                "ok" if met else "employer 'HSBC' is not the issuer 'OSL'",
            ),
        ),
    )


def _app(*creds: CredentialReport, profession=None, checks=()) -> ApplicationReport:
    return ApplicationReport(
        credentials=creds,
        checks=checks,
        profession=profession,
        as_of="2026-11-21T12:00:00Z",
        application_date="2026-01-15",
        person=verifier_checks.applicant(creds),
    )


CASES = {
    "valid, profession met": (_app(_cred(), profession=_prof(True)), Outcome.VALID_MEETS, 0),
    "valid, no profession": (_app(_cred()), Outcome.VALID, 0),
    "valid, profession not met": (_app(_cred(), profession=_prof(False)), Outcome.VALID_NOT_MET, 4),
    "invalid": (_app(_cred(checks=_checks(CheckId.SIGNATURE))), Outcome.INVALID, 1),
    "unreadable image": (
        _app(CredentialReport("photo.png", _checks(CheckId.PARSE))),
        Outcome.NOT_VERIFIABLE,
        3,
    ),
    "chain unreachable": (
        _app(_cred(checks=_checks(CheckId.ANCHOR, Status.ERROR))),
        Outcome.NOT_VERIFIABLE,
        3,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_result_line_exit_code_and_json_agree(case):
    report, outcome, code = CASES[case]
    got = report.outcome
    assert got.outcome is outcome
    assert cli.exit_code_of(got.outcome) == code
    data = report.to_json()
    assert data["outcome"]["code"] == outcome.value
    assert data["outcome"]["reason"] == got.reason
    text = render_application(report)
    lines = text.splitlines()
    # the reason is said first, and the result line says the same thing last
    assert lines[0] == f"{got.label}: {got.reason}"
    assert lines[-1] == f"Result: {got.label}: {got.reason} [{outcome.value}]"
    if outcome is Outcome.VALID_NOT_MET:
        assert "Result: VALID" not in text  # the old contradiction: DOES NOT MEET ... Result: VALID
        assert "employer 'HSBC' is not the issuer 'OSL'" in lines[-1]


def test_invalid_names_the_first_failing_check():
    report = _app(
        _cred(checks=_checks(CheckId.STATUS)), _cred("emp.png", checks=_checks(CheckId.VALIDITY))
    )
    assert (
        report.outcome.reason
        == "degree.png: check 8 (Not revoked or suspended): credential_status went wrong"
    )


def test_a_forgery_beside_an_unreadable_photo_is_invalid_not_unverifiable():
    report = _app(
        CredentialReport("photo.png", _checks(CheckId.PARSE)),
        _cred(checks=_checks(CheckId.SIGNATURE)),
    )
    assert report.outcome.outcome is Outcome.INVALID


def test_unreadable_photo_is_not_verifiable_and_says_so():
    report = _app(CredentialReport("photo.png", _checks(CheckId.PARSE)))
    assert report.outcome.outcome is Outcome.NOT_VERIFIABLE
    assert report.outcome.reason.startswith("Could not read photo.png")


def test_person_is_shown_beside_the_verdict():
    text = render_application(_app(_cred(), profession=_prof(True)))
    lines = text.splitlines()
    assert lines[1] == f"Applicant: {PERSON['name']}   born {PERSON['birthDate']}"
    assert lines[2] == (
        "Identity document (HKID HK): not checked: compare the name and date of birth with "
        "the travel document"
    )
    data = _app(_cred()).to_json()
    assert data["person"] == {
        "name": PERSON["name"],
        "birthDate": PERSON["birthDate"],
        "documentType": "HKID",
        "issuingCountry": "HK",
        "documentChecked": False,
        "documentMatches": None,
    }
    assert data["applicationDate"] == "2026-01-15" and data["asOf"] == "2026-11-21T12:00:00Z"


def test_report_json_carries_the_on_chain_issuer():
    data = _cred().to_json()
    assert data["issuerDid"] == "did:web:hku.hk" and data["issuerName"] == "HKU"
    assert CredentialReport.from_json(data).issuer_did == "did:web:hku.hk"


# --------------------------------------------------------------------------- attacks


def _signed(kind: str, tweak=None, **fields) -> dict:
    doc = build(kind, "did:web:x.example", SUBJECT, **fields)
    if tweak:
        tweak(doc["credentialSubject"])
    return sign(doc, Ed25519SigningKey.generate())


def _check2(doc: dict) -> CheckResult:
    v = Verifier(None, TrustedDeployment(registry="0x" + "11" * 20, chain_id=1), clock=lambda: NOW)
    return next(c for c in v.prepare("cred", doc).checks if c.id is CheckId.SCHEMA)


def test_attack_calendar_invalid_date_fails_check_2_naming_the_field():
    c = _check2(
        _signed(DEGREE, lambda s: s["degree"].update(awardDate="2023-02-30"), institution="X")
    )
    assert c.status is Status.FAIL
    assert c.evidence["field"] == "credentialSubject.degree.awardDate"
    assert "credentialSubject.degree.awardDate" in c.message and "2023-02-30" in c.message


def test_attack_award_in_the_future_fails_check_2():
    c = _check2(
        _signed(DEGREE, lambda s: s["degree"].update(awardDate="2027-06-30"), institution="X")
    )
    assert c.status is Status.FAIL
    assert c.evidence["field"] == "credentialSubject.degree.awardDate"
    assert "2027-06-30" in c.message and "2026-11-21" in c.message  # the verification date


def test_attack_employment_ending_in_the_future_is_checked_too():
    c = _check2(
        _signed(EMPLOYMENT, lambda s: s["employment"].update(startDate="2030-01-01"), employer="X")
    )
    assert (
        c.status is Status.FAIL and c.evidence["field"] == "credentialSubject.employment.startDate"
    )


def test_possible_facts_pass_check_2():
    assert _check2(_signed(DEGREE, institution="X")).status is Status.PASS


def _with_person(source: str, **person) -> CredentialReport:
    doc = build(DEGREE, "did:web:hku.hk", SUBJECT, institution="HKU", person=person)
    return CredentialReport(
        source=source, checks=_checks(), credential=doc, kind=DEGREE, subject_id=SUBJECT
    )


def test_attack_two_people_under_one_holder_key_fail_check_11():
    """One holder key, but the employment names someone else (a borrowed credential re-keyed by a
    colluding issuer, or two people's credentials merged)."""
    a = _with_person("degree.png")
    b = _with_person("emp.png", name="WONG Siu Ming", birthDate="1985-02-03")
    c = render(verifier_checks.same_applicant([a, b]))
    assert c.status is Status.FAIL
    assert "different people (name, date of birth differ)" in c.message
    assert "WONG Siu Ming" in c.message and PERSON["name"] in c.message
    ok = render(verifier_checks.same_applicant([a, _with_person("emp.png")]))
    assert ok.status is Status.PASS and PERSON["name"] in ok.message


def _check12(reports: list[CredentialReport], number: str, salt: str | None) -> CheckResult:
    return render(verifier_checks.identity_document(reports, number, salt))


def test_identity_document_match_mismatch_and_not_given():
    creds = [_with_person("degree.png"), _with_person("emp.png")]
    assert _check12(creds, ID_NUMBER, ID_SALT).status is Status.PASS
    assert _check12(creds, "a 123456 (7)", ID_SALT).status is Status.PASS  # as typed
    wrong = _check12(creds, "B765432(1)", ID_SALT)
    assert wrong.status is Status.FAIL
    assert "not the one the credentials name" in wrong.message
    report = _app(*creds, checks=(wrong,))
    assert report.outcome.outcome is Outcome.INVALID
    assert "check 12 (Identity document matches the one shown)" in report.outcome.reason
    no_salt = _check12(creds, ID_NUMBER, None)
    assert no_salt.status is Status.ERROR and "no salt" in no_salt.message
    assert _app(*creds, checks=(no_salt,)).outcome.outcome is Outcome.NOT_VERIFIABLE
