"""Institutions: onboarding (on chain, then here), their public record, signing-key rotation,
accredited types and their API access (operator use cases)."""

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from talentproof.credential import types as _types

from .. import _cred, auth
from ..caches import IssuerCaches
from ..db import InstitutionRow, SigningKey, utcnow
from ..errors import Conflict, InvalidRequest, NotAccredited, NotFound
from ..store import ConnectionReads, CursorReads
from ..store import institutions as store
from ..store import registry_names as names_store
from ..vault import KeyVault
from .api_keys import add_api_key
from .collaborators import Collaborators
from .common import did_web, iso_z

_logger = logging.getLogger("talentproof.issuer.service")  # the service's log name, kept


def _ledger_pass_failed(
    what: str, slug: str | None, chain_issuer_id: int | None, exc: BaseException
) -> None:
    _logger.warning(
        "ledger pass (%s) failed for institution %s (chain issuer %s), retried at the next "
        "pass: %s",
        what,
        slug if slug is not None else "?",
        chain_issuer_id,
        exc,
        extra={"institution": slug, "chain_issuer_id": chain_issuer_id},
    )


SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: An institution's own did:web: a DNS host (lowercase, at least one dot, or localhost), an
#: optional %3A port, optional path segments.
DID_WEB = re.compile(
    r"^did:web:(?:localhost|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"
    r"(?:%3A[0-9]{1,5})?(?::[A-Za-z0-9._~-]+)*$"
)


#: Every accreditation name, in the order an institution's list keeps them: each kind, then its
#: level-scoped names (``DegreeCredential#level=associate``, ...).
ACCREDITATIONS: tuple[str, ...] = tuple(
    name for kind in _cred.KINDS for name in (kind, *_types.scoped_types(kind))
)


def accreditation_names(names: list[str], field: str) -> list[str]:
    """``names`` checked as accreditation names (a kind, or a degree kind scoped to a level:
    ``DegreeCredential#level=bachelor``); raises InvalidRequest naming the first bad one."""
    for name in names:
        try:
            _types.parse_accreditation(name)
        except ValueError as exc:
            raise InvalidRequest(f"{field}: {exc}", field=field) from None
    return names


def refuse_unaccredited(
    slug: str, types: Iterable[str], kind: str, request: Mapping[str, Any] | None
) -> None:
    """NotAccredited unless an institution accredited for ``types`` may sign a ``kind``
    credential: for the whole kind, or (``request`` given) for its degree's level. Without a
    request, any level of the kind will do (a bulk job's upload: each row is judged later)."""
    levels = _types.accredited_levels(types, kind)
    if levels is not None and not levels:
        raise NotAccredited(f"institution {slug!r} is not accredited to issue {kind}", field="type")
    if request is None:
        return
    why = _types.level_refusal(
        types, kind, request.get("credentialSubject"), f"institution {slug!r}"
    )
    if why is not None:
        raise NotAccredited(why, field="credentialSubject.degree.level")


@dataclass(frozen=True, slots=True)
class IssuingInstitution:
    """An institution as issuance needs it (cached: `institution_info`)."""

    id: int
    slug: str
    name: str
    did: str
    types: tuple[str, ...]
    chain_issuer_id: int | None = None


def institution_info(
    caches: IssuerCaches, db: CursorReads | ConnectionReads, institution_id: int
) -> IssuingInstitution:
    """The institution as issuance needs it, cached ``caches.CACHE_TTL_S`` (another process's
    change of its accredited types is seen within that time; this process's at once)."""
    cached: IssuingInstitution | None = caches.institutions.get(institution_id)
    if cached is not None:
        return cached
    row = db.institution(institution_id)
    if row is None:
        raise NotFound(f"no institution {institution_id}")
    inst_id, slug, name, did, types, chain_issuer_id = row
    info = IssuingInstitution(inst_id, slug, name, did, tuple(types.split(",")), chain_issuer_id)
    caches.institutions.put(institution_id, info)
    return info


