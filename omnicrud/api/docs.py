"""``/docs`` (Swagger UI) and ``/redoc`` served with no network beyond the service itself.

FastAPI's own pages load their JS and CSS from a CDN, so they are blank offline. The assets
here come from the pinned ``fastapi-offline`` package (Swagger UI 5 dist, ReDoc's standalone
bundle, a favicon), mounted under ``/docs/assets``; only the HTML pages are FastAPI's.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from omnicrud.config import Settings

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
"""The package's asset directory: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js."""
ASSETS_URL = "/docs/assets"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
PAGE_POLICY = {"Content-Security-Policy": "img-src 'self' data: blob:"}
"""The one remote URL left in the bundles is ReDoc's attribution logo (cdn.redoc.ly): the
browser is told not to fetch images from anywhere but the service, so the pages never
reach outside it (and never wait on a network that is not there)."""


def install_docs(app: FastAPI, settings: Settings) -> None:
    """Mount the assets and add ``/docs``, its OAuth2 redirect page and ``/redoc``.

    Call it on an app created with ``docs_url=None, redoc_url=None``. URLs are prefixed with
    the request's ``root_path`` so the pages work behind a proxy that mounts the service.
    ``settings`` is where ``OMNICRUD_PUBLIC_DOCS`` will be read once auth lands.
    """
    if not (ASSETS_DIR / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"fastapi-offline's assets are missing from {ASSETS_DIR}")
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.swagger_ui_oauth2_redirect_url = OAUTH2_REDIRECT_URL
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        page.headers.update(PAGE_POLICY)
        return page

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(PAGE_POLICY)
        return page
