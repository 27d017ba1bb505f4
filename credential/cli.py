"""Holder commands: ``talentproof keygen``, ``talentproof holder commit-id`` and
``talentproof present``.

``keygen`` writes a holder key file (a Multikey JSON document with the secret key and the
holder's identity-document salt ``idSalt``, mode 0600) and prints the holder's did:key.
``holder commit-id`` prints the ``identityDocument`` object (document type, issuing country,
salted commitment to the number) the holder hands to each institution; the number itself stays
with the holder. ``present`` bundles credential JSON files into a presentation bound to a
verifier's challenge and domain, discloses the salt to that verifier (``identityDocumentSalt``),
signs it with the holder key, and writes the presentation JSON and its QR code (PNG and/or SVG).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import jsonread
from .errors import CredentialError, PayloadTooLargeForQR
from .keys import Ed25519SigningKey
from .person import DOCUMENT_TYPES, commit_identity_document, new_salt
from .presentation import create_presentation
from .qr import encode_payload, qr_version, render_png, render_svg

__all__ = ["load_holder_id_salt", "load_holder_key", "register", "write_holder_key"]

ID_SALT = "idSalt"
"""The holder key file's property holding the identity-document salt (`person.new_salt`)."""


def write_holder_key(
    path: Path, key: Ed25519SigningKey, *, force: bool = False, id_salt: str | None = None
) -> None:
    """Write a holder key file (Multikey JSON with ``secretKeyMultibase`` and, when given, the
    identity-document salt ``idSalt``), owner-only."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    pub = key.public_key
    doc = {
        "type": "Multikey",
        "id": pub.verification_method,
        "controller": pub.did_key,
        "publicKeyMultibase": pub.multibase,
        "secretKeyMultibase": key.multibase,
    }
    if id_salt is not None:
        doc[ID_SALT] = id_salt
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


#: Said when a holder key file is no JSON (given data/governor-key, say: 'Extra data: line 1').
_KEY_FILE_HINT = (
    "; expected the holder's JSON key file that `talentproof keygen --out FILE` writes "
    "(or the wallet's key.json)"
)


def _has_anchor_proof(doc: Any) -> bool:
    proof = doc.get("proof") if isinstance(doc, dict) else None
    return isinstance(proof, list) and any(
        isinstance(p, dict) and p.get("type") == "TalentProofAnchor" for p in proof
    )


def load_holder_key(path: Path) -> Ed25519SigningKey:
    """Read a holder key file written by `write_holder_key` (checks the public key matches)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read holder key file {path}: {exc}{_KEY_FILE_HINT}") from exc
    if not isinstance(doc, dict) or "secretKeyMultibase" not in doc:
        raise ValueError(f"{path}: expected a Multikey JSON object with secretKeyMultibase")
    key = Ed25519SigningKey.from_multibase(doc["secretKeyMultibase"])
    if doc.get("publicKeyMultibase", key.public_key.multibase) != key.public_key.multibase:
        raise ValueError(f"{path}: publicKeyMultibase does not match the secret key")
    return key


def load_holder_id_salt(path: Path) -> str | None:
    """The identity-document salt (``idSalt``) of a holder key file; None when it has none
    (a key file written before salts)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read holder key file {path}: {exc}{_KEY_FILE_HINT}") from exc
    salt = doc.get(ID_SALT) if isinstance(doc, dict) else None
    if salt is not None and not isinstance(salt, str):
        raise ValueError(f"{path}: {ID_SALT} must be a base64url text")
    return salt


def _load_json(path: Path) -> dict[str, Any]:
    """A credential file read as the verifier reads one (`jsonread`: a key given twice is
    refused, naming it: readers keeping the first or the last value read two documents)."""
    try:
        doc = jsonread.loads(path.read_bytes())
    except jsonread.DuplicateKeyError as exc:
        raise ValueError(
            f"cannot read credential {path}: a JSON object in it gives the key {exc.key!r} "
            "twice (each key once, as the verifier requires)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read credential {path}: {exc}") from exc
    except RecursionError:
        raise ValueError(f"cannot read credential {path}: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a credential JSON object")
    return doc


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _os_error(exc: OSError, path: Path | None = None) -> str:
    """One line for a file that could not be written: the path and the system's reason."""
    where = path if path is not None else (exc.filename or "output")
    reason = exc.strerror or str(exc)
    if exc.filename is not None and str(exc.filename) != str(where):
        if isinstance(exc, FileExistsError) and Path(exc.filename).exists():
            reason = f"{exc.filename} is a file, not a folder"
        else:
            reason += f" ({exc.filename})"
    return f"cannot write {where}: {reason}"


