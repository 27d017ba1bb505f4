"""The services' OpenAPI page (Swagger UI at ``/docs``) served from the service itself.

FastAPI's own ``/docs`` loads Swagger UI's script and style from a CDN (cdn.jsdelivr.net), so
the page is blank on a machine without Internet access, and ReDoc's (``/redoc``) likewise. Both
services build their app with ``docs_url=None, redoc_url=None`` and call `install_docs`, which
serves the page with its assets under `ASSETS` from the Python package ``fastapi-offline`` (a
dependency in pyproject.toml: Swagger UI's bundle, style and favicon; installed by ``make
setup`` like every dependency). ReDoc is not served: one page per service.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the Swagger UI assets are served (the script, the style sheet, the favicon).
ASSETS = "/docs-assets"
_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def assets_dir() -> str:
    """The folder of the bundled Swagger UI assets (``fastapi_offline/static``); raises
    `RuntimeError` naming the package when it is missing or incomplete."""
    folder = resources.files("fastapi_offline").joinpath("static")
    missing = [name for name in _FILES if not folder.joinpath(name).is_file()]
    if missing:
        raise RuntimeError(
            f"Swagger UI assets {missing} not found in {folder}: reinstall the package "
            "fastapi-offline (make setup)"
        )
    return str(folder)


def install_docs(app: FastAPI, docs_url: str = "/docs") -> None:
    """Serve ``app``'s OpenAPI page at ``docs_url`` (and Swagger UI's OAuth2 redirect page),
    every asset it names from `ASSETS` on the same host. ``app`` is built with
    ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}" if redirect_url else None,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # no validator badge: it would send the document to validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    if redirect_url:

        @app.get(redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()
