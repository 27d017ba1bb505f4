"""The wallet's side of OpenID4VCI 1.0 as docs/openid4vc.md profiles it.

Pre-authorized code flow with a transaction code: the offer (by reference or by value) → the
Credential Issuer Metadata (RFC 8615 well-known segment inserted between host and path) and the
authorization server's metadata → the token → a ``c_nonce`` → the credential request with one
``jwt`` proof (EdDSA, ``typ`` ``openid4vci-proof+jwt``, ``kid`` the holder's did:key DID URL,
``aud`` the credential issuer, ``nonce``) → the deferred credential endpoint, polled until the
anchored credential arrives.

The pure pieces (`parse_offer_uri`, `parse_offer`, `well_known_url`, `proof_jwt`) are separate
from the HTTP ones (`IssuanceClient`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from talentproof.credential.keys import Ed25519SigningKey

from .errors import (
    BadUri,
    ForeignCredential,
    IssuerRefused,
    OfferRefused,
    OfferUnavailable,
    ServiceUnreachable,
    UntrustedIssuer,
    UntrustedOffer,
    WrongTransactionCode,
)
from .uris import http_url, uri_query

__all__ = [
    "OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_TYP",
    "IssuanceClient",
    "IssuanceResult",
    "Offer",
    "OfferReference",
    "authorization_server",
    "parse_offer",
    "parse_offer_uri",
    "proof_jwt",
    "require_trusted",
    "well_known_url",
]

OFFER_SCHEME = "openid-credential-offer"
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
_DEAD_OFFER = ("expired", "used", "unknown", "dead", "redeemed", "withdrawn")
_EXPECTED_URI = (
    "an openid-credential-offer:// URI with a credential_offer_uri (or credential_offer) "
    "parameter, as the institution's offer QR code or link gives it"
)


@dataclass(frozen=True)
class OfferReference:
    """What an offer URI carries: the offer's URL (by reference) or the offer itself."""

    uri: str | None = None
    offer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Offer:
    """A Credential Offer with the pre-authorized code grant."""

    credential_issuer: str
    configuration_ids: tuple[str, ...]
    pre_authorized_code: str
    tx_code: Mapping[str, Any] | None
    authorization_server: str | None = None


def parse_offer_uri(text: str) -> OfferReference:
    """Parse ``openid-credential-offer://?credential_offer_uri=...`` (or ``credential_offer=``
    with the JSON offer). Raises `BadUri` naming what was expected."""
    text, query = uri_query(text, OFFER_SCHEME, _EXPECTED_URI)
    if "credential_offer_uri" in query:
        return OfferReference(
            uri=http_url(query["credential_offer_uri"][0], "credential_offer_uri")
        )
    if "credential_offer" in query:
        try:
            offer = json.loads(query["credential_offer"][0])
        except ValueError as exc:
            raise BadUri(f"credential_offer: expected a JSON object ({exc})") from exc
        if not isinstance(offer, dict):
            raise BadUri("credential_offer: expected a JSON object")
        return OfferReference(offer=offer)
    raise BadUri(f"expected {_EXPECTED_URI}, found neither parameter in {text[:80]!r}")


