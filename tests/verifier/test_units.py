"""Unit tests of the verifier's pieces that need no chain."""

from __future__ import annotations

import json

import pytest

from talentproof.verifier.engine import parse_json
from talentproof.verifier.errors import InputError, InputTooLarge, TrustConfigError
from talentproof.verifier.inputs import item_from_bytes, resolve_argument
from talentproof.verifier.report import (
    CheckId,
    CheckResult,
    CredentialReport,
    Status,
    Verdict,
    verdict_of,
)
from talentproof.verifier.service import ChallengeStore
from talentproof.verifier.trust import TrustedDeployment


def c(status: Status, cid: CheckId = CheckId.PARSE) -> CheckResult:
    return CheckResult(cid, status, "m")


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([Status.PASS, Status.PASS], Verdict.VALID),
        ([Status.PASS, Status.SKIPPED], Verdict.VALID),
        ([Status.PASS, Status.ERROR], Verdict.ERROR),
        ([Status.ERROR, Status.FAIL], Verdict.INVALID),
        ([Status.SKIPPED], Verdict.ERROR),
        ([], Verdict.ERROR),
    ],
)
def test_verdict_fails_closed(statuses, verdict):
    assert verdict_of([c(s) for s in statuses]) is verdict


def test_report_json_roundtrip():
    r = CredentialReport(
        "x.json", (c(Status.PASS), c(Status.FAIL, CheckId.SIGNATURE)), credential_id="urn:1"
    )
    assert CredentialReport.from_json(json.loads(json.dumps(r.to_json()))) == r
    assert r.to_json()["checks"][1]["number"] == 3


def test_duplicate_json_keys_are_refused():
    with pytest.raises(InputError, match="duplicate key 'id'"):
        parse_json('{"id": 1, "id": 2}', what="doc", limit=100)


def test_json_size_limit():
    with pytest.raises(InputTooLarge, match="limit is 10 bytes"):
        parse_json('{"a": "0123456789"}', what="doc", limit=10)


def test_input_detection():
    assert item_from_bytes(b"not a payload", "t").error is not None
    broken = item_from_bytes(b'{"a": ', "t")
    assert broken.document is None and "expected JSON" in broken.error
    assert item_from_bytes(b'{"type": ["VerifiablePresentation"]}', "t").is_presentation


def test_long_payload_argument_with_slashes_is_text_not_a_path():
    item = resolve_argument("TP1:" + "A" * 300 + "/" + "B" * 300)
    assert item.document is None and "not a TalentProof QR payload" in item.error


def test_missing_file_argument_is_a_usage_error():
    with pytest.raises(InputError, match="expected a QR image"):
        resolve_argument("/nonexistent/credential.json")


def test_trust_parsing(tmp_path):
    t = TrustedDeployment.parse("0x5FbDB2315678afecb367f032d93F642f64180aa3")
    assert t.chain_id is None and t.same_registry("0x5fbdb2315678afecb367f032d93f642f64180aa3")
    f = tmp_path / "d.json"
    f.write_text(
        json.dumps({"chainId": 31337, "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3"})
    )
    assert TrustedDeployment.parse(str(f)).chain_id == 31337
    with pytest.raises(TrustConfigError, match="cannot be read"):
        TrustedDeployment.parse(str(tmp_path / "missing.json"))
    with pytest.raises(TrustConfigError, match="40 hex digits"):
        TrustedDeployment(registry="0x1234")


def test_challenges_are_single_use_and_expire():
    now = [0.0]
    store = ChallengeStore(ttl=10, clock=lambda: now[0])
    a, _ = store.issue()
    assert store.consume(a) is None
    assert "already used" in store.consume(a)
    b, _ = store.issue()
    now[0] = 11
    assert store.consume(b) == "has expired"
    assert "not issued" in store.consume("made-up")
