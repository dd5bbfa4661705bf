"""Response shapes for the OpenAPI document (the handlers build the same dicts directly)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from songforge.jobs.model import JobStatus


class ErrorDetail(BaseModel):
    field: str | None
    message: str


class BudgetDetail(BaseModel):
    month: str | None
    spent_usd: float | None
    budget_usd: float | None
    needed_usd: float | None


class ErrorContent(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] | None = None
    budget: BudgetDetail | None = None  # budget_exceeded (402) only


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


class CostView(BaseModel):
    currency: str
    estimated_usd: float | None
    actual_usd: float | None
    estimate: dict[str, Any] | None  # per provider of the request's fallback chain


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
    provider: str | None
    cost: CostView | None
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


class ProviderUsageRow(BaseModel):
    key_id: str
    provider: str
    month: str
    usd: float
    seconds: float
    jobs: int


class KeyBudget(BaseModel):
    key_id: str
    spent_usd: float
    budget_usd: float | None
    remaining_usd: float | None


class ProviderUsage(BaseModel):
    month: str
    items: list[ProviderUsageRow]
    keys: list[KeyBudget]
    total_usd: float


class ProviderView(BaseModel):
    name: str
    kind: str
    summary: str
    installed: bool
    configured: bool
    reason: str
    in_default_policy: bool
    install: str | None
    capabilities: dict[str, Any] | None
    price: dict[str, Any] | None
    settings: dict[str, str] | None  # admin keys only; secrets masked
    health: dict[str, Any] | None  # only with ?check=true


class ProviderList(BaseModel):
    items: list[ProviderView]


class WebhookReceipt(BaseModel):
    status: str  # accepted | duplicate


class Health(BaseModel):
    status: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "The body cannot be decoded",
        401: "No valid API key",
        402: "The key's monthly budget for paid providers is spent; error.budget has figures",
        403: "The key may not do this (admin only)",
        404: "No such job for this key",
        409: "Conflict (Idempotency-Key reuse, or the song is not finished)",
        413: "Body too large",
        415: "Body is not JSON",
        416: "Range not satisfiable",
        422: "A field is invalid; error.field names it",
        429: "Rate limit or job quota; see Retry-After",
        503: "No provider of the request is usable (not configured or not installed)",
    }.items()
}


Responses = dict[int | str, dict[str, Any]]


def errors(*codes: int, extra: Responses | None = None) -> Responses:
    """OpenAPI ``responses`` for the common errors, these ``codes``, and ``extra``."""
    found: Responses = {code: ERRORS[code] for code in (401, 422, 429, *codes)}
    return {**(extra or {}), **found}
