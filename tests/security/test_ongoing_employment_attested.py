"""An ongoing employment counts only up to when its employer said so (real Anvil).

The attack: in the first month of a job at a notable firm the applicant asks the employer for an
employment credential. It says what was true that day: employed since last month, no end date.
The applicant leaves soon after; nobody revokes a true statement. Years later the applicant
presents it: the policy counted an employment with no end up to the verification date, so the
one month the employer attested became the five years the profession needs (VALID_MEETS). The
employer vouched for the employment only up to the moment it signed; the ledger says when that
was at the latest (the anchor's block time, which no issuer can move). An ongoing employment is
now counted up to the day its credential was anchored (and never beyond the verification date or
the application date, as before).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration

PROFESSION = "hk-dlt-expert"


@pytest.fixture(scope="module")
def env(vchain):
    s = holder().public_key.did_key
    today = datetime.now(UTC).date()
    month_ago = today - timedelta(days=30)
    hsbc = vchain.issuers["HSBC"]
    creds = {
        "degree": issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s),
        # signed in the first month of the job: ongoing, as it was that day
        "new-job": issue(vchain, hsbc, EMPLOYMENT, s, start=month_ago.isoformat()),
    }
    # the day it was anchored: the day of the chain's clock, which other tests of this session's
    # chain move ahead of this machine's (near midnight it is already tomorrow there)
    anchored = datetime.fromtimestamp(vchain.latest_timestamp(), UTC).date()
    creds["badge"] = issue(vchain, vchain.issuers["HKIB"], BADGE, s)
    return {"chain": vchain, "creds": creds, "anchored": anchored, "start": month_ago}


def _verify(env, clock: datetime, application_date: date | None = None):
    verifier = env["chain"].verifier(clock=lambda: clock)
    items = [Item(name, doc) for name, doc in env["creds"].items()]
    return verifier.verify_application(
        items,
        policy=load_policy(DEFAULT_POLICY),
        profession=PROFESSION,
        application_date=application_date,
    )


def _experience(report):
    assert report.profession is not None
    return next(c for c in report.profession.criteria if c.id == "notable-firm-experience")


def test_one_attested_month_is_not_five_years_later(env):
    """Verified six years after it was signed: one month at HSBC, not six years."""
    later = datetime.now(UTC) + timedelta(days=6 * 366)
    report = _verify(env, later)
    assert report.verdict.value == "valid", report.outcome
    exp = _experience(report)
    assert not exp.met, exp
    assert report.outcome.outcome.value == "VALID_NOT_MET", report.outcome
    attested = env["anchored"].isoformat()
    assert f"up to {attested}" in exp.reason, exp.reason


def test_an_application_date_later_still_adds_nothing(env):
    later = datetime.now(UTC) + timedelta(days=6 * 366)
    report = _verify(env, later, application_date=later.date())
    assert not _experience(report).met, _experience(report)


def test_today_the_attested_month_counts_as_before(env):
    """Verified the day it was anchored: the month is counted, as it always was."""
    report = _verify(env, datetime.now(UTC))
    exp = _experience(report)
    assert "1.0 year" not in exp.reason and "0.1 years at HSBC" in exp.reason, exp.reason
