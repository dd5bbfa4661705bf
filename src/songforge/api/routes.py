"""The HTTP routes. Each handler reads its inputs, calls one service method and shapes the
answer; rules live in the service, errors become statuses in ``api.errors``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from songforge.api import schemas
from songforge.api.events import job_events
from songforge.api.ranges import blob_response
from songforge.api.responses import JSON
from songforge.jobs.model import JobStatus
from songforge.request import AudioFormat, SongRequest
from songforge.service.core import MONTH_PATTERN, Principal, SongService, Submission, styles
from songforge.service.views import iso, job_view, webhook_attempt_view

BEARER = "HTTPBearer"  # the security scheme app.py declares for routes that use get_call


async def get_service(request: Request) -> SongService:
    service: SongService = request.app.state.service
    return service


@dataclass(frozen=True, slots=True)
class Call:
    """The service and the authenticated caller: one dependency per request, kept flat
    because FastAPI's dependency solving is a large share of a status read's cost."""

    service: SongService
    principal: Principal


async def get_call(request: Request) -> Call:
    service: SongService = request.app.state.service
    return Call(service, service.authenticate(bearer_token(request.headers.get("authorization"))))


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


Svc = Annotated[SongService, Depends(get_service)]
Caller = Annotated[Call, Depends(get_call)]
JobId = Annotated[
    str,
    Path(pattern=r"^[0-9a-f]{32}$", description="A job id (32 hex digits)", examples=["0" * 32]),
]
Part = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="A stem name")]
ProviderName = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="A provider", examples=["replicate"]),
]

songs = APIRouter(prefix="/v1", tags=["songs"])
providers = APIRouter(prefix="/v1", tags=["providers"])
ops = APIRouter(tags=["operations"])


@songs.post(
    "/songs",
    status_code=202,
    response_model=schemas.JobView,
    responses=schemas.errors(
        400,
        402,
        409,
        413,
        415,
        503,
        extra={200: {"model": schemas.JobView, "description": "Cached or replayed"}},
    ),
    summary="Queue a song",
)
async def submit_song(
    song: SongRequest,
    call: Caller,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retrying with the same key returns the same job",
        ),
    ] = None,
    callback_url: Annotated[
        str | None,
        Header(
            alias="Songforge-Callback-Url",
            min_length=1,
            max_length=2048,
            description="Where to POST the signed song.succeeded/failed/cancelled event",
        ),
    ] = None,
) -> Response:
    """Takes exactly the engine's SongRequest. Answers 202 with the queued job (with its cost
    estimate) and a Location header; 200 when the song came from the cache (`cached: true`)
    or the Idempotency-Key was seen before (`Idempotent-Replayed: true`); 402 when the key's
    provider budget cannot pay for it; 503 when none of its providers is usable."""
    if callback_url is None and song.provider is None:  # short writes: cheaper inline
        return submitted(call, song, idempotency_key)
    # DNS (the SSRF check) and building or pricing providers stay off the event loop
    submission = await run_in_threadpool(
        call.service.submit,
        call.principal,
        song,
        callback_url=callback_url,
        idempotency_key=idempotency_key,
    )
    return submission_response(submission)


def submitted(call: Call, song: SongRequest, idempotency_key: str | None) -> Response:
    """A submit without a callback URL or a named provider, answered inline (the fast path
    of ``api.fastpaths`` shares it)."""
    return submission_response(
        call.service.submit(call.principal, song, idempotency_key=idempotency_key)
    )


def submission_response(submission: Submission) -> Response:
    view = job_view(submission.job)
    headers = {"Location": view["links"]["self"]}
    if not submission.created:
        headers["Idempotent-Replayed"] = "true"
    status = 202 if submission.created and submission.job.status.active else 200
    return JSON(view, status_code=status, headers=headers)


@songs.get("/songs", response_model=schemas.JobList, responses=schemas.errors(), summary="My jobs")
async def list_songs(
    call: Caller,
    status: Annotated[list[JobStatus] | None, Query(description="Only these statuses")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of a page")
    ] = None,
) -> Response:
    """The caller's jobs, newest first."""
    page = call.service.list_jobs(call.principal, statuses=status, limit=limit, cursor=cursor)
    return JSON({"items": [job_view(j) for j in page.jobs], "next_cursor": page.next_cursor})


