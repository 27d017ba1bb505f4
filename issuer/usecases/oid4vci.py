"""Issuance over OpenID4VCI 1.0, pre-authorized code flow (docs/openid4vc.md, issue 15).

Each institution is its own Credential Issuer and Authorization Server
(``{public_url}/institutions/{slug}``). The institution makes an offer of claims validated as
``POST /credentials`` validates them (`Oid4vci.create_offer`); the wallet redeems its
pre-authorized code with the transaction code (`Oid4vci.token`), takes a ``c_nonce``
(`Oid4vci.nonce`), proves its key (`Oid4vci.begin_credential`: the proof JWT, the nonce used
once) and the credential is then issued by the issuance use case itself, through the same group
commit as ``POST /credentials`` (the API layer runs it), with ``credentialSubject.id`` the proved
``did:key``. Anchoring follows, so the answer is deferred: `Oid4vci.finish_credential` records the
transaction and `Oid4vci.deferred` delivers the anchored credential once its batch is anchored.

Secrets are stored as hashes only: the access token and the pre-authorized code as SHA-256 (both
256-bit random), the 6-digit transaction code as an HMAC under the vault key. The pre-authorized
code is derived from the offer id with the vault key, so the offer object can be served again
without the code being stored. A refusal is an `OAuthError` carrying the protocol's error code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from talentproof.credential.issuance import CONTEXTS
from talentproof.credential.qr import render_png
from talentproof.credential.types import accredited_levels

from .. import _cred, auth
from ..db import ApiKey, InstitutionRow, Oid4vciOffer, Oid4vciTransaction, utcnow
from ..errors import Conflict, InvalidRequest, IssuerError, NotAccredited, NotFound
from ..oid4vci_jwt import PROOF_ALG, ProofRejected, verify_proof_jwt
from ..outcome import WriteOutcome, created
from ..store import ConnectionReads
from ..store import credentials as credential_store
from ..store import institutions as institution_store
from ..store import oid4vci as store
from .collaborators import Collaborators
from .common import iso_z, require
from .credentials import Credentials
from .institutions import IssuingInstitution, institution_info, refuse_unaccredited
from .issuance import Issuance, issue_or_refuse
from .ledger_states import LedgerStates

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
FORMAT = "ldp_vc"
CONFIGURATION_SUFFIX = "_ldp_vc"
#: Wrong transaction codes after which an offer is dead.
MAX_TX_CODE_FAILURES = 5
#: The state of an offer its institution withdrew (`Oid4vci.withdraw_offer`).
WITHDRAWN = "withdrawn"
TX_CODE_LENGTH = 6
#: Access tokens start with this, so the request limits can tell them from API keys.
ACCESS_TOKEN_PREFIX = "tpoat_"
#: The holder put in the subject only to validate an offer's claims (never issued).
_PLACEHOLDER_HOLDER = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"


class OAuthError(IssuerError, code="oauth_error"):
    """A refusal of an OpenID4VCI / OAuth 2.0 endpoint, with the protocol's error code
    (``error``: ``invalid_grant``, ``invalid_proof``, ``invalid_nonce``...); rendered as
    ``{"error", "error_description"}`` (400 unless a leaf says otherwise)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


class InvalidToken(OAuthError, code="invalid_token"):
    """A missing, unknown or expired access token (401, ``WWW-Authenticate: Bearer``)."""

    def __init__(self, description: str) -> None:
        super().__init__("invalid_token", description)


def configuration_id(kind: str) -> str:
    """The credential configuration id of a credential kind (``DegreeCredential_ldp_vc``)."""
    return kind + CONFIGURATION_SUFFIX


def is_access_token(token: str) -> bool:
    """Whether a bearer token has the form of an OpenID4VCI access token."""
    return token.startswith(ACCESS_TOKEN_PREFIX)


def _sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@dataclass(frozen=True, slots=True)
class PendingCredential:
    """A credential request whose proof and nonce were accepted: what to issue, as whom."""

    offer_id: str
    principal: auth.Principal
    idempotency_key: str
    request: dict[str, Any]
    holder: str


