"""A verdict "as of T" counts only a credential anchored by T (check 5), in every surface.

The attack: an issuer holding one accredited key backdates a credential's ``validFrom`` a year
and anchors it now; asked "was it valid six months ago?", the verifier must not say VALID, since
the credential was not on the ledger then. The as-of compared is the time the chain answered for
(the verdict's ``asOf``: the explicit as-of, or the read block's own timestamp by default), so a
just-anchored credential verified "now" passes even when the chain's clock runs ahead of the
verifier's. Real Anvil; CLI single, several and folder; service JSON and the page's form; the VC
API's result; ``AsOf`` / ``AtBlock`` requirements.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload
from talentproof.verifier import checks
from talentproof.verifier.engine import Item
from talentproof.verifier.report import CheckId, Status, Verdict
from talentproof.verifier.requirements import AsOf, AtBlock
from talentproof.verifier.service import ServiceSettings, create_app
from talentproof.verifier.vc_api import vc_api_result
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()

SIX_MONTHS = timedelta(days=182)
SKIPPED_AFTER_5 = (CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("asof-anchor")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    uni = vchain.issuers["University of Hong Kong"]
    key = holder()
    now = datetime.now(UTC)
    before = vchain.governor.w3.eth.block_number
    backdated = issue(vchain, uni, DEGREE, key.public_key.did_key, valid_from=now - 2 * SIX_MONTHS)
    honest = issue(  # the application's other credential, backdated the same way
        vchain,
        vchain.issuers["HSBC"],
        EMPLOYMENT,
        key.public_key.did_key,
        start="2012-01-01",
        valid_from=now - 2 * SIX_MONTHS,
    )
    anchor = vchain.verifier().verify_document(backdated).check(CheckId.ANCHOR)
    assert anchor.status is Status.PASS, anchor.message
    files = {}
    for name, doc in (("backdated", backdated), ("honest", honest)):
        files[name] = d / f"{name}.json"
        files[name].write_text(json.dumps(doc))
    folder = d / "folder"
    folder.mkdir()
    (folder / "backdated.json").write_text(json.dumps(backdated))
    return {
        "dir": d,
        "record": str(record),
        "chain": vchain,
        "doc": backdated,
        "honest": honest,
        "files": files,
        "folder": folder,
        "anchored_at": int(anchor.evidence["anchoredAt"]),
        "anchor_block": int(anchor.evidence["anchorBlock"]),
        "block_before": int(before),
        "six_months_ago": now - SIX_MONTHS,
    }


def run(env, *args):
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *map(str, args)]
    )


def _result_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Result: "))


def _assert_fails_at_check_5(cred: dict, anchored_at: int, as_of: int) -> None:
    """A credential's JSON report: check 5 fails naming both times, 6-8 skipped, 9 passes."""
    by_number = {c["number"]: c for c in cred["checks"]}
    five = by_number[5]
    assert five["status"] == "fail", five
    assert five["evidence"]["anchoredAt"] == anchored_at and five["evidence"]["asOf"] == as_of
    assert five["message"].startswith(f"Anchored at {_iso_words(anchored_at)}"), five["message"]
    assert f"after the as-of time {_iso_words(as_of)}" in five["message"]
    assert [by_number[n]["status"] for n in (6, 7, 8)] == ["skipped"] * 3
    assert by_number[9]["status"] == "pass"  # the backdated validFrom alone would pass


