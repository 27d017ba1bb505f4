"""`talentproof verify`, `talentproof receipt ...` and `talentproof verifier ...` commands.

Exit codes of ``verify`` (one application; the result line says the same, see
``report.Outcome``):

==  =================  ==========================================================================
0   VALID_MEETS/VALID  every credential valid (and the profession met, when one was asked)
1   INVALID            a check failed: the result line names the first failing check
2   usage              the command line or an input file is wrong (nothing was verified)
3   NOT_VERIFIABLE     an input could not be read (unreadable image, no QR code) or the ledger
                       could not be read: nothing is confirmed either way
4   VALID_NOT_MET      every credential valid, but the profession is not met
==  =================  ==========================================================================
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_NOT_VERIFIABLE = EXIT_INFRA
EXIT_NOT_MET = 4
EXIT_UNTRUSTED_SIGNER = 5  # `receipt check`: the receipt re-checks, but no trusted key was named

DEFAULT_RPC = "http://127.0.0.1:8545"
DEFAULT_DEPLOYMENT = "data/deployment.json"


def _fail(message: str, code: int) -> typer.Exit:
    from talentproof.credential.text import printable

    typer.echo(f"error: {printable(message)}", err=True)
    return typer.Exit(code)


def _is_dir(arg: str) -> bool:
    try:
        return Path(arg).is_dir()
    except OSError:  # not a usable path (e.g. a long QR payload)
        return False


_PAYLOAD_PREFIX = re.compile(r"^TP[0-9]+:")


#: The wallet protocols' links a user may paste here (fresh-clone walk-through: an offer's URI
#: was refused as 'no such file or folder'): what each is and which command takes it.
_WALLET_URIS = {
    "openid-credential-offer://": (
        "an institution's credential offer, for the applicant's wallet (`talentproof wallet "
        "accept URI --tx-code CODE`), not a credential: verify what the wallet received "
        "(`talentproof wallet qr N -o FILE.png`, then `talentproof verify FILE.png`)"
    ),
    "openid4vp://": (
        "a verifier's request, for the applicant's wallet (`talentproof wallet present URI`), "
        "not a credential: the verdict of its answer is on the verifier's page "
        "(GET /oid4vp/requests/{id})"
    ),
}


def check_argument(arg: str) -> None:
    """Refuse, as a usage error, an argument that is no input at all.

    A path that does not exist ("no such file or folder", when the argument clearly names a
    file: a file suffix such as ``.json``/``.png``, or a path separator in something that does
    not read as a QR payload, see ``inputs.names_a_file``) and a ``.png``/``.jpg``/``.jpeg``
    file whose bytes are not an image are the operator's mistakes (a typo, a broken download),
    not credentials that fail: they raise `InputError` (exit 2) instead of an INVALID report.
    Anything else is left to the engine: a text that is no TalentProof payload (``TP1;...``,
    ``tp1:...``, ``TP2:...``, a payload whose Base45 holds ``/``) is INVALID, "not a
    TalentProof payload" (exit 1), an unreadable credential NOT_VERIFIABLE (check 1 failing).
    """
    from talentproof.verifier.errors import InputError
    from talentproof.verifier.inputs import PICTURE_SUFFIXES, is_image, names_a_file

    if _PAYLOAD_PREFIX.match(arg):
        return
    for scheme, what in _WALLET_URIS.items():
        if arg.startswith(scheme):
            raise InputError(f"{arg[:48]}...: {what}")
    path = Path(arg)
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError:  # not a usable path (e.g. a long text)
        return
    if not exists:
        if names_a_file(arg):
            raise InputError(
                f"{arg}: no such file or folder (expected a QR image (PNG/JPEG), a credential or "
                "presentation JSON file, a folder of them, or a QR text payload (TP1:...))"
            )
        return
    if is_file and path.suffix.lower() in PICTURE_SUFFIXES:
        try:
            with open(path, "rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise InputError(f"{arg}: cannot be read ({exc.strerror})") from None
        if not is_image(head):
            raise InputError(
                f"{arg}: not a PNG or JPEG image (its bytes are neither); expected a QR code "
                "image: scan or export it again"
            )


def _trust_hint(trust: str) -> str:
    """What to do when the default deployment record is not where the command looks."""
    if trust == DEFAULT_DEPLOYMENT and not Path(trust).exists():
        return (
            f" (looked in {Path(trust).resolve()}: run in the folder where `make run` keeps data/, "
            "or pass --deployment FILE or --registry 0x..., or set TALENTPROOF_DEPLOYMENT)"
        )
    return ""


def parse_as_of(value: str | None) -> datetime | date | None:
    """``YYYY-MM-DD`` -> that date (today's means now: ``checks.today_means_now``); an ISO
    date-time with its UTC offset -> aware datetime. A date-time without one is refused: read
    as UTC, a Hong Kong officer's 09:30 judged revocation eight hours late."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--as-of: expected a date YYYY-MM-DD or an ISO date-time, found {value!r}"
        ) from None
    if dt.tzinfo is None:
        raise ValueError(
            f"--as-of: a date-time needs its UTC offset, e.g. {dt.isoformat(timespec='minutes')}"
            f"+08:00 (Hong Kong) or {dt.isoformat(timespec='minutes')}Z (UTC); found {value!r}"
        )
    try:  # the checks judge and print it in UTC: years 1 to 9999 there too
        dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(
            f"--as-of: expected a date-time between years 1 and 9999 in UTC, found {value!r}"
        ) from None
    return dt


