"""Reading what the verifier is given: QR images, QR text payloads, JSON files, folders.

Each input becomes an :class:`~talentproof.verifier.engine.Item`. An input that exists but cannot
be decoded (garbage QR, broken JSON) becomes an item whose check 1 fails; an input that does
not exist at all is a usage error (:class:`~talentproof.verifier.errors.InputError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from talentproof.credential import qr as c_qr
from talentproof.credential.errors import CredentialError
from talentproof.credential.text import printable
from talentproof.verifier.engine import Item, Limits, parse_json
from talentproof.verifier.errors import InputError, InputTooLarge
from talentproof.verifier.vc_api_tokens import TOKEN_PREFIX

#: File suffixes picked up when a folder is verified.
SUFFIXES = (".json", ".png", ".jpg", ".jpeg", ".txt", ".qr")

DEFAULT_LIMITS = Limits()
_PAYLOAD = re.compile(r"^TP[0-9]+:")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def is_image(data: bytes) -> bool:
    """True for PNG or JPEG bytes."""
    return data.startswith((_PNG, _JPEG))


_BOM = "\ufeff"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_VERSIONED = re.compile(r"^TP([0-9]+):")


def _strip_text(text: str) -> str:
    """Surrounding white space and a leading byte-order mark (U+FEFF) off (a BOM is what a
    Windows editor writes first; it is not part of the payload)."""
    text = text.strip()
    while text.startswith(_BOM):
        text = text[1:].lstrip()
    return text


def not_a_payload(text: str) -> str | None:
    """Why ``text`` (stripped) is not a TalentProof payload at all, or None when it carries the
    ``TP1:`` prefix (its body is judged by the decoder).

    None of the text is shown (it may be a password or a token pasted by mistake): only a damaged
    TalentProof prefix (``TP1;``, ``tp1:``), then its length and the kinds of its characters."""
    if text.startswith(c_qr.PREFIX):
        return None
    found = describe_text(text)
    match = _VERSIONED.match(text)
    if match is not None:
        return (
            f"not a TalentProof payload: format version {match.group(1)} is not one this verifier "
            f"reads (expected the prefix {c_qr.PREFIX!r}, found {found})"
        )
    return f"not a TalentProof payload: expected the prefix {c_qr.PREFIX!r}, found {found}"


#: A damaged TalentProof prefix, shown when found: "TP" in either case, a digit, a separator.
_SHOWN_PREFIX = re.compile(r"^[tT][pP][0-9][:;,. _-]")
#: The kinds of characters :func:`describe_text` names, in order.
_KINDS = (
    ("upper-case letters", str.isupper),
    ("lower-case letters", str.islower),
    ("digits", str.isdigit),
    ("spaces", str.isspace),
)


def describe_text(text: str) -> str:
    """``text`` described without showing it: a damaged TalentProof prefix when it has one, its
    length, the kinds of characters it holds (``'TP1;' and 9 characters: upper-case letters,
    digits, other characters``)."""
    head = _SHOWN_PREFIX.match(text)
    sample = text[:4096]
    kinds = [name for name, test in _KINDS if any(test(c) for c in sample)]
    if any(not c.isalnum() and not c.isspace() for c in sample):
        kinds.append("other characters")
    shown = f"{head.group(0)!r} and " if head else ""
    return f"{shown}{len(text)} characters: {', '.join(kinds) or 'none'}"


#: What the verifier takes, said when it is given something else.
EXPECTED_INPUTS = "a credential JSON file, a presentation, a TP1 QR payload or a QR image"
#: 32 bytes in hex, with or without ``0x``: an Ethereum/secp256k1 or Ed25519 private key.
_HEX_KEY = re.compile(r"(0[xX])?[0-9a-fA-F]{64}")
#: A PEM private key (PKCS#8, encrypted PKCS#8, SEC1 EC, PKCS#1 RSA, OpenSSH) at a line start.
_PEM_KEY = re.compile(r"^-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", re.MULTILINE)
#: A BIP-39 recovery phrase: 12 to 24 lower-case words (the wallet's seed, an account's).
_MNEMONIC = re.compile(r"[a-z]{3,8}(?: [a-z]{3,8}){11,23}")
#: Members of a JSON key file that hold its secret (a Multikey's, a JWK's ``d``). The folder's C
#: reader (credential/native_verify.c, ``no_secret``) declines a document holding any of these,
#: ``d``, ``keys`` or a text with one of `_TOKEN_PREFIXES`: a new one must be added there too
#: (tests/verifier/test_native_file_bytes.py tries each, signed into a credential).
_SECRET_MEMBERS = ("secretKeyMultibase", "privateKeyMultibase", "privateKeyHex", "privateKeyJwk")


def private_key_form(value: str | dict[str, Any]) -> str | None:
    """What kind of private key ``value`` (a stripped text, or a JSON object) looks like, or None.

    The one owner of "looks like a key": the text path (a file, a CLI argument, a service
    payload) and the JSON path (:func:`not_a_document`) both ask it, and both refuse with
    :func:`private_key_reason`, which never shows any of the secret."""
    if isinstance(value, dict):
        if any(m in value for m in _SECRET_MEMBERS):
            return "a key file with its secret, as `talentproof keygen` and the wallet write"
        if "d" in value and "kty" in value:
            return "a private JWK"
        keys = value.get("keys")
        if isinstance(keys, list) and any(isinstance(k, dict) and "d" in k for k in keys[:64]):
            return "a JWK set holding a private key"
        return None
    if value.startswith(c_qr.PREFIX):  # a payload (the hot path): no key form starts so
        return None
    if _HEX_KEY.fullmatch(value):
        return "64 hexadecimal digits, as in data/governor-key"
    if _PEM_KEY.search(value, 0, 4096):
        return "a PEM private key"
    words = value.split() if len(value) <= 240 else ()
    if len(words) % 3 == 0 and _MNEMONIC.fullmatch(" ".join(words)):
        return "a recovery phrase of words"
    return None


def private_key_reason(source: str, form: str) -> str:
    """The refusal of a private key given in place of a credential: names the form, shows none
    of the secret (not even its first characters)."""
    return (
        f"{source}: this is not a credential or a QR payload: it looks like a private key "
        f"({form}); nothing of it is shown. Keep it private and give {EXPECTED_INPUTS} instead"
    )


#: TalentProof's access tokens by prefix: the issuer's API keys (``tpk_<id>_<secret>``), its
#: OID4VCI access tokens (``tpoat_``), the verifier's VC API tokens (``tpv_``); the verifier
#: never imports the issuer, so its two prefixes are spelled here. The forms named leave the
#: prefix out: a refusal shows no 4 characters of the secret.
_TOKEN_PREFIXES = {
    "tpk_": "an issuer API key, as the issuer's POST .../api-keys answers",
    "tpoat_": "an issuer OID4VCI access token",
    TOKEN_PREFIX: "a verifier VC API token, as `talentproof verifier token` prints",
}
#: A bearer header or its value, before a token.
_BEARER = re.compile(r"^(?:Authorization:[ \t]*)?(?:Bearer[ \t]+)?", re.IGNORECASE)
#: A prefixed token: its prefix, then URL-safe base64 (which ``secrets.token_urlsafe`` writes).
_PREFIXED_TOKEN = re.compile(r"(tpk_|tpoat_|tpv_)[A-Za-z0-9_-]{16,}")
#: An unprefixed random secret (``secrets.token_urlsafe(24 or more)``: the issuer's operator
#: token, <data>/issuer-operator-token, and its development passphrase). A lower-case letter is
#: required: a QR payload cut before its prefix is Base45, upper-case only, and stays a payload.
_OPAQUE_TOKEN = re.compile(r"(?=[^a-z]*[a-z])[A-Za-z0-9_-]{32,}")


#: How deep below its top level a JSON object without ``@context`` is searched for a prefixed
#: token: the issuer's onboarding answer holds its first API key at ``api_key.token``, `make
#: run`'s <data>/dev-keys.json at ``institutions.<slug>.api_key``. At most 64 members or items
#: of each object or array are looked at.
_TOKEN_DEPTH = 3


def _nested_token(value: Any, depth: int) -> tuple[str, str] | None:
    """(the path of member names, the token's prefix) of the first prefixed token within
    ``depth`` levels below the object or array ``value``, or None. The path is made of member
    names and item numbers only, never of the token."""
    if depth <= 0:
        return None
    items = list(value.items())[:64] if isinstance(value, dict) else list(enumerate(value[:64]))
    for key, member in items:
        name = printable(str(key))[:40]
        if isinstance(member, str):
            found = _PREFIXED_TOKEN.fullmatch(member.strip())
            if found is not None:
                return name, found.group(1)
        elif isinstance(member, (dict, list)):
            inner = _nested_token(member, depth - 1)
            if inner is not None:
                return f"{name}.{inner[0]}", inner[1]
    return None


def access_token_form(value: str | dict[str, Any]) -> str | None:
    """What kind of access token ``value`` (a stripped text, or a JSON object holding one at its
    top level, as an answer that mints it does, or, when it has no ``@context``, up to
    `_TOKEN_DEPTH` levels below: `_nested_token`) looks like, or None. Asked with
    :func:`private_key_form` by :func:`secret_refusal`, its one caller."""
    if isinstance(value, dict):
        for member in list(value.values())[:64]:
            found = _PREFIXED_TOKEN.fullmatch(member.strip()) if isinstance(member, str) else None
            if found is not None:
                return f"a JSON answer holding {_TOKEN_PREFIXES[found.group(1)]}"
        if "@context" in value:  # a credential or presentation: only its top level (above)
            return None
        nested = _nested_token(value, _TOKEN_DEPTH)
        if nested is not None:
            path, prefix = nested
            return f"a JSON document holding, at {path}, {_TOKEN_PREFIXES[prefix]}"
        return None
    if value.startswith(c_qr.PREFIX) or len(value) > 600:  # a payload (the hot path), a file
        return None
    token = _BEARER.sub("", value, count=1)
    prefixed = _PREFIXED_TOKEN.fullmatch(token)
    if prefixed is not None:
        return _TOKEN_PREFIXES[prefixed.group(1)]
    if _OPAQUE_TOKEN.fullmatch(token):
        return (
            "one word of random letters, digits, - and _, as the issuer's operator token in "
            "<data>/issuer-operator-token"
        )
    return None


def secret_refusal(source: str, value: str | dict[str, Any]) -> str | None:
    """The refusal of a secret (a private key, an access token) given in place of a credential,
    or None: the one check the text path (a file, a CLI argument, a service payload) and the
    JSON path (:func:`not_a_document`) both make. It names the form and shows none of the
    secret (not even its first characters)."""
    form = private_key_form(value)
    if form is not None:
        return private_key_reason(source, form)
    form = access_token_form(value)
    if form is not None:
        return (
            f"{source}: this is not a credential or a QR payload: it looks like an access token "
            f"({form}); nothing of it is shown. Keep it private and give {EXPECTED_INPUTS} "
            "instead"
        )
    return None


def _text_too_large(text: str, source: str, limit: int) -> str:
    """Why a text above the payload limit is refused: what was expected, what it looks like."""
    if text.startswith(c_qr.PREFIX):
        return (
            f"{source} is a TP1 QR payload of {len(text)} characters; the limit is {limit} "
            f"characters (expected {EXPECTED_INPUTS})"
        )
    return (
        f"{source} is not a credential or a QR payload: expected {EXPECTED_INPUTS}; found text "
        f"that is not JSON and not a QR payload ({len(text)} characters; a QR payload starts "
        f"with {c_qr.PREFIX!r} and has at most {limit})"
    )


def item_from_text(text: str, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A QR text payload (as scanned) -> item.

    A leading byte-order mark is dropped. A text without the ``TP1:`` prefix (``TP1;``,
    ``tp1:``, ``TP2:``, ``TP1`` without its colon, any other text) is no TalentProof payload:
    the item is ``not_talentproof`` (INVALID, check 1 describing the text, none of it shown:
    :func:`describe_text`). A secret (:func:`secret_refusal`) is NOT_VERIFIABLE. A ``TP1:`` text
    whose body does not decode (truncated, corrupted) could not be read (NOT_VERIFIABLE).
    """
    text = _strip_text(text)
    secret = secret_refusal(source, text)
    if secret is not None:
        return Item(source, None, secret)
    if len(text) > limits.max_payload_chars:
        return Item(source, None, _text_too_large(text, source, limits.max_payload_chars))
    why = not_a_payload(text)
    if why is not None:
        if "\n" in text:  # a scanned payload is one line: this is a text file (notes, a README)
            why += (
                f"; this is text that is not JSON and not a QR payload: expected {EXPECTED_INPUTS}"
            )
        return Item(source, None, why, not_talentproof=True)
    try:
        return Item(source, c_qr.decode_payload(text))
    except CredentialError as exc:
        return Item(source, None, f"not a TalentProof QR payload ({exc})")


def quick_decode(data: bytes) -> str | None:
    """The first TalentProof payload of :func:`quick_decode_all`, or None."""
    texts = quick_decode_all(data)
    return texts[0] if texts else None


def quick_decode_all(data: bytes) -> tuple[str, ...]:
    """Two cheap passes (grayscale as given, then the same inverted) for clean screenshots:
    every distinct TalentProof payload they read, in the reader's order; empty sends the image
    to ``credential.qr.decode_image_all``, which also tries contrast-stretched and upscaled
    copies.

    The inverted pass always runs, not only when the first reads nothing: a code printed light
    on dark beside one printed dark on light is a second code, which the thorough decoder (it
    runs only when these passes read nothing) would never see."""
    found: dict[str, None] = {}
    try:
        import zxingcpp  # noqa: PLC0415 (image decoding: heavy, loaded on the first image)
        from PIL import ImageOps  # noqa: PLC0415 (image decoding: heavy, first image)

        # open_image refuses a picture larger than MAX_PIXELS from its header, before any pixel
        # is decoded (the conversion below would decode a pixel bomb in full)
        gray = c_qr.open_image(data).convert("L")
        # the plainest scan (no rotated or downscaled passes): a clean screenshot is read at its
        # own scale; anything harder goes to the thorough decoder below
        qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        for candidate in (gray, ImageOps.invert(gray)):
            plain = zxingcpp.read_barcodes(
                candidate, formats=qr, try_rotate=False, try_invert=False, try_downscale=False
            )
            for result in plain:
                if c_qr.is_payload_text(result.text):
                    found[str(result.text)] = None
    except Exception:
        return ()
    return tuple(found)


def item_from_image(data: bytes, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A PNG or JPEG picture of a QR code -> item.

    A picture showing several different TalentProof QR codes is not verifiable: verifying one
    of them would leave the others unseen (a revoked credential beside a valid one), and which
    one depended on where it sat in the picture. One code per picture; the same code shown twice
    is one credential."""
    if len(data) > limits.max_image_bytes:
        return Item(source, None, str(InputTooLarge("image", len(data), limits.max_image_bytes)))
    texts = quick_decode_all(data)
    if not texts:
        try:  # every reading (contrast-stretched, colour, upscaled copies), every code
            texts = c_qr.decode_image_all(data)
        except CredentialError as exc:
            return Item(source, None, f"no TalentProof QR code could be read: {exc}")
    if len(texts) > 1:
        return Item(
            source,
            None,
            f"the image holds {len(texts)} TalentProof QR codes; expected one QR code per "
            "image (give each credential or presentation as its own picture)",
        )
    return item_from_text(texts[0], source, limits)


def item_from_json(data: bytes | str, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A credential or presentation JSON document -> item."""
    try:
        doc = parse_json(data, what=source, limit=limits.max_document_bytes)
    except InputError as exc:
        return Item(source, None, str(exc))
    if not isinstance(doc, dict):
        return Item(source, None, f"expected a JSON object, found {type(doc).__name__}")
    why = not_a_document(doc, source)
    if why is not None:
        return Item(source, None, why)
    return Item(source, doc)


#: The credential states the issuer API answers with (``status`` of its answers).
_ISSUER_STATES = frozenset({"pending_anchor", "anchored"})
#: A credential id as the issuer mints it (``urn:uuid:`` + a UUID): the only id echoed back.
_CREDENTIAL_ID = re.compile(r"^urn:uuid:[0-9a-fA-F-]{36}$")
#: The members of a VC API request body (``POST /credentials/verify``, ``/presentations/verify``).
_VC_API_BODY = frozenset({"verifiableCredential", "verifiablePresentation", "options"})


def not_a_document(doc: dict[str, Any], source: str) -> str | None:
    """Why the JSON object ``doc`` (read from ``source``) is a known answer or request body that
    wraps a credential rather than a credential or presentation itself, or None.

    Recognised, when ``doc`` has no ``@context`` (every credential and presentation has one):
    the issuer API's answer to ``POST /credentials`` (``id``, ``status``, ``credential``...), its
    answer to ``GET /credentials/{id}/anchor`` (``status``, ``credentialHash``, no credential), a
    line of its bulk-job results (``row``, ``status``, ``credential``), and a VC API request body
    (``{"verifiableCredential": ...}``); also a private key file (a Multikey with its secret, a
    private JWK: :func:`private_key_form`, with or without ``@context``). Such an input is
    refused (NOT_VERIFIABLE), naming what it is and what to give instead; the credential
    inside is never verified in its place: the wrapper's own members are not signed, and the
    user should give what the holder holds.
    Only the issuer's own id form and states are echoed (the rest of a wrapper is unsigned
    text)."""
    secret = secret_refusal(source, doc)  # before @context: a JSON-LD Multikey's secret has one
    if secret is not None:
        return secret
    if "@context" in doc:
        return None
    status = doc.get("status")
    known = status if isinstance(status, str) and status in _ISSUER_STATES else None
    state = f"status {known}" if known else "its status"
    raw_id = doc.get("id")
    cid = raw_id if isinstance(raw_id, str) and _CREDENTIAL_ID.match(raw_id) else "{id}"
    fetch = f"fetch the credential with its anchor proof from GET /credentials/{cid}"
    if known != "anchored":
        fetch += f" once GET /credentials/{cid}/anchor says anchored"
    if isinstance(doc.get("credential"), dict) and "status" in doc:
        if "row" in doc:
            return (
                f"{source} is a line of the issuer API's bulk-job results "
                f"(GET /bulk-jobs/{{id}}/results, {state}), not a credential: {fetch} "
                '(or save that line\'s "credential" member alone, once anchored)'
            )
        return (
            f"{source} is the issuer API's answer to POST /credentials ({state}), not a "
            f"credential: {fetch}"
        )
    if "credentialHash" in doc and "status" in doc and "credential" not in doc:
        return (
            f"{source} is the issuer API's answer to GET /credentials/{{id}}/anchor ({state}): "
            f"the credential's anchor status, not a credential: {fetch}"
        )
    if doc and doc.keys() <= _VC_API_BODY and doc.keys() != {"options"}:
        if "verifiableCredential" in doc:
            return (
                f'{source} is a W3C VC API body ({{"verifiableCredential": ...}}, as the '
                "issuer's POST /credentials/issue answers and the verifier service's "
                "POST /credentials/verify takes), not a credential: give the credential alone, "
                "with its anchor proof (GET /credentials/{id} once anchored), or send the body "
                "to POST /credentials/verify"
            )
        return (
            f'{source} is a W3C VC API body ({{"verifiablePresentation": ...}}, as the '
            "verifier service's POST /presentations/verify takes), not a presentation: give the "
            "presentation alone, or send the body to POST /presentations/verify"
        )
    return None


def item_from_bytes(data: bytes, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """Detect the kind of input from its bytes: image, JSON, or QR text. A UTF-8 byte-order
    mark before JSON or a QR text is tolerated (dropped); UTF-16 text is refused, naming it."""
    if is_image(data):
        return item_from_image(data, source, limits)
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    elif data.startswith(_UTF16_BOMS):
        return Item(
            source,
            None,
            "UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8 "
            "(a JSON document or a QR text payload)",
        )
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        return item_from_json(data, source, limits)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Item(source, None, "expected a PNG/JPEG image, a JSON document or a QR text payload")
    return item_from_text(text, source, limits)


#: The suffixes of a picture file (any case): read as a picture whatever its bytes (in a folder;
#: `verify FILE.png` alone refuses one that is no picture: verifier/cli.py).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def item_from_path(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Item:
    """One file -> item, its source the file's name (raises InputError when it cannot be read at
    all)."""
    name = os.path.basename(os.fspath(path))
    limit = max(limits.max_image_bytes, limits.max_document_bytes)
    try:
        size, data = read_file(path, limit)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if data is None:
        return Item(name, None, str(InputTooLarge(name, size, limit)))
    if name.lower().endswith(PICTURE_SUFFIXES) and not is_image(data):
        # a picture file whose bytes are none (a broken download, a renamed note): what the
        # page and the service say of such an upload (NOT_VERIFIABLE, "not a readable image"),
        # not a verdict on its bytes read as text or JSON (`verify FILE.png` alone: exit 2)
        return item_from_image(data, name, limits)
    return item_from_bytes(data, name, limits)


def read_file(path: str | os.PathLike[str], limit: int) -> tuple[int, bytes | None]:
    """``(size, the file's bytes)``, or ``(size, None)`` when its size (``fstat`` of the open
    file) is above ``limit``; raises OSError. The plain form is :func:`read_file_reference`.

    Why raw descriptors: a buffered file object costs ~3 us more per file than ``os.open``,
    ``fstat``, ``read`` (a folder reads thousands). Read to the end, as ``f.read()`` does.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return size, None
        data = os.read(fd, size + 1)  # one byte more: a file grown since fstat is read on
        if len(data) != size:  # grown or shrunk meanwhile, or a short read: on to the end
            chunks = [data]
            while data:
                data = os.read(fd, 1 << 16)
                chunks.append(data)
            data = b"".join(chunks)
        return size, data
    finally:
        os.close(fd)


def read_file_reference(path: str | os.PathLike[str], limit: int) -> tuple[int, bytes | None]:
    """:func:`read_file` through a buffered file object (the reference twin)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            return size, None
        return size, f.read()


def _suffix(name: str) -> str:
    """``PurePath(name).suffix`` (a leading dot does not start a suffix)."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def folder_paths(folder: Path | str) -> list[str]:
    """The paths (text) of the files of a folder the verifier takes, sorted by file name: the
    same files, in the same order, as :func:`folder_files`, without a Path object each."""
    base = os.fspath(folder)
    with os.scandir(base) as entries:
        names = sorted(
            e.name for e in entries if _suffix(e.name).lower() in SUFFIXES and e.is_file()
        )
    return [os.path.join(base, n) for n in names]


def folder_skipped(folder: Path | str) -> list[str]:
    """The entries of a folder the verifier does not read (`folder_paths` takes only its own
    files with a suffix of `SUFFIXES`), sorted by name, a folder's name ending in ``/``."""
    with os.scandir(os.fspath(folder)) as entries:
        return sorted(
            e.name + "/" if e.is_dir() else e.name
            for e in entries
            if not (_suffix(e.name).lower() in SUFFIXES and e.is_file())
        )


def folder_files(folder: Path) -> list[Path]:
    """The files of a folder the verifier takes, sorted by name."""
    return [Path(p) for p in folder_paths(folder)]


#: File suffixes that make a missing argument a file name (a typo), not a text.
_FILE_SUFFIX = re.compile(
    r"\.(json|png|jpe?g|txt|qr|svg|gif|webp|bmp|tiff?|heic|pdf)$", re.IGNORECASE
)
#: A damaged TalentProof prefix: "TP" in either case, then digits or a separator.
_DAMAGED_PREFIX = re.compile(r"^tp([0-9]|[:;,. _-])", re.IGNORECASE)
_BASE45 = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def looks_like_payload(arg: str) -> bool:
    """True when a command-line argument reads as a (maybe damaged) QR text payload: it starts
    with a TalentProof-like prefix (``TP1:``, ``TP1;``, ``tp1:``, ``TP2:``, ``TP1`` + text),
    or it is a long run of Base45 characters (a payload whose prefix was cut off)."""
    text = _strip_text(arg)
    if _DAMAGED_PREFIX.match(text):
        return True
    return len(text) >= 40 and sum(c in _BASE45 for c in text) >= 0.95 * len(text)


def names_a_file(arg: str) -> bool:
    """True when a command-line argument that is no existing path clearly names a file or
    folder (ends with a file suffix such as ``.json``/``.png``, or holds a path separator and
    does not read as a payload): a typo, a usage error. Anything else is taken as a text
    payload, which is INVALID when it is not one ("not a TalentProof payload")."""
    if _PAYLOAD.match(arg):
        return False
    if _FILE_SUFFIX.search(arg.strip()):
        return True
    if looks_like_payload(arg):
        return False
    return "/" in arg or os.sep in arg or (os.altsep is not None and os.altsep in arg)


def resolve_argument(arg: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A CLI argument: a QR text payload (``TP<version>:...``), else a file path, else (no
    such path, and no file name either: see :func:`names_a_file`) a text taken as a payload."""
    if _PAYLOAD.match(arg):
        return item_from_text(arg, "QR payload", limits)
    path = Path(arg)
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:  # e.g. a name too long to be a path
        is_file = is_dir = False
    if is_file:
        return item_from_path(path, limits)
    if is_dir:
        raise InputError(f"{arg} is a folder: give it alone to verify it in bulk")
    if names_a_file(arg):
        raise InputError(
            f"{arg[:80]}: no such file or folder (expected a QR image (PNG/JPEG), a credential or "
            "presentation JSON file, a folder of them, or a QR text payload (TP1:...))"
        )
    return item_from_text(arg, "QR payload", limits)


def iter_folder(folder: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Items of a folder, one per file."""
    for p in folder_files(folder):
        yield item_from_path(p, limits)
