"""What a stored credential says, and whether it is still valid as far as the wallet can tell.

`describe` is one line of what the credential states (degree level, field and institution;
employer, role and dates; the badge's achievement). `check` looks at validity locally with
`talentproof.credential` (the issuer's eddsa-jcs-2022 signature, ``validFrom``/``validUntil``,
the anchor proof's Merkle path to its root) and, when an HTTP client is given, that the issuer's
DID document (read at its did:web address) lists the signing key, and the credential's Bitstring
Status List entries at the issuer (the list's own signature checked too). Whether the anchor's
root is on the chain is the verifier's check, not the wallet's: the wallet reads no chain.
"""

from __future__ import annotations

import base64
import binascii
import gzip
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from talentproof.credential.anchor import split_anchor
from talentproof.credential.errors import CredentialError
from talentproof.credential.integrity import parse_datetime, verify, verify_and_hash
from talentproof.credential.keys import Ed25519PublicKey
from talentproof.credential.keys import did_web_url as _https_did_web_url

__all__ = [
    "KINDS",
    "USABLE",
    "Candidate",
    "Validity",
    "check",
    "describe",
    "issuer_of",
    "kind_of",
    "sort_for_presentation",
    "status_bit",
    "status_list_dates",
]

KINDS = {
    "DegreeCredential": "degree",
    "EmploymentCredential": "employment",
    "OpenBadgeCredential": "training",
}


def kind_of(credential: Mapping[str, Any]) -> str:
    """``degree``, ``employment``, ``training`` or the credential's last type."""
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    for t in types:
        if t in KINDS:
            return KINDS[t]
    return str(types[-1]) if types else "credential"


