"""The wallet's side of OpenID4VP 1.0 with DCQL as docs/openid4vc.md profiles it.

``openid4vp://?client_id=decentralized_identifier:did:key:...&request_uri=...`` → the request
object (a JWT, fetched by reference) whose EdDSA signature must verify with the did:key the
``client_id`` names → its DCQL query matched against the wallet's credentials → one bound
presentation per credential query (``challenge`` = ``nonce``, ``domain`` = ``client_id``, the
identity-document salt disclosed) → ``direct_post`` of ``vp_token`` (JSON keyed by query id) and
``state`` to ``response_uri``.

The pure pieces (`parse_request_uri`, `verify_request_object`, `match_dcql`, `vp_token`) are
separate from the HTTP ones (`fetch_request_object`, `send_response`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey as CryptoEd25519PublicKey,
)

from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.credential.presentation import create_presentation

from .errors import BadUri, RequestNotSigned, ServiceUnreachable, VerifierRefused
from .uris import http_url, uri_query

__all__ = [
    "DID_PREFIX",
    "REQUEST_SCHEME",
    "REQUEST_TYP",
    "AuthorizationRequest",
    "Match",
    "RequestReference",
    "answer_warnings",
    "claim_values",
    "fetch_request_object",
    "match_dcql",
    "parse_request_uri",
    "queries_answered",
    "send_response",
    "verify_request_object",
    "vp_token",
]

REQUEST_SCHEME = "openid4vp"
DID_PREFIX = "decentralized_identifier:"
REQUEST_TYP = "oauth-authz-req+jwt"
_EXPECTED_URI = (
    "an openid4vp:// URI with client_id (decentralized_identifier:did:key:...) and request_uri, "
    "as the verifier's QR code gives it"
)


@dataclass(frozen=True)
class RequestReference:
    """The ``client_id`` and ``request_uri`` of an authorization request URI."""

    client_id: str
    request_uri: str


@dataclass(frozen=True)
class AuthorizationRequest:
    """A verified request object."""

    client_id: str
    verifier_key: Ed25519PublicKey
    nonce: str
    state: str | None
    response_uri: str
    dcql_query: dict[str, Any]
    claims: dict[str, Any]


def parse_request_uri(text: str) -> RequestReference:
    """Parse ``openid4vp://?client_id=...&request_uri=...``; raises `BadUri`."""
    text, query = uri_query(text, REQUEST_SCHEME, _EXPECTED_URI)
    client_id = (query.get("client_id") or [""])[0]
    request_uri = (query.get("request_uri") or [""])[0]
    if not client_id or not request_uri:
        missing = " and ".join(
            n for n, v in (("client_id", client_id), ("request_uri", request_uri)) if not v
        )
        if "request" in query or "dcql_query" in query:
            raise BadUri(
                f"expected a request by reference ({_EXPECTED_URI}); a request by value is not "
                f"taken, since only a signed request object names its verifier"
            )
        raise BadUri(f"expected {_EXPECTED_URI}, found no {missing} in {text[:80]!r}")
    if not client_id.startswith(DID_PREFIX + "did:key:"):
        raise BadUri(
            f"client_id: expected {DID_PREFIX}did:key:... (a verifier identified by its key), "
            f"found {client_id[:80]!r}"
        )
    return RequestReference(client_id=client_id, request_uri=http_url(request_uri, "request_uri"))


