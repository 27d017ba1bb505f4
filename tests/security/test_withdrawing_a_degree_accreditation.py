"""Withdrawing an issuer's degree accreditation withdraws every level of it (real Anvil).

The attack: a college was accredited for bachelor degrees (``grant-type ID DegreeCredential
--levels bachelor``: the type id of ``DegreeCredential#level=bachelor``), later for every level
(``--levels all``: the whole type, another type id). Found to sell degrees, governance withdraws
its degree accreditation: ``withdraw-type ID DegreeCredential``, which the help called "the whole
type", withdrew only the whole-type grant and said it was done. The bachelor grant stayed open, so
the college went on signing and anchoring bachelor degrees that met "bachelor's degree or above"
(VALID_MEETS). Without ``--levels``, ``withdraw-type`` of a type with levels now withdraws every
grant of it still open (the whole type and each level), naming each; ``--levels`` withdraws only
those levels, as before.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.types import scoped_type
from talentproof.verifier.engine import Item
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration


def _later(chain) -> None:  # type: ignore[no-untyped-def]
    chain.rpc("evm_increaseTime", [5])
    chain.rpc("evm_mine", [])


def _withdraw(chain, record, *args):  # type: ignore[no-untyped-def]
    env = {"TALENTPROOF_OPERATOR_KEY": chain.node.private_keys[0]}
    common = ["--rpc", chain.rpc_url, "--deployment", str(record)]
    return CliRunner().invoke(app, ["governance", "withdraw-type", *args, *common], env=env)


def test_withdrawing_the_degree_type_ends_every_level(vchain, tmp_path):
    college = vchain.add_issuer("Upgraded College", ())
    gov = vchain.governor
    gov.grant_credential_type(college.issuer_id, scoped_type(DEGREE, "bachelor"))
    gov.grant_credential_type(college.issuer_id, DEGREE)  # later: every level
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    # what an operator auditing the registry sees: both grants
    env = {"TALENTPROOF_OPERATOR_KEY": vchain.node.private_keys[0]}
    status = ["status", "--rpc", vchain.rpc_url, "--deployment", str(record)]
    shown = CliRunner().invoke(app, status, env=env)
    line = next(x for x in shown.stdout.splitlines() if f"#{college.issuer_id} " in x)
    assert line.endswith(f"accredited for {DEGREE}, {DEGREE}#level=bachelor"), line
    _later(vchain)
    done = _withdraw(vchain, record, str(college.issuer_id), DEGREE)
    assert done.exit_code == 0, done.output
    assert f"withdraw-type {college.issuer_id} {DEGREE} " in done.stdout, done.stdout
    assert f"{DEGREE}#level=bachelor" in done.stdout, done.stdout
    shown = CliRunner().invoke(app, status, env=env)
    line = next(x for x in shown.stdout.splitlines() if f"#{college.issuer_id} " in x)
    assert line.endswith("accredited for no type"), line
    _later(vchain)
    degree = issue(vchain, college, DEGREE, holder().public_key.did_key, level="bachelor")
    report = vchain.verifier().verify_application([Item("degree", degree)])
    assert report.verdict is Verdict.INVALID, report.outcome
    failed = [c.id for c in report.credentials[0].checks if c.status is Status.FAIL]
    assert failed == [CheckId.ISSUER], report.outcome
    # nothing is left to withdraw: said so, not a success
    again = _withdraw(vchain, record, str(college.issuer_id), DEGREE)
    assert again.exit_code == 1, again.output
    assert "IssuerTypeAlreadyWithdrawn" in again.output or "no open" in again.output, again.output


def test_levels_withdraw_only_those_levels(vchain, tmp_path):
    college = vchain.add_issuer("Two Level College", ())
    gov = vchain.governor
    for level in ("associate", "bachelor"):
        gov.grant_credential_type(college.issuer_id, scoped_type(DEGREE, level))
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    _later(vchain)
    done = _withdraw(vchain, record, str(college.issuer_id), DEGREE, "--levels", "bachelor")
    assert done.exit_code == 0, done.output
    _later(vchain)
    subject = holder().public_key.did_key
    v = vchain.verifier()
    assoc = issue(vchain, college, DEGREE, subject, level="associate")
    bach = issue(vchain, college, DEGREE, subject, level="bachelor")
    assert v.verify_document(assoc).verdict is Verdict.VALID
    assert v.verify_document(bach).verdict is Verdict.INVALID
