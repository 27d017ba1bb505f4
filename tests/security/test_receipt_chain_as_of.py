"""A receipt's two times must be one: the as-of it states and the as-of its chain reads used
(real Anvil).

A report records ``asOf`` (when validity and status were judged, what the receipt says) and
``chainAsOf`` (the time the chain's view was asked about: 0 for the read block's own time, else
the as-of's second). ``receipt check`` re-ran the verification with both as recorded. A receipt
made as of a moment between a credential's anchor and its revocation (VALID, honestly), its
``asOf`` then edited to a time after the revocation and signed again (by its editor, or by a buggy
or compromised verifier's real key), re-checked: "VALID as of <after the revocation>", the status
read as of before it. No verifier writes such a pair; the re-check now refuses it, naming both.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.verifier.engine import Item
from talentproof.verifier.errors import ReceiptError
from talentproof.verifier.receipt import generate_key_file, load_key, recheck_receipt, sign_receipt
from tests.chainkit import DEGREE, holder, issue, resign_receipt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("receipt-as-of")
    key_id = generate_key_file(d / "verifier-key.json")
    uni = vchain.issuers["University of Hong Kong"]
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    anchored = vchain.latest_timestamp()
    vchain.rpc("evm_increaseTime", [20])
    receipt = uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
    revoked = vchain.block_timestamp(receipt.block_number)
    vchain.rpc("evm_increaseTime", [20])
    vchain.rpc("evm_mine", [])
    return {
        "chain": vchain,
        "key": load_key(d / "verifier-key.json"),
        "key_id": key_id,
        "doc": doc,
        "between": datetime.fromtimestamp(anchored + 5, UTC),
        "after": datetime.fromtimestamp(revoked + 10, UTC),
    }


def _receipt(env, as_of):  # type: ignore[no-untyped-def]
    v = env["chain"].verifier()
    report = v.verify_application([Item("degree.json", env["doc"])], as_of=as_of)
    return report, sign_receipt(report, env["key"], trust=v.trust)


def test_control_honest_receipts_re_check(env):
    before, honest = _receipt(env, env["between"])
    assert before.verdict.value == "valid", before.outcome
    ok = recheck_receipt(honest, rpc=env["chain"].rpc_url, expected_signer=env["key_id"])
    assert ok["verdict"] == "valid"
    after, later = _receipt(env, env["after"])
    assert after.verdict.value == "invalid", after.outcome
    assert recheck_receipt(later, rpc=env["chain"].rpc_url)["verdict"] == "invalid"
    now, default = _receipt(env, None)  # no as-of: the block's time (chainAsOf 0)
    assert now.verdict.value == "invalid" and default["report"]["chainAsOf"] == 0
    assert recheck_receipt(default, rpc=env["chain"].rpc_url)["verdict"] == "invalid"


def test_an_as_of_moved_past_the_revocation_does_not_re_check(env):
    _, honest = _receipt(env, env["between"])
    forged = copy.deepcopy(honest)
    forged["report"]["asOf"] = env["after"].isoformat().replace("+00:00", "Z")
    signed = resign_receipt(forged, env["key"])
    with pytest.raises(ReceiptError, match="as-of time"):
        recheck_receipt(signed, rpc=env["chain"].rpc_url, expected_signer=env["key_id"])


def test_an_as_of_before_a_revocation_passes_and_says_it_fell_since(env):
    """As of a moment before the revocation the credential was in good standing (VALID as of
    then, by design), but check 8 said only "Not revoked or suspended as of <then>": an officer
    giving the application's date as the as-of was not told the credential is revoked now. It
    now says so, with the revocation's time."""
    from talentproof.verifier.report import CheckId, Status

    v = env["chain"].verifier()
    report = v.verify_application([Item("degree.json", env["doc"])], as_of=env["between"])
    status = report.credentials[0].check(CheckId.STATUS)
    assert status.status is Status.PASS and report.verdict.value == "valid", status.message
    assert "Since then (after the as-of time) it was revoked on" in status.message, status.message
    # no such words when nothing changed after the as-of time
    later = v.verify_application([Item("degree.json", env["doc"])], as_of=env["after"])
    assert "Since then" not in later.credentials[0].check(CheckId.STATUS).message
