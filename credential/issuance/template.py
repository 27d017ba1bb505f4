"""The template splice, the fast path of `issue_credentials`: many credentials of one kind,
one issuer, one ``created`` time.

Every credential of a bulk chunk shares its ``@context``, ``type``, ``issuer``,
``credentialSchema``, the shape of its status entries and its proof options; only the subject,
the id, the status index and the optional ``validFrom``/``validUntil``/``name``/``description``
differ. `BulkTemplate` therefore

* validates only what differs, per row: the kind's JSON Schema is split along its top-level
  properties (the schemas are ``type: object`` + ``required`` + ``additionalProperties: false``
  + ``properties`` and nothing else, which `BulkTemplate` checks, so a document is valid exactly
  when each of its properties is valid under its own sub-schema and the required ones are
  present). The constant properties are validated once, when the template is built; each row's
  properties with a compiled jsonschema-rs validator of the row sub-schema; plus the checks of
  `validation.validate_credential` (holder did:key decodes, validity window in order, no other
  kind's claim member in a subject whose schema admits it: `types.require_one_kind`);
* builds the RFC 8785 bytes by splicing: a JCS object is ``{`` + its members
  ``"key":value`` in UTF-16 key order joined by ``,`` + ``}``, so the document is the
  pre-canonicalized constant members and the canonicalized row members in that order; the
  signed form inserts the ``proof`` member at its place. The stored bytes are the signed form
  and their SHA-256 is the credential hash, exactly as in `plain.issue_plain`.

Per row, the splice of a subject-only request (most bulk rows), its two SHA-256, the Ed25519
signature (libsodium's ``crypto_sign``, the library `keys.RawEd25519Signer` calls), the
proofValue's base58btc and the proof's splice run in one C call (credential/native_sign.c,
`NATIVE_SIGN`) after the checks above, which stay here; it writes the subject's JCS with the
verifier's C writer and answers None for anything that writer declines (floats, integers beyond
2**53 - 1, keys >= U+E000, lone surrogates, subclasses), and then the Python below (its twin,
also what a tree without the extension runs) writes the row. tests/credential/
test_native_sign.py compares the two byte for byte.

Before any of that, a subject-only JSONL record (the bulk worker's common row) may be issued
from its bytes in one C call (`BulkTemplate.issue_record`, ``native_sign.issue_record``): strict
JSON parsed against the subject schema compiled by `native_schema`, the institution bound, the
schema, holder, facts and accredited level checked and the subject's JCS written without Python
objects. It answers only for a record it can show the Python path (orjson, `issue_one`: its
twin) signs with the very same bytes, and None for anything else, invalid or only unusual; the
twin then decides and words every refusal (tests/issuer/test_bulk_native_sign_records.py).

A row the template cannot vouch for (fails the row validation, a subject that is not an
object, anything that raises) is issued by `plain.issue_plain`, which accepts it or reports its
precise error: the template changes the cost, never the outcome.
tests/credential/test_cred_issuance.py and tests/issuer/test_bulk_template.py compare its bytes
with `plain.issue_credential` on generated subjects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import orjson

from .. import integrity as _integrity
from .. import jcs as _jcs
from .. import types as _types
from .._base58 import b58encode_64_ascii
from ..claims import subject_facts_ok
from ..errors import CredentialError
from ..keys import RawEd25519Signer, sodium_address
from ..schema_forms import (
    ANNOTATIONS,
    OBJECT_KEYS,
    array_form,
    enum_values,
    object_members,
    string_form,
)
from ..schemas import SCHEMA_IDS, load_schema
from ..validation import check_vc_structure, compile_schema, is_holder_did
from .plain import (
    BOUND_PARTY,
    CONTEXTS,
    KINDS,
    REQUEST_FIELDS,
    IssuerIdentity,
    Result,
    Signer,
    bind_subject,
    check_facts,
    issue_plain,
    new_credential_id,
    new_credential_ids,
    status_entries,
)

__all__ = ["BulkTemplate", "strings_only"]


def _load_native() -> Any:
    """credential/native_sign.c (built by the install) with libsodium's ``crypto_sign`` given to
    it (PyNaCl's cffi binding, the library `keys.RawEd25519Signer` signs with), or None: then
    every row takes the Python twin."""
    address = sodium_address("crypto_sign")
    if address is None:  # pragma: no cover - another PyNaCl
        return None
    try:
        from talentproof.credential import native_sign  # noqa: PLC0415

        native_sign.set_crypto_sign(address)
    except (ImportError, AttributeError):  # pragma: no cover - an unbuilt tree
        return None
    return native_sign


#: The C twin of `BulkTemplate.signed_reference` and `issue_subject_reference` (None: not built).
NATIVE_SIGN: Any = _load_native()

# Request fields that become top-level credential properties (as `plain.build_credential`
# reads them).
_ROW_KEYS = ("credentialSubject", "validFrom", "validUntil", "name", "description")
_CONST_KEYS = ("@context", "id", "type", "issuer", "credentialSchema", "credentialStatus")
_INDEX_MARK = "@@TP-STATUS-INDEX@@"
_VALUE_MARK = "@@TP-PROOF-VALUE@@"
_EXPECTED_ORDER = [
    "@context",
    "credentialSchema",
    "credentialStatus",
    "credentialSubject",
    "description",
    "id",
    "issuer",
    "name",
    "proof",
    "type",
    "validFrom",
    "validUntil",
]
_TOP_LEVEL = {
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "required",
    "additionalProperties",
    "properties",
}


_orjson_dumps = orjson.dumps
_HIGH_BYTE = re.compile(rb"[\xee-\xff]").search


def strings_only(schema: Any) -> bool:
    """Whether every JSON value valid under ``schema`` holds no number and no null: each
    (sub-)schema says ``type`` string, object (closed: ``additionalProperties: false``) or array
    (its ``items`` likewise), or is an ``enum``/``const`` of texts; anything else (another
    type, a type list, an open object, a combinator): False."""
    if not isinstance(schema, dict):
        return False
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            return True
    known = {"type", "properties", "required", "additionalProperties", "items", "pattern"}
    known |= {"minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "description"}
    if set(schema) - known:
        return False
    kind = schema.get("type")
    if kind == "string":
        return True
    if kind == "object":
        props = schema.get("properties", {})
        return (
            schema.get("additionalProperties") is False
            and isinstance(props, dict)
            and all(strings_only(v) for v in props.values())
        )
    if kind == "array":
        return strings_only(schema.get("items"))
    return False


_MAX_PROPS = 32  # (native_sign.c MAX_PROPS: the required members are a 32-bit mask)


def native_schema(schema: Any) -> tuple[Any, ...] | None:
    """A JSON Schema compiled for the C recognizer (``native_sign.recognizer``; its node forms
    are in credential/native_sign.c), or None when it uses anything the recognizer does not
    check exactly as jsonschema-rs does: only closed objects (``additionalProperties: false``,
    ASCII keys, their JCS order being byte order), strings with min/maxLength and a pattern of
    `schema_forms.NATIVE_PATTERNS`, enums/consts of strings, arrays with min/maxItems;
    annotations aside, any other keyword (another type, ``prefixItems``, ``oneOf``, formats...)
    is None. The leaf rules, the sizes and the pattern codes are `schema_forms`' (shared with
    `validation.native_form`); the node format and the object rules are this reader's."""
    if not isinstance(schema, dict):
        return None
    keys = set(schema) - ANNOTATIONS
    if "enum" in keys or "const" in keys:
        values = enum_values(schema, keys)
        if values is None:
            return None
        try:
            return (2, tuple(v.encode() for v in values))
        except UnicodeEncodeError:
            return None
    kind = schema.get("type")
    if kind == "string":
        return string_form(schema, keys, datetime=False)
    if kind == "array":
        return array_form(schema, keys, native_schema)
    members = object_members(schema, keys) if kind == "object" else None
    if members is None:
        return None
    props, required, closed = members
    names = sorted(props)
    if (
        not closed
        or len(names) > _MAX_PROPS
        or not all(k.isascii() for k in names)
        or not set(required) <= set(names)
    ):
        return None
    nodes = tuple(native_schema(props[k]) for k in names)
    if any(n is None for n in nodes):
        return None
    mask = sum(1 << i for i, k in enumerate(names) if k in required)
    return (0, tuple(k.encode() for k in names), nodes, mask)


