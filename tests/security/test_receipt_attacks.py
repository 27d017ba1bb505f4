"""Receipts that re-checked though they should not have (real Anvil).

Two attacks on ``talentproof receipt check``:

1. Anyone can sign. A receipt is signed with whatever key its ``signature.keyId`` names; without
   ``--verifier-key`` the re-check accepted any signer and printed "✓ receipt re-checked". An
   applicant (or anyone) verifying their own credentials and signing the result with their own
   key got a receipt that re-checked exactly like the border verifier's. Now a receipt whose
   signer was not named as trusted is reported as signed by an UNTRUSTED key, with its own exit
   code (5), never as plainly re-checked.
2. The recorded result was taken as recorded. The re-check re-ran the checks at the recorded
   block but reported the recorded verdict and profession result as they were written: a
   receipt over genuinely valid credentials whose profession result was edited to "meets" (and
   re-signed: by the editor's own key, or by a buggy or compromised verifier's real key) came
   back "✓ receipt re-checked ... VALID_MEETS". Now the verdict, the outcome and the profession
   are evaluated again (the verify path's own policy code, over what the re-check re-read, as of
   the receipt's application date) and a receipt whose recorded result differs is refused.
"""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.engine import Item
from talentproof.verifier.errors import ReceiptError
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.receipt import generate_key_file, load_key, recheck_receipt, sign_receipt
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue, resign_receipt

pytestmark = pytest.mark.integration
runner = CliRunner()
PROFESSION = "hk-dlt-expert"


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("receipt-attacks")
    verifier_key, attacker_key = d / "verifier-key.json", d / "attacker-key.json"
    s = holder().public_key.did_key
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s, level="master")
    employment = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")
    badge = issue(vchain, vchain.issuers["HKIB"], BADGE, s)
    return {
        "dir": d,
        "chain": vchain,
        "verifier_id": generate_key_file(verifier_key),
        "attacker_id": generate_key_file(attacker_key),
        "verifier": load_key(verifier_key),
        "attacker": load_key(attacker_key),
        "degree": degree,
        "all": [("degree", degree), ("employment", employment), ("badge", badge)],
    }


def _report(env, named, **kw):
    v = env["chain"].verifier()
    items = [Item(name, doc) for name, doc in named]
    return v, v.verify_application(items, **kw)


def _check(env, receipt, *args):
    f = env["dir"] / "receipt.json"
    f.write_text(json.dumps(receipt))
    return runner.invoke(
        app, ["receipt", "check", str(f), "--rpc", env["chain"].rpc_url, *map(str, args)]
    )


def test_a_receipt_signed_by_anyone_is_reported_untrusted(env):
    v, report = _report(env, [("degree", env["degree"])])
    assert report.verdict.value == "valid"
    own = sign_receipt(report, env["attacker"], trust=v.trust)  # the applicant's own key
    r = _check(env, own)
    assert r.exit_code == 5, r.output
    assert "UNTRUSTED" in r.output and env["attacker_id"] in r.output, r.output
    assert "--verifier-key" in r.output and "✓" not in r.output, r.output
    j = _check(env, own, "--json")
    assert j.exit_code == 5 and json.loads(j.output)["trusted"] is False, j.output
    # the auditor names the verifier's key: refused
    r = _check(env, own, "--verifier-key", env["verifier_id"])
    assert r.exit_code == 1 and "not by the expected verifier" in r.output, r.output
    # the verifier's own receipt, its key named: re-checked and trusted
    real = sign_receipt(report, env["verifier"], trust=v.trust)
    r = _check(env, real, "--verifier-key", env["verifier_id"])
    assert r.exit_code == 0 and "✓ receipt re-checked" in r.output, r.output
    assert "UNTRUSTED" not in r.output
    j = _check(env, real, "--verifier-key", f"did:key:{env['verifier_id']}", "--json")
    assert j.exit_code == 0 and json.loads(j.output)["trusted"] is True, j.output
    # the same receipt, no key named: it re-checks but is not reported as trusted
    r = _check(env, real)
    assert r.exit_code == 5 and "UNTRUSTED" in r.output and "✓" not in r.output, r.output


def _claims_meets(receipt):
    out = copy.deepcopy(receipt)
    rep = out["report"]
    rep["profession"]["met"] = True
    for c in rep["profession"]["criteria"]:
        c["met"] = True
    rep["outcome"] = {
        "code": "VALID_MEETS",
        "label": "VALID - MEETS",
        "reason": "The credential is valid, and the application meets every criterion.",
    }
    return out