def _iso_words(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --------------------------------------------------------------------------- CLI


def test_cli_as_of_before_the_anchor_is_invalid_naming_check_5(env):
    as_of = env["six_months_ago"].date().isoformat()
    as_of_ts = int(datetime.fromisoformat(as_of).replace(tzinfo=UTC).timestamp())
    r = run(env, env["files"]["backdated"], "--as-of", as_of)
    assert r.exit_code == 1, r.output
    line = _result_line(r.output)
    assert line.startswith("Result: INVALID: ") and "check 5" in line and "[INVALID]" in line
    data = json.loads(run(env, env["files"]["backdated"], "--as-of", as_of, "--json").output)
    assert data["outcome"]["code"] == "INVALID" and "check 5" in data["outcome"]["reason"]
    _assert_fails_at_check_5(data["credentials"][0], env["anchored_at"], as_of_ts)


def test_cli_several_inputs_and_folder_say_the_same(env):
    as_of = env["six_months_ago"].date().isoformat()
    files = env["files"]
    r = run(env, files["honest"], files["backdated"], "--as-of", as_of)
    assert r.exit_code == 1, r.output
    assert "check 5" in _result_line(r.output)
    r = run(env, env["folder"], "--as-of", as_of, "--json")
    assert r.exit_code == 1, r.output
    (result,) = json.loads(r.output)["results"]
    assert result["outcome"]["code"] == "INVALID" and "check 5" in result["outcome"]["reason"]
    summary = run(env, env["folder"], "--as-of", as_of)
    assert summary.exit_code == 1 and "[INVALID]" in summary.output


def test_cli_as_of_at_or_after_the_anchor_is_valid_as_before(env):
    at = env["anchored_at"]
    r = run(env, env["files"]["backdated"], "--as-of", _iso(at))
    assert r.exit_code == 0, r.output
    assert "[VALID]" in _result_line(r.output)
    assert run(env, env["files"]["backdated"], "--as-of", _iso(at + 3600)).exit_code == 0
    late = run(env, env["files"]["backdated"], "--as-of", _iso(at - 1))
    assert late.exit_code == 1 and "check 5" in _result_line(late.output)


def test_default_as_of_on_a_just_anchored_credential_is_valid(env, tmp_path):
    """The chain's clock ahead of the verifier's (a busy node, a skewed host): the default
    as-of is the read block's own time, never the verifier's clock."""
    chain = env["chain"]
    chain.rpc("evm_increaseTime", [120])
    uni = chain.issuers["University of Hong Kong"]
    doc = issue(chain, uni, DEGREE, holder().public_key.did_key)
    report = chain.verifier().verify_document(doc)
    assert report.verdict is Verdict.VALID, [c.message for c in report.checks]
    anchored_at = report.check(CheckId.ANCHOR).evidence["anchoredAt"]
    assert anchored_at > datetime.now(UTC).timestamp()  # anchored "in the verifier's future"
    f = tmp_path / "fresh.json"
    f.write_text(json.dumps(doc))
    r = run(env, f)
    assert r.exit_code == 0, r.output
    client = TestClient(create_app(ServiceSettings(rpc_url=chain.rpc_url, trust=env["record"])))
    with client:
        body = client.post("/api/v1/verify", json={"documents": [doc]}).json()
        assert body["outcome"]["code"] == "VALID", body["outcome"]
        vc = client.post("/credentials/verify", json={"verifiableCredential": doc})
        assert vc.status_code == 200, vc.text


# --------------------------------------------------------------------------- service, page, VC API


def test_service_json_and_page_refuse_as_of_before_the_anchor(env):
    chain = env["chain"]
    as_of = env["six_months_ago"].date().isoformat()
    as_of_ts = int(datetime.fromisoformat(as_of).replace(tzinfo=UTC).timestamp())
    client = TestClient(create_app(ServiceSettings(rpc_url=chain.rpc_url, trust=env["record"])))
    with client:
        r = client.post("/api/v1/verify", json={"documents": [env["doc"]], "asOf": as_of})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"]["code"] == "INVALID" and "check 5" in body["outcome"]["reason"]
        assert body["verdict"] == "invalid"
        _assert_fails_at_check_5(body["credentials"][0], env["anchored_at"], as_of_ts)
        page = client.post(
            "/api/v1/verify/image",
            data={"payloads": [encode_payload(env["doc"])], "asOf": as_of},
        ).json()
        assert page["outcome"]["code"] == "INVALID" and "check 5" in page["outcome"]["reason"]
        # without an as-of (now), and as of a later date, it is valid as before
        now = client.post("/api/v1/verify", json={"documents": [env["doc"]]}).json()
        assert now["outcome"]["code"] == "VALID", now["outcome"]
        later = (datetime.fromtimestamp(env["anchored_at"], UTC) + timedelta(days=1)).date()
        after = client.post(
            "/api/v1/verify", json={"documents": [env["doc"]], "asOf": later.isoformat()}
        ).json()
        assert after["outcome"]["code"] == "VALID", after["outcome"]


def test_vc_api_result_of_an_as_of_report_is_400_naming_the_anchor(env):
    """The VC API takes no as-of (it verifies now: 200 for this credential); the result it
    makes of a report as of a time before the anchor is 400 with the anchor check in errors."""
    chain = env["chain"]
    client = TestClient(create_app(ServiceSettings(rpc_url=chain.rpc_url, trust=env["record"])))
    with client:
        r = client.post("/credentials/verify", json={"verifiableCredential": env["doc"]})
        assert r.status_code == 200, r.text
    report = chain.verifier().verify_application(
        [Item("credential", env["doc"])], as_of=env["six_months_ago"]
    )
    status, body = vc_api_result(report, presentation=False)
    assert status == 400 and body["verified"] is False
    assert [e.split(":")[0] for e in body["errors"]] == ["anchor"], body
    assert "after the as-of time" in body["errors"][0]
    assert "anchor" not in body["checks"] and "expiration" in body["checks"]


# --------------------------------------------------------------------------- requirements, blocks


def test_as_of_with_at_block_is_consistent(env):
    chain = env["chain"]
    v = chain.verifier()
    doc = env["doc"]
    early = env["six_months_ago"]
    anchored_at, anchor_block = env["anchored_at"], env["anchor_block"]

    def anchor_check(*requirements, **kw):
        report = v.verify_application([Item("c", doc)], *requirements, **kw)
        return report.credentials[0].check(CheckId.ANCHOR)

    # a block before the anchor: not anchored, whatever the as-of
    for kw in ({}, {"as_of": early}, {"as_of": datetime.now(UTC)}):
        found = anchor_check(at_block=env["block_before"], **kw)
        assert found.status is Status.FAIL and "is not anchored" in found.message, (kw, found)
    # the anchor's block: default as-of (the block's time) passes; an earlier as-of fails
    assert anchor_check(at_block=anchor_block).status is Status.PASS
    assert anchor_check(AtBlock(anchor_block)).status is Status.PASS
    for found in (
        anchor_check(at_block=anchor_block, as_of=early),
        anchor_check(AsOf(early), AtBlock(anchor_block)),
        anchor_check(AsOf(early.date())),
        anchor_check(AtBlock(anchor_block, chain_as_of=anchored_at - 1)),
    ):
        assert found.status is Status.FAIL and "after the as-of time" in found.message, found
    assert anchor_check(AtBlock(anchor_block, chain_as_of=anchored_at)).status is Status.PASS
    # keyword and requirement object agree, byte for byte
    block = v.reader.block_number()
    by_kw = v.verify_application([Item("c", doc)], as_of=early, at_block=block)
    by_obj = v.verify_application([Item("c", doc)], AsOf(early), AtBlock(block))
    assert by_kw.to_json() == by_obj.to_json()


def test_check_5_compares_the_chain_answers_as_of_with_the_anchor_time(env):
    """The pure check: one second before the anchor fails, the anchor's second passes; the
    memo keeps them apart (the verdict, as-of included, is its key)."""
    chain = env["chain"]
    v = chain.verifier()
    v.node_chain_id()
    p = v.prepare("c", env["doc"])
    verdict = v.read(p, 0, "latest")
    at = int(verdict.anchor.anchored_at)
    assert verdict.as_of >= at  # default: the block's own time
    earlier = replace(verdict, as_of=at - 1)
    kw = {
        "anchor": p.anchor,
        "kind": p.kind,
        "key_id": p.key_id,
        "claimed_issuer": checks.issuer_id(p.credential),
        "chain_id": v.node_chain_id(),
        "block_number": int(verdict.block_number),
        "block_hash_hex": checks.block_hash(verdict),
        "trust": v.trust,
        "min_confirmations": 1,
    }
    failed = checks.chain_checks(verdict=earlier, **kw)
    assert failed[0].reason is checks.Reason.ANCHORED_AFTER_AS_OF
    assert failed[0].evidence["anchoredAt"] == at and failed[0].evidence["asOf"] == at - 1
    assert [f.status for f in failed[1:]] == [Status.SKIPPED] * 3
    assert [f.check for f in failed[1:]] == list(SKIPPED_AFTER_5)
    passed = checks.chain_checks(verdict=replace(verdict, as_of=at), **kw)
    assert [f.status for f in passed] == [Status.PASS] * 4
    now = datetime.now(UTC)
    assert v.finish(p, earlier, as_of=now).check(CheckId.ANCHOR).status is Status.FAIL
    assert v.finish(p, verdict, as_of=now).check(CheckId.ANCHOR).status is Status.PASS