class Oid4vci:
    """The OpenID4VCI use cases of the issuer."""

    def __init__(
        self,
        c: Collaborators,
        issuance: Issuance,
        credentials: Credentials,
        ledger_states: LedgerStates,
    ) -> None:
        self.c = c
        self.issuance = issuance
        self.credentials = credentials
        self.ledger_states = ledger_states

    # -- identifiers and metadata ----------------------------------------------------------------
    def credential_issuer(self, slug: str) -> str:
        """The institution's Credential Issuer identifier."""
        return f"{self.c.settings.public_url.rstrip('/')}/institutions/{slug}"

    def _institution(self, slug: str) -> Any:
        with self.c.sessions() as session:
            return institution_store.by_slug(session, slug)

    def issuer_metadata(self, slug: str) -> dict[str, Any]:
        """Credential Issuer Metadata (OpenID4VCI 1.0 section 12.2) of an institution."""
        inst = self._institution(slug)
        ci = self.credential_issuer(slug)
        kinds = [
            k
            for k in _cred.KINDS
            if accredited_levels(inst.credential_types.split(","), k) != ()  # None: every level
        ]
        return {
            "credential_issuer": ci,
            "authorization_servers": [ci],
            "credential_endpoint": f"{ci}/credential",
            "nonce_endpoint": f"{ci}/nonce",
            "deferred_credential_endpoint": f"{ci}/deferred_credential",
            "display": [{"name": inst.name}],
            "credential_configurations_supported": {
                configuration_id(kind): {
                    "format": FORMAT,
                    "credential_definition": {
                        "@context": list(CONTEXTS[kind]),
                        "type": ["VerifiableCredential", kind],
                    },
                    "cryptographic_binding_methods_supported": ["did:key"],
                    "credential_signing_alg_values_supported": ["eddsa-jcs-2022"],
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": [PROOF_ALG]}
                    },
                    "credential_metadata": {"display": [{"name": f"{kind} ({inst.name})"}]},
                }
                for kind in kinds
            },
        }

    def authorization_server_metadata(self, slug: str) -> dict[str, Any]:
        """RFC 8414 metadata of the institution's Authorization Server."""
        self._institution(slug)
        ci = self.credential_issuer(slug)
        return {
            "issuer": ci,
            "token_endpoint": f"{ci}/token",
            "pre-authorized_grant_anonymous_access_supported": True,
            "grant_types_supported": [PRE_AUTHORIZED_GRANT],
            "response_types_supported": [],
        }

    # -- offers -----------------------------------------------------------------------------------
    def _code(self, offer_id: str) -> str:
        """The offer's pre-authorized code: derived from its id with the vault key."""
        return self.c.vault.replay_id("oid4vci-pre-authorized-code", offer_id)[2:]

    def _tx_code_hash(self, offer_id: str, tx_code: str) -> str:
        return self.c.vault.replay_id("oid4vci-tx-code", f"{offer_id}:{tx_code}")

    def offer_uri(self, slug: str, offer_id: str) -> str:
        """The ``openid-credential-offer://`` URI of an offer (by reference)."""
        url = f"{self.credential_issuer(slug)}/credential-offers/{offer_id}"
        return "openid-credential-offer://?credential_offer_uri=" + quote(url, safe="")

    def _offering_institution(self, institution_id: int, kind: Any) -> IssuingInstitution:
        """The institution, if it may offer ``kind`` now (as `Issuance.prepare` checks)."""
        with self.c.engine.connect() as conn:
            db = ConnectionReads(conn)
            inst = institution_info(self.c.caches, db, institution_id)
            if not isinstance(kind, str) or kind not in _cred.KINDS:
                raise InvalidRequest(
                    f"type must be one of {list(_cred.KINDS)}, got {kind!r}", field="type"
                )
            refuse_unaccredited(inst.slug, inst.types, kind, None)  # the level: per offer
            self.ledger_states.refuse_if_inactive(db, inst.slug, inst.chain_issuer_id)
        return inst

    def _validate_claims(
        self, inst: IssuingInstitution, kind: str, request: dict[str, Any], signer: Any
    ) -> None:
        """Build, validate and sign the credential the offer will give (then dropped): the
        degree's level accredited, the schema, the facts and the institution bound to the
        issuer, as ``POST /credentials``."""
        subject = _offered_subject(request)
        refuse_unaccredited(inst.slug, inst.types, kind, {"credentialSubject": subject})
        issue_or_refuse(
            kind,
            {**request, "credentialSubject": {"id": _PLACEHOLDER_HOLDER, **subject}},
            identity=self.issuance.identity_for(inst),
            signer=signer,
            status_index=0,
            now=utcnow(),
        )

    def _new_offer(
        self,
        offer_id: str,
        tx_code: str,
        *,
        institution_id: int,
        api_key_id: str,
        kind: str,
        request: dict[str, Any],
        expires: int,
    ) -> Oid4vciOffer:
        return Oid4vciOffer(
            id=offer_id,
            institution_id=institution_id,
            api_key_id=api_key_id,
            configuration_id=configuration_id(kind),
            request=orjson.dumps(request),
            code_hash=_sha256(self._code(offer_id)),
            tx_code_hash=self._tx_code_hash(offer_id, tx_code),
            tx_failures=0,
            state="offered",
            expires_unix=expires,
        )

    def create_offer(self, principal: auth.Principal, request: dict[str, Any]) -> WriteOutcome:
        """A credential offer of ``request`` (the body of ``POST /credentials`` without
        ``credentialSubject.id``), validated as that endpoint validates it: 201 with the offer
        URI, the transaction code (shown once) and the expiry."""
        institution_id = require(principal, "issue")
        _offered_subject(request)
        kind = request.get("type")
        inst = self._offering_institution(institution_id, kind)
        assert isinstance(kind, str)
        _key_id, signer = self.issuance.signer_for(institution_id)
        self._validate_claims(inst, kind, request, signer)
        offer_id = secrets.token_urlsafe(24)
        tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
        expires = int(time.time()) + self.c.settings.oid4vci_offer_ttl_s
        offer = self._new_offer(
            offer_id,
            tx_code,
            institution_id=institution_id,
            api_key_id=principal.key_id,
            kind=kind,
            request=request,
            expires=expires,
        )
        with self.c.session() as session:
            store.add_offer(session, offer)
        body = {
            "id": offer_id,
            "credentialOffer": self._offer_object(inst.slug, offer_id, kind),
            "credentialOfferUri": self.offer_uri(inst.slug, offer_id),
            "txCode": tx_code,
            "expiresAt": iso_z(_from_unix(expires)),
            "qr": f"/credential-offers/{offer_id}/qr.png",
        }
        return created(body, f"/institutions/{inst.slug}/credential-offers/{offer_id}")

    # -- bulk offers (``POST /bulk-jobs`` with ``offers=true``) ---------------------------------
    def bulk_tx_code(self, offer_id: str) -> str:
        """The transaction code of a bulk job's offer: derived from its id with the vault key
        (the job's results give it to the institution; only its HMAC is stored)."""
        digest = self.c.vault.replay_id("oid4vci-bulk-tx-code", offer_id)[2:]
        return f"{int(digest, 16) % 10**TX_CODE_LENGTH:0{TX_CODE_LENGTH}d}"

    def bulk_offers(
        self,
        *,
        job_id: str,
        institution_id: int,
        api_key_id: str,
        kind: str,
        rows: list[tuple[int, dict[str, Any] | str]],
    ) -> tuple[list[Oid4vciOffer], list[tuple[int, str, str]]]:
        """Offers for a chunk of a bulk job's rows (row number, request or why it could not
        be read), validated one by one as `create_offer` validates: (the offers to store, the
        refused rows as (row, field, message)). Nothing is written here."""
        inst = self._offering_institution(institution_id, kind)
        _key_id, signer = self.issuance.signer_for(institution_id)
        expires = int(time.time()) + self.c.settings.oid4vci_bulk_offer_ttl_s
        offers: list[Oid4vciOffer] = []
        refused: list[tuple[int, str, str]] = []
        for row, request in rows:
            if isinstance(request, str):
                refused.append((row, "", request))
                continue
            try:
                _offer_members(request)
                self._validate_claims(inst, kind, request, signer)
            except (InvalidRequest, NotAccredited) as exc:  # a degree at a level not accredited
                refused.append((row, exc.field or "", exc.message))
                continue
            offer_id = secrets.token_urlsafe(24)
            offer = self._new_offer(
                offer_id,
                self.bulk_tx_code(offer_id),
                institution_id=institution_id,
                api_key_id=api_key_id,
                kind=kind,
                request={**request, "type": kind},
                expires=expires,
            )
            offer.bulk_job_id, offer.bulk_row = job_id, row
            offers.append(offer)
        return offers, refused

    def bulk_results(self, job_id: str, *, after: int, limit: int) -> list[dict[str, Any]]:
        """A page of a bulk job's offers in row order: row, id, credentialOfferUri, txCode,
        credentialIssuer (the address to send with the code), expiresAt, state (offered,
        redeemed, issued, dead, expired, withdrawn)."""
        with self.c.sessions() as session:
            found = store.bulk_page(session, job_id, after=after, limit=limit)
            slugs: dict[int, str] = {}
            items = []
            now = int(time.time())
            for offer, issued in found:
                if offer.institution_id not in slugs:
                    inst = session.get(InstitutionRow, offer.institution_id)
                    slugs[offer.institution_id] = inst.slug if inst is not None else ""
                slug = slugs[offer.institution_id]
                state = "issued" if issued else offer.state
                if state == "offered" and now >= offer.expires_unix:
                    state = "expired"
                items.append(
                    {
                        "row": offer.bulk_row,
                        "id": offer.id,
                        "status": state,
                        "credentialOfferUri": self.offer_uri(slug, offer.id),
                        "txCode": self.bulk_tx_code(offer.id),
                        # the address sent with the code: a wallet sends the code to no other
                        "credentialIssuer": self.credential_issuer(slug),
                        "expiresAt": iso_z(_from_unix(offer.expires_unix)),
                        "qr": f"/credential-offers/{offer.id}/qr.png",
                    }
                )
            return items

    def _offer_object(self, slug: str, offer_id: str, kind: str) -> dict[str, Any]:
        return {
            "credential_issuer": self.credential_issuer(slug),
            "credential_configuration_ids": [configuration_id(kind)],
            "grants": {
                PRE_AUTHORIZED_GRANT: {
                    "pre-authorized_code": self._code(offer_id),
                    "tx_code": {
                        "input_mode": "numeric",
                        "length": TX_CODE_LENGTH,
                        "description": "The 6-digit code your institution sent you separately",
                    },
                }
            },
        }

    def _offer_of(self, offer_id: str) -> tuple[Oid4vciOffer, str]:
        with self.c.sessions() as session:
            offer = store.offer(session, offer_id)
            if offer is None or offer.state == WITHDRAWN:
                raise NotFound(f"no credential offer {offer_id!r}")
            inst = session.get(InstitutionRow, offer.institution_id)
            return offer, inst.slug if inst is not None else ""

    def offer_object(self, slug: str, offer_id: str) -> dict[str, Any]:
        """The Credential Offer object (``GET {ci}/credential-offers/{id}``)."""
        offer, owner = self._offer_of(offer_id)
        if owner != slug:
            raise NotFound(f"no credential offer {offer_id!r}")
        kind = offer.configuration_id.removesuffix(CONFIGURATION_SUFFIX)
        return self._offer_object(slug, offer_id, kind)

    def offer_qr_png(self, offer_id: str) -> bytes:
        """The offer URI as a QR code (PNG)."""
        _offer, slug = self._offer_of(offer_id)
        return render_png(self.offer_uri(slug, offer_id), scale=6)

    def withdraw_offer(self, principal: auth.Principal, offer_id: str) -> dict[str, Any]:
        """Withdraw one of the caller's institution's offers not yet redeemed (``POST
        /credential-offers/{id}/withdraw``, scope ``issue``): its pre-authorized code and
        transaction code redeem nothing after, its offer object and QR code are gone. Another
        institution's offer is not found; a redeemed one is refused (`Conflict`): the wallet
        holds its access token, and its credential is revoked as any other."""
        institution_id = require(principal, "issue")
        with self.c.session() as session:
            offer = store.offer(session, offer_id)
            if offer is None or offer.institution_id != institution_id:
                raise NotFound(f"no credential offer {offer_id!r}")
            # the row locked as the token endpoint locks it: a redemption racing the withdrawal
            # either finds it withdrawn or is seen here as redeemed
            session.refresh(offer, with_for_update=True)
            if offer.state == "redeemed":
                raise Conflict(
                    f"credential offer {offer_id!r} was already redeemed by a wallet: withdraw "
                    f"its credential with POST /credentials/{{id}}/revoke"
                )
            offer.state = WITHDRAWN
        return {"id": offer_id, "status": WITHDRAWN}

    # -- token and nonce -----------------------------------------------------------------------------
    def token(self, slug: str, form: dict[str, str]) -> dict[str, Any]:
        """The token endpoint: a pre-authorized code and its transaction code for an access
        token (RFC 6749 errors: `OAuthError`)."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing")
        if grant_type != PRE_AUTHORIZED_GRANT:
            raise OAuthError("unsupported_grant_type", f"only {PRE_AUTHORIZED_GRANT} is supported")
        code = form.get("pre-authorized_code")
        if not code:
            raise OAuthError("invalid_request", "pre-authorized_code is missing")
        tx_code = form.get("tx_code")
        if not tx_code:
            raise OAuthError("invalid_request", "tx_code is missing: this offer requires one")
        now = int(time.time())
        refusal: OAuthError | None = None
        token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        ttl = self.c.settings.oid4vci_token_ttl_s
        with self.c.session() as session:
            offer = store.offer_by_code_hash(session, _sha256(code))
            inst = session.get(InstitutionRow, offer.institution_id) if offer else None
            if offer is None or inst is None or inst.slug != slug:
                raise OAuthError("invalid_grant", "unknown pre-authorized code")
            # the offer's row locked until this commits: concurrent token requests (PostgreSQL
            # takes no writer lock) read its state and failure count one after the other, so a
            # code is redeemed once and every wrong transaction code is counted
            session.refresh(offer, with_for_update=True)
            if offer.state == "dead":
                raise OAuthError(
                    "invalid_grant",
                    f"the offer is dead: {MAX_TX_CODE_FAILURES} wrong transaction codes",
                )
            if offer.state == WITHDRAWN:
                raise OAuthError("invalid_grant", "the offer was withdrawn by the institution")
            if offer.state != "offered":
                raise OAuthError("invalid_grant", "the pre-authorized code was already used")
            if now >= offer.expires_unix:
                raise OAuthError("invalid_grant", "the pre-authorized code has expired")
            if not hmac.compare_digest(self._tx_code_hash(offer.id, tx_code), offer.tx_code_hash):
                offer.tx_failures += 1
                left = MAX_TX_CODE_FAILURES - offer.tx_failures
                if left <= 0:
                    offer.state = "dead"
                    refusal = OAuthError(
                        "invalid_grant",
                        f"wrong transaction code; the offer is dead after "
                        f"{MAX_TX_CODE_FAILURES} wrong codes",
                    )
                else:
                    refusal = OAuthError(
                        "invalid_grant", f"wrong transaction code ({left} attempts left)"
                    )
            else:
                offer.state = "redeemed"
                store.add_token(session, _sha256(token), offer.id, now + ttl)
        if refusal is not None:  # the failure count is committed
            raise refusal
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}

    def nonce(self) -> str:
        """A new ``c_nonce`` (single use, `oid4vci_nonce_ttl_s`)."""
        value = secrets.token_urlsafe(24)
        now = int(time.time())
        with self.c.session() as session:
            store.add_nonce(session, value, now + self.c.settings.oid4vci_nonce_ttl_s, now)
        return value

    # -- the credential ------------------------------------------------------------------------------
    def authorize(self, slug: str | None, token: str | None) -> Oid4vciOffer:
        """The offer an access token redeems; raises `InvalidToken`."""
        if not token:
            raise InvalidToken("an access token is required (Authorization: Bearer ...)")
        with self.c.sessions() as session:
            found = store.token_and_offer(session, _sha256(token))
            if found is None:
                raise InvalidToken("unknown access token")
            row, offer = found
            if int(time.time()) >= row.expires_unix:
                raise InvalidToken("the access token has expired")
            if slug is not None:
                inst = session.get(InstitutionRow, offer.institution_id)
                if inst is None or inst.slug != slug:
                    raise InvalidToken("the access token is not this credential issuer's")
            return offer

    def token_principal(self, token: str) -> auth.Principal:
        """Who a valid access token is, for the request limits (one bucket per offer)."""
        offer = self.authorize(None, token)
        return auth.Principal(f"oid4vci:{offer.id}", "wallet", frozenset())

    def begin_credential(self, slug: str, token: str | None, body: Any) -> PendingCredential:
        """Check a credential request (token, configuration, proof, nonce): what to issue.
        The nonce is used up here, whatever follows."""
        offer = self.authorize(slug, token)
        if not isinstance(body, dict):
            raise OAuthError("invalid_credential_request", "the body must be a JSON object")
        if "credential_identifier" in body:
            raise OAuthError(
                "invalid_credential_request",
                "credential_identifier is not supported: send credential_configuration_id",
            )
        requested = body.get("credential_configuration_id")
        if not isinstance(requested, str):
            raise OAuthError("invalid_credential_request", "credential_configuration_id is missing")
        if requested != offer.configuration_id:
            raise OAuthError(
                "unknown_credential_configuration",
                f"this access token is for {offer.configuration_id}, not {requested[:100]!r}",
            )
        if "proof" in body:
            raise OAuthError("invalid_credential_request", "send the key proof in proofs.jwt")
        proofs = body.get("proofs")
        if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
            raise OAuthError(
                "invalid_credential_request", 'proofs must be {"jwt": [one proof JWT]}'
            )
        jwts = proofs["jwt"]
        if not isinstance(jwts, list) or len(jwts) != 1:
            raise OAuthError("invalid_credential_request", "proofs.jwt must hold one proof")
        with self.c.sessions() as session:
            issued = store.transaction_of_offer(session, offer.id)
            inst = session.get(InstitutionRow, offer.institution_id)
            key = session.get(ApiKey, offer.api_key_id)
        if inst is None or inst.status != "active":
            raise OAuthError(
                "credential_request_denied",
                "the institution is suspended by this service's operator",
            )
        if key is None or key.revoked_at is not None:
            raise OAuthError(
                "credential_request_denied", "the API key that made this offer was revoked"
            )
        if issued is not None:
            raise OAuthError(
                "invalid_credential_request",
                "this access token already redeemed its offer: fetch the credential from the "
                f"deferred credential endpoint with transaction_id {issued.id}",
            )
        now = time.time()
        try:
            proved = verify_proof_jwt(jwts[0], audience=self.credential_issuer(slug), now=now)
        except ProofRejected as exc:
            raise OAuthError("invalid_proof", str(exc)) from exc
        with self.c.session() as session:
            fresh = store.take_nonce(session, proved.nonce, int(now))
        if not fresh:
            raise OAuthError(
                "invalid_nonce",
                "the proof's nonce is unknown, used or expired: fetch a new c_nonce",
            )
        request = orjson.loads(offer.request)
        request["credentialSubject"] = {"id": proved.did, **request["credentialSubject"]}
        return PendingCredential(
            offer_id=offer.id,
            principal=auth.Principal(
                offer.api_key_id,
                auth.ROLE_INSTITUTION,
                frozenset({"issue"}),
                offer.institution_id,
            ),
            idempotency_key=f"oid4vci-offer:{offer.id}",
            request=request,
            holder=proved.did,
        )

    def refused(self, error: IssuerError) -> OAuthError:
        """Issuance's refusal of a credential request, in the protocol's terms."""
        if isinstance(error, OAuthError):
            return error
        return OAuthError("credential_request_denied", error.message)

    def finish_credential(
        self, pending: PendingCredential, outcome: WriteOutcome
    ) -> dict[str, Any]:
        """Record the issued credential's transaction: the deferred answer
        ``{transaction_id, interval}``."""
        credential_id = outcome.body["id"]
        with self.c.session() as session:
            existing = store.transaction_of_offer(session, pending.offer_id)
            if existing is None:  # requests of one offer racing here record one transaction
                existing = store.add_transaction(
                    session,
                    Oid4vciTransaction(
                        id=secrets.token_urlsafe(24),
                        offer_id=pending.offer_id,
                        credential_id=credential_id,
                        holder=pending.holder,
                    ),
                )
            transaction_id, recorded = existing.id, (existing.credential_id, existing.holder)
        if recorded != (credential_id, pending.holder):
            # not this request's credential (the same offer's credential is one idempotent
            # issuance, so this is not expected): refused as a replay of the access token is
            raise OAuthError(
                "invalid_credential_request",
                "this access token already redeemed its offer: fetch the credential from the "
                f"deferred credential endpoint with transaction_id {transaction_id}",
            )
        return {
            "transaction_id": transaction_id,
            "interval": self.c.settings.oid4vci_deferred_interval_s,
        }

    def deferred(self, slug: str, token: str | None, body: Any) -> tuple[bool, dict[str, Any]]:
        """The deferred credential endpoint: (ready, answer): the anchored credential once its
        batch is anchored, else the transaction again with the interval to wait."""
        offer = self.authorize(slug, token)
        transaction_id = body.get("transaction_id") if isinstance(body, dict) else None
        if not isinstance(transaction_id, str):
            raise OAuthError("invalid_credential_request", "transaction_id is missing")
        with self.c.sessions() as session:
            transaction = store.transaction_of_offer(session, offer.id)
            if transaction is None or not hmac.compare_digest(transaction.id, transaction_id):
                raise OAuthError("invalid_transaction_id", "unknown transaction_id")
            cred = credential_store.by_id(session, transaction.credential_id)
            if cred is None:
                raise OAuthError("invalid_transaction_id", "the credential is gone")
            doc, batch = self.credentials.holder_document(session, cred)
            anchored = (
                batch is not None
                and batch.state == "anchored"
                and self.credentials.paths.path(session, cred, batch) is not None
            )
        if not anchored:
            return False, {
                "transaction_id": transaction_id,
                "interval": self.c.settings.oid4vci_deferred_interval_s,
            }
        return True, {"credentials": [{"credential": doc}]}


def _from_unix(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


#: The members of an offer's request: ``POST /credential-offers`` takes these only
#: (``credentialSubject`` is checked by `_offered_subject`, the others are text).
_OFFER_MEMBERS = ("type", "credentialSubject", "validFrom", "validUntil", "name", "description")


def _offer_members(request: dict[str, Any]) -> None:
    """Refuse what ``POST /credential-offers`` refuses at the top of a bulk row: a member it does
    not take, or one of its text members given as something else. Such a row made an offer that
    the wallet's credential request then failed on (the request re-read as ``POST /credentials``
    reads it), after the holder had spent a nonce. Raises `InvalidRequest` naming the member."""
    for member, value in request.items():
        if member not in _OFFER_MEMBERS:
            raise InvalidRequest(
                f"{member}: not a member an offer takes (it takes {', '.join(_OFFER_MEMBERS)})",
                field=member,
            )
        if member != "credentialSubject" and value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{member}: expected text", field=member)


def _offered_subject(request: dict[str, Any]) -> dict[str, Any]:
    """The subject of an offer's claims: an object without ``id`` (raises `InvalidRequest`)."""
    subject = request.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidRequest("credentialSubject must be an object", field="credentialSubject")
    if "id" in subject:
        raise InvalidRequest(
            "credentialSubject.id must be absent from an offer: the holder's key is learnt "
            "from the wallet's proof",
            field="credentialSubject.id",
        )
    return subject


def build_oid4vci(service: Any) -> Oid4vci:
    """The OpenID4VCI use cases over an `IssuerService`'s collaborators and issuance (the
    service is duck-typed: it imports the use cases, not the other way round)."""
    collaborators = Collaborators(
        settings=service.settings,
        engine=service.engine,
        sessions=service.sessions,
        session=service.session,
        write_lock=service.write_lock,
        chain=service.chain,
        caches=service.caches,
        vault=service.vault,
        metrics=service.metrics,
    )
    return Oid4vci(collaborators, service.issuance, service.credentials, service.ledger_states)
