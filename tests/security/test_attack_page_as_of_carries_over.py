"""Attack: the as-of date typed for one applicant on the officer's page frames the next
applicant's revocation check (headless Chromium, real Anvil, the verifier service).

The page's "Validity and revocation as of" field kept its date after a verification, and every
later verification on the page sent it again: applicant 1 checked as of a date (their filing
date, say), applicant 2, whose degree was revoked after that date (this afternoon's fraud
finding), got VALID as of applicant 1's date, the revocation only named inside check 8's line as
a change since. The as-of is taken off its field with each verification, as the application date
and the travel-document number are (a094a5e, b2a6fef): the next applicant is judged now unless
the officer types a date for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload
from talentproof.ledger.nodes import anvil
from tests.chainkit import DEGREE, Chain, holder, issue, populate, setup_chain
from tests.pages import verifier_service
from tests.verifier.test_web_page import browser

pytestmark = pytest.mark.integration
__all__ = ["browser"]
DAY = 86400


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, str]]:
    """A chain of this module's own (its clock is moved forward) and the verifier service on it."""
    with anvil() as node:
        chain = populate(setup_chain(node))
        with verifier_service(chain, tmp_path_factory.mktemp("as-of-page")) as url:
            yield chain, url


def test_attack_the_previous_applicants_as_of_does_not_hide_the_next_ones_revocation(
    own: tuple[Chain, str], browser: Any
) -> None:
    chain, server = own
    uni = chain.issuers["University of Hong Kong"]
    first = issue(chain, uni, DEGREE, holder().public_key.did_key)
    second = issue(chain, uni, DEGREE, holder().public_key.did_key)
    anchored = chain.latest_timestamp()
    # the revocation two days later on the chain's clock; the as-of date lies between the
    # anchor and it
    chain.rpc("evm_increaseTime", [2 * DAY])
    chain.rpc("evm_mine", [])
    uni.client.revoke_credential(credential_hash(split_anchor(second)[0]))
    as_of = datetime.fromtimestamp(anchored + DAY + DAY // 2, UTC).date().isoformat()

    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.execute_script("return typeof submit === 'function'"))
    browser.execute_script(
        "window.__sent = [];"
        "const original = window.fetch;"
        "window.fetch = (url, init) => {"
        "  if (init && init.body instanceof FormData)"
        "    window.__sent.push(init.body.get('asOf'));"
        "  return original(url, init); };"
    )
    field = browser.find_element(By.ID, "as-of")
    outcomes = []
    for i, degree in enumerate((first, second)):
        browser.execute_script("scanned.push(arguments[0])", encode_payload(degree))
        if i == 0:  # typed for applicant 1 only
            browser.execute_script("arguments[0].value = arguments[1]", field, as_of)
        browser.execute_script("document.getElementById('result').replaceChildren()")
        browser.find_element(By.ID, "verify").click()
        verdict = wait.until(lambda d: d.find_elements(By.ID, "verdict"))[0]
        outcomes.append(verdict.get_attribute("data-outcome"))
    assert outcomes == ["VALID", "INVALID"], outcomes
    assert field.get_attribute("value") == ""
    assert browser.execute_script("return window.__sent") == [as_of, None]