def parse_offer(doc: Any) -> Offer:
    """Read a Credential Offer object; raises `BadUri` naming the missing member."""
    if not isinstance(doc, Mapping):
        raise BadUri(f"credential offer: expected a JSON object, found {type(doc).__name__}")
    issuer = doc.get("credential_issuer")
    if not isinstance(issuer, str) or not issuer.startswith(("http://", "https://")):
        raise BadUri(f"credential offer: expected credential_issuer (an URL), found {issuer!r}")
    ids = doc.get("credential_configuration_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise BadUri(f"credential offer: expected credential_configuration_ids, found {ids!r}")
    grant = (doc.get("grants") or {}).get(PRE_AUTHORIZED_GRANT)
    if not isinstance(grant, Mapping) or not isinstance(grant.get("pre-authorized_code"), str):
        raise BadUri(
            "credential offer: expected the pre-authorized code grant "
            f"({PRE_AUTHORIZED_GRANT}); this wallet supports no other"
        )
    tx_code = grant.get("tx_code")
    server = grant.get("authorization_server")
    return Offer(
        credential_issuer=issuer.rstrip("/"),
        configuration_ids=tuple(ids),
        pre_authorized_code=grant["pre-authorized_code"],
        tx_code=tx_code if isinstance(tx_code, Mapping) else None,
        authorization_server=server if isinstance(server, str) else None,
    )


def authorization_server(offer: Offer, meta: Mapping[str, Any]) -> str:
    """The authorization server whose token endpoint gets the pre-authorized and transaction
    codes: one the Credential Issuer's metadata lists in ``authorization_servers`` (the issuer
    itself when it lists none), the offer's ``authorization_server`` only if it is one of them
    (OpenID4VCI 1.0 section 4.1.1). The offer alone never chooses it: whoever forwards an
    applicant a copy of the genuine offer naming a server of theirs would otherwise receive the
    transaction code the applicant types, and redeem the offer with their own key. Raises
    `UntrustedOffer` (an offer naming another server) or `ServiceUnreachable` (metadata whose
    ``authorization_servers`` is not a list of URLs)."""
    ci = offer.credential_issuer
    listed = meta.get("authorization_servers", [ci])
    if (
        not isinstance(listed, list)
        or not listed
        or not all(isinstance(s, str) and s.startswith(("http://", "https://")) for s in listed)
    ):
        raise ServiceUnreachable(
            f"issuer metadata of {ci}: expected authorization_servers, a list of URLs, found "
            f"{listed!r:.120}"
        )
    if offer.authorization_server is None:
        return str(listed[0])
    if offer.authorization_server.rstrip("/") not in {s.rstrip("/") for s in listed}:
        raise UntrustedOffer(
            f"the offer sends the transaction code to the authorization server "
            f"{offer.authorization_server}, not one the credential issuer lists "
            f"({', '.join(listed)}); nothing was sent"
        )
    return offer.authorization_server


def require_trusted(offer: Offer, trusted: Collection[str]) -> None:
    """Refuse (`UntrustedIssuer`) an offer asking for a transaction code whose credential
    issuer is not one of ``trusted``, before anything is asked of that issuer. OpenID4VCI 1.0
    section 13.4.2 (Transaction Code Phishing): wallets are RECOMMENDED to interact with
    trusted credential issuers only. The offer names its credential issuer and that issuer's
    metadata names itself and its display name, so neither tells a copy of a genuine offer on
    an attacker's host (the genuine pre-authorized code, the institution's name) from the
    institution's own: only the holder's word does, the address the institution gave with the
    code. An offer with no transaction code has none to lose."""
    if offer.tx_code is None:
        return
    known = {u.rstrip("/") for u in trusted}
    if offer.credential_issuer not in known:
        raise UntrustedIssuer(
            f"this offer comes from the credential issuer {offer.credential_issuer}, not one you "
            f"trust ({', '.join(sorted(known)) or 'none named yet'}): its transaction code is "
            f"sent only to your institutions' own addresses. If the institution gave you "
            f"{offer.credential_issuer} with the code, accept again with --issuer "
            f"{offer.credential_issuer}"
        )


def well_known_url(identifier: str, suffix: str) -> str:
    """The RFC 8615 metadata URL of an identifier with a path: the well-known segment goes
    between the host and the path (``https://h/institutions/hku`` →
    ``https://h/.well-known/openid-credential-issuer/institutions/hku``)."""
    parts = urlsplit(identifier)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{suffix}{path}", "", ""))


def proof_jwt(
    key: Ed25519SigningKey, *, audience: str, nonce: str | None, issued_at: datetime
) -> str:
    """The ``jwt`` proof of possession of the holder key for one credential request."""
    payload: dict[str, Any] = {"aud": audience, "iat": int(issued_at.timestamp())}
    if nonce is not None:
        payload["nonce"] = nonce
    return jwt.encode(
        payload,
        Ed25519PrivateKey.from_private_bytes(key.seed),
        algorithm="EdDSA",
        headers={"typ": PROOF_TYP, "kid": key.public_key.verification_method},
    )


@dataclass
class IssuanceResult:
    """What an issuance brought: credentials received, and a transaction still pending."""

    credentials: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, Any] | None = None


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ServiceUnreachable(
            f"{what}: expected JSON from {response.request.url}, found HTTP "
            f"{response.status_code} {response.text[:120]!r}"
        ) from exc


