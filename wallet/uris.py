"""Reading the URIs a wallet is handed (an institution's offer, a verifier's request): the
scheme and query of ``<scheme>://?...`` and the http(s) URLs they point to, each refusal a
`BadUri` naming what was expected (`oid4vci.parse_offer_uri`, `oid4vp.parse_request_uri`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .errors import BadUri

__all__ = ["http_url", "uri_query"]


def uri_query(text: str, scheme: str, expected: str) -> tuple[str, dict[str, list[str]]]:
    """(``text`` stripped, its query parameters, blank values kept) of a ``scheme://?...``
    URI; `BadUri` "expected ``expected``, found ..." when it is empty or of another scheme."""
    if not isinstance(text, str) or not text.strip():
        raise BadUri(f"expected {expected}, found nothing")
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme != scheme:
        raise BadUri(f"expected {expected}, found {text[:80]!r}")
    return text, parse_qs(parts.query, keep_blank_values=True)


def http_url(value: str, name: str) -> str:
    """``value`` when it is an http(s) URL with a host; else `BadUri` naming the parameter."""
    target = urlsplit(value)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise BadUri(f"{name}: expected an http(s) URL, found {value[:80]!r}")
    return value
