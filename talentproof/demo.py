"""`talentproof demo`: the whole TalentProof story against the running stack (`make run`).

1. An applicant creates a holder key (did:key).
2. Three institutions issue credentials to it through the issuer's HTTP API: a degree (the
   university), an employment record (the fintech employer) and a training badge (the blockchain
   training centre).
3. The issuer anchors them on the ledger; the demo waits until each is anchored.
4. Each credential's QR code is written as a PNG file.
5. A verifier checks the three QR images with `talentproof verify` against the Hong Kong Talent
   List profession "distributed ledger technologies expert" (hk-dlt-expert): eligible, criterion
   by criterion; the verifier service's HTTP API answers the same.
6. The employer revokes the employment credential through the API, with a reason; the same
   verification now fails, and says why.

The API keys come from ``<data>/dev-keys.json``, written by `talentproof run`.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from talentproof import devstack
from talentproof.errors import TalentProofError

PROFESSION = "hk-dlt-expert"


class DemoError(TalentProofError):
    """The demo could not go on (the message says what the stack answered)."""


@dataclass(frozen=True)
class DemoConfig:
    """Where the running stack is."""

    issuer_url: str = f"http://127.0.0.1:{devstack.ISSUER_PORT}"
    verifier_url: str = f"http://127.0.0.1:{devstack.VERIFIER_PORT}"
    rpc_url: str = f"http://127.0.0.1:{devstack.CHAIN_PORT}"
    data_dir: Path = Path("data")
    out_dir: Path | None = None
    anchor_timeout: float = 90.0


@dataclass(frozen=True)
class Issued:
    """One credential issued in the demo."""

    label: str
    slug: str
    credential_id: str
    credential_hash: str
    qr_png: Path
    qr_payload: str


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for tests and for `--json`."""

    holder_did: str
    out_dir: Path
    issued: tuple[Issued, ...]
    cli_before: dict[str, Any]
    service_before: dict[str, Any]
    revoked: Issued
    reason: str
    cli_after: dict[str, Any]
    cli_exit_before: int
    cli_exit_after: int


def _say(text: str = "") -> None:
    typer.echo(text)


def _step(number: int, title: str) -> None:
    _say()
    _say(f"== {number}. {title}")