def _oauth_error(response: httpx.Response) -> tuple[str, str | None] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        desc = body.get("error_description")
        return body["error"], desc if isinstance(desc, str) else None
    return None


class IssuanceClient:
    """An OpenID4VCI client for one wallet key, over one HTTP client."""

    def __init__(
        self,
        key: Ed25519SigningKey,
        client: httpx.Client,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.http = client
        self.clock = clock
        self.sleep = sleep

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(f"{what}: cannot reach {url} ({exc})") from exc

    # --- the steps --------------------------------------------------------------------------

    def resolve(self, reference: OfferReference) -> Offer:
        """The offer of an offer URI (fetched when given by reference)."""
        if reference.offer is not None:
            return parse_offer(reference.offer)
        assert reference.uri is not None
        r = self._send("GET", reference.uri, "credential offer")
        if r.status_code in (404, 410):
            raise OfferUnavailable(
                f"the credential offer {reference.uri} is unknown, expired or already used "
                f"(HTTP {r.status_code})"
            )
        if r.status_code != 200:
            raise ServiceUnreachable(
                f"credential offer: expected 200 from {reference.uri}, found HTTP "
                f"{r.status_code} {r.text[:120]!r}"
            )
        return parse_offer(_json(r, "credential offer"))

    def metadata(self, offer: Offer) -> tuple[dict[str, Any], dict[str, Any]]:
        """(Credential Issuer Metadata, authorization server metadata)."""
        ci = offer.credential_issuer
        url = well_known_url(ci, "openid-credential-issuer")
        r = self._send("GET", url, "issuer metadata")
        if r.status_code != 200:
            raise ServiceUnreachable(
                f"issuer metadata: expected 200 from {url}, found HTTP {r.status_code}"
            )
        meta = _json(r, "issuer metadata")
        if not isinstance(meta, dict) or meta.get("credential_issuer", "").rstrip("/") != ci:
            raise ServiceUnreachable(
                f"issuer metadata at {url}: expected credential_issuer {ci}, found "
                f"{meta.get('credential_issuer') if isinstance(meta, dict) else meta!r}"
            )
        if not isinstance(meta.get("credential_endpoint"), str):
            raise ServiceUnreachable(f"issuer metadata at {url}: no credential_endpoint")
        server = authorization_server(offer, meta)
        as_url = well_known_url(server, "oauth-authorization-server")
        r = self._send("GET", as_url, "authorization server metadata")
        if r.status_code != 200:
            raise ServiceUnreachable(
                f"authorization server metadata: expected 200 from {as_url}, found HTTP "
                f"{r.status_code}"
            )
        as_meta = _json(r, "authorization server metadata")
        if not isinstance(as_meta, dict) or not isinstance(as_meta.get("token_endpoint"), str):
            raise ServiceUnreachable(
                f"authorization server metadata at {as_url}: no token_endpoint"
            )
        said = as_meta.get("issuer")
        if not isinstance(said, str) or said.rstrip("/") != server.rstrip("/"):
            # RFC 8414 section 3.3: metadata naming another issuer is not this server's
            raise ServiceUnreachable(
                f"authorization server metadata at {as_url}: expected issuer {server}, found "
                f"{said!r:.120}"
            )
        return meta, as_meta

    def token(self, offer: Offer, as_meta: Mapping[str, Any], tx_code: str | None) -> str:
        """Redeem the pre-authorized code (with the transaction code); the access token."""
        if offer.tx_code is not None and not tx_code:
            length = offer.tx_code.get("length")
            raise BadUri(
                f"this offer needs the transaction code the institution sent you separately "
                f"({length or 'a'}-digit {offer.tx_code.get('input_mode', 'numeric')}): pass "
                f"--tx-code"
            )
        form = {
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": offer.pre_authorized_code,
        }
        if tx_code:
            form["tx_code"] = tx_code
        r = self._send("POST", as_meta["token_endpoint"], "token", data=form)
        if r.status_code != 200:
            err = _oauth_error(r)
            if err is None:
                raise ServiceUnreachable(
                    f"token: expected 200 or an OAuth error, found HTTP {r.status_code} "
                    f"{r.text[:120]!r}"
                )
            if err[0] == "invalid_grant":
                # RFC 6749 has one code for both; the description tells a dead offer apart
                said = (err[1] or "").lower()
                if "transaction code" not in said and any(w in said for w in _DEAD_OFFER):
                    raise OfferRefused("offer", *err)
                raise WrongTransactionCode("transaction code", *err)
            raise IssuerRefused("token request", *err)
        body = _json(r, "token")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise ServiceUnreachable("token: the answer has no access_token")
        return token

    def nonce(self, meta: Mapping[str, Any]) -> str | None:
        """A fresh ``c_nonce`` (None when the issuer has no nonce endpoint)."""
        url = meta.get("nonce_endpoint")
        if not isinstance(url, str):
            return None
        r = self._send("POST", url, "nonce")
        body = _json(r, "nonce")
        nonce = body.get("c_nonce") if isinstance(body, dict) else None
        if r.status_code != 200 or not isinstance(nonce, str):
            raise ServiceUnreachable(f"nonce: expected 200 {{c_nonce}}, found HTTP {r.status_code}")
        return nonce

    def request(self, meta: Mapping[str, Any], token: str, configuration_id: str) -> httpx.Response:
        """The credential request with one jwt proof (a new nonce once on ``invalid_nonce``)."""
        for attempt in (1, 2):
            proof = proof_jwt(
                self.key,
                audience=meta["credential_issuer"],
                nonce=self.nonce(meta),
                issued_at=self.clock(),
            )
            r = self._send(
                "POST",
                meta["credential_endpoint"],
                "credential request",
                headers={"Authorization": f"Bearer {token}"},
                json={"credential_configuration_id": configuration_id, "proofs": {"jwt": [proof]}},
            )
            err = _oauth_error(r) if r.status_code >= 400 else None
            if err is not None and err[0] == "invalid_nonce" and attempt == 1:
                continue
            return r
        raise AssertionError("unreachable")  # pragma: no cover

    def accept(
        self,
        reference: OfferReference,
        tx_code: str | None,
        *,
        timeout: float,
        trusted: Collection[str] = (),
        progress: Callable[[str], None] = lambda _: None,
    ) -> IssuanceResult:
        """The whole flow; waits up to ``timeout`` seconds for the deferred credential. An offer
        asking for a transaction code goes on only if its credential issuer is one of
        ``trusted`` (`require_trusted`)."""
        offer = self.resolve(reference)
        require_trusted(offer, trusted)
        meta, as_meta = self.metadata(offer)
        progress(f"offer from {_display_name(meta) or offer.credential_issuer}")
        token = self.token(offer, as_meta, tx_code)
        outcome = IssuanceResult()
        for config_id in offer.configuration_ids:
            r = self.request(meta, token, config_id)
            got = self._credential_answer(r, "credential request")
            if isinstance(got, list):
                outcome.credentials += self._bound_to_me(got)
                continue
            transaction = {
                "credential_issuer": meta["credential_issuer"],
                "deferred_credential_endpoint": meta.get("deferred_credential_endpoint"),
                "access_token": token,
                "transaction_id": got["transaction_id"],
                "interval": got.get("interval", 1),
                "credential_configuration_id": config_id,
                "issuer_name": _display_name(meta),
                "accepted_at": self.clock().isoformat(timespec="seconds"),
            }
            progress("signed; waiting for the anchor on the chain (deferred delivery)")
            done = self.finish(transaction, timeout=timeout)
            if done.pending is not None:
                outcome.pending = done.pending
            outcome.credentials += done.credentials
        return outcome

    def finish(self, transaction: Mapping[str, Any], *, timeout: float) -> IssuanceResult:
        """Poll a deferred transaction for up to ``timeout`` seconds (at least once)."""
        endpoint = transaction.get("deferred_credential_endpoint")
        if not isinstance(endpoint, str):
            raise ServiceUnreachable(
                "the issuer deferred the credential but publishes no deferred_credential_endpoint"
            )
        deadline = time.monotonic() + timeout
        while True:
            r = self._send(
                "POST",
                endpoint,
                "deferred credential",
                headers={"Authorization": f"Bearer {transaction['access_token']}"},
                json={"transaction_id": transaction["transaction_id"]},
            )
            got = self._credential_answer(r, "deferred credential request")
            if isinstance(got, list):
                return IssuanceResult(credentials=self._bound_to_me(got))
            interval = got.get("interval", transaction.get("interval", 1))
            interval = float(interval) if isinstance(interval, int | float) else 1.0
            if time.monotonic() + min(interval, 1.0) > deadline:
                return IssuanceResult(pending=dict(transaction))
            self.sleep(max(0.2, min(interval, 5.0, deadline - time.monotonic())))

    def _bound_to_me(self, credentials: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``credentials`` if each is about this wallet's key (its ``credentialSubject.id``
        the did:key the proof proved), else `ForeignCredential`: an issuer's credential about
        another holder (another applicant's genuine degree) is one this wallet can never
        present (the verifier's check 10), and is not stored to be listed as valid."""
        me = self.key.public_key.did_key
        for credential in credentials:
            subject = credential.get("credentialSubject")
            subjects = subject if isinstance(subject, list) else [subject]
            about = [s.get("id") if isinstance(s, Mapping) else None for s in subjects]
            if about != [me]:
                named = ", ".join(str(a) for a in about) or "no one"
                raise ForeignCredential(
                    f"the issuer sent a credential about {named:.200}, not this wallet's key "
                    f"{me}: not stored"
                )
        return credentials

    @staticmethod
    def _credential_answer(r: httpx.Response, step: str) -> list[dict[str, Any]] | dict[str, Any]:
        """The credentials of a 200 answer, or the ``{transaction_id, interval}`` of a 202."""
        if r.status_code == 401:
            header = r.headers.get("WWW-Authenticate", "")
            raise IssuerRefused(
                step,
                "invalid_token",
                f"the access token was refused ({header or 'HTTP 401'}); an access token lives "
                f"10 minutes: accept a new offer",
            )
        if r.status_code >= 400:
            err = _oauth_error(r)
            if err is None:
                raise ServiceUnreachable(
                    f"{step}: expected a credential or an OpenID4VCI error, found HTTP "
                    f"{r.status_code} {r.text[:120]!r}"
                )
            raise IssuerRefused(step, *err)
        body = _json(r, step)
        if not isinstance(body, dict):
            raise ServiceUnreachable(f"{step}: expected a JSON object")
        if isinstance(body.get("credentials"), list):
            creds = [
                c["credential"]
                for c in body["credentials"]
                if isinstance(c, Mapping) and isinstance(c.get("credential"), dict)
            ]
            if not creds:
                raise ServiceUnreachable(f"{step}: expected ldp_vc credentials (JSON objects)")
            return creds
        if isinstance(body.get("transaction_id"), str):
            return body
        raise ServiceUnreachable(
            f"{step}: expected credentials or a transaction_id, found {body!r:.120}"
        )


def _display_name(meta: Mapping[str, Any]) -> str | None:
    display = meta.get("display")
    entries = display if isinstance(display, list) else [display]
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            return str(entry["name"])
    return None
