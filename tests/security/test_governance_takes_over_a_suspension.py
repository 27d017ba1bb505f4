"""Governance suspends a credential its issuer already suspended (real Anvil, the verifier).

The attack: an accredited institution learns that governance is about to suspend one of its
credentials pending an inquiry (a degree it sold). It suspends the credential itself first. The
registry refused governance's suspension of a suspended credential (``AnchorCredentialAlready
Suspended``), so the suspension stayed the issuer's, which the issuer may lift whenever it likes:
once governance moved on, the institution reinstated it and it was VALID again, though governance
meant it held until governance lifted it. Now governance takes the suspension over: the issuer's
interval ends and governance's begins at that block, the issuer can no longer reinstate it, and
the history says who held it when.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.errors import ContractRevert
from talentproof.ledger.models import StatusActor
from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration


def _later(chain) -> None:  # type: ignore[no-untyped-def]
    chain.rpc("evm_increaseTime", [5])
    chain.rpc("evm_mine", [])


def _status(report):  # type: ignore[no-untyped-def]
    return report.check(CheckId.STATUS)


def test_governance_takes_over_a_suspension_the_issuer_made_first(vchain):
    mill = vchain.add_issuer("Pre-emptive College", (DEGREE,), fresh_account=True)
    doc = issue(vchain, mill, DEGREE, holder().public_key.did_key)
    h = credential_hash(split_anchor(doc)[0])
    v = vchain.verifier()
    assert v.verify_document(doc).verdict is Verdict.VALID
    _later(vchain)
    mill.client.suspend_credential(h)  # the institution, before governance acts
    during_own = datetime.fromtimestamp(vchain.latest_timestamp(), UTC)
    _later(vchain)
    vchain.governor.governance_suspend_credential(mill.issuer_id, h, "degree sold: inquiry")
    record = vchain.governor.credential_status(mill.issuer_id, h)
    assert record.suspended and record.suspended_by is StatusActor.GOVERNANCE, record
    _later(vchain)
    with pytest.raises(ContractRevert, match="AnchorCredentialSuspendedByGovernance"):
        mill.client.reinstate_credential(h)
    report = v.verify_document(doc)
    assert report.verdict is Verdict.INVALID
    assert _status(report).status is Status.FAIL
    assert _status(report).evidence["suspendedBy"] == "governance", _status(report).evidence
    # the history: as of a time before the takeover it was the issuer's own suspension
    earlier = v.verify_document(doc, as_of=during_own)
    assert earlier.verdict is Verdict.INVALID
    assert _status(earlier).evidence["suspendedBy"] == "issuer", _status(earlier).evidence
    # governance still refuses to suspend twice, and lifts its own suspension
    with pytest.raises(ContractRevert, match="AnchorCredentialAlreadySuspended"):
        vchain.governor.governance_suspend_credential(mill.issuer_id, h, "again")
    vchain.governor.governance_reinstate_credential(mill.issuer_id, h, "inquiry closed")
    assert v.verify_document(doc).verdict is Verdict.VALID
