"""A validity date the schema's pattern admits but the calendar does not is refused at check 2,
never a crash (real Anvil: the engine, the CLI and the service).

The attack needs no key: a document whose ``validUntil`` (or ``validFrom``, beside a
``validUntil``) matches the dateTimeStamp pattern of the schema and of the VC 2.0 rules but names
no real instant (``2030-02-30T00:00:00Z``; ``24:00:00``, which XML Schema admits; a five-digit
year) made check 2 raise ``ValueError`` out of the engine, comparing the two dates before any
check could fail. One such QR code or file beside an applicant's valid credentials ended the
whole verification with a traceback: ``talentproof verify`` printed it (exit 1, the code of
INVALID, with no result line), the service answered 500, and no credential was reported. The
document now fails check 2 naming the field, the others are judged as usual.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload
from talentproof.verifier.engine import Item
from tests.chainkit import DEGREE, build, holder, issue, sign

pytestmark = pytest.mark.integration
runner = CliRunner()

UNREAL = [
    ("validUntil", "2030-02-30T00:00:00Z"),  # no 30 February
    ("validUntil", "2030-01-01T24:00:00Z"),  # XML Schema's end of day
    ("validUntil", "10000-01-01T00:00:00Z"),  # a five-digit year
    ("validFrom", "2026-02-30T00:00:00Z"),  # with a validUntil: the two were compared
]


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("unreal")
    record = vchain.save_deployment(d)
    uni = vchain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    good = issue(vchain, uni, DEGREE, s)
    return {"vchain": vchain, "uni": uni, "s": s, "good": good, "record": str(record), "dir": d}


def _unreal(env, field: str, value: str, *, signed: bool) -> dict:  # type: ignore[type-arg]
    doc = build(DEGREE, env["uni"].did, env["s"])
    doc.setdefault("validUntil", "2040-01-01T00:00:00Z")
    doc[field] = value
    return sign(doc, env["uni"].key) if signed else doc


@pytest.mark.parametrize(("field", "value"), UNREAL)
@pytest.mark.parametrize("signed", [False, True], ids=["no-key", "issuer-key"])
def test_engine_fails_check_2_and_judges_the_rest(env, field, value, signed):
    doc = _unreal(env, field, value, signed=signed)
    report = (
        env["vchain"]
        .verifier()
        .verify_application([Item("good", env["good"]), Item("unreal", doc)])
    )
    good, bad = report.credentials
    assert good.verdict.value == "valid", [c.message for c in good.checks]
    schema = next(c for c in bad.checks if c.number == 2)
    assert schema.status.value == "fail", schema
    assert field in schema.message, schema.message
    assert report.outcome.outcome.value == "INVALID", report.outcome


@pytest.mark.parametrize(("field", "value"), UNREAL[:2])
def test_cli_reports_invalid_instead_of_a_traceback(env, field, value):
    path = env["dir"] / f"unreal-{field}-{value[:10]}.json"
    path.write_text(json.dumps(_unreal(env, field, value, signed=True)), "utf-8")
    good = env["dir"] / "good.json"
    good.write_text(json.dumps(env["good"]), "utf-8")
    r = runner.invoke(
        app,
        ["verify", "--rpc", env["vchain"].rpc_url, "--trust", env["record"], str(good), str(path)],
    )
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 1, r.output
    assert "Result: INVALID" in r.stdout, r.stdout
    assert field in r.stdout, r.stdout


@pytest.mark.parametrize(("field", "value"), UNREAL[:2])
def test_service_answers_invalid_not_500(env, field, value):
    payloads = [
        encode_payload(env["good"]),
        encode_payload(_unreal(env, field, value, signed=False)),
    ]
    with env["vchain"].service_client(env["record"], raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", json={"payloads": payloads})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json()["outcome"]["code"] == "INVALID", r.json()["outcome"]
