"""The full TalentProof story through the real services, run on Anvil and on Ganache.

`test_story.py` starts one `talentproof run` stack per chain (fixture ``stack``, parametrized
over both) and runs these checks against it: seeding on chain, three credentials issued over
HTTP by the three seeded institutions, anchoring, verification through the verifier service and
through the CLI against the hk-dlt-expert profession, a revocation through the issuer API, and
the verdict changing.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload
from talentproof.demo import demo_subjects
from talentproof.devstack import DEV_INSTITUTIONS
from talentproof.issuer.usecases.institutions import ACCREDITATIONS
from talentproof.ledger.chain import type_id
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment

from .stack import Stack

PROFESSION = "hk-dlt-expert"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait_anchored(stack: Stack, slug: str, cred_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(
            f"{stack.issuer_url}/credentials/{cred_id}/anchor", headers=_auth(stack.api_key(slug))
        )
        assert r.status_code == 200, r.text
        if r.json()["status"] == "anchored":
            return r.json()
        assert time.monotonic() < deadline, f"{cred_id} not anchored: {r.json()}"
        time.sleep(0.25)


def _evaluate(stack: Stack, payloads: list[str]) -> dict[str, Any]:
    r = httpx.post(
        f"{stack.verifier_url}/api/v1/applications/evaluate",
        json={"payloads": payloads, "profession": PROFESSION},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _cli_verify(stack: Stack, images: list[Path]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app,
        [
            "verify",
            *map(str, images),
            "--profession",
            PROFESSION,
            "--json",
            "--rpc",
            stack.rpc_url,
            "--trust",
            str(stack.deployment_file),
        ],
    )
    return result.exit_code, json.loads(result.output)


def check_seeded_on_chain(stack: Stack) -> None:
    """The three institutions are registered on chain, accredited for their types only."""
    seed = stack.seed()
    deployment = Deployment.load(stack.deployment_file)
    client = RegistryClient(stack.rpc_url, deployment)
    assert client.issuer_count() == 3
    now = int(time.time())
    for inst in DEV_INSTITUTIONS:
        record = seed["institutions"][inst.slug]
        info = client.issuer(record["chain_issuer_id"])
        assert info.name == inst.name
        assert info.did == record["did"]
        if inst.did:  # onboarded with its own did:web (OSL: did:web:osl.com)
            assert info.did == inst.did
        else:
            assert info.did.endswith(f":institutions:{inst.slug}")
        for kind in ACCREDITATIONS:  # each kind, and each degree level on its own
            assert client.is_accredited_at(record["chain_issuer_id"], type_id(kind), now) is (
                kind in inst.credential_types
            ), (inst.slug, kind)
    assert client.is_governor(seed["governing_authority"]["account"])


def check_story(stack: Stack, tmp_path: Path) -> None:
    """Issue three credentials over HTTP, anchor, verify (service and CLI), revoke, re-verify."""
    from talentproof.credential.keys import Ed25519SigningKey

    holder = Ed25519SigningKey.generate().public_key.did_key
    issued: dict[str, tuple[str, str]] = {}  # label -> (slug, id)
    labels = {
        "harbour-university": "degree",
        "osl": "employment",
        "hk-blockchain-academy": "training",
    }
    for slug, request in demo_subjects(holder).items():
        r = httpx.post(
            f"{stack.issuer_url}/credentials",
            json=request,
            headers={**_auth(stack.api_key(slug)), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "pending_anchor"
        issued[labels[slug]] = (slug, r.json()["id"])

    payloads: dict[str, str] = {}
    images: list[Path] = []
    for label, (slug, cred_id) in issued.items():
        status = _wait_anchored(stack, slug, cred_id)
        assert status["batch"]["txHash"] and status["batch"]["blockNumber"] > 0
        doc = httpx.get(
            f"{stack.issuer_url}/credentials/{cred_id}", headers=_auth(stack.api_key(slug))
        ).json()
        anchor = [p for p in doc["proof"] if p.get("type") == "TalentProofAnchor"]
        assert anchor and anchor[0]["merkleRoot"] == status["batch"]["merkleRoot"]
        payloads[label] = encode_payload(doc)
        png = httpx.get(
            f"{stack.issuer_url}/credentials/{cred_id}/qr.png", headers=_auth(stack.api_key(slug))
        )
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        images.append(tmp_path / f"{label}.png")
        images[-1].write_bytes(png.content)

    before = _evaluate(stack, list(payloads.values()))
    assert before["verdict"] == "valid", before
    assert before["profession"]["met"] is True
    assert all(c["met"] for c in before["profession"]["criteria"])
    code, cli_before = _cli_verify(stack, images)
    assert code == 0, cli_before
    assert cli_before["verdict"] == "valid" and cli_before["profession"]["met"] is True
    assert cli_before["chain"]["chainId"] == Deployment.load(stack.deployment_file).chain_id

    slug, employment_id = issued["employment"]
    reason = "employment record corrected by the employer"
    r = httpx.post(
        f"{stack.issuer_url}/credentials/{employment_id}/revoke",
        json={"reason": reason},
        headers=_auth(stack.api_key(slug)),
        timeout=60,
    )
    assert r.status_code in (200, 202), r.text  # applied at once, or queued (then polled)
    change = r.json()
    deadline = time.monotonic() + 30
    while change["state"] != "applied" and time.monotonic() < deadline:
        time.sleep(0.2)
        change = httpx.get(
            f"{stack.issuer_url}{change['poll']}", headers=_auth(stack.api_key(slug))
        ).json()
    assert change["state"] == "applied" and change["txHash"], change
    status = httpx.get(
        f"{stack.issuer_url}/credentials/{employment_id}/anchor", headers=_auth(stack.api_key(slug))
    ).json()
    assert status["revoked"] is True and status["revocationReason"] == reason

    after = _evaluate(stack, list(payloads.values()))
    assert after["verdict"] == "invalid"
    assert after["profession"]["met"] is False
    # an application that is not valid meets no profession: no criterion counts the degree or
    # the training either, each names the revoked credential
    criteria = {c["id"]: c["met"] for c in after["profession"]["criteria"]}
    assert criteria == {
        "degree": False,
        "notable-firm-experience": False,
        "blockchain-in-finance": False,
    }
    assert all("failed check 8" in c["reason"] for c in after["profession"]["criteria"])
    verdicts = [c["verdict"] for c in after["credentials"]]
    assert verdicts == ["valid", "invalid", "valid"]
    failed = [c for c in after["credentials"][1]["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["credential_status"] and "revok" in failed[0][
        "message"
    ].lower(), failed

    code, cli_after = _cli_verify(stack, images)
    assert code == 1
    assert cli_after["verdict"] == "invalid" and cli_after["profession"]["met"] is False


def check_demo(stack: Stack, tmp_path: Path) -> None:
    """`talentproof demo` against the stack tells the story and ends as it says."""
    import subprocess
    import sys

    out = tmp_path / "demo-out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "talentproof",
            "demo",
            "--data-dir",
            str(stack.data_dir),
            "--issuer-url",
            stack.issuer_url,
            "--verifier-url",
            stack.verifier_url,
            "--rpc",
            stack.rpc_url,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert "profession MET" in text and "profession NOT met" in text
    assert "NOT met  Experience at notable firms" in text
    assert "why: check 8 (Not revoked or suspended) failed: Revoked by OSL" in text
    assert sorted(p.name for p in out.glob("*.png")) == [
        "degree.png",
        "employment.png",
        "training.png",
    ]
    assert "issued an employment credential" in text
    assert (  # the training centre's doctorate: refused, naming the level it may award
        "refused (403 not_accredited): institution 'hk-blockchain-academy' is accredited to "
        "issue DegreeCredential only at the levels associate, not the level 'doctorate'"
    ) in text
    # the verify command the demo shows runs as shown (after the revocation: invalid, exit 1)
    shown = next(
        line.strip()[2:]
        for line in text.splitlines()
        if line.strip().startswith("$ talentproof verify ")
    )
    assert "--deployment" in shown and "--rpc" in shown  # the test stack is not on the defaults
    again = subprocess.run(
        ["sh", "-c", shown.replace("talentproof ", f"{sys.executable} -m talentproof ", 1)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert again.returncode == 1, again.stdout + again.stderr
    assert "Revoked by OSL" in again.stdout
    # the demo's folder verified whole: its credentials only, the holder key kept apart (it was
    # beside them and the folder said 'holder-key.json ... NOT_VERIFIABLE: a private key')
    assert (out / "holder" / "holder-key.json").is_file()
    assert not (out / "holder-key.json").exists()
    folder = subprocess.run(
        [sys.executable, "-m", "talentproof", "verify", str(out), "--rpc", stack.rpc_url]
        + ["--deployment", str(stack.deployment_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert folder.returncode == 1, folder.stdout + folder.stderr  # the revoked employment
    assert "6 files at block" in folder.stdout, folder.stdout
    assert "4 valid, 2 invalid, 0 not verifiable" in folder.stdout, folder.stdout
    assert "private key" not in folder.stdout, folder.stdout


def check_interrupted_seeding_resumes(stack: Stack, tmp_path: Path) -> None:
    """An institution onboarded whose key never reached dev-keys.json gets a new key, not a
    second onboarding (what an interrupted first `talentproof run` leaves behind)."""
    from talentproof.devstack import seed_institutions

    seed = stack.seed()
    lost = seed["institutions"].pop("osl")
    (tmp_path / "dev-keys.json").write_text(json.dumps(seed))
    token = (stack.data_dir / "issuer-operator-token").read_text().strip()
    resumed, created = seed_institutions(
        stack.issuer_url,
        token,
        tmp_path,
        deployment=json.loads(stack.deployment_file.read_text()),
        governor=seed["governing_authority"]["account"],
    )
    assert created == ["osl"]
    again = resumed["institutions"]["osl"]
    assert again["chain_issuer_id"] == lost["chain_issuer_id"] and again["did"] == lost["did"]
    assert again["api_key"] != lost["api_key"]
    for key in (again["api_key"], lost["api_key"]):  # both keys work
        assert httpx.get(f"{stack.issuer_url}/credentials", headers=_auth(key)).status_code == 200
    assert json.loads((tmp_path / "dev-keys.json").read_text())["institutions"]["osl"] == again
    listed = httpx.get(f"{stack.issuer_url}/operator/institutions", headers=_auth(token)).json()
    assert sorted(i["slug"] for i in listed) == [
        "harbour-university",
        "hk-blockchain-academy",
        "osl",
    ]
