"""Accreditation scoped by degree level, as attacks through every verifier surface (real Anvil).

The attack: a training centre the governing authority accredited for associate and bachelor
degrees only (the on-chain type ids ``DegreeCredential#level=associate`` and ``...#level=bachelor``,
not the whole ``DegreeCredential`` type) holds one accredited key and signs a doctorate. Before
level scopes the registry could not say so: an issuer accredited for ``DegreeCredential`` could
award any level, and the doctorate met "bachelor or above". Now check 6 counts a degree only when
its issuer was accredited, when it anchored the credential, for the whole type or for that
degree's level; the message names the levels it was accredited for. Checked in the CLI (one
application, a profession, a folder whose batch mixes levels), the service (``/api/v1/verify``),
the VC API (``/credentials/verify``); a grant of every level (the whole type) still works; a
withdrawn level and a level granted after the anchor do not count (as for types).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.report import CheckId, Status, Verdict
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import (
    BADGE,
    DEGREE,
    EMPLOYMENT,
    anchor_batch,
    build,
    holder,
    issue,
    sign,
)

pytestmark = pytest.mark.integration
runner = CliRunner()

CENTRE = "Kowloon Training Centre"
ASSOCIATE = f"{DEGREE}#level=associate"
BACHELOR = f"{DEGREE}#level=bachelor"
MASTER = f"{DEGREE}#level=master"
DOCTORATE = f"{DEGREE}#level=doctorate"


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("levels")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    centre = vchain.issuers.get(CENTRE) or vchain.add_issuer(
        CENTRE, (ASSOCIATE, BACHELOR), fresh_account=True
    )
    return {"dir": d, "record": str(record), "chain": vchain, "centre": centre}


def run(env, *args):
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *map(str, args)]
    )


def write(env, name: str, doc: dict):
    f = env["dir"] / name
    f.write_text(json.dumps(doc))
    return f


def _result_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Result: "))


def _degree(env, issuer, level: str, subject: str | None = None) -> dict:
    return issue(env["chain"], issuer, DEGREE, subject or holder().public_key.did_key, level=level)


def _check6(report):
    return report.check(CheckId.ISSUER)


def test_scoped_issuers_doctorate_is_invalid_at_check_6_naming_its_levels(env):
    doc = _degree(env, env["centre"], "doctorate")
    report = env["chain"].verifier().verify_document(doc)
    assert report.verdict is Verdict.INVALID
    c6 = _check6(report)
    assert c6.status is Status.FAIL, c6.message
    assert "only at the levels associate, bachelor" in c6.message, c6.message
    assert "doctorate" in c6.message
    # the other checks pass: only the level is wrong
    assert all(
        c.status is Status.PASS for c in report.checks if c.id in (CheckId.KEY, CheckId.STATUS)
    )
    r = run(env, write(env, "centre-doctorate.json", doc))
    assert r.exit_code == 1, r.output
    assert "check 6" in _result_line(r.output)
    assert "only at the levels associate, bachelor" in r.output


def test_scoped_issuers_bachelor_and_associate_are_valid(env):
    for level in ("bachelor", "associate"):
        doc = _degree(env, env["centre"], level)
        report = env["chain"].verifier().verify_document(doc)
        assert report.verdict is Verdict.VALID, [c.message for c in report.checks]
        r = run(env, write(env, f"centre-{level}.json", doc))
        assert r.exit_code == 0, r.output


def test_scoped_doctorate_never_meets_a_profession(env):
    chain = env["chain"]
    key = holder()
    s = key.public_key.did_key
    emp = issue(chain, chain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")
    badge = issue(chain, chain.issuers["HKIB"], BADGE, s)
    tag = s[-8:]
    rest = [write(env, f"emp-{tag}.json", emp), write(env, f"badge-{tag}.json", badge)]
    doctorate = write(env, f"doc-{tag}.json", _degree(env, env["centre"], "doctorate", s))
    r = run(env, doctorate, *rest, "--profession", "hk-dlt-expert", "--json")
    data = json.loads(r.output)
    assert r.exit_code == 1, r.output
    assert data["outcome"]["code"] == "INVALID", data["outcome"]
    assert data["profession"] is None or data["profession"]["met"] is not True
    # the same applicant's honest bachelor from the same centre meets it
    bachelor_doc = _degree(env, env["centre"], "bachelor", s)
    bachelor = write(env, f"bach-{tag}.json", bachelor_doc)
    r = run(env, bachelor, *rest, "--profession", "hk-dlt-expert")
    assert r.exit_code == 0, r.output
    assert "[VALID_MEETS]" in _result_line(r.output)
    # the verifier service's evaluation says the same
    doctorate_doc = json.loads(doctorate.read_text())
    client = TestClient(create_app(ServiceSettings(rpc_url=chain.rpc_url, trust=env["record"])))
    with client:
        for degree, want in ((doctorate_doc, "INVALID"), (bachelor_doc, "VALID_MEETS")):
            body = client.post(
                "/api/v1/applications/evaluate",
                json={"documents": [degree, emp, badge], "profession": "hk-dlt-expert"},
            ).json()
            assert body["outcome"]["code"] == want, body["outcome"]


def test_folder_batch_mixing_levels_judges_each_by_its_own_level(env, tmp_path):
    """One anchored batch of the centre holds a bachelor and a doctorate: their chain verdicts
    are equal but for the level, so the folder's shared chain-check results must not mix them."""
    chain, centre = env["chain"], env["centre"]
    docs = [
        sign(
            build(DEGREE, centre.did, holder().public_key.did_key, level=lv, institution=CENTRE),
            centre.key,
        )
        for lv in ("bachelor", "doctorate", "bachelor", "doctorate")
    ]
    anchored = anchor_batch(docs, centre.client, chain.deployment)
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, doc in enumerate(anchored):
        level = doc["credentialSubject"]["degree"]["level"]
        (folder / f"{i}-{level}.json").write_text(json.dumps(doc))
    for workers in ("1", "2"):
        r = run(env, folder, "--json", "--workers", workers)
        assert r.exit_code == 1, r.output
        data = json.loads(r.output)
        assert data["summary"]["valid"] == 2 and data["summary"]["invalid"] == 2, data["summary"]
        for item in data["results"]:
            want = "VALID" if "bachelor" in item["source"] else "INVALID"
            assert item["outcome"]["code"] == want, item["outcome"]
            if want == "INVALID":
                assert "check 6" in item["outcome"]["reason"], item["outcome"]
        text = run(env, folder, "--workers", workers)
        assert text.exit_code == 1, text.output
        lines = [line for line in text.output.splitlines() if line.startswith(("✓", "✗"))]
        assert len(lines) == 4, text.output
        for line in lines:
            if "doctorate" in line.split(":")[0]:
                assert line.startswith("✗") and ": 6. " in line, line
                assert "only at the levels associate, bachelor" in line, line
            else:
                assert line.startswith("✓"), line
    # one application through the engine: the same mix
    reports = [chain.verifier().verify_document(d) for d in anchored]
    assert [r.verdict for r in reports] == [
        Verdict.VALID,
        Verdict.INVALID,
        Verdict.VALID,
        Verdict.INVALID,
    ]


