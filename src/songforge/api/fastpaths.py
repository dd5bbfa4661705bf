"""The two hot requests answered without FastAPI's routing, dependency solving and body
handling, which cost more CPU than the work itself: a status read (``GET /v1/songs/{id}``,
what clients poll) and a plain submit (``POST /v1/songs`` with a valid body).

They call the same functions as the FastAPI routes (``routes.status_response``,
``routes.submitted``), so the answers are the same. Anything not plainly valid — a body that
does not validate, an odd header, a callback URL, a named provider, another path — goes on to
FastAPI untouched (a body already read is replayed), so every error a client can get still
comes from the one place that makes it. The routes stay declared in FastAPI for OpenAPI."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from songforge.api.errors import handled
from songforge.api.routes import Call, bearer_token, status_response, submitted
from songforge.errors import SongforgeError
from songforge.request import SongRequest
from songforge.service.core import MAX_IDEMPOTENCY_KEY, SongService

_STATUS_PATH = re.compile(r"/v1/songs/([0-9a-f]{32})")
_SUBMIT_PATH = "/v1/songs"


class FastPaths:
    """ASGI middleware; ``routes`` maps (method, template) to the FastAPI route, which is put
    in the scope so request metrics keep their route label."""

    def __init__(self, app: ASGIApp, service: SongService, routes: dict[str, Any]) -> None:
        self.app = app
        self.service = service
        self.status_route = routes.get("GET /v1/songs/{job_id}")
        self.submit_route = routes.get("POST /v1/songs")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "GET" and (match := _STATUS_PATH.fullmatch(path)):
                scope["route"] = self.status_route
                await self._answer(
                    scope, receive, send, lambda call: status_response(call, match[1])
                )
                return
            if method == "POST" and path == _SUBMIT_PATH:
                await self._submit(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, respond: Any) -> None:
        try:
            call = Call(self.service, self.service.authenticate(bearer_token(_header(scope))))
            response = respond(call)
        except SongforgeError as exc:
            response = handled(exc)
        await response(scope, receive, send)

    async def _submit(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        song, idempotency_key = _plain_submit(scope, bytes(body))
        if song is None:
            await self.app(scope, _replay(bytes(body), receive), send)
            return
        scope["route"] = self.submit_route
        await self._answer(
            scope, receive, send, lambda call: submitted(call, song, idempotency_key)
        )


def _header(scope: Scope, name: bytes = b"authorization") -> str | None:
    """The first value of a header, as Starlette's ``request.headers.get`` gives it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _plain_submit(scope: Scope, body: bytes) -> tuple[SongRequest | None, str | None]:
    """The request and Idempotency-Key of a submit the fast path may answer, else (None, None):
    FastAPI answers the rest, with its validation errors."""
    names = [key for key, _ in scope["headers"]]
    if b"songforge-callback-url" in names or names.count(b"idempotency-key") > 1:
        return None, None
    idempotency_key = _header(scope, b"idempotency-key")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        return None, None
    try:
        data = orjson.loads(body)
        song = SongRequest.model_validate(data) if isinstance(data, dict) else None
    except Exception:  # whatever it is, FastAPI will say what is wrong with it
        return None, None
    if song is None or song.provider is not None:
        return None, None
    return song, idempotency_key


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
