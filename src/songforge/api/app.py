"""The FastAPI application: routes, the one error mapping, middleware, metrics, the web page
(``api/static``: ``/`` serves index.html, ``/static/*`` its assets), and the lifespan that runs
background loops (job workers, webhooks) when the caller hands them in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from songforge import __version__
from songforge.api import errors
from songforge.api.metrics import make_registry
from songforge.api.middleware import BodyGuard, HttpMetrics
from songforge.api.responses import JSON
from songforge.api.routes import ops, songs
from songforge.service.core import SongService
from songforge.service.runtime import Background

STATIC_DIR = Path(__file__).parent / "static"
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
) -> FastAPI:
    """An app serving ``service``; ``background`` is started and stopped with the app."""

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
    app.include_router(ops)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html")
        return HTMLResponse(_PLACEHOLDER)

    app.add_middleware(BodyGuard, max_body_bytes=max_body_bytes)
    app.add_middleware(HttpMetrics, registry=app.state.registry)
    return app


def app_from_env() -> FastAPI:
    """The factory `songforge serve --api-processes N` gives uvicorn (settings from the
    environment; workers run in the serving parent, not here)."""
    from songforge.service.runtime import build_service, open_backends
    from songforge.settings import Settings

    settings = Settings()
    service = build_service(settings, open_backends(settings))
    return create_app(service, max_body_bytes=settings.max_body_bytes)
