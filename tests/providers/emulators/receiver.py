"""Our side of inbound webhooks, as the API route ``POST /v1/providers/{name}/webhook`` will
be: the raw body and headers go to ``InboundWebhooks.handle``; rejected calls answer 401,
replays 409, malformed bodies 422, unknown providers 404, a missing secret 503."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from songforge.api.errors import status_for
from songforge.errors import SongforgeError
from songforge.providers.inbound import InboundWebhooks


def receiver_app(inbound: InboundWebhooks) -> Starlette:
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        name = request.path_params["name"]
        try:
            event = await run_in_threadpool(inbound.handle, name, request.headers, body)
        except SongforgeError as exc:
            return JSONResponse(
                {"error": {"code": exc.code, "message": exc.message}}, status_code=status_for(exc)
            )
        return JSONResponse({"accepted": event.key, "status": event.status})

    return Starlette(routes=[Route("/v1/providers/{name}/webhook", webhook, methods=["POST"])])