def issuer_of(credential: Mapping[str, Any]) -> str:
    """The issuer's name and DID (or its DID)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        name, did = issuer.get("name"), issuer.get("id")
        return f"{name} ({did})" if name else str(did)
    return str(issuer)


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    s = credential.get("credentialSubject")
    s = s[0] if isinstance(s, list) and s else s
    return s if isinstance(s, Mapping) else {}


def describe(credential: Mapping[str, Any]) -> str:
    """One line saying what the credential states about its holder."""
    s = _subject(credential)
    if isinstance(s.get("degree"), Mapping):
        d = s["degree"]
        inst = d.get("institution", {})
        inst_name = inst.get("name") if isinstance(inst, Mapping) else inst
        text = f"{d.get('level')} in {d.get('fieldOfStudy')}, {inst_name}, awarded {d.get('awardDate')}"
        return text + (f" ({d['honours']})" if d.get("honours") else "")
    if isinstance(s.get("employment"), Mapping):
        e = s["employment"]
        emp = e.get("employer", {})
        emp_name = emp.get("name") if isinstance(emp, Mapping) else emp
        until = e.get("endDate") or "present"
        return (
            f"{e.get('role')} ({e.get('seniority')}) at {emp_name}, {e.get('startDate')} to {until}"
        )
    if isinstance(s.get("achievement"), Mapping):
        a = s["achievement"]
        text = f"{a.get('name')} ({a.get('achievementType')})"
        results = [r.get("value") for r in s.get("result") or [] if isinstance(r, Mapping)]
        results = [r for r in results if r]
        return text + (f", result {', '.join(map(str, results))}" if results else "")
    return str(credential.get("name") or credential.get("id") or "?")


@dataclass
class Validity:
    """What the wallet could establish about a credential."""

    signature: str = "not checked"  # "valid" or the reason it is not
    dates: str = "valid"  # "valid", "expired <when>", "not yet valid (from <when>)"
    anchor: str = "pending"  # "anchored", "pending" or the reason the anchor proof is broken
    status: dict[str, str] = field(
        default_factory=dict
    )  # purpose -> "clear", "set", "not checked (...)", "not confirmed (the status list is ...)"
    #: "listed in ...", "not confirmed: ..." (the issuer's DID document could not be read),
    #: "not checked (offline)" or "not checked"; a document that does not list the key makes
    #: `signature` invalid
    issuer_key: str = "not checked"

    @property
    def summary(self) -> str:
        """One word: valid, pending, not confirmed, revoked, suspended, expired or invalid."""
        if self.signature != "valid" or self.anchor not in ("anchored", "pending"):
            return "invalid"
        if self.status.get("revocation") == "set":
            return "revoked"
        if self.status.get("suspension") == "set":
            return "suspended"
        if self.dates != "valid":
            return "expired" if self.dates.startswith("expired") else "not yet valid"
        if self.issuer_key.startswith("not confirmed") or any(
            s.startswith("not confirmed") for s in self.status.values()
        ):
            return "not confirmed"
        return "valid" if self.anchor == "anchored" else "pending"


#: The summaries of a credential a verifier may accept (pending: not anchored yet, which the
#: verifier says itself; not confirmed: the issuer's key could not be looked up, the verifier
#: reads it on the ledger).
USABLE = ("valid", "pending", "not confirmed")


@dataclass(frozen=True)
class Candidate:
    """A stored credential weighed for a presentation: its name, its JSON, what `check` found."""

    name: str
    document: dict[str, Any]
    validity: Validity

    @property
    def usable(self) -> bool:
        """Valid or pending: not revoked, suspended, expired, not yet valid or broken."""
        return self.validity.summary in USABLE


def sort_for_presentation(
    stored: Iterable[tuple[str, dict[str, Any]]],
    now: datetime,
    client: httpx.Client | None = None,
) -> tuple[list[Candidate], list[Candidate]]:
    """(usable, held back): each stored ``(name, document)`` checked (`check`; the status lists
    over HTTP when ``client`` is given, not the issuers' DID documents: the verifier reads the
    issuer's keys on the ledger, and the officer is waiting). The usable ones are in the order a
    wallet offers them: anchored before pending, then newest ``validFrom`` first; the held back
    ones (revoked, suspended, expired, not yet valid, invalid) in the same order."""
    checked = [
        Candidate(name, doc, check(doc, now, client, issuer_keys=False)) for name, doc in stored
    ]
    checked.sort(
        key=lambda c: (c.validity.anchor == "anchored", str(c.document.get("validFrom", ""))),
        reverse=True,
    )
    return [c for c in checked if c.usable], [c for c in checked if not c.usable]


#: How old a status list credential's ``validFrom`` may be for its bits to count (seconds): the
#: issuer signs each list afresh when it is read (``validFrom`` = the read of the registry), and
#: while its ledger is unreachable serves the last read up to 300 s
#: (``issuer.usecases.publication.STATUS_READS_STALE_MAX_S``), which a cache may keep for the
#: list's ``ttl`` (60 s) more. An older list, genuinely signed, may be one replayed from before a
#: revocation (a proxy, a stale cache): its bits are "not confirmed", never "clear". The browser
#: wallet's ``STATUS_LIST_MAX_AGE_S`` (wallet/static/core.js) is its twin.
STATUS_LIST_MAX_AGE_S = 360
#: How far in the future a list's ``validFrom`` may be (clock skew between issuer and wallet).
STATUS_LIST_CLOCK_SKEW_S = 60


def status_list_dates(doc: Mapping[str, Any], now: datetime) -> str | None:
    """``None`` when the status list credential ``doc`` is currently valid and fresh (its
    ``validFrom`` within `STATUS_LIST_MAX_AGE_S` of ``now`` and not later than the clock skew
    allows, its ``validUntil``, if any, not past); otherwise the "not confirmed (...)" status to
    show instead of its bits."""
    start, until = doc.get("validFrom"), doc.get("validUntil")
    if not isinstance(start, str):
        return "not confirmed (the status list has no validFrom: its age is unknown)"
    try:
        begins = parse_datetime(start)
        ends = parse_datetime(until) if isinstance(until, str) else None
    except (ValueError, CredentialError):
        return "not confirmed (the status list's validity dates are unreadable)"
    if until is not None and ends is None:
        return "not confirmed (the status list's validUntil is not a date)"
    if ends is not None and ends < now:
        return f"not confirmed (the status list expired {until})"
    age = (now - begins).total_seconds()
    if age < -STATUS_LIST_CLOCK_SKEW_S:
        return f"not confirmed (the status list is valid only from {start})"
    if age > STATUS_LIST_MAX_AGE_S:
        return (
            f"not confirmed (the status list is {int(age // 60)} minutes old, signed {start}; "
            f"a list older than {STATUS_LIST_MAX_AGE_S // 60} minutes may be one replayed from "
            "before a revocation)"
        )
    return None


def status_bit(encoded_list: str, index: int) -> bool:
    """Bit ``index`` of a Bitstring Status List ``encodedList`` (multibase base64url of the
    GZIP-compressed bits; index 0 is the left-most bit of the first byte)."""
    if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
        raise ValueError("encodedList: expected multibase base64url (prefix 'u')")
    body = encoded_list[1:]
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, OSError, EOFError) as exc:
        raise ValueError(f"encodedList: not GZIP-compressed base64url ({exc})") from exc
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} outside the list of {len(bits) * 8} entries")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def check(
    credential: Mapping[str, Any],
    now: datetime,
    client: httpx.Client | None = None,
    *,
    issuer_keys: bool = True,
) -> Validity:
    """The credential's validity as far as the wallet can tell (see the module's doc); with a
    ``client`` and ``issuer_keys``, the issuer's DID document is read too (`Validity.issuer_key`)."""
    v = Validity()
    signer = None
    try:
        signed, anchor = split_anchor(credential)
        verified, chash = verify_and_hash(signed)
        signer = verified.public_key
        if client is None:
            v.issuer_key = "not checked (offline)"
        elif issuer_keys:
            v.issuer_key = _issuer_key(credential, verified.verification_method, signer, client)
        v.signature = "valid"
        if anchor is not None:
            anchor.verify(chash)
            v.anchor = "anchored"
    except CredentialError as exc:
        if v.signature == "valid":
            v.anchor = f"broken anchor proof ({exc})"
        else:
            v.signature = f"invalid ({exc})"
    try:
        until = credential.get("validUntil")
        start = credential.get("validFrom")
        if isinstance(until, str) and parse_datetime(until) < now:
            v.dates = f"expired {until}"
        elif isinstance(start, str) and parse_datetime(start) > now:
            v.dates = f"not yet valid (from {start})"
    except (ValueError, CredentialError):
        v.dates = "unreadable validity dates"
    entries = credential.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries] if entries else []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        purpose = str(entry.get("statusPurpose"))
        v.status[purpose] = (
            "not checked (offline)"
            if client is None
            else "not checked (the credential's signature is invalid)"
            if signer is None
            else _status(entry, credential, signer, client, now)
        )
    return v


