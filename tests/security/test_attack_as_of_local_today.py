"""The officer's own today means now, wherever the officer is (real Anvil; headless Chromium for
the page).

An as-of date that is today means now (test_as_of_today.py), but "today" was the UTC date only:
an officer whose local date is not the UTC date (in Hong Kong, UTC+8, from 00:00 to 08:00 local
time; west of UTC, in the evening) typing today's date on the page or to ``verify --as-of`` got
that date's 00:00 UTC. Ahead of UTC that is a time still to come, so a credential not valid yet
(its ``validFrom`` later today, or an issuer's claim dated ahead) read VALID; behind UTC it is
yesterday's 00:00 UTC, so every revocation and suspension of the last day went unseen, and a
credential anchored since read "anchored after the as-of time" (INVALID). The page now sends no
as-of for the officer's local today (the browser's date), and ``checks.today_means_now`` takes
the machine's local date too (the CLI's officer): both mean now, as no as-of does.

The time zone is picked by the hour: one whose date differs from the UTC date now (UTC+14 from
10:00 UTC, UTC-12 before 12:00 UTC), so the test says the same at any hour. Two credentials tell
the directions apart: one anchored a moment ago (VALID now; before, behind UTC: anchored after
the as-of) and one valid from a little later today (INVALID now; before, ahead of UTC: VALID).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload
from tests.chainkit import DEGREE, holder, issue
from tests.verifier.test_web_page import browser, server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

__all__ = ["browser", "server"]
runner = CliRunner()


def _zone() -> tuple[str, date]:
    """(a time zone whose date is not the UTC date now, its date now)."""
    now = datetime.now(UTC)
    if now.hour >= 10:
        name, offset = "Etc/GMT-14", timedelta(hours=14)  # (POSIX signs: GMT-14 is UTC+14)
    else:
        name, offset = "Etc/GMT+12", timedelta(hours=-12)
    local = (now + offset).date()
    assert local != now.date()
    return name, local


@pytest.fixture(scope="module")
def creds(vchain) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    uni = vchain.issuers["University of Hong Kong"]
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    # later today (UTC), so that before the fix a date ahead of UTC read it as valid; but at least
    # 10 minutes ahead, so that it is still to come when the tests verify it, also when they start
    # a few minutes before midnight (it is then tomorrow: still INVALID now, as expected)
    later = now + max(timedelta(minutes=10), min(timedelta(hours=1), (midnight - now) / 2))
    return {
        "fresh": issue(vchain, uni, DEGREE, holder().public_key.did_key),
        "later": issue(vchain, uni, DEGREE, holder().public_key.did_key, valid_from=later),
    }


EXPECTED = {"fresh": "VALID", "later": "INVALID"}  # as of now


@pytest.fixture
def local_zone() -> Iterator[tuple[str, date]]:
    """This process in the picked time zone (the CLI's officer's machine)."""
    name, local = _zone()
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield name, local
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def _cli_verify(vchain: Any, record: Path, path: Path, as_of: str) -> dict[str, Any]:
    """``talentproof verify --as-of as_of --json`` of the credential at ``path``: its JSON."""
    chain = ["--rpc", vchain.rpc_url, "--trust", str(record)]
    r = runner.invoke(app, ["verify", *chain, str(path), "--as-of", as_of, "--json"])
    out: dict[str, Any] = json.loads(r.output)
    return out


def test_attack_the_cli_officers_local_today_means_now(vchain, creds, local_zone, tmp_path):  # type: ignore[no-untyped-def]
    _name, local = local_zone
    record = vchain.save_deployment(tmp_path)
    for name, doc in creds.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        out = _cli_verify(vchain, record, path, local.isoformat())
        assert out["outcome"]["code"] == EXPECTED[name], (name, local, out["outcome"])
        assert out["chainAsOf"] == 0, (name, out["asOf"], out["chainAsOf"])


SPY = """
window.__sent = [];
const original = window.fetch;
window.fetch = (url, options) => {
  if (options && options.body instanceof FormData) window.__sent.push(options.body.get("asOf"));
  return original(url, options);
};
"""


def _page_outcome(browser: Any, server: str, payload: str, as_of: str) -> tuple[str, Any]:
    browser.execute_script("document.getElementById('as-of').value = arguments[0]", as_of)
    browser.execute_script("scanned.length = 0; scanned.push(arguments[0])", payload)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "submit({preventDefault() {}}).then(done, done);"
    )
    verdict = browser.find_element(By.ID, "verdict")
    return str(verdict.get_attribute("data-outcome")), browser.execute_script(
        "return window.__sent[window.__sent.length - 1]"
    )


def test_attack_the_page_officers_local_today_means_now(vchain, creds, server, browser):  # type: ignore[no-untyped-def]
    name, _local = _zone()
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": name})
    try:
        browser.get(server + "/")
        WebDriverWait(browser, 30).until(
            lambda d: d.execute_script("return typeof submit === 'function'")
        )
        browser.execute_script(SPY)
        today = browser.execute_script(
            "const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]"
        )
        local = date(*today).isoformat()
        assert local != datetime.now(UTC).date().isoformat(), "the zone was not applied"
        for key, doc in creds.items():
            outcome, sent = _page_outcome(browser, server, encode_payload(doc), local)
            assert outcome == EXPECTED[key], (key, local, outcome, sent)
            assert sent is None, (key, sent)  # no as-of: now
        # another date is still sent as the officer chose it
        _, sent = _page_outcome(browser, server, encode_payload(creds["fresh"]), "2020-01-01")
        assert sent == "2020-01-01"
    finally:
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def test_a_past_date_is_still_its_first_second(vchain, creds, local_zone, tmp_path):  # type: ignore[no-untyped-def]
    """Only the officer's today (local or UTC) means now: an earlier date keeps its 00:00 UTC."""
    record = vchain.save_deployment(tmp_path)
    path: Path = tmp_path / "fresh.json"
    path.write_text(json.dumps(creds["fresh"]))
    past = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    out = _cli_verify(vchain, record, path, past)
    assert out["chainAsOf"] != 0 and out["asOf"].startswith(past), out["asOf"]
    assert out["outcome"]["code"] == "INVALID"  # anchored after that day