def exit_code_of(outcome: Any) -> int:
    """The exit code of an outcome (``report.Outcome``)."""
    from talentproof.verifier.report import Outcome

    return {
        Outcome.VALID_MEETS: EXIT_VALID,
        Outcome.VALID: EXIT_VALID,
        Outcome.VALID_NOT_MET: EXIT_NOT_MET,
        Outcome.INVALID: EXIT_INVALID,
        Outcome.NOT_VERIFIABLE: EXIT_NOT_VERIFIABLE,
    }[outcome]


def parse_application_date(value: str | None) -> date | None:
    """``--application-date YYYY-MM-DD``."""
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--application-date: expected a date YYYY-MM-DD, found {value!r}"
        ) from None


def verify_command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="QR images (PNG/JPEG), credential or presentation JSON files, QR text payloads "
            "(one application), or a single folder (verified in bulk).",
            show_default=False,
        ),
    ],
    rpc: Annotated[
        str,
        typer.Option(
            "--rpc",
            envvar="TALENTPROOF_RPC_URL",
            help="JSON-RPC URL of a node of the ledger, or several nodes' separated by commas "
            "(reads fail over between them).",
        ),
    ] = DEFAULT_RPC,
    trust: Annotated[
        str,
        typer.Option(
            "--trust",
            "--deployment",
            "--registry",
            envvar="TALENTPROOF_DEPLOYMENT",
            help="The deployment record (JSON) or registry address to trust.",
        ),
    ] = DEFAULT_DEPLOYMENT,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy", help="Talent-list policy file (YAML/JSON); default: the shipped one."
        ),
    ] = None,
    profession: Annotated[
        str | None,
        typer.Option("--profession", help="Evaluate the application against this profession id."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Judge anchoring, validity and revocation as of this time: YYYY-MM-DD (00:00 UTC "
            "that day; today's date, UTC or this machine's, means now) or an ISO date-time with its offset "
            "(2026-11-01T09:30+08:00); "
            "default now.",
        ),
    ] = None,
    application_date: Annotated[
        str | None,
        typer.Option(
            "--application-date",
            help="Judge the facts (degree awarded, employment held, training completed) as of this date "
            "(YYYY-MM-DD; default the --as-of date).",
        ),
    ] = None,
    id_number: Annotated[
        str | None,
        typer.Option(
            "--id-number",
            help="The number of the travel document shown, compared with the credentials' commitment.",
        ),
    ] = None,
    id_salt: Annotated[
        str | None,
        typer.Option(
            "--id-salt",
            help="The holder's identity-document salt, when the input is not a presentation carrying it.",
        ),
    ] = None,
    challenge: Annotated[
        str | None,
        typer.Option("--challenge", help="Require a presentation bound to this challenge."),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="This verifier's domain, required in bound presentations (default: talentproof-verifier).",
        ),
    ] = None,
    min_confirmations: Annotated[
        int,
        typer.Option(
            "--min-confirmations",
            min=1,
            help="Blocks an anchor must have, its own included, at the block read (check 5).",
        ),
    ] = 1,
    max_head_age: Annotated[
        float,
        typer.Option(
            "--max-head-age",
            min=0,
            help="Seconds the chain head's block time may lie behind this clock; an older head "
            "(a stale or cut-off node, which would miss later revocations) makes the chain "
            "checks NOT VERIFIABLE, and with several --rpc URLs the next one is read. "
            "0: any age (a dev chain that mines only on transactions). "
            "Env: TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S.",
            envvar="TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S",
        ),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    receipt: Annotated[
        Path | None,
        typer.Option("--receipt", help="Write a signed verification receipt to this file."),
    ] = None,
    receipt_key: Annotated[
        Path | None,
        typer.Option(
            "--receipt-key", help="The verifier's key file (talentproof verifier keygen)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for a folder.")] = 2,
) -> None:
    """Verify credentials against the ledger, and optionally a talent-list profession.

    Exit 0: valid (the profession met, when one is asked). Exit 4: valid, the
    profession not met. Exit 1: invalid. Exit 3: not verifiable (an input that
    could not be read, the chain unreachable). Exit 2: usage (a bad option, a
    missing file, more than 16 credentials). A folder: 1 if any file is invalid,
    else 3 if any is not verifiable, else 0.
    """
    from talentproof.verifier.errors import TrustConfigError, VerifierError
    from talentproof.verifier.policy import load_policy

    try:
        # what instant that is (today's date means now) is the engine's one call,
        # checks.as_of_instant, on the folder path and the single one alike
        as_of_value = parse_as_of(as_of)
        app_date = parse_application_date(application_date)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if id_salt is not None and id_number is None:
        raise _fail("--id-salt goes with --id-number (the travel document's number)", EXIT_USAGE)
    if (receipt is None) != (receipt_key is None):
        raise _fail("--receipt and --receipt-key go together", EXIT_USAGE)
    try:
        pol = load_policy(policy) if (profession or policy) else None
        if pol is not None and profession is not None:
            pol.profession(profession)
        if len(inputs) == 1 and _is_dir(inputs[0]):
            if receipt is not None:
                raise _fail("receipts are written for one application, not a folder", EXIT_USAGE)
            per_application = [
                name
                for name, value in (
                    ("--profession", profession),
                    ("--policy", policy),
                    ("--challenge", challenge),
                    ("--domain", domain),
                    ("--application-date", application_date),
                    ("--id-number", id_number),
                    ("--id-salt", id_salt),
                )
                if value is not None
            ]
            if per_application:
                raise _fail(
                    f"{', '.join(per_application)}: a folder is verified credential by credential, "
                    "not as one application; give the application's files (or QR payloads) "
                    "instead of the folder",
                    EXIT_USAGE,
                )
            from talentproof.verifier.bulk import verify_folder

            code = verify_folder(
                Path(inputs[0]),
                rpc=rpc,
                trust=trust,
                as_of=as_of_value,
                as_json=as_json,
                min_confirmations=min_confirmations,
                workers=workers,
                max_head_age=max_head_age,
            )
            raise typer.Exit(code)
        from talentproof.verifier.inputs import resolve_argument

        for arg in inputs:
            check_argument(arg)
        items = [resolve_argument(a) for a in inputs]
        from talentproof.verifier.engine import Verifier
        from talentproof.verifier.requirements import Domain, MinConfirmations, Requirement

        own: list[Requirement] = [
            MinConfirmations(min_confirmations),
            *([Domain(domain)] if domain else []),
        ]
        verifier = Verifier.from_deployment(trust, rpc, *own, max_head_age=max_head_age)
        report = verifier.verify_application(
            items,
            as_of=as_of_value,
            challenge=challenge,
            policy=pol,
            profession=profession,
            application_date=app_date,
            id_number=id_number,
            id_salt=id_salt,
            surface="cli",
        )
        if receipt is not None and receipt_key is not None:
            from talentproof.verifier.receipt import load_key, sign_receipt

            signed = sign_receipt(report, load_key(receipt_key), trust=verifier.trust, rpc_hint=rpc)
            from talentproof.private import open_private

            with open_private(receipt, "w") as out:  # personal data: owner only (issue 12)
                out.write(json.dumps(signed, indent=2, ensure_ascii=False) + "\n")
    except TrustConfigError as exc:
        raise _fail(f"{exc}{_trust_hint(trust)}", EXIT_USAGE) from None
    except VerifierError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        from talentproof.verifier.render import render_application

        typer.echo(render_application(report))
        if receipt is not None:
            typer.echo(f"Receipt written to {receipt}")
    code = exit_code_of(report.outcome.outcome)
    chain_down = any(c.status.value == "error" for r in report.credentials for c in r.checks)
    if chain_down and code == EXIT_NOT_VERIFIABLE:
        typer.echo(
            f"error: the ledger at {rpc} could not be read, so nothing was confirmed; check that the "
            "node is running and --rpc (or TALENTPROOF_RPC_URL) names it",
            err=True,
        )
    raise typer.Exit(code)


