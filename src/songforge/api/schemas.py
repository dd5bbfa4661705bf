"""Response shapes for the OpenAPI document (the handlers build the same dicts directly)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from songforge.jobs.model import JobStatus


class ErrorDetail(BaseModel):
    field: str | None
    message: str


class ErrorContent(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorBody(BaseModel):
    error: ErrorContent


class JobErrorView(BaseModel):
    code: str
    message: str


class SongSummaryView(BaseModel):
    model_config = ConfigDict(extra="allow")

    duration_s: float
    format: str
    audio: dict[str, Any]
    stems: list[str]
    midi: bool


class WebhookSummaryView(BaseModel):
    url: str
    state: str
    attempts: int


class JobView(BaseModel):
    id: str
    status: JobStatus
    progress: float
    stage: str | None
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    attempt: int
    max_attempts: int
    cancel_requested: bool
    cached: bool
    source_job_id: str | None
    seed: int | None
    seed_assigned: bool
    request: dict[str, Any]
    error: JobErrorView | None
    links: dict[str, Any]
    song: SongSummaryView | None
    webhook: WebhookSummaryView | None


class JobList(BaseModel):
    items: list[JobView]
    next_cursor: str | None


class StyleView(BaseModel):
    id: str
    name: str
    description: str
    aliases: list[str]
    tempo_bpm: dict[str, float]
    feel: str
    time_signatures: list[str]
    duration_s: dict[str, float]
    parts: list[dict[str, str]]


class StyleList(BaseModel):
    items: list[StyleView]


class WebhookAttemptView(BaseModel):
    number: int
    message_id: str
    event: str
    url: str
    at: str
    status_code: int | None
    ok: bool
    error: str | None
    duration_s: float


class WebhookAttemptList(BaseModel):
    items: list[WebhookAttemptView]


class AttemptView(BaseModel):
    attempt: int
    worker_id: str
    started_at: str
    ended_at: str | None
    outcome: str
    error: JobErrorView | None


class AttemptList(BaseModel):
    items: list[AttemptView]


class UsageRow(BaseModel):
    key_id: str
    key_prefix: str | None
    name: str
    admin: bool
    revoked: bool
    jobs: dict[str, int]
    jobs_total: int
    audio_seconds: float
    last_job_at: float | None


class UsageList(BaseModel):
    items: list[UsageRow]


class Health(BaseModel):
    status: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "The body cannot be decoded",
        401: "No valid API key",
        403: "The key may not do this (admin only)",
        404: "No such job for this key",
        409: "Conflict (Idempotency-Key reuse, or the song is not finished)",
        413: "Body too large",
        415: "Body is not JSON",
        416: "Range not satisfiable",
        422: "A field is invalid; error.field names it",
        429: "Rate limit or job quota; see Retry-After",
    }.items()
}


Responses = dict[int | str, dict[str, Any]]


def errors(*codes: int, extra: Responses | None = None) -> Responses:
    """OpenAPI ``responses`` for the common errors, these ``codes``, and ``extra``."""
    found: Responses = {code: ERRORS[code] for code in (401, 422, 429, *codes)}
    return {**(extra or {}), **found}
