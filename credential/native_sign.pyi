"""Types of the C module credential/native_sign.c (built by the install)."""

from typing import Any, NewType

Template = NewType("Template", object)  # a capsule of one BulkTemplate's constants

def set_crypto_sign(address: int, /) -> None: ...
def template(
    secret: bytes,
    options_hash: bytes,
    proof_head: bytes,
    proof_tail: bytes,
    subject_head: bytes,
    status_parts: tuple[bytes, ...],
    subject_id_tail: bytes,
    subject_tail: bytes,
    /,
) -> Template: ...
def signed(
    tpl: Template, cid: str, prefix: bytes, tail: bytes, /
) -> tuple[str, bytes, bytes] | None: ...
def issue_subject(
    tpl: Template, subject: Any, status_index: Any, cid: Any, /
) -> tuple[str, bytes, bytes] | None: ...
def b58encode_64(signature: bytes, /) -> bytes: ...

Recognizer = NewType("Recognizer", object)  # a capsule of one subject schema's compiled checks

def recognizer(
    schema: tuple[Any, ...],
    bind: tuple[bytes, bytes, bytes, bytes] | None,
    facts: tuple[bytes, bytes, bytes],
    today: int,
    holder_key: bytes,
    level_path: tuple[bytes, bytes],
    /,
) -> Recognizer: ...
def issue_record(
    tpl: Template,
    recognizer: Recognizer,
    record: Any,
    status_index: Any,
    cid: Any,
    levels: tuple[bytes, ...] | None,
    /,
) -> tuple[str, bytes, bytes] | None: ...
