"""Server-sent events for one job: a ``progress`` event whenever status, stage or progress
change, then ``end`` at a terminal status; a comment every 15 s keeps proxies from closing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request

from songforge.errors import NotFound
from songforge.service.core import Principal, SongService
from songforge.service.views import job_view

KEEPALIVE_S = 15.0


def _event(name: str, data: object, event_id: int) -> bytes:
    return b"event: %s\nid: %d\ndata: %s\n\n" % (name.encode(), event_id, orjson.dumps(data))


async def job_events(
    request: Request,
    service: SongService,
    principal: Principal,
    job_id: str,
    interval_s: float = 0.5,
) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    last: tuple[object, ...] | None = None
    sent = 0
    quiet_since = time.monotonic()
    while True:
        try:
            job = service.get(principal, job_id)
        except NotFound:
            yield _event("end", {"id": job_id, "status": "deleted"}, sent + 1)
            return
        state = (job.status, job.stage, round(job.progress, 1), job.attempt)
        if state != last:
            last = state
            sent += 1
            quiet_since = time.monotonic()
            yield _event("progress", job_view(job), sent)
        if job.status.terminal:
            yield _event("end", {"id": job.id, "status": job.status.value}, sent + 1)
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield b": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(interval_s)