def test_service_and_vc_api_refuse_the_scoped_doctorate(env):
    chain = env["chain"]
    doctorate = _degree(env, env["centre"], "doctorate")
    bachelor = _degree(env, env["centre"], "bachelor")
    client = TestClient(create_app(ServiceSettings(rpc_url=chain.rpc_url, trust=env["record"])))
    with client:
        body = client.post("/api/v1/verify", json={"documents": [doctorate]}).json()
        assert body["outcome"]["code"] == "INVALID", body["outcome"]
        assert "check 6" in body["outcome"]["reason"]
        c6 = next(c for c in body["credentials"][0]["checks"] if c["id"] == CheckId.ISSUER.value)
        assert "only at the levels associate, bachelor" in c6["message"], c6
        ok = client.post("/api/v1/verify", json={"documents": [bachelor]}).json()
        assert ok["outcome"]["code"] == "VALID", ok["outcome"]
        vc = client.post("/credentials/verify", json={"verifiableCredential": doctorate})
        assert vc.status_code == 400, vc.text
        assert vc.json()["verified"] is False
        good = client.post("/credentials/verify", json={"verifiableCredential": bachelor})
        assert good.status_code == 200, good.text


def test_whole_type_grant_accredits_every_level(env):
    uni = env["chain"].issuers["University of Hong Kong"]  # granted DegreeCredential itself
    for level in ("associate", "doctorate"):
        report = env["chain"].verifier().verify_document(_degree(env, uni, level))
        assert report.verdict is Verdict.VALID, [c.message for c in report.checks]


def test_withdrawn_level_counts_only_for_what_was_anchored_before(env):
    chain = env["chain"]
    inst = chain.add_issuer("Harbour Business School", (BACHELOR, MASTER), fresh_account=True)
    before = _degree(env, inst, "master")
    chain.rpc("evm_increaseTime", [5])
    chain.governor.withdraw_credential_type(inst.issuer_id, MASTER)
    chain.rpc("evm_increaseTime", [5])
    after = _degree(env, inst, "master")
    v = chain.verifier()
    assert v.verify_document(before).verdict is Verdict.VALID
    late = v.verify_document(after)
    assert late.verdict is Verdict.INVALID
    msg = _check6(late).message
    assert "only at the levels bachelor" in msg and "master" in msg, msg
    assert v.verify_document(_degree(env, inst, "bachelor")).verdict is Verdict.VALID


def test_level_granted_after_the_anchor_does_not_count(env):
    chain = env["chain"]
    inst = chain.add_issuer("Lantau Community College", (ASSOCIATE,), fresh_account=True)
    doctorate = _degree(env, inst, "doctorate")
    chain.rpc("evm_increaseTime", [5])
    chain.governor.grant_credential_type(inst.issuer_id, DOCTORATE)
    report = chain.verifier().verify_document(doctorate)
    assert report.verdict is Verdict.INVALID
    assert "only at the levels associate" in _check6(report).message
    # a doctorate anchored after the grant counts
    assert (
        chain.verifier().verify_document(_degree(env, inst, "doctorate")).verdict is Verdict.VALID
    )


def test_levels_granted_only_after_the_anchor_say_no_level(env):
    chain = env["chain"]
    inst = chain.add_issuer("Tsuen Wan Institute", (), fresh_account=True)
    doctorate = _degree(env, inst, "doctorate")
    chain.rpc("evm_increaseTime", [5])
    chain.governor.grant_credential_type(inst.issuer_id, DOCTORATE)
    msg = _check6(chain.verifier().verify_document(doctorate)).message
    assert "accredited to issue DegreeCredential credentials at no level when it anchored" in msg
    assert "not at the level doctorate" in msg


def test_no_level_and_no_type_is_the_plain_type_refusal(env):
    chain = env["chain"]
    osl = chain.issuers.get("OSL Digital Securities Limited") or chain.add_issuer(
        "OSL Digital Securities Limited", (EMPLOYMENT,)
    )
    report = chain.verifier().verify_document(_degree(env, osl, "bachelor"))
    assert report.verdict is Verdict.INVALID
    assert "was never accredited to issue DegreeCredential" in _check6(report).message
