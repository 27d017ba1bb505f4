"""What an officer reads (a new-user trial's findings): one clock on a report, a presentation's
credentials named as credentials of that presentation, and check 12's advice fitted to where it
is read (the CLI, the API, the page)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.engine import Item
from talentproof.verifier.messages import iso
from talentproof.verifier.render import render_application
from talentproof.verifier.report import CheckId, Status
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def uni(vchain):
    return vchain.issuers["University of Hong Kong"]


def test_a_revoked_credential_read_a_minute_after_the_last_block_shows_one_clock(vchain, uni):
    """Check 8 used to say "as of <block time>" while the Times line and check 9 said the wall
    clock: two "as of" times on one report. Now the report is checked at one time (the wall
    clock, which check 9 judges expiry at) and check 8 names the block it read."""
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    later = datetime.fromtimestamp(vchain.latest_timestamp() + 47, UTC)
    report = vchain.verifier(clock=lambda: later).verify_application([Item("degree.json", doc)])
    r = report.credentials[0]
    status = r.check(CheckId.STATUS)
    assert status.status is Status.FAIL
    block, sealed = r.chain.block_number, r.chain.block_timestamp
    assert "as of" not in status.message, status.message
    assert f"on the ledger at block {block}, sealed at {iso(sealed)}" in status.message, (
        status.message
    )
    text = render_application(report)
    assert f"Checked at {iso(int(later.timestamp()))}" in text, text
    assert "Times:" not in text, text
    assert "as of" not in text.replace("facts as of the application date", ""), text
    # the expiry is judged at the wall clock, not at the block's earlier time
    assert r.check(CheckId.VALIDITY).message.startswith(f"Valid on {later:%Y-%m-%d %H:%M} UTC")


def test_as_of_mode_shows_the_as_of_instant_in_both_places(vchain, uni):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    at = datetime.fromtimestamp(vchain.latest_timestamp() + 5, UTC)
    report = vchain.verifier().verify_application([Item("degree.json", doc)], as_of=at)
    status = report.credentials[0].check(CheckId.STATUS)
    assert status.message == f"Not revoked or suspended as of {iso(int(at.timestamp()))}."
    text = render_application(report)
    assert f"Checked as of {iso(int(at.timestamp()))}" in text, text


def test_a_presentations_credentials_are_named_as_its_credentials(vchain, uni):
    hk = holder()
    s = hk.public_key.did_key
    degree = issue(vchain, uni, DEGREE, s)
    job = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2015-03-01")
    vp = create_presentation(
        [degree, job],
        hk,
        challenge="c",
        domain="talentproof-verifier",
        created=datetime.now(UTC).replace(microsecond=0),
    )
    report = vchain.verifier().verify_application([Item("wallet.json", vp)])
    assert [r.source for r in report.credentials] == [
        "credential 1 of wallet.json",
        "credential 2 of wallet.json",
    ]


def _no_salt_report(vchain, uni, surface):
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    kw = {} if surface is None else {"surface": surface}
    report = vchain.verifier().verify_application(
        [Item("degree.json", doc)], id_number="A123456(7)", **kw
    )
    (check,) = [c for c in report.checks if c.id is CheckId.IDENTITY_DOCUMENT]
    assert check.status is Status.ERROR
    return check.message


def test_check_12_advice_is_the_surfaces_own(vchain, uni):
    cli = _no_salt_report(vchain, uni, "cli")
    assert "--id-salt" in cli and "as idSalt" not in cli, cli
    api = _no_salt_report(vchain, uni, None)  # the API's is the default
    assert "as idSalt" in api and "--id-salt" not in api, api
    page = _no_salt_report(vchain, uni, "page")
    assert "--id-salt" not in page and "idSalt" not in page, page
    assert "Request from a wallet" in page, page
    for m in (cli, api, page):
        assert m.endswith("Compare the name and date of birth with the travel document."), m