@songs.get(
    "/songs/{job_id}",
    response_model=schemas.JobView,
    responses=schemas.errors(404),
    summary="A job's status, progress, error, links and song metadata",
)
async def get_song(job_id: JobId, call: Caller) -> Response:
    return status_response(call, job_id)


def status_response(call: Call, job_id: str) -> Response:
    """A job's view (the fast path of ``api.fastpaths`` shares it)."""
    return JSON(job_view(call.service.get(call.principal, job_id)))


@songs.delete(
    "/songs/{job_id}",
    response_model=schemas.JobView,
    responses=schemas.errors(
        404,
        extra={
            202: {"model": schemas.JobView, "description": "Running: it stops at the next stage"},
            204: {"description": "Finished: the job and its files are deleted"},
        },
    ),
    summary="Cancel a queued or running job, or delete a finished one",
)
async def delete_song(job_id: JobId, call: Caller) -> Response:
    job = await run_in_threadpool(call.service.cancel_or_delete, call.principal, job_id)
    if job is None:
        return Response(status_code=204)
    return JSON(job_view(job), status_code=202 if job.status.active else 200)


_FILE: schemas.Responses = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file"},
    206: {"content": {"application/octet-stream": {}}, "description": "A byte range"},
    304: {"description": "Not modified (If-None-Match)"},
}


@songs.head("/songs/{job_id}/audio", include_in_schema=False)
@songs.get(
    "/songs/{job_id}/audio",
    response_class=Response,
    responses=schemas.errors(404, 409, 416, extra=_FILE),
    summary="The song (byte ranges, ETag); ?format= transcodes once and caches",
)
def get_audio(
    request: Request,
    job_id: JobId,
    call: Caller,
    format: Annotated[
        AudioFormat | None, Query(description="Default: the requested format")
    ] = None,
) -> Response:
    ref = call.service.audio(call.principal, job_id, format)
    suffix = ref.key.rsplit(".", 1)[-1]
    return blob_response(request, call.service, ref, f"{job_id}.{suffix}")


@songs.head("/songs/{job_id}/stems/{part}", include_in_schema=False)
@songs.get(
    "/songs/{job_id}/stems/{part}",
    response_class=Response,
    responses=schemas.errors(404, 409, 416, extra=_FILE),
    summary="One processed stem",
)
async def get_stem(request: Request, job_id: JobId, part: Part, call: Caller) -> Response:
    ref = call.service.stem(call.principal, job_id, part)
    suffix = ref.key.rsplit(".", 1)[-1]
    return blob_response(request, call.service, ref, f"{job_id}-{part}.{suffix}")


@songs.head("/songs/{job_id}/midi", include_in_schema=False)
@songs.get(
    "/songs/{job_id}/midi",
    response_class=Response,
    responses=schemas.errors(404, 409, 416, extra=_FILE),
    summary="The arrangement as a MIDI file",
)
async def get_midi(request: Request, job_id: JobId, call: Caller) -> Response:
    return blob_response(
        request, call.service, call.service.midi(call.principal, job_id), f"{job_id}.mid"
    )


@songs.get(
    "/songs/{job_id}/metadata",
    response_class=Response,
    responses=schemas.errors(
        404,
        409,
        extra={200: {"content": {"application/json": {}}, "description": "The metadata sheet"}},
    ),
    summary="The full metadata sheet (with the audio file's sha256)",
)
async def get_metadata(request: Request, job_id: JobId, call: Caller) -> Response:
    ref = call.service.metadata(call.principal, job_id)
    return blob_response(request, call.service, ref, f"{job_id}.json")


