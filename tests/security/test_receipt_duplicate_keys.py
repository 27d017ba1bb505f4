"""``talentproof receipt check`` reads the receipt file as the verifier reads its inputs: a
member given twice is refused, naming the key and the file (exit 2).

The residual (red team, 2026-12-07): ``receipt check`` read the file with ``json.loads``,
keeping the last of two values. A receipt whose signature covers the receipt as parsed re-checked
"✓" with an edited outcome written before the signed one: a reader keeping the first value (an
auditor's viewer, another tool) sees VALID_MEETS where the signed receipt says otherwise. Now the
file is read with the verifier's `engine.parse_json` (real Anvil).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.engine import Item
from talentproof.verifier.receipt import generate_key_file, load_key, sign_receipt
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("receipt-duplicate-keys")
    key_file = d / "verifier-key.json"
    key_id = generate_key_file(key_file)
    s = holder().public_key.did_key
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s, level="master")
    v = vchain.verifier()
    report = v.verify_application([Item("degree", degree)])
    assert report.verdict.value == "valid"
    receipt = sign_receipt(report, load_key(key_file), trust=v.trust)
    return {"dir": d, "chain": vchain, "key_id": key_id, "receipt": receipt}


def _check(env, name: str, text: str):  # type: ignore[no-untyped-def]
    f = env["dir"] / name
    f.write_text(text)
    return f, runner.invoke(
        app,
        [
            "receipt",
            "check",
            str(f),
            "--rpc",
            env["chain"].rpc_url,
            "--verifier-key",
            env["key_id"],
        ],
    )


def test_a_receipt_holding_a_key_twice_is_refused_naming_it(env):  # type: ignore[no-untyped-def]
    text = json.dumps(env["receipt"])
    outcome = json.dumps(env["receipt"]["report"]["outcome"])
    edited = '"outcome": {"code": "VALID_MEETS", "label": "VALID - MEETS"}, "outcome": '
    cases = {
        "report-outcome": ("outcome", text.replace('"outcome": ' + outcome, edited + outcome, 1)),
        "root-type": ("type", '{"type": "x", ' + text[1:]),
    }
    for name, (key, doc) in cases.items():
        assert doc != text
        f, r = _check(env, f"{name}.json", doc)
        assert r.exit_code == 2, (name, r.output)
        assert repr(key) in r.output and str(f) in r.output, (name, r.output)
        assert "✓" not in r.output, r.output


def test_the_same_receipt_without_a_duplicate_still_re_checks(env):  # type: ignore[no-untyped-def]
    _, r = _check(env, "plain.json", json.dumps(env["receipt"], indent=1))
    assert r.exit_code == 0 and "✓ receipt re-checked" in r.output, r.output