def _write(path: Path, data: str | bytes) -> None:
    """Write an output file, creating its folder; a failure is one line (exit 2), no traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        _fail(_os_error(exc, path), 2)


def register(app: typer.Typer) -> None:
    """Add the holder commands to the root ``talentproof`` app."""

    @app.command("keygen")
    def keygen(
        out: Annotated[Path, typer.Option("--out", "-o", help="holder key file to write")] = Path(
            "holder-key.json"
        ),
        force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    ) -> None:
        """Create a holder did:key (Ed25519) and its identity-document salt; write the key
        file."""
        key = Ed25519SigningKey.generate()
        try:
            write_holder_key(out, key, force=force, id_salt=new_salt())
        except FileExistsError as exc:
            _fail(str(exc), 2)
        except OSError as exc:
            _fail(_os_error(exc), 2)
        typer.echo(key.public_key.did_key)

    @app.command("present")
    def present(
        credentials: Annotated[list[Path], typer.Argument(help="credential JSON files")],
        key: Annotated[Path, typer.Option("--key", "-k", help="holder key file (keygen)")],
        challenge: Annotated[str, typer.Option(help="the verifier's nonce")],
        domain: Annotated[str, typer.Option(help="the verifier's domain")],
        out: Annotated[Path, typer.Option("--out", "-o", help="presentation JSON to write")] = (
            Path("presentation.json")
        ),
        png: Annotated[Path | None, typer.Option(help="QR PNG (default: <out>.png)")] = None,
        svg: Annotated[Path | None, typer.Option(help="QR SVG (default: <out>.svg)")] = None,
        scale: Annotated[int, typer.Option(help="PNG pixels per module")] = 4,
    ) -> None:
        """Bundle credentials into a presentation bound to a verifier; write JSON and QR."""
        try:
            holder_key = load_holder_key(key)
            salt = load_holder_id_salt(key)
            docs = [_load_json(p) for p in credentials]
            vp = create_presentation(
                docs,
                holder_key,
                challenge=challenge,
                domain=domain,
                created=datetime.now(UTC),
                identity_document_salt=salt,
            )
        except (ValueError, CredentialError) as exc:
            _fail(str(exc), 2 if isinstance(exc, ValueError) else 1)
        _write(out, json.dumps(vp, indent=2, ensure_ascii=False) + "\n")
        try:
            text = encode_payload(vp)
        except PayloadTooLargeForQR as exc:
            _fail(
                f"presentation written to {out}, but it does not fit one QR code: {exc}; "
                f"present fewer credentials per QR code"
            )
        except CredentialError as exc:
            _fail(str(exc))
        png_path = png or out.with_suffix(".png")
        svg_path = svg or out.with_suffix(".svg")
        _write(png_path, render_png(text, scale=scale))
        _write(svg_path, render_svg(text))
        typer.echo(
            f"presentation of {len(docs)} credential(s) for {domain}: {out}, QR {png_path} and "
            f"{svg_path} (version {qr_version(text)}, {len(text)} characters)"
        )
        if salt is None:
            typer.echo(
                f"warning: {key} has no {ID_SALT}: the verifier cannot match the identity "
                f"document (a key file from `talentproof keygen` has one)",
                err=True,
            )
        for path, doc in zip(credentials, docs, strict=True):
            if not _has_anchor_proof(doc):
                typer.echo(
                    f"warning: {path} carries no anchor proof (TalentProofAnchor): the verifier "
                    "fails it at check 4; fetch it again from the issuer once anchored "
                    "(GET /credentials/{id}) and present that",
                    err=True,
                )

    holder_app = typer.Typer(
        help="Holder commands: the identity-document commitment.", no_args_is_help=True
    )

    @holder_app.command("commit-id")
    def commit_id(
        key: Annotated[Path, typer.Option("--key", "-k", help="holder key file (keygen)")],
        document_type: Annotated[
            str, typer.Option("--type", help=f"identity document: {', '.join(DOCUMENT_TYPES)}")
        ],
        country: Annotated[
            str,
            typer.Option("--country", help="issuing country, ISO 3166-1 alpha-2 (HK, CN, GB...)"),
        ],
        number: Annotated[
            str,
            typer.Option(
                "--number", help="the document's number, e.g. 'A123456(7)' (never leaves you)"
            ),
        ],
    ) -> None:
        """Print the ``identityDocument`` JSON object to hand to each institution: the document
        type, issuing country and a commitment to the number salted with the key file's
        ``idSalt`` (the number itself is not in it)."""
        try:
            salt = load_holder_id_salt(key)
            if salt is None:
                _fail(f"{key} has no {ID_SALT} (create a key file with `talentproof keygen`)", 2)
            doc = {
                "documentType": document_type,
                "issuingCountry": country,
                "commitment": commit_identity_document(document_type, country, number, salt),
            }
        except ValueError as exc:
            _fail(str(exc), 2)
        typer.echo(json.dumps(doc))

    app.add_typer(holder_app, name="holder")