@songs.get(
    "/songs/{job_id}/events",
    response_class=StreamingResponse,
    responses=schemas.errors(
        404, extra={200: {"content": {"text/event-stream": {}}, "description": "SSE progress"}}
    ),
    summary="Progress as server-sent events until the job finishes",
)
async def song_events(request: Request, job_id: JobId, call: Caller) -> Response:
    call.service.get(call.principal, job_id)  # 404 before the stream starts
    interval_s: float = request.app.state.events_interval_s
    return StreamingResponse(
        job_events(request, call.service, call.principal, job_id, interval_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@songs.get(
    "/songs/{job_id}/webhooks",
    response_model=schemas.WebhookAttemptList,
    responses=schemas.errors(404),
    summary="Every delivery attempt of this job's webhook",
)
async def song_webhooks(job_id: JobId, call: Caller) -> Response:
    attempts = call.service.webhook_attempts(call.principal, job_id)
    return JSON({"items": [webhook_attempt_view(a) for a in attempts]})


@songs.get(
    "/songs/{job_id}/attempts",
    response_model=schemas.AttemptList,
    responses=schemas.errors(404),
    summary="Every worker attempt at this job",
)
async def song_attempts(job_id: JobId, call: Caller) -> Response:
    items: list[dict[str, Any]] = [
        {
            "attempt": a.attempt,
            "worker_id": a.worker_id,
            "started_at": iso(a.started_at),
            "ended_at": iso(a.ended_at),
            "outcome": a.outcome.value,
            "error": a.error.to_dict() if a.error else None,
        }
        for a in call.service.attempts_of(call.principal, job_id)
    ]
    return JSON({"items": items})


_STYLES: list[dict[str, Any]] = []


@songs.get("/styles", response_model=schemas.StyleList, summary="The installed styles (genres)")
async def list_styles() -> Response:
    if not _STYLES:
        _STYLES.extend(styles())
    return JSON({"items": _STYLES})


@songs.get(
    "/admin/usage",
    response_model=schemas.UsageList,
    responses=schemas.errors(403),
    summary="Jobs and audio seconds per key (admin keys only)",
    tags=["admin"],
)
async def admin_usage(call: Caller) -> Response:
    return JSON({"items": call.service.usage(call.principal)})


@providers.get(
    "/providers",
    response_model=schemas.ProviderList,
    responses=schemas.errors(403),
    summary="Every provider: installed, configured, capabilities, price",
)
async def list_providers(
    call: Caller,
    check: Annotated[
        bool, Query(description="Also ask each usable provider for its health (admin keys)")
    ] = False,
) -> Response:
    """No provider is called unless `check=true`. Secrets never appear; admin keys also see
    each provider's settings, masked."""
    rows = await run_in_threadpool(call.service.provider_list, call.principal, check=check)
    return JSON({"items": rows})


@providers.get(
    "/usage",
    response_model=schemas.ProviderUsage,
    responses=schemas.errors(403),
    summary="Spend on providers per key, provider and month, with budgets",
    tags=["usage"],
)
async def provider_usage(
    call: Caller,
    key: Annotated[
        str | None, Query(max_length=64, description="A key id (admin keys; default: all)")
    ] = None,
    month: Annotated[
        str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (default: this month)")
    ] = None,
) -> Response:
    """A key sees its own spend and budget; an admin key every key's, or one's with `key`."""
    report = await run_in_threadpool(
        call.service.provider_usage, call.principal, key_id=key, month=month
    )
    return JSON(report)


@providers.post(
    "/providers/{name}/webhook",
    response_model=schemas.WebhookReceipt,
    responses=schemas.errors(404, 413, 415, 503),
    summary="Inbound provider webhooks (signed by the provider; no API key)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def provider_webhook(name: ProviderName, request: Request, service: Svc) -> Response:
    """Replicate's Standard Webhooks are verified over the raw body; forged or stale ones
    answer 401, a replayed webhook-id 200 `duplicate` (nothing changes). Suno's unsigned
    callbacks are only a hint to poll. 404: the provider sends no webhooks; 503: no secret
    to verify with is configured. Bodies up to 1 MB."""
    body = await request.body()  # the exact bytes: signatures cover them, never re-serialised
    receipt = await run_in_threadpool(service.provider_webhook, name, request.headers, body)
    return JSON(receipt)


@ops.get("/healthz", response_model=schemas.Health, summary="The process is up")
async def healthz() -> Response:
    return JSON({"status": "ok"})


@ops.get(
    "/readyz",
    response_model=schemas.Health,
    responses={503: {"model": schemas.ErrorBody}},
    summary="The stores are reachable",
)
async def readyz(service: Svc) -> Response:
    service.ready()
    return JSON({"status": "ready"})


@ops.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = await run_in_threadpool(generate_latest, request.app.state.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
