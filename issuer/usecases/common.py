"""Helpers shared by the use cases: the callers' scope checks, how timestamps and did:web
identifiers are written."""

import datetime as dt
from urllib.parse import urlsplit

from .. import auth
from ..errors import Forbidden
from ..settings import ip_host


def iso_z(value: dt.datetime | None) -> str | None:
    """A timestamp as every API response writes it: UTC, ISO 8601, seconds, ``Z``
    (``2026-07-01T00:00:00Z``, as the credentials' ``validFrom``). SQLite returns naive
    datetimes: they are stored as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def did_web(public_url: str, slug: str) -> str:
    """``did:web`` identifier of an institution served at ``<public_url>/institutions/<slug>``.

    did:web names a host by its DNS name, never an IP: a loopback address (a development URL
    such as ``http://127.0.0.1:8000``) is written ``localhost``; any other IP is refused
    (`ValueError`; the settings refuse such a public URL at startup)."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    address = ip_host(public_url)
    if address is not None:
        if not address.is_loopback:
            raise ValueError(
                f"did:web needs a DNS host name, not the IP address {host!r} of {public_url!r}: "
                "serve the issuer under a host name (e.g. https://issuer.example.org)"
            )
        host = "localhost"
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    path = [p for p in parts.path.split("/") if p]
    return ":".join(["did:web", host, *path, "institutions", slug])


def require(principal: auth.Principal, scope: str) -> int:
    """The caller's institution id if it holds ``scope``; raises `Forbidden`."""
    if principal.is_operator or principal.institution_id is None:
        raise Forbidden(f"this endpoint needs an institution API key with scope '{scope}'")
    if scope not in principal.scopes:
        raise Forbidden(f"this API key lacks the scope '{scope}'")
    return principal.institution_id


def require_operator(principal: auth.Principal) -> None:
    """Raises `Forbidden` unless the caller is an operator."""
    if not principal.is_operator:
        raise Forbidden("this endpoint needs an operator API key")