def open_account_key(vault: KeyVault, inst: InstitutionRow) -> bytes:
    """The institution's chain-account private key (decrypted, in memory only)."""
    return vault.open(inst.chain_account_key_enc, context=f"account:{inst.id}")


def institution_body(inst: InstitutionRow, keys: list[SigningKey]) -> dict[str, Any]:
    """An institution's public record."""
    return {
        "slug": inst.slug,
        "name": inst.name,
        "did": inst.did,
        "chain_issuer_id": inst.chain_issuer_id,
        "chain_account": inst.chain_account,
        "credential_types": inst.credential_types.split(","),
        "status": inst.status,
        "signing_keys": [
            {
                "id": k.id,
                "publicKeyMultibase": k.public_key_multibase,
                "active": k.active,
                "created_at": iso_z(k.created_at),
                # set when the ledger watch retired the key: governance revoked it on chain
                "closed_on_chain_at": iso_z(k.closed_on_chain_at),
            }
            for k in keys
        ],
        "did_document": f"/institutions/{inst.slug}/did.json",
    }


class Institutions:
    """The institution use cases."""

    def __init__(self, c: Collaborators) -> None:
        self.c = c

    def did_for(self, slug: str) -> str:
        """The institution's did:web identifier."""
        return did_web(self.c.settings.public_url, slug)

    def onboard(
        self,
        session: Session,
        *,
        name: str,
        slug: str,
        credential_types: list[str],
        chain_issuer_id: int | None = None,
        did: str | None = None,
    ) -> dict[str, Any]:
        """Register an institution (on chain through the ledger layer, then here).

        Generates its Ed25519 signing key and chain account (both sealed at rest), registers the
        issuer (or links ``chain_issuer_id``), its key and accredited types on chain, and returns
        a first API key with every scope. ``did``: the institution's own did:web (e.g.
        ``did:web:osl.com``, which it serves at ``https://osl.com/.well-known/did.json``, a
        copy of ``/institutions/<slug>/did.json``); default the did:web derived from the public
        URL and the slug. A DID names one institution only (409 otherwise).
        """
        if not SLUG.match(slug):
            raise InvalidRequest(f"slug must match {SLUG.pattern}, got {slug!r}", field="slug")
        if not credential_types:
            raise InvalidRequest(
                f"credential_types must name at least one of {list(_cred.KINDS)} (a degree may be "
                "limited to levels: DegreeCredential#level=<level>)",
                field="credential_types",
            )
        accreditation_names(credential_types, "credential_types")
        if store.slug_taken(session, slug):
            raise Conflict(f"an institution with slug {slug!r} exists")
        if did is None:
            did = self.did_for(slug)
        elif not DID_WEB.match(did):
            raise InvalidRequest(
                "did must be a did:web of the institution's own domain (did:web:<host>[%3A<port>]"
                f"[:<path>...], lowercase host), e.g. did:web:osl.com; got {did[:100]!r}",
                field="did",
            )
        if store.did_taken(session, did):
            raise Conflict(f"the DID {did!r} already names another institution")
        if chain_issuer_id is not None:
            self._refuse_another_on_chain(chain_issuer_id, name, did)
        seed, public_raw, multibase = _cred.new_seed()
        account_key, account_address = self.c.chain.new_account()
        issuer_id = self.c.chain.onboard_issuer(
            name=name,
            did=did,
            account=account_address,
            signing_key=public_raw,
            credential_types=credential_types,
            issuer_id=chain_issuer_id,
            fund_wei=self.c.settings.fund_accounts_wei,
        )
        inst = InstitutionRow(
            slug=slug,
            name=name,
            did=did,
            chain_issuer_id=issuer_id,
            chain_account=account_address,
            chain_account_key_enc=b"",
            credential_types=",".join(credential_types),
            status="active",
            next_status_index=0,
        )
        session.add(inst)
        session.flush()
        inst.chain_account_key_enc = self.c.vault.seal(account_key, context=f"account:{inst.id}")
        key_row = self._add_signing_key(session, inst.id, seed, public_raw, multibase)
        api = add_api_key(session, inst.id, auth.SCOPES, "initial")
        _logger.info(
            "institution onboarded", extra={"institution": slug, "chain_issuer_id": issuer_id}
        )
        body = institution_body(inst, [key_row])
        body["api_key"] = {"id": api.key_id, "token": api.token, "scopes": list(auth.SCOPES)}
        return body

    def _refuse_another_on_chain(self, issuer_id: int, name: str, did: str) -> None:
        """Linking ``issuer_id`` (an issuer registered on chain beside the service) gives this
        institution an account and a signing key on that record, and verifiers read the name and
        DID from it: the record must be this institution's. Raises `InvalidRequest` (422) when no
        issuer holds the id, `Conflict` (409) naming both DIDs or both names when they differ
        (names compared as a credential's institution is: case, punctuation and spacing aside).
        Nothing is sent to the chain or stored then."""
        rec = self.c.chain.issuer_record(issuer_id)
        if not rec.registered_at:
            raise InvalidRequest(
                f"chain_issuer_id {issuer_id}: no issuer is registered on the ledger under this "
                "id (an existing issuer's id, or none to register a new one)",
                field="chain_issuer_id",
            )
        differ = []
        if rec.did != did:
            differ.append(f"its DID is {rec.did!r}, not {did!r}")
        if not _cred.same_name(name, rec.name):
            differ.append(f"its name is {rec.name!r}, not {name!r}")
        if differ:
            raise Conflict(
                f"chain issuer {issuer_id} is another institution: {'; '.join(differ)} (link "
                "only the issuer registered on the ledger under this institution's DID and name)"
            )

    def get(self, slug: str) -> dict[str, Any]:
        """An institution's public record."""
        with self.c.sessions() as session:
            inst = store.by_slug(session, slug)
            return institution_body(inst, store.signing_keys(session, inst.id))

    def list_all(self) -> list[dict[str, Any]]:
        """Every institution (operator view)."""
        with self.c.sessions() as session:
            return [
                institution_body(inst, store.signing_keys(session, inst.id))
                for inst in store.all_institutions(session)
            ]

    def _add_signing_key(
        self, session: Session, institution_id: int, seed: bytes, public_raw: bytes, multibase: str
    ) -> SigningKey:
        """Store an active signing key, its seed sealed under a context naming its row."""
        key_row = SigningKey(
            institution_id=institution_id,
            public_key_multibase=multibase,
            public_key_raw=public_raw,
            seed_enc=b"",
            active=True,
        )
        session.add(key_row)
        session.flush()  # the row id is part of the sealing context
        key_row.seed_enc = self.c.vault.seal(seed, context=f"signing-key:{key_row.id}")
        return key_row

    def rotate_signing_key(self, session: Session, slug: str) -> dict[str, Any]:
        """New signing key registered on chain (ledger ``add_signing_key``), then used here.

        The old key stays valid on chain for credentials already signed with it (they may still
        be waiting for their anchor); it is retired locally and signs nothing more.
        """
        inst = store.by_slug(session, slug)
        seed, public_raw, multibase = _cred.new_seed()
        if inst.chain_issuer_id is None:
            raise Conflict(f"institution {slug!r} has no on-chain issuer id")
        self.c.chain.add_signing_key(inst.chain_issuer_id, public_raw)
        now = utcnow()
        for old in store.active_signing_keys(session, inst.id):
            old.active = False
            old.retired_at = now
        key_row = self._add_signing_key(session, inst.id, seed, public_raw, multibase)
        self.c.caches.signers.pop(inst.id)
        self.c.caches.forget()
        keys = store.signing_keys(session, inst.id)
        _logger.info("signing key rotated", extra={"institution": slug, "key_id": key_row.id})
        return institution_body(inst, keys)

    def change_credential_types(
        self, session: Session, slug: str, *, grant: list[str], withdraw: list[str]
    ) -> dict[str, Any]:
        """Grant or withdraw accredited types, on chain (ledger) and here."""
        inst = store.by_slug(session, slug)
        if not (grant or withdraw):
            raise InvalidRequest(
                f"grant/withdraw must name types among {list(_cred.KINDS)} (or a degree level: "
                "DegreeCredential#level=<level>), got none",
                field="grant",
            )
        accreditation_names(grant, "grant")
        accreditation_names(withdraw, "withdraw")
        if inst.chain_issuer_id is None:
            raise Conflict(f"institution {slug!r} has no on-chain issuer id")
        # The chain decides, not this table: the consortium may have granted a type or a level
        # with the governance CLI, which this service never hears of; filtering by the table
        # left such a grant open on chain (and what the institution signed under it VALID).
        # Withdrawing a type with levels (a degree) closes every open grant of it, the whole
        # type and each level, as `talentproof governance withdraw-type` does.
        chain_open = self.c.chain.open_credential_types(inst.chain_issuer_id, list(ACCREDITATIONS))
        asked = {
            name
            for t in withdraw
            for name in (t, *(_types.scoped_types(t) if "#" not in t else ()))
        }
        to_withdraw = [t for t in ACCREDITATIONS if t in asked and t in chain_open]
        to_grant = [t for t in grant if t not in chain_open and t not in to_withdraw]
        self.c.chain.change_credential_types(
            inst.chain_issuer_id, grant=to_grant, withdraw=to_withdraw
        )
        updated = [
            t for t in ACCREDITATIONS if (t in chain_open or t in to_grant) and t not in to_withdraw
        ]
        inst.credential_types = ",".join(updated)
        self.c.caches.forget()
        return {"slug": slug, "credential_types": updated}

    def close_withdrawn_types(self) -> list[tuple[str, str]]:
        """Drop from each institution's accredited types every name whose grant the registry no
        longer holds open (withdrawn, or its window ended), whoever closed it: governance with
        its CLI never tells this table, and issuance (every route, bulk jobs too) judges by it.
        Only ever narrows: a grant made on chain outside the service is not added (the operator
        API adopts it on its next change). Returns the (slug, name) pairs closed. An
        institution whose read fails (`LedgerUnavailable`, anything) is logged with its slug and
        skipped (judged at the next pass); the others go on."""
        with self.c.sessions() as session:
            listed = [
                (inst.id, inst.slug, inst.chain_issuer_id, inst.credential_types)
                for inst in store.on_chain(session)
            ]
        closed: list[tuple[str, str]] = []
        for inst_id, slug, chain_issuer_id, types in listed:
            names = [t for t in types.split(",") if t]
            if not names or chain_issuer_id is None:
                continue
            try:
                still_open = set(self.c.chain.open_credential_types(chain_issuer_id, names))
            except Exception as exc:  # one institution's failure stops no other
                _ledger_pass_failed("accredited types", slug, chain_issuer_id, exc)
                continue
            if all(name in still_open for name in names):
                continue
            with self.c.session() as session:
                inst = session.get(InstitutionRow, inst_id)
                if inst is None or inst.credential_types != types:
                    continue  # changed meanwhile (the operator API): judged at the next read
                inst.credential_types = ",".join(n for n in names if n in still_open)
                closed += [(inst.slug, n) for n in names if n not in still_open]
            self.c.caches.forget()
        for slug, name in closed:
            _logger.warning(
                "accreditation closed on the ledger: no longer issued",
                extra={"institution": slug, "credential_type": name},
            )
        return closed

    def close_keys_the_ledger_closed(self) -> list[tuple[str, int]]:
        """Retire every active signing key the registry no longer holds valid: governance
        revoked it (``revokeSigningKey``, with its CLI, which never tells this table) or its
        window ended. Issuance then refuses, naming the cause and the operator's remedy (a
        rotation), and a bulk job signing with the key stops (`store.closed_on_chain`). Only
        ``revoked`` and ``ended`` close a key: a key the registry does not list yet (one just
        rotated in, read from a node behind) is left alone. Returns the (slug, key id) pairs
        retired. An institution whose read fails (`LedgerUnavailable`, anything) is logged with
        its chain issuer id and skipped (judged at the next pass); the others go on."""
        with self.c.sessions() as session:
            active = store.active_keys_on_chain(session)
        by_issuer: dict[int, list[tuple[int, bytes]]] = {}
        for _inst_id, chain_issuer_id, key_id, raw in active:
            if chain_issuer_id is not None:  # the query asks for registered ones only
                by_issuer.setdefault(chain_issuer_id, []).append((key_id, raw))
        to_close: list[int] = []
        for chain_issuer_id, keys in by_issuer.items():
            try:
                records = self.c.chain.signing_keys(chain_issuer_id, [raw for _, raw in keys])
            except Exception as exc:  # one institution's failure stops no other
                _ledger_pass_failed("signing keys", None, chain_issuer_id, exc)
                continue
            to_close += [
                key_id for key_id, raw in keys if records.state(raw) in ("revoked", "ended")
            ]
        if not to_close:
            return []
        with self.c.session() as session:
            closed = store.close_keys_on_chain(session, to_close, utcnow())
        for inst_id, slug, key_id in closed:
            self.c.caches.signers.pop(inst_id)
            _logger.warning(
                "signing key closed on the ledger: retired, nothing more is signed with it",
                extra={"institution": slug, "key_id": key_id},
            )
        self.c.caches.forget()
        return [(slug, key_id) for _inst_id, slug, key_id in closed]

    def check_registry_names(self) -> list[dict[str, Any]]:
        """Compare each on-chain institution's name and DID with the registry's record of its
        issuer id (`ChainGateway.issuer_record`; names by `credential.text.same_name`, DIDs
        equal). An institution linked to an existing chain issuer before its name and DID were
        checked (94516f4) may differ: the verifier's check 6 then fails its credentials, which
        state the name this table holds. Records the mismatches (``issuer_meta``, so
        `/readyz` names them in every process: `store.registry_names`) and logs a warning
        naming the remedy for each new one. An institution whose read fails is logged and
        keeps its last recorded result; returns the mismatches now recorded."""
        with self.c.sessions() as session:
            listed = [
                (inst.slug, inst.chain_issuer_id, inst.name, inst.did)
                for inst in store.on_chain(session)
            ]
            before = {m["slug"]: m for m in names_store.load(session)}
        found: list[dict[str, Any]] = []
        for slug, chain_issuer_id, name, did in listed:
            if chain_issuer_id is None:
                continue
            try:
                rec = self.c.chain.issuer_record(chain_issuer_id)
            except Exception as exc:  # one institution's failure stops no other
                _ledger_pass_failed("registry name", slug, chain_issuer_id, exc)
                if slug in before:
                    found.append(before[slug])
                continue
            if _cred.same_name(name, rec.name) and did == rec.did:
                continue
            entry = {
                "slug": slug,
                "chainIssuerId": chain_issuer_id,
                "stored": {"name": name, "did": did},
                "onChain": {"name": rec.name, "did": rec.did},
            }
            found.append(entry)
            if before.get(slug) != entry:
                _logger.warning(
                    "institution %r differs from its registry record (issuer %d): stored name "
                    "%r, DID %r; on chain %r, %r. Its credentials fail the verifier's issuer "
                    "check: set the institution's name and DID in the issuer database to the "
                    "registry's (the registry records no rename)",
                    slug,
                    chain_issuer_id,
                    name,
                    did,
                    rec.name,
                    rec.did,
                    extra={"institution": slug, "chain_issuer_id": chain_issuer_id},
                )
        if found != list(before.values()):
            with self.c.session() as session:
                names_store.save(session, found)
        return found

    def set_status(self, session: Session, slug: str, status: str) -> dict[str, Any]:
        """Suspend (``suspended``) or reactivate (``active``) an institution's API access."""
        if status not in ("active", "suspended"):
            raise InvalidRequest(
                f"status must be 'active' or 'suspended', got {status!r}", field="status"
            )
        inst = store.by_slug(session, slug)
        inst.status = status
        self.c.caches.forget()
        return {"slug": slug, "status": status}
