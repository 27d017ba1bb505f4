"""An application that is not one person's never says it meets a profession (real Anvil).

The attack: the application's own checks (11: one holder, name, birth date and identity
document; 12: the travel document the officer holds) failed, so its outcome was INVALID, but the
policy still counted every credential that was valid on its own: one person's degree beside
another person's employment and training, or the credentials of someone other than the person at
the counter (check 12 failed), and the report went on to say "Talent List: MEETS" (the CLI's text,
the page's card, ``profession.met`` in the JSON and the receipt) under the INVALID line: the
profession met by whose credentials? The policy now counts the credentials only of an
application whose own checks did not fail: when check 11 or 12 fails, every criterion is unmet,
naming that check.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import (
    BADGE,
    DEGREE,
    EMPLOYMENT,
    ID_NUMBER,
    ID_SALT,
    dlt_expert_credentials,
    holder,
    issue,
)
from tests.chainkit import OTHER_PERSON as OTHER

pytestmark = pytest.mark.integration
runner = CliRunner()
PROFESSION = "hk-dlt-expert"


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("one-applicant")
    record = vchain.save_deployment(d)
    mine, theirs = holder().public_key.did_key, holder().public_key.did_key
    uni, hsbc, hkib = (vchain.issuers[n] for n in ("University of Hong Kong", "HSBC", "HKIB"))
    mixed = {
        # the applicant's own degree ...
        "degree": issue(vchain, uni, DEGREE, mine),
        # ... and another person's employment and training
        "employment": issue(vchain, hsbc, EMPLOYMENT, theirs, start="2012-01-01", person=OTHER),
        "badge": issue(vchain, hkib, BADGE, theirs, person=OTHER),
    }
    # one person's complete application (CHAN Tai Man, HKID A123456(7))
    own = dlt_expert_credentials(vchain, mine)
    files = {}
    for label, creds in (("mixed", mixed), ("own", own)):
        paths = []
        for name, doc in creds.items():
            p = d / f"{label}-{name}.json"
            p.write_text(json.dumps(doc))
            paths.append(str(p))
        files[label] = paths
    app_ = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))
    with TestClient(app_) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "mixed": mixed,
            "own": own,
            "files": files,
            "client": client,
        }


def _engine(env, creds, **kw):
    items = [Item(name, doc) for name, doc in creds.items()]
    return (
        env["chain"]
        .verifier()
        .verify_application(items, policy=load_policy(DEFAULT_POLICY), profession=PROFESSION, **kw)
    )


def _not_met_naming(profession, check: str) -> None:
    assert profession is not None
    assert not profession.met, profession
    for c in profession.criteria:
        assert not c.met, c
        assert check in c.reason, c.reason


def test_control_one_persons_application_meets(env):
    report = _engine(env, env["own"], id_number=ID_NUMBER, id_salt=ID_SALT)
    assert report.outcome.outcome.value == "VALID_MEETS", report.outcome


def test_two_peoples_credentials_do_not_meet_the_profession(env):
    report = _engine(env, env["mixed"])
    assert report.outcome.outcome.value == "INVALID", report.outcome
    _not_met_naming(report.profession, "check 11")


def test_someone_elses_credentials_at_the_counter_do_not_meet_the_profession(env):
    """All of one person's credentials, but the officer holds another person's document."""
    report = _engine(env, env["own"], id_number="B765432(1)", id_salt=ID_SALT)
    assert report.outcome.outcome.value == "INVALID", report.outcome
    _not_met_naming(report.profession, "check 12")


def test_cli_text_and_json_do_not_say_meets(env):
    base = ["verify", *env["files"]["mixed"], "--deployment", env["record"]]
    base += ["--rpc", env["chain"].rpc_url, "--profession", PROFESSION]
    text = runner.invoke(app, base)
    assert text.exit_code == 1, text.output
    assert "Talent List: MEETS" not in text.output, text.output
    out = runner.invoke(app, [*base, "--json"])
    data = json.loads(out.stdout)
    assert data["outcome"]["code"] == "INVALID", data["outcome"]
    assert data["profession"]["met"] is False, data["profession"]


def test_service_does_not_say_meets(env):
    r = env["client"].post(
        "/api/v1/verify",
        json={"documents": list(env["mixed"].values()), "profession": PROFESSION},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"]["code"] == "INVALID", body["outcome"]
    assert body["profession"]["met"] is False, body["profession"]


def test_a_receipt_of_the_wrong_person_at_the_counter_rechecks_as_recorded(env, tmp_path):
    """Check 12 is not re-run by ``receipt check`` (the receipt keeps no document number): its
    recorded failure still keeps the profession unmet when the result is evaluated again."""
    from talentproof.verifier.receipt import (
        generate_key_file,
        load_key,
        recheck_receipt,
        sign_receipt,
    )

    key = tmp_path / "verifier-key.json"
    generate_key_file(key)
    verifier = env["chain"].verifier()
    items = [Item(name, doc) for name, doc in env["own"].items()]
    report = verifier.verify_application(
        items,
        policy=load_policy(DEFAULT_POLICY),
        profession=PROFESSION,
        id_number="B765432(1)",
        id_salt=ID_SALT,
    )
    _not_met_naming(report.profession, "check 12")
    receipt = sign_receipt(report, load_key(key), trust=verifier.trust)
    # evaluated again (the profession unmet, as recorded), or ReceiptError
    again = recheck_receipt(receipt, rpc=env["chain"].rpc_url)
    assert again["outcome"] == "INVALID", again
    assert receipt["report"]["profession"]["met"] is False
