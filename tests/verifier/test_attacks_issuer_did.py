"""Review attacks with one accredited key (OSL's, employment only): the issuer DID a
credential names is changed before OSL signs and anchors it (another firm's DID, as a string
or an object, in another case, with a trailing character, registered to nobody, no id at all),
or the employer is a look-alike of a notable firm's name. None may come out VALID or MEETS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from talentproof.verifier.engine import Item
from talentproof.verifier.policy import load_policy
from talentproof.verifier.report import CheckId, Outcome, Status
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, issue, sign

pytestmark = pytest.mark.integration
OSL_NAME = "OSL Digital Securities Limited"


@pytest.fixture(scope="module")
def env(vchain):
    osl = vchain.issuers.get(OSL_NAME) or vchain.add_issuer(OSL_NAME, (EMPLOYMENT,))
    return vchain, osl


def _did(doc: dict[str, Any]) -> str:
    iss = doc["issuer"]
    return iss if isinstance(iss, str) else iss["id"]


def _set(value: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__("issuer", value(d))


SWAPS = {
    "another firm's DID": _set(lambda d: "did:web:hsbc.com.hk"),
    "another firm's DID as an object": _set(
        lambda d: {"id": "did:web:hsbc.com.hk", "name": "HSBC"}
    ),
    "upper case": _set(lambda d: _did(d).upper()),
    "trailing slash": _set(lambda d: _did(d) + "/"),
    "registered to nobody": _set(lambda d: "did:web:nobody.example"),
    "object without id": _set(lambda d: {"name": "HSBC"}),
    "object with a number id": _set(lambda d: {"id": 5, "name": "HSBC"}),
}


def _application(chain, emp: dict[str, Any], s: str):
    deg = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s, level="master")
    badge = issue(chain, chain.issuers["HKIB"], BADGE, s)
    items = [Item(f"c{i}", d) for i, d in enumerate((deg, badge, emp))]
    return chain.verifier().verify_application(
        items, policy=load_policy(), profession="hk-dlt-expert"
    )


@pytest.mark.parametrize("mutate", list(SWAPS.values()), ids=list(SWAPS))
def test_issuer_did_not_osls_is_invalid(env, mutate):
    chain, osl = env
    s = holder().public_key.did_key
    doc = build(EMPLOYMENT, osl.did, s, start="2010-01-01", employer="HSBC")
    mutate(doc)
    [emp] = anchor_batch([sign(doc, osl.key)], osl.client, chain.deployment)
    r = _application(chain, emp, s)
    assert r.outcome.outcome is Outcome.INVALID, r.outcome
    failed = {c.id for c in r.credentials[-1].checks if c.status is Status.FAIL}
    assert failed & {CheckId.SCHEMA, CheckId.ANCHOR}, failed
    assert r.profession is not None and not r.profession.met


@pytest.mark.parametrize("employer", ["ＨＳＢＣ", "HSBC\u200b", "Η SBC", "hsbc"])
def test_lookalike_employer_under_osls_own_did_is_invalid(env, employer):
    """OSL's key, OSL's DID, an employer that looks like HSBC: once VALID_NOT_MET (the
    profession did not count it), now INVALID: check 6 names the employer and OSL."""
    chain, osl = env
    s = holder().public_key.did_key
    emp = issue(chain, osl, EMPLOYMENT, s, start="2010-01-01", employer=employer)
    r = _application(chain, emp, s)
    assert r.outcome.outcome is Outcome.INVALID, r.outcome
    assert "years at HSBC" not in r.outcome.reason
    six = next(c for c in r.credentials[-1].checks if c.id is CheckId.ISSUER)
    assert six.status is Status.FAIL, six
    assert f"employer {employer!r} is not the issuer '{OSL_NAME}' (did:web:osl.com)" in six.message