#: Per kind, the dates `claims.subject_facts_ok` checks beside ``birthDate``: (the member, the
#: start date, the end date or "").
_FACT_DATES = {
    _types.DEGREE: ("degree", "awardDate", ""),
    _types.EMPLOYMENT: ("employment", "startDate", "endDate"),
}


def native_recognizer(
    kind: str, subject_schema: Any, identity: IssuerIdentity, today: dt.date
) -> Any:
    """``native_sign.recognizer`` for subject-only rows of ``kind`` (None: every row takes the
    Python path): the subject's schema (`native_schema`), the institution it binds
    (`bind_subject`), the dates `subject_facts_ok` checks, the holder's member and the degree
    level's path (`types.degree_level`)."""
    node = native_schema(subject_schema)
    if NATIVE_SIGN is None or kind not in _FACT_DATES or node is None or node[0] != 0:
        return None
    if b"credentialSubject" in node[1] or b"id" not in node[1] or b"birthDate" not in node[1]:
        return None  # (such a subject's record would read as a request: not this form)
    spec = BOUND_PARTY.get(kind)
    try:
        bind = (
            None
            if spec is None
            else (*(k.encode() for k in spec), identity.did.encode(), identity.name.encode())
        )
    except UnicodeEncodeError:
        return None
    facts = tuple(k.encode() for k in _FACT_DATES[kind])
    day = today.year * 10000 + today.month * 100 + today.day
    return NATIVE_SIGN.recognizer(node, bind, facts, day, b"id", (b"degree", b"level"))


