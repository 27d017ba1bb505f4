"""Where the anchor evidence lives (docs/architecture.md, "The anchored credential"): a second
member of the credential's Data Integrity proof set. A standard verifier verifies the issuer's
signature and skips the anchor entry; the TalentProof verifier checks it. These tests pin the
split on credentials anchored on a real chain:

* an anchor entry altered (another root, another position) or moved from another credential
  (same batch or another batch) is VERIFIED by Digital Bazaar's @digitalbazaar/vc (it checks the
  signature only) and refused by ``talentproof verify`` (the officer's command), which names the
  Merkle inclusion check;
* the untouched credential is valid for both;
* the anchor entry's ``proofPurpose`` (``assertionMethod``, as VC Data Integrity requires of
  every proof) makes the library's purpose filter consider it, and its suite filter skip it
  (type ``TalentProofAnchor`` is no ``DataIntegrityProof``): an entry without a purpose is
  skipped all the same, so the purpose does not make the library verify anything it would not;
* the library's proof-set rule is "at least one matching proof verifies": an extra member
  dressed as a signature that fails is reported as an error but the credential still verifies.
  TalentProof's verifier refuses it (one Data Integrity proof expected, a set of 2 found; no
  anchor proof).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential import integrity, keys
from talentproof.credential.anchor import split_anchor
from tests.chainkit import DEGREE, Chain, anchor_batch, build, holder

from .node_vc import messages, verify_with_vc

pytestmark = [
    pytest.mark.integration,
]
runner = CliRunner()
ISSUER = "University of Hong Kong"


def _signed(chain: Chain) -> dict[str, Any]:
    """A degree signed with the issuer's did:web method (``<DID>#<multibase>``)."""
    issuer = chain.issuers[ISSUER]
    doc = build(DEGREE, issuer.did, holder().public_key.did_key, institution=issuer.name)
    return integrity.sign(
        doc,
        issuer.key,
        verification_method=f"{issuer.did}#{issuer.key.public_key.multibase}",
        created=datetime.now(UTC).replace(microsecond=0),
    )


@pytest.fixture(scope="module")
def setup(vchain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    issuer = vchain.issuers[ISSUER]
    batch = anchor_batch([_signed(vchain) for _ in range(3)], issuer.client, vchain.deployment)
    other = anchor_batch([_signed(vchain) for _ in range(2)], issuer.client, vchain.deployment)
    d = tmp_path_factory.mktemp("anchor-placement")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    did_document = keys.did_web_document(
        issuer.did, {issuer.key.public_key.multibase: issuer.key.public_key}
    )
    return {
        "dir": d,
        "record": str(record),
        "rpc": vchain.rpc_url,
        "batch": batch,
        "other": other,
        "did": did_document,
    }


def _talentproof(setup: dict[str, Any], doc: dict[str, Any], name: str) -> tuple[int, Any]:
    f: Path = setup["dir"] / f"{name}.json"
    f.write_text(json.dumps(doc))
    r = runner.invoke(
        app, ["verify", "--rpc", setup["rpc"], "--trust", setup["record"], str(f), "--json"]
    )
    return r.exit_code, json.loads(r.output)


def _with_anchor_of(doc: dict[str, Any], donor: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["proof"][1] = copy.deepcopy(donor["proof"][1])
    return out


def _altered(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["proof"][1].update(fields)
    return out


def test_the_anchored_credential_is_valid_for_both(setup: dict[str, Any]) -> None:
    doc = setup["batch"][0]
    assert verify_with_vc(doc, [setup["did"]])["verified"]
    code, report = _talentproof(setup, doc, "honest")
    assert code == 0 and report["verdict"] == "valid", report


@pytest.mark.parametrize(
    "case",
    [
        "another root",
        "another leaf index",
        "anchor of another credential, same batch",
        "anchor of a credential of another batch",
    ],
)
def test_a_tampered_or_moved_anchor_passes_digital_bazaar_and_fails_talentproof(
    case: str, setup: dict[str, Any]
) -> None:
    doc, other = setup["batch"][0], setup["other"]
    bad = {
        "another root": lambda: _altered(doc, merkleRoot=other[0]["proof"][1]["merkleRoot"]),
        "another leaf index": lambda: _altered(doc, leafIndex=1),
        "anchor of another credential, same batch": lambda: _with_anchor_of(doc, setup["batch"][1]),
        "anchor of a credential of another batch": lambda: _with_anchor_of(doc, other[0]),
    }[case]()
    assert bad != doc
    # the signature covers everything but `proof`: the independent library still verifies
    result = verify_with_vc(bad, [setup["did"]])
    assert result["verified"], messages(result)
    # the signed credential is untouched: its hash, the on-chain identity, is the same
    assert split_anchor(bad)[0] == split_anchor(doc)[0]
    # TalentProof's verifier refuses it, naming the Merkle inclusion check
    code, report = _talentproof(setup, bad, case.replace(" ", "-").replace(",", ""))
    assert code == 1 and report["verdict"] == "invalid", report
    (cred,) = report["credentials"]
    failed = [c["id"] for c in cred["checks"] if c["status"] == "fail"]
    assert failed == ["merkle_inclusion"], cred["checks"]
    assert cred["checks"][0]["status"] == "pass"  # it was read; the signature passed
    assert {c["id"]: c["status"] for c in cred["checks"]}["signature"] == "pass"


def test_the_anchor_entry_purpose_only_routes_it_to_the_suite_filter(
    setup: dict[str, Any],
) -> None:
    doc = setup["batch"][0]
    no_purpose = copy.deepcopy(doc)
    del no_purpose["proof"][1]["proofPurpose"]
    assert verify_with_vc(no_purpose, [setup["did"]])["verified"]
    # an anchor entry dressed as a signature (type and cryptosuite) is matched and fails; the
    # library still answers verified, as one proof of the set verified (its proof-set rule:
    # any matching proof that verifies, not all of them)
    disguised = _altered(doc, type="DataIntegrityProof", cryptosuite="eddsa-jcs-2022")
    result = verify_with_vc(disguised, [setup["did"]])
    assert result["verified"], result
    assert messages(result) == ['No "verificationMethod" found in proof.'], result
    # TalentProof refuses it at parse: the set carries no TalentProofAnchor and two proofs
    code, report = _talentproof(setup, disguised, "disguised")
    assert code == 1 and report["verdict"] == "invalid", report
    checks = {c["id"]: c for c in report["credentials"][0]["checks"]}
    assert checks["signature"]["status"] == checks["merkle_inclusion"]["status"] == "fail"
    assert "found a proof set of 2" in checks["signature"]["message"]
