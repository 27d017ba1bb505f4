"""A receipt whose report is not what a verifier writes does not re-check, and says why,
never a traceback (real Anvil).

Anyone can sign a receipt with a key of their own, so ``receipt check`` reads receipts written
by anyone. A signed receipt whose report held an anchor proof with a malformed field, a
credential entry that is not an object, a profession id that is a list, ... raised out of
``recheck_receipt`` (AnchorFormatError, AttributeError, KeyError, TypeError: 213 distinct
failures over 15 values set at each field): ``talentproof receipt check`` printed a traceback.
Its exit code happened to be 1, the code of "does not re-check", so no such receipt was taken,
but an auditor got a stack trace instead of the reason. Such a receipt is now refused with
ReceiptError naming what could not be read (exit 1, "✗ receipt does not re-check: ...").
"""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.verifier.engine import Item
from talentproof.verifier.errors import ReceiptError
from talentproof.verifier.policy import load_policy
from talentproof.verifier.receipt import recheck_receipt, sign_receipt
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()

EDITS = [
    (("report", "credentials", 0, "anchor", "leafIndex"), {"a": 1}),
    (("report", "credentials", 0, "anchor", "treeSize"), "x"),
    (("report", "credentials", 0, "anchor", "path"), None),
    (("report", "credentials", 1), None),
    (("report", "credentials", 1), {}),
    (("report", "profession", "profession"), []),
    (("report", "chain", "blockNumber"), "x"),
    (("report", "asOf"), 5),
    (("report", "credentials"), {}),
]


@pytest.fixture(scope="module")
def env(vchain):
    s = holder().public_key.did_key
    deg = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)
    emp = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")
    v = vchain.verifier()
    report = v.verify_application(
        [Item("degree", deg), Item("employment", emp)],
        policy=load_policy(None),
        profession="hk-dlt-expert",
    )
    key = Ed25519SigningKey.generate()
    return {"vchain": vchain, "key": key, "receipt": sign_receipt(report, key, trust=v.trust)}


def _edited(env, path, value):  # type: ignore[no-untyped-def]
    body = copy.deepcopy({k: v for k, v in env["receipt"].items() if k != "signature"})
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    sig = env["key"].sign(canonicalize(body))  # what the signer signs: JCS of the rest
    body["signature"] = {
        "alg": "Ed25519+JCS",
        "keyId": env["key"].public_key.multibase,
        "value": sig.hex(),
    }
    return body


def test_the_receipt_as_signed_rechecks(env):
    """The control: unedited, it re-checks (untrusted: no key named)."""
    out = recheck_receipt(env["receipt"], rpc=env["vchain"].rpc_url)
    assert out["outcome"] == "VALID_MEETS", out


@pytest.mark.parametrize(("path", "value"), EDITS, ids=[".".join(map(str, p)) for p, _ in EDITS])
def test_an_unreadable_report_is_refused_with_a_reason(env, path, value):
    with pytest.raises(ReceiptError):
        recheck_receipt(_edited(env, path, value), rpc=env["vchain"].rpc_url)


def test_receipt_check_says_why_instead_of_a_traceback(env, tmp_path):
    f = tmp_path / "receipt.json"
    f.write_text(json.dumps(_edited(env, *EDITS[0])), "utf-8")
    r = runner.invoke(app, ["receipt", "check", str(f), "--rpc", env["vchain"].rpc_url])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 1, r.output
    assert "does not re-check" in r.stdout, r.stdout
