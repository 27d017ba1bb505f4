"""Both services' OpenAPI pages work offline (fresh-clone walk-through: ``/docs`` was blank
without Internet access, Swagger UI loading from cdn.jsdelivr.net): every script, style sheet
and icon the page names is served by the service itself, none is off-host, and ReDoc (CDN only)
is not offered."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.app import create_app as issuer_app
from talentproof.verifier.service import ServiceSettings
from talentproof.verifier.service import create_app as verifier_app
from tests.issuer.conftest import issuer_chain, make_service  # noqa: F401

pytestmark = pytest.mark.integration

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl:\s*["']([^"']+)["']""")


def _assert_offline_docs(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    urls = [a or b for a, b in _URL.findall(html)]
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 0, url
    assert "cdn." not in html and "https://" not in html and "http://" not in html
    assert '"validatorUrl": null' in html  # no badge sending the document to swagger.io
    js = next(u for u in urls if u.endswith(".js"))
    assert b"SwaggerUIBundle" in client.get(js).content
    assert client.get("/redoc").status_code == 404  # ReDoc loads from a CDN only: not offered
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_issuer_docs_are_served_from_the_issuer(make_service) -> None:  # type: ignore[no-untyped-def]
    with TestClient(issuer_app(make_service(), run_worker=False)) as client:
        _assert_offline_docs(client)


def test_verifier_docs_are_served_from_the_verifier(vchain: Any, tmp_path) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    settings = ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record))
    with TestClient(verifier_app(settings)) as client:
        _assert_offline_docs(client)
