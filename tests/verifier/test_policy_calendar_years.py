"""Years of employment are calendar years: exactly N years from the start date count as N.

The policy counted days / 365.2425, so exactly five calendar years (1,826 days from 2019-01-01 to
2024-01-01, 1,827 with two leap days) read "only 5.0 years ... needs 5.0 years" and did not meet a
five-year criterion unless one or two more days were added: every applicant exactly at the
threshold was refused. Years are now whole anniversaries of the start plus the rest as a fraction
of the year that follows; a start on 29 February has its anniversary on 1 March of a common year.
The end date stays exclusive (2019-01-01 to 2023-12-31 is a day short of five years).
"""

from __future__ import annotations

from datetime import date

import pytest

from talentproof.verifier.policy import load_policy
from tests.verifier.test_policy import BFS, by_id, degree, employment, inputs

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


@pytest.mark.parametrize(
    ("start", "end", "met"),
    [
        ("2019-01-01", "2024-01-01", True),  # exactly five calendar years (one leap day)
        ("2020-01-01", "2025-01-01", True),  # two leap days
        ("2021-03-01", "2026-03-01", True),  # none
        ("2019-01-02", "2024-01-01", False),  # a day short
        ("2019-01-01", "2023-12-31", False),  # the end date is exclusive
        ("2020-02-29", "2025-03-01", True),  # 29 February: its anniversary is 1 March
        ("2020-02-29", "2025-02-28", False),
    ],
)
def test_exactly_five_calendar_years_meet_five_years(policy, start, end, met):
    r = policy.evaluate(
        "hk-dlt-expert", inputs(degree(), employment("HSBC", start, end, [BFS])), AS_OF
    )
    exp = by_id(r, "notable-firm-experience")
    assert exp.met is met, exp.reason


def test_years_of_several_periods_add_up_by_calendar(policy):
    """Two employments at two firms, two and three calendar years, gap between: five years."""
    docs = inputs(
        degree(),
        employment("HSBC", "2012-07-01", "2014-07-01", [BFS]),
        employment("HKEX", "2016-02-01", "2019-02-01", [BFS]),
    )
    exp = by_id(policy.evaluate("hk-dlt-expert", docs, AS_OF), "notable-firm-experience")
    assert exp.met and exp.reason.startswith("5.0 years"), exp.reason
