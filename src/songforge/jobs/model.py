"""A job's life: its status enum, the allowed transitions (all in this one place), and the
plain records the stores keep (the job, its attempts, its outputs, its webhook deliveries)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from songforge.request import SongRequest


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def active(self) -> bool:
        return not self.terminal


_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # queued → running (claimed), cancelled (owner), failed (attempts used up by dead workers)
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # running → running is a takeover after the lease expired; → queued is a retry
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.RUNNING,
            JobStatus.QUEUED,
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.CANCELLED,
        }
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def can_transition(source: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[source]


def sources_of(target: JobStatus) -> tuple[JobStatus, ...]:
    """Every status a job may be in to move to ``target`` (stores use it in conditional writes)."""
    return tuple(s for s in JobStatus if target in TRANSITIONS[s])


class AttemptOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    RETRY = "retry"  # failed, will be tried again
    FAILED = "failed"  # failed for good
    CANCELLED = "cancelled"
    LOST = "lost"  # the worker vanished; its lease expired and another attempt took over
    FENCED = "fenced"  # the worker finished after losing its lease; its writes were refused


class WebhookState(StrEnum):
    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class BlobRef:
    """One stored file of a job's outputs."""

    key: str
    sha256: str
    size_bytes: int
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "content_type": self.content_type,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlobRef:
        return cls(data["key"], data["sha256"], int(data["size_bytes"]), data["content_type"])


@dataclass(frozen=True, slots=True)
class Outputs:
    """What a finished job wrote: the song in its format, stems, MIDI and the metadata sheet."""

    prefix: str
    format: str
    audio: BlobRef
    metadata: BlobRef
    stems: dict[str, BlobRef] = field(default_factory=dict)
    midi: BlobRef | None = None
    duration_s: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "format": self.format,
            "audio": self.audio.to_dict(),
            "metadata": self.metadata.to_dict(),
            "stems": {name: ref.to_dict() for name, ref in self.stems.items()},
            "midi": self.midi.to_dict() if self.midi else None,
            "duration_s": self.duration_s,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outputs:
        return cls(
            prefix=data["prefix"],
            format=data["format"],
            audio=BlobRef.from_dict(data["audio"]),
            metadata=BlobRef.from_dict(data["metadata"]),
            stems={k: BlobRef.from_dict(v) for k, v in data.get("stems", {}).items()},
            midi=BlobRef.from_dict(data["midi"]) if data.get("midi") else None,
            duration_s=float(data.get("duration_s", 0.0)),
            summary=dict(data.get("summary", {})),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """One song job as the store keeps it. ``attempt`` counts claims and is the fencing token:
    a worker's writes carry the attempt it claimed and are refused once another claim happened."""

    id: str
    owner: str
    request: SongRequest
    request_hash: str
    status: JobStatus = JobStatus.QUEUED
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    attempt: int = 0
    max_attempts: int = 3
    not_before: float = 0.0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    progress: float = 0.0
    stage: str | None = None
    cancel_requested: bool = False
    error: ErrorInfo | None = None
    outputs: Outputs | None = None
    seed_assigned: bool = False
    cached: bool = False
    source_job_id: str | None = None
    idempotency_key: str | None = None
    idempotency_fingerprint: str | None = None
    callback_url: str | None = None
    webhook_state: WebhookState = WebhookState.NONE
    webhook_next_at: float | None = None
    webhook_attempts: int = 0
    estimate: dict[str, Any] | None = None  # the provider cost estimate made at submit

    def evolve(self, **changes: Any) -> Job:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    job_id: str
    attempt: int
    worker_id: str
    started_at: float
    ended_at: float | None = None
    outcome: AttemptOutcome = AttemptOutcome.RUNNING
    error: ErrorInfo | None = None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One try at delivering a job's webhook event."""

    job_id: str
    number: int
    message_id: str
    event: str
    url: str
    at: float
    status_code: int | None
    ok: bool
    error: str | None
    duration_s: float


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts for /metrics and /readyz, cheap enough to compute on each scrape."""

    by_status: dict[str, int]
    duration_buckets_s: tuple[float, ...]
    duration_counts: tuple[int, ...]  # cumulative, one per bucket, then +Inf
    duration_sum_s: float


@dataclass(frozen=True, slots=True)
class Usage:
    owner: str
    by_status: dict[str, int]
    audio_seconds: float
    last_job_at: float | None


DURATION_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def new_job_id() -> str:
    return uuid.uuid4().hex


def request_hash(request: SongRequest) -> str:
    """The cache key: sha256 of the normalised request that decides the audio."""
    payload = json.dumps(request.cache_key_fields(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of what a client sent, for Idempotency-Key comparison."""
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