def verify_request_object(token: str, client_id: str) -> AuthorizationRequest:
    """Check a request object: signed (EdDSA) by the did:key ``client_id`` names, for that
    ``client_id``, a ``vp_token`` request by ``direct_post`` with a nonce and a DCQL query.
    Raises `RequestNotSigned` naming what is wrong."""
    if not client_id.startswith(DID_PREFIX):
        raise RequestNotSigned(f"client_id: expected {DID_PREFIX}did:key:..., found {client_id!r}")
    did = client_id[len(DID_PREFIX) :]
    try:
        key = Ed25519PublicKey.from_did_key(did)
    except CredentialError as exc:
        raise RequestNotSigned(f"client_id: {did!r} is not an Ed25519 did:key ({exc})") from exc
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise RequestNotSigned(f"request object: expected a signed JWT ({exc})") from exc
    if header.get("alg") != "EdDSA":
        raise RequestNotSigned(f"request object: expected alg EdDSA, found {header.get('alg')!r}")
    if header.get("typ") not in (REQUEST_TYP, None):
        raise RequestNotSigned(
            f"request object: expected typ {REQUEST_TYP}, found {header.get('typ')!r}"
        )
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or kid.split("#", 1)[0] != did):
        raise RequestNotSigned(
            f"request object: signed with key {kid!r}, expected a key of the client_id {did}"
        )
    try:
        claims = jwt.decode(
            token,
            CryptoEd25519PublicKey.from_public_bytes(key.raw),
            algorithms=["EdDSA"],
            options={"verify_aud": False, "require": []},
            leeway=60,
        )
    except jwt.InvalidSignatureError as exc:
        raise RequestNotSigned(
            f"request object: the signature does not verify with the key of the client_id {did}"
        ) from exc
    except jwt.ExpiredSignatureError as exc:
        raise VerifierRefused("the presentation request has expired: ask for a new one") from exc
    except jwt.PyJWTError as exc:
        raise RequestNotSigned(f"request object: {exc}") from exc
    if claims.get("client_id") != client_id:
        raise RequestNotSigned(
            f"request object: client_id {claims.get('client_id')!r} is not the QR code's "
            f"{client_id}"
        )
    for name, expected in (("response_type", "vp_token"), ("response_mode", "direct_post")):
        if claims.get(name) != expected:
            raise RequestNotSigned(
                f"request object: expected {name} {expected}, found {claims.get(name)!r}"
            )
    nonce, response_uri = claims.get("nonce"), claims.get("response_uri")
    dcql = claims.get("dcql_query")
    if not isinstance(nonce, str) or not nonce:
        raise RequestNotSigned("request object: expected a nonce")
    if not isinstance(response_uri, str) or not response_uri.startswith(("http://", "https://")):
        raise RequestNotSigned(
            f"request object: expected a response_uri URL, found {response_uri!r}"
        )
    if not isinstance(dcql, dict) or not isinstance(dcql.get("credentials"), list):
        raise RequestNotSigned("request object: expected a dcql_query with credentials")
    state = claims.get("state")
    return AuthorizationRequest(
        client_id=client_id,
        verifier_key=key,
        nonce=nonce,
        state=state if isinstance(state, str) else None,
        response_uri=response_uri,
        dcql_query=dcql,
        claims=claims,
    )


# --- DCQL -------------------------------------------------------------------------------------


def claim_values(document: Any, path: Sequence[Any]) -> list[Any]:
    """The values a DCQL claims path selects (a text: that member; an integer: that array
    element; null: every element of an array); empty when the path selects nothing."""
    current = [document]
    for step in path:
        following: list[Any] = []
        for node in current:
            if step is None:
                if isinstance(node, list):
                    following += node
            elif isinstance(step, bool):
                continue
            elif isinstance(step, int):
                if isinstance(node, list) and 0 <= step < len(node):
                    following.append(node[step])
            elif isinstance(step, str) and isinstance(node, Mapping) and step in node:
                following.append(node[step])
        current = following
        if not current:
            return []
    return current


def _types(credential: Mapping[str, Any]) -> set[str]:
    t = credential.get("type")
    return set(t) if isinstance(t, list) else {t} if isinstance(t, str) else set()


def _matches(query: Mapping[str, Any], credential: Mapping[str, Any]) -> bool:
    if query.get("format", "ldp_vc") != "ldp_vc":
        return False
    meta = query.get("meta") or {}
    type_values = meta.get("type_values") if isinstance(meta, Mapping) else None
    if type_values:
        have = _types(credential)
        if not any(isinstance(tv, list) and set(tv) <= have for tv in type_values):
            return False
    claims = query.get("claims") or []
    if not isinstance(claims, list):
        return False
    found: dict[str, bool] = {}
    for claim in claims:
        if not isinstance(claim, Mapping) or not isinstance(claim.get("path"), list):
            return False
        values = claim_values(credential, claim["path"])
        wanted = claim.get("values")
        ok = bool(values) and (wanted is None or any(v in wanted for v in values))
        if isinstance(claim.get("id"), str):
            found[claim["id"]] = ok
        elif not ok:
            return False
    claim_sets = query.get("claim_sets")
    if isinstance(claim_sets, list) and claim_sets:
        return any(all(found.get(i, False) for i in s) for s in claim_sets if isinstance(s, list))
    return all(found.values())


def queries_answered(dcql: Mapping[str, Any], credential: Mapping[str, Any]) -> list[str]:
    """The ids of the DCQL credential queries ``credential`` would answer (its type, format
    and claims; whose subject it names is not looked at)."""
    return [
        str(q.get("id"))
        for q in dcql.get("credentials") or []
        if isinstance(q, Mapping) and _matches(q, credential)
    ]


@dataclass(frozen=True)
class Match:
    """The credentials chosen for a DCQL query: query id -> credentials (first = preferred);
    ``missing`` lists what could not be satisfied (empty when the query is satisfied)."""

    chosen: dict[str, list[dict[str, Any]]]
    missing: list[str]
    requested: dict[str, list[list[Any]]]