def _request(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Any:
    import httpx

    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.request(method, url, json=body, headers=all_headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DemoError(
            f"{method} {url}: {exc.__class__.__name__}: {exc}; is the stack running (`make run`)?"
        ) from None
    if response.status_code >= 400:
        raise DemoError(f"{method} {url} answered {response.status_code}: {response.text[:500]}")
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.content


def _refusal(url: str, token: str, body: Any) -> str:
    """What the issuer answers a request it must refuse: ``refused (403 code): message``; a
    request it accepts is a DemoError (the demo's point is that it does not)."""
    import httpx

    try:
        r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except httpx.HTTPError as exc:
        raise DemoError(f"POST {url}: {exc.__class__.__name__}: {exc}") from None
    if r.status_code < 400:
        raise DemoError(
            f"POST {url}: accepted ({r.status_code}) what it must refuse: {r.text[:300]}"
        )
    try:
        answer = r.json()
        return f"refused ({r.status_code} {answer['error']}): {answer['message']}"
    except (ValueError, KeyError, TypeError):
        return f"refused ({r.status_code}): {r.text[:300]}"


def governance_hint(refusal: str, slug: str, inst: dict[str, Any], config: DemoConfig) -> str:
    """What to do when the issuer refuses the demo's credential because of what was done by hand
    to the development stack (README, "By hand, role by role"): the institution suspended or
    removed on the ledger, its signing key revoked. "" for any other refusal."""
    data = config.data_dir
    fresh = (
        "or run the demo on a fresh stack (stop `make run`, then `make run DATA=<another folder>` "
        "and `talentproof demo --data-dir <that folder>`)"
    )
    if "institution_suspended" in refusal and "by this service's operator" in refusal:
        return (
            f"\nthe demo needs its three institutions active: reactivate {slug}'s API access "
            f"with `curl -X POST {config.issuer_url}/operator/institutions/{slug}/status -H "
            f'"Authorization: Bearer $(cat {data}/issuer-operator-token)" -H '
            f"'Content-Type: application/json' -d '{{\"status\":\"active\"}}'`, {fresh}"
        )
    if "institution_suspended" in refusal:
        issuer_id = inst.get("chain_issuer_id", "ISSUER_ID")
        return (
            f"\nthe demo needs its three institutions active: reinstate {slug} with "
            f"`TALENTPROOF_OPERATOR_KEY=$(cat {data}/governor-key) talentproof governance "
            f"reinstate {issuer_id}`, {fresh}"
        )
    if "institution_removed" in refusal:
        return f"\nthe demo needs its three institutions: {slug} was removed on the ledger; {fresh}"
    if "signing key was revoked" in refusal:
        return (
            f"\nthe demo needs a live signing key for {slug}: `curl -X POST "
            f"{config.issuer_url}/operator/institutions/{slug}/signing-keys/rotate -H "
            f'"Authorization: Bearer $(cat {data}/issuer-operator-token)"`, {fresh}'
        )
    return ""


#: The applicant as on their travel document (the HKID number never leaves the applicant: the
#: institutions receive the salted commitment `talentproof holder commit-id` prints).
APPLICANT_NAME, APPLICANT_BIRTH_DATE = "CHAN Tai Man", "1990-04-01"
APPLICANT_ID = ("HKID", "HK", "A123456(7)")


def demo_subjects(
    holder: str, identity_document: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The applicant's three credential requests, by institution slug (``identity_document``:
    the applicant's commitment; default: the examples' sample one)."""
    from talentproof.credential.examples import IDENTITY_DOCUMENT

    person = {
        "name": APPLICANT_NAME,
        "birthDate": APPLICANT_BIRTH_DATE,
        "identityDocument": dict(identity_document or IDENTITY_DOCUMENT),
    }
    return {
        "harbour-university": {
            "type": "DegreeCredential",
            "credentialSubject": {
                "id": holder,
                **person,
                "degree": {
                    "type": "Degree",
                    "level": "master",
                    "fieldOfStudy": "Financial Technology",
                    "institution": {"name": "Harbour University"},
                    "awardDate": "2017-06-30",
                },
            },
        },
        "osl": {
            "type": "EmploymentCredential",
            "credentialSubject": {
                "id": holder,
                **person,
                "employment": {
                    "employer": {
                        "name": "OSL Digital Securities Limited",
                        "registrationId": "HK-CR-0000042",
                    },
                    "role": "Senior blockchain engineer",
                    "seniority": "senior",
                    "startDate": "2018-03-01",
                    "responsibilities": [
                        "Built the settlement system of a digital-asset exchange on a permissioned ledger"
                    ],
                    "domains": ["blockchain in financial services"],
                },
            },
        },
        "hk-blockchain-academy": {
            "type": "OpenBadgeCredential",
            "name": "Blockchain in Financial Services",
            "credentialSubject": {
                "id": holder,
                "type": ["AchievementSubject"],
                **person,
                "achievement": {
                    "id": "https://academy.example.hk/achievements/dlt-fs",
                    "type": ["Achievement"],
                    "name": "Blockchain in Financial Services",
                    "description": "Applying distributed ledgers to payments, settlement and trade finance.",
                    "criteria": {"narrative": "Passed the 40-hour course and its assessment."},
                    "achievementType": "Certificate",
                    "alignment": [
                        {
                            "type": ["Alignment"],
                            "targetName": "Blockchain in financial services",
                            "targetUrl": "https://ecf.example.hk/dlt-fs",
                            "targetFramework": "ECF-Fintech",
                            "targetCode": "DLT-FS",
                        }
                    ],
                },
            },
        },
    }


_LABELS = {
    "harbour-university": "degree",
    "osl": "employment",
    "hk-blockchain-academy": "training",
}


def _verify_cli(config: DemoConfig, images: list[Path]) -> tuple[int, str, dict[str, Any]]:
    """What `talentproof verify IMAGES --profession hk-dlt-expert` does, run in this process.

    Returns the command's exit code, its text report and its ``--json`` report.
    """
    from talentproof.verifier.cli import EXIT_INFRA, EXIT_INVALID, EXIT_VALID
    from talentproof.verifier.engine import Verifier
    from talentproof.verifier.errors import VerifierError
    from talentproof.verifier.inputs import resolve_argument
    from talentproof.verifier.policy import load_policy
    from talentproof.verifier.render import render_application
    from talentproof.verifier.report import Verdict

    try:
        items = [resolve_argument(str(image)) for image in images]
        verifier = Verifier.from_deployment(config.data_dir / "deployment.json", config.rpc_url)
        report = verifier.verify_application(items, policy=load_policy(), profession=PROFESSION)
    except VerifierError as exc:
        raise DemoError(f"talentproof verify: {exc}") from None
    if report.verdict is Verdict.ERROR:
        raise DemoError(
            f"talentproof verify could not read the ledger at {config.rpc_url} (exit {EXIT_INFRA})"
        )
    if report.verdict is Verdict.INVALID or (
        report.profession is not None and not report.profession.met
    ):
        code = EXIT_INVALID
    else:
        code = EXIT_VALID
    return code, render_application(report), report.to_json()


def _shown(path: Path) -> str:
    """A path as the user can type it here: relative to the working folder when inside it."""
    import shlex

    try:
        shown = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = path.resolve()
    return shlex.quote(str(shown))


def verify_command_line(config: DemoConfig, images: list[Path]) -> str:
    """The `talentproof verify` command the demo runs, as the user can copy and run it."""
    words = ["talentproof verify", *(_shown(p) for p in images), f"--profession {PROFESSION}"]
    if config.rpc_url != DemoConfig.rpc_url:
        words.append(f"--rpc {config.rpc_url}")
    if config.data_dir.resolve() != Path("data").resolve():
        words.append(f"--deployment {_shown(config.data_dir / 'deployment.json')}")
    return " ".join(words)


def _criteria_lines(report: dict[str, Any]) -> list[str]:
    profession = report.get("profession") or {}
    lines = []
    for criterion in profession.get("criteria", []):
        mark = "met    " if criterion.get("met") else "NOT met"
        lines.append(f"   {mark}  {criterion.get('title', criterion.get('id'))}")
    return lines


def run_demo(config: DemoConfig) -> DemoResult:
    """Walk through the story against the running stack, printing it; returns what happened."""
    from talentproof.credential.keys import Ed25519SigningKey

    seed = devstack.load_seed(config.data_dir)
    institutions = seed.get("institutions", {})
    missing = [s for s in _LABELS if s not in institutions]
    if missing:
        raise DemoError(
            f"{config.data_dir / devstack.SEED_FILE}: no API keys for {', '.join(missing)}; start "
            "the stack with `make run` (or `talentproof run --data-dir DIR`, then --data-dir DIR here)"
        )
    for name, url in (("issuer", config.issuer_url), ("verifier", config.verifier_url)):
        health = _request("GET", f"{url}/healthz", timeout=10)
        if not isinstance(health, dict) or health.get("status") != "ok":
            raise DemoError(f"the {name} at {url} is not healthy: {health!r}")
    out = config.out_dir or config.data_dir / "demo" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    from talentproof.private import restrict_umask

    restrict_umask()  # credentials (personal data) and the holder key: owner only (issue 12)
    out.mkdir(parents=True, exist_ok=True)

    _say("TalentProof demo: an applicant for Hong Kong's Talent List (distributed ledger expert)")
    _say(f"issuer {config.issuer_url}   verifier {config.verifier_url}   ledger {config.rpc_url}")

    _step(1, "The applicant creates a holder key")
    holder = Ed25519SigningKey.generate()
    holder_did = holder.public_key.did_key
    from talentproof.credential.cli import write_holder_key
    from talentproof.credential.person import commit_identity_document, new_salt

    id_salt = new_salt()
    # in a subfolder of its own: `talentproof verify <out>` reads the folder's own files only, so
    # the applicant's secret does not show up there as an input 'NOT VERIFIABLE' (exit 3)
    (out / "holder").mkdir(exist_ok=True)
    write_holder_key(out / "holder" / "holder-key.json", holder, force=True, id_salt=id_salt)
    doc_type, country, number = APPLICANT_ID
    identity_document = {
        "documentType": doc_type,
        "issuingCountry": country,
        "commitment": commit_identity_document(doc_type, country, number, id_salt),
    }
    _say(f"   holder {holder_did}")
    _say(
        f"   {APPLICANT_NAME}, born {APPLICANT_BIRTH_DATE}: the institutions get a salted "
        f"commitment to the {doc_type} number, never the number (talentproof holder commit-id)"
    )

    _step(2, "Three institutions issue credentials through the issuer API (POST /credentials)")
    pending: list[tuple[str, str, dict[str, Any]]] = []
    for slug, request in demo_subjects(holder_did, identity_document).items():
        inst = institutions[slug]
        try:
            body = _request(
                "POST",
                f"{config.issuer_url}/credentials",
                token=inst["api_key"],
                body=request,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
        except DemoError as exc:
            raise DemoError(f"{exc}{governance_hint(str(exc), slug, inst, config)}") from None
        pending.append((slug, body["id"], body))
        label = _LABELS[slug]
        article = "an" if label[0] in "aeiou" else "a"
        _say(
            f"   {inst['name']} ({inst['role']}) issued {article} {label} credential ({request['type']}): {body['id']} "
            f"[{body['status']}]"
        )

    academy = institutions["hk-blockchain-academy"]
    doctorate = copy.deepcopy(demo_subjects(holder_did, identity_document)["harbour-university"])
    doctorate["credentialSubject"]["degree"].update(
        level="doctorate", institution={"name": academy["name"]}
    )
    refused = _refusal(f"{config.issuer_url}/credentials", academy["api_key"], doctorate)
    _say(
        f"   {academy['name']} (accredited for associate degrees only) asks for a doctorate: "
        f"{refused}"
    )

    _step(3, "The issuer anchors them on the ledger (one Merkle root per batch)")
    anchored: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + config.anchor_timeout
    while len(anchored) < len(pending):
        for slug, cred_id, _ in pending:
            if cred_id in anchored:
                continue
            status = _request(
                "GET",
                f"{config.issuer_url}/credentials/{cred_id}/anchor",
                token=institutions[slug]["api_key"],
            )
            if status["status"] == "anchored":
                anchored[cred_id] = status
                batch = status["batch"]
                _say(
                    f"   {_LABELS[slug]:<10} anchored in block {batch['blockNumber']}: root "
                    f"{batch['merkleRoot'][:18]}..., leaf {batch['leafIndex']} of {batch['treeSize']}"
                )
        if len(anchored) < len(pending):
            if time.monotonic() > deadline:
                raise DemoError(
                    f"credentials not anchored within {config.anchor_timeout:g} s; "
                    "see the issuer's log (data/logs/issuer.log)"
                )
            time.sleep(0.5)

    _step(4, "Each credential becomes a QR code the applicant carries")
    issued: list[Issued] = []
    from talentproof.credential.qr import encode_payload

    for slug, cred_id, _ in pending:
        token = institutions[slug]["api_key"]
        png = _request("GET", f"{config.issuer_url}/credentials/{cred_id}/qr.png", token=token)
        doc = _request("GET", f"{config.issuer_url}/credentials/{cred_id}", token=token)
        path = out / f"{_LABELS[slug]}.png"
        path.write_bytes(png)
        (out / f"{_LABELS[slug]}.json").write_text(
            json.dumps(doc, indent=2) + "\n", encoding="utf-8"
        )
        issued.append(
            Issued(
                _LABELS[slug],
                slug,
                cred_id,
                anchored[cred_id]["credentialHash"],
                path,
                encode_payload(doc),
            )
        )
        _say(f"   {path}")
    _say(
        f"   (QR codes and credential JSON in {out}; the applicant's holder key, a secret, in "
        f"{out / 'holder'})"
    )

    _step(5, f"A verifier checks the three QR codes against the profession {PROFESSION}")
    images = [i.qr_png for i in issued]
    _say("   $ " + verify_command_line(config, images))
    code_before, text_before, json_before = _verify_cli(config, images)
    for line in text_before.rstrip().splitlines():
        _say("   | " + line)
    _say(
        f"   verdict {json_before['verdict']}; profession "
        f"{'MET' if (json_before.get('profession') or {}).get('met') else 'NOT met'}:"
    )
    for line in _criteria_lines(json_before):
        _say(line)
    service = _request(
        "POST",
        f"{config.verifier_url}/api/v1/applications/evaluate",
        body={"payloads": [i.qr_payload for i in issued], "profession": PROFESSION},
    )
    _say(
        f"   the verifier service (POST /api/v1/applications/evaluate) agrees: verdict "
        f"{service['verdict']}, profession {'met' if service['profession']['met'] else 'not met'}"
    )

    _step(6, "The employer revokes the employment credential (POST /credentials/{id}/revoke)")
    employment = next(i for i in issued if i.label == "employment")
    reason = "employment record corrected: the applicant's start date was entered wrongly"
    revoked = _request(
        "POST",
        f"{config.issuer_url}/credentials/{employment.credential_id}/revoke",
        token=institutions[employment.slug]["api_key"],
        body={"reason": reason},
    )
    deadline = time.monotonic() + 60  # 200 when applied at once, else 202: queued, polled
    while revoked.get("state") != "applied" and time.monotonic() < deadline:
        if revoked.get("state") == "failed":
            raise DemoError(f"the revocation failed: {revoked.get('error')}")
        time.sleep(0.2)
        revoked = _request(
            "GET",
            f"{config.issuer_url}{revoked['poll']}",
            token=institutions[employment.slug]["api_key"],
        )
    _say(f"   revoked on chain in transaction {revoked['txHash']}")
    _say(f"   reason recorded by the issuer: {reason}")
    code_after, text_after, json_after = _verify_cli(config, images)
    _say("   $ talentproof verify ... (the same three QR codes, again; what changed:)")
    for line in text_after.rstrip().splitlines():
        if any(mark in line for mark in ("INVALID", "✗", "Talent List", "Result")):
            _say("   | " + line)
    _say(
        f"   verdict {json_after['verdict']}; profession "
        f"{'MET' if (json_after.get('profession') or {}).get('met') else 'NOT met'}:"
    )
    for line in _criteria_lines(json_after):
        _say(line)
    for cred in json_after.get("credentials", []):
        for check in cred.get("checks", []):
            if check.get("status") == "fail":
                _say(
                    f"   why: check {check['number']} ({check['title']}) failed: {check['message']}"
                )
    _say()
    _say(
        "The end: the same QR codes verified before and after; the ledger, not the paper, decided."
    )
    return DemoResult(
        holder_did=holder_did,
        out_dir=out,
        issued=tuple(issued),
        cli_before=json_before,
        service_before=service,
        revoked=employment,
        reason=reason,
        cli_after=json_after,
        cli_exit_before=code_before,
        cli_exit_after=code_after,
    )


def register(app: typer.Typer) -> None:
    """Add `talentproof demo` to the root command."""

    @app.command("demo")
    def demo(
        issuer_url: str = typer.Option(
            f"http://127.0.0.1:{devstack.ISSUER_PORT}",
            "--issuer-url",
            envvar="TALENTPROOF_DEMO_ISSUER_URL",
            help="The issuer service.",
        ),
        verifier_url: str = typer.Option(
            f"http://127.0.0.1:{devstack.VERIFIER_PORT}",
            "--verifier-url",
            envvar="TALENTPROOF_DEMO_VERIFIER_URL",
            help="The verifier service.",
        ),
        rpc: str = typer.Option(
            f"http://127.0.0.1:{devstack.CHAIN_PORT}",
            "--rpc",
            envvar="TALENTPROOF_DEMO_RPC_URL",
            help="JSON-RPC URL of the ledger.",
        ),
        data_dir: Path = typer.Option(
            Path("data"),
            "--data-dir",
            help="The data folder of `talentproof run` (API keys, deployment).",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Folder for the QR codes (default data/demo/<time>)."
        ),
    ) -> None:
        """Walk through the whole story against the running stack (start it with `make run`)."""
        config = DemoConfig(
            issuer_url=issuer_url.rstrip("/"),
            verifier_url=verifier_url.rstrip("/"),
            rpc_url=rpc,
            data_dir=data_dir,
            out_dir=out,
        )
        try:
            result = run_demo(config)
        except (DemoError, devstack.DevStackError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        ok = (
            result.cli_exit_before == 0
            and result.cli_exit_after == 1
            and result.service_before["verdict"] == "valid"
        )
        raise typer.Exit(0 if ok else 1)