def _member(key: str, canonical_value: bytes) -> bytes:
    return _jcs.canonicalize_reference(key) + b":" + canonical_value


class BulkTemplate:
    """Issue rows of one kind for one issuer, signer and time (see the module docstring)."""

    __slots__ = (
        "_const",
        "_ctx_check",
        "_ctx_schema",
        "_foreign_claims",
        "_issuer",
        "_kind",
        "_native",
        "_native_sign",
        "_options_hash",
        "_proof_head",
        "_proof_tail",
        "_recognizer",
        "_row_valid",
        "_sign",
        "_stamp",
        "_stamp_bytes",
        "_status_parts",
        "_strings_only",
        "_subject_head",
        "_subject_id_tail",
        "_subject_only",
        "_subject_tail",
        "_subject_valid",
        "_today",
        "_type",
        "_valid_from",
        "created",
        "enabled",
        "identity",
        "now",
        "signer",
    )

    def __init__(
        self,
        kind: str,
        *,
        identity: IssuerIdentity,
        signer: Signer,
        now: dt.datetime,
        native: bool = True,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {list(KINDS)}, found {kind!r}")
        self._kind, self.identity, self.signer, self.now = kind, identity, signer, now
        created = now.astimezone(dt.UTC).replace(microsecond=0)
        self.created = created
        self._stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._today = created.date()  # facts may not be after the service clock's UTC date
        self._stamp_bytes = _jcs.canonicalize_reference(self._stamp)
        self._sign = RawEd25519Signer(signer.key).sign
        schema = load_schema(kind)
        props = schema.get("properties", {})
        self.enabled = (
            set(schema) <= _TOP_LEVEL
            and schema.get("type") == "object"
            and schema.get("additionalProperties") is False
            and all(k in props for k in (*_ROW_KEYS, *_CONST_KEYS, "proof"))
        )
        # the constant part, exactly as `plain.build_credential` builds it
        issuer = _types.issuer_profile(identity.did, identity.name, kind)
        const: dict[str, Any] = {
            "@context": list(CONTEXTS[kind]),
            "type": ["VerifiableCredential", kind],
            "credentialSchema": {"id": SCHEMA_IDS[kind], "type": "JsonSchema"},
            "issuer": issuer,
        }
        required = set(schema.get("required", ()))
        row_schema = {
            "type": "object",
            "properties": {k: props[k] for k in _ROW_KEYS if k in props},
            "required": [k for k in _ROW_KEYS if k in required],
        }
        const_schema = {
            "type": "object",
            "properties": {k: props[k] for k in _CONST_KEYS if k in props},
            "required": [k for k in _CONST_KEYS if k in required],
        }
        sample = dict(const)
        sample["id"] = new_credential_id()
        sample["credentialStatus"] = status_entries(identity, 0)
        self.enabled = (
            self.enabled
            and compile_schema(const_schema).is_valid(sample)
            and self._structure_ok({**sample, "validFrom": self._stamp})
        )
        self._row_valid = compile_schema(row_schema).is_valid
        # other kinds' claim members (`types.KIND_CLAIMS`), which a subject of this kind may not
        # hold though its schema may admit them (an Open Badge's subject is open): such a row
        # goes to the plain path, whose `validation.validate_credential` refuses it naming the
        # member (`types.require_one_kind`); none to look for under a closed subject schema of
        # named members alone, which refuses every member it does not name (the degree's, the
        # employment's; a ``patternProperties`` or any other keyword may admit one: looked for)
        subject_schema = props.get("credentialSubject", {})
        closed = (
            isinstance(subject_schema, dict)
            and set(subject_schema) - ANNOTATIONS <= OBJECT_KEYS
            and subject_schema.get("additionalProperties") is False
            and isinstance(subject_schema.get("properties", {}), dict)
        )
        self._foreign_claims = tuple(
            member
            for other, member in _types.KIND_CLAIMS.items()
            if other != kind and not (closed and member not in subject_schema.get("properties", {}))
        )
        # a subject valid under a schema of texts only canonicalizes as orjson writes it,
        # unless a byte >= 0xEE may change the key order (`subject_bytes`)
        self._strings_only = strings_only(props.get("credentialSubject"))
        self._ctx_check = {"@context": const["@context"], "type": const["type"]}
        # status entries: canonical bytes around the index (inside two strings)
        status = _jcs.canonicalize(status_entries(identity, _INDEX_MARK))  # type: ignore[arg-type]
        parts = status.split(_INDEX_MARK.encode())
        self.enabled = self.enabled and len(parts) > 1
        self._status_parts = [b'"credentialStatus":' + parts[0], *parts[1:]]
        self._const = {k: _member(k, _jcs.canonicalize(v)) for k, v in const.items()}
        # top-level member order: UTF-16 order of the keys, as `issue_one` writes them
        every = [*const, "id", "credentialStatus", *_ROW_KEYS, "proof"]
        self.enabled = self.enabled and sorted(every, key=_jcs.utf16_key) == _EXPECTED_ORDER
        self._ctx_schema = self._const["@context"] + b"," + self._const["credentialSchema"]
        self._issuer = self._const["issuer"]
        self._type = self._const["type"]
        self._valid_from = b'"validFrom":' + self._stamp_bytes
        # proof options and the proof member around its proofValue
        options = _integrity.signing_proof(
            verification_method=signer.verification_method,
            created=created,
            context=const["@context"],
        )
        self._options_hash = _integrity.options_digest(options)
        proof = _jcs.canonicalize({**options, "proofValue": _VALUE_MARK})
        head, sep, tail = proof.partition(_VALUE_MARK.encode())
        self.enabled = self.enabled and bool(sep) and _VALUE_MARK.encode() not in tail
        self._proof_head = b'"proof":' + head
        self._proof_tail = tail
        # a request of a subject alone (`_issue_subject`): the row is that subject and
        # ``validFrom`` = the stamp, which the row schema accepts exactly when the subject is
        # valid under its own sub-schema and the stamp under its (checked here, once)
        self._subject_valid = compile_schema(props.get("credentialSubject", {})).is_valid
        self._subject_only = (
            kind != _types.OPEN_BADGE  # its name may come from the subject: the general path
            and compile_schema(props["validFrom"]).is_valid(self._stamp)
            and set(row_schema["required"]) <= {"credentialSubject", "validFrom"}
        )
        self._subject_head = b"{" + self._ctx_schema + b","
        self._subject_id_tail = b'",' + self._issuer + b","
        self._subject_tail = self._type + b"," + self._valid_from + b"}"
        # the same splice, hashes, signature and proof in C (`NATIVE_SIGN`), per row, with the
        # Python below as its twin whenever it answers None (``native=False``: always the twin)
        self._native = None
        self._native_sign = NATIVE_SIGN
        if native and NATIVE_SIGN is not None and self.enabled:
            self._native = NATIVE_SIGN.template(signer.key.sodium_secret, *self.native_parts())
        # a subject-only JSONL record checked and signed from its bytes (`issue_record`); the C
        # checks the subject's schema alone, never another kind's claim member: none where the
        # schema admits one (`_foreign_claims`), such a record then takes `issue_one`'s checks
        self._recognizer = None
        if self._native is not None and self._subject_only and not self._foreign_claims:
            self._recognizer = native_recognizer(
                kind, props.get("credentialSubject"), identity, self._today
            )

    @property
    def kind(self) -> str:
        """The credential kind this template issues."""
        return self._kind

    @property
    def native_template(self) -> Any:
        """The C template (``native_sign.template``) the rows go through first; None when they
        take the Python twin alone (the extension not built, ``native=False``, not enabled)."""
        return self._native

    @property
    def native_recognizer(self) -> Any:
        """The C recognizer of subject-only JSONL records (``native_sign.recognizer``) that
        `issue_record` tries; None when every record takes the Python path."""
        return self._recognizer

    def issue_record(
        self,
        record: bytes,
        status_index: int,
        credential_id: str,
        levels: tuple[bytes, ...] | None = None,
    ) -> tuple[str, bytes, bytes] | None:
        """`issue_one` of a raw JSONL record (the subject alone, or ``{"credentialSubject":
        subject}``) parsed, checked, bound, canonicalized and signed in one C call
        (``native_sign.issue_record``), or None: the caller then parses the record and takes
        the Python path (its twin: ``orjson.loads``, `issue_one`), which decides and names any
        error. ``levels``: the degree levels the issuer is accredited for (UTF-8), None for
        the whole kind; a row at another level is None (the caller refuses it).

        The C answers only for a record it can show the Python path signs with these very
        bytes: valid strict JSON of this schema's closed form (no duplicate member, no number,
        null or boolean, valid Unicode), the institution given as the issuer's own DID and
        exactly its registered name or not at all, every string within the schema's limits and
        patterns, the holder an Ed25519 did:key, the dates possible; anything else or unusual is
        None (tests/issuer/test_bulk_native_sign_records.py compares both paths on generated and
        hostile records)."""
        if self._recognizer is None:
            return None
        done: tuple[str, bytes, bytes] | None = self._native_sign.issue_record(
            self._native, self._recognizer, record, status_index, credential_id, levels
        )
        return done

    def native_parts(
        self,
    ) -> tuple[bytes, bytes, bytes, bytes, tuple[bytes, ...], bytes, bytes]:
        """``native_sign.template``'s arguments after the signer's secret: the options hash,
        the proof member around its proofValue (head, tail), and the constant bytes around a
        subject-only row's subject and index (head, status parts, id tail, tail)."""
        return (
            self._options_hash,
            self._proof_head,
            self._proof_tail,
            self._subject_head,
            tuple(self._status_parts),
            self._subject_id_tail,
            self._subject_tail,
        )

    def _structure_ok(self, doc: dict[str, Any]) -> bool:
        try:
            check_vc_structure(doc, "VerifiableCredential")
        except CredentialError:
            return False
        return True

    # -- one row -------------------------------------------------------------------------------
    def issue_one(
        self,
        request: Any,
        status_index: int,
        credential_id: str | None = None,
        *,
        owned: bool = False,
    ) -> tuple[str, bytes, bytes] | None:
        """(credential id, signed JCS bytes, credential hash), or None when the template cannot
        vouch for the row (the caller then issues it with ``plain.issue_plain``).

        The row's top-level properties are those `plain.build_credential` sets, validated with
        the row
        sub-schema (plus the holder did:key and, when the row sets more than the subject, the
        VC structure checks); the canonical members are spliced in UTF-16 key order (checked
        against `_EXPECTED_ORDER` when the template is built). ``owned``: the caller hands the
        request over (parsed for this call alone), so the subject's institution is bound in it
        (`bind_subject`'s ``owned``); a row answered None may then hold that binding, which
        binding again leaves as it is.
        """
        if not self.enabled or type(request) is not dict:
            return None
        subject = request.get("credentialSubject")
        if type(subject) is not dict:
            return None
        # the institution named in the subject is the issuer itself (another one: the generic
        # path reports it)
        try:
            subject = bind_subject(self._kind, subject, self.identity, owned=owned)
        except CredentialError:
            return None
        if len(request) == 1 and self._subject_only:  # the subject alone: most bulk rows
            return self._issue_subject(subject, status_index, credential_id)
        if not request.keys() <= REQUEST_FIELDS or request.get("type", self._kind) != self._kind:
            return None  # the generic path names the field (`request_fields_check`)
        get = request.get
        stamp = self._stamp
        valid_from = get("validFrom") or stamp
        row: dict[str, Any] = {"credentialSubject": subject, "validFrom": valid_from}
        valid_until = get("validUntil")
        if valid_until:
            row["validUntil"] = valid_until
        name = get("name")
        if name:
            row["name"] = name
        elif self._kind == _types.OPEN_BADGE:
            achievement = subject.get("achievement")
            if isinstance(achievement, dict) and achievement.get("name"):
                name = row["name"] = achievement["name"]
        description = get("description")
        if description:
            row["description"] = description
        if not self._row_valid(row) or (
            self._foreign_claims and any(m in subject for m in self._foreign_claims)
        ):
            return None
        holder = subject.get("id")
        if type(holder) is not str or not is_holder_did(holder):
            return None
        if (len(row) > 2 or valid_from is not stamp) and not self._structure_ok(
            {**self._ctx_check, **row}
        ):
            return None
        if not subject_facts_ok(self._kind, subject, self._today):
            try:  # the reference decides (subject_facts_ok answers True only when sure)
                check_facts(self._kind, subject, self._today)
            except CredentialError:  # an impossible or future fact: the generic path reports it
                return None
        cid = credential_id or new_credential_id()
        canon_text = _jcs.canonicalize_reference
        try:
            parts = [
                b"{",
                self._ctx_schema,
                b",",
                str(status_index).encode().join(self._status_parts),
                b',"credentialSubject":',
                self.subject_bytes(subject),
            ]
            if description:
                parts += (b',"description":', canon_text(description))
            parts += (b',"id":"', cid.encode(), b'",', self._issuer)
            if name:
                parts += (b',"name":', canon_text(name))
            parts.append(b",")
            tail = (
                self._type
                + b","
                + (
                    self._valid_from
                    if valid_from is stamp
                    else b'"validFrom":' + canon_text(valid_from)
                )
                + (b',"validUntil":' + canon_text(valid_until) if valid_until else b"")
                + b"}"
            )
        except CredentialError:  # e.g. an integer beyond 2**53: the generic path reports it
            return None
        # The unsigned and the signed forms share the prefix "{" + head + ",": hashed once.
        prefix = b"".join(parts)
        return self._signed(cid, prefix, tail)

    def _signed(self, cid: str, prefix: bytes, tail: bytes) -> tuple[str, bytes, bytes]:
        """`signed_reference`'s answer, in C when built (``native_sign.signed``, the same
        bytes: tests/credential/test_native_sign.py), else by that Python twin."""
        if self._native is not None:
            done: tuple[str, bytes, bytes] | None = self._native_sign.signed(
                self._native, cid, prefix, tail
            )
            if done is not None:
                return done
        return self.signed_reference(cid, prefix, tail)

    def signed_reference(self, cid: str, prefix: bytes, tail: bytes) -> tuple[str, bytes, bytes]:
        """(id, signed document, its hash) of the document ``prefix + tail``: the proof goes
        between them, signed over the unsigned form's hash (the prefix hashed once for both).
        The Python twin of ``native_sign.signed``, never the C path."""
        state = hashlib.sha256(prefix)
        unsigned = state.copy()
        unsigned.update(tail)
        proof = b"".join(
            (
                self._proof_head,
                b"z",
                b58encode_64_ascii(self._sign(self._options_hash + unsigned.digest())),
                self._proof_tail,
                b",",
            )
        )
        state.update(proof)
        state.update(tail)
        return cid, b"".join((prefix, proof, tail)), state.digest()

    def _issue_subject(
        self, subject: dict[str, Any], status_index: int, credential_id: str | None
    ) -> tuple[str, bytes, bytes] | None:
        """`issue_one` of a request holding only ``credentialSubject`` (bound already), the same
        checks and bytes with less per row: no row dict, no other member to look at, the
        constant members around the subject joined once (the byte-identical tests of
        `issue_one` cover it: tests/credential/test_cred_issuance.py forces this path).
        None: the generic path decides."""
        if not self._subject_valid(subject) or (
            self._foreign_claims and any(m in subject for m in self._foreign_claims)
        ):
            return None
        holder = subject.get("id")
        if type(holder) is not str or not is_holder_did(holder):
            return None
        if not subject_facts_ok(self._kind, subject, self._today):
            try:  # the reference decides (subject_facts_ok answers True only when sure)
                check_facts(self._kind, subject, self._today)
            except CredentialError:
                return None
        cid = credential_id or new_credential_id()
        if self._native is not None:  # the bytes below in C; None: this Python decides
            done: tuple[str, bytes, bytes] | None = self._native_sign.issue_subject(
                self._native, subject, status_index, cid
            )
            if done is not None:
                return done
        try:
            subject_bytes = self.subject_bytes(subject)
        except CredentialError:  # e.g. an integer beyond 2**53: the generic path reports it
            return None
        return self._signed(
            cid, self._subject_prefix(subject_bytes, status_index, cid), self._subject_tail
        )

    def _subject_prefix(self, subject_jcs: bytes, status_index: int, cid: str) -> bytes:
        return b"".join(
            (
                self._subject_head,
                str(status_index).encode().join(self._status_parts),
                b',"credentialSubject":',
                subject_jcs,
                b',"id":"',
                cid.encode(),
                self._subject_id_tail,
            )
        )

    def issue_subject_reference(
        self, subject_jcs: bytes, status_index: int, cid: str
    ) -> tuple[str, bytes, bytes]:
        """(id, signed document, its hash) of a subject-only row whose subject canonicalizes to
        ``subject_jcs``, its checks passed: the Python twin of ``native_sign.issue_subject``
        (which canonicalizes the subject itself), never the C path."""
        prefix = self._subject_prefix(subject_jcs, status_index, cid)
        return self.signed_reference(cid, prefix, self._subject_tail)

    def subject_bytes(self, subject: dict[str, Any]) -> bytes:
        """``jcs.canonicalize(subject)`` of a subject the row schema accepted (only such a
        subject: `issue_one` calls it after that check). Why: when that
        schema admits texts only (`strings_only`), orjson's sorted output is the JCS form
        unless a byte >= 0xEE may reorder keys, so `jcs.fast_path_exact`'s number and null
        scans (~0.7 us a row) are skipped; any doubt goes to `jcs.canonicalize`."""
        if self._strings_only:
            try:
                out = _orjson_dumps(subject, option=_jcs.ORJSON_OPTIONS)
            except (orjson.JSONEncodeError, TypeError):
                return _jcs.canonicalize(subject)
            if out.isascii() or _HIGH_BYTE(out) is None:
                return out
        return _jcs.canonicalize(subject)

    # -- many rows -----------------------------------------------------------------------------
    def issue_rows(self, requests: list[tuple[int, Any, int]]) -> list[Result]:
        """Same contract as ``plain.issue_plain`` (row, request or parse error, status index) ->
        (row, id or None, JCS bytes, hash, error field, error message), sorted by row."""
        out: list[Result] = []
        rest: list[tuple[int, Any, int]] = []
        ids = new_credential_ids(len(requests))
        for k, (row_no, request, index) in enumerate(requests):
            if isinstance(request, Exception):
                out.append((row_no, None, b"", b"", "", str(request)))
                continue
            try:
                done = self.issue_one(request, index, ids[k])
            except (CredentialError, ValueError, TypeError, orjson.JSONEncodeError):
                done = None
            if done is None:
                rest.append((row_no, request, index))
            else:
                out.append((row_no, done[0], done[1], done[2], "", ""))
        if rest:
            out.extend(self.issue_plain_rows(rest))
        out.sort(key=lambda item: item[0])
        return out

    def issue_plain_rows(self, rows: list[tuple[int, Any, int]]) -> list[Result]:
        """``plain.issue_plain`` of the rows; a row that fails the whole batch there (a value
        that cannot be canonicalized, e.g. an integer beyond 2**53 in an open part of a
        schema) becomes that row's error instead of failing the job."""

        def issue(part: list[tuple[int, Any, int]]) -> list[Result]:
            return issue_plain(
                self._kind, part, identity=self.identity, signer=self.signer, now=self.now
            )

        try:
            return issue(rows)
        except CredentialError:
            out: list[Result] = []
            for row in rows:
                try:
                    out.extend(issue([row]))
                except CredentialError as exc:
                    out.append((row[0], None, b"", b"", getattr(exc, "field", ""), str(exc)))
            return out
