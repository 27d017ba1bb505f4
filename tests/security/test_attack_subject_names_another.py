"""A credential whose subject names another institution than the one that signed it (real Anvil).

The attacker holds one accredited key: a bank's (accredited for employment credentials) signs an
employment whose ``credentialSubject.employment.employer`` is HSBC; the university's signs a
degree whose ``degree.institution`` is another university; HKIB's signs a badge whose
``achievement.creator`` (an Open Badges 3.0 Profile) is the university. Our issuer never signs
such a document (``credential.issuance.bind_subject``: the named institution is the issuer), and
the signer is not entitled to the claim: check 6 (the accreditation check) fails, naming the
signer's registered name and the institution the credential names. Before, each was VALID /
``verified: true`` (the profession merely did not count it: "credentials valid, does not
meet"), and an officer or a relying party read "VALID" beside "HSBC".

Every surface says the same: ``talentproof verify FILE``, ``talentproof verify FOLDER`` (the
folder's shared chain verdicts must not carry a pass over from an honest credential of the same
batch and key), ``POST /api/v1/verify``, the page's upload route ``/api/v1/verify/image`` and
the VC API's ``/credentials/verify``. The names compare as the profession compares employers
(case, punctuation and spacing aside): the signer's own name written so still verifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, sign

pytestmark = pytest.mark.integration
runner = CliRunner()

BANK = "Bank Named Alike Limited"
UNIVERSITY = "University of Hong Kong"


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("names-another")
    record = vchain.save_deployment(d)
    bank = vchain.issuers.get(BANK) or vchain.add_issuer(BANK, (EMPLOYMENT,), fresh_account=True)
    uni, hkib, hsbc = (vchain.issuers[n] for n in (UNIVERSITY, "HKIB", "HSBC"))
    s = holder().public_key.did_key

    def employment(employer: str, employer_id: str | None = None) -> dict[str, Any]:
        doc = build(EMPLOYMENT, bank.did, s, employer=employer, start="2012-01-01")
        if employer_id is not None:
            doc["credentialSubject"]["employment"]["employer"]["id"] = employer_id
        return sign(doc, bank.key)

    def degree(institution: str) -> dict[str, Any]:
        return sign(build(DEGREE, uni.did, s, institution=institution), uni.key)

    def badge(creator: dict[str, Any] | None) -> dict[str, Any]:
        doc = build(BADGE, hkib.did, s)
        if creator is not None:
            doc["credentialSubject"]["achievement"]["creator"] = {"type": ["Profile"], **creator}
        return sign(doc, hkib.key)

    # name -> (signed credential, the institution it names, or None when honest)
    cases: dict[str, tuple[dict[str, Any], str | None]] = {
        "emp-hsbc": (employment("HSBC"), "HSBC"),
        "emp-hsbc-did": (employment(BANK, hsbc.did), hsbc.did),
        "emp-own": (employment("bank named-alike  LIMITED."), None),
        # as the issuer's bind_subject accepted it before check 6 compared names (NFKC letters
        # and digits): an honest credential issued then must still verify
        "emp-own-joined": (employment("BankNamedAlikeLimited"), None),
        "deg-other": (degree("Harbour Polytechnic University"), "Harbour Polytechnic University"),
        "deg-own": (degree("university of hong kong"), None),
        "deg-own-fullwidth": (degree("Ｕｎｉｖｅｒｓｉｔｙ ｏｆ Ｈｏｎｇ Ｋｏｎｇ"), None),
        "badge-creator": (badge({"id": uni.did, "name": UNIVERSITY}), UNIVERSITY),
        "badge-creator-named": (badge({"id": hkib.did, "name": UNIVERSITY}), UNIVERSITY),
        "badge-own": (badge({"id": hkib.did, "name": "hkib"}), None),
        "badge-plain": (badge(None), None),
    }
    # one batch (one root) per signer, honest and hostile together: the folder's shared verdict
    anchored: dict[str, dict[str, Any]] = {}
    for issuer in (bank, uni, hkib):
        names = [n for n, (c, _) in cases.items() if _issuer(c) == issuer.did]
        docs = anchor_batch([cases[n][0] for n in names], issuer.client, vchain.deployment)
        anchored.update(zip(names, docs, strict=True))
    folder = d / "folder"
    folder.mkdir()
    for name, doc in anchored.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    signers = {"emp": BANK, "deg": UNIVERSITY, "badge": "HKIB"}
    expected = {name: (named, signers[name.split("-")[0]]) for name, (_, named) in cases.items()}
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "folder": folder,
            "docs": anchored,
            "expected": expected,
            "client": client,
        }


def _issuer(doc: dict[str, Any]) -> str:
    iss = doc["issuer"]
    return iss["id"] if isinstance(iss, dict) else iss


def _verify(env: dict[str, Any], *args: str) -> Any:
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args]
    )


def _assert_outcome(name: str, outcome: dict[str, Any], env: dict[str, Any]) -> None:
    named, signer = env["expected"][name]
    if named is None:
        assert outcome["code"] == "VALID", (name, outcome)
        return
    assert outcome["code"] == "INVALID", (name, outcome)
    reason = outcome["reason"]
    assert "check 6" in reason and named in reason and signer in reason, (name, reason)


def test_cli_single_file_and_folder_fail_check_6_naming_both(env):
    folder = env["folder"]
    single = {}
    for path in sorted(folder.iterdir()):
        r = _verify(env, str(path), "--json")
        single[path.name] = json.loads(r.output)["outcome"]
        _assert_outcome(path.stem, single[path.name], env)
    for workers in ("1", "2"):
        r = _verify(env, str(folder), "--json", "--workers", workers)
        assert r.exit_code == 1, r.output
        got = {Path(x["source"]).name: x["outcome"] for x in json.loads(r.output)["results"]}
        assert got == single, workers


def test_service_and_page_upload_fail_check_6(env):
    client = env["client"]
    for name, doc in env["docs"].items():
        r = client.post("/api/v1/verify", json={"documents": [doc]})
        assert r.status_code == 200, r.text
        _assert_outcome(name, r.json()["outcome"], env)
        files = [("files", ("qr.png", render_png(encode_payload(doc)), "image/png"))]
        r = client.post("/api/v1/verify/image", files=files)
        assert r.status_code == 200, r.text
        _assert_outcome(name, r.json()["outcome"], env)


def test_vc_api_does_not_verify_a_credential_naming_another_institution(env):
    client = env["client"]
    for name, doc in env["docs"].items():
        named, signer = env["expected"][name]
        r = client.post("/credentials/verify", json={"verifiableCredential": doc})
        if named is None:
            assert r.status_code == 200 and r.json()["verified"] is True, (name, r.text)
            continue
        assert r.status_code == 400 and r.json()["verified"] is False, (name, r.text)
        errors = r.json()["errors"]
        assert any(
            e.startswith("issuer-accreditation") and named in e and signer in e for e in errors
        ), (name, errors)


def test_an_application_with_such_a_credential_is_invalid_not_valid_not_met(env):
    """With a profession: INVALID (check 6), not "credentials valid, does not meet"."""
    docs = env["docs"]
    r = env["client"].post(
        "/api/v1/verify",
        json={"documents": [docs["deg-own"], docs["emp-hsbc"]], "profession": "hk-dlt-expert"},
    )
    assert r.status_code == 200, r.text
    _assert_outcome("emp-hsbc", r.json()["outcome"], env)
