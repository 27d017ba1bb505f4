"""A status change is read at once by every surface (real Anvil, one verifier service kept
running across the changes, as at a counter).

The attack: an applicant whose degree is suspended pending an inquiry, or revoked, comes back to
the same counter (the same verifier process) at once, hoping for a verdict or a chain read the
service kept from the last visit: the service's one ``Verifier`` keeps a memo of checks 5-8, and
any cache of a verdict, of a chain read or of a rendered result across requests would give the
earlier VALID again. The degree is anchored in one batch with another of the same holder's
degrees (same root, same key: what the memo shares), and each change is read through every
surface right after its transaction: the CLI on the file and on a folder, ``POST
/api/v1/verify`` (documents), the page's route (``/api/v1/verify/image``, scanned payloads), the
VC API (credential, and a presentation bound to a challenge) and an OpenID4VP answer. Suspended:
INVALID everywhere (check 8); reinstated: VALID again (the suspension history is exact, not a
read kept from before); revoked: INVALID everywhere, the other degree of the batch still VALID.

Held when written (2026-12-07). It fails with a chain read kept across requests (the
``verify_credential`` answer kept by its arguments: the service surfaces say VALID_MEETS after the
suspension) and with the memo keyed without the verdict read (the batch's other degree, read in
the same block, takes the suspended one's INVALID).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import encode_payload
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, issue
from tests.chainkit import sign as sign_credential
from tests.security.surfaces import openid4vp_outcome, vc_api_presentation

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("read-at-once")
    record = vchain.save_deployment(d)
    uni = vchain.issuers["University of Hong Kong"]
    key = holder()
    s = key.public_key.did_key
    bachelor, master = anchor_batch(
        [
            sign_credential(build(DEGREE, uni.did, s, institution=uni.name), uni.key),
            sign_credential(
                build(DEGREE, uni.did, s, institution=uni.name, level="master"), uni.key
            ),
        ],
        uni.client,
        vchain.deployment,
    )
    employment = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01")
    training = issue(vchain, vchain.issuers["HKIB"], BADGE, s)
    folder = d / "folder"
    folder.mkdir()
    for name, doc in {"degree": bachelor, "employment": employment, "training": training}.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "uni": uni,
            "key": key,
            "degree": bachelor,
            "other": master,
            "employment": employment,
            "training": training,
            "folder": folder,
            "client": client,
        }


def _cli(env: dict[str, Any], target: Path) -> dict[str, Any]:
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            env["chain"].rpc_url,
            "--trust",
            env["record"],
            str(target),
            "--json",
        ],
    )
    return {"exit": r.exit_code, "out": json.loads(r.output)}


def _surfaces(env: dict[str, Any]) -> dict[str, str]:
    """The outcome each surface gives the applicant's degree (with their employment and
    training where the surface takes an application) right now."""
    c = env["client"]
    docs = [env["degree"], env["employment"], env["training"]]
    out: dict[str, str] = {}
    single = _cli(env, env["folder"] / "degree.json")
    out["cli file"] = single["out"]["outcome"]["code"]
    folder = _cli(env, env["folder"])
    by_file = {Path(x["source"]).stem: x["outcome"]["code"] for x in folder["out"]["results"]}
    out["cli folder"] = by_file["degree"]
    r = c.post("/api/v1/verify", json={"documents": docs, "profession": "hk-dlt-expert"})
    assert r.status_code == 200, r.text
    out["api documents"] = r.json()["outcome"]["code"]
    payloads = [encode_payload(d) for d in docs]
    r = c.post("/api/v1/verify/image", data={"payloads": payloads, "profession": "hk-dlt-expert"})
    assert r.status_code == 200, r.text
    out["page payloads"] = r.json()["outcome"]["code"]
    r = c.post("/credentials/verify", json={"verifiableCredential": env["degree"]})
    out["vc api credential"] = "VALID" if r.json()["verified"] else f"not verified {r.status_code}"
    out["vc api presentation"] = vc_api_presentation(env, docs)[0]
    answered = {
        "degree": env["degree"],
        "employment": env["employment"],
        "training": env["training"],
    }
    out["openid4vp"] = openid4vp_outcome(env, answered)[0]
    return out


def _other(env: dict[str, Any]) -> str:
    r = env["client"].post("/api/v1/verify", json={"documents": [env["other"]]})
    return str(r.json()["outcome"]["code"])


def test_attack_a_status_change_is_read_at_once_on_every_surface(env):  # type: ignore[no-untyped-def]
    uni = env["uni"]
    digest = credential_hash(split_anchor(env["degree"])[0])
    every = (
        "cli file",
        "cli folder",
        "api documents",
        "page payloads",
        "vc api credential",
        "vc api presentation",
        "openid4vp",
    )
    # the CLI and the VC API verify without a profession: VALID is their best
    meets = dict.fromkeys(every, "VALID_MEETS")
    meets.update(dict.fromkeys(("cli file", "cli folder", "vc api credential"), "VALID"))
    meets["vc api presentation"] = "VALID"
    # the VC API answers a credential it refuses with 400
    refused = dict.fromkeys(every, "INVALID")
    refused.update(dict.fromkeys(("vc api credential", "vc api presentation"), "not verified 400"))
    assert _surfaces(env) == meets
    assert _other(env) == "VALID"

    uni.client.suspend_credential(digest)
    got = _surfaces(env)
    assert got == refused, got
    assert _other(env) == "VALID"

    uni.client.reinstate_credential(digest)
    assert _surfaces(env) == meets

    uni.client.revoke_credential(digest)
    got = _surfaces(env)
    assert got == refused, got
    assert _other(env) == "VALID"
