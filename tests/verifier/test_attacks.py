"""Issue 11 as attacks, end to end through `talentproof verify` against a real chain (Anvil).

Each test is an attempt to make an officer trust what is not so: a claim signed by the wrong
party (the false MEETS), an impossible or future date, another person's credential, the wrong
travel document; and the honest case the old engine refused (an application date before the
credential was issued). The CLI's result line and exit code must say the same thing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import create_presentation
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, ID_NUMBER, ID_SALT, PERSON, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()
OSL_NAME = "OSL Digital Securities Limited"  # registered as did:web:osl.com, as the dev seed does


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("attacks")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    osl = vchain.issuers.get(OSL_NAME) or vchain.add_issuer(OSL_NAME, (EMPLOYMENT,))
    assert osl.did == "did:web:osl.com"
    return {"dir": d, "record": str(record), "chain": vchain, "osl": osl}


def run(env, *args):
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *map(str, args)]
    )


def write(env, name: str, doc: dict):
    f = env["dir"] / name
    f.write_text(json.dumps(doc))
    return f


def _files(
    env, key: Ed25519SigningKey, *, employment: dict | None = None, degree: dict | None = None
):
    """Degree (HKU), employment (HSBC unless overridden), badge (HKIB) for one holder."""
    chain = env["chain"]
    s = key.public_key.did_key
    deg = issue(
        chain, chain.issuers["University of Hong Kong"], DEGREE, s, level="master", **(degree or {})
    )
    emp_args = employment or {"issuer": chain.issuers["HSBC"]}
    issuer = emp_args.pop("issuer")
    emp = issue(chain, issuer, EMPLOYMENT, s, start="2012-01-01", **emp_args)
    badge = issue(chain, chain.issuers["HKIB"], BADGE, s)
    tag = s[-8:]
    return [
        write(env, f"{n}-{tag}.json", doc)
        for n, doc in (("degree", deg), ("emp", emp), ("badge", badge))
    ]


def _result_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Result: "))


def test_honest_application_meets_exit_0(env):
    r = run(env, *_files(env, holder()), "--profession", "hk-dlt-expert")
    assert r.exit_code == 0, r.output
    assert _result_line(r.output).startswith("Result: VALID AND MEETS THE PROFESSION: ")
    assert "[VALID_MEETS]" in _result_line(r.output)
    assert "at HSBC up to" in r.output  # counted under the issuer's on-chain name


def test_attack_false_meets_osl_signs_an_hsbc_employment(env):
    """OSL, accredited only for employment credentials, signs one naming HSBC as the employer.
    First: '14.9 years at HSBC', MEETS; then the profession did not count it, but the
    credential stayed VALID ("credentials valid, does not meet") beside "HSBC". Now the signer
    is not entitled to the claim: check 6 fails, naming HSBC and OSL, and the result is INVALID.
    """
    files = _files(env, holder(), employment={"issuer": env["osl"], "employer": "HSBC"})
    r = run(env, *files, "--profession", "hk-dlt-expert")
    assert r.exit_code == 1, r.output
    line = _result_line(r.output)
    assert line.startswith("Result: INVALID: ") and "check 6" in line, line
    assert (
        "employer 'HSBC' is not the issuer 'OSL Digital Securities Limited' (did:web:osl.com)"
        in r.output
    )
    assert "years at HSBC" not in r.output
    data = json.loads(run(env, *files, "--profession", "hk-dlt-expert", "--json").output)
    assert data["outcome"]["code"] == "INVALID" and data["profession"]["met"] is False
    emp = next(c for c in data["credentials"] if c["kind"] == "EmploymentCredential")
    assert (emp["issuerDid"], emp["issuerName"]) == ("did:web:osl.com", OSL_NAME)
    failed = [c["id"] for c in emp["checks"] if c["status"] == "fail"]
    assert failed == ["issuer_accreditation"], emp["checks"]
    # OSL writing its own name is an employment at OSL, a listed firm (did:web:osl.com)
    honest = _files(env, holder(), employment={"issuer": env["osl"]})
    r = run(env, *honest, "--profession", "hk-dlt-expert")
    assert r.exit_code == 0, r.output
    assert f"at {OSL_NAME} up to" in r.output


def test_attack_degree_naming_another_institution(env):
    """HKU's key signs a degree 'from' Harvard: once valid but not counted, now INVALID (check
    6), naming both."""
    files = _files(env, holder(), degree={"institution": "Harvard University"})
    r = run(env, *files, "--profession", "hk-dlt-expert")
    assert r.exit_code == 1, r.output
    assert "check 6" in _result_line(r.output), r.output
    assert (
        "awarding institution 'Harvard University' is not the issuer 'University of Hong Kong' "
        "(did:web:university-of-hong-kong.example.hk)" in r.output
    )


@pytest.mark.parametrize(
    ("award", "words"),
    [
        ("2023-02-30", "2023-02-30 is not a calendar date"),
        (
            (datetime.now(UTC) + timedelta(days=400)).date().isoformat(),
            "expected a date on or before",
        ),
    ],
)
def test_attack_impossible_or_future_award_date_fails_check_2(env, award, words):
    chain = env["chain"]
    doc = issue(
        chain,
        chain.issuers["University of Hong Kong"],
        DEGREE,
        holder().public_key.did_key,
        tweak=lambda s: s["degree"].update(awardDate=award),
    )
    r = run(env, write(env, f"bad-date-{award}.json", doc))
    assert r.exit_code == 1, r.output
    assert (
        "✗  2. Structure and schema: The credential states an impossible fact: credentialSubject.degree.awardDate"
        in r.output
    )
    assert words in r.output
    line = _result_line(r.output)
    assert line.startswith("Result: INVALID: ") and "check 2 (Structure and schema)" in line


def test_application_date_before_issuance_but_after_the_award_counts(env):
    """The credentials were issued yesterday; the application was filed in 2024; the degree was
    awarded in 2015. Check 9 judges validity now (the as-of time), the policy the facts in 2024."""
    files = _files(env, holder())
    r = run(
        env, *files, "--profession", "hk-dlt-expert", "--application-date", "2024-03-01", "--json"
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["applicationDate"] == "2024-03-01"
    for cred in data["credentials"]:
        check9 = next(c for c in cred["checks"] if c["number"] == 9)
        assert check9["status"] == "pass"
    crit = {c["id"]: c for c in data["profession"]["criteria"]}
    assert crit["degree"]["met"] and "awarded 2015-06-30" in crit["degree"]["reason"]
    assert "up to 2024-03-01" in crit["notable-firm-experience"]["reason"]
    # validity as of 2024 (before issuance) is a different question, and fails check 9
    r = run(env, *files, "--as-of", "2024-03-01")
    assert r.exit_code == 1 and "✗  9. Within its validity period: Not yet valid" in r.output


def test_attack_another_persons_credential_fails_check_11(env):
    key = holder()
    chain = env["chain"]
    s = key.public_key.did_key
    deg = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s)
    emp = issue(
        chain,
        chain.issuers["HSBC"],
        EMPLOYMENT,
        s,
        person={"name": "WONG Siu Ming", "birthDate": "1985-02-03"},
    )
    r = run(env, write(env, "p-deg.json", deg), write(env, "p-emp.json", emp))
    assert r.exit_code == 1, r.output
    assert (
        "✗ 11. All credentials name the same applicant: The credentials name different people"
        in r.output
    )
    assert "check 11" in _result_line(r.output)


def test_identity_document_checked_against_the_number_shown(env):
    files = _files(env, holder())
    r = run(env, *files, "--id-number", "B765432(1)", "--id-salt", ID_SALT)
    assert r.exit_code == 1, r.output
    assert "✗ 12. Identity document matches the one shown" in r.output
    assert "does NOT match the document shown" in r.output.splitlines()[2]
    assert "check 12" in _result_line(r.output)
    r = run(env, *files, "--id-number", "a123456(7)", "--id-salt", ID_SALT)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[1] == f"Applicant: {PERSON['name']}   born {PERSON['birthDate']}"
    assert lines[2] == "Identity document (HKID HK): MATCHES the document shown"
    # not given: said so, beside the name and date of birth
    r = run(env, *files)
    assert (
        "not checked: compare the name and date of birth with the travel document"
        in r.output.splitlines()[2]
    )


def test_presentation_discloses_the_salt(env):
    key = holder()
    chain = env["chain"]
    s = key.public_key.did_key
    creds = [
        issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s),
        issue(chain, chain.issuers["HSBC"], EMPLOYMENT, s),
    ]
    vp = create_presentation(
        creds,
        key,
        challenge="c-1",
        domain="talentproof-verifier",
        created=datetime.now(UTC).replace(microsecond=0),
        identity_document_salt=ID_SALT,
    )
    f = write(env, "vp.json", vp)
    ok = run(env, f, "--id-number", ID_NUMBER, "--json")
    assert ok.exit_code == 0, ok.output
    person = json.loads(ok.output)["person"]
    assert person["documentChecked"] is True and person["documentMatches"] is True
    assert run(env, f, "--id-number", "Z9999999").exit_code == 1
    # bare credentials without a salt: the comparison cannot be made (not verifiable, not valid)
    bare = run(env, write(env, "bare.json", creds[0]), "--id-number", ID_NUMBER)
    assert bare.exit_code == 3 and "no salt" in bare.output
    assert run(env, f, "--id-salt", ID_SALT).exit_code == 2  # a salt without a number


def test_four_outcomes_one_voice(env, tmp_path):
    """Result line, exit code and JSON outcome agree for each outcome (the README's table)."""
    files = _files(env, holder())
    cases = [
        ((*files, "--profession", "hk-dlt-expert"), 0, "VALID_MEETS"),
        ((files[0],), 0, "VALID"),
        ((files[0], "--profession", "hk-dlt-expert"), 4, "VALID_NOT_MET"),
        (
            (
                write(
                    env,
                    "tampered.json",
                    {**json.loads(files[0].read_text()), "validUntil": "2099-01-01T00:00:00Z"},
                ),
            ),
            1,
            "INVALID",
        ),
        (("TP1:NOT-A-REAL-PAYLOAD",), 3, "NOT_VERIFIABLE"),
    ]
    for args, code, outcome in cases:
        r = run(env, *args)
        assert r.exit_code == code, (outcome, r.output)
        assert _result_line(r.output).endswith(f"[{outcome}]"), r.output
        data = json.loads(run(env, *args, "--json").output)
        assert data["outcome"]["code"] == outcome
        assert (
            _result_line(r.output)
            == f"Result: {data['outcome']['label']}: {data['outcome']['reason']} [{outcome}]"
        )
    down = runner.invoke(
        app, ["verify", "--rpc", "http://127.0.0.1:9", "--trust", env["record"], str(files[0])]
    )
    assert down.exit_code == 3 and _result_line(down.output).endswith("[NOT_VERIFIABLE]")
