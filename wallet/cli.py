"""``talentproof wallet``: the applicant's wallet on the command line (docs/openid4vc.md, Wallet).

``init`` (key and salt; or an existing ``talentproof keygen`` key file), ``commit-id`` (the
identity-document commitment for an institution), ``accept`` (an OpenID4VCI offer: URI or QR
image, with the transaction code; ``--resume`` finishes deferred transactions), ``refresh``
(one more try at each deferred transaction), ``list`` (what each credential says and whether it
is still valid), ``present`` (an OpenID4VP request: URI or QR image; shows what will be shared,
sends on ``--yes`` or a typed "y") and ``qr`` (the offline single-credential QR code).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import httpx
import typer

from talentproof.credential.text import printable
from talentproof.errors import TalentProofError, exit_code

from .errors import BadUri, ForeignCredential, IssuerRefused, WalletError
from .store import DEFAULT_WALLET_DIR, Wallet
from .uris import http_url

if TYPE_CHECKING:
    from .inspect import Candidate, Validity

__all__ = ["register"]

WalletDir = Annotated[
    Path,
    typer.Option(
        "--wallet-dir",
        envvar="TALENTPROOF_WALLET_DIR",
        help="the wallet folder (created 0700 by `wallet init`)",
    ),
]
_HTTP_TIMEOUT = 30.0


def _say(text: str, err: bool = False) -> None:
    """Print a line whose text others may have written (a verifier's query ids, an issuer's
    names, a credential's claims, a refusal's reason): its control, format and separator
    characters shown escaped (`credential.text.printable`), so that none can move the cursor,
    erase or hide a line (the warning of where the answers go, the "Send?" prompt) or start
    a line of its own."""
    typer.echo(printable(text), err=err)


def _fail(message: str, code: int = 1, hint: str | None = None) -> NoReturn:
    _say(f"error: {message}", err=True)
    if hint:
        _say(hint, err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """A refusal or a wallet error is one line (and its hint), with its exit code."""
    try:
        yield
    except TalentProofError as exc:
        _fail(str(exc) or type(exc).__name__, exit_code(exc), exc.hint)


def _http() -> httpx.Client:
    return httpx.Client(timeout=_HTTP_TIMEOUT, follow_redirects=False)


def _read_uri(uri: str | None, image: Path | None, scheme: str, what: str) -> str:
    from .scan import decode_uri  # zxing-cpp and Pillow: only when an image is given

    if (uri is None) == (image is None):
        raise BadUri(f"expected {what}: a {scheme}:// URI or --image QR.png (one of them)")
    if image is not None:
        try:
            data = image.read_bytes()
        except OSError as exc:
            raise BadUri(f"cannot read {image}: {exc.strerror or exc}") from exc
        return decode_uri(data, scheme)
    assert uri is not None
    return uri


def _store(wallet: Wallet, credentials: list[dict[str, Any]]) -> None:
    from .inspect import describe, issuer_of, kind_of

    for cred in credentials:
        stored = wallet.add_credential(cred)
        _say(f"received {stored.name}: {kind_of(cred)}: {describe(cred)}; issuer {issuer_of(cred)}")


def _pending_note(wallet: Wallet, transaction: dict[str, Any]) -> None:
    path = wallet.add_pending(transaction)
    _say(
        f"pending: {transaction.get('issuer_name') or transaction['credential_issuer']} signed "
        f"the credential, which is waiting for its anchor on the chain; kept as {path.name}. "
        f"Run `talentproof wallet refresh` (or `wallet accept --resume`) later to receive it."
    )


def _finish_pending(wallet: Wallet, wait: float) -> int:
    """Try each kept transaction (waiting up to ``wait`` s each); how many are still pending."""
    from .oid4vci import IssuanceClient

    left = 0
    with _http() as client:
        issuance = IssuanceClient(wallet.key(), client)
        for path, transaction in list(wallet.pending()):
            try:
                outcome = issuance.finish(transaction, timeout=wait)
            except (IssuerRefused, ForeignCredential) as exc:
                wallet.drop_pending(path)
                _say(f"dropped {path.name}: {exc}; ask the institution for a new offer", err=True)
                continue
            if outcome.credentials:
                _store(wallet, outcome.credentials)
                wallet.drop_pending(path)
            else:
                left += 1
    return left


def register(app: typer.Typer) -> None:
    """Add ``talentproof wallet`` to the root app."""
    wallet_app = typer.Typer(
        help="The applicant's wallet: receive credentials (OpenID4VCI) and present them "
        "(OpenID4VP).",
        no_args_is_help=True,
    )

    @wallet_app.command("init")
    def init(
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
        import_key: Annotated[
            Path | None,
            typer.Option(
                "--import-key",
                help="an existing `talentproof keygen` key file: keep that key and salt",
            ),
        ] = None,
    ) -> None:
        """Create the wallet: a holder key (did:key) and an identity-document salt."""
        with _errors():
            wallet = Wallet.init(wallet_dir, import_key=import_key)
            _say(f"wallet {wallet.root}: {wallet.did()}")

    @wallet_app.command("commit-id")
    def commit_id(
        document_type: Annotated[
            str, typer.Option("--type", help="identity document: HKID, Passport, ...")
        ],
        country: Annotated[
            str, typer.Option("--country", help="issuing country, ISO 3166-1 alpha-2 (HK, ...)")
        ],
        number: Annotated[
            str, typer.Option("--number", help="the document's number (never leaves you)")
        ],
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
    ) -> None:
        """Print the identityDocument object to give an institution (the number stays here)."""
        from talentproof.credential.person import commit_identity_document

        with _errors():
            salt = Wallet(wallet_dir).salt()
            try:
                commitment = commit_identity_document(document_type, country, number, salt)
            except ValueError as exc:
                _fail(str(exc), 2)
        _say(
            json.dumps(
                {"documentType": document_type, "issuingCountry": country, "commitment": commitment}
            )
        )

    @wallet_app.command("accept")
    def accept(
        uri: Annotated[
            str | None, typer.Argument(help="the openid-credential-offer:// URI")
        ] = None,
        image: Annotated[
            Path | None, typer.Option("--image", help="a picture of the offer's QR code")
        ] = None,
        tx_code: Annotated[
            str | None,
            typer.Option("--tx-code", help="the transaction code the institution sent you"),
        ] = None,
        issuer: Annotated[
            str | None,
            typer.Option(
                "--issuer",
                help="the institution's credential issuer address, as it gave it with the "
                "transaction code (kept: a code goes to no issuer you have not named)",
            ),
        ] = None,
        wait: Annotated[
            float,
            typer.Option("--wait", help="seconds to wait for the anchored credential"),
        ] = 120.0,
        resume: Annotated[
            bool,
            typer.Option("--resume", help="finish the transactions kept by an earlier accept"),
        ] = False,
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
    ) -> None:
        """Accept a credential offer: redeem it, prove the key, wait for the anchored form."""
        from .oid4vci import OFFER_SCHEME, IssuanceClient, parse_offer_uri

        with _errors():
            wallet = Wallet(wallet_dir)
            if resume:
                if uri is not None or image is not None:
                    raise BadUri("--resume takes no offer: it finishes the kept transactions")
                kept = len(list(wallet.pending()))
                left = _finish_pending(wallet, wait)
                if left:
                    _say(f"{left} credential(s) still pending: try again later")
                elif not kept:
                    _say("nothing to resume: no credential is pending (`talentproof wallet list`)")
                return
            text = _read_uri(uri, image, OFFER_SCHEME, "the credential offer")
            reference = parse_offer_uri(text)
            trusted = wallet.trusted_issuers()
            named = http_url(issuer, "--issuer").rstrip("/") if issuer is not None else None
            with _http() as client:
                outcome = IssuanceClient(wallet.key(), client).accept(
                    reference,
                    tx_code,
                    timeout=wait,
                    trusted=[*trusted, *([named] if named else [])],
                    progress=_say,
                )
            if named is not None:
                wallet.trust_issuer(named)
            _store(wallet, outcome.credentials)
            if outcome.pending is not None:
                _pending_note(wallet, outcome.pending)

    @wallet_app.command("refresh")
    def refresh(wallet_dir: WalletDir = DEFAULT_WALLET_DIR) -> None:
        """Try once more to receive the credentials still waiting for their anchor."""
        with _errors():
            wallet = Wallet(wallet_dir)
            kept = len(list(wallet.pending()))
            left = _finish_pending(wallet, 0.0)
            _say(f"{kept - left} received, {left} still pending")

    @wallet_app.command("list")
    def list_credentials(
        offline: Annotated[
            bool, typer.Option("--offline", help="do not ask the issuers for the status lists")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
    ) -> None:
        """List the credentials: what each says, its issuer and whether it is still valid."""
        from .inspect import (
            STATUS_UNCONFIRMED_NOTE,
            UNCONFIRMED_NOTE,
            check,
            describe,
            issuer_of,
            kind_of,
        )

        with _errors():
            wallet = Wallet(wallet_dir)
            now = datetime.now(UTC)
            rows: list[dict[str, Any]] = []
            with _http() as client:
                for stored in wallet.credentials():
                    cred = stored.document
                    v = check(cred, now, None if offline else client)
                    rows.append(
                        {
                            "name": stored.name,
                            "id": cred.get("id"),
                            "kind": kind_of(cred),
                            "says": describe(cred),
                            "issuer": issuer_of(cred),
                            "validity": v.summary,
                            "signature": v.signature,
                            "issuerKey": v.issuer_key,
                            "anchor": v.anchor,
                            "validUntil": cred.get("validUntil"),
                            "dates": v.dates,
                            "status": v.status,
                        }
                    )
            pending = [t for _, t in wallet.pending()]
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "credentials": rows,
                        "pending": pending
                        and [
                            {
                                k: t.get(k)
                                for k in (
                                    "credential_issuer",
                                    "issuer_name",
                                    "credential_configuration_id",
                                    "accepted_at",
                                )
                            }
                            for t in pending
                        ],
                    },
                    indent=2,
                )
            )
            return
        if not rows and not pending:
            _say(f"no credentials in {wallet.root}")
        for row in rows:
            status = ", ".join(f"{p} {s}" for p, s in row["status"].items()) or "no status list"
            _say(f"{row['name']}  {row['kind']:<10}  {row['validity'].upper()}")
            _say(f"     {row['says']}")
            _say(f"     issuer: {row['issuer']}; its key: {row['issuerKey']}")
            _say(
                f"     signature {row['signature']}; {row['anchor']}; validUntil "
                f"{row['validUntil'] or 'none'} ({row['dates']}); {status}"
            )
            if str(row["issuerKey"]).startswith("not confirmed"):
                _say(f"     {UNCONFIRMED_NOTE}")
            if any(str(s).startswith("not confirmed") for s in row["status"].values()):
                _say(f"     {STATUS_UNCONFIRMED_NOTE}")
        for t in pending:
            _say(
                f"pending  {t.get('credential_configuration_id')} from "
                f"{t.get('issuer_name') or t.get('credential_issuer')}, accepted "
                f"{t.get('accepted_at')}: waiting for its anchor (`talentproof wallet refresh`)"
            )

    @wallet_app.command("present")
    def present(
        uri: Annotated[str | None, typer.Argument(help="the openid4vp:// URI")] = None,
        image: Annotated[
            Path | None, typer.Option("--image", help="a picture of the verifier's QR code")
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="send without asking")] = False,
        include_invalid: Annotated[
            bool,
            typer.Option(
                "--include-invalid",
                help="also offer credentials the wallet found revoked, suspended, expired or "
                "not yet valid (the verifier will say so)",
            ),
        ] = False,
        offline: Annotated[
            bool,
            typer.Option(
                "--offline",
                help="do not ask the issuers for the status lists (revocation not checked)",
            ),
        ] = False,
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
    ) -> None:
        """Answer a verifier's request: show what will be shared, send it on consent.

        The credentials are checked first as `wallet list` checks them (signature, anchor
        path, dates, the issuers' status lists): a revoked, suspended, expired or not yet valid
        one is named and not offered, unless --include-invalid."""
        from .inspect import sort_for_presentation
        from .oid4vp import (
            REQUEST_SCHEME,
            answer_warnings,
            fetch_request_object,
            match_dcql,
            parse_request_uri,
            send_response,
            vp_token,
        )

        with _errors():
            wallet = Wallet(wallet_dir)
            key = wallet.key()
            holder = key.public_key.did_key
            reference = parse_request_uri(
                _read_uri(uri, image, REQUEST_SCHEME, "the verifier's request")
            )
            with _http() as client:
                request = fetch_request_object(client, reference)
                usable, held_back = sort_for_presentation(
                    ((s.name, s.document) for s in wallet.credentials()),
                    datetime.now(UTC),
                    None if offline else client,
                )
                held_back = _held_back_for(request.dcql_query, held_back, holder)
                offered = usable + held_back if include_invalid else usable
                match = match_dcql(request.dcql_query, [c.document for c in offered], holder=holder)
                _show_request(
                    request.client_id,
                    request.response_uri,
                    match,
                    held_back,
                    _answerable(request.dcql_query, offered, holder),
                )
                elsewhere = answer_warnings(reference.request_uri, request.response_uri)
                for warning in elsewhere:
                    _say(f"  WARNING: {warning}")
                if elsewhere and yes:
                    raise WalletError(
                        "not sent with --yes: " + "; ".join(elsewhere) + " (run without --yes to "
                        "look at the request and decide)"
                    )
                if offline:
                    _say(
                        "  --offline: the issuers' status lists were not read; a revoked "
                        "credential is refused by the verifier"
                    )
                if match.missing:
                    raise WalletError(
                        "the wallet holds no valid credential for: "
                        + "; ".join(match.missing)
                        + " (the request names what it needs above)"
                        + (
                            "; the credentials held back above would answer it: "
                            "--include-invalid sends them anyway"
                            if held_back and not include_invalid
                            else ""
                        )
                    )
                if not yes and not _consent():
                    _say("nothing sent")
                    raise typer.Exit(1)
                token = vp_token(
                    match.chosen,
                    key,
                    request=request,
                    salt=wallet.salt(),
                    created=datetime.now(UTC),
                )
                body = send_response(client, request, token)
            _say(
                f"sent {sum(len(v) for v in match.chosen.values())} credential(s) to "
                f"{request.client_id}; the verdict is on the officer's page"
                + (
                    f" ({body['redirect_uri']})"
                    if isinstance(body.get("redirect_uri"), str)
                    else ""
                )
            )

    @wallet_app.command("qr")
    def qr(
        credential: Annotated[str, typer.Argument(help="its number in `wallet list`, or its id")],
        out: Annotated[
            Path | None,
            typer.Option("--out", "-o", help="PNG to write (default credential-<n>.png)"),
        ] = None,
        svg: Annotated[Path | None, typer.Option("--svg", help="also write an SVG")] = None,
        scale: Annotated[int, typer.Option(help="PNG pixels per module")] = 4,
        text: Annotated[
            bool, typer.Option("--text", help="also print the payload text (TP1:...)")
        ] = False,
        wallet_dir: WalletDir = DEFAULT_WALLET_DIR,
    ) -> None:
        """The offline single-credential QR code, for a verifier without a network."""
        from talentproof.credential.errors import CredentialError
        from talentproof.credential.qr import encode_payload, qr_version, render_png, render_svg

        with _errors():
            stored = Wallet(wallet_dir).find(credential)
            try:
                payload = encode_payload(stored.document)
            except CredentialError as exc:
                _fail(f"credential {stored.name} cannot be put in a QR code: {exc}")
            png = out or Path(f"credential-{stored.name}.png")
            try:
                png.write_bytes(render_png(payload, scale=scale))
                if svg is not None:
                    svg.write_text(render_svg(payload), encoding="utf-8")
            except OSError as exc:
                _fail(f"cannot write {exc.filename}: {exc.strerror or exc}", 2)
            _say(
                f"QR of credential {stored.name}: {png}"
                + (f" and {svg}" if svg else "")
                + f" (version {qr_version(payload)}, {len(payload)} characters)"
            )
            if text:
                _say(payload)

    from .serve import serve_command  # the browser wallet (wallet/static)

    wallet_app.command("serve")(serve_command)
    app.add_typer(wallet_app, name="wallet")


def _held_back_for(
    dcql: dict[str, Any], held_back: list[Candidate], holder: str
) -> list[Candidate]:
    """The held-back credentials (`sort_for_presentation`) about ``holder`` that would answer
    one of the request's queries: the ones worth naming."""
    from .oid4vp import queries_answered

    return [
        c
        for c in held_back
        if isinstance(c.document.get("credentialSubject"), dict)
        and c.document["credentialSubject"].get("id") == holder
        and queries_answered(dcql, c.document)
    ]


def _answerable(dcql: dict[str, Any], offered: list[Candidate], holder: str) -> set[str]:
    """The ids of the request's credential queries that a credential offered (about
    ``holder``) would answer: a query not chosen among them is one the request lets go."""
    from .oid4vp import queries_answered

    return {
        qid
        for c in offered
        if isinstance(c.document.get("credentialSubject"), dict)
        and c.document["credentialSubject"].get("id") == holder
        for qid in queries_answered(dcql, c.document)
    }


def _show_request(
    client_id: str,
    response_uri: str,
    match: Any,
    held_back: list[Candidate],
    answerable: set[str],
) -> None:
    from urllib.parse import urlsplit

    from .inspect import describe, issuer_of, kind_of

    invalid = {str(c.document.get("id")): c.validity.summary for c in held_back}
    _say(f"verifier {client_id}")
    _say(f"  answers go to {urlsplit(response_uri).netloc} ({response_uri})")
    for qid, paths in match.requested.items():
        creds = match.chosen.get(qid)
        asked = ", ".join(".".join("*" if p is None else str(p) for p in path) for path in paths)
        if creds:
            for cred in creds:
                flag = invalid.get(str(cred.get("id")))
                _say(
                    f"  {qid}: your {kind_of(cred)} credential: {describe(cred)} "
                    f"(issuer {issuer_of(cred)})"
                    + (f": {flag.upper()}, the verifier will say so" if flag else "")
                )
            _say(f"      asked for: {asked or 'the credential'}")
        elif qid in answerable and not match.missing:
            _say(
                f"  {qid}: not shared: the request accepts what is shared above in its place "
                "(your credential that answers it stays in the wallet)"
            )
        elif qid in answerable:
            _say(f"  {qid}: not shared (the request cannot be answered whole: see below)")
        else:
            _say(f"  {qid}: you hold no valid credential that answers it")
    sent = {str(c.get("id")) for creds in match.chosen.values() for c in creds}
    for c in held_back:
        if str(c.document.get("id")) not in sent:
            _say(
                f"  held back: credential {c.name}, your {kind_of(c.document)} credential: "
                f"{describe(c.document)}: {c.validity.summary.upper()} "
                f"({_why(c.validity)}); not offered (--include-invalid offers it)"
            )
    _say(
        "  Each credential is shared whole (with your name, birth date and identity-document "
        "commitment), and your identity-document salt, so that the officer can match your "
        "document; signed for this verifier only."
    )


def _why(validity: Validity) -> str:
    """Where a held-back credential's summary comes from, in a few words."""
    if validity.signature != "valid":
        return f"issuer signature {validity.signature}"
    if validity.anchor not in ("anchored", "pending"):
        return validity.anchor
    for purpose in ("revocation", "suspension"):
        if validity.status.get(purpose) == "set":
            return f"the issuer's {purpose} status list says so"
    return validity.dates


def _consent() -> bool:
    answer = typer.prompt("Send? Type y to send", default="n", show_default=False)
    return answer.strip().lower() in ("y", "yes")
