"""Reading what the verifier is given: QR images, QR text payloads, JSON files, folders.

Each input becomes an :class:`~talentproof.verifier.engine.Item`. An input that exists but cannot
be decoded (garbage QR, broken JSON) becomes an item whose check 1 fails; an input that does
not exist at all is a usage error (:class:`~talentproof.verifier.errors.InputError`).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from talentproof.credential.errors import CredentialError
from talentproof.verifier.engine import Item, Limits, parse_json
from talentproof.verifier.errors import InputError, InputTooLarge

#: File suffixes picked up when a folder is verified.
SUFFIXES = (".json", ".png", ".jpg", ".jpeg", ".txt", ".qr")

DEFAULT_LIMITS = Limits()
_PAYLOAD = re.compile(r"^TP[0-9]+:")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def is_image(data: bytes) -> bool:
    """True for PNG or JPEG bytes."""
    return data.startswith((_PNG, _JPEG))


def item_from_text(text: str, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A QR text payload (as scanned) -> item."""
    text = text.strip()
    if len(text) > limits.max_payload_chars:
        return Item(source, None, str(InputTooLarge("QR payload", len(text), limits.max_payload_chars, "characters")))
    from talentproof.credential import qr as c_qr

    try:
        return Item(source, c_qr.decode_payload(text))
    except CredentialError as exc:
        return Item(source, None, f"not a TalentProof QR payload ({exc})")


def _quick_decode(data: bytes) -> str | None:
    """One cheap pass (grayscale, as given) for clean screenshots; None sends the image to
    ``credential.qr.decode_image``, which also tries contrast-stretched and upscaled copies."""
    try:
        import zxingcpp
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            gray = image.convert("L")
        # the plainest scan (no rotated, inverted or downscaled passes): a clean screenshot is
        # read at its own scale; anything harder goes to the thorough decoder below
        plain = {"try_rotate": False, "try_invert": False, "try_downscale": False}
        for result in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, **plain):
            if result.text.startswith("TP") and ":" in result.text[:8]:
                return str(result.text)
    except Exception:  # noqa: BLE001 - any trouble: the thorough decoder decides
        return None
    return None


def item_from_image(data: bytes, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A PNG or JPEG picture of a QR code -> item."""
    if len(data) > limits.max_image_bytes:
        return Item(source, None, str(InputTooLarge("image", len(data), limits.max_image_bytes)))
    from talentproof.credential import qr as c_qr

    text = _quick_decode(data)
    if text is not None:
        return item_from_text(text, source, limits)
    try:
        text = c_qr.decode_image(data)
    except CredentialError as exc:
        return Item(source, None, f"no TalentProof QR code could be read: {exc}")
    return item_from_text(text, source, limits)


def item_from_json(data: bytes | str, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A credential or presentation JSON document -> item."""
    try:
        doc = parse_json(data, what=source, limit=limits.max_document_bytes)
    except InputError as exc:
        return Item(source, None, str(exc))
    if not isinstance(doc, dict):
        return Item(source, None, f"expected a JSON object, found {type(doc).__name__}")
    return Item(source, doc)


def item_from_bytes(data: bytes, source: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """Detect the kind of input from its bytes: image, JSON, or QR text."""
    if is_image(data):
        return item_from_image(data, source, limits)
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        return item_from_json(data, source, limits)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Item(source, None, "expected a PNG/JPEG image, a JSON document or a QR text payload")
    return item_from_text(text, source, limits)


def item_from_path(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Item:
    """One file -> item, its source the file's name (raises InputError when it cannot be read at
    all)."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as f:  # one open + fstat instead of stat, open (folders: per file)
            size = os.fstat(f.fileno()).st_size
            limit = max(limits.max_image_bytes, limits.max_document_bytes)
            if size > limit:
                return Item(name, None, str(InputTooLarge(name, size, limit)))
            data = f.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    return item_from_bytes(data, name, limits)


def _suffix(name: str) -> str:
    """``PurePath(name).suffix`` (a leading dot does not start a suffix)."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def folder_paths(folder: Path | str) -> list[str]:
    """The paths (text) of the files of a folder the verifier takes, sorted by file name: the
    same files, in the same order, as :func:`folder_files`, without a Path object each."""
    base = os.fspath(folder)
    with os.scandir(base) as entries:
        names = sorted(e.name for e in entries if _suffix(e.name).lower() in SUFFIXES and e.is_file())
    return [os.path.join(base, n) for n in names]


def folder_files(folder: Path) -> list[Path]:
    """The files of a folder the verifier takes, sorted by name."""
    return [Path(p) for p in folder_paths(folder)]


def resolve_argument(arg: str, limits: Limits = DEFAULT_LIMITS) -> Item:
    """A CLI argument: a QR text payload (``TP<version>:...``), else a file path."""
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
    raise InputError(
        f"{arg[:80]}: expected a QR image (PNG/JPEG), a credential or presentation JSON file, "
        "a folder of them, or a QR text payload (TP1:...)"
    )


def iter_folder(folder: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Items of a folder, one per file."""
    for p in folder_files(folder):
        yield item_from_path(p, limits)