@pytest.mark.parametrize("signer", ["attacker", "verifier"])
def test_a_receipt_claiming_a_profession_the_credentials_do_not_meet_is_refused(env, signer):
    """A degree alone (no employment, no badge) does not meet the profession; its receipt,
    edited to say it does and signed again (by the editor, or by the verifier's real key: a
    buggy or compromised verifier), is refused, whoever signed it."""
    v, report = _report(
        env, [("degree", env["degree"])], policy=load_policy(DEFAULT_POLICY), profession=PROFESSION
    )
    assert report.outcome.outcome.value == "VALID_NOT_MET", report.outcome
    honest = sign_receipt(report, env[signer], trust=v.trust)
    assert recheck_receipt(honest, rpc=env["chain"].rpc_url)["outcome"] == "VALID_NOT_MET"
    lying = resign_receipt(_claims_meets(honest), env[signer])
    with pytest.raises(ReceiptError, match="profession"):
        recheck_receipt(lying, rpc=env["chain"].rpc_url)
    r = _check(env, lying, "--verifier-key", env[f"{signer}_id"])
    assert r.exit_code == 1, r.output
    assert "does not re-check" in r.output and "VALID_MEETS" in r.output, r.output
    assert "✓" not in r.output


def test_a_recorded_verdict_that_does_not_follow_from_the_checks_is_refused(env):
    """The checks are re-run and compared; the verdict and outcome written beside them must be
    the ones they give (here: 'valid' beside a failed travel-document check)."""
    from tests.chainkit import ID_SALT

    v, report = _report(env, [("degree", env["degree"])], id_number="Z9999999", id_salt=ID_SALT)
    assert report.verdict.value == "invalid", report.outcome
    honest = sign_receipt(report, env["verifier"], trust=v.trust)
    assert recheck_receipt(honest, rpc=env["chain"].rpc_url)["verdict"] == "invalid"
    forged = copy.deepcopy(honest)
    forged["report"]["verdict"] = "valid"
    with pytest.raises(ReceiptError, match="verdict"):
        recheck_receipt(resign_receipt(forged, env["verifier"]), rpc=env["chain"].rpc_url)
    forged = copy.deepcopy(honest)
    forged["report"]["outcome"]["code"] = "VALID"
    with pytest.raises(ReceiptError, match="outcome"):
        recheck_receipt(resign_receipt(forged, env["verifier"]), rpc=env["chain"].rpc_url)


def test_an_honest_receipt_that_meets_re_checks_as_meeting(env):
    v, report = _report(env, env["all"], policy=load_policy(DEFAULT_POLICY), profession=PROFESSION)
    assert report.outcome.outcome.value == "VALID_MEETS", report.outcome
    receipt = sign_receipt(report, env["verifier"], trust=v.trust)
    ok = recheck_receipt(receipt, rpc=env["chain"].rpc_url, expected_signer=env["verifier_id"])
    assert ok["outcome"] == "VALID_MEETS" and ok["trusted"] is True, ok
    r = _check(env, receipt, "--verifier-key", env["verifier_id"])
    assert r.exit_code == 0 and "VALID_MEETS" in r.output, r.output
    # a profession the policy given does not have: refused, naming --policy
    odd = copy.deepcopy(receipt)
    odd["report"]["profession"]["profession"] = "no-such-profession"
    with pytest.raises(ReceiptError, match="--policy"):
        recheck_receipt(resign_receipt(odd, env["verifier"]), rpc=env["chain"].rpc_url)


def test_a_bound_presentation_receipt_re_checks_with_its_recorded_binding(env):
    """Check 10's single-use challenge cannot be replayed: its recorded result is kept (a pass
    stays a pass, a failure still makes the re-evaluated verdict invalid)."""
    from datetime import UTC, datetime

    from talentproof.credential.presentation import create_presentation

    hk = holder()
    s = hk.public_key.did_key
    chain = env["chain"]
    deg = issue(chain, chain.issuers["University of Hong Kong"], DEGREE, s)
    v = chain.verifier()
    vp = create_presentation(
        [deg], hk, challenge="nonce-1", domain=v.domain, created=datetime.now(UTC)
    )
    for challenge, verdict in (("nonce-1", "valid"), ("nonce-2", "invalid")):
        report = v.verify_application([Item("vp", vp)], challenge=challenge)
        assert report.verdict.value == verdict, report.outcome
        receipt = sign_receipt(report, env["verifier"], trust=v.trust)
        assert recheck_receipt(receipt, rpc=chain.rpc_url)["verdict"] == verdict
