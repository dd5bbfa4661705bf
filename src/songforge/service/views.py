"""Jobs as the JSON clients see (API responses, webhook payloads, `songforge jobs show`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from songforge.jobs.model import Job, JobStatus, WebhookAttempt, WebhookState

API_PREFIX = "/v1"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_links(job: Job) -> dict[str, Any]:
    base = f"{API_PREFIX}/songs/{job.id}"
    links: dict[str, Any] = {"self": base, "events": f"{base}/events"}
    if job.callback_url:
        links["webhooks"] = f"{base}/webhooks"
    if job.status is JobStatus.SUCCEEDED and job.outputs is not None:
        links["audio"] = f"{base}/audio"
        links["metadata"] = f"{base}/metadata"
        links["stems"] = {name: f"{base}/stems/{name}" for name in job.outputs.stems}
        if job.outputs.midi is not None:
            links["midi"] = f"{base}/midi"
    return links


def job_view(job: Job) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": job.id,
        "status": job.status.value,
        "progress": round(job.progress, 1),
        "stage": job.stage,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "cached": job.cached,
        "source_job_id": job.source_job_id,
        "seed": job.request.seed,
        "seed_assigned": job.seed_assigned,
        "request": job.request.model_dump(mode="json"),
        "error": job.error.to_dict()
        if job.error and job.status is not JobStatus.SUCCEEDED
        else None,
        "links": job_links(job),
        "provider": provider_of(job),
        "cost": cost_view(job),
        "song": None,
        "webhook": None,
    }
    if job.callback_url:
        view["webhook"] = {
            "url": job.callback_url,
            "state": job.webhook_state.value,
            "attempts": job.webhook_attempts,
        }
    if job.status is JobStatus.SUCCEEDED and job.outputs is not None:
        out = job.outputs
        view["song"] = {
            **{k: v for k, v in out.summary.items() if k != "cost"},  # the job's own cost block
            "duration_s": out.duration_s,
            "format": out.format,
            "audio": {"sha256": out.audio.sha256, "size_bytes": out.audio.size_bytes},
            "stems": sorted(out.stems),
            "midi": out.midi is not None,
        }
    return view


def provider_of(job: Job) -> str | None:
    """Who made the song (most of it), or before then who is expected to."""
    if job.status is JobStatus.SUCCEEDED and job.outputs is not None:
        made = job.outputs.summary.get("provider")
        if isinstance(made, str) and made:
            return made
    expected = (job.estimate or {}).get("expected_provider")
    return expected if isinstance(expected, str) else None


def cost_view(job: Job) -> dict[str, Any] | None:
    """The provider cost: estimated at submit, actual once the song is made (a cached copy
    cost nothing). None when neither is known (jobs from before cost accounting)."""
    estimate = job.estimate
    made = None
    if job.status is JobStatus.SUCCEEDED and job.outputs is not None:
        made = job.outputs.summary.get("cost")
    if estimate is None and made is None:
        return None
    actual = None
    if job.cached:
        actual = 0.0
    elif isinstance(made, dict):
        actual = made.get("actual_usd")
    return {
        "currency": "USD",
        "estimated_usd": estimate.get("expected_usd") if estimate else None,
        "actual_usd": actual,
        "estimate": estimate,
    }


def webhook_attempt_view(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "message_id": attempt.message_id,
        "event": attempt.event,
        "url": attempt.url,
        "at": iso(attempt.at),
        "status_code": attempt.status_code,
        "ok": attempt.ok,
        "error": attempt.error,
        "duration_s": attempt.duration_s,
    }


__all__ = [
    "WebhookState",
    "cost_view",
    "iso",
    "job_links",
    "job_view",
    "provider_of",
    "webhook_attempt_view",
]
