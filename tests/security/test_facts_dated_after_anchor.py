"""A fact dated after its credential was anchored is a claim about the future (real Anvil).

The attack: an accredited employer (or university), holding its own key, signs today what has not
happened yet: an employment that "ends" in five years (started last year), a degree "awarded" next
summer to a student who has not graduated. Check 2 refuses a fact dated after the verification
date, so the credential fails today; but the same credential, presented once that date has
passed, passed check 2, and the policy counted the five years the employer could not have known
(VALID_MEETS) or the degree nobody had awarded when it was signed. The issuer service refuses such
dates at issuance; a key used outside it (another implementation, a colluding issuer) is not
bound by that. The ledger says when the issuer spoke at the latest (the anchor's block time, which
no issuer can move): a fact dated after that day is not counted, and an employment's end is
counted up to that day at most, as an employment with no end already was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration

PROFESSION = "hk-dlt-expert"


def _set(part: str, key: str, value: str):
    def tweak(subject):
        subject[part][key] = value

    return tweak


@pytest.fixture(scope="module")
def env(vchain):
    s = holder().public_key.did_key
    today = datetime.now(UTC).date()
    year_ago = today - timedelta(days=366)
    in_five_years = today + timedelta(days=5 * 366)
    next_summer = today + timedelta(days=200)
    uni = vchain.issuers["University of Hong Kong"]
    hsbc = vchain.issuers["HSBC"]
    creds = {
        "degree": issue(vchain, uni, DEGREE, s),
        # one year at HSBC so far, "ending" five years from now: signed and anchored today
        "future-end": issue(
            vchain,
            hsbc,
            EMPLOYMENT,
            s,
            start=year_ago.isoformat(),
            tweak=_set("employment", "endDate", in_five_years.isoformat()),
        ),
    }
    # the day it was anchored: the day of the chain's clock, which other tests of this session's
    # chain move ahead of this machine's (near midnight it is already tomorrow there)
    anchored = datetime.fromtimestamp(vchain.latest_timestamp(), UTC).date()
    creds |= {
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
        # a degree "awarded" next summer, signed and anchored today
        "future-degree": issue(
            vchain, uni, DEGREE, s, tweak=_set("degree", "awardDate", next_summer.isoformat())
        ),
    }
    return {
        "chain": vchain,
        "creds": creds,
        "anchored": anchored,
        "end": in_five_years,
        "award": next_summer,
    }


def _verify(env, names, clock: datetime):
    verifier = env["chain"].verifier(clock=lambda: clock)
    items = [Item(name, env["creds"][name]) for name in names]
    return verifier.verify_application(
        items, policy=load_policy(DEFAULT_POLICY), profession=PROFESSION
    )


def _criterion(report, cid):
    assert report.profession is not None
    return next(c for c in report.profession.criteria if c.id == cid)


def test_today_a_future_end_date_fails_check_2(env):
    report = _verify(env, ["degree", "future-end", "badge"], datetime.now(UTC))
    assert report.outcome.outcome.value == "INVALID", report.outcome


def test_an_end_date_after_the_anchor_counts_only_up_to_the_anchor_day(env):
    """Six years later the end date has passed: one year at HSBC was attested, not six."""
    later = datetime.combine(env["end"] + timedelta(days=30), datetime.min.time(), UTC)
    report = _verify(env, ["degree", "future-end", "badge"], later)
    assert report.verdict.value == "valid", report.outcome
    exp = _criterion(report, "notable-firm-experience")
    assert not exp.met, exp
    assert report.outcome.outcome.value == "VALID_NOT_MET", report.outcome
    assert f"up to {env['anchored'].isoformat()}" in exp.reason, exp.reason
    assert "1.0 year at HSBC" in exp.reason, exp.reason


def test_a_degree_awarded_after_its_anchor_does_not_count(env):
    later = datetime.combine(env["award"] + timedelta(days=30), datetime.min.time(), UTC)
    report = _verify(env, ["future-degree"], later)
    assert report.verdict.value == "valid", report.outcome
    deg = _criterion(report, "degree")
    assert not deg.met, deg
    assert "after its credential was anchored" in deg.reason, deg.reason


def test_facts_dated_by_the_anchor_day_still_count(env):
    """The honest credentials of the same application count as before."""
    later = datetime.combine(env["award"] + timedelta(days=30), datetime.min.time(), UTC)
    report = _verify(env, ["degree"], later)
    assert _criterion(report, "degree").met
