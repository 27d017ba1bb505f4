"""What an institution publishes for verifiers: its did:web document and its signed Bitstring
Status Lists (revocation, suspension)."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import _cred
from ..db import AnchorBatch, Credential, utcnow
from ..errors import LedgerUnavailable, NotFound
from ..statuslist import encode_bitstring, list_length
from ..store import credentials as credential_store
from ..store import institutions as institution_store
from ..store import status_changes as status_change_store
from .collaborators import Collaborators

STATUS_PURPOSES = ("revocation", "suspension")

#: Hashes or roots per ``IN (...)`` of the reads below.
_IN_CHUNK = 500


def _named_rows(session: Session, institution_id: int, hashes: set[bytes]) -> list[Any]:
    """The institution's credentials among ``hashes``: rows as `status_list_candidates` gives."""
    wanted = sorted(hashes)
    rows: list[Any] = []
    for i in range(0, len(wanted), _IN_CHUNK):
        rows.extend(
            session.execute(
                select(
                    Credential.credential_hash,
                    Credential.status_index,
                    Credential.revoked_at,
                    Credential.suspended,
                ).where(
                    Credential.institution_id == institution_id,
                    Credential.credential_hash.in_(wanted[i : i + _IN_CHUNK]),
                )
            )
        )
    return rows


def _indexes_in_batches(session: Session, institution_id: int, roots: set[bytes]) -> list[int]:
    """The status indexes of the institution's credentials anchored in the batches ``roots``."""
    wanted = sorted(roots)
    out: list[int] = []
    for i in range(0, len(wanted), _IN_CHUNK):
        out.extend(
            session.scalars(
                select(Credential.status_index)
                .join(AnchorBatch, Credential.batch_id == AnchorBatch.id)
                .where(
                    AnchorBatch.institution_id == institution_id,
                    AnchorBatch.root.in_(wanted[i : i + _IN_CHUNK]),
                )
            )
        )
    return out


class Publication:
    """The publication use cases; ``signer_for`` gives an institution's active signer."""

    def __init__(
        self, c: Collaborators, signer_for: Callable[[int], tuple[int, _cred.Signer]]
    ) -> None:
        self.c = c
        self.signer_for = signer_for

    def did_document(self, slug: str) -> dict[str, Any]:
        """The institution's did:web document (every key, active or retired)."""
        with self.c.sessions() as session:
            inst = institution_store.by_slug(session, slug)
            keys = [
                k.public_key_multibase
                for k in institution_store.signing_keys(session, inst.id, ordered=True)
            ]
            return _cred.did_document(inst.did, keys)

    def status_list(
        self, slug: str, purpose: str, *, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """The institution's signed Bitstring Status List credential for ``purpose``.

        Derived from chain state: every credential that ever had a status change recorded is
        checked against the registry (``credentialStatusAt``); if the ledger is unreachable the
        last confirmed local mirror is used and ``ledgerState`` says so.
        """
        if purpose not in STATUS_PURPOSES:
            raise NotFound(f"no status list {purpose!r}; expected one of {list(STATUS_PURPOSES)}")
        with self.c.sessions() as session:
            inst = institution_store.by_slug(session, slug)
            candidates = list(
                credential_store.status_list_candidates(
                    session, inst.id, status_change_store.applied_credential_ids(session, inst.id)
                )
            )
            top = credential_store.top_status_index(session, inst.id)
            source = "chain"
            set_bits: list[int] = []
            try:
                if inst.chain_issuer_id is None:
                    raise LedgerUnavailable("no on-chain issuer id")
                # also what the registry's events name (governance's revocations and
                # suspensions, its or the institution's batch revocations): never only what
                # this service changed itself
                named, revoked_roots = self.c.chain.status_named(inst.chain_issuer_id)
                chain_candidates = candidates + _named_rows(
                    session, inst.id, named - {c.credential_hash for c in candidates}
                )
                statuses = self.c.chain.credential_statuses(
                    inst.chain_issuer_id, [c.credential_hash for c in chain_candidates]
                )
                for cand, (revoked, suspended) in zip(chain_candidates, statuses, strict=True):
                    if revoked if purpose == "revocation" else suspended:
                        set_bits.append(cand.status_index)
                if purpose == "revocation" and revoked_roots:
                    set_bits.extend(_indexes_in_batches(session, inst.id, revoked_roots))
            except LedgerUnavailable:
                source = "local mirror (ledger unavailable)"
                for cand in candidates:
                    if cand.revoked_at is not None if purpose == "revocation" else cand.suspended:
                        set_bits.append(cand.status_index)
            _key_id, signer = self.signer_for(inst.id)
            stamp = (now or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            url = f"{self.c.settings.public_url}/institutions/{slug}/status/{purpose}"
            doc = {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": inst.did,
                "validFrom": stamp,
                "credentialSubject": {
                    "id": f"{url}#list",
                    "type": "BitstringStatusList",
                    "statusPurpose": purpose,
                    "encodedList": encode_bitstring(set_bits, list_length(top)),
                    "ttl": 60_000,
                },
            }
            signed = _cred.sign_plain(doc, signer, now=now or utcnow())
            signed_with_source = dict(signed)
            return {"credential": signed_with_source, "ledgerState": source}