class _KeyNotListed(CredentialError):
    """The issuer's DID document does not list the key the credential is signed with."""


def did_web_address(did: str) -> str:
    """Where a did:web DID's document is read: https, except for a development host on this
    computer (localhost, 127.0.0.1, [::1]), which TalentProof's issuer serves over http (the
    browser wallet's ``didWebUrl``, its twin)."""
    url = _https_did_web_url(did)
    host = url[len("https://") :].partition("/")[0]
    if host.rpartition(":")[0] in ("localhost", "127.0.0.1", "[::1]") or host in (
        "localhost",
        "127.0.0.1",
        "[::1]",
    ):
        return "http://" + url[len("https://") :]
    return url


#: The start of every "not confirmed" reason: the rule the applicant needs to make sense of it.
_UNCONFIRMED = "not confirmed: a wallet trusts an issuer's key only from the issuer's own address,"

#: What `wallet list` says under a credential whose issuer's key it could not confirm.
UNCONFIRMED_NOTE = (
    "NOT CONFIRMED means: the signature is valid, but this wallet could not confirm that the "
    "key is the issuer's (see 'its key'). You can still present it: the verifier checks the "
    "issuer's key on the ledger, and refuses the credential if that issuer did not register "
    "the key."
)

#: What `wallet list` says under a credential whose status list was too old or not current.
STATUS_UNCONFIRMED_NOTE = (
    "NOT CONFIRMED means: the issuer's status list this wallet received is not current (too "
    "old, expired or dated in the future), so it cannot say whether the credential was revoked "
    "or suspended since; check again later. The verifier reads the status on the ledger itself."
)


