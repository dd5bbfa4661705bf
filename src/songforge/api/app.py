"""The FastAPI application: routes, the one error mapping, middleware, metrics, the web page
(``api/static``: ``/`` serves index.html, ``/static/*`` its assets), and the lifespan that runs
background loops (job workers, webhooks) when the caller hands them in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from songforge import __version__
from songforge.api import errors
from songforge.api.fastpaths import FastPaths
from songforge.api.metrics import make_registry
from songforge.api.middleware import BodyGuard, HttpMetrics
from songforge.api.responses import JSON
from songforge.api.routes import BEARER, get_call, ops, providers, songs
from songforge.service.core import SongService
from songforge.service.runtime import Background

STATIC_DIR = Path(__file__).parent / "static"
# Provider webhooks carry whole prediction records (inputs, logs): a larger limit, there only.
WEBHOOK_PATH = re.compile(r"/v1/providers/[^/]+/webhook")
WEBHOOK_MAX_BODY_BYTES = 1 << 20
_PLACEHOLDER = (
    "<!doctype html><title>songforge</title><h1>songforge</h1>"
    "<p>The web page is not installed; the API is at <a href='/docs'>/docs</a>.</p>"
)


def create_app(
    service: SongService,
    *,
    background: Background | None = None,
    max_body_bytes: int = 65536,
    events_interval_s: float = 0.5,
    fast_paths: bool = True,
) -> FastAPI:
    """An app serving ``service``; ``background`` is started and stopped with the app.
    ``fast_paths``: status reads and plain submits skip FastAPI's machinery (see
    ``api.fastpaths``); off, every request goes through the FastAPI routes."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    app = FastAPI(
        title="songforge",
        version=__version__,
        summary="Text prompt → a finished, mastered song, as asynchronous jobs.",
        default_response_class=JSON,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.events_interval_s = events_interval_s
    app.state.registry = make_registry(service)
    errors.install(app)
    app.include_router(songs)
    app.include_router(providers)
    app.include_router(ops)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html")
        return HTMLResponse(_PLACEHOLDER)

    _document_security(app)
    if fast_paths:
        routes = {
            f"{method} {route.path}": route
            for route in songs.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }
        app.add_middleware(FastPaths, service=service, routes=routes)
    app.add_middleware(
        BodyGuard,
        max_body_bytes=max_body_bytes,
        limits=[(WEBHOOK_PATH, max(max_body_bytes, WEBHOOK_MAX_BODY_BYTES))],
    )
    app.add_middleware(HttpMetrics, registry=app.state.registry)
    return app


def _document_security(app: FastAPI) -> None:
    """Declare the bearer scheme in OpenAPI for every route that authenticates (get_call reads
    the header itself: a FastAPI security dependency costs more per request than the lookup)."""
    secured = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, APIRoute)
        and any(d.call is get_call for d in route.dependant.dependencies)
        for method in route.methods or ()
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: `Authorization: Bearer sfk_...`",
                }
            }
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    if (path, method) in secured:
                        operation["security"] = [{BEARER: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """The factory `songforge serve --api-processes N` gives uvicorn (settings from the
    environment; workers run in the serving parent, not here)."""
    from songforge.service.logs import configure_logging
    from songforge.service.runtime import (
        API_PROCESS_NAME,
        build_service,
        name_process,
        open_backends,
    )
    from songforge.settings import Settings

    name_process(API_PROCESS_NAME)
    settings = Settings()
    configure_logging(settings)
    service = build_service(settings, open_backends(settings))
    return create_app(service, max_body_bytes=settings.max_body_bytes)
