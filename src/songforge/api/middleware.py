"""Pure ASGI middleware (no per-request task overhead): a body guard that enforces JSON and a
size limit before any route parses, and request metrics labelled by route template."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from songforge.api.errors import error_response
from songforge.errors import PayloadTooLarge, UnsupportedMediaType

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# curl -d sends form encoding by default; the body is still JSON, so take it as such
_TREATED_AS_JSON = {b"", b"application/x-www-form-urlencoded"}


class BodyGuard:
    """``max_body_bytes`` for every route, except paths matching one of ``limits`` (pattern,
    bytes) — provider webhooks, whose bodies we do not choose."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        limits: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limits = tuple(limits)

    def _limit(self, path: str) -> int:
        for pattern, limit in self.limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._refuse(scope, receive, send, self._too_large(limit))
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        has_body = length is None or int(length) > 0
        if content_type in _TREATED_AS_JSON and has_body:
            scope["headers"] = [  # in place: outer middleware reads scope["route"] later
                (k, v) for k, v in scope["headers"] if k != b"content-type"
            ] + [(b"content-type", b"application/json")]
        elif has_body and not (
            content_type == b"application/json" or content_type.endswith(b"+json")
        ):
            error = UnsupportedMediaType("Content-Type", "send the body as application/json")
            await self._refuse(scope, receive, send, error)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, self._too_large(limit))

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge("body", f"request body larger than {limit} bytes")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: Any) -> None:
        await error_response(error)(scope, receive, send)


class _TooLarge(Exception):
    pass


class HttpMetrics:
    """``songforge_http_requests_total`` and ``songforge_http_request_duration_seconds``."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "songforge_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "songforge_http_request_duration_seconds",
            "Time to the response head, by route template",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        # labelled children by (method, route, status): labels() locks and validates each time
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, template: str, status: int, seconds: float) -> None:
        children = self._children.get((method, template, status))
        if children is None:
            children = (
                self.latency.labels(method, template),
                self.requests.labels(method, template, str(status)),
            )
            self._children[(method, template, status)] = children
        children[0].observe(seconds)
        children[1].inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                template = getattr(scope.get("route"), "path", None) or "unmatched"
                seconds = time.perf_counter() - started
                self._observe(scope["method"], template, message["status"], seconds)
            await send(message)

        await self.app(scope, receive, send_wrapper)