def _network_words(exc: httpx.HTTPError) -> str:
    """An httpx failure in words an applicant reads (not its class name)."""
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "no connection: the host is unknown or refused it"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return "a network error"


def _issuer_key(
    credential: Mapping[str, Any], method: str, signer: Ed25519PublicKey, client: httpx.Client
) -> str:
    """Whether the issuer's DID document, read at its did:web address, lists ``method`` with
    the key ``signer``: "listed in ..." or "not confirmed..." when it cannot be read; raises
    `_KeyNotListed` when it is read and does not list it. The verification method names its own
    key (``did:web:hku.hk#z6Mk...``), so without this any key signs in any issuer's name."""
    issuer = credential.get("issuer")
    did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(did, str) or not did.startswith("did:web:"):
        return f"not confirmed (the issuer {did!r:.80} is not a did:web DID)"
    try:
        url = did_web_address(did)
    except ValueError as exc:
        return f"not confirmed (the issuer {did!r:.80} names no address to read: {exc})"
    try:
        r = client.get(url)
        if r.status_code != 200:
            return f"{_UNCONFIRMED} {url}, which answered HTTP {r.status_code}"
        doc = r.json()
    except httpx.HTTPError as exc:
        return f"{_UNCONFIRMED} {url}, which could not be reached ({_network_words(exc)})"
    except ValueError as exc:
        return f"{_UNCONFIRMED} {url}, which is not a readable DID document ({exc})"
    if not isinstance(doc, Mapping) or doc.get("id") != did:
        found = doc.get("id") if isinstance(doc, Mapping) else doc
        raise _KeyNotListed(f"the DID document at {url} is {found!r:.80}'s, not the issuer {did}'s")
    for entry in doc.get("verificationMethod") or []:
        if not isinstance(entry, Mapping):
            continue
        vm_id = entry.get("id")
        vm_id = did + vm_id if isinstance(vm_id, str) and vm_id.startswith("#") else vm_id
        if vm_id == method and entry.get("publicKeyMultibase") == signer.multibase:
            return f"listed in {did}'s DID document ({url})"
    raise _KeyNotListed(f"the key {signer.multibase} is not in the issuer's DID document ({url})")


def _status(
    entry: Mapping[str, Any],
    credential: Mapping[str, Any],
    signer: Ed25519PublicKey,
    client: httpx.Client,
    now: datetime,
) -> str:
    url = entry.get("statusListCredential")
    try:
        index = int(entry.get("statusListIndex"))  # type: ignore[arg-type]  # checked by int()
    except (TypeError, ValueError):
        return "not checked (no statusListIndex)"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return "not checked (no statusListCredential URL)"
    try:
        r = client.get(url)
        if r.status_code != 200:
            return f"not checked (HTTP {r.status_code} from {url})"
        doc = r.json()
        if verify(doc).public_key != signer:
            return f"not checked (the list at {url} is not signed by the credential's issuer key)"
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        list_issuer = doc.get("issuer")
        list_issuer = list_issuer.get("id") if isinstance(list_issuer, Mapping) else list_issuer
        if list_issuer != issuer_id:
            return f"not checked (the list at {url} is issued by {list_issuer}, not {issuer_id})"
        stale = status_list_dates(doc, now)
        if stale is not None:
            return stale
        return "set" if status_bit(doc["credentialSubject"]["encodedList"], index) else "clear"
    except httpx.HTTPError as exc:
        return f"not checked (cannot reach {url}: {type(exc).__name__})"
    except (ValueError, KeyError, TypeError, CredentialError) as exc:
        return f"not checked (unreadable status list: {exc})"