def match_dcql(
    dcql: Mapping[str, Any],
    credentials: Sequence[Mapping[str, Any]],
    *,
    holder: str,
) -> Match:
    """Choose the wallet's credentials for a DCQL query.

    Only credentials about ``holder`` (``credentialSubject.id``) are candidates, in the order
    given (the caller puts the preferred first). Each credential query takes its first
    candidate (``multiple``: all of them). ``credential_sets``: each required set is satisfied
    by its first option whose queries all matched; an optional set adds its first satisfiable
    option; without sets every query is required.
    """
    queries = [q for q in dcql.get("credentials") or [] if isinstance(q, Mapping)]
    own = [
        dict(c)
        for c in credentials
        if isinstance(c.get("credentialSubject"), Mapping)
        and c["credentialSubject"].get("id") == holder
    ]
    candidates: dict[str, list[dict[str, Any]]] = {}
    requested: dict[str, list[list[Any]]] = {}
    for q in queries:
        qid = str(q.get("id"))
        hits = [c for c in own if _matches(q, c)]
        candidates[qid] = hits if q.get("multiple") else hits[:1]
        requested[qid] = [c["path"] for c in q.get("claims") or [] if isinstance(c, Mapping)]
    sets = dcql.get("credential_sets")
    chosen: dict[str, list[dict[str, Any]]] = {}
    missing: list[str] = []
    if not isinstance(sets, list) or not sets:
        for qid, hits in candidates.items():
            if hits:
                chosen[qid] = hits
            else:
                missing.append(qid)
        return Match(chosen, missing, requested)
    for s in sets:
        if not isinstance(s, Mapping):
            continue
        options = [o for o in s.get("options") or [] if isinstance(o, list)]
        ok = next((o for o in options if all(candidates.get(str(i)) for i in o)), None)
        if ok is not None:
            for qid in map(str, ok):
                chosen[qid] = candidates[qid]
        elif s.get("required", True):
            missing.append(" or ".join("+".join(map(str, o)) for o in options))
    return Match(chosen, missing, requested)


def vp_token(
    chosen: Mapping[str, Sequence[Mapping[str, Any]]],
    key: Ed25519SigningKey,
    *,
    request: AuthorizationRequest,
    salt: str | None,
    created: datetime,
) -> dict[str, list[dict[str, Any]]]:
    """One bound presentation per credential query (challenge = nonce, domain = client_id),
    each disclosing the identity-document salt."""
    return {
        qid: [
            create_presentation(
                list(creds),
                key,
                challenge=request.nonce,
                domain=request.client_id,
                created=created,
                identity_document_salt=salt,
            )
        ]
        for qid, creds in chosen.items()
    }


# --- HTTP -------------------------------------------------------------------------------------


def fetch_request_object(client: httpx.Client, reference: RequestReference) -> AuthorizationRequest:
    """GET the request object and verify it (`verify_request_object`)."""
    try:
        r = client.get(reference.request_uri, headers={"Accept": "application/oauth-authz-req+jwt"})
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(
            f"cannot reach the verifier at {reference.request_uri} ({exc})"
        ) from exc
    if r.status_code in (404, 410):
        raise VerifierRefused(
            f"the presentation request {reference.request_uri} is unknown, expired or already "
            f"answered (HTTP {r.status_code}): ask the officer for a new QR code"
        )
    if r.status_code != 200:
        raise VerifierRefused(
            f"request object: expected 200 from {reference.request_uri}, found HTTP "
            f"{r.status_code} {_description(r)}"
        )
    return verify_request_object(r.text.strip(), reference.client_id)


def send_response(
    client: httpx.Client,
    request: AuthorizationRequest,
    token: Mapping[str, Any],
) -> dict[str, Any]:
    """POST ``vp_token`` and ``state`` to ``response_uri`` (direct_post); the verifier's 200
    body (``redirect_uri`` when it sends one). Raises `VerifierRefused` with its reason."""
    form = {"vp_token": json.dumps(token, separators=(",", ":"), ensure_ascii=False)}
    if request.state is not None:
        form["state"] = request.state
    try:
        r = client.post(request.response_uri, data=form)
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(
            f"cannot reach the verifier at {request.response_uri} ({exc})"
        ) from exc
    if r.status_code != 200:
        raise VerifierRefused(
            f"the verifier refused the presentation (HTTP {r.status_code}) {_description(r)}"
        )
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _description(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return repr(r.text[:160])
    if isinstance(body, Mapping) and "error" in body:
        desc = body.get("error_description")
        return f"{body['error']}: {desc}" if desc else str(body["error"])
    if isinstance(body, Mapping) and "detail" in body:
        return str(body["detail"])
    return repr(r.text[:160])


def answer_warnings(request_uri: str, response_uri: str) -> list[str]:
    """What a holder should know before answering: the answers going to another host than the
    one the request came from (a signed request names its response URI, but nothing ties that
    host to the QR code's), or leaving the computer unencrypted."""
    asked, answer = urlsplit(request_uri), urlsplit(response_uri)
    warnings = []
    if (answer.hostname, answer.port) != (asked.hostname, asked.port):
        warnings.append(
            f"the answers go to {answer.netloc}, not to {asked.netloc} where the request came from"
        )
    if answer.scheme != "https" and answer.hostname not in ("localhost", "127.0.0.1", "::1"):
        warnings.append(f"the answers leave this computer unencrypted (http://{answer.netloc})")
    return warnings
