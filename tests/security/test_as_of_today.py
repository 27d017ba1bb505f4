"""An as-of date that is today means now, not today's 00:00 UTC (real Anvil of its own).

The attack: a credential anchored yesterday is revoked this morning (a holder caught cheating, a
degree withdrawn). The officer fills the page's "Validity and revocation as of" with today's date
(or runs ``verify --as-of <today>``), meaning "now". A date as-of was read as its first second,
00:00 UTC, before the revocation: VALID (a false valid; in Hong Kong, UTC+8, 00:00 UTC is 08:00
local, so every revocation of the local working day went unseen). Today's date (by the verifier's
clock, UTC) now means now, as no as-of does; a past date keeps its first second, a future one too.

The chain is this module's own Anvil: its clock is moved past a UTC midnight (forward only), and
the verifier's clock is set to the chain's, so "today" is the day the revocation fell on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload
from talentproof.ledger.nodes import anvil
from talentproof.verifier.cli import parse_as_of
from talentproof.verifier.engine import Item
from talentproof.verifier.report import CheckId, Status, Verdict
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, Chain, holder, issue, populate, setup_chain

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def day() -> Iterator[tuple[Chain, dict, dict, date, int]]:
    """(chain, revoked credential, good credential, the revocation's UTC day, its time)."""
    with anvil() as node:
        chain = populate(setup_chain(node))
        uni = chain.issuers["University of Hong Kong"]
        revoked = issue(chain, uni, DEGREE, holder().public_key.did_key)
        good = issue(chain, uni, DEGREE, holder().public_key.did_key)
        now = chain.latest_timestamp()
        midnight = (now // 86400 + 1) * 86400  # the next 00:00 UTC after both anchors
        chain.rpc("evm_increaseTime", [midnight - now + 3 * 3600])  # 03:00 UTC the next day
        receipt = uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
        at = chain.block_timestamp(receipt.block_number)
        assert at >= midnight + 3 * 3600
        yield chain, revoked, good, datetime.fromtimestamp(at, UTC).date(), at


def _verifier(chain: Chain, at: int):  # type: ignore[no-untyped-def]
    """A verifier whose clock is the chain's, a minute after the revocation."""
    return chain.verifier(clock=lambda: datetime.fromtimestamp(at + 60, UTC))


def test_today_as_of_sees_this_mornings_revocation(day):
    chain, revoked, good, today, at = day
    v = _verifier(chain, at)
    report = v.verify_application([Item("degree.json", revoked)], as_of=today)
    status = report.credentials[0].check(CheckId.STATUS)
    assert report.verdict is Verdict.INVALID, status.message
    assert status.status is Status.FAIL and status.evidence["revokedAt"] == at
    # the same answer as no as-of at all (now)
    assert v.verify_application([Item("degree.json", revoked)]).verdict is Verdict.INVALID
    # the honest credential anchored yesterday stays VALID as of today
    assert v.verify_application([Item("g.json", good)], as_of=today).verdict is Verdict.VALID


def test_a_past_or_future_date_keeps_its_first_second(day):
    chain, revoked, _good, today, at = day
    v = _verifier(chain, at)
    # today's 00:00 UTC given as a date-time is that exact time: before the revocation
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    earlier = v.verify_application([Item("d.json", revoked)], as_of=midnight)
    assert earlier.verdict is Verdict.VALID
    assert earlier.credentials[0].check(CheckId.STATUS).status is Status.PASS
    # yesterday (a date) is its first second: the credential was anchored later that day
    yesterday = v.verify_application([Item("d.json", revoked)], as_of=today - timedelta(days=1))
    anchor = yesterday.credentials[0].check(CheckId.ANCHOR)
    assert anchor.status is Status.FAIL and anchor.evidence["asOf"] < anchor.evidence["anchoredAt"]
    # tomorrow (a date): the revocation is in effect
    later = v.verify_application([Item("d.json", revoked)], as_of=today + timedelta(days=1))
    assert later.verdict is Verdict.INVALID
    assert later.credentials[0].check(CheckId.STATUS).evidence["revokedAt"] == at


def test_service_and_page_today_as_of(day):
    chain, revoked, good, today, at = day
    client = TestClient(create_app(ServiceSettings(), verifier=_verifier(chain, at)))
    payload = encode_payload(revoked)
    r = client.post("/api/v1/verify", json={"payloads": [payload], "asOf": today.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "invalid", body
    r = client.post(
        "/api/v1/verify/image",
        data={"payloads": payload, "asOf": today.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "invalid", r.json()
    good_payload = encode_payload(good)
    r = client.post("/api/v1/verify", json={"payloads": [good_payload], "asOf": today.isoformat()})
    assert r.json()["verdict"] == "valid", r.json()


def test_cli_keeps_a_date_a_date():
    """The CLI hands a YYYY-MM-DD as-of over as a date (judged by the rule above), a date-time
    as that time."""
    assert parse_as_of("2026-12-07") == date(2026, 12, 7)
    assert parse_as_of("2026-12-07T00:00:00Z") == datetime(2026, 12, 7, tzinfo=UTC)


def test_cli_refuses_a_date_time_without_its_offset():
    """``--as-of 2026-12-07T09:30`` typed at a Hong Kong counter means 09:30 there, 01:30 UTC;
    read as UTC it judged revocation eight hours late (a credential revoked at 03:00 UTC read
    VALID). A date-time without its offset is refused, naming the form expected; with one it
    is that moment."""
    import pytest

    for text in ("2026-12-07T09:30", "2026-12-07T09:30:00", "2026-12-07 09:30"):
        with pytest.raises(ValueError, match=r"offset.*\+08:00"):
            parse_as_of(text)
    assert parse_as_of("2026-12-07T09:30+08:00") == datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
