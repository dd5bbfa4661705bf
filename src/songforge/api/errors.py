"""The one place errors become HTTP: a status per SongforgeError class, and a uniform body
``{"error": {"code", "message", "field"}}`` for ours, validation errors, unknown routes and
anything unexpected (logged, answered 500 without internals)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from songforge.api.responses import JSON
from songforge.errors import (
    BudgetExceeded,
    Cancelled,
    Conflict,
    ContentRefused,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RangeNotSatisfiable,
    SongforgeError,
    StorageError,
    Unauthorized,
    UnsupportedMediaType,
)

log = logging.getLogger("songforge.api")

STATUS: dict[type[SongforgeError], int] = {
    InvalidRequest: 422,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Cancelled: 409,
    BudgetExceeded: 402,
    QuotaExceeded: 429,
    RangeNotSatisfiable: 416,
    ContentRefused: 422,
    ProviderUnavailable: 503,
    ProviderError: 502,
    StorageError: 503,
}


def status_for(exc: SongforgeError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    error.update(extra)
    return {"error": error}


def error_response(exc: SongforgeError) -> JSON:
    status = status_for(exc)
    field = exc.field if isinstance(exc, InvalidRequest) else None
    message = exc.detail if isinstance(exc, InvalidRequest) else exc.message
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, BudgetExceeded) and exc.budget_usd is not None:
        extra["budget"] = {
            "month": exc.month,
            "spent_usd": exc.spent_usd,
            "budget_usd": exc.budget_usd,
            "needed_usd": exc.needed_usd,
        }
    if isinstance(exc, QuotaExceeded):
        headers["Retry-After"] = str(max(1, int(exc.retry_after_s + 0.999)))
    elif isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="songforge"'
    elif isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size_bytes}"
    return JSON(error_body(exc.code, message, field, **extra), status_code=status, headers=headers)


def handled(exc: SongforgeError) -> JSON:
    """How the app answers one of our errors raised by a handler (5xx ones are logged)."""
    if status_for(exc) >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    return error_response(exc)


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _field(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    where = parts.pop(0) if parts and parts[0] in _LOCATIONS else None
    if where == "body" and parts and isinstance(parts[0], int):
        return "body"  # a JSON syntax error at a character offset
    if not parts:
        return where or "body"
    name = str(parts[0])
    if where == "header":
        name = "-".join(w.capitalize() for w in name.replace("_", "-").split("-"))
    for part in parts[1:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error")
        return f"the body is not valid JSON ({detail})" if detail else "the body is not valid JSON"
    if error.get("type") == "extra_forbidden":
        return "unknown field (see the SongRequest schema at /docs)"
    return message


def validation_response(exc: RequestValidationError) -> JSON:
    errors = [e for e in exc.errors() if isinstance(e, dict)]
    details = [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    return JSON(
        error_body("invalid_request", first["message"], first["field"], details=details),
        status_code=422,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(SongforgeError)
    async def _ours(_: Request, exc: SongforgeError) -> JSON:
        return handled(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSON:
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSON:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        field = "body" if exc.status_code == 400 else None  # FastAPI could not decode it
        return JSON(
            error_body(code, str(exc.detail), field),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSON(error_body("internal_error", "internal server error"), status_code=500)