receipt_app = typer.Typer(help="Signed verification receipts.", no_args_is_help=True)


@receipt_app.command("check")
def receipt_check(
    receipt: Annotated[Path, typer.Argument(help="The receipt JSON file.")],
    rpc: Annotated[
        str,
        typer.Option(
            "--rpc",
            envvar="TALENTPROOF_RPC_URL",
            help="JSON-RPC URL of a node (archive state needed for old blocks).",
        ),
    ] = DEFAULT_RPC,
    verifier_key: Annotated[
        str | None,
        typer.Option(
            "--verifier-key",
            envvar="TALENTPROOF_TRUSTED_VERIFIER_KEY",
            help="Your verifier's public key (z6Mk… or did:key; `talentproof verifier keygen` "
            "prints it): the receipt must be signed by it. Without it any key's receipt is "
            "re-checked but reported as signed by an UNTRUSTED key (exit 5).",
        ),
    ] = None,
    trust: Annotated[
        str | None,
        typer.Option(
            "--trust",
            "--deployment",
            "--registry",
            envvar="TALENTPROOF_DEPLOYMENT",
            help="The deployment record (JSON) or registry address you trust, as `talentproof "
            "verify` takes it: the receipt must have been verified against it (its registry, "
            "and its chain id when a record names one), else exit 1. Without it the deployment "
            "the receipt records is re-read, and the output says so.",
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="The talent-list policy file the verifier used (default: the shipped one); "
            "the receipt's profession is evaluated again with it.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-check a receipt: its signature, the same reads at the same block, then
    its verdict, outcome and profession evaluated again from what was re-read.

    The chain is re-read through the registry the receipt records; --deployment
    (or --registry, TALENTPROOF_DEPLOYMENT) pins it to yours.

    Exit 0: re-checked and signed by the --verifier-key named. Exit 5: it
    re-checks, but it is signed by a key nobody named as trusted (anyone can sign
    a receipt with a key of their own). Exit 1: it does not re-check (altered,
    another signer than --verifier-key, verified against another deployment than
    --deployment, a check or the recorded verdict, outcome or profession result
    differs). Exit 3: the chain could not be read. Exit 2: not a receipt, or bad
    options.
    """
    from talentproof.ledger.errors import LedgerError
    from talentproof.verifier.engine import parse_json
    from talentproof.verifier.errors import InputError, PolicyError, ReceiptError, VerifierError
    from talentproof.verifier.policy import load_policy
    from talentproof.verifier.receipt import recheck_receipt

    try:  # read as the verifier reads its inputs: a key given twice is refused, named
        raw = receipt.read_bytes()
        data = parse_json(raw, what=str(receipt), limit=len(raw))
    except OSError as exc:
        raise _fail(f"{receipt}: expected a receipt JSON file ({exc})", EXIT_USAGE) from None
    except InputError as exc:
        raise _fail(
            f"{exc}: expected a receipt JSON file (written by `talentproof verify --receipt`; "
            "each key given once)",
            EXIT_USAGE,
        ) from None
    from talentproof.verifier.receipt import RECEIPT_TYPE

    if not isinstance(data, dict) or data.get("type") != RECEIPT_TYPE:
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise _fail(
            f"{receipt}: expected a receipt (type {RECEIPT_TYPE}, written by `talentproof verify "
            f"--receipt`), found {found!r}",
            EXIT_USAGE,
        ) from None
    try:
        pol = load_policy(policy) if policy is not None else None
    except PolicyError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    pinned = None
    if trust is not None:
        from talentproof.verifier.trust import TrustedDeployment

        try:
            pinned = TrustedDeployment.parse(trust)
        except VerifierError as exc:
            raise _fail(
                f"--deployment/--registry (TALENTPROOF_DEPLOYMENT): {exc}", EXIT_USAGE
            ) from None
    try:
        result = recheck_receipt(
            data, rpc=rpc, expected_signer=verifier_key, trusted_deployment=pinned, policy=pol
        )
    except LedgerError as exc:
        raise _fail(f"the ledger could not be read: {exc}", EXIT_INFRA) from None
    except ReceiptError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        else:
            typer.echo(f"✗ receipt does not re-check: {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    except VerifierError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    what = (
        f"{result['credentials']} credential(s), outcome {result['outcome']}"
        + (f" ({result['profession']})" if result["profession"] else "")
        + f", verdict {result['verdict']} as of {result['asOf']} (block {result['blockNumber']} "
        f"{result['blockHash']}, sealed {_utc_text(result['blockTimestamp'])})"
    )
    # a receipt's verdict is its time's: a credential revoked since still re-checks
    when = (
        "The verdict is the one of that time, not their status now: verify the credentials "
        "for that."
    )
    dep = result["deployment"]
    where = f"registry {dep['registry']} on chain {dep['chainId']}"
    deployment_line = (
        f"Deployment: {where}, the one you trust."
        if dep["pinned"]
        else f"Deployment re-read: {where}, as the receipt recorded it (not pinned: pass "
        "--deployment FILE or --registry 0x... to require yours)."
    )
    if as_json:
        typer.echo(json.dumps({"ok": True, **result}, indent=2))
    elif result["trusted"]:
        typer.echo(f"✓ receipt re-checked: signed by your verifier key {result['signer']}, {what}")
    else:
        typer.echo(
            f"! receipt re-checks, but it is signed by an UNTRUSTED key {result['signer']}: "
            "anyone can sign a receipt with a key of their own (pass --verifier-key with your "
            f"verifier's key to require it). Re-read: {what}"
        )
    if not as_json:
        typer.echo(when)
        typer.echo(_receipt_person_line(result.get("person")))
        typer.echo(deployment_line)
    if not result["trusted"]:
        raise typer.Exit(EXIT_UNTRUSTED_SIGNER)


def _utc_text(seconds: int) -> str:
    """A block's time as the reports write times (``2026-12-07T10:00:00Z``)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _receipt_person_line(person: Any) -> str:
    """Whom a re-checked receipt is about: what the auditor compares with the person presenting
    it (a genuine receipt of someone else's application is still genuine)."""
    from talentproof.credential.text import printable
    from talentproof.verifier.receipt import TravelDocument

    if not person:
        return "Applicant: the credentials name no person."
    doc = " ".join(str(x) for x in (person.get("documentType"), person.get("issuingCountry")) if x)
    compared = person.get("travelDocument")
    if compared == TravelDocument.NOT_COMPARED:
        travel = "the travel document was not compared when it was verified"
    else:
        travel = (
            f"the travel document ({doc or 'its kind not named'}) {compared} when it was verified"
        )
    return printable(
        f"Applicant: {person.get('name')}, born {person.get('birthDate')}, as the credentials "
        f"name them; {travel}. Compare them with the person presenting this receipt."
    )


verifier_app = typer.Typer(help="The verifier service and its key.", no_args_is_help=True)


@verifier_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8001,
    rpc: Annotated[
        str,
        typer.Option(
            "--rpc",
            envvar=["TALENTPROOF_VERIFIER_RPC_URL", "TALENTPROOF_RPC_URL"],
            help="JSON-RPC URL of a node of the ledger, or several nodes' separated by commas "
            "(reads fail over between them).",
        ),
    ] = DEFAULT_RPC,
    trust: Annotated[
        str, typer.Option("--trust", "--deployment", "--registry", envvar="TALENTPROOF_DEPLOYMENT")
    ] = DEFAULT_DEPLOYMENT,
    receipt_key: Annotated[
        Path | None,
        typer.Option(
            "--receipt-key",
            envvar="TALENTPROOF_VERIFIER_KEY",
            help="Sign receipts with this key (default under TALENTPROOF_DATA_DIR: created on first run).",
        ),
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", envvar="TALENTPROOF_VERIFIER_DOMAIN")
    ] = None,
) -> None:
    """Run the verifier service and its web page (default http://127.0.0.1:8001/)."""
    import os

    import uvicorn

    from talentproof.ledger.endpoints import parse_rpc_urls
    from talentproof.private import private_dir, restrict_umask
    from talentproof.verifier.errors import VerifierError
    from talentproof.verifier.service import create_app
    from talentproof.verifier.settings import ServiceSettings
    from talentproof.verifier.vc_api_tokens import access_line

    try:
        parse_rpc_urls(rpc, name="--rpc, TALENTPROOF_VERIFIER_RPC_URL or TALENTPROOF_RPC_URL")
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    restrict_umask()  # the receipt key and anything else written is 0600 (issue 12)
    data_dir = os.environ.get("TALENTPROOF_DATA_DIR")
    if data_dir:
        private_dir(Path(data_dir))
    if receipt_key is None and data_dir:
        receipt_key = Path(data_dir) / "verifier-key.json"
        if not receipt_key.exists():
            from talentproof.verifier.receipt import generate_key_file

            generate_key_file(receipt_key)
    try:
        settings = ServiceSettings(rpc_url=rpc, trust=trust, receipt_key=receipt_key, domain=domain)
        app = create_app(settings)
    except VerifierError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    # how the VC API is reached (TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE); the page and /api/v1
    # are public either way
    typer.echo(
        "VC API (POST /credentials/verify, /presentations/verify): "
        + access_line(settings.vc_api_tokens)
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


@verifier_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the verifier's key file.")],
) -> None:
    """Create the verifier's Ed25519 receipt-signing key."""
    from talentproof.verifier.receipt import generate_key_file

    if out.exists():
        raise _fail(f"{out} exists; refusing to overwrite a key", EXIT_USAGE)
    key_id = generate_key_file(out)
    typer.echo(f"verifier key {key_id} written to {out}")


@verifier_app.command("token")
def token(
    name: Annotated[
        str | None,
        typer.Option("--name", help="Who the token is for (one word), kept beside its hash."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Append the token's line to this tokens file (created private if absent).",
        ),
    ] = None,
) -> None:
    """Mint a token for the verifier's W3C VC API: prints the token once, and the line (its
    SHA-256 hash) the file named by TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE keeps."""
    from talentproof.private import open_private
    from talentproof.verifier.settings import VC_API_TOKENS_VARIABLE
    from talentproof.verifier.vc_api_tokens import new_token, token_line

    minted = new_token()
    try:
        line = token_line(minted, name)
    except ValueError as exc:
        raise _fail(f"--name: {exc}", EXIT_USAGE) from None
    if file is not None:
        try:
            # a last line without its newline is not joined with this one
            ends_open = file.is_file() and file.read_bytes()[-1:] not in (b"", b"\n")
            with open_private(file, "a") as handle:
                handle.write(("\n" if ends_open else "") + line + "\n")
        except OSError as exc:
            raise _fail(f"--file: cannot write {file}: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"token  {minted}")
    typer.echo("       (shown once: give it to the VC API's client; only its hash is kept)")
    if file is not None:
        typer.echo(f"added  {line}")
        typer.echo(f"       to {file}; restart the verifier with {VC_API_TOKENS_VARIABLE}={file}")
    else:
        typer.echo(f"line   {line}")
        typer.echo(f"       add it to the file {VC_API_TOKENS_VARIABLE} names, then restart")


def register(app: typer.Typer) -> None:
    """Add the verifier's commands to the root CLI."""
    app.command("verify")(verify_command)
    app.add_typer(receipt_app, name="receipt")
    app.add_typer(verifier_app, name="verifier")


if __name__ == "__main__":  # pragma: no cover
    _app = typer.Typer()
    register(_app)
    sys.exit(_app())
