"""The HTTP API (FastAPI): ``create_app(service)``; OpenAPI at /docs and /openapi.json."""

from songforge.api.app import create_app

__all__ = ["create_app"]
